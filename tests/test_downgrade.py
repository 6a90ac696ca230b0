"""Version downgrades are caught, and versions below TLS 1.2 are refused.

* RFC 8446, Section 4.1.3: a TLS 1.3 server that negotiates TLS 1.2 ends its
  random with ``DOWNGRD\\x01``; a TLS 1.3 client that sees it aborts with
  illegal_parameter. A man in the middle removes TLS 1.3 from the client's
  supported_versions (or the extension altogether): first between two
  in-memory glasstls peers, then in a TCP proxy in front of a real
  ``openssl s_server``, which must set the sentinel too.
* RFC 7507: a client that retries at a lower version with TLS_FALLBACK_SCSV,
  facing a server that could do better, gets inappropriate_fallback (glasstls
  client → glasstls server, and ``openssl s_client -fallback_scsv`` → glasstls).
* RFC 8996 (and RFC 7568 for SSL 3.0): SSL 3.0, TLS 1.0 and TLS 1.1 are
  refused with protocol_version and a reason naming the version the peer
  wanted, both ways, in memory and against OpenSSL.
* RFC 5246, Section 7.4.1.2: a ClientHello must offer the null compression method.

The OpenSSL cases start their peers on 127.0.0.1 and are marked ``interop``.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import glasstls
from glasstls import (
    AlertError,
    AlertReceived,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    PeerAlertError,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.connection import Connection
from glasstls.enums import AlertDescription as A
from glasstls.enums import AlertLevel
from glasstls.enums import ExtensionType as E
from glasstls.events import Event
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import DOWNGRADE_TLS11, DOWNGRADE_TLS12, ClientHello, ServerHello, decode_message
from glasstls.wire.handshake12 import TLS12_PARSERS
from glasstls.x509.mint import Identity, ThrowawayCA
from glasstls.x509.store import TrustStore
from pairs import default_ca, make_pair, once, server_identity, split_records, transfer

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import OPENSSL, WAIT, OpenSSLServer, ServerThread, run_s_client, split_pem_chain

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
SENTINEL_REASON = "downgrade sentinel"


# -- checking both ends ------------------------------------------------------------------


def closed_with(conn: Connection, events: list[Event], description: A, *reason_parts: str) -> AlertError:
    """``conn`` closed itself with ``description`` and a reason containing ``reason_parts``."""
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed, f"no ConnectionClosed in {events}"
    err = closed[-1].error
    assert isinstance(err, AlertError) and not closed[-1].by_peer, err
    assert err.description == description, f"{err.description.name} ({err.reason}), expected {description.name}"
    for part in reason_parts:
        assert part in err.reason, f"{part!r} not in {err.reason!r}"
    assert conn.closed and conn.error is err
    return err


def peer_sees(peer: Connection, failed: Connection, description: A) -> None:
    """The alert ``failed`` sent reaches ``peer`` and closes it."""
    events = transfer(failed, peer)
    assert AlertReceived(AlertLevel.fatal, description) in events, events
    assert isinstance(events[-1], ConnectionClosed) and events[-1].by_peer
    assert isinstance(events[-1].error, PeerAlertError) and events[-1].error.description == description


def client_config(**kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)


def server_config(**kw: Any) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)


# -- the man in the middle -----------------------------------------------------------------


def without_tls13(record: bytes, drop_extension: bool = False) -> bytes:
    """The ClientHello record ``record`` with TLS 1.3 taken out of supported_versions
    (or, with ``drop_extension``, the extension removed), the lengths made right again."""
    assert record[0] == 0x16 and int.from_bytes(record[3:5], "big") == len(record) - 5, "one whole handshake record"
    hello = decode_message(record[5:])
    assert isinstance(hello, ClientHello)
    exts = []
    for ext in hello.extensions:
        if ext.type == E.supported_versions:
            if drop_extension:
                continue
            ext = Extension.make(E.supported_versions, tuple(v for v in ext.value if v != V13), X.CH)
        exts.append(ext)
    body = replace(hello, extensions=tuple(exts)).encode()
    return record[:3] + len(body).to_bytes(2, "big") + body


def server_hello_in(data: bytes) -> ServerHello:
    """The ServerHello at the start of a server's first flight (plaintext records)."""
    record = split_records(data)[0]
    assert record[0] == 0x16, record[:5]
    size = int.from_bytes(record[6:9], "big")
    msg = decode_message(record[5 : 9 + size], TLS12_PARSERS)
    assert isinstance(msg, ServerHello), msg
    return msg


@pytest.mark.parametrize("drop_extension", [False, True], ids=["tls13-removed", "extension-removed"])
def test_client_catches_the_downgrade_sentinel(drop_extension: bool) -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config())  # TLS 1.3 capable: it will mark the downgrade
    hello = client.data_to_send()
    assert decode_message(hello[5:]).ext(E.supported_versions).value == (V13, V12)

    assert server.receive_bytes(without_tls13(hello, drop_extension)) == []
    flight = server.data_to_send()
    assert server.version == V12
    assert server_hello_in(flight).random.endswith(DOWNGRADE_TLS12)

    err = closed_with(client, client.receive_bytes(flight), A.illegal_parameter, SENTINEL_REASON, "RFC 8446")
    assert err.step == "waiting for ServerHello"
    assert not client.handshake_complete
    peer_sees(server, client, A.illegal_parameter)


def test_client_limited_to_tls12_accepts_the_sentinel() -> None:
    # The sentinel is for TLS 1.3 clients: one that offered only TLS 1.2 got what it asked for.
    pair = make_pair(client_kw={"tls_max": V12})
    pair.to_server()
    flight = pair.server.data_to_send()
    assert server_hello_in(flight).random.endswith(DOWNGRADE_TLS12)
    pair.client.receive_bytes(flight)
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert pair.client.parameters.version == "TLSv1.2"


def test_tls12_only_server_sets_no_sentinel() -> None:
    # A server that cannot do TLS 1.3 has nothing to signal; the 1.3 client continues in 1.2.
    pair = make_pair(server_kw={"tls_max": V12})
    pair.to_server()
    flight = pair.server.data_to_send()
    assert not server_hello_in(flight).random.endswith(DOWNGRADE_TLS12)
    pair.client.receive_bytes(flight)
    pair.handshake()
    assert pair.client.parameters.version == pair.server.parameters.version == "TLSv1.2"


@pytest.mark.parametrize("sentinel", [DOWNGRADE_TLS12, DOWNGRADE_TLS11], ids=["DOWNGRD01", "DOWNGRD00"])
def test_sentinel_forged_into_a_tls12_server_random_is_caught(sentinel: bytes) -> None:
    # Whatever put it there, a 1.3 client never goes on with a marked TLS 1.2 ServerHello: RFC 8446,
    # Section 4.1.3 has it check for both values (OpenSSL checks both too).
    def mark(msg: Any) -> bytes:
        return replace(msg, random=msg.random[:24] + sentinel).encode()

    pair = make_pair(server_kw={"tls_max": V12}, server_alter=once(ServerHello, mark))
    pair.to_server()
    closed_with(pair.client, pair.to_client(), A.illegal_parameter, SENTINEL_REASON)


# -- TLS_FALLBACK_SCSV (RFC 7507) ------------------------------------------------------------


def test_fallback_scsv_to_a_tls13_server_is_inappropriate_fallback() -> None:
    pair = make_pair(client_kw={"tls_max": V12, "send_fallback_scsv": True})
    assert CipherSuite.TLS_FALLBACK_SCSV in pair.client.offered_hello.cipher_suites
    closed_with(pair.server, pair.to_server(), A.inappropriate_fallback, "TLS_FALLBACK_SCSV", "TLSv1.3", "RFC 7507")
    peer_sees(pair.client, pair.server, A.inappropriate_fallback)


@pytest.mark.parametrize(
    ("client_kw", "server_kw", "version"),
    [
        ({"tls_max": V12, "send_fallback_scsv": True}, {"tls_max": V12}, "TLSv1.2"),
        ({"send_fallback_scsv": True}, {}, "TLSv1.3"),
    ],
    ids=["server-tops-at-1.2", "no-fallback-happened"],
)
def test_fallback_scsv_at_the_servers_best_version_is_accepted(client_kw: dict, server_kw: dict, version: str) -> None:
    pair = make_pair(client_kw=client_kw, server_kw=server_kw)
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    assert pair.server.parameters.version == version


# -- versions a configuration has no cipher suite for --------------------------------------------

ECDHE_ECDSA_GCM = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256


def test_a_configuration_speaks_only_the_versions_it_has_suites_for() -> None:
    assert ClientConfig(cipher_suites=(ECDHE_ECDSA_GCM,)).versions == (V12,)
    assert server_config(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)).versions == (V13,)
    assert ClientConfig().versions == server_config().versions == (V13, V12)
    assert server_config(tls_max=V12).versions == (V12,)


@pytest.mark.parametrize("side", ["client", "server", "both"])
def test_tls12_suites_alone_make_a_tls12_handshake_with_no_downgrade_sentinel(side: str) -> None:
    """A side given TLS 1.2 suites alone (tls_max left at TLS 1.3) speaks TLS 1.2: a client offers no
    TLS 1.3 (no supported_versions), and a server answers a TLS 1.3 client with TLS 1.2 and a random
    without the sentinel of RFC 8446, Section 4.1.3, which the client would refuse: it is no TLS 1.3
    server. (A TLS 1.3 server that a TLS 1.2 client meets writes the sentinel, as it must.)"""
    only12 = {"cipher_suites": (ECDHE_ECDSA_GCM,)}
    seen: list[Any] = []
    pair = make_pair(
        client_kw=only12 if side != "server" else None,
        server_kw=only12 if side != "client" else None,
        client_observer=lambda event: seen.append(getattr(event, "message", None)),
    )
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    assert pair.server.parameters.version == "TLSv1.2" and pair.client.parameters.cipher_suite == ECDHE_ECDSA_GCM.name
    hello = next(m for m in seen if isinstance(m, ClientHello))
    server_hello = next(m for m in seen if isinstance(m, ServerHello))
    assert (hello.ext(E.supported_versions) is None) == (side != "server")
    assert (server_hello.random[-8:] == DOWNGRADE_TLS12) == (side == "client")


def test_a_tls13_client_meeting_a_server_with_tls12_suites_alone_is_told_why() -> None:
    pair = make_pair(client_kw={"tls_min": V13}, server_kw={"cipher_suites": (ECDHE_ECDSA_GCM,)})
    pair.handshake()
    assert pair.server.error is not None and pair.server.error.description == A.protocol_version
    assert "server accepts TLSv1.2 (no TLSv1.3 cipher suite is configured)" in str(pair.server.error)


def test_a_client_with_tls13_suites_alone_offers_tls13_alone() -> None:
    seen: list[Any] = []
    pair = make_pair(
        client_kw={"cipher_suites": (CipherSuite.TLS_AES_128_GCM_SHA256,)},
        server_kw={"tls_max": V12},
        client_observer=lambda event: seen.append(getattr(event, "message", None)),
    )
    pair.handshake()
    hello = next(m for m in seen if isinstance(m, ClientHello))
    assert hello.ext(E.supported_versions).value == (V13,)
    assert pair.server.error is not None and pair.server.error.description == A.protocol_version


# -- versions below TLS 1.2 ---------------------------------------------------------------------


def wants(reason: str, who: str, label: str) -> bool:
    """Whether ``reason`` says ``who`` wants exactly version ``label`` ("TLSv1" is not "TLSv1.1")."""
    return re.search(rf"\b{who} wants {re.escape(label)}(?![.\d])", reason) is not None


def old_client_hello(version: ProtocolVersion, **kw: Any) -> bytes:
    """A record with a ClientHello of ``version`` and no supported_versions, as an old client sends it."""
    hello = ClientHello(
        legacy_version=version,
        random=bytes(range(32)),
        cipher_suites=(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA),
        **kw,
    ).encode()
    return b"\x16" + min(version, 0x0301).to_bytes(2, "big") + len(hello).to_bytes(2, "big") + hello


OLD_VERSIONS = [
    (ProtocolVersion.SSLv3, "SSLv3"),
    (ProtocolVersion.TLSv1, "TLSv1"),
    (ProtocolVersion.TLSv1_1, "TLSv1.1"),
]


@pytest.mark.parametrize(("version", "label"), OLD_VERSIONS, ids=[v[1] for v in OLD_VERSIONS])
@pytest.mark.parametrize("server_max", [V13, V12], ids=["server-1.3", "server-1.2"])
def test_server_refuses_old_client_hello(version: ProtocolVersion, label: str, server_max: ProtocolVersion) -> None:
    server = ServerConnection(server_config(tls_max=server_max))
    events = server.receive_bytes(old_client_hello(version))
    err = closed_with(server, events, A.protocol_version, version.retired_by)  # RFC 8996, RFC 7568 for SSL 3.0
    assert wants(err.reason, "client", label)
    assert err.step == "waiting for ClientHello"
    # Fatal protocol_version, in the clear, in a record version the old client reads.
    record_version = max(version, ProtocolVersion.TLSv1).to_bytes(2, "big")
    assert server.data_to_send() == b"\x15" + record_version + b"\x00\x02\x02\x46"


@pytest.mark.parametrize(
    "versions", [(ProtocolVersion.TLSv1_1, ProtocolVersion.TLSv1), (ProtocolVersion.SSLv3,)], ids=["1.1-1.0", "ssl3"]
)
def test_server_refuses_supported_versions_below_tls12(versions: tuple[ProtocolVersion, ...]) -> None:
    ext = Extension.make(E.supported_versions, versions, X.CH)
    server = ServerConnection(server_config())
    events = server.receive_bytes(old_client_hello(ProtocolVersion.TLSv1_1, extensions=(ext,)))
    closed_with(server, events, A.protocol_version, "no common protocol version", versions[0].label)


def old_server_hello(version: ProtocolVersion, suite: CipherSuite) -> bytes:
    hello = ServerHello(legacy_version=version, random=bytes(32), cipher_suite=suite).encode()
    return b"\x16" + version.to_bytes(2, "big") + len(hello).to_bytes(2, "big") + hello


@pytest.mark.parametrize(("version", "label"), OLD_VERSIONS, ids=[v[1] for v in OLD_VERSIONS])
@pytest.mark.parametrize("client_max", [V13, V12], ids=["client-1.3", "client-1.2"])
def test_client_refuses_old_server_hello(version: ProtocolVersion, label: str, client_max: ProtocolVersion) -> None:
    client = ClientConnection(client_config(tls_max=client_max), "localhost")
    suite = client.offered_hello.cipher_suites[-1]
    client.data_to_send()
    events = client.receive_bytes(old_server_hello(version, suite))
    err = closed_with(client, events, A.protocol_version, version.retired_by)  # RFC 8996, RFC 7568 for SSL 3.0
    assert wants(err.reason, "server", label)
    assert err.step == "waiting for ServerHello"


# -- compression ------------------------------------------------------------------------------


def _with_compression(methods: tuple[int, ...]) -> Callable[[Any], bytes]:
    return lambda msg: replace(msg, compression_methods=methods).encode()


@pytest.mark.parametrize(
    ("tls_max", "reason"),
    [(V12, "does not offer the null compression method"), (V13, "compression other than null")],
    ids=["tls12", "tls13"],
)
def test_client_hello_without_null_compression_is_refused(tls_max: ProtocolVersion, reason: str) -> None:
    pair = make_pair(client_kw={"tls_max": tls_max}, client_alter=once(ClientHello, _with_compression((1,))))
    closed_with(pair.server, pair.to_server(), A.illegal_parameter, reason)
    peer_sees(pair.client, pair.server, A.illegal_parameter)


def test_tls12_client_hello_offering_deflate_and_null_gets_null() -> None:
    # RFC 5246, Section 7.4.1.2: null must be in the list; the server picks it.
    pair = make_pair(client_kw={"tls_max": V12}, client_alter=once(ClientHello, _with_compression((1, 0))))
    assert pair.to_server() == []
    assert not pair.server.closed
    assert server_hello_in(pair.server.data_to_send()).compression_method == 0


def test_tls13_client_hello_offering_deflate_and_null_is_refused() -> None:
    # RFC 8446, Section 4.1.2: in TLS 1.3 the list is exactly one null byte.
    pair = make_pair(client_alter=once(ClientHello, _with_compression((1, 0))))
    closed_with(pair.server, pair.to_server(), A.illegal_parameter, "compression other than null")


# == against OpenSSL ===========================================================================


@dataclass(frozen=True)
class Files:
    leaf: Path
    intermediates: Path
    key: Path
    identity: Identity
    ca: ThrowawayCA


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("downgrade-pki")
    ca = ThrowawayCA.create("glasstls downgrade root")
    identity = ca.issue_server(["localhost", "127.0.0.1"])
    leaf_pem, intermediates_pem = split_pem_chain(identity.chain_pem())
    (d / "leaf.pem").write_bytes(leaf_pem)
    (d / "intermediates.pem").write_bytes(intermediates_pem)
    (d / "key.pem").write_bytes(identity.key_pem())
    return Files(d / "leaf.pem", d / "intermediates.pem", d / "key.pem", identity, ca)


class SServer(OpenSSLServer):
    """``openssl s_server`` for one connection, any version it likes unless ``args`` say otherwise."""

    def __init__(self, files: Files, trace_path: Path, *args: str) -> None:
        super().__init__(files, trace_path)  # type: ignore[arg-type]
        self.command = [
            OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
            "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            "-trace", "-msgfile", str(trace_path), *args,
        ]  # fmt: skip


class RewritingProxy:
    """A TCP proxy on 127.0.0.1:0 for one connection to ``upstream_port``.

    The client's first record (its ClientHello) passes through ``rewrite``; the
    rest is relayed unchanged both ways until either side closes. What the
    server sent is kept in ``from_server``.
    """

    def __init__(self, upstream_port: int, rewrite: Callable[[bytes], bytes]) -> None:
        self._upstream_port = upstream_port
        self._rewrite = rewrite
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(WAIT)
        self.port = self._listener.getsockname()[1]
        self.from_server = bytearray()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rewriting proxy", daemon=True)

    def __enter__(self) -> RewritingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._listener.close()
        self._thread.join(WAIT)

    def join(self) -> None:
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the proxy did not finish"
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            client, _ = self._listener.accept()
            with client, socket.create_connection(("127.0.0.1", self._upstream_port), timeout=WAIT) as upstream:
                client.settimeout(WAIT)
                upstream.sendall(self._rewrite(_read_record(client)))
                self._relay(client, upstream)
        except BaseException as exc:
            self.error = exc

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                ready = selector.select(WAIT)
                if not ready:
                    raise AssertionError(f"nothing moved through the proxy for {WAIT} s")
                for key, _ in ready:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(1 << 16)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    if source is upstream:
                        self.from_server += data
                    with contextlib.suppress(OSError):
                        key.data.sendall(data)


def _read_record(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise AssertionError(f"the client closed after {len(data)} bytes of its first record")
        data += chunk
    assert len(data) == 5 + int.from_bytes(data[3:5], "big"), "more than the ClientHello record arrived"
    return data


def _connect_expecting_failure(port: int, config: ClientConfig) -> glasstls.TLSError:
    with pytest.raises(glasstls.TLSError) as info:
        glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT).close()
    return info.value


def trusting(files: Files, **kw: Any) -> ClientConfig:
    """A client configuration that trusts the root of ``files``."""
    return ClientConfig(trust_store=TrustStore.from_pem(files.ca.root_pem()), **kw)


def glasstls_server(files: Files) -> ServerConfig:
    return ServerConfig(certificates=(CertifiedKey(files.identity.chain, files.identity.private_key),))


@pytest.mark.interop
@pytest.mark.timeout(60)
@pytest.mark.parametrize("drop_extension", [False, True], ids=["tls13-removed", "extension-removed"])
def test_openssl_server_sets_the_sentinel_and_glasstls_catches_it(
    files: Files, tmp_path: Path, drop_extension: bool
) -> None:
    with SServer(files, tmp_path / "s_server.trace") as server:
        with RewritingProxy(server.port, lambda record: without_tls13(record, drop_extension)) as proxy:
            err = _connect_expecting_failure(proxy.port, trusting(files))
            proxy.join()
        server.wait_for("illegal parameter")
        output = server.wait_exit()
        trace = server.trace
    assert isinstance(err, AlertError) and err.description == A.illegal_parameter, err
    assert SENTINEL_REASON in err.reason
    # OpenSSL chose TLS 1.2 and marked its random (its own trace says so, and the bytes do).
    hello = server_hello_in(bytes(proxy.from_server))
    assert hello.legacy_version == V12 and hello.random.endswith(DOWNGRADE_TLS12)
    traced = re.search(r"ServerHello, Length=\d+.*?random_bytes \(len=28\): ([0-9A-F]{56})", trace, re.DOTALL)
    assert traced and traced.group(1).endswith(DOWNGRADE_TLS12.hex().upper()), trace
    assert "Level=fatal(2), description=illegal parameter(47)" in trace, trace
    assert "alert illegal parameter" in output, output


@pytest.mark.interop
@pytest.mark.timeout(60)
def test_openssl_s_client_fallback_scsv_is_inappropriate_fallback(files: Files) -> None:
    config = glasstls_server(files)

    def handle(sock: socket.socket) -> None:
        glasstls.accept(sock, config)

    with ServerThread(handle) as server:
        client = run_s_client(["-tls1_2", "-fallback_scsv", "-connect", f"127.0.0.1:{server.port}"], b"")
        with pytest.raises(AlertError) as info:
            server.result()
    assert info.value.description == A.inappropriate_fallback
    assert "TLS_FALLBACK_SCSV" in info.value.reason
    said = client.stdout + client.stderr
    assert client.returncode != 0 and "alert inappropriate fallback" in said, said


@pytest.mark.interop
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("option", "label"), [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")], ids=["tls1", "tls1_1"])
def test_openssl_s_client_falling_back_to_an_old_version_is_inappropriate_fallback(
    files: Files, option: str, label: str
) -> None:
    """RFC 7507, Section 3: below TLS 1.2 with TLS_FALLBACK_SCSV, either protocol_version (the version
    is unsupported) or inappropriate_fallback; glasstls answers the latter, as OpenSSL's s_server does
    (and tlsfuzzer's test-fallback-scsv.py expects), in the record version the client can read."""
    config = glasstls_server(files)

    def handle(sock: socket.socket) -> None:
        glasstls.accept(sock, config)

    with ServerThread(handle) as server:
        args = [option, "-fallback_scsv", "-cipher", "DEFAULT@SECLEVEL=0", "-connect", f"127.0.0.1:{server.port}"]
        client = run_s_client(args, b"")
        with pytest.raises(AlertError) as info:
            server.result()
    assert info.value.description == A.inappropriate_fallback
    assert f"retried with {label} and TLS_FALLBACK_SCSV" in info.value.reason
    said = client.stdout + client.stderr
    assert client.returncode != 0 and "alert inappropriate fallback" in said, said


@pytest.mark.interop
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("option", "label"), [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")], ids=["tls1", "tls1_1"])
def test_openssl_s_client_old_version_is_protocol_version(files: Files, option: str, label: str) -> None:
    config = glasstls_server(files)

    def handle(sock: socket.socket) -> None:
        glasstls.accept(sock, config)

    with ServerThread(handle) as server:
        args = [option, "-cipher", "DEFAULT@SECLEVEL=0", "-connect", f"127.0.0.1:{server.port}"]
        client = run_s_client(args, b"")
        with pytest.raises(AlertError) as info:
            server.result()
    assert info.value.description == A.protocol_version
    assert wants(info.value.reason, "client", label)
    said = client.stdout + client.stderr
    assert client.returncode != 0 and "alert protocol version" in said, said


@pytest.mark.interop
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("option", "label"), [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")], ids=["tls1", "tls1_1"])
def test_glasstls_client_refuses_openssl_s_server_at_an_old_version(
    files: Files, tmp_path: Path, option: str, label: str
) -> None:
    # A client that offers TLS 1.2 without supported_versions (tls_max 1.2) and a CBC suite an
    # old server can pick: OpenSSL answers with its old version, glasstls refuses it.
    suites = (CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA)
    config = trusting(files, tls_max=V12, cipher_suites=suites)
    with SServer(files, tmp_path / "s_server.trace", option, "-cipher", "DEFAULT@SECLEVEL=0") as server:
        err = _connect_expecting_failure(server.port, config)
        server.wait_exit()
        trace = server.trace
    assert isinstance(err, AlertError) and err.description == A.protocol_version, err
    assert wants(err.reason, "server", label) and "RFC 8996" in err.reason
    served = {"-tls1": "server_version=0x301 (TLS 1.0)", "-tls1_1": "server_version=0x302 (TLS 1.1)"}[option]
    assert served in trace.split("ServerHello, Length=", 1)[1], trace  # what OpenSSL sent, in its own words


@pytest.mark.interop
@pytest.mark.timeout(60)
def test_tls13_client_and_openssl_s_server_at_tls11_share_no_version(files: Files, tmp_path: Path) -> None:
    # With supported_versions (TLS 1.3 and 1.2) in the hello, OpenSSL itself finds no common version.
    with SServer(files, tmp_path / "s_server.trace", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0") as server:
        err = _connect_expecting_failure(server.port, trusting(files))
        server.wait_exit()
    assert isinstance(err, PeerAlertError) and err.description == A.protocol_version, err


def test_retired_versions_name_the_rfc_that_retired_them() -> None:
    assert ProtocolVersion.SSLv3.retired_by == "RFC 7568"
    assert ProtocolVersion.TLSv1.retired_by == ProtocolVersion.TLSv1_1.retired_by == "RFC 8996"
    assert ProtocolVersion(0x0002).retired_by == "RFC 6176"  # SSL 2.0
    assert ProtocolVersion.TLSv1_2.retired_by == ProtocolVersion.TLSv1_3.retired_by == ""


@pytest.mark.parametrize(("option", "reason"), [("1.0", "RFC 8996 retired TLSv1"), ("1.1", "RFC 8996 retired TLSv1.1")])
def test_cli_names_why_an_old_version_cannot_be_asked_for(option: str, reason: str) -> None:
    import subprocess
    import sys

    for flag in ("--tls-min", "--tls-max"):
        proc = subprocess.run(
            [sys.executable, "-m", "glasstls", "client", "127.0.0.1:1", flag, option],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert proc.returncode == 2 and reason in proc.stderr and "invalid choice" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("legacy_version", [0x0505, 0x0304, 0x0301])
def test_a_tls13_client_ignores_the_server_hello_legacy_version(monkeypatch, legacy_version: int) -> None:
    """RFC 8446, Section 4.2.1: with supported_versions in the ServerHello, "clients MUST ignore the
    ServerHello.legacy_version value". A server that sends another value than 0x0303 (which Section
    4.1.3 asks of it) in its transcript too still completes a TLS 1.3 handshake with glasstls's client,
    as with OpenSSL's and BoringSSL's (TLS-Anvil's SupportedVersions.invalidLegacyVersion)."""
    from glasstls.handshake import server13

    monkeypatch.setattr(server13, "_TLS12", ProtocolVersion(legacy_version))  # what the server puts there
    pair = make_pair()
    for _ in range(4):
        pair.server.receive_bytes(pair.client.data_to_send())
        pair.client.receive_bytes(pair.server.data_to_send())
    assert pair.client.error is None and pair.client.handshake_complete
    assert pair.client.version == ProtocolVersion.TLSv1_3


@pytest.mark.parametrize("version", [0x030F, 0x0304, 0x0400])
def test_a_server_hello_version_above_tls12_without_supported_versions_is_protocol_version(version: int) -> None:
    """RFC 5246, Appendix E.1: a version the client does not speak is answered with protocol_version (as
    OpenSSL does); TLS 1.3 is chosen only through supported_versions (RFC 8446, Section 4.2.1), so a
    ServerHello naming 0x0304 or more without it is such a version. (TLS-Anvil's selectUnsupportedVersion.)"""
    pair = make_pair(
        server_kw={"tls_max": V12},
        server_alter=once(ServerHello, lambda msg: msg.raw[:4] + version.to_bytes(2, "big") + msg.raw[6:]),
    )
    pair.server.receive_bytes(pair.client.data_to_send())
    pair.client.receive_bytes(pair.server.data_to_send())
    error = pair.client.error
    assert error is not None and error.description == A.protocol_version, error
    assert f"ServerHello version {version:#06x} without supported_versions" in error.reason
