"""MAC-then-encrypt CBC records (RFC 5246, Section 6.2.3.2) and their Lucky 13 defences.

Record level: round trips for every CBC suite, the format rebuilt by hand, every
corrupted byte and every truncation failing with the same bad_record_mac and the
same reason, every padding length 0..255 accepted when all its bytes hold the
length and refused when one does not, the constant number of hash compression
calls, and tlslite-ng's record layer (MAC-then-encrypt by default) both ways.

Handshake level: glasstls client and server agree on MAC-then-encrypt when the
ClientHello lacks encrypt_then_mac (the client's hello is built without it, as a
client that does not implement RFC 7366 sends it; both transcripts agree), and
keep encrypt-then-MAC whenever both offer it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from glasstls.crypto.prf12 import key_block
from glasstls.crypto.suites import TLS12_SUITES, Suite12
from glasstls.enums import AlertDescription, CipherSuite, ContentType, ExtensionType, ProtocolVersion
from glasstls.errors import AlertError
from glasstls.events import ApplicationData
from glasstls.handshake import hello as hello_module
from glasstls.observe import EventList, MessageTrace
from glasstls.record.cbc_mte import MacThenEncryptCheck
from glasstls.record.protection12 import (
    CBCProtection12,
    MteCBCProtection12,
    protection12,
    protection12_from_key_block,
)
from glasstls.x509.mint import Identity
from pairs import connected_pair, default_ca, transfer

CBC_SUITES = [s for s in TLS12_SUITES.values() if s.cipher.endswith("-CBC")]
IDS = [s.name for s in CBC_SUITES]
SHA1 = TLS12_SUITES[CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA]
SHA256 = TLS12_SUITES[CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]
SHA384 = TLS12_SUITES[CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384]
REASON = "failed authentication (MAC-then-encrypt: MAC or padding)"


def keys_for(suite: Suite12) -> tuple[bytes, bytes]:
    rng = random.Random(f"glasstls-mte-{suite.name}")
    return rng.randbytes(suite.key_len), rng.randbytes(suite.mac_len)


def pair(suite: Suite12) -> tuple[MteCBCProtection12, MteCBCProtection12]:
    key, mac_key = keys_for(suite)
    sealer = protection12(suite, key, b"", mac_key, "application", os.urandom, encrypt_then_mac=False)
    opener = protection12(suite, key, b"", mac_key, "application", os.urandom, encrypt_then_mac=False)
    assert isinstance(sealer, MteCBCProtection12) and isinstance(opener, MteCBCProtection12)
    return sealer, opener


def split(record: bytes | bytearray) -> tuple[bytes, bytes]:
    record = bytes(record)
    assert len(record) - 5 == int.from_bytes(record[3:5], "big")
    return record[:5], record[5:]


def expect_bad_record_mac(opener: MteCBCProtection12, header: bytes, payload: bytes, seq: int = 0) -> None:
    """The one failure of RFC 5246, Section 7.2.2, with the one reason, whatever went wrong."""
    opener.seq = seq
    with pytest.raises(AlertError) as info:
        opener.open(header, payload)
    assert info.value.description == AlertDescription.bad_record_mac, info.value
    assert info.value.reason == f"record {REASON} (application keys, {opener.suite.cipher})"


def mac_input(seq: int, ctype: int, content: bytes) -> bytes:
    """RFC 5246, Section 6.2.3.1: seq_num + type + version + length + content."""
    return seq.to_bytes(8, "big") + bytes((ctype, 3, 3)) + len(content).to_bytes(2, "big") + content


def handmade(suite: Suite12, padded_plaintext: bytes, seq: int = 0, ctype: int = 23) -> tuple[bytes, bytes]:
    """A record of ``padded_plaintext`` (content + MAC + padding, as given), encrypted by the book."""
    key, _ = keys_for(suite)
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    payload = iv + enc.update(padded_plaintext) + enc.finalize()
    return bytes((ctype, 3, 3)) + len(payload).to_bytes(2, "big"), payload


def content_with_mac(suite: Suite12, content: bytes, seq: int = 0) -> bytes:
    _, mac_key = keys_for(suite)
    assert suite.mac is not None
    return content + hmac.digest(mac_key, mac_input(seq, 23, content), suite.mac)


# -- round trips and the format ------------------------------------------------------

LENGTHS = [0, 1, 11, 12, 15, 16, 17, 31, 32, 255, 256, 1000, (1 << 14) - 1, 1 << 14]


@pytest.mark.parametrize("suite", CBC_SUITES, ids=IDS)
def test_round_trip(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    for i, n in enumerate(LENGTHS):
        ctype = (ContentType.handshake, ContentType.alert, ContentType.application_data)[i % 3]
        data = os.urandom(n)
        header, payload = split(sealer.seal(ctype, memoryview(data) if i % 2 else data))
        assert header[0] == ctype and header[1:3] == b"\x03\x03"
        # IV + content, MAC and 1..16 bytes of padding in whole blocks (minimal padding).
        assert len(payload) == 16 + ((n + suite.mac_len) // 16 + 1) * 16
        assert opener.open(header, payload) == (ctype, data)
    assert sealer.seq == opener.seq == len(LENGTHS)


@pytest.mark.parametrize("suite", CBC_SUITES, ids=IDS)
def test_record_format_by_hand(suite: Suite12) -> None:
    """An independent, textbook reading of RFC 5246, Section 6.2.3.2 opens what glasstls seals."""
    key, mac_key = keys_for(suite)
    sealer, _ = pair(suite)
    assert suite.mac is not None
    for seq, n in enumerate((0, 5, 100)):
        data = os.urandom(n)
        header, payload = split(sealer.seal(22, data))
        dec = Cipher(algorithms.AES(key), modes.CBC(payload[:16])).decryptor()
        plain = dec.update(payload[16:]) + dec.finalize()
        pad = plain[-1]
        assert plain[-pad - 1 :] == bytes((pad,)) * (pad + 1)
        body = plain[: -pad - 1]
        content, tag = body[: -suite.mac_len], body[-suite.mac_len :]
        assert content == data
        assert tag == hmac.digest(mac_key, seq.to_bytes(8, "big") + header[:3] + n.to_bytes(2, "big") + data, suite.mac)


def test_a_fresh_iv_per_record() -> None:
    sealer, _ = pair(SHA1)
    ivs = {split(sealer.seal(23, b"same"))[1][:16] for _ in range(20)}
    assert len(ivs) == 20


def test_encrypt_then_mac_is_still_chosen_when_negotiated() -> None:
    key, mac_key = keys_for(SHA1)
    assert type(protection12(SHA1, key, b"", mac_key, "application", os.urandom)) is CBCProtection12


# -- every failure is the same failure ------------------------------------------------


@pytest.mark.parametrize("suite", [SHA1, SHA256, SHA384], ids=lambda s: s.name)
def test_every_corrupted_byte_is_bad_record_mac(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, os.urandom(37)))
    for i in range(len(payload)):
        for flip in (0x01, 0x80):
            bad = bytearray(payload)
            bad[i] ^= flip
            expect_bad_record_mac(opener, header, bytes(bad))
    for i, flip in ((0, 0x01), (1, 0x01), (2, 0x02)):  # type and version are in the MAC input
        bad_header = bytearray(header)
        bad_header[i] ^= flip
        expect_bad_record_mac(opener, bytes(bad_header), payload)
    expect_bad_record_mac(opener, header, payload, seq=1)  # out of order
    opener.seq = 0
    assert opener.open(header, payload)[0] == ContentType.application_data


@pytest.mark.parametrize("suite", [SHA1, SHA384], ids=lambda s: s.name)
def test_every_truncation_is_bad_record_mac(suite: Suite12) -> None:
    sealer, opener = pair(suite)
    header, payload = split(sealer.seal(23, os.urandom(40)))
    for cut in range(len(payload)):
        for short in (payload[:cut], payload[len(payload) - cut :]):
            expect_bad_record_mac(opener, header[:3] + len(short).to_bytes(2, "big"), short)  # never an IndexError


@pytest.mark.parametrize("suite", [SHA1, SHA256, SHA384], ids=lambda s: s.name)
def test_every_padding_length_is_accepted_when_valid(suite: Suite12) -> None:
    """RFC 5246, Section 6.2.3.2: any padding_length up to 255 that completes whole blocks,
    every padding byte equal to it; a single differing byte anywhere in it is refused."""
    _, opener = pair(suite)
    for pad in range(256):
        # Content length chosen so that content + MAC + padding + length byte is whole blocks.
        n = (-(suite.mac_len + pad + 1)) % 16 + 16
        content = os.urandom(n)
        body = content_with_mac(suite, content)
        opener.seq = 0
        assert opener.open(*handmade(suite, body + bytes((pad,)) * (pad + 1))) == (23, content), pad
        for wrong_at in {0, pad // 2, pad - 1} if pad else set():
            padding = bytearray((pad,)) * (pad + 1)
            padding[wrong_at] ^= 0x01
            expect_bad_record_mac(opener, *handmade(suite, body + bytes(padding)))


def test_padding_longer_than_the_record_is_bad_record_mac() -> None:
    _, opener = pair(SHA1)
    # 48 bytes decrypted: the padding length claims 40, which would eat into the MAC's 20.
    expect_bad_record_mac(opener, *handmade(SHA1, bytes(7) + bytes((40,)) * 41))
    # Uniform 0xff: 255 bytes of padding in a 64-byte record.
    expect_bad_record_mac(opener, *handmade(SHA1, b"\xff" * 64))
    # The MAC is right for the content, but the padding claims one byte more than there is.
    body = content_with_mac(SHA1, b"0123456789a")  # 31 bytes
    expect_bad_record_mac(opener, *handmade(SHA1, body + b"\x01"))


def test_bad_padding_and_bad_mac_give_the_same_error() -> None:
    _, opener = pair(SHA256)
    body = content_with_mac(SHA256, b"x" * 15)  # 47 bytes: one byte of padding_length 0
    good = handmade(SHA256, body + b"\x00")
    assert opener.open(*good) == (23, b"x" * 15)
    errors = []
    for plaintext in (body[:-1] + bytes((body[-1] ^ 1,)) + b"\x00", b"x" * 15 + bytes(16) + b"\x10" * 17):
        opener.seq = 0
        with pytest.raises(AlertError) as info:
            opener.open(*handmade(SHA256, plaintext))
        errors.append((info.value.description, info.value.reason))
    assert errors[0] == errors[1]


def test_plaintext_over_2_14_is_record_overflow() -> None:
    sealer, opener = pair(SHA1)
    header, payload = split(sealer.seal(23, bytes((1 << 14) + 1)))
    with pytest.raises(AlertError) as info:
        opener.open(header, payload)
    assert info.value.description == AlertDescription.record_overflow


# -- the constant amount of hashing ---------------------------------------------------


class _CountingHash:
    def __init__(self) -> None:
        self.fed = 0

    def update(self, data: Any) -> None:
        self.fed += len(data)


@pytest.mark.parametrize("hash_name", ["sha1", "sha256", "sha384"])
def test_compression_calls_do_not_depend_on_the_padding(hash_name: str) -> None:
    """Real HMAC blocks + dummy blocks are the same for every padding length, good or bad."""
    check = MacThenEncryptCheck(os.urandom(hashlib.new(hash_name).digest_size), hash_name)
    block = hashlib.new(hash_name).block_size
    n = 1024 + 256
    totals = set()
    for last in range(256):
        for tail in (bytes((last,)) * (last + 1), b"\x00" * last + bytes((last,))):
            counter = _CountingHash()
            check._dummy = counter  # type: ignore[assignment]
            plaintext = os.urandom(n - len(tail)) + tail
            good, content_len = check.check(bytes(11), plaintext)
            assert not good  # the MAC is random
            assert counter.fed % block == 0
            totals.add(check.inner_blocks(content_len) + counter.fed // block)
    assert len(totals) == 1


def test_inner_blocks_counts_like_the_hash() -> None:
    """inner_blocks is the number of blocks SHA pads the 13-byte header + content to (FIPS 180-4, 5.1)."""
    check = MacThenEncryptCheck(bytes(20), "sha1")
    for content_len in range(300):
        total = 13 + content_len
        assert check.inner_blocks(content_len) == (total + 1 + 8 + 63) // 64
    assert check.inner_blocks(64 - 13 - 9) == 1 and check.inner_blocks(64 - 13 - 8) == 2


# -- tlslite-ng's record layer (MAC-then-encrypt when encryptThenMAC is off) -----------


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


@pytest.mark.parametrize("suite", CBC_SUITES, ids=IDS)
def test_interop_with_tlslite(suite: Suite12) -> None:
    recordlayer = pytest.importorskip("tlslite.recordlayer")
    messages = pytest.importorskip("tlslite.messages")
    master, cr, sr = os.urandom(48), os.urandom(32), os.urandom(32)
    sock = _PipeSocket()
    theirs = recordlayer.RecordLayer(sock)
    theirs.version = (3, 3)
    theirs.client = True
    theirs.encryptThenMAC = False
    theirs.calcPendingStates(int(suite.suite), bytearray(master), bytearray(cr), bytearray(sr), None)
    theirs.changeWriteState()
    theirs.changeReadState()
    kb = key_block(suite, master, cr, sr)
    our_read = protection12_from_key_block(suite, kb, "client", "application", os.urandom, encrypt_then_mac=False)
    our_write = protection12_from_key_block(suite, kb, "server", "application", os.urandom, encrypt_then_mac=False)
    for n in (0, 1, 16, 100, 1 << 14):
        data = os.urandom(n)
        for _ in theirs.sendRecord(messages.ApplicationData().create(bytearray(data))):
            pass
        record = bytes(sock.sent)
        sock.sent.clear()
        assert our_read.open(record[:5], record[5:]) == (ContentType.application_data, data)
        sock.pending += our_write.seal(ContentType.application_data, data)
        header, parser = next(r for r in theirs.recvRecord() if r not in (0, 1))
        assert header.type == ContentType.application_data and bytes(parser.bytes) == data


# -- handshakes, glasstls with glasstls ------------------------------------------------


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


@pytest.fixture
def client_without_etm(monkeypatch: pytest.MonkeyPatch) -> None:
    """ClientHellos built without encrypt_then_mac, as by a client without RFC 7366."""
    build = hello_module._client_hello_extensions

    def without_etm(*args: Any, **kw: Any) -> tuple[Any, ...]:
        return tuple(e for e in build(*args, **kw) if e.type != ExtensionType.encrypt_then_mac)

    monkeypatch.setattr(hello_module, "_client_hello_extensions", without_etm)


def _handshake(suites: tuple[CipherSuite, ...], server_suites: tuple[CipherSuite, ...] | None = None) -> Any:
    rsa = any(TLS12_SUITES[s].auth == "RSA" for s in suites)
    events = EventList()
    p = connected_pair(
        identity=rsa_identity() if rsa else None,
        client_observer=events,
        client_kw={"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": suites},
        server_kw={"cipher_suites": server_suites or suites},
    )
    return p, events


def _exchange(p: Any) -> None:
    for sender, receiver, data in ((p.client, p.server, b"ping" * 300), (p.server, p.client, b"pong" * 5000)):
        sender.send(data)
        got = b"".join(e.data for e in transfer(sender, receiver) if isinstance(e, ApplicationData))
        assert got == data


def _server_hello_extensions(events: EventList) -> set[int]:
    sh = next(e.message for e in events.events if isinstance(e, MessageTrace) and e.message.name == "ServerHello")
    return {e.type for e in sh.extensions}


MTE_HANDSHAKE_SUITES = [
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    CipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
]


@pytest.mark.parametrize("suite", MTE_HANDSHAKE_SUITES, ids=lambda s: s.name)
def test_handshake_with_mac_then_encrypt(client_without_etm: None, suite: CipherSuite) -> None:
    p, events = _handshake((suite,))
    assert p.client.parameters.cipher_suite == p.server.parameters.cipher_suite == suite.name
    assert ExtensionType.encrypt_then_mac not in _server_hello_extensions(events)
    for conn in (p.client, p.server):
        assert type(conn._records.write) is MteCBCProtection12
        assert type(conn._records.read) is MteCBCProtection12
    _exchange(p)


def test_handshake_keeps_encrypt_then_mac_when_both_offer_it() -> None:
    p, events = _handshake((CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,))
    assert ExtensionType.encrypt_then_mac in _server_hello_extensions(events)
    assert type(p.client._records.write) is CBCProtection12 and type(p.server._records.read) is CBCProtection12
    _exchange(p)


def test_server_ranks_mac_then_encrypt_after_aead(client_without_etm: None) -> None:
    """Without encrypt_then_mac the server takes an AEAD suite over a CBC suite it prefers."""
    cbc, gcm = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    p, _ = _handshake((cbc, gcm), server_suites=(cbc, gcm))
    assert p.server.parameters.cipher_suite == gcm.name


def test_server_ranks_forward_secrecy_before_aead_without_encrypt_then_mac(client_without_etm: None) -> None:
    """MAC-then-encrypt after AEAD, but RSA key transport (no forward secrecy) after both: a server that
    prefers TLS_RSA_WITH_AES_128_GCM_SHA256 serves ECDHE with CBC to a client without encrypt-then-MAC,
    as Mozilla's "old" list ranks them. It took RSA key transport for those clients."""
    rsa_gcm, ecdhe_cbc = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    p, _ = _handshake((ecdhe_cbc, rsa_gcm), server_suites=(rsa_gcm, ecdhe_cbc))
    assert p.server.parameters.cipher_suite == ecdhe_cbc.name


def test_tampered_mte_record_closes_with_bad_record_mac(client_without_etm: None) -> None:
    p, _ = _handshake((CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,))
    p.client.send(b"secret data")
    record = bytearray(p.client.data_to_send())
    record[-1] ^= 0x01  # the last padding byte: a bad padding, not a bad MAC
    p.server.receive_bytes(bytes(record))
    assert p.server.closed
    error = p.server.error
    assert isinstance(error, AlertError) and error.description == AlertDescription.bad_record_mac
    assert REASON in error.reason


# -- a capture of a MAC-then-encrypt connection, dissected with its key log -----------------


def test_dissect_mac_then_encrypt_capture(client_without_etm: None, tmp_path: Any) -> None:
    """glasstls dissect reads encrypt_then_mac's absence from the ServerHello and decrypts MtE records."""
    from glasstls.trace import pcap
    from test_dissect import REQUEST, RESPONSE, application_data, converse, write

    keylog = tmp_path / "keys.log"
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    conv = converse(
        keylog,
        client_kw={"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": (suite,)},
        server_kw={"cipher_suites": (suite,)},
    )
    stream = pcap.dissect(write(tmp_path, conv), pcap.NSSKeyLog.load(keylog)).streams[0]
    hello = next(e.message for e in stream.events if isinstance(e, MessageTrace) and e.message.name == "ServerHello")
    assert hello.ext(ExtensionType.encrypt_then_mac) is None
    assert stream.decrypted_records > 0 and stream.encrypted_records == 0
    assert application_data(stream, "client") == REQUEST
    assert application_data(stream, "server") == RESPONSE


@pytest.mark.parametrize("suite", [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                   CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256])  # fmt: skip
def test_encrypt_then_mac_answered_for_an_aead_suite_is_refused(suite: CipherSuite) -> None:
    """RFC 7366, Section 3: a server that selects an AEAD suite MUST NOT answer encrypt_then_mac. A client
    that offered it (a CBC suite among its own) refuses such a ServerHello with illegal_parameter rather
    than going on (TLS-Anvil's EncThenMacExtension.sendEncThenMacExtWithNonBlockCiphers)."""
    import dataclasses

    from glasstls.wire import extensions as X
    from glasstls.wire.extensions import Extension
    from glasstls.wire.handshake import ServerHello
    from pairs import make_pair, once

    def with_etm(msg: Any) -> bytes:
        etm = Extension.make(ExtensionType.encrypt_then_mac, True, X.SH)
        return dataclasses.replace(msg, extensions=(*msg.extensions, etm)).encode()

    cbc = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    pair = make_pair(
        client_kw={"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": (suite, cbc)},
        server_kw={"cipher_suites": (suite,)},
        server_alter=once(ServerHello, with_etm),
    )
    pair.server.receive_bytes(pair.client.data_to_send())
    pair.client.receive_bytes(pair.server.data_to_send())
    error = pair.client.error
    assert isinstance(error, AlertError) and error.description == AlertDescription.illegal_parameter, error
    assert "encrypt_then_mac" in error.reason and "AEAD" in error.reason


def _server_hello_headline(events: Any) -> str:
    from glasstls.trace.text import render_text

    (line,) = [line for line in render_text(events.events).splitlines() if "< ServerHello (2)" in line]
    return line


def test_the_trace_says_mac_then_encrypt(client_without_etm: None) -> None:
    """Seed 000 and 003 describe the record's MAC then its encryption; the trace showed the suite
    alone, the same with encrypt-then-MAC or without (only --trace=full listed the extension)."""
    _, events = _handshake((CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,))
    assert _server_hello_headline(events).endswith("; extended master secret; MAC-then-encrypt")


def test_the_trace_says_encrypt_then_mac() -> None:
    _, events = _handshake((CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,))
    assert _server_hello_headline(events).endswith("; extended master secret; encrypt-then-MAC")
    _, events = _handshake((CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,))
    headline = _server_hello_headline(events)
    assert "MAC" not in headline.split("GCM_SHA256", 1)[1]  # an AEAD suite: neither
