"""``SSLObject``: the ``ssl.SSLObject`` API over two ``ssl.MemoryBIO``s, driving a glasstls
ClientConnection or ServerConnection (one more sans-I/O driver, like io/blocking.py).

Every call first moves what the peer sent (``incoming``) into the Connection and what the
Connection has to send into ``outgoing``; it then answers as OpenSSL would: a call that
needs bytes not yet there raises ``ssl.SSLWantReadError`` (after writing what it has),
asyncio's sslproto waits for more data and calls again. The outgoing BIO is unbounded,
so ``SSLWantWriteError`` never happens here (as with the stdlib over a MemoryBIO).
"""

from __future__ import annotations

import ssl
import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..connection import ClientConnection, Connection, ServerConnection, octets, slices
from ..enums import AlertDescription
from ..errors import AlertError, ConfigError, Facts, NotNegotiatedError, TLSError
from ..events import ApplicationData, ConnectionClosed, EarlyData, Event, NewTicket
from ..io.inbox import Inbox
from .ciphers import openssl_name, secret_bits
from .errors import eof_error, ssl_error, to_ssl_error, want_read, zero_return
from .watch import connection_watch


class SSLContext(Protocol):
    """What an SSLObject reads of its context.SSLContext (a Protocol: no import cycle)."""

    check_hostname: bool
    keylog_filename: str | None

    @property
    def verify_mode(self) -> ssl.VerifyMode: ...

    @property
    def sni_callback(self) -> Any: ...

    def client_config(self) -> Any: ...

    def server_config(self, server_name_callback: Any = None) -> Any: ...

    def server_chains(self) -> Any: ...


# A subclass of ``ssl.SSLObject`` at run time, so that ``isinstance(obj, ssl.SSLObject)`` holds
# where libraries check it; the stdlib's ``__init__`` raises (its objects are made by ``_create``)
# and every method and property it has is defined here, so none reaches a ``_ssl._SSLSocket``.
if TYPE_CHECKING:
    _Base = object
else:
    _Base = ssl.SSLObject


class SSLObject(_Base):
    """What ``SSLContext.wrap_bio`` returns; see ``ssl.SSLObject`` for each method."""

    def __init__(
        self, context: SSLContext, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
        server_hostname: str | bytes | None = None, session: Any = None, peer: Any = None,
    ) -> None:  # fmt: skip
        server_hostname = _encoded_hostname(server_hostname)
        if not server_side and context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self._context = context
        self._incoming, self._outgoing = incoming, outgoing
        self._server_side = server_side
        self._server_hostname = server_hostname
        # Whom the sni_callback is given, as _ssl.c's ``owner``: this object, or the SSLSocket
        # over it (a weak reference: the socket holds this object).
        self._owner: weakref.ref[Any] | None = None
        self._inbox = Inbox()
        self._error: TLSError | None = None
        self._session = session
        self._peer_closed = False  # the peer's close_notify arrived
        self._unwrapped = False  # unwrap() was called: we sent ours
        self._data_after_close = False  # application data arrived after ours, not yet told by unwrap()
        self._handshake_shown = False
        self._watch = connection_watch("server" if server_side else "client", server_hostname, peer)
        if self._watch is not None:
            weakref.finalize(self, self._watch.finish)  # a connection dropped unclosed still shows
        observers = (_keylog(context.keylog_filename), self._watch.observer if self._watch else None)
        observer = _tee(observers)
        try:
            self._conn = self._connection(context, server_side, server_hostname, session, observer)
        except ConfigError as exc:  # settings that cannot work together: OpenSSL says so at the handshake
            reason = "NO_PROTOCOLS_AVAILABLE" if exc.facts and exc.facts.problem == "version_range" else "BAD_VALUE"
            raise ssl_error(reason, str(exc)) from exc
        self._flush()

    def _connection(
        self, context: SSLContext, server_side: bool, server_hostname: str | None, session: Any, observer: Any
    ) -> Connection:
        if server_side:
            on_name = self._on_server_name if context.sni_callback is not None else None
            return ServerConnection(context.server_config(on_name), observer=observer)
        return ClientConnection(
            context.client_config(), server_name=server_hostname, session=session, observer=observer
        )

    # -- the handshake -------------------------------------------------------------
    def do_handshake(self) -> None:
        self._pump()
        self._raise_if_failed()
        if self._conn.handshake_complete:
            return
        if self._incoming.eof:
            raise eof_error()
        raise want_read()

    # -- data ------------------------------------------------------------------------
    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Up to ``len`` bytes (into ``buffer`` if given, returning the count). b"" once the peer
        sent close_notify, SSLZeroReturnError after both sides did, as OpenSSL via _ssl.c."""
        if len < 0 and buffer is None:
            raise ValueError("size should not be negative")
        if self._conn.peer_verified is None:  # (handshake_complete, without a property call per read)
            self.do_handshake()
        self._pump()
        if buffer is not None and len <= 0:
            len = memoryview(buffer).nbytes
        if self._inbox and len:
            return self._take(len, buffer)
        self._raise_if_failed()
        if self._peer_closed:
            if self._unwrapped:
                raise zero_return()
            return b"" if buffer is None else 0
        if self._incoming.eof:
            raise eof_error()
        if not len:
            return b"" if buffer is None else 0
        raise want_read()

    def starved(self) -> bool:
        """Whether read() could only raise SSLWantReadError now: the handshake is done, and no
        plaintext, ciphertext, error or close_notify is waiting. (glasstls's SSLSocket then reads
        its socket before asking read(), instead of hearing so from an exception per record.)"""
        return (
            not self._inbox
            and self._conn.peer_verified is not None
            and not self._incoming.pending
            and not self._incoming.eof
            and self._error is None
            and self._conn.error is None
            and not self._peer_closed
        )

    def _take(self, size: int, buffer: Any) -> Any:
        """Data first, errors after: what arrived before a failure is still read (as OpenSSL)."""
        if buffer is None:
            return self._inbox.take(size)
        with memoryview(buffer) as view, view.cast("B") as octets:
            return self._inbox.take_into(octets, min(size, len(octets)))  # (as _ssl.c: no more than fits)

    def write(self, data: Any) -> int:
        if self._conn.peer_verified is None:  # (handshake_complete, without a property call per read)
            self.do_handshake()
        self._raise_if_failed()
        if self._unwrapped or self._conn.closed:
            raise zero_return()
        payload = octets(data)
        for piece in slices(payload):  # (sealed at once: the caller's buffer is not kept)
            self._conn.send(piece)
            self._flush()
        return len(payload)

    def pending(self) -> int:
        return len(self._inbox)

    def unwrap(self) -> None:
        """Send close_notify (RFC 8446, Section 6.1), then wait for the peer's: SSLWantReadError
        until it arrives, as OpenSSL's second SSL_shutdown call. Data the peer sent after our
        close_notify raises SSLError (APPLICATION_DATA_AFTER_CLOSE_NOTIFY) as there, and is
        kept for read(); unwrap() again goes on waiting."""
        self._unwrapped = True
        self._conn.close()
        self._flush()
        self._pump()
        if self._data_after_close:
            # As OpenSSL's SSL_shutdown; the data stays here for read(), not thrown away as there.
            self._data_after_close = False
            raise ssl_error("APPLICATION_DATA_AFTER_CLOSE_NOTIFY", "application data after close notify")
        if self._peer_closed:
            return None
        self._raise_if_failed()
        if self._incoming.eof:
            raise eof_error()
        raise want_read()

    # -- what was negotiated -----------------------------------------------------------
    @property
    def server_side(self) -> bool:
        return self._server_side

    @property
    def server_hostname(self) -> str | None:
        return self._server_hostname

    @property
    def context(self) -> SSLContext:
        return self._context

    @context.setter
    def context(self, value: SSLContext) -> None:
        self._context = value  # as the stdlib allows (for SNI); this connection's config is already built

    @property
    def session(self) -> Any:
        """The glasstls SessionState to resume with (give it as ``session=`` to wrap_bio)."""
        return self._conn.session or self._session

    @property
    def session_reused(self) -> bool:
        params = self._conn.parameters
        return bool(params is not None and params.resumed)

    def version(self) -> str | None:
        params = self._conn.parameters
        return params.version if params is not None else None

    def cipher(self) -> tuple[str, str, int] | None:
        params = self._conn.parameters
        if params is None:
            return None
        return (openssl_name(params.cipher_suite), params.version, secret_bits(params.cipher_suite))

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """Server: the suites both sides support, in our order, as (name, protocol, bits) with
        OpenSSL's names; None on a client or before the hello, as SSL_get_client_ciphers."""
        offered = set(self._conn.peer_cipher_suites)
        if not self.server_side or not offered:
            return None
        suites = [s for s in self._conn.config.cipher_suites if int(s) in offered]
        return [(openssl_name(s.name), "TLSv1.2" if "_WITH_" in s.name else "TLSv1.3", secret_bits(s.name))
                for s in suites]  # fmt: skip

    def selected_alpn_protocol(self) -> str | None:
        params = self._conn.parameters
        return params.alpn if params is not None else None

    def selected_npn_protocol(self) -> None:
        return None

    def compression(self) -> None:
        return None  # TLS 1.3 has none, and glasstls offers none in TLS 1.2 (RFC 7457, CRIME)

    def getpeercert(self, binary_form: bool = False) -> Any:
        params = self._conn.parameters
        if params is None:
            raise ValueError("handshake not done yet")
        if not params.peer_certificates:
            return None
        leaf: x509.Certificate = params.peer_certificates[0]
        if binary_form:
            return leaf.public_bytes(serialization.Encoding.DER)
        if self._context.verify_mode == ssl.CERT_NONE:
            return {}  # as the stdlib: an unverified certificate is not decoded
        return certificate_dict(leaf)

    def get_verified_chain(self) -> list[bytes]:
        params = self._conn.parameters
        certs = params.peer_certificates if params is not None else ()
        return [c.public_bytes(serialization.Encoding.DER) for c in certs]

    get_unverified_chain = get_verified_chain

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        """``tls-unique`` (RFC 5929: the first Finished, as OpenSSL gives it in either version;
        safe only in TLS 1.2 with the extended master secret) or ``tls-exporter`` (RFC 9266,
        which replaces it; None in TLS 1.2 without the extended master secret). None before
        the handshake completes, as the stdlib."""
        if cb_type not in ("tls-unique", "tls-exporter"):
            raise ValueError(f"{cb_type} channel binding type not implemented")
        if not self._conn.handshake_complete:
            return None
        try:
            if cb_type == "tls-unique":
                return self._conn.tls_unique()
            return self._conn.channel_binding("tls-exporter")
        except NotNegotiatedError:
            return None

    def verify_client_post_handshake(self) -> None:
        """TLS 1.3 server: ask for a client certificate now (RFC 8446, Section 4.6.2)."""
        if not isinstance(self._conn, ServerConnection):
            raise ssl.SSLError(ssl.SSL_ERROR_SSL, "[SSL: NOT_SERVER] only a server asks for a client certificate")
        try:
            self._conn.request_client_certificate(required=True)
        except NotNegotiatedError as exc:
            raise to_ssl_error(exc) from exc
        self._flush()

    def _on_server_name(self, server_name: str | None) -> Any:
        """The context's sni_callback, as the stdlib calls it: (this object, or the SSLSocket over
        it as _ssl.c's ``owner``, the name, the context).
        It may set ``self.context`` to another context, whose chain is then served, or return an
        alert number to refuse the handshake with."""
        before = self._context
        owner = self._owner() if self._owner is not None else None
        answer = before.sni_callback(self if owner is None else owner, server_name, before)
        if answer is not None:
            try:
                alert = AlertDescription(int(answer))
            except ValueError:
                alert = AlertDescription.internal_error
            raise AlertError(
                alert, f"the server's sni_callback refused server name {server_name!r} ({alert.name})",
                facts=Facts("callback_refused", field="SSLContext.sni_callback"),
            )  # fmt: skip
        return self._context.server_chains() if self._context is not before else None

    # -- plumbing ------------------------------------------------------------------------
    def _pump(self) -> None:
        data = self._incoming.read()
        if data:
            for event in self._conn.receive_bytes(data):
                self._on_event(event)
            self._flush()  # (what the records read made: every other call that makes records flushes them)
        if self._watch is not None:
            self._show()

    def _show(self) -> None:
        """The watched trace: one block when the handshake ends, the rest when the connection does."""
        assert self._watch is not None
        if self._conn.closed or self._conn.error is not None:
            self._watch.finish()
        elif self._conn.handshake_complete and not self._handshake_shown:
            self._handshake_shown = True
            self._watch.flush()

    def _flush(self) -> None:
        out = self._conn.data_to_send()
        if out:
            self._outgoing.write(out)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, (ApplicationData, EarlyData)):
            self._inbox.append(event.data)
            self._data_after_close = self._data_after_close or self._unwrapped  # (came after our close_notify)
        elif isinstance(event, ConnectionClosed):
            # A TLS 1.2 peer's close_notify closes both ways here (glasstls answers it at once,
            # RFC 5246, Section 7.2.1), so the flag is ours, not Connection.peer_closed.
            self._error = event.error
            self._peer_closed = event.error is None and event.by_peer
        elif isinstance(event, NewTicket) and event.session is not None:
            self._session = event.session

    def _raise_if_failed(self) -> None:
        error = self._error or self._conn.error
        if error is not None:
            raise to_ssl_error(error) from error


def _encoded_hostname(name: str | bytes | None) -> str | None:
    """The host name as the stdlib's _encode_hostname gives it to OpenSSL: ASCII, an IDNA A-label
    for a Unicode name; anyio (httpx's AsyncClient) passes it as bytes already encoded."""
    if name is None:
        return None
    if isinstance(name, bytes | bytearray):
        return bytes(name).decode("ascii")
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"server_hostname {name!r} is not a valid IDNA name: {exc}") from None


def _tee(observers: tuple[Any, ...]) -> Any:
    """One observer for several, None for none (a connection with no observer builds no events)."""
    present = [o for o in observers if o is not None]
    if len(present) <= 1:
        return present[0] if present else None
    from ..trace import Tee  # only when asked for: import glasstls loads no renderer

    return Tee(*present)


def _keylog(path: str | None) -> Any:
    if not path:
        return None
    from ..trace.keylog import KeyLog  # only when asked for: import glasstls stays light

    return KeyLog(path)


# OpenSSL's long names for the attributes, as _ssl.c's _create_tuple_for_X509_NAME gives them.
def certificate_dict(cert: x509.Certificate) -> dict[str, Any]:
    """A certificate in the stdlib's ``getpeercert()`` format."""
    out: dict[str, Any] = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial(cert.serial_number),
        "notBefore": _asn1_time(cert.not_valid_before_utc),
        "notAfter": _asn1_time(cert.not_valid_after_utc),
    }
    sans = _subject_alt_names(cert)
    if sans:
        out["subjectAltName"] = sans
    return out


def _name_tuple(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(
        tuple((getattr(attr.oid, "_name", attr.oid.dotted_string), str(attr.value)) for attr in rdn)
        for rdn in name.rdns
    )


def _serial(number: int) -> str:
    text = f"{number:X}"
    return text if len(text) % 2 == 0 else "0" + text


def _asn1_time(moment: datetime) -> str:
    # OpenSSL's ASN1_TIME_print: "Jan  5 09:34:43 2018 GMT" (day padded with a space)
    return f"{moment:%b} {moment.day:>2} {moment:%H:%M:%S %Y} GMT"


def _subject_alt_names(cert: x509.Certificate) -> tuple[tuple[str, str], ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out: list[tuple[str, str]] = []
    for general in ext:
        if isinstance(general, x509.DNSName):
            out.append(("DNS", general.value))
        elif isinstance(general, x509.IPAddress):
            out.append(("IP Address", _ip_text(general.value)))
        elif isinstance(general, x509.RFC822Name):
            out.append(("email", general.value))
        elif isinstance(general, x509.UniformResourceIdentifier):
            out.append(("URI", general.value))
    return tuple(out)


def _ip_text(address: Any) -> str:
    if address.version == 6:  # OpenSSL prints every group, upper case
        return ":".join(f"{address.packed[i] << 8 | address.packed[i + 1]:X}" for i in range(0, 16, 2))
    return str(address)
