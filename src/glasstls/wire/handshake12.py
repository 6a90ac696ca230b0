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
from typing import ClassVar

from ..enums import (
    AlertDescription,
    CertificateStatusType,
    ClientCertificateType,
    HandshakeType,
    NamedGroup,
    OpenEnum8,
    SignatureScheme,
)
from ..errors import AlertError
from .codec import Reader, Writer
from .handshake import CertificateVerify, ClientHello, Finished, Handshake, ServerHello


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

    @classmethod
    def parse(cls, r: Reader) -> HelloRequest:
        return cls()

    def write_body(self, w: Writer) -> None:
        pass


@dataclass
class ServerHelloDone(Handshake):
    """RFC 5246, Section 7.4.5: the end of the server's first flight."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello_done

    @classmethod
    def parse(cls, r: Reader) -> ServerHelloDone:
        return cls()

    def write_body(self, w: Writer) -> None:
        pass


# -- certificates ------------------------------------------------------------------------


@dataclass
class Certificate12(Handshake):
    """RFC 5246, Section 7.4.2: a bare list of DER certificates, the end-entity first."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate
    certificates: tuple[bytes, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> Certificate12:
        block = r.sub(3, "certificate_list")
        certs = []
        while not block.at_end():
            certs.append(block.vec(3, "ASN.1Cert", 1))
        return cls(tuple(certs))

    def write_body(self, w: Writer) -> None:
        body = Writer()
        for cert in self.certificates:
            body.vec(3, cert)
        w.vec(3, body.getvalue())


@dataclass
class CertificateStatus(Handshake):
    """RFC 6066, Section 8: the stapled OCSP response, sent right after Certificate."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_status
    status_type: int = CertificateStatusType.ocsp
    ocsp_response: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> CertificateStatus:
        status_type = CertificateStatusType(r.u8("status_type"))
        if status_type != CertificateStatusType.ocsp:
            # Only ocsp(1) has a defined body; a client never asks for anything else.
            raise AlertError(AlertDescription.illegal_parameter, f"CertificateStatus of unknown type {status_type}")
        return cls(status_type, r.vec(3, "OCSPResponse", 1))

    def write_body(self, w: Writer) -> None:
        w.u8(self.status_type).vec(3, self.ocsp_response)


@dataclass
class CertificateRequest12(Handshake):
    """RFC 5246, Section 7.4.4 (ecdsa_sign from RFC 8422, Section 5.5)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request
    certificate_types: tuple[ClientCertificateType, ...] = (
        ClientCertificateType.rsa_sign,
        ClientCertificateType.ecdsa_sign,
    )
    signature_algorithms: tuple[SignatureScheme, ...] = ()
    authorities: tuple[bytes, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> CertificateRequest12:
        types = tuple(ClientCertificateType(v) for v in r.u8_list(1, "certificate_types", 1))
        schemes = tuple(SignatureScheme(v) for v in r.u16_list(2, "supported_signature_algorithms", 2))
        block = r.sub(2, "certificate_authorities")
        names = []
        while not block.at_end():
            names.append(block.vec(2, "DistinguishedName", 1))
        return cls(types, schemes, tuple(names))

    def write_body(self, w: Writer) -> None:
        w.u8_list(1, self.certificate_types).u16_list(2, self.signature_algorithms)
        w.vec(2, b"".join(Writer().vec(2, name).getvalue() for name in self.authorities))


# -- key exchange ------------------------------------------------------------------------


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


def _read_signature(r: Reader) -> tuple[SignatureScheme, bytes]:
    # RFC 5246, Section 4.7: TLS 1.2's digitally-signed names its SignatureAndHashAlgorithm.
    algorithm = SignatureScheme(r.u16("signature algorithm"))
    signature = r.vec(2, "signature")
    r.finish()
    return algorithm, signature


@dataclass
class ServerKeyExchange(Handshake):
    """RFC 5246, Section 7.4.3 and RFC 8422, Section 5.4, kept opaque until read (see module doc)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_key_exchange
    body: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> ServerKeyExchange:
        return cls(r.raw(r.remaining(), "body"))

    def write_body(self, w: Writer) -> None:
        w.raw(self.body)

    # -- reading, once the key exchange is known --------------------------------------------
    def ecdhe(self) -> ServerECDHParams:
        """The body as ServerECDHParams plus signature (ECDHE_RSA, ECDHE_ECDSA)."""
        r = Reader(self.body, "ServerKeyExchange")
        curve_type = ECCurveType(r.u8("curve_type"))
        if curve_type != ECCurveType.named_curve:
            raise AlertError(
                AlertDescription.illegal_parameter,
                f"ServerKeyExchange curve_type {curve_type.name}: only named curves are supported",
            )
        group = NamedGroup(r.u16("namedcurve"))
        public = r.vec(1, "point", 1, 255)
        params_raw = self.body[: r.position]
        algorithm, signature = _read_signature(r)
        return ServerECDHParams(curve_type, group, public, algorithm, signature, params_raw)

    def dhe(self) -> ServerDHParams:
        """The body as ServerDHParams plus signature (DHE_RSA)."""
        r = Reader(self.body, "ServerKeyExchange")
        p = r.vec(2, "dh_p", 1)
        g = r.vec(2, "dh_g", 1)
        ys = r.vec(2, "dh_Ys", 1)
        params_raw = self.body[: r.position]
        algorithm, signature = _read_signature(r)
        return ServerDHParams(p, g, ys, algorithm, signature, params_raw)

    # -- building, to send ---------------------------------------------------------------------
    @staticmethod
    def ecdhe_params_bytes(group: NamedGroup | int, public: bytes) -> bytes:
        """ServerECDHParams as signed (after client_random + server_random, which the caller prepends)."""
        return Writer().u8(ECCurveType.named_curve).u16(group).vec(1, public).getvalue()

    @staticmethod
    def dhe_params_bytes(p: bytes, g: bytes, ys: bytes) -> bytes:
        """ServerDHParams as signed (after client_random + server_random, which the caller prepends)."""
        return Writer().vec(2, p).vec(2, g).vec(2, ys).getvalue()

    @classmethod
    def for_ecdhe(
        cls, group: NamedGroup | int, public: bytes, algorithm: SignatureScheme | int, signature: bytes
    ) -> ServerKeyExchange:
        params = cls.ecdhe_params_bytes(group, public)
        return cls(params + Writer().u16(algorithm).vec(2, signature).getvalue())

    @classmethod
    def for_dhe(
        cls, p: bytes, g: bytes, ys: bytes, algorithm: SignatureScheme | int, signature: bytes
    ) -> ServerKeyExchange:
        params = cls.dhe_params_bytes(p, g, ys)
        return cls(params + Writer().u16(algorithm).vec(2, signature).getvalue())


ecdhe_params_bytes = ServerKeyExchange.ecdhe_params_bytes
dhe_params_bytes = ServerKeyExchange.dhe_params_bytes


@dataclass
class ClientKeyExchange(Handshake):
    """RFC 5246, Section 7.4.7 and RFC 8422, Section 5.7, kept opaque until read (see module doc)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange
    body: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> ClientKeyExchange:
        return cls(r.raw(r.remaining(), "body"))

    def write_body(self, w: Writer) -> None:
        w.raw(self.body)

    def _read(self, width: int, field: str, min_len: int, max_len: int) -> bytes:
        r = Reader(self.body, "ClientKeyExchange")
        value = r.vec(width, field, min_len, max_len)
        r.finish()
        return value

    def ecdhe_public(self) -> bytes:
        """RFC 8422, Section 5.7: the client's point (explicit encoding; implicit is for fixed ECDH)."""
        return self._read(1, "ecdh_Yc", 1, 255)

    def dhe_public(self) -> bytes:
        """RFC 5246, Section 7.4.7.2: the client's dh_Yc, big-endian."""
        return self._read(2, "dh_Yc", 1, 0xFFFF)

    def rsa_encrypted(self) -> bytes:
        """RFC 5246, Section 7.4.7.1: the RSA-encrypted PreMasterSecret."""
        return self._read(2, "EncryptedPreMasterSecret", 0, 0xFFFF)

    @classmethod
    def for_ecdhe(cls, public: bytes) -> ClientKeyExchange:
        return cls(Writer().vec(1, public).getvalue())

    @classmethod
    def for_dhe(cls, yc: bytes) -> ClientKeyExchange:
        return cls(Writer().vec(2, yc).getvalue())

    @classmethod
    def for_rsa(cls, encrypted: bytes) -> ClientKeyExchange:
        return cls(Writer().vec(2, encrypted).getvalue())


# -- session tickets ---------------------------------------------------------------------


@dataclass
class NewSessionTicket12(Handshake):
    """RFC 5077, Section 3.3. An empty ticket means the server will not issue one after all."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket
    lifetime_hint: int = 0
    ticket: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> NewSessionTicket12:
        return cls(r.u32("ticket_lifetime_hint"), r.vec(2, "ticket"))

    def write_body(self, w: Writer) -> None:
        w.u32(self.lifetime_hint).vec(2, self.ticket)


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
