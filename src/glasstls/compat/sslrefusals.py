"""The socket calls an ``SSLSocket`` refuses while it carries TLS, in the stdlib's words.

A mixin of :class:`~glasstls.compat.sslsocket.SSLSocket`, listed before ``ssl.SSLSocket`` in its
bases so that these shadow the stdlib's (which would reach ``_ssl._SSLSocket``): datagram and
ancillary-data calls would bypass the records, and ``dup()`` would share one TLS state between
two sockets. Once unwrapped (no SSLObject), the datagram calls are the plain socket's again.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["RefusedSocketCalls"]


class RefusedSocketCalls:
    """``sendto``/``recvfrom``/``recvfrom_into`` while wrapped, ``sendmsg``/``recvmsg``/``recvmsg_into``
    and ``dup`` always, as ``ssl.SSLSocket`` refuses them."""

    _sslobj: Any

    def sendto(self, *args: Any) -> int:
        if self._sslobj is not None:
            raise ValueError(f"sendto not allowed on instances of {self.__class__}")
        sent: int = socket.socket.sendto(self, *args)  # type: ignore[call-overload]
        return sent

    def recvfrom(self, *args: Any) -> Any:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom not allowed on instances of {self.__class__}")
        return socket.socket.recvfrom(self, *args)  # type: ignore[arg-type]

    def recvfrom_into(self, *args: Any) -> Any:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom_into not allowed on instances of {self.__class__}")
        return socket.socket.recvfrom_into(self, *args)  # type: ignore[arg-type]

    def sendmsg(self, *args: Any, **kwargs: Any) -> int:
        raise NotImplementedError(f"sendmsg not allowed on instances of {self.__class__}")

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg not allowed on instances of {self.__class__}")

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg_into not allowed on instances of {self.__class__}")

    def dup(self) -> Any:
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")
