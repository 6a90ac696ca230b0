"""The Lucky Thirteen signal: how long glasstls takes to reject MAC-then-encrypt CBC records.

    .venv/bin/python bench/lucky13.py [--iterations 20000] [--seed 1]

One record length: 1024 bytes of content, HMAC-SHA1, AES-128-CBC, MAC-then-encrypt
(RFC 5246, Section 6.2.3.2), so every record is IV(16) + 1056 bytes of ciphertext.
All the records below have that same length and differ only in their decrypted
tail, which is what a Lucky Thirteen attacker controls:

* ``good``: content, correct MAC, 12 bytes of padding (padding_length 11);
* ``bad_mac``: the same with one MAC byte flipped (padding valid);
* ``bad_mac_pad255``: valid 256-byte padding (padding_length 255), wrong MAC: the
  shortest content, so the fewest HMAC blocks for an implementation that does not
  compensate;
* ``bad_pad_0``: last byte 0 (padding_length 0, trivially well formed), so the MAC
  is looked for 12 bytes later than the sender put it and cannot match;
* ``bad_pad_15``, ``bad_pad_255``: padding_length 15 or 255 with the first padding
  byte wrong.

Each is opened by glasstls's :class:`MteCBCProtection12` and, for comparison, by
``naive_open`` below: a textbook receiver that checks the padding with an early exit
and then MACs the content it found. The naive one shows what the signal looks like
and that this script can see it; glasstls's rows are what an attacker would see.

The cases are interleaved (a fresh random order every iteration), timed one open at
a time with ``time.perf_counter_ns``, with the garbage collector off while timing
(collected between rounds), so a GC pause lands in no case more than another.
Printed per case: median, p10, p90 and spread (p90 - p10) in nanoseconds, and the
median's difference from ``bad_mac``'s (the failing case every receiver must
handle). This is a measurement, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import CipherSuite
from glasstls.errors import AlertError
from glasstls.record.protection12 import MteCBCProtection12, protection12

SUITE = TLS12_SUITES[CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA]  # AES-128-CBC, HMAC-SHA1
CONTENT = 1024
PLAINTEXT = 1056  # content + MAC(20) + padding(12), whole blocks
HEADER = bytes((23, 3, 3)) + (16 + PLAINTEXT).to_bytes(2, "big")

Opener = Callable[[bytes, bytes], object]


def mac_of(mac_key: bytes, content: bytes) -> bytes:
    """RFC 5246, Section 6.2.3.1, at sequence number 0."""
    header = bytes(8) + HEADER[:3] + len(content).to_bytes(2, "big")
    return hmac.digest(mac_key, header + content, "sha1")


def tails(mac_key: bytes, rng: random.Random) -> dict[str, bytes]:
    """The decrypted records (without the IV) of every case, all PLAINTEXT bytes long."""
    content = rng.randbytes(CONTENT)
    good = content + mac_of(mac_key, content) + bytes((11,)) * 12
    bad_mac = bytearray(good)
    bad_mac[CONTENT + 3] ^= 0x01
    short = rng.randbytes(PLAINTEXT - 256 - 20)
    wrong_mac_pad255 = short + bytes(20) + bytes((255,)) * 256
    filler = rng.randbytes(PLAINTEXT)
    return {
        "good": good,
        "bad_mac": bytes(bad_mac),
        "bad_mac_pad255": wrong_mac_pad255,
        "bad_pad_0": good[:-1] + b"\x00",
        "bad_pad_15": filler[: PLAINTEXT - 16] + b"\x0e" + b"\x0f" * 15,
        "bad_pad_255": filler[: PLAINTEXT - 256] + b"\xfe" + b"\xff" * 255,
    }


def encrypt(key: bytes, plaintext: bytes) -> bytes:
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(plaintext) + enc.finalize()


def glasstls_opener(key: bytes, mac_key: bytes) -> Opener:
    protection = protection12(SUITE, key, b"", mac_key, "bench", os.urandom, encrypt_then_mac=False)
    assert isinstance(protection, MteCBCProtection12)

    def open_record(header: bytes, payload: bytes) -> object:
        protection.seq = 0
        try:
            return protection.open(header, payload)
        except AlertError:
            return None

    return open_record


def naive_opener(key: bytes, mac_key: bytes) -> Opener:
    """A receiver without the Lucky 13 defences: early exits, a MAC over whatever length it found."""

    def open_record(header: bytes, payload: bytes) -> object:
        dec = Cipher(algorithms.AES(key), modes.CBC(payload[:16])).decryptor()
        plain = dec.update(payload[16:]) + dec.finalize()
        pad = plain[-1]
        if pad + 21 > len(plain) or plain[-pad - 1 : -1] != bytes((pad,)) * pad:
            return None
        content = plain[: len(plain) - pad - 21]
        if not hmac.compare_digest(mac_of(mac_key, content), plain[len(content) : len(content) + 20]):
            return None
        return content

    return open_record


def percentile(sorted_values: list[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def measure(openers: dict[str, Opener], records: dict[str, bytes], iterations: int, seed: int) -> dict:
    names = [(o, r) for o in openers for r in records]
    times: dict[tuple[str, str], list[int]] = {k: [] for k in names}
    rng = random.Random(seed)
    clock = time.perf_counter_ns
    rounds = 20
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            for _ in range(iterations // rounds):
                rng.shuffle(names)
                for opener_name, record_name in names:
                    opener, payload = openers[opener_name], records[record_name]
                    start = clock()
                    opener(HEADER, payload)
                    times[(opener_name, record_name)].append(clock() - start)
        finally:
            gc.enable()
    return times


def report(times: dict, openers: list[str], cases: list[str], iterations: int) -> None:
    print(f"{iterations} iterations per case, interleaved; nanoseconds per open (decrypt + check)")
    for opener in openers:
        print(f"\n{opener}:")
        print(f"  {'case':<16}{'median':>9}{'p10':>9}{'p90':>9}{'spread':>9}{'vs bad_mac':>12}")
        base = statistics.median(times[(opener, "bad_mac")])
        for case in cases:
            values = sorted(times[(opener, case)])
            med = statistics.median(values)
            p10, p90 = percentile(values, 0.10), percentile(values, 0.90)
            print(f"  {case:<16}{med:>9.0f}{p10:>9}{p90:>9}{p90 - p10:>9}{med - base:>+12.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    key, mac_key = rng.randbytes(16), rng.randbytes(20)
    records = {name: encrypt(key, tail) for name, tail in tails(mac_key, rng).items()}
    openers = {"glasstls": glasstls_opener(key, mac_key), "naive": naive_opener(key, mac_key)}
    # Every case must do what it says before its time means anything.
    for name, payload in records.items():
        for opener_name, opener in openers.items():
            accepted = opener(HEADER, payload) is not None
            assert accepted == (name == "good"), (opener_name, name)
    print(f"Python {sys.version.split()[0]}, {hashlib.sha1.__module__}, record: 16 + {PLAINTEXT} bytes, {SUITE.name}")
    started = time.perf_counter()
    times = measure(openers, records, args.iterations, args.seed)
    report(times, list(openers), list(records), args.iterations)
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
