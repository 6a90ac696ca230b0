"""glasstls failures as the ``ssl`` module's own exception classes.

Code written for the stdlib catches ``ssl.SSLError`` and its subclasses and reads
``reason``, ``library``, ``verify_code`` and ``verify_message``; this module turns a
glasstls error into the matching class with those attributes set, OpenSSL-style,
and keeps glasstls's own diagnosis in the message (and as ``__cause__``).
"""

from __future__ import annotations

import ipaddress
import ssl

from ..enums import AlertDescription
from ..errors import AlertError, PeerAlertError, TLSError, TruncatedError

# X509_V_ERR_* codes OpenSSL reports for the certificate problems glasstls names
# (openssl/x509_vfy.h); the messages are X509_verify_cert_error_string's.
X509_V_ERR_UNABLE_TO_GET_CRL = 3
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_CERT_CHAIN_TOO_LONG = 22
X509_V_ERR_CERT_REVOKED = 23
X509_V_ERR_HOSTNAME_MISMATCH = 62
X509_V_ERR_IP_ADDRESS_MISMATCH = 64
X509_V_ERR_APPLICATION_VERIFICATION = 50
X509_R_KEY_VALUES_MISMATCH = 116  # the stdlib's errno for a key that is not the certificate's

# OpenSSL 3 spells "self-signed" with a hyphen; 1.1.1 did not: the stdlib shows what it links.
_SELF_SIGNED = "self-signed certificate" if ssl.OPENSSL_VERSION_INFO >= (3,) else "self signed certificate"
_UNTRUSTED: dict[str, tuple[int, str]] = {
    "untrusted_issuer": (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate"),
    "missing_intermediate": (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer certificate"),
    "chain_too_long": (X509_V_ERR_CERT_CHAIN_TOO_LONG, "certificate chain too long"),
    # a hard revocation policy (VERIFY_CRL_CHECK_LEAF) and no current CRL of the issuer
    "revocation_unknown": (X509_V_ERR_UNABLE_TO_GET_CRL, "unable to get certificate CRL"),
}

_VERIFY_BY_ALERT: dict[AlertDescription, tuple[int, str]] = {
    AlertDescription.unknown_ca: (
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        "unable to get local issuer certificate",
    ),
    AlertDescription.certificate_expired: (X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired"),
    AlertDescription.certificate_revoked: (X509_V_ERR_CERT_REVOKED, "certificate revoked"),
}

# Alerts that, sent by us while verifying the peer's chain, are certificate failures.
_CERTIFICATE_ALERTS = frozenset(
    {
        AlertDescription.unknown_ca,
        AlertDescription.certificate_expired,
        AlertDescription.bad_certificate,
        AlertDescription.certificate_revoked,
        AlertDescription.unsupported_certificate,
        AlertDescription.certificate_unknown,
    }
)


# Received alerts whose OpenSSL reason breaks the SSLV3_ALERT_/TLSV1_ALERT_ pattern (ssl/ssl_err.c).
_RECEIVED_REASONS = {
    109: "TLSV13_ALERT_MISSING_EXTENSION",
    110: "TLSV1_UNSUPPORTED_EXTENSION",
    111: "TLSV1_CERTIFICATE_UNOBTAINABLE",
    112: "TLSV1_UNRECOGNIZED_NAME",
    113: "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE",
    114: "TLSV1_BAD_CERTIFICATE_HASH_VALUE",
    116: "TLSV13_ALERT_CERTIFICATE_REQUIRED",
}


def reason_for_alert(description: AlertDescription, received: bool) -> str:
    """OpenSSL's reason string: an alert received is ``SSLV3_ALERT_*``/``TLSV1_ALERT_*``
    (ssl/ssl_err.c); an alert we send is named after what we found wrong."""
    name = description.name.upper()
    if received:
        if int(description) in _RECEIVED_REASONS:
            return _RECEIVED_REASONS[int(description)]
        sslv3 = int(description) <= int(AlertDescription.illegal_parameter)  # SSLv3 alerts: 0..47
        return ("SSLV3_ALERT_" if sslv3 else "TLSV1_ALERT_") + name
    return {
        "PROTOCOL_VERSION": "UNSUPPORTED_PROTOCOL",
        "HANDSHAKE_FAILURE": "NO_SHARED_CIPHER",
        "DECODE_ERROR": "DECODE_ERROR",
        "BAD_RECORD_MAC": "DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
    }.get(name, name)


def to_ssl_error(err: TLSError, hostname: str | None = None) -> ssl.SSLError:
    """The ``ssl`` exception standing for glasstls's ``err``; ``hostname`` is the server_hostname
    as the program gave it, which OpenSSL's mismatch message quotes."""
    if isinstance(err, TruncatedError):
        return _ssl_error(ssl.SSLEOFError, ssl.SSL_ERROR_EOF, "UNEXPECTED_EOF_WHILE_READING", str(err))
    if isinstance(err, PeerAlertError):
        if err.description in (AlertDescription.close_notify, AlertDescription.user_canceled):
            # The peer closed (or canceled) during the handshake: OpenSSL's SSL_ERROR_ZERO_RETURN,
            # which ssl raises as SSLZeroReturnError (a closure alert names no reason there).
            return zero_return()
        reason = reason_for_alert(err.description, received=True)
        return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, reason, str(err))
    if isinstance(err, AlertError):
        if err.facts is not None and err.facts.problem == "callback_refused":
            return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, "CALLBACK_FAILED", str(err))  # as OpenSSL's SNI
        if err.facts is not None and err.facts.problem == "client_certificate_missing":  # OpenSSL's words, 1.2 and 1.3
            return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, "PEER_DID_NOT_RETURN_A_CERTIFICATE", str(err))
        if err.description in _CERTIFICATE_ALERTS:
            return certificate_error(err, hostname)
        reason = reason_for_alert(err.description, received=False)
        return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, reason, str(err))
    return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, _OURS, str(err))


# The settings glasstls's reasons name (the config fields, x509/verify.py), as an ssl user makes them.
_IN_SSL_TERMS = {
    "ClientConfig.trust_store": (
        "the SSLContext's CAs (load_verify_locations(cafile=, capath= or cadata=), or load_default_certs())"
    ),
    "ServerConfig.client_trust_store": "the server SSLContext's CAs (load_verify_locations(cafile=…))",
    "ClientConfig.crls": "the SSLContext's CRLs (in a cafile given to load_verify_locations)",
    "ServerConfig.client_crls": "the server SSLContext's CRLs (in a cafile given to load_verify_locations)",
}


def in_ssl_terms(text: str) -> str:
    """glasstls's reason with the config fields it names said as the ``ssl`` settings behind them."""
    for field, setting in _IN_SSL_TERMS.items():
        text = text.replace(field, setting)
    return text


def certificate_error(err: AlertError, hostname: str | None = None) -> ssl.SSLCertVerificationError:
    """``ssl.SSLCertVerificationError`` with OpenSSL's verify code and message."""
    code, message = verify_result(err, hostname)
    exc = ssl.SSLCertVerificationError(
        int(ssl.SSL_ERROR_SSL),
        f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message} ({in_ssl_terms(str(err))})",
    )
    exc.reason = "CERTIFICATE_VERIFY_FAILED"
    exc.library = "SSL"
    exc.verify_code = code
    exc.verify_message = message
    return exc


def verify_result(err: AlertError, hostname: str | None = None) -> tuple[int, str]:
    """OpenSSL's X509_V_ERR_* code and message for the problem the x509 layer's facts name."""
    facts = err.facts
    problem = facts.problem if facts is not None else ""
    if facts is not None and problem == "name_mismatch":
        name = hostname if hostname is not None else facts.name
        if openssl_ip(name) is not None:  # _ssl.c checks an address OpenSSL parses as one by X509_check_ip
            return X509_V_ERR_IP_ADDRESS_MISMATCH, f"IP address mismatch, certificate is not valid for '{name}'."
        return X509_V_ERR_HOSTNAME_MISMATCH, f"Hostname mismatch, certificate is not valid for '{name}'."
    if facts is not None and problem == "untrusted_self_signed":
        # OpenSSL tells the peer's own certificate (depth 0) from one further up the chain apart:
        # DEPTH_ZERO_SELF_SIGNED_CERT and SELF_SIGNED_CERT_IN_CHAIN.
        if facts.depth:
            return X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, f"{_SELF_SIGNED} in certificate chain"
        return X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, _SELF_SIGNED
    if problem in _UNTRUSTED:
        return _UNTRUSTED[problem]
    return _VERIFY_BY_ALERT.get(err.description, (X509_V_ERR_APPLICATION_VERIFICATION, str(err.reason)))


def openssl_ip(name: str) -> str | None:
    """``name`` as an IP address in Python's canonical form when OpenSSL's a2i_IPADDRESS reads it as
    one (which _ssl.c tries first: an address is then matched against IP entries and sent no SNI),
    else None. OpenSSL reads IPv4 as four decimal numbers each up to 255, leading zeros allowed
    ("127.000.000.001"), which Python's ipaddress refuses; IPv6 as ipaddress does, without a zone."""
    parts = name.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and int(p) <= 255 for p in parts):
        return ".".join(str(int(p)) for p in parts)
    if ":" in name and "%" not in name:
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    return None


def not_tls_error(first: bytes, server_side: bool, diagnosis: str = "") -> ssl.SSLError | None:
    """What OpenSSL reports when the first record header it reads is not TLS's (major version 3):
    an HTTP request or proxy CONNECT by its first word, otherwise WRONG_VERSION_NUMBER
    (ssl3_get_record), with glasstls's ``diagnosis`` after OpenSSL's words, as other errors have it.
    None when ``first`` is a TLS header, or too short to tell."""
    if len(first) < 3 or first[1] == 3:
        return None
    if server_side and first[0] & 0x80 and first[2] == 1:
        return None  # an SSL 2.0 CLIENT-HELLO: OpenSSL reads it otherwise; glasstls's own error stands
    if first.startswith((b"GET ", b"POST ", b"HEAD ", b"PUT ")):  # (either side, as OpenSSL)
        return ssl_error("HTTP_REQUEST", diagnosis or "http request")
    if first.startswith(b"CONNE"):
        return ssl_error("HTTPS_PROXY_REQUEST", diagnosis or "https proxy request")
    return ssl_error("WRONG_VERSION_NUMBER", diagnosis or "wrong version number")


def _ssl_error(kind: type[ssl.SSLError], errno: int, reason: str, detail: str) -> ssl.SSLError:
    # OpenSSL's text for the reason first ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"),
    # which programs match on, then glasstls's own account of it.
    said, detail = reason.lower().replace("_", " "), in_ssl_terms(detail)
    if reason == _OURS or detail.lower().startswith(said):
        text = f"[SSL: {reason}] {detail}"
    else:
        text = f"[SSL: {reason}] {said} ({detail})"
    exc = kind(int(errno), text)
    exc.reason = reason
    exc.library = "SSL"
    return exc


_OURS = "GLASSTLS_ERROR"  # no OpenSSL reason stands for it: no OpenSSL text either


def ssl_error(reason: str, detail: str) -> ssl.SSLError:
    """A plain ``ssl.SSLError`` with OpenSSL's ``reason``."""
    return _ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, reason, detail)


def want_read() -> ssl.SSLWantReadError:
    return want(write=False)  # type: ignore[return-value]  # (the read kind)


def want(write: bool) -> ssl.SSLError:
    """SSLWantReadError or SSLWantWriteError, whose ``reason`` and ``library`` are None as _ssl.c's."""
    if write:
        exc: ssl.SSLError = ssl.SSLWantWriteError(ssl.SSL_ERROR_WANT_WRITE, "The operation did not complete (write)")
    else:
        exc = ssl.SSLWantReadError(ssl.SSL_ERROR_WANT_READ, "The operation did not complete (read)")
    vars(exc).update(reason=None, library=None)  # (typeshed types them str; _ssl.c sets None)
    return exc


def zero_return() -> ssl.SSLZeroReturnError:
    exc = ssl.SSLZeroReturnError(ssl.SSL_ERROR_ZERO_RETURN, "TLS/SSL connection has been closed (EOF)")
    vars(exc).update(reason=None, library=None)  # (typeshed types them str; _ssl.c sets None)
    return exc


def eof_error() -> ssl.SSLEOFError:
    """As _ssl.c's over OpenSSL 3: str() and strerror carry the reason, args[0] is the int 8."""
    exc = ssl.SSLEOFError(
        int(ssl.SSL_ERROR_EOF), "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol"
    )
    exc.reason = "UNEXPECTED_EOF_WHILE_READING"
    exc.library = "SSL"
    return exc


def report_unraisable(exc: BaseException, source: object) -> None:
    """Hand ``exc`` to ``sys.unraisablehook``, as _ssl.c's PyErr_WriteUnraisable does for a callback
    OpenSSL called (the sni_callback): the exception cannot go up through the handshake. Python
    offers no call for it, so an object whose ``__del__`` raises it is dropped: the interpreter
    reports that (its ``object`` is that ``__del__``, where _ssl.c names ``source``)."""
    _Unraisable(exc, source)


class _Unraisable:
    __slots__ = ("exc", "source")

    def __init__(self, exc: BaseException, source: object) -> None:
        self.exc, self.source = exc, source

    def __del__(self) -> None:
        raise self.exc
