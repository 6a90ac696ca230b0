"""``SSLContext._msg_callback``: the stdlib's debugging hook, called from a glasstls connection's trace.

OpenSSL calls a context's message callback (``SSL_CTX_set_msg_callback``) for every record
header it reads or writes, for a TLS 1.3 record's inner content type, and for each handshake
message, change_cipher_spec and alert; ``_ssl.c`` hands each to the Python callback as
``callback(conn, direction, version, content_type, msg_type, data)``, where ``conn`` is the
SSLSocket (or SSLObject), ``direction`` ``"read"`` or ``"write"``, and ``ssl.py`` turns the
numbers into ``TLSVersion``, ``_TLSContentType`` and ``_TLSMessageType`` / ``_TLSAlertType``.
:class:`MessageCallback` is an observer that makes the same calls from the records and
messages a glasstls connection traces. An exception the callback raises cannot go up through
the handshake: it goes to ``sys.unraisablehook`` (``_ssl.c`` raises it from the SSL call
instead), and the connection goes on.
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable
from typing import Any

from ..enums import ContentType
from ..observe import Observer, TraceEvent
from .errors import report_unraisable

__all__ = ["MessageCallback"]

# ssl.py's private enums, which its _msg_callback wrapper hands the callback.
_CONTENT: Any = ssl._TLSContentType  # type: ignore[attr-defined]
_MESSAGE: Any = ssl._TLSMessageType  # type: ignore[attr-defined]  # (CHANGE_CIPHER_SPEC is _ssl.c's 0x0101)
_ALERT: Any = ssl._TLSAlertType  # type: ignore[attr-defined]
_VERSIONS = {int(v): v for v in ssl.TLSVersion if 0 < int(v) < 0x10000}


def _enum(table: Any, value: int) -> Any:
    """``value`` as a member of ssl.py's enum ``table``, or the int itself, as ssl.py's wrapper gives it."""
    try:
        return table(value)
    except ValueError:
        return value


class MessageCallback(Observer):
    """Calls ``callback`` as OpenSSL's message callback would, for the connection of ``sslobject``
    (the compat SSLObject: its ``owner`` is the SSLSocket over it, or itself; its
    ``version_number()`` the protocol version, the negotiated one once there is one)."""

    wants_secret_events = False
    wants_state_events = False

    def __init__(self, callback: Callable[..., Any], sslobject: Any) -> None:
        self._callback = callback
        self._sslobject = weakref.ref(sslobject)  # (the SSLObject holds its connection, which holds us)
        # Calls for what the connection made before its first do_handshake() (a client's ClientHello,
        # made with the SSLObject), made then: OpenSSL calls back as SSL_do_handshake writes it, and
        # only by then is the SSLSocket over the object (its ``owner``) known.
        self._held: list[tuple[str, int, Any, Any, bytes]] | None = []

    def release(self) -> None:
        """The handshake begins: make the calls held until now, and the rest as they come."""
        held, self._held = self._held, None
        for call in held or ():
            self._call(*call)

    def _version(self) -> int:
        sslobject = self._sslobject()
        return int(sslobject.version_number()) if sslobject is not None else 0

    def __call__(self, event: TraceEvent) -> None:
        return  # alerts come through their records; secrets and states are not OpenSSL's messages

    def on_message(self, side: str, direction: str, message: Any) -> None:
        raw: bytes = message.raw
        self._call(direction, self._version(), _CONTENT.HANDSHAKE, _enum(_MESSAGE, raw[0]), raw)

    def on_record(
        self,
        side: str,
        direction: str,
        content_type: ContentType,
        header: bytes,
        payload: bytes,
        inner_type: ContentType | None = None,
        plaintext: bytes | None = None,
    ) -> None:
        # _ssl.c: a record header's version is the one it carries; its "message type" its first byte.
        self._call(direction, (header[1] << 8) | header[2], _CONTENT.HEADER, _enum(_CONTENT, header[0]), header)
        version = self._version()
        if inner_type is not None and content_type != inner_type:  # (TLS 1.3's inner content type)
            inner = _enum(_CONTENT, int(inner_type))
            self._call(direction, version, _CONTENT.INNER_CONTENT_TYPE, inner, bytes([inner_type]))
        real = inner_type if inner_type is not None else content_type
        content = plaintext if plaintext is not None else payload
        if real == ContentType.change_cipher_spec:
            self._call(direction, version, _CONTENT.CHANGE_CIPHER_SPEC, _MESSAGE.CHANGE_CIPHER_SPEC, bytes(content))
        elif real == ContentType.alert and len(content) >= 2:
            self._call(direction, version, _CONTENT.ALERT, _enum(_ALERT, content[1]), bytes(content[:2]))

    def _call(self, direction: str, version: int, content_type: Any, msg_type: Any, data: bytes) -> None:
        if self._held is not None:
            self._held.append((direction, version, content_type, msg_type, data))
            return
        sslobject = self._sslobject()
        if sslobject is None:
            return
        way = "read" if direction == "in" else "write"
        try:
            self._callback(sslobject.owner, way, _VERSIONS.get(version, version), content_type, msg_type, data)
        except Exception as exc:
            report_unraisable(exc, self._callback)
