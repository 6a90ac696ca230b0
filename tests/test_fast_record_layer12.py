"""The record layer's one-call lanes for TLS 1.2 AEAD records, held to its careful path.

``RecordLayer.read_record`` and ``read_whole`` read an application_data record straight into
``open`` when the read keys open views of the input (``opens_views``): TLS 1.3's, and TLS
1.2's AES-GCM, AES-CCM and ChaCha20-Poly1305 (RFC 5288, RFC 6655, RFC 7905); never CBC's.
As tests/test_fast_record_layer.py does for TLS 1.3: a layer with a trace hook always takes
the careful path, and the two must read the same records, raise the same alerts with the same
reasons and leave the same sequence number, for a stream, every truncation and byte change of
it, splits into two and three pieces (read from a bytearray after the first), whole records
offered to read_whole, and records at TLS 1.2's size limits (RFC 5246, Section 6.2.3: a
payload past TLS 1.3's 2^14 + 256 is no lane's; one past 2^14 + 2048 is refused).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import CipherSuite, ContentType
from glasstls.record.layer import RecordLayer
from glasstls.record.protection import MAX_PLAINTEXT
from glasstls.record.protection12 import protection12
from test_fast_record_layer import _hook, read_all

AEAD_SUITES = [
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
]
CBC_SUITE = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA


def keys(suite_id: CipherSuite) -> Any:
    """One direction's TLS 1.2 protection for ``suite_id`` with fixed keys (the same on both ends)."""
    suite = TLS12_SUITES[suite_id]
    return protection12(
        suite, bytes(range(suite.key_len)), bytes(suite.fixed_iv_len), bytes(suite.mac_len), "application", os.urandom
    )


def layer(suite_id: CipherSuite, careful: bool, installed: bool = False) -> RecordLayer:
    records = RecordLayer(_hook if careful else None)
    if installed:
        records.install_read(keys(suite_id))
    else:
        records.read = keys(suite_id)
    return records


# What a TLS 1.2 peer sends: data, empty data, a handshake message, an alert; each its record.
CONTENTS = (
    (ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n"),
    (ContentType.application_data, b""),
    (ContentType.handshake, b"\x00\x00\x00\x00"),
    (ContentType.alert, b"\x01\x00"),
)


def stream(suite_id: CipherSuite) -> bytes:
    sealer = keys(suite_id)
    return b"".join(sealer.seal(ctype, content) for ctype, content in CONTENTS)


def same_reading(suite_id: CipherSuite, pieces: list[bytes], whole: bool = False, installed: bool = False) -> list[Any]:
    fast = read_all(layer(suite_id, careful=False, installed=installed), pieces, whole)
    assert fast == read_all(layer(suite_id, careful=True), pieces), [p[:8] for p in pieces]
    return fast


def records_of(read: list[Any]) -> list[Any]:
    return [r for r in read if type(r) is tuple and len(r) == 4]


def test_the_lane_takes_aead_keys_and_not_cbc() -> None:
    for suite_id in AEAD_SUITES:
        records = RecordLayer(None)
        records.install_read(keys(suite_id))
        assert records._fast is records.read, suite_id
    cbc = RecordLayer(None)
    cbc.install_read(keys(CBC_SUITE))
    assert cbc._fast is None
    first = keys(CBC_SUITE).seal(ContentType.application_data, b"data")
    assert cbc.read_whole(first) is None  # (fed and read by _read_record instead)


@pytest.mark.parametrize("suite_id", AEAD_SUITES, ids=lambda s: s.name)
def test_a_stream_reads_alike_in_every_variant(suite_id: CipherSuite) -> None:
    wire = stream(suite_id)
    assert tuple(r[:2] for r in records_of(same_reading(suite_id, [wire]))) == CONTENTS
    for variant in byte_variants(wire, values=(0, 0x14, 0x16, 0x17, 0x40, 0xFF)):
        same_reading(suite_id, [variant])


@pytest.mark.parametrize("suite_id", AEAD_SUITES, ids=lambda s: s.name)
def test_every_split_reads_as_the_whole(suite_id: CipherSuite) -> None:
    wire = stream(suite_id)
    expected = records_of(same_reading(suite_id, [wire]))
    for cut in range(1, len(wire)):
        assert records_of(same_reading(suite_id, [wire[:cut], wire[cut:]])) == expected
    for first in range(1, len(wire), 3):
        for second in range(first + 1, len(wire), 7):
            assert records_of(same_reading(suite_id, [wire[:first], wire[first:second], wire[second:]])) == expected


@pytest.mark.parametrize("suite_id", AEAD_SUITES, ids=lambda s: s.name)
def test_a_whole_record_reads_alike_in_every_variant(suite_id: CipherSuite) -> None:
    """read_whole (as Connection.receive_bytes offers it each input) reads what feed and
    read_record read, or declines: every truncation and byte change of a data record,
    with keys chosen by a first record and with keys installed."""
    sealer = keys(suite_id)
    first = sealer.seal(ContentType.application_data, b"first")
    data = sealer.seal(ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n")
    for variant in byte_variants(data, values=(0, 0x14, 0x16, 0x17, 0x40, 0xFF)):
        same_reading(suite_id, [first, variant], whole=True)
        same_reading(suite_id, [first, variant], whole=True, installed=True)
    taken = layer(suite_id, careful=False, installed=True)
    assert taken.read_whole(first) == (ContentType.application_data, b"first", first[:5], True)


@pytest.mark.parametrize("suite_id", AEAD_SUITES, ids=lambda s: s.name)
def test_records_at_the_size_limits(suite_id: CipherSuite) -> None:
    """A full record (2^14 bytes of data) takes the lane; a payload grown past TLS 1.3's limit
    (2^14 + 256) is left to _read_record, and past TLS 1.2's (2^14 + 2048) refused alike."""
    sealer = keys(suite_id)
    content = os.urandom(MAX_PLAINTEXT)
    full = sealer.seal(ContentType.application_data, content)
    assert records_of(same_reading(suite_id, [full], whole=True, installed=True))[0][1] == content
    for extra in (1, 256, 2048 - (len(full) - 5 - MAX_PLAINTEXT), 2049):
        grown = bytearray(full + bytes(extra))
        length = len(grown) - 5
        grown[3:5] = length.to_bytes(2, "big")
        same_reading(suite_id, [bytes(grown)], whole=True, installed=True)
