"""A refusal's reason names a bounded part of what the peer listed.

A ClientHello may carry tens of thousands of groups, suites or signature schemes (its
extensions hold up to 2^16 bytes each). The reason of a "no common ..." refusal goes to the
server's log, the trace and the diagnosis, so it names each value once and at most
text.MOST_LISTED of them, then how many more: a 40 KB hello cannot make a 300 KB log line.
"""

from __future__ import annotations

import os
import struct

import pytest

from glasstls import CertifiedKey, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.enums import AlertDescription
from glasstls.text import MOST_LISTED, listed
from glasstls.trace.diagnose import diagnose
from pairs import server_identity

COUNT = 20_000


def _hello(groups: list[int], tls13: bool, suite: int) -> bytes:
    """The records of a ClientHello offering ``groups`` and one suite."""
    encoded = b"".join(struct.pack(">H", g) for g in groups)
    exts = struct.pack(">HHH", 10, len(encoded) + 2, len(encoded)) + encoded
    exts += bytes.fromhex("000d000400020403") + bytes.fromhex("000b00020100")
    if tls13:
        exts += bytes.fromhex("002b0003020304") + bytes.fromhex("003300020000")
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack(">HH", 2, suite) + b"\x01\x00"
    body += struct.pack(">H", len(exts)) + exts
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    chunks = [message[i : i + 16384] for i in range(0, len(message), 16384)]
    return b"".join(b"\x16\x03\x01" + len(c).to_bytes(2, "big") + c for c in chunks)


@pytest.mark.parametrize(("tls13", "suite"), [(False, 0xC02B), (True, 0x1301)], ids=["1.2", "1.3"])
@pytest.mark.parametrize("kind", ["unknown", "repeated"])
def test_a_huge_group_list_gets_a_bounded_reason(tls13: bool, suite: int, kind: str) -> None:
    identity = server_identity("localhost")
    version = ProtocolVersion.TLSv1_3 if tls13 else ProtocolVersion.TLSv1_2
    server = ServerConnection(
        ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), tls_max=version)
    )
    # Unknown groups, or one group glasstls implements and no profile has (ffdhe8192) over and over.
    groups = [0x0A00 + i % 500 for i in range(COUNT)] if kind == "unknown" else [0x0104] * COUNT
    server.receive_bytes(_hello(groups, tls13, suite))
    error = server.error
    # (FFDHE groups only, none acceptable, with a TLS 1.2 ECDHE suite: insufficient_security, RFC 7919, 4.)
    refusals = (AlertDescription.handshake_failure, AlertDescription.insufficient_security)
    assert error is not None and error.description in refusals
    assert len(error.reason) < 2_000, len(error.reason)
    if kind == "unknown":
        assert f"and {500 - MOST_LISTED} more" in error.reason
    else:
        assert error.reason.count("ffdhe8192") <= 3  # once as offered, once where policy left it out
    assert len(diagnose(error, side="server")) < 6_000


def test_listed_names_each_value_once_and_counts_the_rest() -> None:
    assert listed([]) == "(none)" and listed([], "nothing") == "nothing"
    assert listed(["a", "b", "a"]) == "a, b"
    assert listed(range(40), most=3) == "0, 1, 2 and 37 more"
