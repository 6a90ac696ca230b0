"""Turning command-line options into configurations, shared by the commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..config import CertifiedKey, ClientConfig, Dangerous, ServerConfig, parse_names, parse_version
from ..enums import CertificateCompressionAlgorithm, CipherSuite, NamedGroup, ProtocolVersion, PskKeyExchangeMode
from ..errors import ConfigError
from ..profiles import DEFAULT_PROFILE, PROFILES
from ..session.psk import ExternalPsk

if TYPE_CHECKING:
    from ..trace.jsonl import JsonLinesTrace
    from ..trace.keylog import KeyLog
    from ..trace.text import TextTrace


def split_hostport(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT or :PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ConfigError(f"expected HOST:PORT, got {text!r}")
    if int(port) > 65535:
        raise ConfigError(f"port {port} is out of range (0 to 65535) in {text!r}")
    if host.startswith("[") != host.endswith("]") or host.count("[") > 1 or host.count("]") > 1:
        raise ConfigError(f"unbalanced brackets in {text!r}: an IPv6 address is given as [ADDRESS]:PORT")
    if host.startswith("["):
        host = host[1:-1]
    elif ":" in host:  # (as openssl s_client -connect: "::1:443" could be read more than one way)
        raise ConfigError(f"expected HOST:PORT, got {text!r}: an IPv6 address goes in brackets, as [::1]:443")
    return host or default_host, int(port)


def check_output_file(path: str | None, option: str) -> None:
    """Fail before connecting, not after, when ``option``'s FILE cannot be written."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{option} {path} is a folder: name a file")
    if not target.parent.is_dir():
        raise ConfigError(f"{option} {path}: there is no folder {target.parent}")


def check_illustrate(path: str | None) -> None:
    """--illustrate FILE.html: an HTML page, written where it can be."""
    if path and Path(path).suffix.lower() not in ("", ".html", ".htm"):
        raise ConfigError(f"--illustrate {path}: the page is HTML: name a .html file")
    check_output_file(path, "--illustrate")


def add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="security profile the versions, suites, groups and signature schemes start from "
        f"(default {DEFAULT_PROFILE}; `glasstls profiles` lists them); --ciphers, --groups, --tls-min refine it",
    )
    # (1.0 and 1.1 are parsed to be refused with their reason, RFC 8996, not argparse's "invalid choice")
    p.add_argument("--tls-min", metavar="{1.2,1.3}", help="lowest TLS version to accept")
    p.add_argument("--tls-max", metavar="{1.2,1.3}", help="highest TLS version to use")
    p.add_argument("--alpn", help="application protocols, comma-separated, e.g. h2,http/1.1")
    p.add_argument("--groups", help="key exchange groups (IANA names), comma-separated, in preference order")
    p.add_argument("--ciphers", help="cipher suites (IANA names), comma-separated, in preference order")
    p.add_argument(
        "--cert-compression",
        metavar="LIST",
        help="certificate compression algorithms (RFC 8879) to offer and use, comma-separated, in preference "
        "order, or none (default brotli,zstd,zlib)",
    )


# What openssl s_client and s_server call a PSK with no -psk_identity: the same default here.
DEFAULT_PSK_IDENTITY = "Client_identity"


def add_psk_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("external PSK (TLS 1.3, RFC 8446, Section 4.2.11)")
    g.add_argument("--psk-key", metavar="HEX", help="a pre-shared key agreed out of band, in hex (as openssl's -psk)")
    g.add_argument(
        "--psk-identity",
        metavar="NAME",
        help=f"the PSK's identity, sent in the clear (default {DEFAULT_PSK_IDENTITY}, as openssl's)",
    )
    g.add_argument("--psk-hash", choices=("sha256", "sha384"), default="sha256", help="the hash the PSK is used with")
    g.add_argument(
        "--psk-modes",
        metavar="LIST",
        help="PSK key exchange modes (RFC 8446, Section 4.2.9), comma-separated, in preference order: psk_dhe_ke "
        "(the default: an (EC)DHE exchange too, forward secrecy) and/or psk_ke (the PSK alone, no forward "
        "secrecy; as openssl's -allow_no_dhe_kex); for tickets and external PSKs alike",
    )


def psk_modes_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """psk_modes= of --psk-modes, if given."""
    text = getattr(args, "psk_modes", None)
    return {"psk_modes": parse_names(PskKeyExchangeMode, text, "PSK key exchange mode")} if text else {}


def external_psk(args: argparse.Namespace) -> ExternalPsk | None:
    """The ExternalPsk of --psk-key/--psk-identity/--psk-hash (None without --psk-key)."""
    key = getattr(args, "psk_key", None)
    if key is None:
        if getattr(args, "psk_identity", None):
            raise ConfigError("--psk-identity needs --psk-key HEX")
        return None
    try:
        secret = bytes.fromhex(key)
    except ValueError:
        # (Never the value itself: it is the key, or the key with a typo.)
        bad = next((i for i, c in enumerate(key) if c not in "0123456789abcdefABCDEF \t"), None)
        what = "an odd number of digits" if bad is None else f"a character that is no hex digit at position {bad + 1}"
        raise ConfigError(f"--psk-key takes the key in hex (e.g. 1a2b3c4d); the one given has {what}") from None
    identity = (args.psk_identity or DEFAULT_PSK_IDENTITY).encode()
    return ExternalPsk(identity, secret, args.psk_hash)


def common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if args.profile:
        kwargs["profile"] = args.profile
    if args.tls_min:
        kwargs["tls_min"] = parse_version(args.tls_min)
        floor = PROFILES[args.profile or DEFAULT_PROFILE].tls_min
        if kwargs["tls_min"] < floor:
            raise ConfigError(
                f"--tls-min {args.tls_min} is below what --profile {args.profile} allows ({floor.label}): "
                "choose --profile intermediate for TLS 1.2"
            )
    if args.tls_max:
        kwargs["tls_max"] = parse_version(args.tls_max)
    if args.alpn:
        kwargs["alpn"] = tuple(p.strip() for p in args.alpn.split(",") if p.strip())
    if args.groups:
        kwargs["groups"] = parse_names(NamedGroup, args.groups, "group")
    if args.ciphers:
        kwargs["cipher_suites"] = parse_names(CipherSuite, args.ciphers, "cipher suite")
    if args.cert_compression:
        text = args.cert_compression.strip()
        kwargs["certificate_compression"] = (
            () if text == "none" else parse_names(CertificateCompressionAlgorithm, text, "certificate compression")
        )
    return kwargs


def client_config(args: argparse.Namespace) -> ClientConfig:
    from ..x509.store import TrustStore

    kwargs = common_kwargs(args)
    if args.cacert and getattr(args, "capath", None):
        certs = TrustStore.from_file(args.cacert).certificates + TrustStore.from_directory(args.capath).certificates
        kwargs["trust_store"] = TrustStore.from_certificates(certs, f"{args.cacert} and {args.capath}")
    elif args.cacert:
        kwargs["trust_store"] = TrustStore.from_file(args.cacert)
    elif getattr(args, "capath", None):
        kwargs["trust_store"] = TrustStore.from_directory(args.capath)
    if args.insecure:
        kwargs["dangerous"] = Dangerous(skip_server_verification=True)
    if args.cert or args.key:
        if len(args.cert) != len(args.key):
            raise ConfigError("each client certificate needs both --cert FILE and --key FILE")
        chains = [CertifiedKey.from_files(c, k) for c, k in zip(args.cert, args.key, strict=True)]
        kwargs["certificate"], kwargs["certificates"] = chains[0], tuple(chains[1:])
    kwargs |= revocation_kwargs(args)
    psk = external_psk(args)
    if psk is not None:
        kwargs["psk"] = psk
    kwargs |= psk_modes_kwargs(args)
    return ClientConfig(**kwargs)


def revocation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """--ocsp, --crl, --revocation and --revocation-fetch of ``glasstls client``."""
    from ..x509.revocation import load_crls

    kwargs: dict[str, Any] = {}
    if getattr(args, "ocsp", None):
        kwargs["ocsp"] = args.ocsp
    if getattr(args, "crl", None):
        kwargs["crls"] = tuple(crl for path in args.crl for crl in load_crls(path))
    if getattr(args, "revocation", None):
        kwargs["revocation"] = args.revocation
    if getattr(args, "revocation_fetch", None):
        kwargs["revocation_fetch"] = args.revocation_fetch
    return kwargs


def _with_staples(certificates: tuple[CertifiedKey, ...], ocsp_files: list[str]) -> tuple[CertifiedKey, ...]:
    """--ocsp FILE, the i-th for the i-th --cert."""
    if len(ocsp_files) > len(certificates):
        raise ConfigError(
            f"{len(ocsp_files)} --ocsp files for {len(certificates)} --cert: each --ocsp goes with the --cert "
            "in the same position"
        )
    return tuple(
        cert.with_ocsp_file(ocsp_files[i]) if i < len(ocsp_files) else cert for i, cert in enumerate(certificates)
    )


def server_config(args: argparse.Namespace) -> ServerConfig:
    psk = external_psk(args)
    if (not args.cert or not args.key) and (psk is None or args.cert or args.key):
        raise ConfigError("a server needs --cert FILE and --key FILE (or, for TLS 1.3 only, --psk-key HEX)")
    certificates = tuple(CertifiedKey.from_files(c, k) for c, k in zip(args.cert, args.key, strict=False))
    if len(args.cert) != len(args.key):
        raise ConfigError("give --cert and --key the same number of times")
    certificates = _with_staples(certificates, getattr(args, "ocsp", None) or [])
    kwargs = common_kwargs(args)
    if getattr(args, "www", False) and "alpn" in kwargs:
        kwargs["alpn"] = _www_alpn(kwargs["alpn"])
    if psk is not None:
        kwargs["psks"] = (psk,)
        if not certificates and "tls_min" not in kwargs:
            kwargs["tls_min"] = ProtocolVersion.TLSv1_3  # a PSK-only server has nothing for TLS 1.2
    kwargs |= psk_modes_kwargs(args)
    if getattr(args, "tickets", None) is not None:
        kwargs["tls13_tickets"] = args.tickets
    if getattr(args, "client_crl", None):
        from ..x509.revocation import load_crls

        kwargs["client_crls"] = tuple(crl for path in args.client_crl for crl in load_crls(path))
    if getattr(args, "client_revocation", None):
        kwargs["client_revocation"] = args.client_revocation
    if getattr(args, "no_tickets", False):
        kwargs["session_tickets"] = False
    if getattr(args, "unknown_name", "default") == "refuse":
        kwargs["refuse_unknown_server_names"] = True
    if getattr(args, "client_ca", None):
        from ..x509.store import TrustStore

        kwargs["client_trust_store"] = TrustStore.from_file(args.client_ca)
        kwargs["client_auth"] = args.verify_client or "required"
    elif getattr(args, "verify_client", None) not in (None, "none"):
        raise ConfigError("--verify-client needs --client-ca FILE")
    return ServerConfig(certificates=certificates, **kwargs)


# What --www answers in: HTTP/1.1 (and 1.0, which a client may name the same way).
WWW_PROTOCOLS = ("http/1.1", "http/1.0")


def _www_alpn(protocols: tuple[str, ...]) -> tuple[str, ...]:
    """--alpn for --www: only the protocols it speaks. Agreeing to h2 and answering in HTTP/1.1
    breaks every client (RFC 7301, Section 3.2: the protocol chosen is the one spoken)."""
    kept = tuple(p for p in protocols if p in WWW_PROTOCOLS)
    dropped = [p for p in protocols if p not in WWW_PROTOCOLS]
    if not kept:
        raise ConfigError(f"--www speaks HTTP/1.1 only: --alpn {','.join(protocols)} names none of {WWW_PROTOCOLS}")
    if dropped:
        print(f"glasstls: --www speaks HTTP/1.1 only: not offering {', '.join(dropped)} (ALPN)", file=sys.stderr)
    return kept


def silence_broken_output(*streams: TextIO) -> None:
    """After a BrokenPipeError (the reader of ``| head`` went away): point the streams (stdout and stderr by
    default) at /dev/null, so the interpreter's final flush fails quietly too
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    for stream in streams or (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def fail(message: str, code: int = 1) -> int:
    print(f"glasstls: {message}", file=sys.stderr)
    return code


# -- seeing the handshake: --trace, --explain, --show-secrets, --keylog ---------------------------

TRACE_FORMATS = ("text", "full", "json")
SECRETS_WARNING = (
    "glasstls: WARNING: --show-secrets prints this connection's secrets, keys and IVs; anyone who sees them "
    "can decrypt it"
)


def add_trace_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("seeing the handshake")
    g.add_argument(
        "--trace",
        nargs="?",
        const="text",
        default=None,
        metavar="FORMAT",
        help="print the trace: one line per record and message (--trace), every field decoded with hex "
        "(--trace=full) or one JSON object per event (--trace=json)",
    )
    g.add_argument("--explain", action="store_true", help="explain each step in plain words (implies --trace)")
    g.add_argument(
        "--show-secrets",
        action="store_true",
        help="show each secret, key and IV in the trace (dangerous: whoever sees them can decrypt the connection)",
    )
    g.add_argument(
        "--keylog",
        metavar="FILE",
        help="append the connection's secrets to FILE in the NSS key log format, for Wireshark "
        "(default: the file named by SSLKEYLOGFILE, if set)",
    )


def trace_mode(args: argparse.Namespace) -> str | None:
    """None (no trace), "text", "full" or "json"; --explain and --show-secrets alone mean "text"."""
    mode = getattr(args, "trace", None)
    if mode is not None and mode not in TRACE_FORMATS:
        raise ConfigError(f"--trace takes {', '.join(TRACE_FORMATS)} (as --trace=FORMAT), not {mode!r}")
    if mode is None and (getattr(args, "explain", False) or getattr(args, "show_secrets", False)):
        mode = "text"
    return mode


def trace_renderer(
    args: argparse.Namespace, stream: TextIO, extra: dict[str, Any] | None = None
) -> JsonLinesTrace | TextTrace | None:
    """The trace observer the options ask for, writing to ``stream`` (None: no trace).

    ``extra`` is added to every JSON object (e.g. the server's connection number).
    """
    mode = trace_mode(args)
    if mode is None:
        return None
    show_secrets = bool(getattr(args, "show_secrets", False))
    if mode == "json":
        from ..trace.jsonl import JsonLinesTrace

        return JsonLinesTrace(stream, show_secrets=show_secrets, extra=extra)
    from ..trace.text import TextTrace

    return TextTrace(
        stream, full=mode == "full", explain=bool(getattr(args, "explain", False)), show_secrets=show_secrets
    )


def warn_secrets(args: argparse.Namespace) -> None:
    if getattr(args, "show_secrets", False):
        print(SECRETS_WARNING, file=sys.stderr, flush=True)


def open_keylog(args: argparse.Namespace) -> KeyLog | None:
    """The KeyLog of --keylog FILE, else of SSLKEYLOGFILE, else None."""
    from ..trace.keylog import KeyLog, keylog_from_env

    path = getattr(args, "keylog", None)
    try:
        return KeyLog(path) if path else keylog_from_env()
    except OSError as exc:
        raise ConfigError(f"cannot open the key log {path or '$SSLKEYLOGFILE'}: {exc}") from None
