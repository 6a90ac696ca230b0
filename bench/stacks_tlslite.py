"""tlslite-ng driven through in-memory sockets and its async generators, for bench.py.

tlslite-ng is imported when a :class:`Tlslite` is built, so bench.py runs without it.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from common import HOST, TLS12_SUITE, TLS13_CHACHA, TLS13_SUITE, WRITE, NotNegotiated, Pki, expect, group_name


class _Pipe:
    """One direction of an in-memory byte stream."""

    def __init__(self) -> None:
        self.buffer = bytearray()


class _MemorySocket:
    """Just enough of a non-blocking socket for tlslite-ng's record layer."""

    def __init__(self, incoming: _Pipe, outgoing: _Pipe) -> None:
        self.incoming, self.outgoing = incoming, outgoing

    def send(self, data: bytes) -> int:
        self.outgoing.buffer += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.outgoing.buffer += data

    def recv(self, size: int) -> bytes:
        buffer = self.incoming.buffer
        if not buffer:
            raise OSError(errno.EWOULDBLOCK, "would block")  # tlslite-ng yields and is resumed later
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    def close(self) -> None:
        pass


def _run_until_blocked(generator) -> bool:
    """Advance one of tlslite-ng's async generators until it waits for input; True once it has finished."""
    try:
        while True:
            if next(generator) == 0:  # 0: wants to read, 1: wants to write (never: the pipes are unbounded)
                return False
    except StopIteration:
        return True


# tlslite-ng's names of the TLS 1.3 suites the benchmark uses.
_CIPHER_NAMES = {TLS13_SUITE: "aes128gcm", TLS13_CHACHA: "chacha20-poly1305"}


class Tlslite:
    name = "tlslite-ng"

    def __init__(self, pki: Pki, suite: str = TLS13_SUITE) -> None:
        from tlslite.api import HandshakeSettings, SessionCache, X509CertChain, parsePEMKey
        from tlslite.utils import cryptomath

        self._settings_class = HandshakeSettings
        self.chain = X509CertChain()
        self.chain.parsePemList(pki.chain_file.read_text())
        self.key = parsePEMKey(pki.key_file.read_text(), private=True)
        self.rsa_chain = X509CertChain()
        self.rsa_chain.parsePemList(pki.rsa_chain_file.read_text())
        self.rsa_key = parsePEMKey(pki.rsa_key_file.read_text(), private=True)
        # One server session cache per TLS 1.2 metric.
        self.session_cache12, self.resume_cache12 = SessionCache(), SessionCache()
        self.suite = suite
        # TLS 1.3 resumption: one ticket key for the benchmark's life, so every server can open every ticket.
        self.ticket_key = bytearray(bytes(range(32)))
        accelerated = [
            name
            for name, loaded in (("M2Crypto", cryptomath.m2cryptoLoaded), ("pycrypto", cryptomath.pycryptoLoaded))
            if loaded
        ]
        self.backend = "with " + ", ".join(accelerated) if accelerated else "pure Python: no M2Crypto/pycrypto"

    def settings(self):
        settings = self._settings_class()
        settings.minVersion = settings.maxVersion = (3, 4)
        settings.cipherNames = [_CIPHER_NAMES[self.suite]]
        settings.eccCurves = ["x25519"]
        settings.keyShares = ["x25519"]
        settings.ticket_count = 0
        return settings

    def settings13_tickets(self):
        """TLS 1.3 resumption: two tickets per handshake (as the other stacks), psk_dhe_ke only."""
        settings = self.settings()
        settings.ticket_count = 2
        settings.ticketKeys = [self.ticket_key]
        settings.psk_modes = ["psk_dhe_ke"]
        return settings

    def settings12(self):
        settings = self._settings_class()
        settings.minVersion = settings.maxVersion = (3, 3)
        settings.cipherNames = ["aes128gcm"]
        settings.keyExchangeNames = ["ecdhe_rsa"]
        settings.eccCurves = ["x25519"]
        settings.keyShares = ["x25519"]  # unused in TLS 1.2, but must name enabled groups
        settings.ticket_count = 0  # no RFC 5077 ticket: resumption by session ID
        return settings

    def _pair(self, settings, chain, key, session_cache=None, session=None):
        from tlslite.api import TLSConnection

        to_server, to_client = _Pipe(), _Pipe()
        client = TLSConnection(_MemorySocket(to_client, to_server))
        server = TLSConnection(_MemorySocket(to_server, to_client))
        steps = [
            client.handshakeClientCert(serverName=HOST, settings=settings(), session=session, async_=True),
            server.handshakeServerAsync(
                certChain=chain, privateKey=key, settings=settings(), sessionCache=session_cache
            ),
        ]
        done = [False, False]
        for _ in range(10):
            for index, step in enumerate(steps):
                if not done[index]:
                    done[index] = _run_until_blocked(step)
            if all(done):
                return client, server
        raise RuntimeError("tlslite-ng handshake did not complete")

    @staticmethod
    def _close(*sides) -> None:
        """close_notify from each side; with closeSocket (the default) tlslite-ng does not wait for the answer."""
        for side in sides:
            for _ in side.closeAsync():
                pass

    def pair(self):
        return self._pair(self.settings, self.chain, self.key)

    def pair12(self, session_cache, session=None):
        return self._pair(self.settings12, self.rsa_chain, self.rsa_key, session_cache, session)

    def handshake(self) -> int:
        self.pair()
        return 1

    def _describe(self, client) -> tuple[str, str]:
        from tlslite.constants import CipherSuite as TlsliteSuite

        version = {(3, 3): "TLSv1.2", (3, 4): "TLSv1.3"}.get(client.version, str(client.version))
        return version, TlsliteSuite.ietfNames.get(client.session.cipherSuite, client.getCipherName())

    def negotiated(self) -> str:
        client, _ = self.pair()
        version, suite = self._describe(client)
        group = group_name(client.ecdhCurve)
        expect((version, suite, group) == ("TLSv1.3", self.suite, "x25519"), f"{version} {suite}")
        return f"{version}, {suite} ({client.getCipherImplementation()}), {group}, no chain validation ({self.backend})"

    @staticmethod
    def _transfer(sender, receiver, data: bytes) -> int:
        """Write ``data`` on ``sender``, read on ``receiver`` until it would block; the bytes read."""
        for _ in sender.writeAsync(data):
            pass
        got = 0
        while True:
            result = None
            for result in receiver.readAsync(max=WRITE * 4):
                if isinstance(result, int):
                    return got  # would block: everything sent has been read
            if result is None:
                return got
            got += len(result)

    def bulk(self, direction: str) -> tuple[str, Callable[[], int]]:
        """16 KiB writes on one TLS 1.3 connection, client to server ("c2s") or server to client ("s2c")."""
        client, server = self.pair()
        version, suite = self._describe(client)
        expect((version, suite) == ("TLSv1.3", self.suite), f"{version} {suite}")
        sender, receiver = (client, server) if direction == "c2s" else (server, client)
        data = bytes(WRITE)

        def write() -> int:
            return self._transfer(sender, receiver, data)

        implementation = client.getCipherImplementation()
        return f"{version}, {suite} ({implementation}), {direction}", write

    def idle_pair(self) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """An established TLS 1.3 connection after one 64-byte echo: (the client's objects, the server's).

        Each TLSConnection holds its in-memory socket, which holds both pipes (empty by then).
        """
        client, server = self.pair()
        got = self._transfer(client, server, bytes(64)) + self._transfer(server, client, bytes(64))
        expect(got == 128, "the echo did not arrive")
        return (client,), (server,)

    @staticmethod
    def _read_tickets(client) -> None:
        """Let the client read what the server sent after its Finished (the NewSessionTickets), until it would block."""
        for _ in range(8):
            for result in client.readAsync(max=1, min=0):
                if result in (0, 1):
                    return

    def pair13(self, session=None):
        """A TLS 1.3 handshake (resuming ``session`` if given) whose client has read the server's tickets."""
        client, server = self._pair(self.settings13_tickets, self.chain, self.key, None, session)
        self._read_tickets(client)
        return client, server

    def resumption13(self) -> tuple[str, Callable[[], int]]:
        first, server = self.pair13()
        self._close(first, server)
        session = first.session
        expect(session is not None and len(session.tickets) == 2, "no TLS 1.3 ticket")
        client, server = self.pair13(session)
        version, suite = self._describe(client)
        group = group_name(client.ecdhCurve)  # psk_dhe_ke: a key share was exchanged
        self._close(client, server)
        expect((version, suite, group, client.resumed) == ("TLSv1.3", self.suite, "x25519", True), f"{version}")

        def resume() -> int:
            client, server = self.pair13(session)
            if not client.resumed:
                raise NotNegotiated("tlslite-ng fell back to a full handshake")
            self._close(client, server)
            return 1

        return f"{version}, {suite}, psk_dhe_ke over {group}, resumed by a ticket", resume

    def handshake12(self) -> tuple[str, Callable[[], int]]:
        client, _ = self.pair12(self.session_cache12)
        version, suite = self._describe(client)
        group = group_name(client.ecdhCurve)
        expect((version, suite, group, client.resumed) == ("TLSv1.2", TLS12_SUITE, "x25519", False), suite)
        expect(client.extendedMasterSecret, "no extended master secret")

        def handshake() -> int:
            self.pair12(self.session_cache12)
            return 1

        return f"{version}, {suite}, {group}, EMS, no chain validation", handshake

    def resumption12(self) -> tuple[str, Callable[[], int]]:
        first, server = self.pair12(self.resume_cache12)
        self._close(first, server)
        session = first.session
        expect(bool(session.sessionID) and not session.tickets, "no session-ID session")
        client, server = self.pair12(self.resume_cache12, session)
        version, suite = self._describe(client)  # before closing: tlslite-ng resets the version then
        self._close(client, server)
        expect((version, suite, client.resumed) == ("TLSv1.2", TLS12_SUITE, True), f"{version} {suite}")

        def resume() -> int:
            client, server = self.pair12(self.resume_cache12, session)
            if not client.resumed:
                raise NotNegotiated("tlslite-ng fell back to a full handshake")
            self._close(client, server)
            return 1

        return f"{version}, {suite}, resumed by a {len(session.sessionID)}-byte session ID", resume
