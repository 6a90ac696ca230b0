"""Python's ssl (OpenSSL) driven through memory BIOs, for bench.py.

Import this only after bench.py has set OPENSSL_CONF (see its module doc): the
TLS 1.3 suite and group are pinned by that file, which OpenSSL reads when
``ssl`` is first imported. ``suite`` only says what that file pinned, for the
checks of what was negotiated: Python 3.11's ssl cannot choose a TLS 1.3 suite.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable

from common import HOST, TLS12_OPENSSL_SUITE, TLS13_SUITE, WRITE, NotNegotiated, Pki, expect, group_name

from glasstls import SignatureScheme

_SERVER_HELLO, _SERVER_KEY_EXCHANGE, _KEY_SHARE, _EMS = 2, 12, 51, 23


def _server_hello_extensions(message: bytes) -> dict[int, bytes]:
    """The extensions of a ServerHello (RFC 8446, Section 4.1.3; RFC 5246, Section 7.4.1.3), from its raw bytes."""
    pos = 4 + 2 + 32  # handshake header, legacy_version, random
    pos += 1 + message[pos]  # legacy_session_id_echo
    pos += 2 + 1 + 2  # cipher_suite, legacy_compression_method, extensions length
    extensions = {}
    while pos + 4 <= len(message):
        kind, length = int.from_bytes(message[pos : pos + 2], "big"), int.from_bytes(message[pos + 2 : pos + 4], "big")
        extensions[kind] = message[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return extensions


def _server_hello_group(message: bytes) -> str | None:
    """The key_share group of a TLS 1.3 ServerHello (RFC 8446, Section 4.2.8)."""
    share = _server_hello_extensions(message).get(_KEY_SHARE)
    return group_name(int.from_bytes(share[:2], "big")) if share else None


def _server_key_exchange(message: bytes) -> tuple[str, str]:
    """(group, signature scheme) of an ECDHE ServerKeyExchange (RFC 8422, Section 5.4), from its raw bytes.

    ServerECDHParams: curve_type(1) = named_curve(3), named_curve(2), point<1..255>;
    then the signature's SignatureAndHashAlgorithm(2) (RFC 5246, Section 4.7).
    """
    body = message[4:]
    if body[0] != 3:
        return f"curve_type {body[0]}", "?"
    group = int.from_bytes(body[1:3], "big")
    pos = 3 + 1 + body[3]
    scheme = SignatureScheme(int.from_bytes(body[pos : pos + 2], "big"))
    return group_name(group), scheme.name


class PythonSsl:
    name = "python ssl"

    def __init__(self, pki: Pki, suite: str = TLS13_SUITE) -> None:
        self.suite = suite  # what OPENSSL_CONF pinned; checked, not chosen
        self.client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for context in (self.client_context, self.server_context):
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
            context.set_ecdh_curve("X25519")  # OpenSSL 3: SSL_CTX_set1_groups with X25519 alone
        self.client_context.load_verify_locations(cafile=pki.root_file)
        self.server_context.load_cert_chain(pki.chain_file, pki.key_file)
        self.server_context.num_tickets = 0
        # TLS 1.3 resumption: its own server context, two tickets per handshake (OpenSSL's default).
        self.resume_context13 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.resume_context13.minimum_version = self.resume_context13.maximum_version = ssl.TLSVersion.TLSv1_3
        self.resume_context13.set_ecdh_curve("X25519")
        self.resume_context13.load_cert_chain(pki.chain_file, pki.key_file)
        self.resume_context13.num_tickets = 2

        # TLS 1.2: one client context; one server context, and so one session cache, per metric.
        self.client_context12 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.server_context12 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.resume_context12 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for context in (self.client_context12, self.server_context12, self.resume_context12):
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(TLS12_OPENSSL_SUITE)
            context.set_ecdh_curve("X25519")
            context.options |= ssl.OP_NO_TICKET  # session IDs, kept in the server context's session cache
        self.client_context12.load_verify_locations(cafile=pki.root_file)
        for context in (self.server_context12, self.resume_context12):
            context.load_cert_chain(pki.rsa_chain_file, pki.rsa_key_file)

    @staticmethod
    def _pair(
        client_context: ssl.SSLContext, server_context: ssl.SSLContext, session: ssl.SSLSession | None = None
    ) -> tuple[ssl.SSLObject, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO]:
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_context.wrap_bio(c_in, c_out, server_hostname=HOST, session=session)
        server = server_context.wrap_bio(s_in, s_out, server_side=True)
        client_done = server_done = False
        for _ in range(10):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except ssl.SSLWantReadError:
                    pass
            if c_out.pending:
                s_in.write(c_out.read())
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except ssl.SSLWantReadError:
                    pass
            if s_out.pending:
                c_in.write(s_out.read())
            if client_done and server_done:
                return client, server, c_in, c_out, s_in, s_out
        raise RuntimeError("ssl handshake did not complete")

    @staticmethod
    def _close(*sides: ssl.SSLObject) -> None:
        """close_notify (SSL_shutdown) from each side; the peer's answer is not waited for.

        Without it, freeing an SSLObject removes its session from the server's cache
        and marks it not resumable on the client (OpenSSL's ``ssl_clear_bad_session``).
        """
        for side in sides:
            with contextlib.suppress(ssl.SSLWantReadError):
                side.unwrap()

    def pair(self) -> tuple[ssl.SSLObject, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO]:
        return self._pair(self.client_context, self.server_context)

    def handshake(self) -> int:
        self.pair()
        return 1

    def _watched(self, handshake: Callable[[], ssl.SSLObject]) -> tuple[ssl.SSLObject, dict[int, bytes]]:
        """Run ``handshake`` with a message callback on the client; returns the client and the messages it read."""
        seen: dict[int, bytes] = {}

        def watch(conn, direction, version, content_type, msg_type, data) -> None:
            if direction == "read" and content_type == ssl._TLSContentType.HANDSHAKE:
                seen.setdefault(msg_type, data)

        callback = getattr(ssl.SSLContext, "_msg_callback", None)
        contexts = (self.client_context, self.client_context12)
        if callback is not None:  # a private debugging hook of CPython's ssl
            for context in contexts:
                context._msg_callback = watch  # type: ignore[attr-defined]
        try:
            client = handshake()
        finally:
            if callback is not None:
                for context in contexts:
                    context._msg_callback = None  # type: ignore[attr-defined]
        return client, seen

    def negotiated(self) -> str:
        client, seen = self._watched(lambda: self.pair()[0])
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        expect((version, suite) == ("TLSv1.3", self.suite), f"{version}, {suite}")
        group = _server_hello_group(seen[_SERVER_HELLO]) if _SERVER_HELLO in seen else "group unknown"
        expect(group in ("x25519", "group unknown"), f"group {group}")
        return f"{version}, {suite}, {group}, chain and host name verified"

    def bulk(self, direction: str) -> tuple[str, Callable[[], int]]:
        """16 KiB writes on one TLS 1.3 connection, client to server ("c2s") or server to client ("s2c")."""
        client, server, c_in, c_out, s_in, s_out = self.pair()
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        expect((version, suite) == ("TLSv1.3", self.suite), f"{version}, {suite}")
        sender, receiver, wire_out, wire_in = (client, server, c_out, s_in) if direction == "c2s" else (
            server, client, s_out, c_in
        )  # fmt: skip
        data = bytes(WRITE)

        def write() -> int:
            sender.write(data)
            wire_in.write(wire_out.read())
            got = 0
            while True:
                try:
                    got += len(receiver.read(WRITE))
                except ssl.SSLWantReadError:
                    return got

        expect(write() == WRITE, "a 16 KiB write did not arrive whole")
        return f"{version}, {suite}, {direction}", write

    def idle_pair(self) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """An established TLS 1.3 connection after one 64-byte echo: (the client's objects, the server's).

        Each side is its SSLObject and its two MemoryBIOs, the sans-I/O equivalent of a glasstls Connection.
        """
        client, server, c_in, c_out, s_in, s_out = self.pair()
        client.write(bytes(64))
        s_in.write(c_out.read())
        got = len(server.read(1024))
        server.write(bytes(64))
        c_in.write(s_out.read())
        got += len(client.read(1024))
        expect(got == 128, "the echo did not arrive")
        return (client, c_in, c_out), (server, s_in, s_out)

    def handshake12(self) -> tuple[str, Callable[[], int]]:
        client, seen = self._watched(lambda: self._pair(self.client_context12, self.server_context12)[0])
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        expect((version, suite, client.session_reused) == ("TLSv1.2", TLS12_OPENSSL_SUITE, False), f"{version} {suite}")
        details = ["group unknown", "signature unknown", "EMS unknown"]
        if _SERVER_KEY_EXCHANGE in seen:
            details[:2] = _server_key_exchange(seen[_SERVER_KEY_EXCHANGE])
            expect(details[0] == "x25519", f"group {details[0]}")
        if _SERVER_HELLO in seen:
            ems = _EMS in _server_hello_extensions(seen[_SERVER_HELLO])
            expect(ems, "no extended master secret")
            details[2] = "EMS"

        def handshake() -> int:
            self._pair(self.client_context12, self.server_context12)
            return 1

        return f"{version}, {suite}, {', '.join(details)}, chain and host name verified", handshake

    def pair13(self, session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        """A TLS 1.3 handshake (resuming ``session`` if given) whose client has read the server's tickets."""
        client, server, c_in, _c_out, _s_in, s_out = self._pair(self.client_context, self.resume_context13, session)
        if s_out.pending:
            c_in.write(s_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            client.read(1)  # processes the NewSessionTickets; no application data comes
        self._close(client, server)
        return client

    def resumption13(self) -> tuple[str, Callable[[], int]]:
        first = self.pair13()
        session = first.session
        expect(session is not None and session.has_ticket, "no TLS 1.3 ticket")
        client = self.pair13(session)
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        expect((version, client.session_reused) == ("TLSv1.3", True), f"{version} reused={client.session_reused}")

        def resume() -> int:
            client = self.pair13(session)
            if not client.session_reused:
                raise NotNegotiated("ssl fell back to a full handshake")
            return 1

        return f"{version}, {suite}, psk_dhe_ke over X25519, resumed by a ticket", resume

    def resumption12(self) -> tuple[str, Callable[[], int]]:
        first, server, *_ = self._pair(self.client_context12, self.resume_context12)
        self._close(first, server)
        session = first.session
        expect(session is not None and bool(session.id) and not session.has_ticket, "no session-ID session")
        client, server, *_ = self._pair(self.client_context12, self.resume_context12, session)
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        self._close(client, server)
        expect((version, suite, client.session_reused) == ("TLSv1.2", TLS12_OPENSSL_SUITE, True), f"{version} {suite}")

        def resume() -> int:
            client, server, *_ = self._pair(self.client_context12, self.resume_context12, session)
            if not client.session_reused:
                raise NotNegotiated("ssl fell back to a full handshake")
            self._close(client, server)
            return 1

        return f"{version}, {suite}, resumed by a {len(session.id)}-byte session ID", resume
