"""What the trace says of certificates: each one's parts as a person reads them, and the
names a chain's first certificate is for, from a Certificate message or the Certificate a
CompressedCertificate carries (RFC 8879).

A peer chooses every byte of these: each part is decoded on its own (one that does not decode
is shown as such, the rest still is), every name is :func:`~glasstls.text.printable`, and what
is kept per certificate or per message is bounded.
"""

from __future__ import annotations

import functools
import warnings
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dh, dsa, ec, ed448, ed25519, rsa, x448, x25519

from ..text import printable
from ..wire import handshake as H
from ..wire import handshake12 as H12
from .words import nbytes

Fields = list[tuple[str, str]]
_UNSEEN = object()  # not in a table yet (None: a message that names nothing)


def _fmt_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def key_description(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, (x25519.X25519PublicKey, x448.X448PublicKey, dh.DHPublicKey, dsa.DSAPublicKey)):
        return type(key).__name__.lstrip("_")
    return type(key).__name__.lstrip("_")


def certificate_info(der: bytes) -> dict[str, Any]:
    """Subject, issuer, validity, subjectAltName and key of a DER certificate (a copy of a cached result:
    the same chain is described several times per handshake, and by every connection to one server)."""
    return dict(_certificate_info(der))


def _undecodable(exc: BaseException) -> str:
    from ..x509.names import parse_problem

    return f"undecodable: {parse_problem(exc)}"


def _part(read: Any) -> str:
    """One part of a certificate, or why it cannot be read: a peer's certificate may be malformed anywhere."""
    try:
        return str(read())
    except Exception as exc:  # cryptography parses lazily and raises ValueError, DuplicateExtension, ...
        return _undecodable(exc)


@functools.lru_cache(maxsize=256)
def _certificate_info(der: bytes) -> dict[str, Any]:
    """Each part decoded on its own, so one that does not decode is shown as such and the rest still is.

    Every name in the result is already :func:`~glasstls.text.printable`: the peer chose it.
    """
    try:
        with warnings.catch_warnings():  # a malformed certificate is described here, not complained about
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
    except Exception as exc:
        return {"error": f"cannot parse ({nbytes(len(der))}): {_undecodable(exc).removeprefix('undecodable: ')}"}
    info: dict[str, Any] = {
        "subject": _part(lambda: printable(cert.subject.rfc4514_string()) or "(empty)"),
        "issuer": _part(lambda: printable(cert.issuer.rfc4514_string()) or "(empty)"),
        "not_before": _part(lambda: _fmt_time(cert.not_valid_before_utc)),
        "not_after": _part(lambda: _fmt_time(cert.not_valid_after_utc)),
        "serial": _part(lambda: f"{cert.serial_number:x}"),
        "sans": [],
        "key": _part(lambda: key_description(cert.public_key())),
    }
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        info["sans"] = [printable(str(n)) for n in san.get_values_for_type(x509.DNSName)] + [
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        pass
    except Exception as exc:
        info["extensions"] = _undecodable(exc)
    return info


def certificate_fields(der: bytes, prefix: str) -> Fields:
    info = certificate_info(der)
    if "error" in info:
        return [(prefix, info["error"])]
    out = [
        (f"{prefix} subject", info["subject"]),
        (f"{prefix} issuer", info["issuer"]),
        (f"{prefix} validity", f"{info['not_before']} to {info['not_after']}"),
    ]
    if info["sans"]:
        out.append((f"{prefix} subjectAltName", ", ".join(info["sans"])))
    if "extensions" in info:
        out.append((f"{prefix} extensions", info["extensions"]))
    out.append((f"{prefix} key", f"{info['key']} ({nbytes(len(der))} DER)"))
    return out


def certificate_ders(msg: Any) -> tuple[bytes, ...]:
    if isinstance(msg, H12.Certificate12):
        return msg.certificates
    return tuple(entry.cert_data for entry in msg.entries)


def inflated_certificate(msg: Any) -> H.Certificate | None:
    """The Certificate a received CompressedCertificate carries (RFC 8879), or None when it does not
    inflate cleanly (or was never encoded).

    For the context and the explanation, which name the certificate the handshake checked. The
    handshake has inflated the same bytes already; this does it again with the same bounded
    decompressors, up to the default ``Limits.max_handshake_message``, and keeps the result per
    message (a server sends the same bytes to every client), so a peer cannot make a renderer work
    much more than the handshake did."""
    raw = getattr(msg, "raw", b"")
    return _inflate(bytes(raw)) if isinstance(msg, H.CompressedCertificate) and raw else None


@functools.lru_cache(maxsize=64)
def _inflate(raw: bytes) -> H.Certificate | None:
    from ..crypto import certcompress

    try:
        msg = H.decode_message(raw)
        if not isinstance(msg, H.CompressedCertificate):
            return None
        return certcompress.decompress_certificate(msg, certcompress.SUPPORTED)
    except Exception:  # a peer's bytes: whatever fails, the trace just does not name the chain
        return None


def certificate_names(msg: Any) -> tuple[str, ...] | None:
    """The subjectAltNames of a certificate message's first certificate; None without one."""
    ders = certificate_ders(msg)
    if not ders:
        return None
    info = _certificate_info(ders[0])  # only read: no copy of the kept dict
    return tuple(info.get("sans", ()))


def compressed_certificate_names(msg: Any) -> tuple[str, ...] | None:
    """certificate_names of the Certificate a CompressedCertificate carries (None when it does not
    inflate), kept by the message's bytes, which are all it is read from (inflated_certificate): a
    server sends the same bytes to every client."""
    raw = getattr(msg, "raw", b"")
    if type(raw) is not bytes or not raw:
        inner = inflated_certificate(msg)
        return None if inner is None else certificate_names(inner)
    names = _COMPRESSED_NAMES.get(raw, _UNSEEN)
    if names is _UNSEEN:
        inner = inflated_certificate(msg)
        names = None if inner is None else certificate_names(inner)
        if len(_COMPRESSED_NAMES) >= _COMPRESSED_NAMES_MAX:
            _COMPRESSED_NAMES.clear()
        _COMPRESSED_NAMES[raw] = names
    return names  # type: ignore[return-value]  # (not _UNSEEN: set above)


# compressed_certificate_names by the message's bytes. Bounded as _inflate's cache (a message's bytes
# are at most Limits.max_handshake_message): started over when full.
_COMPRESSED_NAMES: dict[bytes, tuple[str, ...] | None] = {}
_COMPRESSED_NAMES_MAX = 64
