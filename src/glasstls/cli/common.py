"""Turning command-line options into configurations, shared by the commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import CertifiedKey, ClientConfig, Dangerous, ServerConfig, parse_names, parse_version
from ..enums import CipherSuite, NamedGroup
from ..errors import ConfigError


def split_hostport(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT or :PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]") or default_host
    return host, int(port)


def add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-min", choices=("1.2", "1.3"), help="lowest TLS version to accept")
    p.add_argument("--tls-max", choices=("1.2", "1.3"), help="highest TLS version to offer")
    p.add_argument("--alpn", help="application protocols, comma-separated, e.g. h2,http/1.1")
    p.add_argument("--groups", help="key exchange groups (IANA names), comma-separated, in preference order")
    p.add_argument("--ciphers", help="cipher suites (IANA names), comma-separated, in preference order")


def common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if args.tls_min:
        kwargs["tls_min"] = parse_version(args.tls_min)
    if args.tls_max:
        kwargs["tls_max"] = parse_version(args.tls_max)
    if args.alpn:
        kwargs["alpn"] = tuple(p.strip() for p in args.alpn.split(",") if p.strip())
    if args.groups:
        kwargs["groups"] = parse_names(NamedGroup, args.groups, "group")
    if args.ciphers:
        kwargs["cipher_suites"] = parse_names(CipherSuite, args.ciphers, "cipher suite")
    return kwargs


def client_config(args: argparse.Namespace) -> ClientConfig:
    from ..x509.store import TrustStore

    kwargs = common_kwargs(args)
    if args.cacert:
        kwargs["trust_store"] = TrustStore.from_file(args.cacert)
    if args.insecure:
        kwargs["dangerous"] = Dangerous(skip_server_verification=True)
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise ConfigError("a client certificate needs both --cert FILE and --key FILE")
        kwargs["certificate"] = CertifiedKey.from_files(args.cert, args.key)
    return ClientConfig(**kwargs)


def server_config(args: argparse.Namespace) -> ServerConfig:
    if not args.cert or not args.key:
        raise ConfigError("a server needs --cert FILE and --key FILE")
    certificates = tuple(CertifiedKey.from_files(c, k) for c, k in zip(args.cert, args.key, strict=False))
    if len(args.cert) != len(args.key):
        raise ConfigError("give --cert and --key the same number of times")
    kwargs = common_kwargs(args)
    if getattr(args, "no_tickets", False):
        kwargs["session_tickets"] = False
    if getattr(args, "client_ca", None):
        from ..x509.store import TrustStore

        kwargs["client_trust_store"] = TrustStore.from_file(args.client_ca)
        kwargs["client_auth"] = args.verify_client or "required"
    elif getattr(args, "verify_client", None) not in (None, "none"):
        raise ConfigError("--verify-client needs --client-ca FILE")
    return ServerConfig(certificates=certificates, **kwargs)


def fail(message: str, code: int = 1) -> int:
    print(f"glasstls: {message}", file=sys.stderr)
    return code
