"""The crypto floor: the cryptographic calls of one handshake (client and server) and nothing else.

bench.py times these next to each handshake and bulk figure, in the same
interleaved rounds, so a stack's rate divided by the floor's is the share of its
time spent in cryptography; the rest is protocol overhead (Python, for glasstls
and tlslite-ng; C, for OpenSSL behind ``ssl``). The calls are made from Python to
the ``cryptography`` package and to the stdlib's OpenSSL-backed ``hmac.digest``,
``hashlib`` and ``os.urandom``, one Python call per operation (an HMAC is one
``hmac.digest(key, message, "sha256")``, about 3 us here: a stack that finds a
cheaper call beats that part of the floor). What one floor operation includes (client + server):

* ``handshakes`` (TLS 1.3 full, RFC 8446): 3 x 32 random bytes (the two randoms,
  the compatibility session ID); X25519 twice (on each side ``generate``,
  ``public_bytes_raw``, ``from_public_bytes`` of the peer's share, ``exchange``);
  the server's ECDSA P-256 / SHA-256 signature of the CertificateVerify content,
  the client's verification of it with the leaf's public key; the client parsing
  the two certificates of the chain (``load_der_x509_certificate``) and
  validating them for the host name (``PolicyBuilder().store().time()
  .build_server_verifier(DNSName).verify()``, the trust store built once); the
  key schedule of Section 7.1 on each side as single HMAC-SHA256 calls (an
  HKDF-Expand of at most 32 bytes is one HMAC): handshake secret, the two
  handshake traffic secrets, "derived", master secret, the two application
  traffic secrets, key and iv of the four traffic secrets, the two finished keys
  and the two Finished MACs, 19 HMACs a side (the early secret and the first
  "derived" are constants and left out); the transcript hashed on each side
  (SHA-256 of ClientHello ... server Finished, a snapshot at each of the four
  points that need one: the handshake secrets, the CertificateVerify content,
  the server's Finished, the application secrets and the client's Finished);
  four AES-128-GCM contexts built on each side, and
  the two encrypted flights sealed and opened as one record each (the server's
  EncryptedExtensions ... Finished, the client's Finished).
* ``handshakes12`` (TLS 1.2 full, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, EMS):
  3 x 32 random bytes (two randoms, the session ID); X25519 twice as above;
  the server's RSA-2048 PSS / SHA-256 signature of the ServerKeyExchange
  parameters and the client's verification of it; the chain parsed and
  validated as above; on each side the PRF of RFC 5246 Section 5 as HMAC calls:
  the extended master secret (RFC 7627, 48 bytes: 4 HMACs), the key block
  (40 bytes: 4 HMACs) and both Finished (12 bytes: 2 HMACs each), 12 HMACs a
  side; the transcript hashed on each side, with a snapshot for the session
  hash (which the client's Finished uses too) and one for the server's
  Finished; two AES-128-GCM contexts a side and the two Finished sealed and
  opened.
* ``resumptions12`` (session-ID resumption): 3 x 32 random bytes; on each side
  the key block and both Finished (8 HMACs), the transcript, two AES-GCM
  contexts, both Finished sealed and opened, and one close_notify sealed (the
  benchmark closes both sides after a resumption).
* ``resumptions13`` (ticket, psk_dhe_ke): 3 x 32 random bytes; X25519 twice; the
  server opening the ticket the client offers and sealing one new ticket
  (AES-256-GCM, a 128-byte state: OpenSSL issues one ticket after a resumption;
  the format of a ticket is each stack's own); on each side the schedule with a
  PSK: early secret, binder key, binder finished key and binder MAC (computed by
  the client, recomputed by the server), "derived", then as a full handshake
  plus the resumption master secret and the PSK of the one new ticket, 26 HMACs
  a side; the transcript (with the truncated ClientHello for the binder); four
  AES-GCM contexts a side; the two flights, the NewSessionTicket record and one
  close_notify a side sealed (and the first three opened).
* the bulk metrics: one 16 KiB record (16,385 bytes with the content type)
  sealed with a per-record nonce and opened, AES-128-GCM or
  ChaCha20-Poly1305, per 16 KiB written.

Not in the floor: the work of encoding, parsing, state and buffers, the trust
store's construction, any cache of a previous result (a stack that caches path
validation can run faster than this floor; ``components`` shows what the chain
costs alone). Each part is timed on its own too (``components``), once, after
the interleaved rounds, so the breakdown of a floor is printed beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from datetime import UTC, datetime

from common import HOST, WRITE, Pki
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

# The handshake messages' sizes as glasstls and OpenSSL send them here (bytes, with their 4-byte header),
# for the transcript hashes and the records: close enough, as hashing a few kB costs a few microseconds.
CLIENT_HELLO, CLIENT_HELLO_PSK, SERVER_HELLO = 260, 420, 90
ENCRYPTED_EXTENSIONS, CERTIFICATE_VERIFY, FINISHED13, FINISHED12 = 10, 79, 36, 16
SERVER_KEY_EXCHANGE, CLIENT_KEY_EXCHANGE, SERVER_HELLO_DONE = 300, 37, 4
TICKET_STATE, NEW_SESSION_TICKET = 128, 190
TAG = 16
ZEROS = bytes(32)
EMPTY_HASH = hashlib.sha256(b"").digest()


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _expand_label(secret: bytes, label: bytes, context: bytes, length: int = 32) -> bytes:
    """HKDF-Expand-Label (RFC 8446, Section 7.1) for at most 32 bytes: one HMAC."""
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + bytes((len(context),)) + context + b"\x01"
    return _hmac(secret, info)[:length]


def _prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """P_SHA256 of the TLS 1.2 PRF (RFC 5246, Section 5): two HMACs per 32 bytes of output."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < length:
        a = _hmac(secret, a)
        out += _hmac(secret, a + seed)
    return out[:length]


def _transcript(*snapshots: tuple[int, ...]) -> Callable[[], None]:
    """One side's transcript hash: the message sizes, cut where the schedule takes a snapshot."""
    blocks = [[bytes(size) for size in sizes] for sizes in snapshots]

    def run() -> None:
        h = hashlib.sha256()
        for block in blocks:
            for message in block:
                h.update(message)
            h.copy().digest()

    return run


Aead = AESGCM | ChaCha20Poly1305


def _records(make: Callable[[bytes], Aead], sizes: tuple[int, ...], opened: int) -> Callable[[], None]:
    """Seal each record of ``sizes`` (payload + content type) and open the first ``opened`` of them."""
    key = bytes(range(16)) if make is AESGCM else bytes(range(32))
    aead = make(key)
    plains = [bytes(size + 1) for size in sizes]
    nonce, aad = bytes(12), bytes(5)
    sealed = [aead.encrypt(nonce, p, aad) for p in plains[:opened]]

    def run() -> None:
        for plain in plains:
            aead.encrypt(nonce, plain, aad)
        for record in sealed:
            aead.decrypt(nonce, record, aad)

    return run


def _contexts(count: int) -> Callable[[], None]:
    """``count`` AES-128-GCM contexts built from traffic keys (one per direction and epoch, per side)."""
    keys = [os.urandom(16) for _ in range(count)]

    def run() -> None:
        for key in keys:
            AESGCM(key)

    return run


def _x25519_twice() -> None:
    """Both sides' key shares and the two exchanges."""
    client = X25519PrivateKey.generate()
    client_share = client.public_key().public_bytes_raw()
    server = X25519PrivateKey.generate()
    server_share = server.public_key().public_bytes_raw()
    server.exchange(X25519PublicKey.from_public_bytes(client_share))
    client.exchange(X25519PublicKey.from_public_bytes(server_share))


def _randoms(count: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(count):
            os.urandom(32)

    return run


def _schedule13(psk: bool, tickets: int) -> Callable[[], None]:
    """One side's TLS 1.3 key schedule (RFC 8446, Section 7.1) from the (EC)DHE secret."""
    shared, th = os.urandom(32), os.urandom(32)
    derived0 = _expand_label(_hmac(ZEROS, ZEROS), b"derived", EMPTY_HASH)  # a constant without a PSK

    def run() -> None:
        derived = derived0
        if psk:
            early = _hmac(ZEROS, shared)  # HKDF-Extract(0, PSK)
            binder_key = _expand_label(early, b"res binder", EMPTY_HASH)
            _hmac(_expand_label(binder_key, b"finished", b""), th)  # the binder
            derived = _expand_label(early, b"derived", EMPTY_HASH)
        handshake = _hmac(derived, shared)
        secrets = [_expand_label(handshake, b"c hs traffic", th), _expand_label(handshake, b"s hs traffic", th)]
        master = _hmac(_expand_label(handshake, b"derived", EMPTY_HASH), ZEROS)
        secrets += [_expand_label(master, b"c ap traffic", th), _expand_label(master, b"s ap traffic", th)]
        for secret in secrets:
            _expand_label(secret, b"key", b"", 16)
            _expand_label(secret, b"iv", b"", 12)
        for secret in secrets[:2]:
            _hmac(_expand_label(secret, b"finished", b""), th)
        if tickets:
            resumption = _expand_label(master, b"res master", th)
            for nonce in range(tickets):
                _expand_label(resumption, b"resumption", bytes((nonce,)))

    return run


def _schedule12(full: bool) -> Callable[[], None]:
    """One side's TLS 1.2 PRF calls: the extended master secret (full only), the key block, both Finished."""
    secret, seed = os.urandom(48), os.urandom(64)

    def run() -> None:
        master = _prf(secret[:32], b"extended master secret", seed[:32], 48) if full else secret
        _prf(master, b"key expansion", seed, 40)  # 2 x 16-byte keys, 2 x 4-byte implicit nonces
        _prf(master, b"client finished", seed[:32], 12)
        _prf(master, b"server finished", seed[:32], 12)

    return run


class _ChainCheck:
    """The client's certificate work: parse the chain's DER and validate it for the host name."""

    def __init__(self, pki: Pki, chain: tuple[x509.Certificate, ...]) -> None:
        self.ders = [c.public_bytes(Encoding.DER) for c in chain]
        self.store = verification.Store([pki.ca.root_cert])  # built once, as every stack's trust store
        self.name = x509.DNSName(HOST)

    def parse_and_validate(self) -> None:
        certs = [x509.load_der_x509_certificate(der) for der in self.ders]
        verifier = verification.PolicyBuilder().store(self.store).time(datetime.now(UTC))
        verifier.build_server_verifier(self.name).verify(certs[0], certs[1:])
        certs[0].public_key()


class CryptoFloor:
    """A pseudo-stack whose operations are the floors of bench.py's metrics (see the module doc)."""

    name = "crypto floor"

    def __init__(self, pki: Pki, suite: str = "TLS_AES_128_GCM_SHA256") -> None:
        self.pki, self.suite = pki, suite
        self.aead: Callable[[bytes], Aead] = ChaCha20Poly1305 if "CHACHA20" in suite else AESGCM
        ecdsa_key, rsa_key = pki.server.private_key, pki.rsa_server.private_key
        ecdsa_public, rsa_public = pki.server.chain[0].public_key(), pki.rsa_server.chain[0].public_key()
        assert isinstance(ecdsa_key, ec.EllipticCurvePrivateKey) and isinstance(rsa_key, rsa.RSAPrivateKey)
        assert isinstance(ecdsa_public, ec.EllipticCurvePublicKey) and isinstance(rsa_public, rsa.RSAPublicKey)
        content = bytes(64) + b"TLS 1.3, server CertificateVerify\x00" + os.urandom(32)
        ecdsa = ec.ECDSA(hashes.SHA256())
        ecdsa_signature = ecdsa_key.sign(content, ecdsa)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        params = os.urandom(64) + bytes(4) + os.urandom(32)  # the two randoms, the curve and the share
        rsa_signature = rsa_key.sign(params, pss, hashes.SHA256())
        ticket_aead = AESGCM(os.urandom(32))
        ticket = ticket_aead.encrypt(bytes(12), bytes(TICKET_STATE), b"")
        chain13 = _ChainCheck(pki, pki.server.chain)
        chain12 = _ChainCheck(pki, pki.rsa_server.chain)
        cert13 = 4 + 3 + sum(3 + len(d) + 2 for d in chain13.ders)  # Certificate with empty extensions
        cert12 = 4 + 3 + sum(3 + len(d) for d in chain12.ders)
        both = 2  # client and server: the per-side parts run twice

        def twice(run: Callable[[], object]) -> Callable[[], None]:
            def run_both() -> None:
                for _ in range(both):
                    run()

            return run_both

        flight13 = (ENCRYPTED_EXTENSIONS + cert13 + CERTIFICATE_VERIFY + FINISHED13, FINISHED13)  # two records
        self.components: dict[str, list[tuple[str, Callable[[], object]]]] = {
            "handshakes": [
                ("random 3x32", _randoms(3)),
                ("X25519 x2", _x25519_twice),
                ("ECDSA P-256 sign", lambda: ecdsa_key.sign(content, ecdsa)),
                ("ECDSA P-256 verify", lambda: ecdsa_public.verify(ecdsa_signature, content, ecdsa)),
                ("chain parse+validate", chain13.parse_and_validate),
                ("HMAC x38", twice(_schedule13(psk=False, tickets=0))),
                (
                    "SHA-256 transcript x2",
                    twice(
                        _transcript(
                            (CLIENT_HELLO, SERVER_HELLO),  # the handshake secrets
                            (ENCRYPTED_EXTENSIONS, cert13),  # the CertificateVerify content
                            (CERTIFICATE_VERIFY,),  # the server's Finished
                            (FINISHED13,),  # the application secrets, the client's Finished
                        )
                    ),
                ),
                ("AES-GCM contexts x8", twice(_contexts(4))),
                ("records 2 sealed+opened", _records(AESGCM, flight13, 2)),
            ],
            "handshakes12": [
                ("random 3x32", _randoms(3)),
                ("X25519 x2", _x25519_twice),
                ("RSA-2048 PSS sign", lambda: rsa_key.sign(params, pss, hashes.SHA256())),
                ("RSA-2048 PSS verify", lambda: rsa_public.verify(rsa_signature, params, pss, hashes.SHA256())),
                ("chain parse+validate", chain12.parse_and_validate),
                ("HMAC x24", twice(_schedule12(full=True))),
                (
                    "SHA-256 transcript x2",
                    twice(
                        _transcript(
                            # the session hash (RFC 7627) and the client's Finished
                            (
                                CLIENT_HELLO,
                                SERVER_HELLO,
                                cert12,
                                SERVER_KEY_EXCHANGE,
                                SERVER_HELLO_DONE,
                                CLIENT_KEY_EXCHANGE,
                            ),
                            (FINISHED12,),  # the server's Finished
                        )
                    ),
                ),
                ("AES-GCM contexts x4", twice(_contexts(2))),
                ("records 2 sealed+opened", _records(AESGCM, (FINISHED12, FINISHED12), 2)),
            ],
            "resumptions12": [
                ("random 3x32", _randoms(3)),
                ("HMAC x16", twice(_schedule12(full=False))),
                ("SHA-256 transcript x2", twice(_transcript((CLIENT_HELLO, SERVER_HELLO), (FINISHED12,)))),
                ("AES-GCM contexts x4", twice(_contexts(2))),
                ("records 4 sealed, 2 opened", _records(AESGCM, (FINISHED12, FINISHED12, 2, 2), 2)),
            ],
            "resumptions13": [
                ("random 3x32", _randoms(3)),
                ("X25519 x2", _x25519_twice),
                (
                    "ticket opened+sealed",
                    lambda: (
                        ticket_aead.decrypt(bytes(12), ticket, b""),
                        ticket_aead.encrypt(bytes(12), bytes(TICKET_STATE), b""),
                    ),
                ),
                ("HMAC x52", twice(_schedule13(psk=True, tickets=1))),
                (
                    "SHA-256 transcript x2",
                    twice(
                        _transcript(
                            (CLIENT_HELLO_PSK - 35,),  # the binder's truncated ClientHello
                            (35, SERVER_HELLO),  # the handshake secrets
                            (ENCRYPTED_EXTENSIONS,),  # the server's Finished
                            (FINISHED13,),  # the application secrets, the client's Finished
                            (FINISHED13,),  # the resumption master secret
                        )
                    ),
                ),
                ("AES-GCM contexts x8", twice(_contexts(4))),
                (
                    "records 5 sealed, 3 opened",
                    _records(AESGCM, (ENCRYPTED_EXTENSIONS + FINISHED13, FINISHED13, NEW_SESSION_TICKET, 2, 2), 3),
                ),
            ],
        }
        bulk: list[tuple[str, Callable[[], object]]] = [
            (f"{WRITE // 1024} KiB record sealed+opened", self._bulk_record())
        ]
        if self.aead is AESGCM:
            self.components.update(megabytes=bulk, megabytes_s2c=bulk)
        else:  # the ChaCha20 worker measures these rows alone
            self.components = {"megabytes_chacha": bulk, "megabytes_chacha_s2c": bulk}

    def _bulk_record(self) -> Callable[[], None]:
        aead = self.aead(bytes(range(16)) if self.aead is AESGCM else bytes(range(32)))
        plain, aad, iv = bytes(WRITE + 1), bytes(5), os.urandom(12)
        sealed = aead.encrypt(iv, plain, aad)
        sequence = [0]

        def run() -> None:
            sequence[0] += 1
            nonce = (int.from_bytes(iv, "big") ^ sequence[0]).to_bytes(12, "big")
            aead.encrypt(nonce, plain, aad)
            aead.decrypt(iv, sealed, aad)

        return run

    def operation(self, metric: str) -> Callable[[], int]:
        """One floor of ``metric``: every component once; returns what the metric counts (1, or bytes)."""
        steps = [run for _, run in self.components[metric]]
        done = WRITE if metric.startswith("megabytes") else 1

        def floor() -> int:
            for step in steps:
                step()
            return done

        return floor

    def describe(self, metric: str) -> str:
        return " + ".join(name for name, _ in self.components[metric])


def component_times(floor: CryptoFloor, metric: str, seconds: float) -> dict[str, float]:
    """Microseconds per call of each component of ``metric``'s floor, each run for about ``seconds``."""
    import time

    times = {}
    for name, run in floor.components[metric]:
        run()
        count, start = 0, time.perf_counter()
        while True:
            run()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        times[name] = elapsed / count * 1e6
    return times
