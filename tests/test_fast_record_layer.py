"""The record layer's fast lane held to its careful path, for TLS 1.3 (TLS 1.2: test_fast_record_layer12.py).

``RecordLayer.read_record`` reads a whole application_data record from its input
straight into ``Protection13.open`` when the layer has TLS 1.3 read keys, no trace
hook and no early data to skip; everything else goes through ``_read_record``.
A layer with a trace hook always takes the careful path: the two must read the same
records, raise the same alerts with the same reasons and leave the same sequence
number, for a stream of records, every truncation and byte change of it
(tests/byte_variants.py), splits into two and three pieces (read from a bytearray
after the first), and records at the size limit of RFC 8446, Section 5.2.
``RecordLayer.send``'s shortcut for one protected record is held to ``_emit``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byte_variants import byte_variants
from glasstls.crypto.suites import TLS12_SUITES, TLS13_SUITES
from glasstls.enums import AlertDescription, CipherSuite, ContentType
from glasstls.errors import AlertError
from glasstls.events import ApplicationData, ConnectionClosed
from glasstls.record.layer import RecordLayer
from glasstls.record.protection import MAX_CIPHERTEXT, MAX_PLAINTEXT, Protection13
from glasstls.record.protection12 import GCMProtection12
from pairs import connected_pair

SUITE_IDS = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_CCM_8_SHA256,
]
SECRET = bytes(range(32))


def _hook(*args: Any) -> None:
    """A trace hook that records nothing: its presence sends every record down the careful path."""


def layer(suite_id: CipherSuite, careful: bool, installed: bool = False) -> RecordLayer:
    """A layer with read keys assigned to ``read`` (the lane chosen by their first record) or, when
    ``installed``, given to install_read (the lane chosen at once, as a connection installs them)."""
    records = RecordLayer(_hook if careful else None)
    keys = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    if installed:
        records.install_read(keys)
    else:
        records.read = keys
    return records


def read_all(records: RecordLayer, pieces: list[bytes], whole: bool = False) -> list[Any]:
    """Everything read from ``pieces`` fed one after the other: records, then the error if
    one was raised, and the read sequence number. ``whole``: each piece offered to read_whole
    first, as Connection.receive_bytes does, and fed only when it declines."""
    out: list[Any] = []
    try:
        for piece in pieces:
            if whole and (record := records.read_whole(piece)) is not None:
                out += [record, "wait"]
                assert not records.buffered  # nothing left: the caller reads no further
                continue
            records.feed(piece)
            while (record := records.read_record()) is not None:
                out.append(record)
            out.append("wait")
    except AlertError as err:
        out.append(("alert", err.description, err.reason))
    out.append(("seq", records.read.seq if records.read is not None else None))
    return out


def stream(suite_id: CipherSuite) -> bytes:
    """Three records as a TLS 1.3 peer sends them: data, an empty data record, a handshake message."""
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    return b"".join(
        (
            sealer.seal(ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n"),
            sealer.seal(ContentType.application_data, b""),
            sealer.seal(ContentType.handshake, b"\x18\x00\x00\x01\x00", padding=3),
        )
    )


def assert_same_reading(suite_id: CipherSuite, pieces: list[bytes]) -> list[Any]:
    fast = read_all(layer(suite_id, careful=False), pieces)
    assert fast == read_all(layer(suite_id, careful=True), pieces), pieces
    return fast


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_a_stream_reads_alike_in_every_variant(suite_id: CipherSuite) -> None:
    wire = stream(suite_id)
    whole = assert_same_reading(suite_id, [wire])
    assert [r[:2] for r in whole if type(r) is tuple and len(r) == 4] == [
        (ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n"),
        (ContentType.application_data, b""),
        (ContentType.handshake, b"\x18\x00\x00\x01\x00"),
    ]
    for variant in byte_variants(wire, values=(0, 0x14, 0x16, 0x17, 0x40, 0xFF)):
        assert_same_reading(suite_id, [variant])


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_every_split_reads_as_the_whole(suite_id: CipherSuite) -> None:
    wire = stream(suite_id)
    records = [r for r in assert_same_reading(suite_id, [wire]) if type(r) is tuple and len(r) == 4]
    for cut in range(1, len(wire)):
        read = assert_same_reading(suite_id, [wire[:cut], wire[cut:]])
        assert [r for r in read if type(r) is tuple and len(r) == 4] == records


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_every_split_in_three_reads_as_the_whole(suite_id: CipherSuite) -> None:
    """The records after a split are read from a bytearray that must grow again afterwards
    (a view of it left unreleased would make that a BufferError)."""
    wire = stream(suite_id)
    records = [r for r in assert_same_reading(suite_id, [wire]) if type(r) is tuple and len(r) == 4]
    for first in range(1, len(wire), 3):
        for second in range(first + 1, len(wire), 5):
            read = assert_same_reading(suite_id, [wire[:first], wire[first:second], wire[second:]])
            assert [r for r in read if type(r) is tuple and len(r) == 4] == records


_LONG_STREAM_SIZES = (0, 1, 100, 5000, MAX_PLAINTEXT)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.sampled_from(_LONG_STREAM_SIZES), min_size=1, max_size=8),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    change=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.integers(0, 255))),
)
def test_a_long_stream_cut_anywhere_reads_as_the_whole(
    sizes: list[int], cuts: list[float], change: tuple[float, int] | None
) -> None:
    """Records up to the size limit, the stream cut at any points, as a socket's reads cut it (a
    piece that ends inside a record, then one holding its rest and more records: the rest is
    joined to the waiting part alone and the records after it read in place), one byte
    changed or not: the same records, then the same alert or wait, as read whole."""
    suite_id = CipherSuite.TLS_AES_128_GCM_SHA256
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    wire = bytearray(b"".join(sealer.seal(ContentType.application_data, os.urandom(n)) for n in sizes))
    if change is not None:
        at = min(int(change[0] * len(wire)), len(wire) - 1)
        wire[at] = change[1]
    points = sorted({int(c * len(wire)) for c in cuts} - {0, len(wire)})
    pieces = [bytes(wire[a:b]) for a, b in zip([0, *points], [*points, len(wire)], strict=True)]

    def outcome(read: list[Any]) -> list[Any]:
        return [r for r in read if r != "wait"]

    whole = outcome(assert_same_reading(suite_id, [bytes(wire)]))
    assert outcome(assert_same_reading(suite_id, pieces)) == whole
    assert outcome(read_all(layer(suite_id, careful=False), pieces, whole=True)) == whole


def test_input_fed_again_before_the_completed_record_is_read() -> None:
    """feed() that completes a waiting record keeps the rest of its input aside (RecordLayer._rest);
    fed again before anything is read, the layer still reads every record once, in order."""
    suite_id = CipherSuite.TLS_AES_128_GCM_SHA256
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    contents = [bytes([n]) * 1000 for n in range(6)]
    wire = b"".join(sealer.seal(ContentType.application_data, c) for c in contents)
    whole = [r for r in read_all(layer(suite_id, careful=False), [wire]) if type(r) is tuple and len(r) == 4]
    for cut, second in ((500, 2500), (1019, 3100), (3, 1030), (1021, 1540)):
        for careful in (False, True):
            records = layer(suite_id, careful)
            records.feed(wire[:cut])
            assert records.read_record() is None  # the first record is not whole yet
            records.feed(wire[cut:second])  # completes it, and more follows in the same input
            records.feed(wire[second:])  # fed again before reading
            read = []
            while (record := records.read_record()) is not None:
                read.append(record)
            assert read == whole, (cut, second, careful)
            assert records.awaited() == 0 and not records.buffered


def test_awaited_is_what_completes_the_record_or_header_a_cut_fell_in() -> None:
    """Connection.record_bytes_awaited (RecordLayer.awaited), by which the asyncio driver cuts its
    input a record at a time: after a piece that ends at a record's end, 0; inside a header, the
    rest of the header; inside a record, the rest of the record; and fed that many bytes, the
    record is read and nothing is awaited."""
    suite_id = CipherSuite.TLS_AES_128_GCM_SHA256
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    records = [sealer.seal(ContentType.application_data, bytes([n % 256]) * n) for n in (0, 1, 300)]
    wire = b"".join(records)
    ends = [sum(len(r) for r in records[: i + 1]) for i in range(len(records))]
    for cut in range(1, len(wire)):
        layer_ = layer(suite_id, careful=False)
        layer_.feed(wire[:cut])
        while layer_.read_record() is not None:
            pass
        begun = max([0] + [e for e in ends if e <= cut])
        record_end = min(e for e in ends if e > cut) if cut not in ends else cut
        expected = 0 if cut in ends else (begun + 5 - cut if cut - begun < 5 else record_end - cut)
        assert layer_.awaited() == expected, cut
        if expected:
            layer_.feed(wire[cut : cut + expected])
            read = []
            while (record := layer_.read_record()) is not None:
                read.append(record)
            assert layer_.awaited() == (0 if cut - begun >= 5 else record_end - cut - expected), cut


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_a_whole_record_reads_alike_in_every_variant(suite_id: CipherSuite) -> None:
    """read_whole, for an input that is one record (after a first one has chosen the fast
    lane), reads what feed and read_record read, or declines and changes nothing: every
    truncation and byte change of a data record and of a handshake record, alone and
    behind a partial record."""
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    first = sealer.seal(ContentType.application_data, b"first")
    data = sealer.seal(ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n")
    handshake = sealer.seal(ContentType.handshake, b"\x18\x00\x00\x01\x00", padding=3)
    for wire in (data, handshake):
        for variant in byte_variants(wire, values=(0, 0x14, 0x16, 0x17, 0x40, 0xFF)):
            fast = read_all(layer(suite_id, careful=False), [first, variant], whole=True)
            assert fast == read_all(layer(suite_id, careful=True), [first, variant]), variant
            behind = [first, variant[:3], variant[3:]]  # pending bytes: read_whole declines
            assert read_all(layer(suite_id, careful=False), behind, whole=True) == read_all(
                layer(suite_id, careful=True), behind
            )
    records = layer(suite_id, careful=False)
    assert read_all(records, [first], whole=True)[0][1] == b"first"  # (chosen by the first record)
    assert records.read_whole(data) == (ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n", data[:5], True)
    assert records.read_whole(bytearray(data)) is None and records.read.seq == 2  # not the caller's bytes


def full_record_variants(record: bytes) -> list[bytes]:
    """A full record, each change of a byte of its header (to values around its fields and to
    itself with the low bit flipped), each truncation around its header and its end, one byte
    more, and a changed byte of its payload and of its tag."""
    header = record[:5]
    variants = [record, record + b"\x00", record[:-1], record[:-2] + record[-1:]]
    variants += [record[:n] for n in range(7)]
    for i in range(5):
        for value in {0x00, 0x03, 0x08, 0x09, 0x11, 0x14, 0x16, 0x17, 0x40, 0x41, 0xFF, header[i] ^ 1}:
            variants.append(record[:i] + bytes((value,)) + record[i + 1 :])
    for i in (5, len(record) // 2, len(record) - 1):
        variants.append(record[:i] + bytes((record[i] ^ 1,)) + record[i + 1 :])
    return variants


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_a_whole_full_record_reads_alike_in_every_variant(suite_id: CipherSuite) -> None:
    """read_whole compares an input with the header and size of a full record first (2^14 bytes
    of content, the bulk of a transfer) and checks any other field by field: it reads what feed
    and read_record read, or declines, for each variant of a full data record, of a full record
    of another inner type, and of a full-sized one whose padding makes it no longer full."""
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    first = sealer.seal(ContentType.application_data, b"first")
    records = [
        sealer.seal(ContentType.application_data, os.urandom(MAX_PLAINTEXT)),
        sealer.seal(ContentType.handshake, bytes(MAX_PLAINTEXT)),
        sealer.seal(ContentType.application_data, bytes(MAX_PLAINTEXT - 5), padding=5),
    ]
    for record in records:
        assert record[:5] == sealer.full_header and len(record) == sealer.full_size
        for variant in full_record_variants(record):
            fast = read_all(layer(suite_id, careful=False), [first, variant], whole=True)
            assert fast == read_all(layer(suite_id, careful=True), [first, variant]), variant[:8]
    taken = layer(suite_id, careful=False, installed=True)
    assert taken.read_whole(first) is not None and taken.read_whole(records[0]) is not None  # (the shortcut)


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_installed_keys_read_their_first_records_alike(suite_id: CipherSuite) -> None:
    """install_read chooses the fast lane before any record: the first records under the new
    keys (a NewSessionTicket, a client's first data) read as the careful path reads them, offered
    to read_whole or fed: every truncation and byte change of a data record and of a handshake
    record, alone and split in two, and every split of a stream."""
    sealer = Protection13(TLS13_SUITES[suite_id], SECRET, "application")
    data = sealer.seal(ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n")
    handshake = sealer.seal(ContentType.handshake, b"\x04\x00\x00\x01\x00", padding=3)
    for wire in (data, handshake):
        for variant in byte_variants(wire, values=(0, 0x14, 0x16, 0x17, 0x40, 0xFF)):
            for pieces in ([variant], [variant[:3], variant[3:]]):
                careful = read_all(layer(suite_id, careful=True), pieces)
                for whole in (True, False):
                    assert read_all(layer(suite_id, careful=False, installed=True), pieces, whole) == careful, pieces
    wire = stream(suite_id)
    for cut in range(len(wire)):
        pieces = [wire[:cut], wire[cut:]] if cut else [wire]
        careful = read_all(layer(suite_id, careful=True), pieces)
        assert read_all(layer(suite_id, careful=False, installed=True), pieces, whole=True) == careful, cut


def test_install_read_chooses_the_lane_as_the_first_record_would() -> None:
    suite = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    keys = Protection13(suite, SECRET, "application")
    records = RecordLayer(None)
    records.install_read(keys)
    assert records.read is keys and records._fast is keys
    record = Protection13(suite, SECRET, "application").seal(ContentType.application_data, b"data")
    assert records.read_whole(record) == (ContentType.application_data, b"data", record[:5], True)
    # What _read_record would not choose, install_read does not: a traced layer, one that skips
    # rejected 0-RTT records (RFC 8446, Section 4.2.10), no keys. (TLS 1.2's AEAD keys it
    # chooses, CBC's not: tests/test_fast_record_layer12.py.)
    traced = RecordLayer(_hook)
    traced.install_read(keys)
    assert traced.read is keys and traced._fast is None
    records.skip_early_data = 1000
    records.install_read(Protection13(suite, SECRET, "handshake"))
    assert records._fast is None
    records.skip_early_data = 0
    protection12 = GCMProtection12(
        TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256], bytes(16), bytes(4), "application"
    )
    records.install_read(protection12)
    assert records.read is protection12 and records._fast is protection12
    records.install_read(None)
    assert records.read is None and records._fast is None


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_records_at_the_size_limit(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    sealer = Protection13(suite, SECRET, "application")
    full = sealer.seal(ContentType.application_data, os.urandom(MAX_PLAINTEXT))
    # A payload of exactly 2^14 + 256 bytes whose plaintext is too long: record_overflow
    # after decryption (RFC 8446, Section 5.4); one byte more: before it (Section 5.2).
    padding = MAX_CIPHERTEXT - MAX_PLAINTEXT - 1 - suite.tag_len
    overlong = sealer.seal(ContentType.application_data, bytes(MAX_PLAINTEXT), padding=padding)
    assert len(overlong) == 5 + MAX_CIPHERTEXT
    too_big = b"\x17\x03\x03" + (MAX_CIPHERTEXT + 1).to_bytes(2, "big") + bytes(MAX_CIPHERTEXT + 1)
    read = assert_same_reading(suite_id, [full + overlong])
    assert read[0][0] == ContentType.application_data and len(read[0][1]) == MAX_PLAINTEXT
    assert read[1][0] == "alert" and read[1][1].name == "record_overflow"
    read = assert_same_reading(suite_id, [full + too_big])
    assert read[1][0] == "alert" and read[1][1].name == "record_overflow"
    assert read[1][2] == f"record of {MAX_CIPHERTEXT + 1} bytes exceeds {MAX_CIPHERTEXT}"


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_send_shortcut_is_emit(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    fast, careful = RecordLayer(None), RecordLayer(None)
    fast.write = Protection13(suite, SECRET, "application")
    careful.write = Protection13(suite, SECRET, "application")
    for n in (1, 100, MAX_PLAINTEXT - 1, MAX_PLAINTEXT, MAX_PLAINTEXT + 1, 3 * MAX_PLAINTEXT + 5):
        data = os.urandom(n)
        fast.send(ContentType.application_data, data)
        for start in range(0, n, MAX_PLAINTEXT):
            careful._emit(ContentType.application_data, memoryview(data)[start : start + MAX_PLAINTEXT])
        assert fast.take_output() == careful.take_output()
    fast.send(ContentType.change_cipher_spec, b"\x01")  # never protected (RFC 8446, Section 5)
    assert fast.take_output() == b"\x14\x03\x03\x00\x01\x01"
    # take_output: a lone bytes record itself (no copy), a lone bytearray (TLS 1.2 CBC's) as
    # bytes, b"" for none, and nothing kept.
    fast.send(ContentType.application_data, b"data")
    record = fast.output[0]
    assert fast.take_output() is record and fast.output == []
    fast.output.append(bytearray(b"cbc"))
    assert type(taken := fast.take_output()) is bytes and taken == b"cbc"
    assert fast.take_output() == b"" and fast.output == []


@pytest.mark.parametrize("suite_id", SUITE_IDS, ids=lambda s: s.name)
def test_a_connection_delivers_data_received_before_an_error(suite_id: CipherSuite) -> None:
    name = TLS13_SUITES[suite_id].name
    pair = connected_pair(client_kw={"cipher_suites": (suite_id,)}, server_kw={"cipher_suites": (suite_id,)})
    assert pair.client.parameters is not None and pair.client.parameters.cipher_suite == name
    pair.client.send(b"a" * 20000)  # two records
    pair.client.send(b"b" * 100)
    wire = pair.client.data_to_send()
    events = pair.server.receive_bytes(wire[:-50])
    assert [len(e.data) for e in events if isinstance(e, ApplicationData)] == [MAX_PLAINTEXT, 20000 - MAX_PLAINTEXT]
    events = pair.server.receive_bytes(wire[-50:])
    assert [e.data for e in events] == [b"b" * 100]
    pair.client.send(b"c" * 100)
    pair.client.send(b"d" * 100)
    wire = bytearray(pair.client.data_to_send())
    wire[-1] ^= 1
    events = pair.server.receive_bytes(bytes(wire))
    assert isinstance(events[0], ApplicationData) and events[0].data == b"c" * 100
    assert isinstance(events[1], ConnectionClosed) and events[1].error is not None
    assert events[1].error.description.name == "bad_record_mac"
    assert len(events) == 2


def test_the_fast_lane_follows_the_read_keys_and_early_data_skipping() -> None:
    suite = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    records = RecordLayer(None)
    first, second = (Protection13(suite, s, "application") for s in (SECRET, bytes(32)))
    sealers = [Protection13(suite, s, "application") for s in (SECRET, bytes(32))]
    wire = [sealers[i // 3].seal(ContentType.application_data, b"record %d" % i) for i in range(6)]
    records.read = first
    got = read_all(records, [wire[0]])  # the first record under new keys chooses the lane
    assert records._fast is first
    got += read_all(records, [wire[1] + wire[2]])
    # New keys: the lane chosen for the old ones is not taken; their first record chooses again.
    records.read = second
    got += read_all(records, [wire[3] + wire[4], wire[5]])
    assert records._fast is second
    assert [r[1] for r in got if type(r) is tuple and len(r) == 4] == [b"record %d" % i for i in range(6)]
    assert RecordLayer(_hook)._fast is None
    # A server that rejected 0-RTT (RFC 8446, Section 4.2.10): no lane while it skips,
    # one again once a record decrypts.
    records.skip_early_data = 1000
    assert records._fast is None and records.skip_early_data == 1000
    records.read = Protection13(suite, SECRET, "handshake")
    rejected = Protection13(suite, os.urandom(32), "early").seal(ContentType.application_data, b"0-RTT data")
    handshake = Protection13(suite, SECRET, "handshake").seal(ContentType.handshake, b"\x14\x00\x00\x00")
    assert read_all(records, [rejected + handshake]) == [
        (ContentType.handshake, b"\x14\x00\x00\x00", handshake[:5], True),
        "wait",
        ("seq", 1),
    ]
    assert records.skip_early_data == 0
    assert records._fast is None  # chosen again by the next record
    records.read = None
    assert read_all(records, [b"\x17\x03\x03\x00\x01\x00"])[0] == (
        "alert",
        AlertDescription.unexpected_message,
        "encrypted record before keys were agreed",
    )
