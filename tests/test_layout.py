"""One description per message (glasstls.wire.layout) drives the parser, the encoder and the field tree.

* Every message class's ``layout`` lists one spec per dataclass field, in
  order (the parser builds ``cls(*values)``, the encoder writes the fields in
  that order), and encoding then parsing gives the message back.
* Whatever the strict parser accepts, the trace's lenient reading of the same
  layout decodes cleanly, with the top-level field names the layout gives.
* The constants of RFC 8446, Section 4.1.3 have one definition, in
  glasstls.wire.handshake, that the trace imports.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glasstls.enums import (
    CertificateStatusType,
    ClientCertificateType,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from glasstls.errors import AlertError
from glasstls.trace import describe, fields_messages
from glasstls.trace.fields import UNDECODABLE, Field, field_tree
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire import handshake12 as H12
from glasstls.wire.extensions import Extension, Extensions
from glasstls.wire.layout import Int, Layout, Opaque, Raw, Vector, values_of

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "glasstls"

SAMPLES: list[tuple[H.Handshake, Any]] = [
    # (message, the TLS 1.2 parsers or None for TLS 1.3's)
    (H.ClientHello(random=b"r" * 32, cipher_suites=(0x1301, 0xC02B), extensions=()), None),
    (H.ServerHello(random=b"s" * 24 + H.DOWNGRADE_TLS12, legacy_session_id_echo=b"i" * 32), H12.TLS12_PARSERS),
    (H.HelloRetryRequest(extensions=(Extension.make(ExtensionType.key_share, NamedGroup.secp256r1, X.HRR),)), None),
    (H.EncryptedExtensions((Extension.make(ExtensionType.record_size_limit, 16385, X.EE),)), None),
    (
        H.CertificateRequest(
            b"c", (Extension.make(ExtensionType.signature_algorithms, (SignatureScheme.ed25519,), X.CR),)
        ),
        None,
    ),
    (H.Certificate(b"", (H.CertificateEntry(b"\x30\x00"), H.CertificateEntry(b"der"))), None),
    (H.CertificateVerify(SignatureScheme.ed25519, b"x" * 64), None),
    (H.Finished(b"f" * 32), None),
    (H.NewSessionTicket(60, 7, b"n", b"ticket"), None),
    (H.EndOfEarlyData(), None),
    (H.KeyUpdate(KeyUpdateRequest.update_requested), None),
    (H12.HelloRequest(), H12.TLS12_PARSERS),
    (H12.ServerHelloDone(), H12.TLS12_PARSERS),
    (H12.Certificate12((b"one", b"two")), H12.TLS12_PARSERS),
    (H12.CertificateStatus(CertificateStatusType.ocsp, b"ocsp"), H12.TLS12_PARSERS),
    (
        H12.CertificateRequest12((ClientCertificateType.ecdsa_sign,), (SignatureScheme.ed25519,), (b"dn",)),
        H12.TLS12_PARSERS,
    ),
    (
        H12.ServerKeyExchange.for_ecdhe(NamedGroup.x25519, b"p" * 32, SignatureScheme.ed25519, b"s" * 64),
        H12.TLS12_PARSERS,
    ),
    (H12.ClientKeyExchange.for_dhe(b"y" * 256), H12.TLS12_PARSERS),
    (H12.NewSessionTicket12(300, b"ticket"), H12.TLS12_PARSERS),
]
CLASSES = sorted(
    {type(m) for m, _ in SAMPLES} | {cls for classes in fields_messages._CLASSES for cls in classes},
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_layout_has_one_spec_per_field_in_order(cls: type[H.Handshake]) -> None:
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    assert len(cls.layout) == len(names), (cls.layout, names)


@pytest.mark.parametrize(("msg", "parsers"), SAMPLES, ids=[m.name for m, _ in SAMPLES])
def test_encode_then_parse_gives_the_message_back(msg: H.Handshake, parsers: Any) -> None:
    raw = msg.encode()
    again = H.decode_message(raw, parsers)
    assert type(again) is type(msg) and again == msg and again.raw == raw
    assert values_of(again) == values_of(msg)


def expected_names(layout: Layout, values: list[Any]) -> list[str]:
    """The top-level field names the trace shows for these values (an empty vector is its length alone)."""
    out = []
    for spec, value in zip(layout, values, strict=True):
        if isinstance(spec, Int):
            out.append(spec.shown_as or spec.name)
        elif isinstance(spec, Raw):
            out += [spec.name] if value else []
        elif isinstance(spec, Opaque):
            name = spec.shown_as or spec.name
            out += [f"{name} length", name] if value else [f"{name} length"]
        elif isinstance(spec, Vector):
            out.append(spec.name)
        elif isinstance(spec, Extensions):
            out.append("extensions")  # the encoder always writes the block; see the mutation test
    return out


def assert_clean(tree: Field) -> None:
    bad = [(n.name, n.note) for _, n in tree.walk() if n.name == UNDECODABLE or n.note]
    assert not bad, bad


@pytest.mark.parametrize(("msg", "parsers"), SAMPLES, ids=[m.name for m, _ in SAMPLES])
def test_field_tree_reads_the_same_layout(msg: H.Handshake, parsers: Any) -> None:
    raw = msg.encode()
    version = V12 if parsers is not None else V13
    kx = "ecdhe" if isinstance(msg, H12.ServerKeyExchange) else "dhe"
    tree = field_tree(raw, "handshake", version, key_exchange=kx)
    if isinstance(msg, H12.ServerKeyExchange):
        params = msg.ecdhe()
        layout = H12.SKE_LAYOUTS["ecdhe"]
        values = [params.curve_type, params.group, params.public, params.algorithm, params.signature]
    elif isinstance(msg, H12.ClientKeyExchange):
        layout, values = H12.CKE_LAYOUTS["dhe"], [msg.dhe_public()]
    else:
        layout, values = msg.layout, values_of(msg)
    assert [c.name for c in tree.children][2:] == expected_names(layout, values)
    if not isinstance(msg, H.ServerHello):  # a ServerHello's random may carry a note on purpose
        assert_clean(tree)


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(base: bytes, ops: list[tuple[int, int, int]]) -> bytes:
        raw = bytearray(base)
        for op, pos, byte in ops:
            pos %= max(len(raw), 1)
            if op == 0 and raw:
                raw[pos] ^= byte or 1
            elif op == 1:
                del raw[pos:]
            else:
                raw[pos:pos] = bytes([byte])
        raw[1:4] = max(len(raw) - 4, 0).to_bytes(3, "big")  # a message the header describes
        return bytes(raw)

    bases = st.sampled_from([m.encode() for m, _ in SAMPLES])
    ops = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=3)
    return st.builds(mutate, bases, ops)


def _kept_verbatim(msg: Any) -> set[str]:
    """The extensions of ``msg`` the parser has no codec for in its context: it keeps their bytes
    as they came (RFC 8446, Section 4.2, an extension not understood is ignored), so it accepts any
    content, while the trace still lays out the ones it knows (a heartbeat's mode, RFC 6520) and
    marks what does not fit that layout."""
    return {ext.type.name for ext in getattr(msg, "extensions", ()) if ext.value is None and ext.data}


def _undecodable(node: Field, verbatim: set[str]) -> list[Field]:
    """The undecodable fields of the tree, but inside an extension kept verbatim."""
    found = []
    for child in node.children:
        if child.name == UNDECODABLE:
            found.append(child)
        elif not (child.name == "Extension" and child.value in verbatim):
            found += _undecodable(child, verbatim)
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_mutations())
@example(raw=b"\x08\x00\x00\x08\x00\x06\x00\x0f\x00\x02@\x01")  # a 2-byte heartbeat, which the parser keeps verbatim
def test_what_the_parser_accepts_the_trace_reads_cleanly(raw: bytes) -> None:
    for parsers, version in ((None, V13), (H12.TLS12_PARSERS, V12)):
        try:
            msg = H.decode_message(raw, parsers)
        except (AlertError, ValueError):
            continue
        if isinstance(msg, (H12.ServerKeyExchange, H12.ClientKeyExchange)):
            continue  # their layout depends on the key exchange; test_fields covers real ones
        tree = field_tree(raw, "handshake", version)
        bad = [(n.name, n.note) for n in _undecodable(tree, _kept_verbatim(msg))]
        assert not bad, (msg, bad)
        expected = expected_names(type(msg).layout, values_of(msg))
        if expected[-1:] == ["extensions"] and tree.children[-1].name != "extensions":
            expected.pop()  # a hello's extensions may be absent altogether (RFC 5246, Section 7.4.1.2)
        assert [c.name for c in tree.children][2:] == expected


def test_rfc8446_constants_have_one_definition() -> None:
    assert describe.DOWNGRADE_TLS12 is H.DOWNGRADE_TLS12 and describe.DOWNGRADE_TLS11 is H.DOWNGRADE_TLS11
    hrr_hex = H.HRR_RANDOM.hex()
    holders = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if hrr_hex in p.read_text())
    assert holders == ["wire/handshake.py"]
    sentinels = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if 'b"DOWNGRD' in p.read_text()}
    assert sentinels == {"wire/handshake.py"}
