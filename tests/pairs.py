"""In-memory client/server pairs, with hooks to tamper with what is in flight.

No sockets: ``transfer(a, b)`` moves everything ``a`` has queued into
``b.receive_bytes`` and returns ``b``'s events. Two tamper hooks, in the
spirit of rustls' ``transfer_altered``:

* ``alter`` (per side, given to :func:`make_pair`): called with every
  handshake message the side sends, after it was encoded and queued; it may
  return replacement bytes (several messages, or ``b""`` to drop it). The
  sender's own transcript keeps the original bytes, exactly as if an attacker
  had changed the message on the wire. Most TLS 1.3 handshake messages are
  encrypted, so this is the practical way to alter them.
* :func:`transfer_records`: alters whole records on the wire (for
  record-layer tests); records are split by their 5-byte headers.

Plus small byte helpers (:func:`with_body`, :func:`truncated`, :func:`flip`)
to rewrite a message while keeping its 4-byte header consistent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from glasstls import (
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ServerConfig,
    ServerConnection,
)
from glasstls.connection import Connection
from glasstls.enums import AlertDescription
from glasstls.events import Event
from glasstls.observe import Observer
from glasstls.session.state import SessionState
from glasstls.wire.handshake import Handshake
from glasstls.x509.mint import Identity, ThrowawayCA
from glasstls.x509.store import TrustStore

Alter = Callable[[Handshake], "bytes | None"]
RecordAlter = Callable[[int, bytes], "bytes | None"]


# -- the PKI -----------------------------------------------------------------------


@functools.cache
def default_ca() -> ThrowawayCA:
    """One throwaway root (with an intermediate) shared by every test of a run."""
    return ThrowawayCA.create()


@functools.cache
def server_identity(*names: str) -> Identity:
    return default_ca().issue_server(list(names or ("localhost",)))


@functools.cache
def other_ca() -> ThrowawayCA:
    """A second root that issued nothing the server presents."""
    return ThrowawayCA.create("glasstls other root", with_intermediate=False)


# -- tampering connections -----------------------------------------------------------


class _Tampering:
    """Mixed into a Connection: lets ``alter`` rewrite each outgoing handshake message."""

    alter: Alter | None
    _hs_out: list[bytes]

    def _send_handshake(self, msg: Handshake) -> None:
        super()._send_handshake(msg)  # type: ignore[misc]  # a mixin: the Connection comes later in the MRO
        if self.alter is not None:
            replacement = self.alter(msg)
            if replacement is not None:
                # Only what goes on the wire changes; the sender's transcript
                # already holds msg.raw, as with an on-path attacker.
                self._hs_out[-1] = replacement


class TamperingClient(_Tampering, ClientConnection):
    def __init__(self, config: ClientConfig, server_name: str | None = None, alter: Alter | None = None, **kw: Any):
        self.alter = alter  # set first: the ClientHello is sent from the constructor
        super().__init__(config, server_name, **kw)


class TamperingServer(_Tampering, ServerConnection):
    def __init__(self, config: ServerConfig, alter: Alter | None = None, **kw: Any):
        self.alter = alter
        super().__init__(config, **kw)


def inject(conn: Connection, msg: Handshake) -> None:
    """Send ``msg`` from ``conn`` as its handshake states would, whatever state it is in:
    what a misbehaving peer does. The message enters nobody's transcript."""
    conn._ctx.send_message(msg)


def inject_warning(conn: Connection, description: AlertDescription) -> None:
    """Send a warning alert from ``conn``, as a peer may at any time (RFC 5246, Section 7.2)."""
    conn._ctx.send_warning(description)


def once(kind: type[Handshake], fn: Callable[[Handshake], bytes | None], nth: int = 0) -> Alter:
    """An ``alter`` that applies ``fn`` to the ``nth`` outgoing message of class ``kind`` only."""
    seen = [0]

    def alter(msg: Handshake) -> bytes | None:
        if type(msg) is not kind:
            return None
        seen[0] += 1
        return fn(msg) if seen[0] == nth + 1 else None

    return alter


# -- byte helpers --------------------------------------------------------------------


def with_body(raw: bytes, new_body: bytes) -> bytes:
    """The message ``raw`` (header included) with its body replaced and the length fixed."""
    return raw[:1] + len(new_body).to_bytes(3, "big") + new_body


def truncated(raw: bytes, keep: int) -> bytes:
    """The first ``keep`` body bytes of ``raw``, the header saying so."""
    return with_body(raw, raw[4 : 4 + keep])


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def set_u(data: bytes, offset: int, width: int, value: int) -> bytes:
    """``data`` with the big-endian ``width``-byte integer at ``offset`` replaced."""
    return data[:offset] + value.to_bytes(width, "big") + data[offset + width :]


# -- pairs ---------------------------------------------------------------------------


@dataclass
class Pair:
    client: TamperingClient
    server: TamperingServer
    client_config: ClientConfig
    server_config: ServerConfig
    identity: Identity
    ca: ThrowawayCA
    log: list[tuple[str, list[Event]]] = field(default_factory=list)

    def to_server(self) -> list[Event]:
        events = transfer(self.client, self.server)
        self.log.append(("server", events))
        return events

    def to_client(self) -> list[Event]:
        events = transfer(self.server, self.client)
        self.log.append(("client", events))
        return events

    def handshake(self) -> None:
        """Drive both sides to completion (or until one closes); never raises on failure."""
        for _ in range(6):
            if self.client.closed or self.server.closed:
                return
            if self.client.handshake_complete and self.server.handshake_complete:
                return
            self.to_server()
            self.to_client()


def make_pair(
    *,
    server_name: str | None = "localhost",
    identity: Identity | None = None,
    trust: ThrowawayCA | None = None,
    client_alter: Alter | None = None,
    server_alter: Alter | None = None,
    client_observer: Observer | None = None,
    server_observer: Observer | None = None,
    client_kw: dict[str, Any] | None = None,
    server_kw: dict[str, Any] | None = None,
) -> Pair:
    """A client for ``server_name`` that trusts ``trust`` (default: the shared CA), and a server."""
    ca = default_ca()
    identity = identity or server_identity("localhost")
    client_config = ClientConfig(trust_store=TrustStore.from_pem((trust or ca).root_pem()), **(client_kw or {}))
    server_config = ServerConfig(
        certificates=(CertifiedKey(identity.chain, identity.private_key),), **(server_kw or {})
    )
    client = TamperingClient(client_config, server_name, client_alter, observer=client_observer)
    server = TamperingServer(server_config, server_alter, observer=server_observer)
    return Pair(client, server, client_config, server_config, identity, ca)


def connected_pair(**kw: Any) -> Pair:
    """A pair whose handshake completed on both sides."""
    pair = make_pair(**kw)
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    return pair


def ticket_session(client_config: ClientConfig, server_config: ServerConfig, now: datetime) -> SessionState:
    """The session a client keeps of a TLS 1.3 handshake with ``server_config`` on a clock stopped at
    ``now`` (both sides'), once a NewSessionTicket made it resumable."""
    client = ClientConnection(client_config, server_name="localhost", clock=lambda: now)
    server = ServerConnection(server_config, clock=lambda: now)
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and client.session is not None and client.session.ticket
    return client.session


# -- moving bytes --------------------------------------------------------------------


def transfer(a: Connection, b: Connection) -> list[Event]:
    """Everything ``a`` has to send, into ``b``; returns ``b``'s events."""
    return b.receive_bytes(a.data_to_send())


def split_records(data: bytes) -> list[bytes]:
    """Whole records (header included); a trailing partial record is kept as is."""
    out, pos = [], 0
    while pos < len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big") if len(data) - pos >= 5 else len(data)
        out.append(data[pos:end])
        pos = end
    return out


def transfer_records(a: Connection, b: Connection, alter: RecordAlter) -> list[Event]:
    """Like :func:`transfer`, but ``alter(index, record)`` may replace each record (None keeps it)."""
    records = split_records(a.data_to_send())
    out = []
    for i, record in enumerate(records):
        new = alter(i, record)
        out.append(record if new is None else new)
    return b.receive_bytes(b"".join(out))
