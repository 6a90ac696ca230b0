"""What an ``SSLSocket`` answers from its SSLObject: the peer's certificate, the suite, the version,
ALPN, channel bindings, the context, the server name and the session (``ssl.SSLSocket``'s queries).

A mixin of :class:`~glasstls.compat.sslsocket.SSLSocket`, which holds the state it reads: the
SSLObject (None before ``connect()`` and after ``unwrap()``), the lock that guards it, and what
stands for it while there is none (``_kept``: the context and server name; ``_session``).
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from .session import SSLSession

__all__ = ["SSLObjectQueries"]


class SSLObjectQueries:
    """The queries of ``ssl.SSLSocket`` that its SSLObject answers (listed first in SSLSocket's
    bases, so that they shadow the stdlib's, which would reach ``_ssl._SSLSocket``)."""

    _sslobj: Any
    _ssl_lock: threading.RLock
    _kept: tuple[Any, str | None]
    _session: Any
    _connected: bool

    def _check_connected(self) -> None:  # (SSLSocket's: it asks the socket)
        raise NotImplementedError

    def _ask(self, name: str, *args: Any) -> Any:
        if self._sslobj is None:
            return None
        with self._ssl_lock:
            return getattr(self._sslobj, name)(*args)

    def getpeercert(self, binary_form: bool = False) -> Any:
        self._check_connected()
        return self._ask("getpeercert", binary_form)

    def cipher(self) -> tuple[str, str, int] | None:
        return self._ask("cipher")  # type: ignore[no-any-return]

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        return self._ask("shared_ciphers")  # type: ignore[no-any-return]

    def version(self) -> str | None:
        return self._ask("version")  # type: ignore[no-any-return]

    def selected_alpn_protocol(self) -> str | None:
        return self._ask("selected_alpn_protocol")  # type: ignore[no-any-return]

    def selected_npn_protocol(self) -> None:
        return None  # NPN is gone (the stdlib's answers None with a DeprecationWarning)

    def compression(self) -> str | None:
        return self._ask("compression")  # type: ignore[no-any-return]

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        if self._sslobj is None:
            if cb_type not in ssl.CHANNEL_BINDING_TYPES and cb_type != "tls-exporter":
                raise ValueError(f"{cb_type} channel binding type not implemented")
            return None
        return self._ask("get_channel_binding", cb_type)  # type: ignore[no-any-return]

    @property
    def context(self) -> Any:
        return self._kept[0] if self._sslobj is None else self._sslobj.context

    @context.setter
    def context(self, context: Any) -> None:
        if self._sslobj is None:
            self._kept = (context, self._kept[1])
        else:
            self._sslobj.context = context

    @property
    def server_hostname(self) -> str | None:
        return self._kept[1] if self._sslobj is None else self._sslobj.server_hostname

    @property
    def session(self) -> Any:
        return None if self._sslobj is None else self._sslobj.session

    @session.setter
    def session(self, session: Any) -> None:
        if self._sslobj is None:  # not connected yet: for the SSLObject connect() makes, as the stdlib's _session
            if isinstance(session, SSLSession) and session.context is not self.context:
                raise ValueError("Session refers to a different SSLContext.")  # (_ssl.c's, at connect())
            self._session = session
            return
        with self._ssl_lock:  # (the SSLObject checks it as _ssl.c: client, before the handshake)
            self._sslobj.session = session

    @property
    def session_reused(self) -> bool | None:
        """None before the socket is connected (the stdlib's has no SSL object yet) or after unwrap()."""
        if self._sslobj is None or not self._connected:
            return None
        return bool(self._sslobj.session_reused)
