"""What is read straight from the buffer (issue 15) reads as field-by-field reads do: the
ClientHello and ServerHello decoders against a walk of their layouts, on good messages, on every
truncation and on changed bytes.

(The key_share and pre_shared_key bodies read from their bytes are held to the field-by-field
decoders in tests/test_fast_wire_extensions.py::test_a_body_read_from_its_bytes_reads_as_field_by_field;
the decoders this file held them to before are now those field-by-field decoders themselves.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import KeyShareEntry, OfferedPsks, PskIdentity


def _outcome(decode: Callable[[Reader], Any], body: bytes) -> tuple[str, Any]:
    r = Reader(body, "ClientHello extension x")
    try:
        value = decode(r)
        r.finish()
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, str(exc)
    return "value", value


_SHARES = [
    (KeyShareEntry(NamedGroup.x25519, bytes(range(32))),),
    (KeyShareEntry(NamedGroup.secp256r1, b"\x04" * 65), KeyShareEntry(NamedGroup.x25519, b"k")),
    (),
]
_PSKS = [
    OfferedPsks((PskIdentity(b"ticket" * 3, 0x01020304),), (bytes(range(32)),)),
    OfferedPsks((PskIdentity(b"a", 0), PskIdentity(b"b" * 40, 0xFFFFFFFF)), (b"x" * 48, b"y" * 32)),
]


# -- the hellos' direct reads against their layouts' walk ------------------------------------------


def _walk_client_hello(r: Reader) -> H.ClientHello:
    msg = H.ClientHello(*[spec.read(r) for spec in H.ClientHello.layout])
    H._check_psk_last(msg.extensions)
    return msg


def _walk_server_hello(r: Reader) -> H.ServerHello:
    start = H.ServerHello.layout[:2]
    version, random = (spec.read(r) for spec in start)
    kind = H.HelloRetryRequest if random == H.HRR_RANDOM else H.ServerHello
    return kind(version, random, *[spec.read(r) for spec in kind.after_random])


def _hello_variants(body: bytes) -> Iterator[bytes]:
    """``body``, each truncation, and each byte of its first 80 and last 40 changed (the fixed fields and
    the first extensions, the last ones); all of byte_variants for a short body."""
    if len(body) <= 160:
        yield from byte_variants(body)
        return
    yield body
    for n in range(len(body)):
        yield body[:n]
    for i in [*range(80), *range(len(body) - 40, len(body))]:
        for b in {0, 1, 0x20, 0xFF, body[i] ^ 1}:
            yield body[:i] + bytes((b,)) + body[i + 1 :]


_CLIENT_HELLO = H.ClientHello(
    random=bytes(range(32)),
    legacy_session_id=b"s" * 32,
    cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite(0x0A0A)),
    extensions=(
        X.Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH),
        X.Extension.make(E.key_share, _SHARES[0], X.CH),
        X.Extension.make(E.pre_shared_key, _PSKS[0], X.CH),
    ),
)
_SERVER_HELLOS = [
    H.ServerHello(
        random=b"r" * 32,
        legacy_session_id_echo=b"e" * 32,
        extensions=(
            X.Extension.make(E.key_share, _SHARES[0][0], X.SH),
            X.Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
        ),
    ),
    H.HelloRetryRequest(extensions=(X.Extension.make(E.key_share, NamedGroup.secp256r1, X.HRR),)),
    H.ServerHello(random=b"r" * 32),
]


@pytest.mark.parametrize(
    ("msg", "walk"),
    [(_CLIENT_HELLO, _walk_client_hello), (H.ClientHello(cipher_suites=(1,)), _walk_client_hello)]
    + [(sh, _walk_server_hello) for sh in _SERVER_HELLOS],
    ids=lambda v: getattr(v, "__name__", type(v).__name__),
)
def test_hellos_read_as_their_layouts_walk(msg: H.Handshake, walk: Callable[[Reader], Any]) -> None:
    body = msg.encode()[4:]
    parse = type(msg).parse if type(msg) is not H.HelloRetryRequest else H.ServerHello.parse
    outcome = _outcome(parse, body)
    assert outcome == ("value", msg) and type(outcome[1]) is type(msg)
    for variant in _hello_variants(body):
        fast, walked = _outcome(parse, variant), _outcome(walk, variant)
        assert fast == walked and type(fast[1]) is type(walked[1]), variant.hex()


def test_members_of_gives_what_the_enum_call_gives_for_every_kind_of_value() -> None:
    """members_of and member_of ask an open enum's _missing_ directly for a value it lacks (a hostile
    ClientHello may offer 32,767 unknown suites): the same pseudo-members as the Enum call, in name,
    value and type, for known, registered-but-unimplemented, GREASE and unknown values; and an enum
    that is not open still refuses a value it lacks, as its call does."""
    from enum import IntEnum

    from glasstls.enums import AlertLevel, ExtensionType
    from glasstls.wire.layout import member_of, members_of

    cases = {
        CipherSuite: (0x1301, 0xC02B, 0x0005, 0x0A0A, 0xFAFA, 0x5601, 0xFFFF, 0x0000),
        NamedGroup: (0x001D, 0x0019, 0x2A2A, 0x7777),
        ExtensionType: (0, 43, 0x3A3A, 0xFE0D, 0x1234),
        AlertLevel: (1, 2, 0, 255),
    }
    for kind, values in cases.items():
        got = members_of(kind, values)
        expected = tuple(kind(v) for v in values)
        assert [(type(m), m.name, m.value) for m in got] == [(type(m), m.name, m.value) for m in expected], kind
        one_by_one = [member_of(kind, v) for v in values]
        assert [(m.name, m.value) for m in one_by_one] == [(m.name, m.value) for m in expected]

    class Closed(IntEnum):
        one = 1

    assert members_of(Closed, (1,)) == (Closed.one,)
    for call in (lambda: members_of(Closed, (1, 2)), lambda: member_of(Closed, 2)):
        with pytest.raises(ValueError, match="2 is not a valid"):
            call()
    with pytest.raises(ValueError):
        member_of(AlertLevel, 256)  # beyond the registry's width: not a pseudo-member either
