"""glasstls, client and server in memory, for bench.py; untraced, and with a trace attached.

The untraced operations build their connections without an observer, as any
application that asks for no trace does, while the renderers are imported
(this module imports :mod:`glasstls.trace.text`): a connection without an
observer builds no trace event, so the renderers' existence must cost it
nothing. The traced operations attach a fresh ``TextTrace`` to each side of
each handshake (an Explainer keeps per-connection state, so one per side and
connection), writing to a stream that discards the text: what is timed is
building the events and rendering every line, not storing the output.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from common import HOST, TLS12_SUITE, TLS13_SUITE, WRITE, NotNegotiated, Pki, expect

from glasstls import (
    ApplicationData,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    NamedGroup,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.trace.text import TextTrace
from glasstls.x509.store import TrustStore

# The TextTrace options of each traced metric (bench.py's TRACE_METRICS).
TRACES: dict[str, dict[str, bool]] = {
    "handshakes_text": {},  # one line per record and message, as `glasstls client --trace`
    "handshakes_explain": {"full": True, "explain": True},  # `--trace full --explain`: every field, explained
}


class _Discard:
    """A text stream that throws away what it is given."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Glasstls:
    name = "glasstls"

    def __init__(self, pki: Pki, suite: str = TLS13_SUITE) -> None:
        self.suite = suite  # the TLS 1.3 suite of every TLS 1.3 metric (bench.py's ChaCha20 worker changes it)
        suites = (CipherSuite[suite],)
        trust = TrustStore.from_pem(pki.ca.root_pem())  # verification on, anchors built once
        self.client_config = ClientConfig(trust_store=trust, cipher_suites=suites, groups=(NamedGroup.x25519,))
        self.server_config = ServerConfig(
            certificates=(CertifiedKey(pki.server.chain, pki.server.private_key),),
            cipher_suites=suites,
            groups=(NamedGroup.x25519,),
            tls13_tickets=0,  # as ssl's num_tickets = 0: a full handshake issues no ticket
        )
        # TLS 1.3 resumption: two tickets per handshake, as OpenSSL's default num_tickets.
        self.resume_config13 = ServerConfig(
            certificates=(CertifiedKey(pki.server.chain, pki.server.private_key),),
            cipher_suites=suites,
            groups=(NamedGroup.x25519,),
            tls13_tickets=2,
        )
        tls12 = {
            "tls_min": ProtocolVersion.TLSv1_2,
            "tls_max": ProtocolVersion.TLSv1_2,
            "cipher_suites": (CipherSuite[TLS12_SUITE],),
            "groups": (NamedGroup.x25519,),
            "session_tickets": False,  # session IDs only, as for the other two stacks
        }
        self.client_config12 = ClientConfig(trust_store=trust, **tls12)
        rsa = (CertifiedKey(pki.rsa_server.chain, pki.rsa_server.private_key),)
        # One server configuration (and so one session cache) per TLS 1.2 metric.
        self.server_config12 = ServerConfig(certificates=rsa, **tls12)
        self.resume_config12 = ServerConfig(certificates=rsa, **tls12)

    @staticmethod
    def _pair(client: ClientConnection, server: ServerConnection) -> tuple[ClientConnection, ServerConnection]:
        server.receive_bytes(client.data_to_send())  # ClientHello
        client.receive_bytes(server.data_to_send())  # 1.3: ServerHello … Finished; 1.2: … ServerHelloDone
        server.receive_bytes(client.data_to_send())  # 1.3: (CCS) Finished; 1.2: ClientKeyExchange … Finished
        if not client.handshake_complete:  # a full TLS 1.2 handshake: the server's CCS, Finished
            client.receive_bytes(server.data_to_send())
        for side in (client, server):
            if not side.handshake_complete:
                raise RuntimeError(f"glasstls {side.side} did not complete the handshake: {side.error}")
        return client, server

    @staticmethod
    def _close(*sides: ClientConnection | ServerConnection) -> None:
        """close_notify from each side, as every stack sends after a resumption (see the module doc)."""
        for side in sides:
            side.close()
            side.data_to_send()

    def pair(self) -> tuple[ClientConnection, ServerConnection]:
        return self._pair(ClientConnection(self.client_config, server_name=HOST), ServerConnection(self.server_config))

    def pair12(self, server_config: ServerConfig, session: Any = None) -> tuple[ClientConnection, ServerConnection]:
        client = ClientConnection(self.client_config12, server_name=HOST, session=session)
        return self._pair(client, ServerConnection(server_config))

    def handshake(self) -> int:
        self.pair()
        return 1

    def traced_pair(self, stream: Any, **options: bool) -> tuple[ClientConnection, ServerConnection]:
        """A TLS 1.3 handshake as :meth:`pair`, with a fresh ``TextTrace(stream, **options)`` on each side."""
        client = ClientConnection(
            self.client_config, server_name=HOST, observer=TextTrace(stream, color=False, **options)
        )
        server = ServerConnection(self.server_config, observer=TextTrace(stream, color=False, **options))
        return self._pair(client, server)

    def traced(self, metric: str) -> tuple[str, Callable[[], int]]:
        """Check that a traced handshake negotiates as an untraced one and renders both sides; then time it."""
        options = TRACES[metric]
        text = io.StringIO()
        client, _ = self.traced_pair(text, **options)
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite, p.group) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519"), str(p))
        rendered = text.getvalue()
        for line in ("client > ClientHello", "server < ClientHello", "client < Finished", "server < Finished"):
            expect(line in rendered, f"the trace has no {line!r} line")
        if options.get("explain"):
            expect("| " in rendered, "the trace has no explanation")
        sink = _Discard()

        def handshake() -> int:
            self.traced_pair(sink, **options)
            return 1

        shown = ", ".join(name for name, on in options.items() if on) or "one line per record and message"
        kb = len(rendered.encode()) / 1000
        return f"TextTrace ({shown}): {rendered.count(chr(10))} lines, {kb:.1f} kB per handshake, discarded", handshake

    def negotiated(self) -> str:
        client, _ = self.pair()
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite, p.group) == ("TLSv1.3", self.suite, "x25519"), str(p))
        return f"{p.version}, {p.cipher_suite}, {p.group}, {p.signature_scheme}, chain verified"

    def bulk(self, direction: str) -> tuple[str, Callable[[], int]]:
        """16 KiB writes on one TLS 1.3 connection, client to server ("c2s") or server to client ("s2c")."""
        client, server = self.pair()
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite) == ("TLSv1.3", self.suite), str(p))
        sender, receiver = (client, server) if direction == "c2s" else (server, client)
        data = bytes(WRITE)

        def write() -> int:
            sender.send(data)
            got = 0
            for event in receiver.receive_bytes(sender.data_to_send()):
                if isinstance(event, ApplicationData):
                    got += len(event.data)
            return got

        expect(write() == WRITE, "a 16 KiB write did not arrive whole")
        return f"{p.version}, {p.cipher_suite}, {direction}", write

    def idle_pair(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """An established TLS 1.3 connection after one 64-byte echo: (the client's objects, the server's)."""
        client, server = self.pair()
        client.send(bytes(64))
        events = server.receive_bytes(client.data_to_send())
        server.send(bytes(64))
        events += client.receive_bytes(server.data_to_send())
        expect(sum(len(e.data) for e in events if isinstance(e, ApplicationData)) == 128, "the echo did not arrive")
        return (client,), (server,)

    def handshake12(self) -> tuple[str, Callable[[], int]]:
        client, _ = self.pair12(self.server_config12)
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite, p.group) == ("TLSv1.2", TLS12_SUITE, "x25519"), str(p))
        expect(not p.resumed and bool(p.extended_master_secret), str(p))

        def handshake() -> int:
            self.pair12(self.server_config12)
            return 1

        return f"{p.version}, {p.cipher_suite}, {p.group}, {p.signature_scheme}, EMS, chain verified", handshake

    def pair13(self, session: Any = None) -> tuple[ClientConnection, ServerConnection]:
        """A TLS 1.3 handshake (resuming ``session`` if given) whose client has read the server's tickets."""
        client = ClientConnection(self.client_config, server_name=HOST, session=session)
        client, server = self._pair(client, ServerConnection(self.resume_config13))
        client.receive_bytes(server.data_to_send())  # the NewSessionTickets (RFC 8446, Section 4.6.1)
        return client, server

    def resumption13(self) -> tuple[str, Callable[[], int]]:
        first, server = self.pair13()
        self._close(first, server)
        session = first.session
        expect(session is not None and session.version == 0x0304 and session.ticket is not None, "no TLS 1.3 ticket")
        client, server = self.pair13(session)
        self._close(client, server)
        p = client.parameters
        assert p is not None
        expect((p.version, p.group, p.resumed) == ("TLSv1.3", "x25519", True), str(p))

        def resume() -> int:
            client, server = self.pair13(session)
            if not client.parameters.resumed:  # type: ignore[union-attr]
                raise NotNegotiated("glasstls fell back to a full handshake")
            self._close(client, server)
            return 1

        return f"{p.version}, {p.cipher_suite}, psk_dhe_ke over {p.group}, resumed by a ticket", resume

    def resumption12(self) -> tuple[str, Callable[[], int]]:
        first, server = self.pair12(self.resume_config12)
        self._close(first, server)
        session = first.session
        expect(session is not None and bool(session.session_id) and session.ticket is None, "no session-ID session")
        client, server = self.pair12(self.resume_config12, session)
        self._close(client, server)
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite, p.resumed) == ("TLSv1.2", TLS12_SUITE, True), str(p))

        def resume() -> int:
            client, server = self.pair12(self.resume_config12, session)
            if not client.parameters.resumed:  # type: ignore[union-attr]
                raise NotNegotiated("glasstls fell back to a full handshake")
            self._close(client, server)
            return 1

        return f"{p.version}, {p.cipher_suite}, resumed by a {len(session.session_id)}-byte session ID", resume
