"""base.checked_finished, with which the client checks the server's Finished (and the server the
client's, and TLS 1.2 both), without traced_check's closure (issue 15): the same proof or the same
error as the traced check, on the expected verify_data, each of its truncations and each
single-byte change; with a listener, the same trace events too."""

from __future__ import annotations

import os
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.handshake.base import checked_finished, traced_check, verify_finished


class _Ctx:
    """The two things the check asks of a connection: whether it traces, and where to report."""

    def __init__(self, tracing: bool) -> None:
        self.tracing = tracing
        self.reports: list[tuple[str, bool, str]] = []

    def verified(self, subject: str, ok: bool, detail: str) -> None:
        if self.tracing:  # as the connection's: nothing without an observer
            self.reports.append((subject, ok, detail))


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        proof = call()
    except Exception as exc:  # the exception itself is what is compared
        return (type(exc).__name__, (getattr(exc, "description", None), str(exc)))
    return ("proof", proof.which)


def _careful(ctx: _Ctx, expected: bytes, received: bytes) -> tuple[str, Any]:
    return _outcome(
        lambda: traced_check(
            ctx, "server Finished", "verify_data matches the transcript",
            lambda: verify_finished("server", expected, received),
        )
    )  # fmt: skip


@pytest.mark.parametrize("size", [32, 48])
@pytest.mark.parametrize("tracing", [False, True])
def test_checked_as_the_traced_check(size: int, tracing: bool) -> None:
    expected = os.urandom(size)
    for received in byte_variants(expected):
        fast_ctx, careful_ctx = _Ctx(tracing), _Ctx(tracing)
        fast = _outcome(lambda: checked_finished(fast_ctx, "server", expected, received))  # noqa: B023
        assert fast == _careful(careful_ctx, expected, received)
        assert fast_ctx.reports == careful_ctx.reports
        assert (fast[0] == "proof") == (received == expected)
