"""The server checks the client's Finished (RFC 8446, Section 4.4.4) and traces the check as
base.traced_check does, without the closure traced_check takes (issue 15): the same
verification event on success, the same event, alert and reason on every cut and byte change."""

from __future__ import annotations

from collections.abc import Callable

from byte_variants import byte_variants
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


def test_every_cut_and_byte_change_is_traced_and_refused_as_traced_check_does() -> None:
    good: list[bytes] = []
    _server_checks(lambda msg: good.append(msg.verify_data) or None)
    (verify_data,) = good
    for variant in list(byte_variants(verify_data, (0, 0xFF)))[1:]:
        fn = lambda msg, v=variant: msg.raw[:1] + len(v).to_bytes(3, "big") + v  # noqa: E731
        assert _server_checks(fn) == _careful(verify_data, variant), variant.hex()
