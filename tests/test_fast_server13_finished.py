"""The server checks the client's Finished (RFC 8446, Section 4.4.4) and traces the check as
base.traced_check does, without the closure traced_check takes (issue 15): the same
verification event on success, the same event, alert and reason on every cut and byte change."""

from __future__ import annotations

from collections.abc import Callable

from glasstls.errors import AlertError
from glasstls.handshake.base import traced_check, verify_finished
from glasstls.observe import EventList, VerificationTrace
from glasstls.wire.handshake import Finished
from pairs import make_pair, once

SUBJECT, SUCCESS = "client Finished", "verify_data matches the transcript"


def _server_checks(alter: Callable[[Finished], bytes | None] | None) -> tuple[list[tuple[bool, str]], object]:
    log = EventList()
    pair = make_pair(server_observer=log, client_alter=once(Finished, alter) if alter else None)  # type: ignore[arg-type]
    pair.handshake()
    checks = [(e.ok, e.detail) for e in log.events if isinstance(e, VerificationTrace) and e.subject == SUBJECT]
    return checks, pair.server.handshake_complete


def _careful(expected: bytes, received: bytes) -> tuple[list[tuple[bool, str]], bool]:
    """What traced_check over verify_finished reports for ``received``."""
    heard: list[tuple[bool, str]] = []

    class Ctx:
        def verified(self, subject: str, ok: bool, detail: str) -> None:
            assert subject == SUBJECT
            heard.append((ok, detail))

    try:
        traced_check(Ctx(), SUBJECT, SUCCESS, lambda: verify_finished("client", expected, received))  # type: ignore[arg-type]
    except AlertError:
        return heard, False
    return heard, True


def test_a_good_finished_is_traced_as_traced_check_traces_it() -> None:
    assert _server_checks(None) == ([(True, SUCCESS)], True)


def _variants(size: int) -> list[Callable[[bytes], bytes]]:
    """Each cut of a verify_data of ``size`` bytes, and each byte set to 0, to 0xFF and flipped
    (tests/byte_variants.py's cuts and changes, made of the verify_data each handshake has)."""
    cuts = [lambda vd, n=n: vd[:n] for n in range(size)]
    changes = [
        lambda vd, i=i, b=b: vd[:i] + bytes([vd[i] ^ 1 if b is None else b]) + vd[i + 1 :]
        for i in range(size)
        for b in (0, 0xFF, None)
    ]
    return cuts + changes


def test_every_cut_and_byte_change_is_traced_and_refused_as_traced_check_does() -> None:
    size: list[int] = []
    _server_checks(lambda msg: size.append(len(msg.verify_data)) or None)
    for change in _variants(size[0]):
        seen: list[tuple[bytes, bytes]] = []

        def alter(msg: Finished, change: Callable[[bytes], bytes] = change, seen: list = seen) -> bytes:  # type: ignore[type-arg]
            variant = change(msg.verify_data)  # of this handshake's verify_data
            seen.append((msg.verify_data, variant))
            return msg.raw[:1] + len(variant).to_bytes(3, "big") + variant

        got = _server_checks(alter)
        ((verify_data, variant),) = seen
        assert got == _careful(verify_data, variant), variant.hex()
