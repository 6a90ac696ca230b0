"""TLS 1.3 resumption (RFC 8446, Sections 2.2, 4.2.11 and 4.6.1) with GnuTLS, Python's ``ssl``,
curl and Node.js 24, in every direction where the peer can be a client and a server.

Each case is two real TLS 1.3 connections on 127.0.0.1 between one peer and glasstls: a
full handshake whose NewSessionTickets the client keeps, then a second connection that
offers the ticket. That the second one really resumed is asserted from both sides:

* glasstls: ``parameters.resumed`` and ``psk == "resumption"``, no Certificate (nor
  CompressedCertificate) in its MessageTrace events of the second handshake, and, as a
  server, its PSK check ``PSK accepted: resumption, binder verified`` (as a client, the
  server chain remembered from the first connection);
* the peer, in its own words:

  - ``gnutls-cli -r --waitresumption`` (it waits for the ticket that TLS 1.3 sends after
    the handshake, then reconnects) and ``gnutls-serv --echo`` both print
    ``*** This is a resumed session``;
  - Python ``ssl``: ``SSLSocket.session_reused``, client (``wrap_socket(session=...)``
    with the session of the first connection, taken after reading its answer: the
    tickets arrive before it) and server (one context, so one set of ticket keys);
  - curl (7.88 with OpenSSL 3.0 here) given two URLs of ``glasstls server --www``: its
    ``-v`` prints ``SSL re-using session ID`` (``SSL reusing session`` in later releases)
    before the second ClientHello, and that handshake has no ``Certificate (11)`` nor
    ``CERT verify (15)``; the page glasstls served says ``Resumed: yes`` and the server's
    log line ends in ``resumed``;
  - Node.js 24: ``socket.isSessionReused()``, as a client (``tls.connect({session})`` with
    the last ``'session'`` event of the first connection) and as a server (one
    ``tls.createServer``, so one set of ticket keys).

A peer that is not installed makes its tests skip, saying which.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from interop_peers import (
    CURL,
    GNUTLS_CLI,
    GNUTLS_SERV,
    WAIT,
    GlasstlsCLIServer,
    GnuTLSServer,
    PeerProcess,
    read_line,
    reverse_line,
)
from test_interop_node import NODE
from test_resumption_openssl import SequentialServer

import glasstls
from glasstls import ClientConfig, NegotiatedParameters, ServerConfig, SessionStore
from glasstls.observe import EventList, MessageTrace, VerificationTrace
from glasstls.wire.handshake import Certificate, CompressedCertificate, NewSessionTicket

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

needs_gnutls = pytest.mark.skipif(
    GNUTLS_CLI is None or GNUTLS_SERV is None or not Path("/proc/net/tcp").exists(),
    reason="gnutls-cli/gnutls-serv not installed (Debian package gnutls-bin; `make peers` installs it), "
    "or no /proc to find gnutls-serv's port",
)
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed (make peers installs it)")
needs_node = pytest.mark.skipif(
    not NODE.exists(), reason=f"Node.js 24 is not installed at {NODE} (make peers installs it)"
)

SUITE = "TLS_AES_128_GCM_SHA256"
ACCEPTED = (True, "PSK accepted: resumption, binder verified")
GNUTLS_TLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
GNUTLS_RESUMED = "*** This is a resumed session"


# -- what glasstls saw ------------------------------------------------------------------------


def certificates(events: EventList, direction: str) -> int:
    """How many Certificate messages (compressed or not, RFC 8879) glasstls sent ("out") or received ("in")."""
    return sum(
        1
        for e in events.events
        if isinstance(e, MessageTrace)
        and e.direction == direction
        and isinstance(e.message, Certificate | CompressedCertificate)
    )


def tickets(events: EventList, direction: str) -> int:
    return sum(
        1
        for e in events.events
        if isinstance(e, MessageTrace) and e.direction == direction and isinstance(e.message, NewSessionTicket)
    )


def psk_checks(events: EventList) -> list[tuple[bool, str]]:
    return [(e.ok, e.detail) for e in events.events if isinstance(e, VerificationTrace) and e.subject == "PSK"]


ServerResult = tuple[NegotiatedParameters, bytes, EventList]


def glasstls_echo(config: ServerConfig) -> Callable[[socket.socket], ServerResult]:
    """A :class:`SequentialServer` handler: handshake, answer one line reversed (none if the client
    closes first), wait for the client's close_notify, close. Returns (parameters, line, events)."""

    def handle(sock: socket.socket) -> ServerResult:
        events = EventList()
        tls = glasstls.accept(sock, config, observer=events)
        try:
            line = read_line(tls.recv)
            if line:
                tls.sendall(reverse_line(line))
                assert tls.recv() == b"", "the client sent more than one line"
        finally:
            tls.close()
        assert tls.parameters is not None
        return tls.parameters, line, events

    return handle


def check_glasstls_server(results: list[ServerResult]) -> None:
    """glasstls's view as the server: a full handshake with tickets, then a resumption of one of them."""
    assert len(results) == 2, results
    (first, _, events1), (second, _, events2) = results
    assert (first.version, first.resumed, first.psk) == ("TLSv1.3", False, None)
    assert first.signature_scheme is not None and certificates(events1, "out") == 1
    assert tickets(events1, "out") == 2  # ServerConfig.tls13_tickets' default
    assert psk_checks(events1) == []  # nothing was offered
    assert (second.version, second.resumed, second.psk) == ("TLSv1.3", True, "resumption")
    assert second.signature_scheme is None  # no CertificateVerify
    assert certificates(events2, "out") == 0, [
        type(e.message).__name__ for e in events2.events if hasattr(e, "message")
    ]
    assert psk_checks(events2) == [ACCEPTED]
    assert second.cipher_suite == first.cipher_suite  # the ticket's suite (its hash at least, Section 4.2.11)


def check_glasstls_client(first: NegotiatedParameters, second: NegotiatedParameters, events2: EventList) -> None:
    """glasstls's view as the client: the second connection resumed, without a Certificate."""
    assert (first.version, first.resumed, first.psk) == ("TLSv1.3", False, None)
    assert first.peer_certificate_subject == "CN=localhost"
    assert (second.version, second.resumed, second.psk) == ("TLSv1.3", True, "resumption")
    assert second.signature_scheme is None
    assert second.peer_certificate_subject == "CN=localhost"  # remembered from the first handshake
    assert certificates(events2, "in") == 0, [type(e.message).__name__ for e in events2.events if hasattr(e, "message")]


def glasstls_client_twice(
    port: int,
    config: ClientConfig,
    said: Callable[[], str],
    *,
    store: SessionStore | None = None,
    tls13_tickets: bool = True,
) -> tuple[list[NegotiatedParameters], list[EventList], list[bytes]]:
    """Two glasstls connections to ``port``, each sending a line and reading the answer (the tickets come
    before it); the second offers the first's newest ticket: through ``store`` (``session_store=``) when
    given, else ``session=conn.session``. ``said()`` is the peer's output, for failures. With
    ``tls13_tickets`` off (a TLS 1.2 server) the first connection need not have received a TLS 1.3 ticket."""
    params, logs, answers = [], [], []
    session = None
    for i in range(2):
        events = EventList()
        kwargs: dict[str, Any] = {"session_store": store} if store is not None else {"session": session}
        try:
            with glasstls.connect(
                "127.0.0.1", port, config, server_name="localhost", timeout=WAIT, observer=events, **kwargs
            ) as tls:
                tls.sendall(f"glasstls connection {i}\n".encode())
                answers.append(read_line(tls.recv))
                assert tls.parameters is not None
                params.append(tls.parameters)
                session = tls.conn.session
        except Exception as exc:
            raise AssertionError(f"glasstls client, connection {i}, failed: {exc!r}; the peer said:\n{said()}") from exc
        logs.append(events)
        if i == 0:
            assert session is not None, "no session came of the first connection"
            assert tickets(events, "in") >= 1 or not tls13_tickets
    return params, logs, answers


def client_config(pki) -> ClientConfig:
    return ClientConfig(trust_store=pki.trust_store())


def server_config(pki) -> ServerConfig:
    return ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))


# -- GnuTLS ------------------------------------------------------------------------------------------


@needs_gnutls
def test_gnutls_cli_resumes_with_glasstls_server(pki) -> None:
    """``gnutls-cli -r --waitresumption``: a full handshake, wait for a ticket, disconnect, connect again
    offering it; the line on stdin is sent over the second (resumed) connection."""
    line = "gnutls-cli resumed\n"
    with SequentialServer(2, glasstls_echo(server_config(pki))) as server:
        command = [
            GNUTLS_CLI, "-r", "--waitresumption", "--priority", GNUTLS_TLS13,
            "--x509cafile", str(pki.root_file), "-p", str(server.port), "localhost",
        ]  # fmt: skip
        with PeerProcess(command, name="gnutls-cli") as client:
            client.write(line)  # read once the second connection is up
            try:
                client.wait_for(re.escape(reverse_line(line.encode()).decode().rstrip("\n")))  # glasstls's answer
                client.close_stdin()  # close_notify: glasstls answers with its own, and gnutls-cli leaves
                output = client.wait_exit()
            except Exception as exc:
                raise AssertionError(f"gnutls-cli did not finish:\n{client.output}") from exc
            returncode = client.returncode
        try:
            results = server.results()
        except Exception as exc:
            raise AssertionError(f"glasstls server failed: {exc!r}; gnutls-cli said:\n{output}") from exc

    # GnuTLS's view: the second connection (after "Connecting again") was resumed, the first was not
    assert returncode == 0, output
    first, again, second = output.partition("- Connecting again")
    assert again, output
    assert GNUTLS_RESUMED not in first and "- Status: The certificate is trusted." in first, output
    assert GNUTLS_RESUMED in second and "- Resume Handshake was completed" in second, output
    assert reverse_line(line.encode()).decode() in second + "\n", output  # glasstls's answer
    # glasstls's view
    check_glasstls_server(results)
    assert [received for _, received, _ in results] == [b"", line.encode()]


@needs_gnutls
def test_glasstls_client_resumes_with_gnutls_serv(pki) -> None:
    """``gnutls-serv --echo`` (one process, so one ticket key) and two glasstls connections, the second
    with ``session=`` the first's ``conn.session``."""
    with GnuTLSServer(pki.files["ecdsa-p256"], GNUTLS_TLS13) as server:
        params, logs, answers = glasstls_client_twice(server.port, client_config(pki), lambda: server.output)
        server.wait_for(r"^received cmd: glasstls connection 1")
        server.wait_for(r"^\*\*\* Processing .* command: glasstls connection 1")
        output = server.output

    assert answers == [b"glasstls connection 0\n", b"glasstls connection 1\n"]  # echoed
    check_glasstls_client(params[0], params[1], logs[1])
    # GnuTLS's view: one summary per accepted connection; only the second one is resumed
    connections = re.split(r"^\* Accepted connection from ", output, flags=re.MULTILINE)[1:]
    assert len(connections) == 2, output
    assert GNUTLS_RESUMED not in connections[0] and "- Server Signature:" in connections[0], output
    assert GNUTLS_RESUMED in connections[1] and "- Server Signature:" not in connections[1], output
    assert "- Version: TLS1.3" in connections[1], output


# -- Python's ssl -------------------------------------------------------------------------------------


def _tls13_context(purpose: int) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    return context


def test_python_ssl_client_resumes_with_glasstls_server(pki) -> None:
    context = _tls13_context(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    context.load_verify_locations(cadata=pki.root_pem.decode())
    seen = []  # (session_reused, the session offered, the session after reading, version)
    with SequentialServer(2, glasstls_echo(server_config(pki))) as server:
        session = None
        for i in range(2):
            line = f"python connection {i}\n".encode()
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw,
                context.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
            ):
                tls.sendall(line)
                assert read_line(tls.recv) == reverse_line(line)  # the tickets came before the answer
                seen.append((tls.session_reused, session, tls.session, tls.version()))
                session = tls.session
                tls.unwrap()  # close_notify, and glasstls's
        results = server.results()

    # Python's view
    (reused1, _, session1, version1), (reused2, offered, _, version2) = seen
    assert (version1, version2) == ("TLSv1.3", "TLSv1.3")
    assert session1 is not None and session1.has_ticket  # a TLS 1.3 ticket from glasstls
    assert offered == session1  # the session offered the second time (SSLSession compares by id)
    assert (reused1, reused2) == (False, True)
    # glasstls's view
    check_glasstls_server(results)


def test_glasstls_client_resumes_with_python_ssl_server(pki) -> None:
    """One server context (so one set of ticket keys, OpenSSL's default two tickets) for both connections;
    the glasstls client keeps its tickets in a SessionStore (``connect(session_store=...)``)."""
    files = pki.files["ecdsa-p256"]
    context = _tls13_context(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.full_chain, files.key)

    def handle(sock: socket.socket) -> tuple[bool, str | None, bytes, bytes]:
        with context.wrap_socket(sock, server_side=True) as tls:
            line = read_line(tls.recv)
            tls.sendall(reverse_line(line))
            closing = tls.recv(1024)  # b"": glasstls's close_notify
            return tls.session_reused, tls.version(), line, closing

    store = SessionStore()
    with SequentialServer(2, handle) as server:
        params, logs, answers = glasstls_client_twice(server.port, client_config(pki), lambda: "", store=store)
        seen = server.results()

    # Python's view
    assert [s[0] for s in seen] == [False, True]  # session_reused, on the server's side
    assert [s[1] for s in seen] == ["TLSv1.3", "TLSv1.3"]
    assert [s[2:] for s in seen] == [(b"glasstls connection 0\n", b""), (b"glasstls connection 1\n", b"")]
    # glasstls's view
    assert answers == [reverse_line(b"glasstls connection 0\n"), reverse_line(b"glasstls connection 1\n")]
    assert tickets(logs[0], "in") == 2  # OpenSSL's default num_tickets
    check_glasstls_client(params[0], params[1], logs[1])


# -- curl ---------------------------------------------------------------------------------------------


@needs_curl
def test_curl_two_urls_resume_with_glasstls_www(pki) -> None:
    """``curl -v --tlsv1.3 https://localhost:PORT/first https://localhost:PORT/second``: glasstls --www
    answers one request per connection, so curl connects twice and resumes with the ticket it was given."""
    files = pki.files["ecdsa-p256"]
    with GlasstlsCLIServer(
        "--www", "--cert", str(files.full_chain), "--key", str(files.key), "--max-connections", "2"
    ) as server:
        url = f"https://localhost:{server.port}"
        curl = subprocess.run(
            [
                CURL, "-sS", "-v", "--max-time", str(WAIT), "--tlsv1.3", "--cacert", str(pki.root_file),
                "--resolve", f"localhost:{server.port}:127.0.0.1", f"{url}/first", f"{url}/second",
            ],
            capture_output=True, text=True, errors="replace", timeout=WAIT + 5, check=False,
        )  # fmt: skip
        said = f"curl said:\n{curl.stderr}\nglasstls server said:\n{server.output}"
        assert curl.returncode == 0, said
        output = server.wait_exit()  # --max-connections 2: it leaves after the second one
    said = f"curl said:\n{curl.stderr}\nglasstls server said:\n{output}"
    log_lines = [line for line in output.splitlines() if re.match(r"glasstls: 127\.0\.0\.1:\d+ ", line)]

    # curl's view: the second connection (#1) set the saved session and got no certificate
    first, connected, second = curl.stderr.partition("(#1)")
    assert connected, said
    assert "TLS handshake, Certificate (11)" in first and "TLS handshake, CERT verify (15)" in first, said
    assert not re.search(r"SSL re-?using session", first), said
    assert re.search(r"SSL re-?using session", second), said
    assert "TLS handshake, Certificate (11)" not in second and "CERT verify" not in second, said
    assert curl.stderr.count(f"SSL connection using TLSv1.3 / {SUITE}") == 2, said
    # the pages glasstls served, one per connection
    assert re.findall(r"^Resumed: +(\w+)$", curl.stdout, re.MULTILINE) == ["no", "yes"], curl.stdout
    assert re.findall(r"^Signature scheme: +(\S+)$", curl.stdout, re.MULTILINE) == ["ecdsa_secp256r1_sha256", "None"]
    # the server's log: one line per connection, the second one resumed
    assert len(log_lines) == 2, output
    assert not log_lines[0].endswith(" resumed"), log_lines
    assert re.search(rf" TLSv1\.3 {SUITE} x25519 none alpn=none sni=localhost resumed$", log_lines[1]), log_lines


# -- Node.js 24 -------------------------------------------------------------------------------------

# One Node script, both roles, configured by one JSON argument; it writes one report per connection.
NODE_PEER = r"""
'use strict';
const tls = require('tls');
const fs = require('fs');
const cfg = JSON.parse(process.argv[2]);
setTimeout(() => { console.error('node peer: timed out'); process.exit(3); }, cfg.timeout * 1000).unref();

const version = cfg.version || 'TLSv1.3';
const options = { minVersion: version, maxVersion: version };
// A client certificate to send (client), or the CA that must have issued the client's (server).
const clientCert = cfg.client_cert
  ? { key: fs.readFileSync(cfg.client_key), cert: fs.readFileSync(cfg.client_cert) } : {};
const clientCa = cfg.client_ca
  ? { requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(cfg.client_ca) } : {};
const reports = [];
const save = () => fs.writeFileSync(cfg.out, JSON.stringify(reports));
const failed = (what) => (error) => {
  console.error(`node ${what}: ${error.code || ''} ${error.message}`);
  process.exitCode = 1;
};

// Calls done(line) with the first line received (newline included).
function readLine(socket, done) {
  let buffer = Buffer.alloc(0);
  const onData = (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf(10);
    if (end >= 0) { socket.off('data', onData); done(buffer.subarray(0, end + 1).toString()); }
  };
  socket.on('data', onData);
}
const reversed = (line) => line.slice(0, -1).split('').reverse().join('') + '\n';

if (cfg.role === 'client') {
  // Connection i offers the last session (ticket) of connection i - 1, once that one has closed.
  const connect = (i, session) => {
    const report = { offered: Boolean(session), sessions: 0 };
    let latest;
    const socket = tls.connect(
      {
        ...options, ...clientCert, host: '127.0.0.1', port: cfg.port, servername: 'localhost',
        ca: fs.readFileSync(cfg.ca), session,
      },
      () => {
        report.protocol = socket.getProtocol();
        report.authorized = socket.authorized;
        report.reused = socket.isSessionReused();
        socket.write(`node connection ${i}\n`);
        readLine(socket, (answer) => { report.answer = answer; socket.end(); });  // close_notify
      });
    socket.on('session', (s) => { latest = s; report.sessions += 1; });  // one per NewSessionTicket
    socket.on('error', failed(`client connection ${i}`));
    socket.on('close', () => {
      reports.push(report);
      save();
      if (i + 1 < cfg.connections) connect(i + 1, latest);
    });
  };
  connect(0, undefined);
} else {
  let accepted = 0;
  const server = tls.createServer(
    { ...options, ...clientCa, key: fs.readFileSync(cfg.key), cert: fs.readFileSync(cfg.cert) },
    (socket) => {
      accepted += 1;
      if (accepted >= cfg.connections) server.close();
      const peer = socket.getPeerCertificate();
      const report = {
        protocol: socket.getProtocol(), reused: socket.isSessionReused(), servername: socket.servername,
        client: peer && peer.subject ? peer.subject.CN : null, authorized: socket.authorized,
      };
      readLine(socket, (line) => { report.received = line; socket.write(reversed(line)); });
      socket.on('end', () => { report.peer_closed = true; });  // the client's close_notify
      socket.on('close', () => { reports.push(report); save(); });
      socket.on('error', failed('server connection'));
    });
  server.on('tlsClientError', (error) => { failed('server handshake')(error); server.close(); });
  server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
}
"""


@pytest.fixture(scope="module")
def node_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Node script on disk, once ``NODE`` is checked to be Node 24 or later."""
    if not NODE.exists():
        pytest.skip(f"Node.js 24 is not installed at {NODE} (make peers installs it)")
    version = subprocess.run(
        [str(NODE), "-p", "process.versions.node"], capture_output=True, text=True, timeout=WAIT, check=False
    )
    major = re.match(r"\d+", version.stdout.strip())
    if version.returncode != 0 or major is None or int(major.group()) < 24:
        pytest.skip(f"{NODE} is Node {version.stdout.strip() or '?'}, not Node 24+; rm -r .peers && make peers")
    script = tmp_path_factory.mktemp("node-resumption") / "peer.js"
    script.write_text(NODE_PEER)
    return script


def _node_settings(out: Path, **settings: Any) -> str:
    return json.dumps({"out": str(out), "timeout": WAIT, "connections": 2, **settings})


def node_client_of(server: SequentialServer, script: Path, out: Path, **settings: Any) -> tuple[list[Any], list[Any]]:
    """The Node client (NODE_PEER) run to ``server``'s port with ``settings``: its reports, and what the
    glasstls server's handlers returned; a failure of either is raised with what the other said."""
    node = subprocess.run(
        [str(NODE), str(script), _node_settings(out, role="client", port=server.port, **settings)],
        capture_output=True, text=True, errors="replace", timeout=WAIT + 5, check=False,
    )  # fmt: skip
    said = f"node client ({node.returncode}) said:\n{node.stdout}{node.stderr}"
    try:
        results = server.results()
    except Exception as exc:
        raise AssertionError(f"glasstls server failed: {exc!r}; {said}") from exc
    assert node.returncode == 0 and out.exists(), said
    return json.loads(out.read_text()), results


@needs_node
def test_node_client_resumes_with_glasstls_server(pki, node_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "node-client.json"
    with SequentialServer(2, glasstls_echo(server_config(pki))) as server:
        reports, results = node_client_of(server, node_script, out, ca=str(pki.root_file))

    # Node's view
    assert len(reports) == 2, reports
    assert [r["protocol"] for r in reports] == ["TLSv1.3", "TLSv1.3"]
    assert [r["authorized"] for r in reports] == [True, True]
    assert reports[0]["sessions"] == 2, reports  # a 'session' event per glasstls ticket
    assert [r["offered"] for r in reports] == [False, True]
    assert [r["reused"] for r in reports] == [False, True], reports  # isSessionReused()
    assert [r["answer"] for r in reports] == [reverse_line(f"node connection {i}\n".encode()).decode() for i in (0, 1)]
    # glasstls's view
    check_glasstls_server(results)
    assert [received for _, received, _ in results] == [b"node connection 0\n", b"node connection 1\n"]


class NodeServer(PeerProcess):
    """The Node server on 127.0.0.1:0 (it prints ``LISTENING PORT``) for two connections, killed on exit."""

    name = "node server"

    def __init__(self, script: Path, out: Path, files: Any) -> None:
        settings = _node_settings(out, role="server", key=str(files.key), cert=str(files.full_chain))
        super().__init__([str(NODE), str(script), settings])

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^LISTENING \d+$").split()[1])


@needs_node
def test_glasstls_client_resumes_with_node_server(pki, node_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "node-server.json"
    with NodeServer(node_script, out, pki.files["ecdsa-p256"]) as server:
        params, logs, answers = glasstls_client_twice(server.port, client_config(pki), lambda: server.output)
        output = server.wait_exit()
        returncode = server.returncode
    assert returncode == 0 and out.exists(), f"node server failed ({returncode}):\n{output}"
    reports = json.loads(out.read_text())

    # Node's view
    assert len(reports) == 2, reports
    assert [r["protocol"] for r in reports] == ["TLSv1.3", "TLSv1.3"]
    assert [r["reused"] for r in reports] == [False, True], reports  # isSessionReused(), on the server's side
    assert [r["servername"] for r in reports] == ["localhost", "localhost"]
    assert [r["received"] for r in reports] == [f"glasstls connection {i}\n" for i in (0, 1)]
    assert [r.get("peer_closed") for r in reports] == [True, True]  # glasstls's close_notify
    # glasstls's view
    assert answers == [reverse_line(f"glasstls connection {i}\n".encode()) for i in (0, 1)]
    assert tickets(logs[0], "in") == 2  # OpenSSL's default
    check_glasstls_client(params[0], params[1], logs[1])
