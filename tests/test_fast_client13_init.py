"""TrafficSecrets (both sides' and each KeyUpdate's) is made by frozen.dict_init (tests/test_frozen_init.py
holds each record of the stack to the dataclass it is); it still compares, hashes and prints as the
dataclass, secrets hidden."""

from __future__ import annotations

import dataclasses

from glasstls.handshake import client13
from glasstls.handshake.post_handshake import TrafficSecrets


def test_traffic_secrets_compare_and_print_as_before() -> None:
    """TrafficSecrets keeps the dataclass's eq, hash and repr (secrets hidden from it)."""
    a = TrafficSecrets(client13.TLS13_SUITES[0x1301], b"c" * 32, b"s" * 32, b"e" * 32)
    b = TrafficSecrets(client13.TLS13_SUITES[0x1301], b"c" * 32, b"s" * 32, b"e" * 32, 0)
    assert a == b and hash(a) == hash(b) and a != dataclasses.replace(b, read_generation=1)
    assert "c" * 32 not in repr(a) and "read_generation=0" in repr(a)
