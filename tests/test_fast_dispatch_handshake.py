"""The connection's shortcuts for handshake records (issue 15), held to the path they stand in for.

Two shortcuts of ``Connection``:

* ``receive_bytes`` hands a handshake record with content straight to ``_on_handshake``
  after the budget's call, instead of through ``_dispatch``;
* ``_on_handshake`` takes a record that is one whole message, nothing pending, without
  the reassembly buffer's feed and pops.

The careful connections below do as the connection did before: every record other than
application data through ``_dispatch``, every handshake record through the buffer. Fed
the same bytes (each truncation and single-byte change of a ClientHello, a ServerHello,
a NewSessionTicket, in one record or split across two), both give the same events,
alerts, trace events, bytes to send and state.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls import CertifiedKey, ClientConfig, ServerConfig
from glasstls.connection import Connection
from glasstls.enums import AlertDescription, ContentType, HandshakeType, NamedGroup
from glasstls.errors import AlertError, InternalError
from glasstls.events import ApplicationData, ConnectionClosed, Event, NewTicket
from glasstls.observe import StateTrace
from glasstls.sides import ClientConnection, ServerConnection
from glasstls.wire.handshake import ClientHello, Finished, MessageTooLarge, decode_message
from glasstls.x509.store import TrustStore
from pairs import default_ca, split_records

NOW = datetime.now(UTC)  # one clock for every connection of a run: the same tickets on both paths
VALUES = (0, 1, 4, 0xFF)  # byte values each byte is set to (and its low bit flipped)


class _Careful:
    """Mixed into a connection: its former record dispatch and handshake reassembly."""

    def receive_bytes(self: Any, data: bytes) -> list[Event]:
        if self._closed or self._read_closed:
            return []
        records, events, budget = self._records, self._events, self._budget
        records.feed(data)
        try:
            while records.buffered and not (self._closed or self._read_closed):
                record = records.read_record()
                if record is None:
                    break
                ctype, content, _header, protected = record
                if ctype == 23 and content and self.peer_verified is not None and not self._hs_partial:
                    if not budget.settled:
                        budget.on_application_record(len(content))
                    events.append(ApplicationData(content))
                else:
                    self._dispatch(ctype, content, protected)
        except AlertError as err:
            self._fail(err)
        except Exception as exc:
            self._fail(InternalError(exc))
        events, self._events = self._events, []
        return events

    def _on_handshake(self: Any, data: bytes, protected: bool) -> None:
        records, hs_in = self._records, self._hs_in
        if records.read is not None and not protected:
            raise AlertError(AlertDescription.unexpected_message, "unprotected handshake record after keys were agreed")
        hs_in.feed(data)
        try:
            while not self._closed:
                try:
                    raw = hs_in.pop()
                except MessageTooLarge as err:  # a type the state never reads: unexpected, whatever its length
                    self._check_takes(err.msg_type)
                    raise
                if raw is None:
                    if hs_in.pending_type() is not None:  # (judged before the rest arrives)
                        self._check_takes(hs_in.pending_type())
                    return
                read_before = records.read
                try:
                    msg = decode_message(raw, self._state.parsers)
                except AlertError:  # a type the state never reads: unexpected, whatever its body
                    if not self._state.takes(raw[0]):
                        name = HandshakeType(raw[0]).label
                        raise AlertError(
                            AlertDescription.unexpected_message, f"unexpected {name} while {self._state.step}"
                        ) from None
                    raise
                if self._observer is not None:
                    self._observer.on_message(self.side, "in", msg)
                if not hs_in.empty() and self._state.takes(raw[0]):
                    self._check_ends_record(raw[0])  # RFC 8446, Section 5.1 (the rule both paths share)
                if isinstance(msg, ClientHello):
                    self.peer_cipher_suites = tuple(msg.cipher_suites)
                elif isinstance(msg, Finished) and self._first_finished is None:
                    self._first_finished = msg.verify_data
                if self.peer_verified is not None:
                    self._spend_post_handshake(msg)
                old = self._state
                self._state = old.accept(self._ctx, msg)
                if self._state_observer is not None and self._state is not old:
                    self._state_observer(StateTrace(self.side, old.name, self._state.name))
                if records.read is not read_before and not hs_in.empty():
                    raise AlertError(
                        AlertDescription.unexpected_message,
                        f"{HandshakeType(raw[0]).label} does not end its record: the handshake data after it "
                        "spans a key change, which must fall on a record boundary (RFC 8446, Section 5.1)",
                    )
        finally:
            self._hs_partial = not hs_in.empty()


class CarefulClient(_Careful, ClientConnection):
    pass


class CarefulServer(_Careful, ServerConnection):
    pass


class _Trace(list[Any]):
    """An observer that keeps every trace event (secrets reported without their values)."""

    wants_secrets = False

    def __call__(self, event: Any) -> None:
        self.append(event)


_configs: dict[str, Any] = {}


def _config(side: str) -> Any:
    """Ed25519 (deterministic signatures) and X25519 (its key from the injected randomness; ML-KEM's
    encapsulation draws its own): the server's flight is the same bytes on both paths."""
    if not _configs:
        ca = default_ca()
        identity = ca.issue_server(["localhost"], key_type="ed25519")
        _configs["client"] = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), groups=(NamedGroup.x25519,))
        _configs["server"] = ServerConfig(
            certificates=(CertifiedKey(identity.chain, identity.private_key),), groups=(NamedGroup.x25519,)
        )
    return _configs[side]


def _kw(trace: _Trace | None) -> dict[str, Any]:
    return {
        "randomness": random.Random(7).randbytes,
        "clock": lambda: NOW,
        "observer": trace,
    }


def _client(careful: bool, trace: _Trace | None = None) -> ClientConnection:
    return (CarefulClient if careful else ClientConnection)(_config("client"), "localhost", **_kw(trace))


def _server(careful: bool, trace: _Trace | None = None) -> ServerConnection:
    return (CarefulServer if careful else ServerConnection)(_config("server"), **_kw(trace))


def _event(event: Any) -> Any:
    if isinstance(event, ConnectionClosed):
        err = event.error
        detail = None if err is None else (type(err).__name__, getattr(err, "description", None), str(err))
        return ("closed", event.by_peer, detail)
    return type(event).__name__ if isinstance(event, NewTicket) else repr(event)


def _outcome(conn: Connection, inputs: list[bytes], trace: list[Any] | None) -> tuple[Any, ...]:
    """Each input's events, then what the connection sends, its state, and the trace."""
    events = [[_event(e) for e in conn.receive_bytes(data)] for data in inputs]
    pending = bytes(conn._hs_in._buf[conn._hs_in._pos :])  # (what an error leaves in the buffer too)
    return (
        events, conn.data_to_send(), conn.state_name, conn._hs_partial, pending, conn.closed,
        conn.peer_cipher_suites, conn._first_finished, None if trace is None else [repr(t) for t in trace],
    )  # fmt: skip


def _record(ctype: int, content: bytes, version: bytes = b"\x03\x03") -> bytes:
    return bytes((ctype,)) + version + len(content).to_bytes(2, "big") + content


def _client_hello_record() -> bytes:
    return _client(False).data_to_send()


def _held_alike(make: Any, inputs: list[bytes], tracing: bool = False) -> None:
    fast_trace, careful_trace = (_Trace(), _Trace()) if tracing else (None, None)
    fast = _outcome(make(False, fast_trace), inputs, fast_trace)
    careful = _outcome(make(True, careful_trace), inputs, careful_trace)
    assert fast == careful


def _server_inputs(hello: bytes) -> list[list[bytes]]:
    """The ClientHello message in one record, in two at every cut, and each with the hello again after."""
    whole = _record(22, hello, b"\x03\x01")
    cases = [[whole], [whole, whole], [whole + _record(21, b"\x01\x00")], [whole + _record(23, b"x")]]
    # Warnings (user_canceled) around it: a handshake record ends their run (the budget's on_record).
    warnings = _record(21, b"\x01\x5a") * 3
    cases += [[warnings + whole + warnings], [warnings, whole, warnings, warnings]]
    # Several messages in one record: two hellos, a hello and a cut one, a hello and what would come
    # under the keys it agrees on (a key change inside the record), a message over the limit after it.
    over = b"\x14" + (1 << 18 | 1).to_bytes(3, "big")
    for tail in (hello, hello[:5], hello[:3], b"\x14\x00\x00\x00", b"\x14\x00\x00\x01", over, b"\x00"):
        cases += [[_record(22, hello + tail, b"\x03\x01")], [_record(22, hello + tail, b"\x03\x01"), whole]]
    for cut in range(1, len(hello), 7):
        first, rest = _record(22, hello[:cut], b"\x03\x01"), _record(22, hello[cut:], b"\x03\x01")
        cases += [[first + rest], [first, rest], [first + _record(21, b"\x01\x00")]]
    return cases


def test_the_shortcuts_are_taken() -> None:
    """A resumption-free handshake's single-message records skip the buffer (it stays untouched)."""
    server = _server(False)
    fed: list[bytes] = []
    server._hs_in.feed = fed.append  # type: ignore[method-assign]
    server.receive_bytes(_client_hello_record())
    assert fed == [] and server.state_name != "ExpectClientHello" and not server.closed


@pytest.mark.parametrize("tracing", [False, True])
def test_a_client_hello_split_or_not_is_read_as_before(tracing: bool) -> None:
    hello = split_records(_client_hello_record())[0][5:]
    for inputs in _server_inputs(hello):
        _held_alike(_server, inputs, tracing)


@pytest.mark.parametrize("part", range(4))
def test_every_change_of_a_client_hello_is_read_as_before(part: int) -> None:
    hello = split_records(_client_hello_record())[0][5:]
    variants = list(byte_variants(hello, VALUES))
    for variant in variants[part::4]:
        _held_alike(_server, [_record(22, variant, b"\x03\x01")])
        # Followed by the good hello: a message left pending, or one past an error.
        _held_alike(_server, [_record(22, variant, b"\x03\x01") + _record(22, hello, b"\x03\x01")])


def _server_flight() -> list[bytes]:
    server = _server(False)
    server.receive_bytes(_client_hello_record())
    return split_records(server.data_to_send())


@pytest.mark.parametrize("tracing", [False, True])
def test_every_change_of_a_server_hello_is_read_as_before(tracing: bool) -> None:
    flight = _server_flight()
    assert flight[0][0] == 22
    hello, rest = flight[0][5:], b"".join(flight[1:])
    assert _client(False).receive_bytes(b"".join(flight))[-1].__class__.__name__ == "HandshakeComplete"
    for variant in byte_variants(hello, VALUES):
        _held_alike(_client, [_record(22, variant) + rest], tracing)
    # The whole flight, good, cut at every record boundary and inside its records.
    whole = b"".join(flight)
    for cut in range(0, len(whole), 11):
        _held_alike(_client, [whole[:cut], whole[cut:]], tracing)


def _connected(careful: bool, trace: _Trace | None) -> tuple[ClientConnection, ServerConnection]:
    client, server = _client(careful, trace), _server(careful)
    server.receive_bytes(client.data_to_send())
    client.receive_bytes(server.data_to_send())
    server.receive_bytes(client.data_to_send())
    client.receive_bytes(server.data_to_send())  # the server's tickets
    assert client.handshake_complete and server.handshake_complete and not client.closed
    return client, server


def _post_handshake(careful: bool, contents: list[bytes], tracing: bool) -> tuple[Any, ...]:
    """A connected client fed a record of the server's, under its keys, per content (tickets, split
    or not); a content of b"" is an empty application data record, one of b"\x01\x5a" a warning."""
    trace = _Trace() if tracing else None
    client, server = _connected(careful, trace)
    if trace is not None:
        trace.clear()  # (the server's own tickets: sealed under nonces of its own, not the same twice)
    for content in contents:
        kind = ContentType.alert if content == b"\x01\x5a" else ContentType.handshake
        server._records.send(ContentType.application_data if not content else kind, content)
    return _outcome(client, [server.data_to_send()], trace)


@pytest.mark.parametrize("tracing", [False, True])
def test_post_handshake_messages_split_or_not_are_read_as_before(tracing: bool) -> None:
    ticket = _captured_ticket()
    key_update = b"\x18\x00\x00\x01\x00"
    cases = [[ticket], [ticket + ticket], [ticket + key_update], [key_update], [key_update + ticket[:3]]]
    # Several in one record, the last cut short, or followed by a message over the limit or after a key change.
    over = b"\x04" + (1 << 18 | 1).to_bytes(3, "big")
    cases += [[ticket * 3], [ticket * 2 + ticket[:9]], [ticket + over], [ticket + over + ticket], [key_update * 2]]
    cases += [[b"\x18\x00\x00\x01\x01" + ticket], [ticket + b"\x18\x00\x00\x01\x01" + ticket]]
    for cut in (1, 3, 4, 5, len(ticket) // 2, len(ticket) - 1):
        cases += [[ticket[:cut], ticket[cut:]], [ticket[:cut], ticket[cut:] + key_update], [ticket[:cut]]]
    # Empty records and warnings around tickets: a handshake record ends their runs (RFC 8446, Section 5.4
    # allows the empty ones; limits.py bounds runs of them).
    empties, warnings = [b""] * 20, [b"\x01\x5a"] * 3
    cases += [[*empties, ticket, *empties], [*warnings, ticket, *warnings]]
    cases += [[*empties, *warnings, ticket[:5], *warnings]]
    for contents in cases:
        assert _post_handshake(False, contents, tracing) == _post_handshake(True, contents, tracing)
    # (The records reach the handshake layer: a good ticket is a ticket, two tickets and 20 empty
    # records on each side of one are too many.)
    assert _post_handshake(False, [ticket], False)[0] == [["NewTicket"]]
    assert _post_handshake(False, [ticket + ticket], False)[0] == [["NewTicket"] * 2]
    assert _post_handshake(False, [*empties, ticket, *empties], False)[0] == [["NewTicket"]]


def test_every_change_of_a_ticket_header_is_read_as_before() -> None:
    ticket = _captured_ticket()
    for variant in byte_variants(ticket[:4], VALUES):
        contents = [variant + ticket[4:]]
        assert _post_handshake(False, contents, False) == _post_handshake(True, contents, False)


def _captured_ticket() -> bytes:
    """The first NewSessionTicket the server sends after the handshake, as plaintext."""
    client, server = _client(False), _server(False)
    sent: list[bytes] = []
    send = server._records.send

    def capture(ctype: Any, data: bytes) -> None:
        if ctype == ContentType.handshake:
            sent.append(bytes(data))
        send(ctype, data)

    server._records.send = capture  # type: ignore[method-assign]
    server.receive_bytes(client.data_to_send())
    client.receive_bytes(server.data_to_send())
    sent.clear()
    server.receive_bytes(client.data_to_send())
    assert sent and sent[0][0] == 4  # new_session_ticket
    return sent[0][: 4 + int.from_bytes(sent[0][1:4], "big")]
