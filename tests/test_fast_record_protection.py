"""Protection13's full records held to the RFC bytes.

A record of 2^14 bytes of content is sealed with ``encrypt_into`` and opened with
``decrypt_into`` through buffers lent from a pool of the process; other records with
``encrypt`` and ``decrypt``. Both must give what RFC 8446, Sections 5.2 and 5.3
define: the header, then the AEAD of content, type and padding under the IV XOR the
sequence number with the header as associated data (here ``header + aead.encrypt(...)``
built by hand), for every TLS 1.3 AEAD (CCM_8's 8-byte tag included), full or one byte
short, padded to full, from bytes, memoryview and bytearray, in any order of sizes and
suites, from several threads at once; what was handed out must not change when a
buffer is reused, and the pools stay bounded.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest

from glasstls.crypto.keyschedule13 import traffic_keys
from glasstls.crypto.suites import TLS13_SUITES, Suite13
from glasstls.enums import AlertDescription, CipherSuite, ContentType
from glasstls.errors import AlertError
from glasstls.record import protection
from glasstls.record.protection import MAX_PLAINTEXT, POOLED, Protection13

SUITES = list(TLS13_SUITES)


class Reference:
    """One epoch's records built from the RFC's definitions, one AEAD call each."""

    def __init__(self, suite: Suite13, secret: bytes) -> None:
        keys = traffic_keys(suite, secret)
        self.aead = suite.new_aead(keys.key)
        self.iv = int.from_bytes(keys.iv, "big")
        self.tag_len = suite.tag_len

    def nonce(self, seq: int) -> bytes:
        return (self.iv ^ seq).to_bytes(12, "big")  # RFC 8446, Section 5.3

    def seal(self, seq: int, ctype: int, data: bytes, padding: int = 0) -> bytes:
        inner = bytes(data) + bytes((ctype,)) + bytes(padding)  # TLSInnerPlaintext, Section 5.2
        header = b"\x17\x03\x03" + (len(inner) + self.tag_len).to_bytes(2, "big")
        return header + self.aead.encrypt(self.nonce(seq), inner, header)

    def open(self, seq: int, record: bytes) -> tuple[int, bytes]:
        inner = self.aead.decrypt(self.nonce(seq), record[5:], record[:5]).rstrip(b"\x00")
        return inner[-1], inner[:-1]


# (content length, padding): small, large, one byte short of full, full, padded to full.
SIZES = [
    (0, 0),
    (1, 0),
    (200, 3),
    (5000, 0),
    (MAX_PLAINTEXT - 1, 0),
    (MAX_PLAINTEXT, 0),
    (MAX_PLAINTEXT - 7, 7),
    (MAX_PLAINTEXT - 1, 1),
    (MAX_PLAINTEXT, 0),
    (100, 0),
    (MAX_PLAINTEXT, 0),
]


def cases() -> Iterator[tuple[int, int, int, str]]:
    """(content type, length, padding, input kind), sizes mixed so full and other records alternate."""
    kinds = ("bytes", "memoryview", "bytearray")
    for i, (n, padding) in enumerate(SIZES + SIZES[::-1]):
        yield (23, 22, 21)[i % 3], n, padding, kinds[i % 3]


def as_kind(data: bytes, kind: str) -> bytes | memoryview:
    if kind == "memoryview":
        return memoryview(data)
    if kind == "bytearray":
        return bytearray(data)  # type: ignore[return-value]  # seal takes any bytes-like
    return data


@pytest.mark.parametrize("suite_id", SUITES, ids=lambda s: s.name)
def test_sealed_records_are_the_rfc_bytes(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(suite.hash_len)
    ref, sealer = Reference(suite, secret), Protection13(suite, secret, "application")
    handed_out: list[tuple[bytes, bytes]] = []
    for seq, (ctype, n, padding, kind) in enumerate(cases()):
        data = os.urandom(n)
        record = sealer.seal(ctype, as_kind(data, kind), padding)
        expected = ref.seal(seq, ctype, data, padding)
        assert type(record) is bytes and record == expected, (n, padding, kind)
        handed_out.append((record, expected))
    # Every record handed out is its own bytes: none changed when the buffer was written again.
    assert all(record == expected for record, expected in handed_out)
    assert sealer.seq == len(handed_out)


@pytest.mark.parametrize("suite_id", SUITES, ids=lambda s: s.name)
def test_opened_records_are_the_rfc_content(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(suite.hash_len)
    ref, opener = Reference(suite, secret), Protection13(suite, secret, "application")
    handed_out: list[tuple[bytes, bytes]] = []
    for seq, (ctype, n, padding, kind) in enumerate(cases()):
        data = os.urandom(n) if n else b""
        record = ref.seal(seq, ctype, data, padding)
        payload = memoryview(record)[5:] if kind == "memoryview" else record[5:]
        got_type, content = opener.open(record[:5], payload)
        assert (got_type, content) == ref.open(seq, record) == (ctype, data), (n, padding, kind)
        assert type(got_type) is ContentType and type(content) is bytes
        handed_out.append((content, data))
    assert all(content == data for content, data in handed_out)


@pytest.mark.parametrize("suite_id", SUITES, ids=lambda s: s.name)
def test_padding_only_and_overlong_records(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(suite.hash_len)
    ref = Reference(suite, secret)
    # A full record that is all padding (no content type: RFC 8446, Section 5.4), and a
    # TLSInnerPlaintext of 2^14 + 2 bytes (record_overflow).
    header = b"\x17\x03\x03" + (MAX_PLAINTEXT + 1 + suite.tag_len).to_bytes(2, "big")
    zeros = ref.aead.encrypt(ref.nonce(0), bytes(MAX_PLAINTEXT + 1), header)
    with pytest.raises(AlertError) as info:
        Protection13(suite, secret, "x").open(header, zeros)
    assert info.value.description == AlertDescription.unexpected_message
    assert str(info.value.reason) == "decrypted record holds no content type"
    overlong = ref.seal(0, 23, bytes(MAX_PLAINTEXT), padding=1)
    with pytest.raises(AlertError) as info:
        Protection13(suite, secret, "x").open(overlong[:5], overlong[5:])
    assert info.value.description == AlertDescription.record_overflow


@pytest.mark.parametrize("suite_id", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("n", [100, MAX_PLAINTEXT - 1, MAX_PLAINTEXT])
def test_tampered_records_fail_alike(suite_id: CipherSuite, n: int) -> None:
    """bad_record_mac with the sequence number spent, full record or not; after a failed
    record the next good one opens (a buffer a failure wrote into gives nothing away)."""
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(suite.hash_len)
    ref = Reference(suite, secret)
    record = ref.seal(0, 23, os.urandom(n))
    for i in (5, len(record) // 2, len(record) - 1):
        opener = Protection13(suite, secret, "handshake")
        bad = bytearray(record)
        bad[i] ^= 0x01
        with pytest.raises(AlertError) as info:
            opener.open(bytes(bad[:5]), bytes(bad[5:]))
        assert info.value.description == AlertDescription.bad_record_mac
        assert info.value.reason == "record failed authentication (handshake keys)"
        assert opener.seq == 1
        opener.seq = 0  # as the layer does when it skips rejected early data
        assert opener.open(record[:5], memoryview(record)[5:]) == ref.open(0, record)


def test_suites_of_both_tag_lengths_keep_their_own_pools() -> None:
    """Full records of 16- and 8-byte tags in turn: each epoch seals in buffers of its tag length."""
    pairs = []
    for suite_id in (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_128_CCM_8_SHA256) * 2:
        suite = TLS13_SUITES[suite_id]
        secret = os.urandom(suite.hash_len)
        pairs.append((Reference(suite, secret), Protection13(suite, secret, "a"), Protection13(suite, secret, "a")))
    for seq in range(3):
        for ref, sealer, opener in pairs:
            data = os.urandom(MAX_PLAINTEXT)
            record = sealer.seal(23, data)
            assert record == ref.seal(seq, 23, data)
            assert opener.open(record[:5], memoryview(record)[5:]) == (23, data)
    assert all(len(pool) <= POOLED for pool in protection._SEALING.values()) and len(protection._OPENING) <= POOLED


def test_threads_sealing_and_opening_at_once_each_get_their_own_buffer() -> None:
    suite = TLS13_SUITES[CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
    failures: list[str] = []

    def work(secret: bytes) -> None:
        ref = Reference(suite, secret)
        sealer, opener = (Protection13(suite, secret, "a") for _ in range(2))
        for seq in range(150):
            data = secret * (MAX_PLAINTEXT // len(secret))  # each thread's records are its own bytes
            record = sealer.seal(23, data)
            if record != ref.seal(seq, 23, data) or opener.open(record[:5], record[5:]) != (23, data):
                failures.append(f"thread {secret[:1].hex()} record {seq}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter will
    try:
        threads = [threading.Thread(target=work, args=(bytes([i]) * 32,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert all(len(pool) <= POOLED for pool in protection._SEALING.values()) and len(protection._OPENING) <= POOLED
