"""The bodies of handshake messages and extensions, for :mod:`glasstls.trace.fields`.

One decoder per message type (:data:`_MESSAGES`, RFC 8446, Section 4;
RFC 5246, Section 7.4) and per extension (:data:`_EXTENSIONS`), each reading
the message or extension body with the cursor of
:mod:`glasstls.trace.fields_core`. Internal: :func:`glasstls.trace.fields.field_tree`
is the way in; this module does not import it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..enums import CipherSuite, ExtensionType, HandshakeType, NamedGroup, PskKeyExchangeMode, SignatureScheme
from .fields_core import (
    _HRR_RANDOM,
    Field,
    Out,
    _Bad,
    _block,
    _cert_text,
    _Cur,
    _enum,
    _fill,
    _group,
    _hex,
    _int,
    _items,
    _leaf,
    _list,
    _named,
    _opaque,
    _Opts,
    _size,
    _text,
    _version,
)

# RFC 8446, Section 4.1.3: the last eight bytes of a ServerHello random that signal a downgrade.
_DOWNGRADE = {b"DOWNGRD\x01": "TLS 1.2", b"DOWNGRD\x00": "TLS 1.1 or below"}


def _client_hello(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "legacy_version", 2, _version)
    _leaf(c, out, "random", 32)
    _opaque(c, out, "legacy_session_id", 1)
    _list(c, out, "cipher_suites", 2, "cipher_suite", 2, _enum(CipherSuite, 2))
    _list(c, out, "legacy_compression_methods", 1, "compression_method", 1, _named({0: "null"}))
    if c.left():  # RFC 5246, Section 7.4.1.2: extensions may be absent
        _extensions(c, out, "ClientHello")


def _server_hello(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "legacy_version", 2, _version)
    random = _leaf(c, out, "random", 32)
    hrr = random == _HRR_RANDOM
    if hrr:
        out[-1].note = "the special value that makes this ServerHello a HelloRetryRequest (RFC 8446, Section 4.1.3)"
    elif random[-8:] in _DOWNGRADE:
        out[-1].note = f"ends with the downgrade sentinel for {_DOWNGRADE[random[-8:]]} (RFC 8446, Section 4.1.3)"
    _opaque(c, out, "legacy_session_id_echo", 1)
    _int(c, out, "cipher_suite", 2, _enum(CipherSuite, 2))
    _int(c, out, "legacy_compression_method", 1, _named({0: "null"}))
    if c.left():
        _extensions(c, out, "HelloRetryRequest" if hrr else "ServerHello")


def _encrypted_extensions(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _extensions(c, out, "EncryptedExtensions")


def _certificate_request(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.3.2
        _opaque(c, out, "certificate_request_context", 1)
        _extensions(c, out, "CertificateRequest")
        return
    # RFC 5246, Section 7.4.4
    types = {1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign"}
    _list(c, out, "certificate_types", 1, "ClientCertificateType", 1, _named(types))
    _list(c, out, "supported_signature_algorithms", 2, "SignatureScheme", 2, _enum(SignatureScheme, 2))
    _block(c, out, "certificate_authorities", 2, _items(_distinguished_name))


def _distinguished_name(c: _Cur, out: Out) -> None:
    _opaque(c, out, "DistinguishedName", 2)


def _certificate(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.4.2

        def entry(c: _Cur, out: Out) -> str:
            der = _opaque(c, out, "cert_data", 3, _cert_text)
            _extensions(c, out, "Certificate")
            return _cert_text(der).split(" (issuer")[0]

        _opaque(c, out, "certificate_request_context", 1)
        _block(c, out, "certificate_list", 3, _items(lambda c, out: _group(c, out, "CertificateEntry", entry).value))
        return

    def cert12(c: _Cur, out: Out) -> str:  # RFC 5246, Section 7.4.2
        der = _opaque(c, out, "ASN.1Cert", 3, _cert_text)
        return _cert_text(der).split(" (issuer")[0]

    _block(c, out, "certificate_list", 3, _items(cert12))


def _signature(c: _Cur, out: Out) -> None:
    # RFC 8446, Section 4.4.3; RFC 5246, Section 4.7 (digitally-signed).
    _int(c, out, "algorithm", 2, _enum(SignatureScheme, 2))
    _opaque(c, out, "signature", 2)


def _certificate_verify(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _signature(c, out)


def _finished(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _leaf(c, out, "verify_data", c.left())


def _new_session_ticket(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.6.1
        _int(c, out, "ticket_lifetime", 4, lambda v: f"{v} s")
        _int(c, out, "ticket_age_add", 4, lambda v: f"0x{v:08x}")
        _opaque(c, out, "ticket_nonce", 1)
        _opaque(c, out, "ticket", 2)
        _extensions(c, out, "NewSessionTicket")
    else:  # RFC 5077, Section 3.3
        _int(c, out, "ticket_lifetime_hint", 4, lambda v: f"{v} s")
        _opaque(c, out, "ticket", 2)


def _empty(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    pass


def _key_update(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "request_update", 1, _named({0: "update_not_requested", 1: "update_requested"}))


def _certificate_status(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "status_type", 1, _named({1: "ocsp"}))
    _opaque(c, out, "OCSPResponse", 3)


def _message_hash(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _leaf(c, out, "hash", c.left())


def _server_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:  # the bytes alone: ECDHE if they read cleanly as ServerECDHParams and a signature
        kx = "ecdhe" if _clean(c, _ecdhe_params) else "dhe"
    if kx == "ecdhe":
        _ecdhe_params(c, out)
    elif kx == "dhe":
        for name in ("dh_p", "dh_g", "dh_Ys"):  # RFC 5246, Section 7.4.3
            _opaque(c, out, name, 2)
    else:
        raise _Bad(f"no ServerKeyExchange in the {kx} key exchange")
    _signature(c, out)


def _ecdhe_params(c: _Cur, out: Out) -> None:
    # RFC 8422, Section 5.4: ServerECDHParams
    curve = _int(c, out, "curve_type", 1, _named({1: "explicit_prime", 2: "explicit_char2", 3: "named_curve"}))
    if curve != 3:
        raise _Bad("only named curves are in use (RFC 8422, Section 5.4)")
    _int(c, out, "named_curve", 2, _enum(NamedGroup, 2))
    _opaque(c, out, "public", 1)


def _clean(c: _Cur, body: Callable[[_Cur, Out], None]) -> bool:
    trial = _Cur(c.raw, c.pos, c.end)
    try:
        body(trial, [])
        _signature(trial, [])
        return trial.pos == trial.end
    except _Bad:
        return False


def _client_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:
        kx = "ecdhe" if c.peek(0, 1) == c.left() - 1 else "rsa or dhe"
    if kx == "ecdhe":  # RFC 8422, Section 5.7
        _opaque(c, out, "ecdh_Yc", 1)
    elif kx == "dhe":  # RFC 5246, Section 7.4.7.2
        _opaque(c, out, "dh_Yc", 2)
    elif kx == "rsa":  # RFC 5246, Section 7.4.7.1
        _opaque(c, out, "EncryptedPreMasterSecret", 2)
    else:
        _opaque(c, out, "exchange_keys", 2)
        out[-1].note = "an RSA-encrypted pre-master secret or a DH public value; the cipher suite tells which"


_MESSAGES: dict[int, Callable[[_Cur, Out, _Opts, bool], None]] = {
    HandshakeType.hello_request: _empty,
    HandshakeType.client_hello: _client_hello,
    HandshakeType.server_hello: _server_hello,
    HandshakeType.new_session_ticket: _new_session_ticket,
    HandshakeType.end_of_early_data: _empty,
    HandshakeType.encrypted_extensions: _encrypted_extensions,
    HandshakeType.certificate: _certificate,
    HandshakeType.server_key_exchange: _server_key_exchange,
    HandshakeType.certificate_request: _certificate_request,
    HandshakeType.server_hello_done: _empty,
    HandshakeType.certificate_verify: _certificate_verify,
    HandshakeType.client_key_exchange: _client_key_exchange,
    HandshakeType.finished: _finished,
    HandshakeType.certificate_status: _certificate_status,
    HandshakeType.key_update: _key_update,
    HandshakeType.message_hash: _message_hash,
}
_VERSIONED = (_certificate, _certificate_request, _new_session_ticket)


# -- extensions ------------------------------------------------------------------------------


def _extensions(c: _Cur, out: Out, context: str) -> None:
    """``Extension extensions<..2^16-1>`` (RFC 8446, Section 4.2), each decoded for ``context``."""

    def extension(c: _Cur, out: Out) -> str:
        node = _group(c, out, "Extension", lambda c, o: _extension(c, o, context))
        return node.value.split(":")[0]

    _block(c, out, "extensions", 2, _items(extension))


def _extension(c: _Cur, out: Out, context: str) -> str:
    ext_type = _int(c, out, "extension_type", 2, _enum(ExtensionType, 2))
    name = ExtensionType(ext_type).name
    n = _int(c, out, "extension_data length", 2, _size)
    data = c.sub(n, "extension_data")
    decoder = _EXTENSIONS.get(ext_type)
    if not n:
        return name
    if decoder is None:
        note = "GREASE (RFC 8701)" if out[0].note else "an extension glasstls does not decode"
        out.append(Field("extension_data", data.pos, data.end, _hex(c.raw[data.pos : data.end]), [], note))
        return name
    node = Field("extension_data", data.pos, data.end, "")
    out.append(node)
    node.value = _fill(data, node, lambda c, o: decoder(c, o, context)) or _size(n)
    if len(node.children) == 1 and node.children[0].size == n and not node.note:
        out[-1] = node.children[0]  # one structure fills the data: show it, not a wrapper around it
    return f"{name}: {node.value}" if node.value and node.value != _size(n) else name


def _ext_server_name(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx != "ClientHello":
        return None  # empty in the server's answer (RFC 6066, Section 3)

    def entry(c: _Cur, out: Out) -> str:
        _int(c, out, "name_type", 1, _named({0: "host_name"}))
        return _text(_opaque(c, out, "HostName", 2, _text))

    return _block(c, out, "server_name_list", 2, _items(lambda c, o: _group(c, o, "ServerName", entry).value)).value


def _ext_groups(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "named_group_list", 2, "NamedGroup", 2, _enum(NamedGroup, 2))


def _ext_signature_algorithms(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "supported_signature_algorithms", 2, "SignatureScheme", 2, _enum(SignatureScheme, 2))


def _ext_point_formats(c: _Cur, out: Out, ctx: str) -> str:
    names = {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}
    return _list(c, out, "ec_point_format_list", 1, "ECPointFormat", 1, _named(names))


def _ext_alpn(c: _Cur, out: Out, ctx: str) -> str:
    def name(c: _Cur, out: Out) -> str:
        return _text(_opaque(c, out, "ProtocolName", 1, _text))

    return _block(c, out, "protocol_name_list", 2, _items(name)).value


def _ext_status_request(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx == "Certificate":  # RFC 8446, Section 4.4.2.1
        _int(c, out, "status_type", 1, _named({1: "ocsp"}))
        _opaque(c, out, "OCSPResponse", 3)
        return "a stapled OCSP response"
    if ctx != "ClientHello":
        return None
    _int(c, out, "status_type", 1, _named({1: "ocsp"}))  # RFC 6066, Section 8
    _opaque(c, out, "responder_id_list", 2)
    _opaque(c, out, "request_extensions", 2)
    return "ocsp"


def _ext_supported_versions(c: _Cur, out: Out, ctx: str) -> str:
    if ctx == "ClientHello":
        return _list(c, out, "versions", 1, "ProtocolVersion", 2, _version)
    _int(c, out, "selected_version", 2, _version)
    return out[-1].value


def _key_share_entry(c: _Cur, out: Out) -> str:
    def entry(c: _Cur, out: Out) -> str:
        _int(c, out, "group", 2, _enum(NamedGroup, 2))
        key = _opaque(c, out, "key_exchange", 2)
        return f"{out[0].value.split(' ')[0]} ({_size(len(key))})"

    return _group(c, out, "KeyShareEntry", entry).value


def _ext_key_share(c: _Cur, out: Out, ctx: str) -> str:
    if ctx == "ClientHello":
        return _block(c, out, "client_shares", 2, _items(_key_share_entry)).value
    if ctx == "HelloRetryRequest":
        _int(c, out, "selected_group", 2, _enum(NamedGroup, 2))
        return out[-1].value
    return _key_share_entry(c, out)


def _ext_psk_modes(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "ke_modes", 1, "PskKeyExchangeMode", 1, _enum(PskKeyExchangeMode, 1))


def _ext_pre_shared_key(c: _Cur, out: Out, ctx: str) -> str:
    if ctx != "ClientHello":
        _int(c, out, "selected_identity", 2)
        return f"identity {out[-1].value} accepted"

    def identity(c: _Cur, out: Out) -> str:
        def body(c: _Cur, out: Out) -> str:
            _opaque(c, out, "identity", 2)
            _int(c, out, "obfuscated_ticket_age", 4, lambda v: f"0x{v:08x}")
            return ""

        return _group(c, out, "PskIdentity", body).value

    ids = _block(c, out, "identities", 2, _items(identity))
    _block(c, out, "binders", 2, _items(lambda c, o: _opaque(c, o, "PskBinderEntry", 1) and None))
    return f"{len(ids.children) - 1} identity offered"


def _ext_early_data(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx != "NewSessionTicket":
        return None
    _int(c, out, "max_early_data_size", 4, _size)
    return out[-1].value


def _ext_cookie(c: _Cur, out: Out, ctx: str) -> str:
    return _size(len(_opaque(c, out, "cookie", 2)))


def _ext_record_size_limit(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "RecordSizeLimit", 2, _size)
    return out[-1].value


def _ext_padding(c: _Cur, out: Out, ctx: str) -> str:
    data = _leaf(c, out, "padding", c.left(), lambda d: f"{_size(len(d))} of zeros")
    if data.strip(b"\x00"):
        out[-1].note = "padding must be all zeros (RFC 7685, Section 3)"
    return f"{_size(len(data))}"


def _ext_renegotiation_info(c: _Cur, out: Out, ctx: str) -> str:
    data = _opaque(c, out, "renegotiated_connection", 1)
    return "initial handshake" if not data else f"{_size(len(data))} of verify_data"


def _ext_session_ticket(c: _Cur, out: Out, ctx: str) -> str:
    return _size(len(_leaf(c, out, "ticket", c.left())))


def _ext_max_fragment_length(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "max_fragment_length", 1, _named({1: "2^9", 2: "2^10", 3: "2^11", 4: "2^12"}))
    return out[-1].value


def _ext_compress_certificate(c: _Cur, out: Out, ctx: str) -> str:
    names = {1: "zlib", 2: "brotli", 3: "zstd"}
    return _list(c, out, "algorithms", 1, "CertificateCompressionAlgorithm", 2, _named(names))


def _ext_certificate_authorities(c: _Cur, out: Out, ctx: str) -> str:
    node = _block(c, out, "authorities", 2, _items(_distinguished_name))
    return f"{(len(node.children) - 1) // 2} names"


def _ext_opaque(name: str) -> Callable[[_Cur, Out, str], str]:
    return lambda c, out, ctx: _size(len(_leaf(c, out, name, c.left())))


def _ext_heartbeat(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "mode", 1, _named({1: "peer_allowed_to_send", 2: "peer_not_allowed_to_send"}))
    return out[-1].value


E = ExtensionType
_EXTENSIONS: dict[int, Callable[[_Cur, Out, str], str | None]] = {
    E.server_name: _ext_server_name,
    E.max_fragment_length: _ext_max_fragment_length,
    E.status_request: _ext_status_request,
    E.supported_groups: _ext_groups,
    E.ec_point_formats: _ext_point_formats,
    E.signature_algorithms: _ext_signature_algorithms,
    E.signature_algorithms_cert: _ext_signature_algorithms,
    E.heartbeat: _ext_heartbeat,
    E.application_layer_protocol_negotiation: _ext_alpn,
    E.signed_certificate_timestamp: _ext_opaque("SignedCertificateTimestampList"),
    E.padding: _ext_padding,
    E.compress_certificate: _ext_compress_certificate,
    E.record_size_limit: _ext_record_size_limit,
    E.session_ticket: _ext_session_ticket,
    E.pre_shared_key: _ext_pre_shared_key,
    E.early_data: _ext_early_data,
    E.supported_versions: _ext_supported_versions,
    E.cookie: _ext_cookie,
    E.psk_key_exchange_modes: _ext_psk_modes,
    E.certificate_authorities: _ext_certificate_authorities,
    E.key_share: _ext_key_share,
    E.renegotiation_info: _ext_renegotiation_info,
    E.encrypted_client_hello: _ext_opaque("ECHClientHello"),
}
