"""TLS 1.2 record protection: AES-GCM (RFC 5288), ChaCha20-Poly1305 (RFC 7905) and
AES-CBC with encrypt-then-MAC (RFC 7366), for every suite in TLS12_SUITES.

Round trips, exact record formats rebuilt from the primitives, tampering and
truncation at every byte, the size limits of RFC 5246, Section 6.2, interop
with tlslite-ng's record layer in both directions, and a hypothesis property.
"""

from __future__ import annotations

import hmac
import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.crypto.prf12 import key_block
from glasstls.crypto.rand import ReplayRandomness
from glasstls.crypto.suites import TLS12_SUITES, Suite12
from glasstls.enums import AlertDescription, CipherSuite, ContentType
from glasstls.errors import AlertError
from glasstls.record.layer import RecordLayer
from glasstls.record.protection12 import (
    CBCProtection12,
    CCMProtection12,
    ChaChaProtection12,
    GCMProtection12,
    MteCBCProtection12,
    Protection12,
    protection12,
    protection12_from_key_block,
)

SUITES = list(TLS12_SUITES.values())
IDS = [s.name for s in SUITES]
AEAD_SUITES = [s for s in SUITES if s.aead]
CBC_SUITES = [s for s in SUITES if not s.aead]
GCM = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
CHACHA = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]
CBC = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]
CBC384 = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384]


def keys_for(suite: Suite12, tag: str = "") -> tuple[bytes, bytes, bytes]:
    rng = random.Random(f"glasstls-p12-{suite.name}-{tag}")
    return rng.randbytes(suite.key_len), rng.randbytes(suite.fixed_iv_len), rng.randbytes(suite.mac_len)


def pair(suite: Suite12, epoch: str = "application") -> tuple[Protection12, Protection12]:
    """A sealer and an opener built separately from the same keys (the two ends of one direction)."""
    key, iv, mac_key = keys_for(suite)
    return (
        protection12(suite, key, iv, mac_key, epoch, os.urandom),
        protection12(suite, key, iv, mac_key, epoch, os.urandom),
    )


def split(record: bytes | bytearray) -> tuple[bytes, bytes]:
    record = bytes(record)
    assert len(record) - 5 == int.from_bytes(record[3:5], "big")
    return record[:5], record[5:]


def expect_alert(description: AlertDescription, opener: Protection12, header: bytes, payload: bytes) -> AlertError:
    with pytest.raises(AlertError) as info:
        opener.open(header, payload)
    assert info.value.description == description, info.value
    return info.value


# -- round trips -------------------------------------------------------------------

LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 1000, 4095, (1 << 14) - 1, 1 << 14]


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_round_trip_every_suite(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    assert sealer.protects_all_types is True
    assert sealer.suite is suite and sealer.epoch == "application"
    for i, n in enumerate(LENGTHS):
        ctype = (ContentType.handshake, ContentType.alert, ContentType.application_data)[i % 3]
        data = os.urandom(n)
        view_in = memoryview(data) if i % 2 else data  # the layer passes memoryview fragments
        assert sealer.seq == opener.seq == i
        record = sealer.seal(ctype, view_in)
        header, payload = split(record)
        # The outer type is the real type, the version is TLS 1.2 (RFC 5246, Section 6.2.3).
        assert header[0] == ctype and header[1:3] == b"\x03\x03"
        assert n < 16 or data not in payload  # encrypted, not copied
        got_type, plaintext = opener.open(header, payload)
        assert got_type == ctype and isinstance(got_type, ContentType)
        assert plaintext == data
        assert sealer.seq == opener.seq == i + 1


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_record_sizes(suite: Suite12) -> None:
    sealer, _ = pair(suite)
    for n in (0, 1, 15, 16, 17, 100, 1 << 14):
        payload_len = len(sealer.seal(23, bytes(n))) - 5
        if suite.cipher.endswith("GCM"):
            assert payload_len == 8 + n + 16  # RFC 5288, Section 3
        elif "CCM" in suite.cipher:
            assert payload_len == 8 + n + suite.tag_len  # RFC 6655, Section 3: tag 8 for CCM_8
        elif suite.cipher.startswith("ChaCha"):
            assert payload_len == n + 16  # RFC 7905, Section 2
        else:
            # Explicit IV, content padded to whole blocks with 1..16 bytes (minimal padding), MAC.
            assert payload_len == 16 + (n // 16 + 1) * 16 + suite.mac_len


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_sequence_numbers_bind_records_to_their_position(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    first, second = split(sealer.seal(23, b"first")), split(sealer.seal(23, b"second"))
    # Out of order: the opener expects seq 0 and gets the record sealed under seq 1.
    err = expect_alert(AlertDescription.bad_record_mac, opener, *second)
    assert "application" in err.reason  # the reason names the epoch
    opener.seq = 0
    assert opener.open(*first) == (ContentType.application_data, b"first")
    assert opener.open(*second) == (ContentType.application_data, b"second")
    # Replaying a record after its slot fails as well.
    expect_alert(AlertDescription.bad_record_mac, opener, *first)


def test_factory_picks_the_protection_class() -> None:
    for suite in SUITES:
        sealer, _ = pair(suite)
        expected = GCMProtection12 if suite.cipher.endswith("GCM") else ChaChaProtection12
        if "CCM" in suite.cipher:
            expected = CCMProtection12
        if not suite.aead:
            expected = CBCProtection12
        assert type(sealer) is expected, suite.name


# -- exact formats, rebuilt from the primitives -------------------------------------


def test_gcm_record_format() -> None:
    key, salt, _ = keys_for(GCM)
    sealer = protection12(GCM, key, salt, b"", "application")
    sealer.seal(22, b"skip seq 0")
    data = b"GET / HTTP/1.1\r\n\r\n"
    record = bytes(sealer.seal(23, data))
    seq = (1).to_bytes(8, "big")
    aad = seq + b"\x17\x03\x03" + len(data).to_bytes(2, "big")  # RFC 5246, Section 6.2.3.3
    body = AESGCM(key).encrypt(salt + seq, data, aad)  # nonce = salt + explicit (= seq)
    assert record == b"\x17\x03\x03" + (8 + len(body)).to_bytes(2, "big") + seq + body


def test_gcm_accepts_any_explicit_nonce() -> None:
    # RFC 5288, Section 3: the sender picks the explicit part; the receiver takes it from the record.
    key, salt, _ = keys_for(GCM)
    opener = protection12(GCM, key, salt, b"", "application")
    explicit = bytes.fromhex("0123456789abcdef")
    data = b"peer with random explicit nonces"
    aad = bytes(8) + b"\x17\x03\x03" + len(data).to_bytes(2, "big")
    payload = explicit + AESGCM(key).encrypt(salt + explicit, data, aad)
    header = b"\x17\x03\x03" + len(payload).to_bytes(2, "big")
    assert opener.open(header, payload) == (ContentType.application_data, data)


def test_chacha_record_format() -> None:
    key, iv, _ = keys_for(CHACHA)
    sealer = protection12(CHACHA, key, iv, b"", "application")
    for _ in range(5):
        sealer.seal(23, b"x")
    data = b"\x01\x00"
    record = bytes(sealer.seal(21, data))
    nonce = (int.from_bytes(iv, "big") ^ 5).to_bytes(12, "big")  # RFC 7905, Section 2
    aad = (5).to_bytes(8, "big") + b"\x15\x03\x03\x00\x02"
    body = ChaCha20Poly1305(key).encrypt(nonce, data, aad)
    assert record == b"\x15\x03\x03" + len(body).to_bytes(2, "big") + body


def _cbc_etm_open_by_hand(suite: Suite12, key: bytes, mac_key: bytes, seq: int, record: bytes) -> bytes:
    """An independent, textbook reading of RFC 7366, Section 3 (explicit IV per RFC 5246, 6.2.3.2)."""
    header, payload = record[:5], record[5:]
    body, tag = payload[: -suite.mac_len], payload[-suite.mac_len :]
    mac_input = seq.to_bytes(8, "big") + header[:3] + len(body).to_bytes(2, "big") + body
    assert hmac.compare_digest(hmac.digest(mac_key, mac_input, suite.mac), tag)
    dec = Cipher(algorithms.AES(key), modes.CBC(body[:16])).decryptor()
    padded = dec.update(body[16:]) + dec.finalize()
    pad = padded[-1]
    assert padded[-pad - 1 :] == bytes([pad]) * (pad + 1)
    return padded[: -pad - 1]


@pytest.mark.parametrize("suite", CBC_SUITES, ids=[s.name for s in CBC_SUITES])
def test_cbc_record_format(suite: Suite12) -> None:
    key, _, mac_key = keys_for(suite)
    sealer = protection12(suite, key, b"", mac_key, "application", os.urandom)
    ivs = set()
    for seq, n in enumerate((0, 1, 15, 16, 17, 1000)):
        data = os.urandom(n)
        record = bytes(sealer.seal(23, data))
        assert _cbc_etm_open_by_hand(suite, key, mac_key, seq, record) == data
        ivs.add(record[5:21])
    assert len(ivs) == 6  # a fresh IV per record


def test_cbc_is_deterministic_given_the_randomness() -> None:
    key, _, mac_key = keys_for(CBC)
    chunks = [bytes([i]) * 16 for i in range(3)]
    a = protection12(CBC, key, b"", mac_key, "application", ReplayRandomness(*chunks))
    b = protection12(CBC, key, b"", mac_key, "application", ReplayRandomness(*chunks))
    assert [a.seal(23, b"x" * i) for i in range(3)] == [b.seal(23, b"x" * i) for i in range(3)]


def _cbc_record(suite: Suite12, key: bytes, mac_key: bytes, seq: int, plaintext_with_padding: bytes) -> tuple:
    """A CBC record with a correct MAC around any (possibly malformed) padded plaintext."""
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = iv + enc.update(plaintext_with_padding) + enc.finalize()
    mac = hmac.digest(mac_key, seq.to_bytes(8, "big") + b"\x17\x03\x03" + len(body).to_bytes(2, "big") + body, "sha1")
    payload = body + mac
    return b"\x17\x03\x03" + len(payload).to_bytes(2, "big"), payload


@pytest.mark.parametrize(
    "padded",
    [
        b"hello world" + b"\x04\x04\x04\x05\x04",  # one padding byte differs from the length
        b"hello world!!!!" + b"\x00",  # valid: a single padding_length byte of 0
        bytes(15) + b"\x1f",  # padding longer than the record
        b"x" * 16 + b"\x0f" * 15 + b"\x0e",
        bytes(31) + b"\x10",  # padding bytes that do not hold the length
        b"\x20" * 32,  # uniform, but one byte longer than the record: it would eat into the IV
    ],
)
def test_cbc_padding_is_checked_after_the_mac(padded: bytes) -> None:
    key, _, mac_key = keys_for(CBC)
    opener = protection12(CBC, key, b"", mac_key, "application", os.urandom)
    header, payload = _cbc_record(CBC, key, mac_key, 0, padded)
    if padded == b"hello world!!!!\x00":
        assert opener.open(header, payload) == (ContentType.application_data, b"hello world!!!!")
        return
    err = expect_alert(AlertDescription.bad_record_mac, opener, header, payload)
    assert "padding" in err.reason


def test_cbc_accepts_long_padding() -> None:
    # RFC 5246, Section 6.2.3.2: any padding up to 255 bytes that completes whole blocks is valid.
    key, _, mac_key = keys_for(CBC)
    opener = protection12(CBC, key, b"", mac_key, "application", os.urandom)
    data = b"0123456789"
    padded = data + bytes([101]) * 102
    assert len(padded) % 16 == 0
    assert opener.open(*_cbc_record(CBC, key, mac_key, 0, padded)) == (ContentType.application_data, data)


# -- tampering, truncation, limits --------------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_every_tampered_byte_fails(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(22, os.urandom(37)))
    assert opener.open(header, payload)[1]
    for i in range(len(payload)):
        for flip in (0x01, 0x80):
            bad = bytearray(payload)
            bad[i] ^= flip
            opener.seq = 0
            expect_alert(AlertDescription.bad_record_mac, opener, header, bytes(bad))
    # The type and version in the header are authenticated too (they are in the AAD / MAC input).
    for i, flip in ((0, 0x01), (1, 0x01), (2, 0x02)):
        bad_header = bytearray(header)
        bad_header[i] ^= flip
        opener.seq = 0
        expect_alert(AlertDescription.bad_record_mac, opener, bytes(bad_header), payload)


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_tampering_a_full_record(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, os.urandom(1 << 14)))
    for i in (0, 7, 8, 15, 16, 17, 5000, len(payload) // 2, len(payload) - 17, len(payload) - 1):
        bad = bytearray(payload)
        bad[i] ^= 0x40
        opener.seq = 0
        expect_alert(AlertDescription.bad_record_mac, opener, header, bytes(bad))


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_every_truncation_fails_cleanly(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, os.urandom(40)))
    for cut in range(len(payload)):
        short = payload[:cut]
        short_header = header[:3] + len(short).to_bytes(2, "big")
        opener.seq = 0
        expect_alert(AlertDescription.bad_record_mac, opener, short_header, short)  # never an IndexError
        opener.seq = 0
        expect_alert(AlertDescription.bad_record_mac, opener, short_header, payload[len(payload) - cut :])


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_plaintext_over_2_14_is_record_overflow(suite: Suite12) -> None:
    # RFC 5246, Section 6.2.1: at most 2^14 bytes of plaintext per record. (The record
    # layer fragments before sealing; a peer that does not gets record_overflow.)
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, bytes((1 << 14) + 1)))
    assert len(payload) <= (1 << 14) + 2048
    err = expect_alert(AlertDescription.record_overflow, opener, header, payload)
    assert "application" in err.reason


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_ciphertext_over_2_14_plus_2048_is_record_overflow(suite: Suite12) -> None:
    # RFC 5246, Section 6.2.3.
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, bytes((1 << 14) + 2048)))
    assert len(payload) > (1 << 14) + 2048
    expect_alert(AlertDescription.record_overflow, opener, header, payload)


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_keys_of_the_other_direction_fail(suite: Suite12) -> None:
    kb = key_block(suite, os.urandom(48), os.urandom(32), os.urandom(32))
    client = protection12_from_key_block(suite, kb, "client", "application", os.urandom)
    server = protection12_from_key_block(suite, kb, "server", "application", os.urandom)
    expect_alert(AlertDescription.bad_record_mac, server, *split(client.seal(23, b"hello")))


def test_sequence_number_never_wraps() -> None:
    for suite in (GCM, CHACHA, CBC):
        sealer, opener = pair(suite)
        sealer.seq = opener.seq = (1 << 64) - 1
        with pytest.raises(AlertError) as info:
            sealer.seal(23, b"x")
        assert info.value.description == AlertDescription.internal_error
        expect_alert(AlertDescription.internal_error, opener, b"\x17\x03\x03\x00\x40", bytes(64))


# -- construction ------------------------------------------------------------------


def test_mac_then_encrypt_is_its_own_protection() -> None:
    # Without encrypt_then_mac a CBC suite is MAC-then-encrypt (tests/test_mte_cbc.py).
    key, _, mac_key = keys_for(CBC)
    mte = protection12(CBC, key, b"", mac_key, "application", os.urandom, encrypt_then_mac=False)
    assert type(mte) is MteCBCProtection12
    # AEAD suites do not care (RFC 7366, Section 3: the extension does not apply to them).
    key, iv, _ = keys_for(GCM)
    assert protection12(GCM, key, iv, b"", "application", encrypt_then_mac=False)


def test_bad_construction_is_refused() -> None:
    key, iv, mac_key = keys_for(CBC)
    with pytest.raises(ValueError, match="randomness"):
        protection12(CBC, key, iv, mac_key, "application")
    with pytest.raises(ValueError, match="key"):
        protection12(GCM, bytes(32), bytes(4), b"", "application")  # a 256-bit key for an AES-128 suite
    with pytest.raises(ValueError, match="IV"):
        protection12(CHACHA, bytes(32), bytes(4), b"", "application")
    with pytest.raises(ValueError, match="MAC key"):
        protection12(CBC384, bytes(32), b"", bytes(32), "application", os.urandom)
    with pytest.raises(ValueError, match="writer"):
        protection12_from_key_block(GCM, key_block(GCM, bytes(48), bytes(32), bytes(32)), "both", "x")


def test_repr_shows_no_keys() -> None:
    key, iv, mac_key = keys_for(CBC)
    text = repr(protection12(CBC, key, iv, mac_key, "application", os.urandom))
    assert "CBC" in text and key.hex() not in text and mac_key.hex() not in text


# -- with the record layer ----------------------------------------------------------


@pytest.mark.parametrize("suite", [GCM, CHACHA, CBC], ids=lambda s: s.name)
def test_through_the_record_layer(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    out, into = RecordLayer(), RecordLayer()
    out.write, into.read = sealer, opener
    big = os.urandom(40000)
    out.send(ContentType.handshake, b"\x14\x00\x00\x0c" + bytes(12))
    out.send(ContentType.application_data, big)  # fragmented at 2^14
    out.send(ContentType.alert, b"\x01\x00")
    into.feed(out.take_output())
    got = []
    while (rec := into.next_record()) is not None:
        assert rec.protected
        got.append((rec.content_type, rec.data))
    assert [t for t, _ in got] == [22, 23, 23, 23, 21]
    assert b"".join(d for t, d in got if t == 23) == big


# -- interop: tlslite-ng's record layer, both directions -----------------------------


class _PipeSocket:
    def __init__(self) -> None:
        self.sent = bytearray()
        self.pending = bytearray()

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def recv(self, n: int) -> bytes:
        chunk = bytes(self.pending[:n])
        del self.pending[:n]
        return chunk


@pytest.mark.parametrize("suite", SUITES, ids=IDS)
def test_interop_with_tlslite(suite: Suite12) -> None:
    recordlayer = pytest.importorskip("tlslite.recordlayer")
    messages = pytest.importorskip("tlslite.messages")
    master, cr, sr = os.urandom(48), os.urandom(32), os.urandom(32)
    sock = _PipeSocket()
    theirs = recordlayer.RecordLayer(sock)  # tlslite as the client
    theirs.version = (3, 3)
    theirs.client = True
    theirs.encryptThenMAC = not suite.aead
    theirs.calcPendingStates(int(suite.suite), bytearray(master), bytearray(cr), bytearray(sr), None)
    theirs.changeWriteState()
    theirs.changeReadState()
    kb = key_block(suite, master, cr, sr)  # glasstls as the server
    our_read = protection12_from_key_block(suite, kb, "client", "application", os.urandom)
    our_write = protection12_from_key_block(suite, kb, "server", "application", os.urandom)
    for n in (0, 1, 16, 100, 1 << 14):
        data = os.urandom(n)
        for _ in theirs.sendRecord(messages.ApplicationData().create(bytearray(data))):
            pass
        record = bytes(sock.sent)
        sock.sent.clear()
        assert our_read.open(record[:5], record[5:]) == (ContentType.application_data, data)
        sock.pending += our_write.seal(ContentType.application_data, data)
        result = next(r for r in theirs.recvRecord() if r not in (0, 1))
        header, parser = result
        assert header.type == ContentType.application_data and bytes(parser.bytes) == data


# -- property ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    suite=st.sampled_from(SUITES),
    lengths=st.lists(st.integers(min_value=0, max_value=1 << 14), min_size=1, max_size=4),
    ctype=st.sampled_from([ContentType.handshake, ContentType.alert, ContentType.application_data]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_round_trip_property(suite: Suite12, lengths: list[int], ctype: ContentType, seed: int) -> None:
    rng = random.Random(seed)
    sealer, opener = pair(suite)
    for n in lengths:
        data = rng.randbytes(n)
        header, payload = split(sealer.seal(ctype, data))
        assert len(payload) <= (1 << 14) + 2048  # what the peer's record layer accepts
        assert opener.open(header, payload) == (ctype, data)
    assert sealer.seq == opener.seq == len(lengths)
