"""What the codec keeps to go faster (issue 15) changes nothing a caller can see.

* A message of a class marked ``same_every_time`` (EncryptedExtensions, a certificate chain …)
  is parsed from its bytes once: the next one with the same bytes is a new object, equal to a
  fresh parse, with its own ``raw``; trailing bytes or a body that fails are reported each time.
* ``Extension.make`` of a scalar value is made once per (context, type, value's type, value): a
  bool is not an int to the trace, which shows the value.
* The extensions loop reads each extension from the buffer; a truncated one and a repeated one
  fail as the field-by-field reads did.
"""

from __future__ import annotations

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire import handshake12 as H12
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension, read_extensions


def _ee() -> bytes:
    return H.EncryptedExtensions((Extension.make(E.record_size_limit, 16385, X.EE),)).encode()


def test_a_message_kept_by_its_bytes_is_a_new_equal_object_each_time() -> None:
    raw = _ee()
    first, second = H.decode_message(raw), H.decode_message(bytes(raw))
    assert first == second and first is not second
    assert first.raw == second.raw == raw
    second.extensions = ()  # a state that changes its message changes only its own
    assert H.decode_message(raw) == first


@pytest.mark.parametrize("cls", [H.EncryptedExtensions, H.Certificate, H.CertificateRequest])
def test_kept_classes_parse_as_the_layout_does(cls: type[H.Handshake]) -> None:
    assert cls.same_every_time
    assert H12.Certificate12.same_every_time and not H.ClientHello.same_every_time


def test_trailing_bytes_after_a_kept_body_fail_every_time() -> None:
    raw = _ee()
    body = raw[4:] + b"\x00"
    bad = bytes((raw[0],)) + len(body).to_bytes(3, "big") + body
    for _ in range(3):
        with pytest.raises(DecodeError, match="1 unexpected trailing bytes"):
            H.decode_message(bad)
    assert H.decode_message(raw).raw == raw


def test_a_kept_certificate_chain_is_read_the_same_from_a_reader() -> None:
    cert = H.Certificate(b"", (H.CertificateEntry(b"\x30\x00"), H.CertificateEntry(b"der")))
    body = cert.encode()[4:]
    for _ in range(2):
        r = Reader(body, "Certificate")
        assert H.Certificate.parse(r) == cert
        r.finish()


def test_made_extensions_keep_the_value_type() -> None:
    flag = Extension.make(E.early_data, True, X.EE)
    assert Extension.make(E.early_data, True, X.EE) is flag
    limit = Extension.make(E.early_data, 1, X.NST)
    assert type(limit.value) is int and type(Extension.make(E.early_data, True, X.NST).value) is bool
    assert Extension.make(E.ec_point_formats, (0,), X.SH).data == b"\x01\x00"


def test_truncated_and_repeated_extensions_fail_naming_what_is_wrong() -> None:
    for block, error, words in [
        (b"\x00\x01\x00", DecodeError, "extensions: extension_type truncated"),
        (b"\x00\x03\x00\x2b\x00", DecodeError, "supported_versions extension_data length truncated"),
        (b"\x00\x05\x00\x2b\x00\x05\x00", DecodeError, "supported_versions extension_data truncated"),
        (b"\x00\x08\x00\x17\x00\x00\x00\x17\x00\x00", AlertError, "repeats the extended_master_secret"),
    ]:
        with pytest.raises(error, match=words):
            read_extensions(Reader(block, "ClientHello"), X.CH)


def test_ext_of_a_long_block_answers_as_a_scan_and_follows_new_extensions() -> None:
    """``ext()`` indexes a long extensions block by type: the first of a type wins, as a scan's
    would, a type not there is None, and a message given other extensions is asked anew."""
    first_alpn = Extension.make(E.application_layer_protocol_negotiation, (b"h2",), X.CH)
    exts = (
        Extension.make(E.extended_master_secret, b"", X.CH),
        first_alpn,
        Extension.make(E.application_layer_protocol_negotiation, (b"http/1.1",), X.CH),
        Extension.make(E.record_size_limit, 16385, X.CH),
        Extension.make(E.post_handshake_auth, b"", X.CH),
        Extension.make(E.encrypt_then_mac, b"", X.CH),
    )
    assert len(exts) > H._SCANNED  # indexed, not scanned
    hello = H.ClientHello(extensions=exts)
    assert hello.ext(E.application_layer_protocol_negotiation) is first_alpn
    assert hello.ext(int(E.record_size_limit)) is exts[3]  # a plain int finds it too
    assert hello.ext(E.session_ticket) is None
    hello.extensions = exts[3:]
    assert hello.ext(E.application_layer_protocol_negotiation) is None
    assert hello.ext(E.post_handshake_auth) is exts[4]
    hello.extensions = (*exts, Extension.make(E.session_ticket, b"", X.CH))
    assert hello.ext(E.session_ticket) is hello.extensions[-1]
