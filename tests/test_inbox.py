"""glasstls.io.inbox: received application data read back in order, whole records without a copy.

A model test holds Inbox to a bytearray read the way the drivers read before it
(every take is the next bytes, never more than asked, never empty while data
waits), and the cases name what the drivers rely on: a record taken whole is the
very bytes object the connection handed over, small records are joined up to
the size asked, a large one is handed out alone.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.io.inbox import WHOLE, Inbox

_pieces = st.one_of(st.binary(max_size=40), st.binary(min_size=WHOLE - 2, max_size=WHOLE + 40))
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), _pieces),
        st.tuples(st.just("take"), st.integers(1, 3 * WHOLE)),
        st.tuples(st.just("take_into"), st.integers(1, 3 * WHOLE)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_inbox_reads_what_was_appended_in_order(steps: list[tuple[str, object]]) -> None:
    inbox, model = Inbox(), bytearray()
    for op, arg in steps:
        if op == "append":
            assert isinstance(arg, bytes)
            inbox.append(arg)
            model += arg
        elif op == "take":
            assert isinstance(arg, int)
            got = inbox.take(arg)
            assert type(got) is bytes and len(got) <= arg
            assert bool(got) == bool(model)  # something whenever something waits
            assert got == model[: len(got)]
            del model[: len(got)]
        else:
            assert isinstance(arg, int)
            buffer = bytearray(arg + 7)
            with memoryview(buffer) as view:
                count = inbox.take_into(view, arg)
            assert count == min(arg, len(model))  # take_into fills as much as it can
            assert buffer[:count] == model[:count] and buffer[count:] == bytes(len(buffer) - count)
            del model[:count]
        assert len(inbox) == len(model)
    rest = b"".join(iter(lambda: inbox.take(1 << 20), b""))
    assert rest == model and len(inbox) == 0


def test_a_record_taken_whole_is_the_object_handed_over() -> None:
    inbox = Inbox()
    big, other = bytes(range(256)) * 64, b"x" * WHOLE
    inbox.append(big)
    inbox.append(other)
    assert inbox.take(1 << 16) is big  # handed out alone, not joined with what follows
    assert inbox.take(1 << 16) is other
    assert len(inbox) == 0 and inbox.take(10) == b""


def test_small_records_are_joined_up_to_the_size_asked() -> None:
    inbox = Inbox()
    for i in range(50):
        inbox.append(bytes([i]) * 10)
    first = inbox.take(123)
    assert first == b"".join(bytes([i]) * 10 for i in range(13))[:123]
    assert len(inbox) == 500 - 123
    rest = inbox.take(1 << 16)
    assert first + rest == b"".join(bytes([i]) * 10 for i in range(50))


def test_a_large_record_read_in_small_steps_is_sliced_not_copied_again() -> None:
    inbox = Inbox()
    record = bytes(range(256)) * 64
    inbox.append(record)
    parts = [inbox.take(1000) for _ in range(17)]
    assert [len(p) for p in parts] == [1000] * 16 + [384]
    assert b"".join(parts) == record and len(inbox) == 0


def test_empty_data_is_not_kept() -> None:
    inbox = Inbox()
    inbox.append(b"")
    assert len(inbox) == 0 and not inbox
    inbox.append(b"ab")
    assert bool(inbox) and inbox.take(5) == b"ab"


def test_the_rest_of_a_record_handed_out_in_part_is_kept_and_read_next() -> None:
    inbox = Inbox()
    record = bytes(range(256)) * 64
    inbox.keep_rest(record, 8192)  # the first 8 KiB went to the reader already
    assert len(inbox) == len(record) - 8192
    inbox.append(b"next")
    assert inbox.take(100) == record[8192:8292]
    buffer = bytearray(1 << 16)
    assert inbox.take_into(buffer, len(buffer)) == len(record) - 8292 + 4
    assert bytes(buffer[: len(record) - 8292 + 4]) == record[8292:] + b"next" and len(inbox) == 0


def test_keep_rest_refuses_an_inbox_that_holds_data_already() -> None:
    inbox = Inbox()
    inbox.append(b"waiting")
    with pytest.raises(ValueError, match="empty inbox"):
        inbox.keep_rest(b"0123456789", 4)
    assert inbox.take(100) == b"waiting"
