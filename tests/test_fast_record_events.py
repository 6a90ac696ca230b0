"""What the connection's path for application data records keeps as it was.

Three shortcuts of ``Connection.receive_bytes`` for a record of application data:

* ``ApplicationData`` has a hand-written ``__init__``: it must stay the frozen
  dataclass it was (equal, hashed, printed, replaced, pickled, refusing assignment);
* ``PeerBudget.settled`` lets it skip ``on_application_record`` when that call would
  change nothing: a budget that skips must count, and refuse, exactly as one that
  always calls;
* ``_hs_partial`` stands for ``not _hs_in.empty()``: application data inside a
  split post-handshake message is still unexpected_message (RFC 8446, Section 5.1),
  and data after the message completes still flows.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random

import pytest

from glasstls import Limits
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.errors import AlertError
from glasstls.events import AlertReceived, ApplicationData, ConnectionClosed, Event, NewTicket
from glasstls.limits import PeerBudget
from glasstls.wire.handshake import NewSessionTicket
from pairs import connected_pair


@dataclasses.dataclass(frozen=True)
class Generated(Event):
    """ApplicationData as the dataclass decorator alone makes it."""

    data: bytes


def test_application_data_is_still_the_frozen_dataclass() -> None:
    event, reference = ApplicationData(b"abc"), Generated(b"abc")
    assert event == ApplicationData(data=b"abc") and event != ApplicationData(b"abd")
    assert hash(event) == hash(ApplicationData(b"abc")) == hash(reference)
    assert repr(event) == repr(reference).replace("Generated", "ApplicationData") == "ApplicationData(data=b'abc')"
    assert event != reference  # a dataclass equals only its own class
    assert isinstance(event, Event) and dataclasses.is_dataclass(event)
    assert [f.name for f in dataclasses.fields(event)] == ["data"]
    assert dataclasses.asdict(event) == {"data": b"abc"} and dataclasses.astuple(event) == (b"abc",)
    assert dataclasses.replace(event, data=b"x") == ApplicationData(b"x")
    assert pickle.loads(pickle.dumps(event)) == event and copy.deepcopy(event) == event
    assert ApplicationData.__match_args__ == ("data",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = b"x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del event.data  # type: ignore[misc]
    assert event.data == b"abc"
    with pytest.raises(TypeError):
        ApplicationData()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ApplicationData(b"a", b"b")  # type: ignore[call-arg]
    match event:
        case ApplicationData(data):
            assert data == b"abc"


def _state(budget: PeerBudget) -> tuple[int, ...]:
    return tuple(getattr(budget, name) for name in PeerBudget.__slots__ if name.startswith("_"))


@pytest.mark.parametrize("seed", range(40))
def test_a_budget_that_skips_while_settled_counts_as_one_that_always_calls(seed: int) -> None:
    rng = random.Random(seed)
    limits = Limits(
        max_warning_alerts=3, max_empty_records=4, max_key_updates=3, key_update_data_credit=100, max_tickets=3
    )
    always, skipping = PeerBudget(limits), PeerBudget(limits)
    for _ in range(60):
        op = rng.choice(("record", "warning", "key_update", "ticket", "data", "data", "data"))
        ctype, size = rng.choice((ContentType.handshake, ContentType.alert)), rng.choice((0, 0, 5))
        data_size = rng.choice((1, 60, 250))
        outcomes = []
        for budget in (always, skipping):
            try:
                if op == "record":
                    budget.on_record(ctype, size)
                elif op == "warning":
                    budget.on_warning_alert()
                elif op == "key_update":
                    budget.on_key_update(requested=False)
                elif op == "ticket":
                    budget.on_new_session_ticket()
                elif budget is always or not budget.settled:
                    budget.on_application_record(data_size)
                outcomes.append(None)
            except AlertError as err:
                outcomes.append((err.description, err.reason))
        assert outcomes[0] == outcomes[1] and _state(always) == _state(skipping), (seed, op)
        if outcomes[0] is not None:
            break


def test_data_inside_a_split_post_handshake_message_is_unexpected() -> None:
    pair = connected_pair()
    raw = NewSessionTicket(7200, 1, b"\x01", b"ticket").encode()
    server = pair.server
    server._records.send(ContentType.handshake, raw[:7])
    server.send(b"inside")
    events = pair.to_client()
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError)
    assert closed[0].error.description == AlertDescription.unexpected_message
    assert closed[0].error.reason == "application_data record inside a split handshake message"


def test_data_after_a_split_post_handshake_message_flows() -> None:
    pair = connected_pair()
    raw = NewSessionTicket(7200, 1, b"\x01", b"ticket").encode()
    server = pair.server
    server.send(b"before")
    server._records.send(ContentType.handshake, raw[:7])
    assert [e.data for e in pair.to_client() if isinstance(e, ApplicationData)] == [b"before"]
    server._records.send(ContentType.handshake, raw[7:])
    server.send(b"after")
    events = pair.to_client()
    assert [type(e) for e in events] == [NewTicket, ApplicationData] and events[1] == ApplicationData(b"after")
    assert not pair.client.closed


def test_alert_bytes_become_the_members_the_enums_make() -> None:
    from glasstls.connection import _DESCRIPTIONS, _LEVELS

    for i in range(256):
        for table, enum in ((_LEVELS, AlertLevel), (_DESCRIPTIONS, AlertDescription)):
            member = table[i] if table[i] is not None else enum(i)
            assert member == enum(i) and type(member) is enum and member.name == enum(i).name
            assert table[i] is None or table[i] is enum(i)  # a known value: the member itself


@pytest.mark.parametrize("level, description", [(1, 0), (2, 10), (1, 90), (2, 0xEE), (1, 255)])
def test_an_alert_is_reported_as_the_enums_make_it(level: int, description: int) -> None:
    pair = connected_pair()
    pair.client._records.send(ContentType.alert, bytes((level, description)))
    events = pair.to_server()
    received = [e for e in events if isinstance(e, AlertReceived)]
    assert received == [AlertReceived(AlertLevel(level), AlertDescription(description))]
    assert received[0].description.name == AlertDescription(description).name
