"""One call's deadline on a socket, and the wait for the socket within it (compat/sslsocket.py).

A timeout on an ``ssl.SSLSocket`` bounds each whole call (a read, a write, the handshake),
however many system calls it makes: each call of the compat socket makes one
:class:`Deadline` and every wait inside it (:func:`wait_ready`) takes what is left of it.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from .errors import want

__all__ = ["DIRECT", "NO_WAIT", "Deadline", "wait_ready"]

NO_WAIT = getattr(socket, "MSG_DONTWAIT", 0)  # one send that must not block, even on a blocking socket
# A stream socket's recv and send, on its file descriptor, without the poll a socket with a timeout
# makes before each call (SSLSocket._raw); where file descriptors are not sockets' (Windows), none.
DIRECT: dict[Any, Callable[[int, Any], Any]] = (
    {socket.socket.recv: os.read, socket.socket.send: os.write} if os.name == "posix" else {}
)


class Deadline:
    """The end of one call's time: ``timeout`` seconds from now (None: never; 0: do not wait)."""

    __slots__ = ("at", "nonblocking")

    def __init__(self, timeout: float | None) -> None:
        self.at = None if timeout is None else time.monotonic() + timeout
        self.nonblocking = timeout == 0.0  # (an attribute: read before every recv and send)

    def remaining(self) -> float | None:
        return None if self.at is None else max(0.0, self.at - time.monotonic())


def wait_ready(sock: socket.socket, write: bool, deadline: Deadline, what: str) -> None:
    """Wait until ``sock`` can be read (or written) or the deadline passes.

    Past the deadline: ``TimeoutError``; with a deadline of 0 (do not wait) the
    ``SSLWant*Error`` a non-blocking socket raises.
    """
    remaining = deadline.remaining()
    if remaining is None:
        return
    fd = sock.fileno()
    if fd < 0:
        raise OSError(errno.EBADF, "Bad file descriptor")
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(remaining * 1000.0):
        if deadline.nonblocking:
            raise want(write)
        raise TimeoutError(f"The {what} operation timed out")
