"""TLS 1.3 after the handshake (RFC 8446, Section 4.6): NewSessionTicket,
KeyUpdate; post-handshake authentication comes with client certificates."""

from __future__ import annotations

from ..crypto.keyschedule13 import next_traffic_secret
from ..crypto.suites import Suite13
from ..enums import KeyUpdateRequest
from ..events import KeyUpdated, NewTicket
from ..wire.handshake import Handshake, KeyUpdate, NewSessionTicket
from .base import Context, State


class Connected13(State):
    """Application data flows; the traffic secrets can move forward."""

    step = "exchanging application data"
    expects = (KeyUpdate,)

    def __init__(self, suite: Suite13, client_secret: bytes, server_secret: bytes, resumption_secret: bytes) -> None:
        self.suite = suite
        self.client_secret = client_secret
        self.server_secret = server_secret
        self.resumption_secret = resumption_secret
        self.generation = 0

    @property
    def handshake_done(self) -> bool:
        return True

    def _read_secret(self, ctx: Context) -> bytes:
        return self.server_secret if ctx.side == "client" else self.client_secret

    def handle(self, ctx: Context, msg: Handshake) -> State:
        if isinstance(msg, KeyUpdate):
            return self._key_update(ctx, msg)
        raise AssertionError("unreachable: expects filters other messages")

    def _key_update(self, ctx: Context, msg: KeyUpdate) -> State:
        """RFC 8446, Section 4.6.3: move our read keys on; answer if asked."""
        new = next_traffic_secret(self.suite, self._read_secret(ctx))
        if ctx.side == "client":
            self.server_secret = new
        else:
            self.client_secret = new
        self.generation += 1
        ctx.install_read(self.suite, new, f"application+{self.generation}", ctx.peer_verified.finished)  # type: ignore[attr-defined]
        ctx.emit(KeyUpdated("read", requested_by_peer=False))
        if msg.request_update == KeyUpdateRequest.update_requested:
            self.update_write(ctx, request_peer=False)
            ctx.emit(KeyUpdated("write", requested_by_peer=True))
        return self

    def update_write(self, ctx: Context, request_peer: bool) -> None:
        request = KeyUpdateRequest.update_requested if request_peer else KeyUpdateRequest.update_not_requested
        ctx.send_message(KeyUpdate(request_update=request))
        if ctx.side == "client":
            self.client_secret = new = next_traffic_secret(self.suite, self.client_secret)
        else:
            self.server_secret = new = next_traffic_secret(self.suite, self.server_secret)
        ctx.install_write(self.suite, new, "application (updated)", ctx.peer_verified.finished)  # type: ignore[attr-defined]


class ClientConnected13(Connected13):
    expects = (KeyUpdate, NewSessionTicket)
    transitions = (
        ("KeyUpdate", "ClientConnected13", "next read keys"),
        ("NewSessionTicket", "ClientConnected13"),
    )

    def handle(self, ctx: Context, msg: Handshake) -> State:
        if isinstance(msg, NewSessionTicket):
            # Resumption arrives with the PSK issue; the ticket is surfaced now.
            ctx.emit(NewTicket(msg))
            return self
        return super().handle(ctx, msg)


class ServerConnected13(Connected13):
    expects = (KeyUpdate,)
    transitions = (("KeyUpdate", "ServerConnected13", "next read keys"),)
