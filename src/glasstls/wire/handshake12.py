"""Handshake messages of TLS 1.2 (RFC 5246, Section 7.4), as declarative structures.

A full TLS 1.2 handshake, in the order the messages are sent (RFC 5246,
Section 7.3; RFC 6066, Section 8; RFC 5077, Section 3.3)::

    ClientHello          -------->
                                            ServerHello
                                            Certificate*
                                            CertificateStatus*
                                            ServerKeyExchange*
                                            CertificateRequest*
                         <--------          ServerHelloDone
    Certificate*
    ClientKeyExchange
    CertificateVerify*
    [ChangeCipherSpec]
    Finished             -------->
                                            NewSessionTicket*
                                            [ChangeCipherSpec]
                         <--------          Finished

ClientHello, ServerHello, CertificateVerify (the digitally-signed struct of
RFC 5246, Section 4.7, is a SignatureAndHashAlgorithm and a signature, the
same layout as TLS 1.3's) and Finished are shared with TLS 1.3 and come from
:mod:`glasstls.wire.handshake`. TLS 1.2's Finished carries 12 bytes of
verify_data (RFC 5246, Section 7.4.9); the handshake states check the length.

What a ServerKeyExchange or ClientKeyExchange holds depends on the negotiated
key exchange, which a parser does not know. Both are therefore parsed as an
opaque ``body``; the state that knows the cipher suite asks for the reading
it expects (``ske.ecdhe()``, ``cke.dhe_public()``, …), which consumes the
body exactly or fails with decode_error.

Decode a TLS 1.2 message with ``decode_message(raw, TLS12_PARSERS)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..enums import (
    CertificateStatusType,
    ClientCertificateType,
    HandshakeType,
    NamedGroup,
    OpenEnum8,
    SignatureScheme,
)
from .codec import Reader
from .handshake import CertificateVerify, ClientHello, Finished, Handshake, ServerHello
from .layout import Int, Layout, Opaque, Raw, Vector, encode, read


class ECCurveType(OpenEnum8):
    """RFC 8422, Section 5.4: explicit curves are deprecated; only named_curve remains."""

    explicit_prime = 1
    explicit_char2 = 2
    named_curve = 3


# -- messages without a body -------------------------------------------------------------


@dataclass
class HelloRequest(Handshake):
    """RFC 5246, Section 7.4.1.1: the server asks the client to renegotiate."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.hello_request


@dataclass
class ServerHelloDone(Handshake):
    """RFC 5246, Section 7.4.5: the end of the server's first flight."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello_done


# -- certificates ------------------------------------------------------------------------


@dataclass
class Certificate12(Handshake):
    """RFC 5246, Section 7.4.2: a bare list of DER certificates, the end-entity first."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate
    same_every_time = True
    layout: ClassVar[Layout] = (Vector("certificate_list", 3, Opaque("ASN.1Cert", 3, 1, show="certificate")),)
    certificates: tuple[bytes, ...] = ()


def _ocsp_only(status_type: int) -> str | None:
    # Only ocsp(1) has a defined body; a client never asks for anything else.
    return None if status_type == CertificateStatusType.ocsp else f"CertificateStatus of unknown type {status_type}"


@dataclass
class CertificateStatus(Handshake):
    """RFC 6066, Section 8: the stapled OCSP response, sent right after Certificate."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_status
    same_every_time = True
    layout: ClassVar[Layout] = (
        Int("status_type", 1, CertificateStatusType, check=_ocsp_only),
        Opaque("OCSPResponse", 3, 1),
    )
    status_type: int = CertificateStatusType.ocsp
    ocsp_response: bytes = b""


@dataclass
class CertificateRequest12(Handshake):
    """RFC 5246, Section 7.4.4 (ecdsa_sign from RFC 8422, Section 5.5)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request
    same_every_time = True
    layout: ClassVar[Layout] = (
        Vector("certificate_types", 1, Int("ClientCertificateType", 1, ClientCertificateType), 1),
        Vector("supported_signature_algorithms", 2, Int("SignatureScheme", 2, SignatureScheme), 2),
        Vector("certificate_authorities", 2, Opaque("DistinguishedName", 2, 1, show="name")),
    )
    certificate_types: tuple[ClientCertificateType, ...] = (
        ClientCertificateType.rsa_sign,
        ClientCertificateType.ecdsa_sign,
    )
    signature_algorithms: tuple[SignatureScheme, ...] = ()
    authorities: tuple[bytes, ...] = ()


# -- key exchange ------------------------------------------------------------------------


def _named_curve_only(curve_type: ECCurveType) -> str | None:
    if curve_type == ECCurveType.named_curve:
        return None
    return f"ServerKeyExchange curve_type {curve_type.name}: only named curves are supported"


# RFC 8422, Section 5.4 (ServerECDHParams) and RFC 5246, Section 7.4.3 (ServerDHParams). The trace
# names two fields as RFC 8422's ServerECDHParams does (named_curve, public), the parser's reasons
# as its ECParameters and ECPoint do (namedcurve, point); tests pin both.
ECDHE_PARAMS: Layout = (
    Int("curve_type", 1, ECCurveType, check=_named_curve_only, selects=True),
    Int("namedcurve", 2, NamedGroup, shown_as="named_curve"),
    Opaque("point", 1, 1, 255, shown_as="public"),
)
DHE_PARAMS: Layout = (Opaque("dh_p", 2, 1), Opaque("dh_g", 2, 1), Opaque("dh_Ys", 2, 1))
# RFC 5246, Section 4.7: TLS 1.2's digitally-signed names its SignatureAndHashAlgorithm.
SIGNATURE: Layout = (Int("signature algorithm", 2, SignatureScheme, shown_as="algorithm"), Opaque("signature", 2))
SKE_LAYOUTS: dict[str, Layout] = {"ecdhe": ECDHE_PARAMS + SIGNATURE, "dhe": DHE_PARAMS + SIGNATURE}


class _SignedParams:
    """The part of a ServerKeyExchange that is signed (RFC 5246, Section 7.4.3)."""

    params_raw: bytes

    def signed_data(self, client_random: bytes, server_random: bytes) -> bytes:
        """client_random + server_random + params: the bytes the signature covers."""
        return client_random + server_random + self.params_raw


@dataclass(frozen=True)
class ServerECDHParams(_SignedParams):
    """RFC 8422, Section 5.4: a named curve, the server's point and its signature."""

    curve_type: int
    group: NamedGroup
    public: bytes
    algorithm: SignatureScheme
    signature: bytes
    params_raw: bytes


@dataclass(frozen=True)
class ServerDHParams(_SignedParams):
    """RFC 5246, Section 7.4.3: finite-field DH parameters (big-endian) and their signature."""

    p: bytes
    g: bytes
    ys: bytes
    algorithm: SignatureScheme
    signature: bytes
    params_raw: bytes


@dataclass
class ServerKeyExchange(Handshake):
    """RFC 5246, Section 7.4.3 and RFC 8422, Section 5.4, kept opaque until read (see module doc)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_key_exchange
    layout: ClassVar[Layout] = (Raw("body"),)
    body: bytes = b""

    # -- reading, once the key exchange is known --------------------------------------------
    def ecdhe(self) -> ServerECDHParams:
        """The body as ServerECDHParams plus signature (ECDHE_RSA, ECDHE_ECDSA)."""
        return ServerECDHParams(*self._read(ECDHE_PARAMS))

    def dhe(self) -> ServerDHParams:
        """The body as ServerDHParams plus signature (DHE_RSA)."""
        return ServerDHParams(*self._read(DHE_PARAMS))

    def _read(self, params: Layout) -> list[Any]:
        """The parameters, the signature, and the bytes of the parameters (which the signature covers)."""
        r = Reader(self.body, "ServerKeyExchange")
        values = read(params, r)
        params_raw = self.body[: r.position]
        values += read(SIGNATURE, r)
        r.finish()
        return [*values, params_raw]

    # -- building, to send ---------------------------------------------------------------------
    @staticmethod
    def ecdhe_params_bytes(group: NamedGroup | int, public: bytes) -> bytes:
        """ServerECDHParams as signed (after client_random + server_random, which the caller prepends)."""
        return encode(ECDHE_PARAMS, ECCurveType.named_curve, group, public)

    @staticmethod
    def dhe_params_bytes(p: bytes, g: bytes, ys: bytes) -> bytes:
        """ServerDHParams as signed (after client_random + server_random, which the caller prepends)."""
        return encode(DHE_PARAMS, p, g, ys)

    @classmethod
    def for_ecdhe(
        cls, group: NamedGroup | int, public: bytes, algorithm: SignatureScheme | int, signature: bytes
    ) -> ServerKeyExchange:
        return cls(cls.ecdhe_params_bytes(group, public) + encode(SIGNATURE, algorithm, signature))

    @classmethod
    def for_dhe(
        cls, p: bytes, g: bytes, ys: bytes, algorithm: SignatureScheme | int, signature: bytes
    ) -> ServerKeyExchange:
        return cls(cls.dhe_params_bytes(p, g, ys) + encode(SIGNATURE, algorithm, signature))


ecdhe_params_bytes = ServerKeyExchange.ecdhe_params_bytes
dhe_params_bytes = ServerKeyExchange.dhe_params_bytes

# What a ClientKeyExchange holds, by key exchange (RFC 8422, Section 5.7; RFC 5246, Section 7.4.7).
CKE_LAYOUTS: dict[str, Layout] = {
    "ecdhe": (Opaque("ecdh_Yc", 1, 1, 255),),
    "dhe": (Opaque("dh_Yc", 2, 1, 0xFFFF),),
    "rsa": (Opaque("EncryptedPreMasterSecret", 2, 0, 0xFFFF),),
}


@dataclass
class ClientKeyExchange(Handshake):
    """RFC 5246, Section 7.4.7 and RFC 8422, Section 5.7, kept opaque until read (see module doc)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange
    layout: ClassVar[Layout] = (Raw("body"),)
    body: bytes = b""

    def _read(self, kx: str) -> bytes:
        r = Reader(self.body, "ClientKeyExchange")
        (value,) = read(CKE_LAYOUTS[kx], r)
        r.finish()
        return bytes(value)

    def ecdhe_public(self) -> bytes:
        """RFC 8422, Section 5.7: the client's point (explicit encoding; implicit is for fixed ECDH)."""
        return self._read("ecdhe")

    def dhe_public(self) -> bytes:
        """RFC 5246, Section 7.4.7.2: the client's dh_Yc, big-endian."""
        return self._read("dhe")

    def rsa_encrypted(self) -> bytes:
        """RFC 5246, Section 7.4.7.1: the RSA-encrypted PreMasterSecret."""
        return self._read("rsa")

    @classmethod
    def for_ecdhe(cls, public: bytes) -> ClientKeyExchange:
        return cls(encode(CKE_LAYOUTS["ecdhe"], public))

    @classmethod
    def for_dhe(cls, yc: bytes) -> ClientKeyExchange:
        return cls(encode(CKE_LAYOUTS["dhe"], yc))

    @classmethod
    def for_rsa(cls, encrypted: bytes) -> ClientKeyExchange:
        return cls(encode(CKE_LAYOUTS["rsa"], encrypted))


# -- session tickets ---------------------------------------------------------------------


@dataclass
class NewSessionTicket12(Handshake):
    """RFC 5077, Section 3.3. An empty ticket means the server will not issue one after all."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket
    layout: ClassVar[Layout] = (Int("ticket_lifetime_hint", 4, show="{} s"), Opaque("ticket", 2))
    lifetime_hint: int = 0
    ticket: bytes = b""


TLS12_PARSERS: dict[HandshakeType, Callable[[Reader], Handshake]] = {
    HandshakeType.hello_request: HelloRequest.parse,
    HandshakeType.client_hello: ClientHello.parse,
    HandshakeType.server_hello: ServerHello.parse,
    HandshakeType.certificate: Certificate12.parse,
    HandshakeType.certificate_status: CertificateStatus.parse,
    HandshakeType.server_key_exchange: ServerKeyExchange.parse,
    HandshakeType.certificate_request: CertificateRequest12.parse,
    HandshakeType.server_hello_done: ServerHelloDone.parse,
    HandshakeType.certificate_verify: CertificateVerify.parse,
    HandshakeType.client_key_exchange: ClientKeyExchange.parse,
    HandshakeType.finished: Finished.parse,
    HandshakeType.new_session_ticket: NewSessionTicket12.parse,
}
