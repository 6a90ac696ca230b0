"""Open code-point enums for every registry glasstls speaks.

An unknown value is kept, not rejected: ``CipherSuite(0x0a0a)`` yields a
pseudo-member whose name says GREASE or ``unknown_0x....`` (or the registry's name
of a value glasstls does not implement, registry_names.py), so GREASE values
(RFC 8701) and extensions from the future survive parsing and show in traces.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from .registry_names import BY_ENUM

# RFC 8701, Section 2: the sixteen GREASE values for 16-bit registries.
GREASE_VALUES = frozenset(0x0A0A + 0x1010 * i for i in range(16))


def is_grease(value: object) -> bool:
    """A GREASE code point of a 16-bit registry; False for anything else, whatever its type."""
    return isinstance(value, int) and value in GREASE_VALUES


class OpenEnum(IntEnum):
    """An IntEnum that accepts every value of its width (see module doc)."""

    _bits: ClassVar[int]  # the registry's width, set below the class (a value here would be a member)

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, int) or not 0 <= value < (1 << cls._bits):
            return None
        digits = cls._bits // 4
        prefix = "GREASE" if digits == 4 and value in GREASE_VALUES else "unknown"
        member = int.__new__(cls, value)
        registered = BY_ENUM.get(cls.__name__)  # a name for a value glasstls does not implement
        member._name_ = (registered and registered.get(value)) or f"{prefix}_0x{value:0{digits}x}"
        member._value_ = value
        return member

    def __str__(self) -> str:
        return self._name_

    @property
    def known(self) -> bool:
        return self._name_ in type(self).__members__


# Set after creation: a plain attribute in an Enum body would become a member.
OpenEnum._bits = 16


class OpenEnum8(OpenEnum):
    """An open enum for 8-bit registries."""


OpenEnum8._bits = 8


class ContentType(OpenEnum8):
    """RFC 8446, Section 5.1."""

    invalid = 0
    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23


class AlertLevel(OpenEnum8):
    warning = 1
    fatal = 2


class AlertDescription(OpenEnum8):
    """RFC 8446, Section 6, plus RFC 5246's no_renegotiation, and, to name them when an old peer
    sends them, the alerts TLS 1.3 reserves: SSL 3.0's no_certificate (RFC 6101), TLS 1.0's
    export_restriction, TLS 1.2's decompression_failure, RFC 6066's certificate_unobtainable
    and bad_certificate_hash_value."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    decryption_failed = 21
    record_overflow = 22
    decompression_failure = 30
    handshake_failure = 40
    no_certificate = 41
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    export_restriction = 60
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    no_renegotiation = 100
    missing_extension = 109
    unsupported_extension = 110
    certificate_unobtainable = 111
    unrecognized_name = 112
    bad_certificate_status_response = 113
    bad_certificate_hash_value = 114
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


class HandshakeType(OpenEnum8):
    """RFC 8446, Section 4 (RFC 5246 for the TLS 1.2-only types, RFC 8879 for compressed_certificate)."""

    hello_request = 0
    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    server_key_exchange = 12
    certificate_request = 13
    server_hello_done = 14
    certificate_verify = 15
    client_key_exchange = 16
    finished = 20
    certificate_status = 22
    key_update = 24
    compressed_certificate = 25  # RFC 8879, Section 7.2
    message_hash = 254

    @property
    def label(self) -> str:
        """The message's name as the RFCs' structures spell it ("KeyUpdate"), for messages to people;
        "handshake message type 99" for a type no RFC here defines."""
        if not self.known:
            return f"handshake message type {int(self)}"
        return "".join(part.title() for part in self._name_.split("_"))


class ProtocolVersion(OpenEnum):
    SSLv3 = 0x0300
    TLSv1 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304

    @property
    def label(self) -> str:
        """The conventional spelling, e.g. "TLSv1.3"."""
        return _VERSION_LABELS.get(self, self._name_)

    @property
    def retired_by(self) -> str:
        """The RFC that retired this version, for a refusal: "RFC 8996" (TLS 1.0, 1.1), "RFC 7568"
        (SSL 3.0), "RFC 6176" (SSL 2.0 and below); "" for TLS 1.2 and later."""
        if self >= 0x0303:
            return ""
        return "RFC 8996" if self >= 0x0301 else "RFC 7568" if self == 0x0300 else "RFC 6176"


_VERSION_LABELS = {
    0x0300: "SSLv3",
    0x0301: "TLSv1",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}


class CipherSuite(OpenEnum):
    """IANA TLS Cipher Suites registry (the ones glasstls names)."""

    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303
    TLS_AES_128_CCM_SHA256 = 0x1304
    TLS_AES_128_CCM_8_SHA256 = 0x1305
    # TLS 1.2 suites (RFC 5246, 5288, 8422, 7905)
    TLS_RSA_WITH_AES_128_CBC_SHA = 0x002F
    TLS_DHE_RSA_WITH_AES_128_CBC_SHA = 0x0033
    TLS_RSA_WITH_AES_256_CBC_SHA = 0x0035
    TLS_DHE_RSA_WITH_AES_256_CBC_SHA = 0x0039
    TLS_RSA_WITH_AES_128_CBC_SHA256 = 0x003C
    TLS_RSA_WITH_AES_256_CBC_SHA256 = 0x003D
    TLS_DHE_RSA_WITH_AES_128_CBC_SHA256 = 0x0067
    TLS_DHE_RSA_WITH_AES_256_CBC_SHA256 = 0x006B
    TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009C
    TLS_RSA_WITH_AES_256_GCM_SHA384 = 0x009D
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 = 0x009E
    TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 = 0x009F
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA = 0xC009
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA = 0xC00A
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA = 0xC013
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA = 0xC014
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 = 0xC023
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 = 0xC024
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 = 0xC027
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 = 0xC028
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030
    # AES-CCM for TLS 1.2 (RFC 6655, Section 3; RFC 7251, Section 2): by name only
    TLS_RSA_WITH_AES_128_CCM = 0xC09C
    TLS_RSA_WITH_AES_256_CCM = 0xC09D
    TLS_DHE_RSA_WITH_AES_128_CCM = 0xC09E
    TLS_DHE_RSA_WITH_AES_256_CCM = 0xC09F
    TLS_RSA_WITH_AES_128_CCM_8 = 0xC0A0
    TLS_RSA_WITH_AES_256_CCM_8 = 0xC0A1
    TLS_DHE_RSA_WITH_AES_128_CCM_8 = 0xC0A2
    TLS_DHE_RSA_WITH_AES_256_CCM_8 = 0xC0A3
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM = 0xC0AC
    TLS_ECDHE_ECDSA_WITH_AES_256_CCM = 0xC0AD
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = 0xC0AE
    TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8 = 0xC0AF
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAA
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
    TLS_FALLBACK_SCSV = 0x5600


class NamedGroup(OpenEnum):
    """RFC 8446, Section 4.2.7; RFC 7919; draft-ietf-tls-ecdhe-mlkem."""

    secp256r1 = 0x0017
    secp384r1 = 0x0018
    secp521r1 = 0x0019
    x25519 = 0x001D
    x448 = 0x001E
    ffdhe2048 = 0x0100
    ffdhe3072 = 0x0101
    ffdhe4096 = 0x0102
    ffdhe6144 = 0x0103
    ffdhe8192 = 0x0104
    X25519MLKEM768 = 0x11EC


class SignatureScheme(OpenEnum):
    """RFC 8446, Section 4.2.3."""

    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    ed25519 = 0x0807
    ed448 = 0x0808
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B
    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203


class ExtensionType(OpenEnum):
    """IANA TLS ExtensionType Values (the ones glasstls names)."""

    server_name = 0
    max_fragment_length = 1
    status_request = 5
    supported_groups = 10
    ec_point_formats = 11
    signature_algorithms = 13
    use_srtp = 14
    heartbeat = 15
    application_layer_protocol_negotiation = 16
    signed_certificate_timestamp = 18
    padding = 21
    encrypt_then_mac = 22
    extended_master_secret = 23
    compress_certificate = 27
    record_size_limit = 28
    session_ticket = 35
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    oid_filters = 48
    post_handshake_auth = 49
    signature_algorithms_cert = 50
    key_share = 51
    renegotiation_info = 0xFF01
    encrypted_client_hello = 0xFE0D


class CertificateCompressionAlgorithm(OpenEnum):
    """RFC 8879, Sections 3 and 7.3 (zstd(3) is in the RFC, not in its 2019 draft; Zstandard is RFC 8878)."""

    zlib = 1
    brotli = 2
    zstd = 3


class PskKeyExchangeMode(OpenEnum8):
    psk_ke = 0
    psk_dhe_ke = 1


class KeyUpdateRequest(OpenEnum8):
    update_not_requested = 0
    update_requested = 1


class CertificateStatusType(OpenEnum8):
    ocsp = 1


class ClientCertificateType(OpenEnum8):
    """RFC 5246, Section 7.4.4 and RFC 8422, Section 5.5: what a TLS 1.2 CertificateRequest accepts."""

    rsa_sign = 1
    dss_sign = 2
    rsa_fixed_dh = 3
    dss_fixed_dh = 4
    ecdsa_sign = 64
    rsa_fixed_ecdh = 65
    ecdsa_fixed_ecdh = 66
