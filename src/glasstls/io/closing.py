"""Closing a TCP socket so that the last alert sent on it arrives."""

from __future__ import annotations

import socket

# close_gently reads and drops at most this much of what already arrived.
DRAIN_LIMIT = 1 << 20
_READ = 1 << 16


def close_gently(sock: socket.socket) -> None:
    """Close ``sock`` with a FIN rather than a reset. A socket closed with unread data in its
    receive buffer makes the kernel reset the connection, and a reset can destroy the alert just
    sent before the peer reads it (the peer should learn why: RFC 8446, Section 6.2; RFC 5246,
    Section 7.2.2). So what has already arrived and nobody will read is dropped first, without
    waiting for more (at most DRAIN_LIMIT bytes). The socket is left non-blocking, then closed."""
    try:
        if sock.gettimeout() != 0.0:  # (a socket of the asyncio server is non-blocking already: no ioctl)
            sock.setblocking(False)
        drained = 0
        while drained < DRAIN_LIMIT:
            chunk = sock.recv(_READ)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:  # nothing more now (BlockingIOError), or the connection is gone already
        pass
    finally:
        sock.close()
