"""Interop with Node.js 24 (OpenSSL 3.5 inside), both directions, including the hybrid group X25519MLKEM768.

Node 24 is the peer of issue 10 that speaks X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem)
by default. Debian's nodejs is older (and /usr/bin/node is not used here): ``make peers``
installs the npm package ``node@24``, which brings the release binary, into
``.peers/node_modules/.bin/node``. Without it every test here skips.

Each case is a real handshake on 127.0.0.1 plus a line sent one way and answered
reversed the other way. Node runs :data:`NODE_PEER`, a small script of the ``tls``
module, as a client (``tls.connect``) or as a server (``tls.createServer``, one
connection); the glasstls side runs in this process (:class:`ServerThread`,
``glasstls.connect``). What is read from Node:

* its own report, written as JSON to a file at the end: ``getProtocol()``,
  ``getCipher().standardName``, ``alpnProtocol``, ``servername`` (server),
  ``authorized`` (the client verified the chain against the throwaway root and the
  host name ``localhost``) and, on the client, ``getEphemeralKeyInfo()``:
  ``{type: 'ECDH', name: 'X25519', size: 253}``, or for the hybrid group
  ``{type: 'TLSGroup', name: 'X25519MLKEM768'}``. A Node server has no such call
  (it returns null), so:
* OpenSSL's own decoding of the handshake (``enableTrace``, on stderr): the
  ServerHello Node sent or received, with its key_share group and the length of
  the share (an X25519MLKEM768 server share is an ML-KEM-768 ciphertext and an
  X25519 key, 1088 + 32 bytes), and for TLS 1.2 the ServerKeyExchange's curve.
  OpenSSL 3.5 heads each record ``Sent TLS Record``, where the OpenSSL 3.0 of
  the other tests prints ``Sent Record``; :func:`_openssl30_headings` renames them
  so the shared trace parsers read both.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from interop_peers import (
    SCHEME_FOR_CERT,
    WAIT,
    PeerProcess,
    ServerThread,
    glasstls_line_server,
    hrr_seen,
    read_line,
    reverse_line,
    trace_close_notify_received,
    trace_fatal_alerts,
    trace_server_hellos,
    trace_server_key_exchange,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, NamedGroup, ServerConfig
from glasstls.observe import EventList

NODE = Path(__file__).resolve().parents[2] / ".peers" / "node_modules" / ".bin" / "node"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(not NODE.exists(), reason=f"Node.js 24 is not installed at {NODE} (make peers installs it)"),
]

HYBRID = NamedGroup.X25519MLKEM768
HYBRID_SERVER_SHARE = 1088 + 32  # ML-KEM-768 ciphertext || X25519 public key (draft-ietf-tls-ecdhe-mlkem, Section 4.2)

# The groups a Node 24 client sends key shares for by default (OpenSSL 3.5's defaults).
NODE_DEFAULT_SHARES = {HYBRID.name, "x25519"}
# What getEphemeralKeyInfo() names each group (OpenSSL's names).
NODE_GROUP = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1", HYBRID.name: HYBRID.name}

# (version, suite, group, cert type): each version twice, each key type once at least; the suite and the
# group are pinned on the glasstls side. In TLS 1.2 the client's groups also name the curves it takes for
# ECDSA (RFC 8422, Section 5.1), so a client offering only x25519 gets "no shared cipher" from OpenSSL
# with a P-256 certificate: the TLS 1.2 ECDSA case signs with Ed25519 instead.
CASES = [
    ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519", "ecdsa-p256"),
    ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "secp256r1", "rsa2048"),
    ("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519", "ed25519"),
    ("TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "secp384r1", "rsa2048"),
]
CASE_IDS = [f"{v}-{s.removeprefix('TLS_')}-{g}" for v, s, g, _ in CASES]

# The peer: one Node script, both roles, configured by one JSON argument.
NODE_PEER = r"""
'use strict';
const tls = require('tls');
const fs = require('fs');
const cfg = JSON.parse(process.argv[2]);
setTimeout(() => { console.error('node peer: timed out'); process.exit(3); }, cfg.timeout * 1000).unref();

const options = { minVersion: cfg.version || 'TLSv1.2', maxVersion: cfg.version || 'TLSv1.3', enableTrace: true };
if (cfg.groups) options.ecdhCurve = cfg.groups;
if (cfg.alpn) options.ALPNProtocols = cfg.alpn;

function describe(socket) {
  const peer = socket.getPeerCertificate();
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().standardName,
    key: socket.getEphemeralKeyInfo(),
    alpn: socket.alpnProtocol,
    servername: socket.servername || null,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
    peer: peer && peer.subject ? peer.subject.CN : null,
  };
}

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
const failed = (what) => (error) => {
  console.error(`node ${what}: ${error.code || ''} ${error.message}`);
  process.exitCode = 1;
};

if (cfg.role === 'client') {
  const socket = tls.connect(
    { ...options, host: '127.0.0.1', port: cfg.port, servername: cfg.servername, ca: fs.readFileSync(cfg.ca) },
    () => {
      const result = describe(socket);
      socket.write(cfg.line);
      readLine(socket, (answer) => {
        result.answer = answer;
        fs.writeFileSync(cfg.out, JSON.stringify(result));
        socket.end();  // close_notify
      });
    });
  socket.on('error', failed('client'));
} else {
  const server = tls.createServer(
    { ...options, key: fs.readFileSync(cfg.key), cert: fs.readFileSync(cfg.cert) },
    (socket) => {
      server.close();  // one connection
      const result = describe(socket);
      readLine(socket, (line) => { result.received = line; socket.write(reversed(line)); });
      socket.on('end', () => { result.peer_closed = true; });  // the client's close_notify
      socket.on('close', () => fs.writeFileSync(cfg.out, JSON.stringify(result)));
      socket.on('error', failed('server connection'));
    });
  server.on('tlsClientError', (error) => { failed('server handshake')(error); server.close(); });
  server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
}
"""


@pytest.fixture(scope="module")
def node_peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peer script on disk, once Node's own versions are checked: Node 24+, OpenSSL 3.5+ (X25519MLKEM768)."""
    versions = subprocess.run(
        [str(NODE), "-p", "process.versions.node + ' ' + process.versions.openssl"],
        capture_output=True, text=True, timeout=WAIT, check=False,
    )  # fmt: skip
    node, _, openssl = versions.stdout.strip().partition(" ")
    found = [int(x) for x in re.findall(r"\d+", node)[:1] + re.findall(r"\d+", openssl)[:2]]
    if versions.returncode != 0 or len(found) < 3 or found[0] < 24 or tuple(found[1:]) < (3, 5):
        said = f": {versions.stderr.strip()}" if versions.stderr.strip() else ""
        pytest.skip(f"{NODE} is Node {node or '?'} with OpenSSL {openssl or '?'}, not Node 24 with OpenSSL 3.5+; "
                    f"rm -r .peers && make peers{said}")  # fmt: skip
    script = tmp_path_factory.mktemp("node") / "peer.js"
    script.write_text(NODE_PEER)
    return script


@dataclass
class NodeRun:
    """What a Node peer reported (its JSON) and OpenSSL's trace of its handshake."""

    result: dict[str, Any]
    trace: str

    @property
    def server_hello(self) -> Any:
        hellos = trace_server_hellos(self.trace)
        assert hellos, self.trace[-3000:]
        return hellos[-1]

    def server_share_length(self) -> int | None:
        """The length of the key_exchange in the (last) ServerHello's key_share, as OpenSSL printed it."""
        found = re.findall(
            r"ServerHello, Length=\d+\n(?:.*\n)*?\s*NamedGroup: .*\n\s*key_exchange:\s+\(len=(\d+)\)", self.trace
        )
        return int(found[-1]) if found else None


def _openssl30_headings(trace: str) -> str:
    """OpenSSL 3.5's ``Sent TLS Record`` headings as OpenSSL 3.0's ``Sent Record``, which the parsers split on."""
    return re.sub(r"^(Sent|Received) TLS Record", r"\1 Record", trace, flags=re.MULTILINE)


def _config(out: Path, **settings: Any) -> str:
    return json.dumps({"out": str(out), "timeout": WAIT, **settings})


def _run_node_client(script: Path, tmp_path: Path, **settings: Any) -> NodeRun:
    """Run the Node client to completion (bounded by WAIT); fails with what Node said if it did not report."""
    out = tmp_path / "node-client.json"
    node = subprocess.run(
        [str(NODE), str(script), _config(out, role="client", **settings)],
        capture_output=True, text=True, errors="replace", timeout=WAIT + 5, check=False,
    )  # fmt: skip
    trace = _openssl30_headings(node.stderr)
    assert node.returncode == 0 and out.exists(), f"node client failed ({node.returncode}):\n{trace[-3000:]}"
    return NodeRun(json.loads(out.read_text()), trace)


class NodeServer(PeerProcess):
    """The Node server on 127.0.0.1:0 (it prints ``LISTENING PORT``), for one connection, killed on exit."""

    name = "node server"

    def __init__(self, script: Path, tmp_path: Path, **settings: Any) -> None:
        self.out = tmp_path / "node-server.json"
        super().__init__([str(NODE), str(script), _config(self.out, role="server", **settings)])

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^LISTENING \d+$").split()[1])

    def finish(self) -> NodeRun:
        """Wait for Node to leave after its one connection; its report and trace."""
        trace = _openssl30_headings(self.wait_exit())
        assert self.returncode == 0 and self.out.exists(), f"node server failed ({self.returncode}):\n{trace[-3000:]}"
        return NodeRun(json.loads(self.out.read_text()), trace)


def _node_client_to_glasstls(node_peer, tmp_path, pki, config, **node_settings) -> tuple[Any, NodeRun, EventList]:
    """A Node client against a glasstls server in a thread: (glasstls parameters, Node's run, events)."""
    events = EventList()
    line = "node to glasstls\n"
    with ServerThread(glasstls_line_server(config, events, wait_for_close=True)) as server:
        node = _run_node_client(
            node_peer, tmp_path, port=server.port, servername="localhost", ca=str(pki.root_file),
            line=line, **node_settings,
        )  # fmt: skip
        params, received = server.result()
    assert received == line.encode()  # and then Node's close_notify (wait_for_close)
    assert trace_close_notify_received(node.trace)  # and glasstls's
    assert node.result["answer"] == reverse_line(line.encode()).decode()
    assert node.result["authorized"] is True, node.result  # the chain, up to the throwaway root, and the host name
    assert node.result["peer"] == "localhost"
    assert params.server_name == "localhost"  # Node's SNI
    assert (node.result["protocol"], node.result["cipher"]) == (params.version, params.cipher_suite)
    assert trace_fatal_alerts(node.trace) == []
    return params, node, events


def _server_config(pki, cert_type: str, **settings: Any) -> ServerConfig:
    return ServerConfig(certificates=(pki.certified_key(cert_type),), **settings)


def _glasstls_client_to_node(node_peer, tmp_path, pki, config, cert_type, **node_settings):
    """glasstls against a Node server: (glasstls parameters, Node's run, events)."""
    files = pki.files[cert_type]
    events = EventList()
    line = b"glasstls to node\n"
    with NodeServer(node_peer, tmp_path, key=str(files.key), cert=str(files.full_chain), **node_settings) as server:
        try:
            with glasstls.connect(
                "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
            ) as tls:
                params = tls.parameters
                tls.sendall(line)
                answer = read_line(tls.recv)
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; node said:\n{server.output[-3000:]}") from exc
        node = server.finish()
    assert params is not None
    assert answer == reverse_line(line)
    assert params.peer_certificate_subject == "CN=localhost"
    assert params.signature_scheme == SCHEME_FOR_CERT[cert_type] or params.version == "TLSv1.2"
    assert node.result["received"] == line.decode()
    assert node.result["servername"] == "localhost"  # glasstls's SNI
    assert node.result.get("peer_closed") is True  # glasstls's close_notify arrived
    assert trace_close_notify_received(node.trace)
    assert (node.result["protocol"], node.result["cipher"]) == (params.version, params.cipher_suite)
    assert trace_fatal_alerts(node.trace) == []
    return params, node, events


# -- 1. Node client → glasstls server ----------------------------------------------------------


@pytest.mark.parametrize(("version", "suite", "group", "cert_type"), CASES, ids=CASE_IDS)
def test_node_client_to_glasstls_server(node_peer, tmp_path, pki, version, suite, group, cert_type):
    config = _server_config(pki, cert_type, cipher_suites=(CipherSuite[suite],), groups=(NamedGroup[group],))
    params, node, events = _node_client_to_glasstls(node_peer, tmp_path, pki, config, version=version)

    assert (params.version, params.cipher_suite, params.group) == (version, suite, group)
    assert params.signature_scheme is not None
    # Node's view: the version and suite (checked above), the group from its key info and its trace
    assert node.result["key"]["name"] == NODE_GROUP[group], node.result
    if version == "TLSv1.3":
        assert params.signature_scheme == SCHEME_FOR_CERT[cert_type]
        hellos = trace_server_hellos(node.trace)
        assert (hellos[-1].group, hellos[-1].cipher_suite) == (NamedGroup[group], suite)
        # Node shares only its first groups; for any other glasstls asks again (RFC 8446, Section 4.1.4)
        retry = group not in NODE_DEFAULT_SHARES
        assert [h.retry for h in hellos] == [True, False] if retry else [False], hellos
        assert hrr_seen(events, "out") == retry
    else:
        exchange = trace_server_key_exchange(node.trace)
        assert exchange is not None and exchange.algorithm == "ECDHE" and exchange.group == NamedGroup[group]
        assert exchange.signature_scheme == params.signature_scheme


# -- 2. glasstls client → Node server ----------------------------------------------------------


@pytest.mark.parametrize(("version", "suite", "group", "cert_type"), CASES, ids=CASE_IDS)
def test_glasstls_client_to_node_server(node_peer, tmp_path, pki, version, suite, group, cert_type):
    config = ClientConfig(
        trust_store=pki.trust_store(), cipher_suites=(CipherSuite[suite],), groups=(NamedGroup[group],)
    )
    params, node, events = _glasstls_client_to_node(node_peer, tmp_path, pki, config, cert_type, version=version)

    assert (params.version, params.cipher_suite, params.group) == (version, suite, group)
    if version == "TLSv1.3":
        hello = node.server_hello  # the one Node sent
        assert (hello.group, hello.cipher_suite, hello.retry) == (NamedGroup[group], suite, False)
        assert not hrr_seen(events, "in")
    else:
        exchange = trace_server_key_exchange(node.trace)
        assert exchange is not None and exchange.algorithm == "ECDHE" and exchange.group == NamedGroup[group]
        assert exchange.signature_scheme == params.signature_scheme


# -- 3. X25519MLKEM768 with a hybrid-only Node ----------------------------------------------


def test_hybrid_only_node_client_to_glasstls_server(node_peer, tmp_path, pki):
    """Node offers X25519MLKEM768 and nothing else; glasstls, told to take only it, does (no HelloRetryRequest)."""
    config = _server_config(pki, "ecdsa-p256", groups=(HYBRID,))
    params, node, events = _node_client_to_glasstls(node_peer, tmp_path, pki, config, groups=HYBRID.name)

    assert (params.version, params.group) == ("TLSv1.3", HYBRID.name)
    assert node.result["key"] == {"type": "TLSGroup", "name": HYBRID.name}, node.result
    assert (node.server_hello.group, node.server_hello.retry) == (HYBRID, False)
    assert node.server_share_length() == HYBRID_SERVER_SHARE
    assert not hrr_seen(events, "out")


def test_glasstls_hybrid_only_client_to_node_server(node_peer, tmp_path, pki):
    """glasstls offers (and shares) only X25519MLKEM768 to a Node server that takes only X25519MLKEM768."""
    config = ClientConfig(trust_store=pki.trust_store(), groups=(HYBRID,))
    params, node, events = _glasstls_client_to_node(node_peer, tmp_path, pki, config, "ecdsa-p256", groups=HYBRID.name)

    assert (params.version, params.group) == ("TLSv1.3", HYBRID.name)
    assert (node.server_hello.group, node.server_hello.retry) == (HYBRID, False)
    assert node.server_share_length() == HYBRID_SERVER_SHARE
    assert not hrr_seen(events, "in")


@pytest.mark.parametrize("direction", ["node-client", "glasstls-client"])
def test_defaults_negotiate_hybrid(node_peer, tmp_path, pki, direction):
    """Node 24 and glasstls, both at their default settings, agree on X25519MLKEM768 (as Node does
    with itself), with no HelloRetryRequest: each side sends a hybrid share first."""
    if direction == "node-client":
        params, node, _ = _node_client_to_glasstls(node_peer, tmp_path, pki, _server_config(pki, "ecdsa-p256"))
        node_group = node.result["key"]["name"]
    else:
        config = ClientConfig(trust_store=pki.trust_store())
        params, node, _ = _glasstls_client_to_node(node_peer, tmp_path, pki, config, "ecdsa-p256")
        node_group = node.server_hello.group.name
        assert node.server_hello.retry is False
    assert params.version == "TLSv1.3" and node_group.lower() == params.group.lower()
    assert params.group == HYBRID.name


# -- 4. ALPN and SNI -----------------------------------------------------------------------


def test_alpn_and_sni_node_client_to_glasstls_server(node_peer, tmp_path, pki):
    """Node offers h2 then http/1.1 and names localhost; glasstls, without h2, picks http/1.1 and sees the name."""
    config = _server_config(pki, "rsa2048", alpn=("http/1.1", "acme-tls/1"))
    params, node, _ = _node_client_to_glasstls(node_peer, tmp_path, pki, config, alpn=["h2", "http/1.1"])

    assert params.alpn == "http/1.1" and node.result["alpn"] == "http/1.1"
    assert params.server_name == "localhost"


def test_alpn_and_sni_glasstls_client_to_node_server(node_peer, tmp_path, pki):
    """glasstls offers h2 then http/1.1 and names localhost; Node serves only http/1.1 and sees the name."""
    config = ClientConfig(trust_store=pki.trust_store(), alpn=("h2", "http/1.1"))
    params, node, _ = _glasstls_client_to_node(node_peer, tmp_path, pki, config, "ed25519", alpn=["http/1.1"])

    assert params.alpn == "http/1.1" and node.result["alpn"] == "http/1.1"
    assert node.result["servername"] == "localhost"


# -- 5. KeyUpdate ----------------------------------------------------------------------------


def test_key_update_with_a_node_server(node_peer, tmp_path, pki):
    """glasstls updates its keys and asks Node to update its own (RFC 8446, Section 4.6.3) before
    its line: Node reads the line under glasstls's new keys, answers with its KeyUpdate first and
    the reversed line under its new keys, and both close_notify alerts arrive after it."""
    files = pki.files["ecdsa-p256"]
    config = ClientConfig(trust_store=pki.trust_store())
    line = b"after a key update\n"
    with NodeServer(node_peer, tmp_path, key=str(files.key), cert=str(files.full_chain), version="TLSv1.3") as server:
        try:
            with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT) as tls:
                tls.conn.update_keys(request_peer=True)
                tls.sendall(line)
                answer = read_line(tls.recv)
                updates = [e for e in tls.events if isinstance(e, glasstls.KeyUpdated)]
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; node said:\n{server.output[-3000:]}") from exc
        node = server.finish()
    assert answer == reverse_line(line)
    assert node.result["received"] == line.decode() and node.result.get("peer_closed") is True
    assert updates == [glasstls.KeyUpdated("read", requested_by_peer=False)]  # Node's answer, once
    records = re.split(r"\n(?=(?:Sent|Received) Record\n)", node.trace)
    updates_seen = [
        (record.split()[0], re.search(r"KeyUpdate, Length=1\n\s*(\w+)", record).group(1))  # type: ignore[union-attr]
        for record in records
        if "KeyUpdate, Length=1" in record
    ]
    assert updates_seen == [("Received", "update_requested"), ("Sent", "update_not_requested")], updates_seen
    assert trace_close_notify_received(node.trace) and trace_fatal_alerts(node.trace) == []
