"""Rules of 0-RTT data with a ticket the server issued (RFC 8446, Sections 4.2.10 and 4.5), against
servers that accept early data: glasstls with max_early_data_size 16384, s_server -early_data."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from hostile import APPLICATION_DATA, Scripted
from ruletable import SERVED, rule
from target import DEADLINE, client_config

from glasstls import ClientConnection, ProtocolVersion
from glasstls.enums import AlertDescription as A

END_OF_EARLY_DATA = 5
EARLY = b"early line\n"


def _ticket(t: Any) -> Any:
    """A TLS 1.3 session of the target's own: a handshake, then its tickets read (s_server sends them
    right after its handshake, and -early_data leaves it no echo to wait for), within DEADLINE."""
    config = client_config(tls_min=ProtocolVersion.TLSv1_3, alpn=t.config.alpn)
    conn = ClientConnection(config, "localhost")
    deadline = time.monotonic() + DEADLINE
    with socket.create_connection(("127.0.0.1", t.port), timeout=DEADLINE) as sock:
        sock.sendall(conn.data_to_send())
        while (conn.session is None or conn.session.ticket is None) and time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            data = sock.recv(1 << 16)
            if not data:
                break
            conn.receive_bytes(data)
            sock.sendall(conn.data_to_send())
        conn.close()
        with contextlib.suppress(OSError):
            sock.sendall(conn.data_to_send())
    session = conn.session
    assert session is not None and session.max_early_data >= len(EARLY), session
    return session


def scripted_early(t: Any, **kw: Any) -> Any:
    """glasstls's client resuming the target's ticket with EARLY as 0-RTT data, rewritten as ``kw`` says."""
    config = client_config(tls_min=ProtocolVersion.TLSv1_3, alpn=t.config.alpn)
    return Scripted(t.port, config, session=_ticket(t), early_data=EARLY, **kw).run()


def _without_end_of_early_data(msg: Any) -> bytes | None:
    raw = msg.raw or msg.encode()
    return b"" if raw[0] == END_OF_EARLY_DATA else None


@rule("early-data-accepted", "RFC 8446 4.2.10", "1.3", SERVED, server="early")
def _(t: Any) -> Any:
    return scripted_early(t)


@rule("early-data-end-of-early-data-missing", "RFC 8446 4.5", "1.3", A.unexpected_message, server="early")
def _(t: Any) -> Any:
    """The client's Finished without the EndOfEarlyData before it: the server still reads early keys."""
    return scripted_early(t, message_edit=_without_end_of_early_data)


@rule("early-data-over-max-early-data-size", "RFC 8446 4.2.10", "1.3", A.unexpected_message, server="early")
def _(t: Any) -> Any:
    """16 KiB more 0-RTT data than the ticket allows (16384 bytes), under the early keys."""

    def more(s: Scripted, flight: int, records: list[bytes]) -> list[bytes]:
        return [*records, s.sealed(APPLICATION_DATA, bytes(1 << 14))] if flight == 0 else records

    return scripted_early(t, flights=more)
