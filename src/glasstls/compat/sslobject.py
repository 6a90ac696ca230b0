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
import time
import weakref
from collections.abc import Callable, Iterable
from operator import index
from typing import TYPE_CHECKING, Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..connection import Connection
from ..enums import AlertDescription
from ..errors import AlertError, ConfigError, ConnectionClosedError, Facts, NotNegotiatedError, TLSError
from ..events import ApplicationData, ConnectionClosed, EarlyData, Event, HandshakeComplete, NewTicket
from ..io.inbox import Inbox
from ..io.payload import octets, slices
from ..sides import ClientConnection, ServerConnection
from .certdict import certificate_dict
from .ciphers import cipher_tuple
from .errors import (
    eof_error,
    not_tls_error,
    openssl_ip,
    report_unraisable,
    ssl_error,
    to_ssl_error,
    want_read,
    zero_return,
)  # fmt: skip
from .msgcallback import MessageCallback
from .session import SSLSession, session_state
from .watch import connection_watch


class SSLContext(Protocol):
    """What an SSLObject reads of its context.SSLContext (a Protocol: no import cycle)."""

    check_hostname: bool

    @property
    def protocol(self) -> ssl._SSLMethod: ...

    @property
    def verify_mode(self) -> ssl.VerifyMode: ...

    @property
    def sni_callback(self) -> Any: ...

    @property
    def _msg_callback(self) -> Any: ...

    @property
    def maximum_version(self) -> ssl.TLSVersion: ...

    def client_config(self, named: bool = True) -> Any: ...

    def server_config(self, server_name_callback: Any = None) -> Any: ...

    def server_chains(self) -> Any: ...

    def switched_from(self, first: Any) -> Any: ...

    def key_log(self) -> Any: ...

    def note_peer_chain(self, chain: Any) -> None: ...

    @property
    def stats(self) -> Any: ...


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
        # (No check_hostname-without-server_hostname refusal here: the stdlib makes it in wrap_socket
        # only; an SSLObject without a name is checked at the handshake without one, as OpenSSL.)
        server_hostname = encoded_hostname(server_hostname)
        _check_side(context.protocol, server_side)
        if server_hostname is not None and (not server_hostname or server_hostname.startswith(".")):
            raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")  # (_ssl.c's)
        self._context = context
        self._incoming, self._outgoing = incoming, outgoing
        self._server_side = server_side
        self._server_hostname = server_hostname
        # Whom the sni_callback is given, as _ssl.c's ``owner``: this object, or the SSLSocket
        # over it (a weak reference: the socket holds this object).
        self._owner: weakref.ref[Any] | None = None
        self._inbox = Inbox()
        self._error: TLSError | None = None
        self._session = self._offerable(session) if session is not None else None
        self._started = False  # do_handshake() was called: the ClientHello is out, the session fixed
        self._done_at: float | None = None  # when .session was first read with nothing to resume
        self._first = b""  # the first bytes the peer sent: a record header, or what is not TLS
        self._peer_closed = False  # the peer's close_notify arrived
        self._unwrapped = False  # unwrap() was called: we sent ours
        self._truncated = False  # a read met the end of the stream without close_notify (SSLEOFError)
        self._data_after_close = False  # application data arrived after ours, not yet told by unwrap()
        self._handshake_shown = False
        self._watch = connection_watch("server" if server_side else "client", server_hostname, peer)
        if self._watch is not None:
            weakref.finalize(self, self._watch.finish)  # a connection dropped unclosed still shows
        callback = context._msg_callback  # (the stdlib's debugging hook: compat/msgcallback.py)
        self._messages = MessageCallback(callback, self) if callback is not None else None
        observers = (context.key_log(), self._watch.observer if self._watch else None, self._messages)
        self._observer = _tee(observers)
        # The ClientHello is made now but goes out at the first do_handshake(), as OpenSSL writes it
        # in SSL_do_handshake: until then ``session`` may still be set, and the hello made again.
        self._conn = self._connection()

    @classmethod
    def _create(
        cls, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
        server_hostname: str | bytes | None = None, session: Any = None, context: Any = None,
    ) -> Any:  # fmt: skip
        """What ``SSLContext.wrap_bio`` calls on its ``sslobject_class``, with the stdlib's arguments
        (``ssl.SSLObject._create``): an instance of ``cls`` made without calling its ``__init__``
        (the stdlib's raises), so that a subclass's own methods run over this one's."""
        self = cls.__new__(cls)
        SSLObject.__init__(self, context, incoming, outgoing, server_side, server_hostname, session)
        return self

    def _locate(self, peer: Any) -> None:
        """The peer's address, for the watch's label, once it is known (None: not yet)."""
        if self._watch is not None and peer is not None:
            self._watch.locate(peer)

    def _connection(self) -> Connection:
        try:
            if self._server_side:
                # A context with no chain of its own may get one from its sni_callback (switching
                # self.context), or have none and fail at the handshake, as OpenSSL's: not now.
                on_name: Callable[[str | None], Any] | None = None
                if self._context.sni_callback is not None:
                    on_name = self._on_server_name
                elif not self._context.server_chains():
                    on_name = _no_chain
                return ServerConnection(self._context.server_config(on_name), observer=self._observer)
            name = self._server_hostname
            return ClientConnection(
                self._context.client_config(named=bool(name)), server_name=openssl_ip(name) or name if name else None,
                session=self._session, observer=self._observer,
            )  # fmt: skip
        except ConfigError as exc:  # settings that cannot work together: OpenSSL says so at the handshake
            reason = "NO_PROTOCOLS_AVAILABLE" if exc.facts and exc.facts.problem == "version_range" else "BAD_VALUE"
            raise ssl_error(reason, str(exc)) from exc

    # -- the handshake -------------------------------------------------------------
    def do_handshake(self) -> None:
        if not self._started:
            self._started = True
            self._context.stats.started(self._server_side)
            if self._messages is not None:
                self._messages.release()
            self._flush()  # the ClientHello
        self._pump()
        self._raise_if_failed()
        if self._conn.handshake_complete:
            return
        if self._incoming.eof:
            raise self.truncation()
        raise want_read()

    # -- data ------------------------------------------------------------------------
    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Up to ``len`` bytes (into ``buffer`` if given, returning the count). b"" once the peer
        sent close_notify, SSLZeroReturnError after both sides did, as OpenSSL via _ssl.c."""
        len = index(len)  # a float is a TypeError before anything is read (as _ssl.c's argument parsing)
        if len < 0 and buffer is None:
            raise ValueError("size should not be negative")
        if self._conn.peer_verified is None:  # (handshake_complete, without a property call per read)
            self.do_handshake()
        self._pump()
        if buffer is not None:  # as _ssl.c's read: no more than the buffer holds
            with memoryview(buffer) as view:
                len = view.nbytes if len <= 0 or len > view.nbytes else len
        if self._inbox and len:
            return self._take(len, buffer)
        self._raise_if_failed()
        if self._peer_closed:
            if self._unwrapped:
                raise zero_return()
            return b"" if buffer is None else 0
        if self._incoming.eof:
            raise self.truncation()
        if not len:
            return b"" if buffer is None else 0
        raise want_read()

    def starved(self) -> bool:
        """Whether read() could only raise SSLWantReadError now: the handshake is done, and no
        plaintext, ciphertext, error or close_notify is waiting. (glasstls's SSLSocket then reads
        its socket before asking read(), instead of hearing so from an exception per record.)"""
        return (
            not self._inbox.size
            and self._conn.peer_verified is not None
            and not self._incoming.pending
            and not self._incoming.eof
            and self._error is None
            and self._conn.error is None
            and not self._peer_closed
        )

    def read_record(self, header: bytes, body: bytes, size: int, buffer: Any) -> Any:
        """read(size, buffer) once one whole record, read from the socket as its header and body,
        has arrived, handed over past the incoming BIO (glasstls's SSLSocket does so while
        ``starved``: nothing else is waiting to be read). None when read() itself must answer:
        the record brought no data (a close_notify, an alert, a handshake message, a failure)."""
        conn = self._conn
        events = conn.receive_record(header, body)
        out = conn.data_to_send()  # (an answer the record asked for: a KeyUpdate, a fatal alert)
        if out:
            self._outgoing.write(out)
        if len(events) == 1 and self._watch is None and not self._unwrapped:
            data = events[0].data if type(events[0]) is ApplicationData else b""
            if 0 < len(data) <= size:  # the record's data read whole, as the inbox would hand it out
                if buffer is None:
                    return data
                if type(buffer) is bytearray:
                    buffer[: len(data)] = data  # (as long as what it replaces: size is at most the buffer's)
                    return len(data)
                with memoryview(buffer) as view, view.cast("B") as octets:
                    octets[: len(data)] = data  # (size is at most the buffer's: SSLSocket.read)
                return len(data)
            if data:  # more than asked (a reader of 8 KiB, as http.client's): the rest waits in the inbox
                self._inbox.keep_rest(data, size)
                if buffer is None:
                    return data[:size]
                if type(buffer) is bytearray:
                    buffer[:size] = memoryview(data)[:size]
                    return size
                with memoryview(buffer) as view, view.cast("B") as octets:
                    octets[:size] = memoryview(data)[:size]
                return size
        for event in events:
            self._on_event(event)
        if self._watch is not None:
            self._show()
        if self._inbox:
            return self._take(size, buffer)
        return None

    def take_waiting(self, size: int, buffer: Any) -> Any:
        """read(size, buffer) (size > 0, at most what ``buffer`` holds) when plaintext is waiting
        already, most often the rest of a record that a smaller read left (a reader of 8 KiB, as
        http.client's, takes a 16 KiB record in two); None when read() itself must answer. The
        incoming BIO is not read first: what it holds comes after the waiting data anyway, and
        is read when that is gone (as OpenSSL reads a record only once the last one is read)."""
        if not self._inbox.size or self._watch is not None or self._conn.peer_verified is None:
            return None
        return self._take(size, buffer)

    def _take(self, size: int, buffer: Any) -> Any:
        """Data first, errors after: what arrived before a failure is still read (as OpenSSL)."""
        if buffer is None:
            return self._inbox.take(size)
        if type(buffer) is bytearray:  # (a bytearray takes a slice assignment without a view of it)
            return self._inbox.take_into(buffer, min(size, len(buffer)))
        with memoryview(buffer) as view, view.cast("B") as octets:
            return self._inbox.take_into(octets, min(size, len(octets)))  # (as _ssl.c: no more than fits)

    @property
    def owner(self) -> Any:
        """_ssl.c's ``owner``: the SSLSocket over this object, or this object for wrap_bio's."""
        owner = self._owner() if self._owner is not None else None
        return self if owner is None else owner

    def version_number(self) -> int:
        """The protocol version as OpenSSL's number: the negotiated one, else the highest this side
        offers (OpenSSL's ``SSL_version`` while a client's handshake runs)."""
        conn = getattr(self, "_conn", None)  # (None while the ClientHello is made, in __init__)
        if conn is not None and conn.version is not None:
            return int(conn.version)
        highest = int(self._context.maximum_version)  # (MAXIMUM_SUPPORTED is -1)
        return highest if 0x0300 < highest <= 0x0304 else 0x0304

    @property
    def _sslobj(self) -> SSLObject:
        """What the stdlib's SSLObject wraps (``_ssl._SSLSocket``), which this object is itself:
        ``sslobj._sslobj.owner`` is ``sslobj``, as there."""
        return self

    def writable(self) -> bool:
        """Whether write() would seal its data at once: the handshake is done, and nothing failed or
        closed (what seal() asks)."""
        conn = self._conn
        return (
            conn.peer_verified is not None
            and self._error is None
            and conn.error is None
            and not self._unwrapped
            and not conn.closed
            and not self._truncated
        )

    def seal(self, data: bytes | memoryview) -> bytes | None:
        """write(``data``) while writable(), its records returned instead of put in the outgoing BIO
        (glasstls's SSLSocket hands them to the kernel itself, having seen that BIO empty); None,
        with nothing done, when it is not writable."""
        if not self.writable():
            return None
        conn = self._conn
        conn.send(data)
        return conn.data_to_send()

    def truncation(self) -> ssl.SSLEOFError:
        """The SSLEOFError of a stream that ended without close_notify, noted: as OpenSSL's connection
        after that error, this one then writes nothing either (write() raises it too)."""
        self._truncated = True
        return eof_error()

    def write(self, data: Any) -> int:
        if self._conn.peer_verified is None:  # (handshake_complete, without a property call per read)
            self.do_handshake()
        self._raise_if_failed()
        if self._truncated:
            raise eof_error()
        if self._unwrapped:  # our close_notify is sent: OpenSSL's SSL_write refuses so
            raise ssl_error("PROTOCOL_IS_SHUTDOWN", "protocol is shutdown")
        if self._conn.closed:
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
        kept for read(); unwrap() again goes on waiting. Data the program has read by then raises
        nothing: OpenSSL's SSL_read took it, and SSL_shutdown completes (asyncio's sslproto reads
        what arrives after its close_notify, then unwraps)."""
        if not self._conn.handshake_complete:  # as OpenSSL's SSL_shutdown in the handshake: nothing sent
            raise ssl_error("SHUTDOWN_WHILE_IN_INIT", "shutdown while in init")
        self._unwrapped = True
        self._conn.close()
        self._flush()
        self._pump()
        if self._data_after_close and self._inbox:
            # As OpenSSL's SSL_shutdown; the data stays here for read(), not thrown away as there.
            self._data_after_close = False
            raise ssl_error("APPLICATION_DATA_AFTER_CLOSE_NOTIFY", "application data after close notify")
        self._data_after_close = False  # (all of it read already)
        if self._peer_closed:
            return None
        self._raise_if_failed()
        if self._incoming.eof:
            raise self.truncation()
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
    def session(self) -> SSLSession | None:
        """The session to resume with (give it as ``session=`` to wrap_bio or set it here before the
        handshake), with the stdlib's attributes; its glasstls SessionState is ``.state``."""
        state = self._conn.session or self._session
        if state is None and self._conn.handshake_complete:
            if self._done_at is None:
                self._done_at = time.time()
            return SSLSession(None, self._context, self._done_at)  # (OpenSSL's: nothing to resume yet)
        return SSLSession(state, self._context) if state is not None else None

    @session.setter
    def session(self, session: Any) -> None:
        """As _ssl.c's: a session of the same context, on a client, before the handshake completes;
        set before do_handshake() it is offered (the ClientHello is made again with it)."""
        if session is None:
            raise TypeError("Value is not a SSLSession.")
        state = self._offerable(session)
        if self._conn.handshake_complete:
            raise ValueError("Cannot set session after handshake.")
        self._session = state
        if not self._started:
            self._conn = self._connection()

    def _offerable(self, session: Any) -> Any:
        """The state of a session this object may offer, set here or given to wrap_socket/wrap_bio
        (both go through _ssl.c's setter, in its order of checks)."""
        state = session_state(session)
        if isinstance(session, SSLSession) and session.context is not self._context:
            raise ValueError("Session refers to a different SSLContext.")
        if self._server_side:
            raise ValueError("Cannot set session for server-side SSLSocket.")
        return state

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
        return cipher_tuple(params.cipher_suite)

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """Server: the suites both sides support, in our order, as (name, protocol, bits) with
        OpenSSL's names; None on a client or before the hello, as SSL_get_client_ciphers."""
        offered = set(self._conn.peer_cipher_suites)
        if not self.server_side or not offered:
            return None
        suites = [s for s in self._conn.config.cipher_suites if int(s) in offered]
        return [cipher_tuple(s.name) for s in suites]

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

    def get_unverified_chain(self) -> list[bytes]:
        """The peer's chain as it sent it, as DER bytes, as the stdlib's (3.13) gives them; each also
        answers ``public_bytes(format)`` as the ``_ssl.Certificate`` that 3.10-3.12's ``_sslobj``
        gives (truststore reads either, by the Python version: ``_verify_peercerts``)."""
        params = self._conn.parameters
        return _ders(params.peer_certificates if params is not None else ())

    def get_verified_chain(self) -> list[bytes]:
        """The path the peer's chain was verified along, leaf to trust anchor, as OpenSSL's
        SSL_get0_verified_chain: empty when no chain was verified (a resumption, CERT_NONE)."""
        return _ders(self._conn.verified_path)

    def shutdown(self) -> None:
        """unwrap(), by the name _ssl's SSL object has: what ``ssl.SSLObject.unwrap`` calls on its
        ``_sslobj``."""
        self.unwrap()

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
        except (NotNegotiatedError, ConnectionClosedError):  # (a failed connection gives no binding)
            return None

    def verify_client_post_handshake(self) -> None:
        """TLS 1.3 server: ask for a client certificate now (RFC 8446, Section 4.6.2). An empty
        answer ends the connection under CERT_REQUIRED only; under CERT_OPTIONAL the server goes
        on and getpeercert() stays None, as OpenSSL's (SSL_VERIFY_FAIL_IF_NO_PEER_CERT unset)."""
        # OpenSSL's reasons, texts and order (SSL_verify_client_post_handshake): programs match them.
        params = self._conn.parameters
        if params is not None and params.version != "TLSv1.3":
            raise ssl_error("WRONG_SSL_VERSION", "wrong ssl version")
        if not isinstance(self._conn, ServerConnection):
            raise ssl_error("NOT_SERVER", "not server")
        try:
            self._conn.request_client_certificate(required=self._context.verify_mode == ssl.CERT_REQUIRED)
        except NotNegotiatedError as exc:  # before the handshake's end, or a client that did not offer it
            if params is None:
                raise ssl_error("STILL_IN_INIT", "still in init") from exc
            raise ssl_error("EXTENSION_NOT_RECEIVED", "extension not received") from exc
        self._flush()

    def _on_server_name(self, server_name: str | None) -> Any:
        """The context's sni_callback, as the stdlib calls it: (this object, or the SSLSocket over
        it as _ssl.c's ``owner``, the name, the context).
        It may set ``self.context`` to another context, whose chain is then served, or return an
        alert number to refuse the handshake with."""
        before = self._context
        owner = self._owner() if self._owner is not None else None
        callback = before.sni_callback
        try:
            answer = callback(self if owner is None else owner, server_name, before)
        except Exception as exc:  # as _ssl.c's _servername_callback: reported, the handshake refused
            report_unraisable(exc, callback)
            raise AlertError(
                AlertDescription.handshake_failure, f"the server's sni_callback raised {exc!r}",
                facts=Facts("callback_refused", field="SSLContext.sni_callback"),
            ) from None  # fmt: skip
        if answer is not None:
            if not isinstance(answer, int):  # as _ssl.c: PyLong_AsLong fails, reported; internal_error
                report_unraisable(TypeError(f"an integer is required, not {type(answer).__name__}"), answer)
                answer = AlertDescription.internal_error
            try:
                alert = AlertDescription(int(answer))
            except ValueError:
                alert = AlertDescription.internal_error
            raise AlertError(
                alert, f"the server's sni_callback refused server name {server_name!r} ({alert.name})",
                facts=Facts("callback_refused", field="SSLContext.sni_callback"),
            )  # fmt: skip
        return self._context.switched_from(self._conn.config) if self._context is not before else None

    # -- plumbing ------------------------------------------------------------------------
    def _pump(self) -> None:
        data = self._incoming.read()
        if data:
            if len(self._first) < 5:  # (OpenSSL judges the first record header: see _raise_if_failed)
                self._first += data[: 5 - len(self._first)]
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
            # The peer's close_notify (or its alert): the read side is done, in either version.
            self._error = event.error
            self._peer_closed = event.error is None and event.by_peer
        elif isinstance(event, NewTicket) and event.session is not None:
            self._session = event.session
        elif isinstance(event, HandshakeComplete):
            params = event.parameters
            self._context.stats.completed(self._server_side, params.resumed)
            if params.peer_certificates and not params.resumed and self._context.verify_mode != ssl.CERT_NONE:
                self._context.note_peer_chain(params.peer_certificates)  # (capath.py: the CAs read for it)

    def _raise_if_failed(self) -> None:
        error = self._error or self._conn.error
        if error is not None:
            if not self._conn.handshake_complete:
                # A peer that does not speak TLS: OpenSSL names it from the first header it read.
                plain = not_tls_error(self._first, self._server_side, str(error))
                if plain is not None:
                    raise plain from error
            raise to_ssl_error(error, self._server_hostname) from error


class DERCertificate(bytes):
    """A certificate's DER bytes that also answer as ``_ssl.Certificate`` (Python 3.10+)."""

    def public_bytes(self, format: int = ssl._ssl.ENCODING_PEM) -> str | bytes:  # type: ignore[attr-defined]
        if format == ssl._ssl.ENCODING_DER:  # type: ignore[attr-defined]
            return bytes(self)
        if format == ssl._ssl.ENCODING_PEM:  # type: ignore[attr-defined]
            return ssl.DER_cert_to_PEM_cert(bytes(self))
        raise ValueError("Unsupported format")

    def get_info(self) -> dict[str, Any]:
        return certificate_dict(x509.load_der_x509_certificate(bytes(self)))

    def __repr__(self) -> str:
        """The subject, as _ssl.c's ``<_ssl.Certificate 'CN=…'>`` (RFC 4514, most specific first),
        in a Python string literal: a peer's control characters come out escaped."""
        try:
            subject = x509.load_der_x509_certificate(bytes(self)).subject.rfc4514_string()
        except ValueError:
            return f"<{type(self).__name__} of {len(self)} bytes that do not parse>"
        return f"<{type(self).__name__} {subject!r}>"


def encoded_hostname(name: str | bytes | None) -> str | None:
    """The host name as the stdlib's _encode_hostname gives it to OpenSSL: a str through the IDNA
    codec (an A-label for a Unicode name; UnicodeError for an empty or over-long label, as
    ".example.org"), bytes (anyio, httpx's AsyncClient, passes the name encoded) as ASCII; then
    refused with a NUL in it, as _ssl.c's "es" argument conversion does."""
    if name is None:
        return None
    text = bytes(name).decode("ascii") if isinstance(name, bytes | bytearray) else name.encode("idna").decode("ascii")
    if "\x00" in text:
        raise TypeError(f"argument must be encoded string without null bytes, not {type(name).__name__}")
    return text


def _ders(certificates: Iterable[x509.Certificate]) -> list[bytes]:
    return [DERCertificate(c.public_bytes(serialization.Encoding.DER)) for c in certificates]


def _no_chain(_server_name: str | None) -> None:
    """The server_name_callback of a server context without a chain: the handshake is refused,
    as OpenSSL's server without a certificate refuses it ("no shared cipher")."""
    raise AlertError(
        AlertDescription.handshake_failure,
        "the server has no certificate to present: load_cert_chain() was not called on its SSLContext",
    )


def _check_side(protocol: int, server_side: bool) -> None:
    """A context made for one side refuses the other, as _ssl.c's newPySSLSocket (a server's context
    as a client's would verify no certificate)."""
    if server_side and protocol == ssl.PROTOCOL_TLS_CLIENT:
        exc = ssl.SSLError(0, "Cannot create a server socket with a PROTOCOL_TLS_CLIENT context")
    elif not server_side and protocol == ssl.PROTOCOL_TLS_SERVER:
        exc = ssl.SSLError(0, "Cannot create a client socket with a PROTOCOL_TLS_SERVER context")
    else:
        return
    vars(exc).update(reason=None, library=None)  # (as _ssl.c's: no OpenSSL error behind it)
    raise exc


def _tee(observers: tuple[Any, ...]) -> Any:
    """One observer for several, None for none (a connection with no observer builds no events)."""
    present = [o for o in observers if o is not None]
    if len(present) <= 1:
        return present[0] if present else None
    from ..trace import Tee  # only when asked for: import glasstls loads no renderer

    return Tee(*present)
