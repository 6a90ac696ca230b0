"""``SSLContext.sslsocket_class`` / ``sslobject_class`` and the stdlib's property setters under
``inject_into_ssl()``: what truststore (pip >= 24.2) relies on, side by side with the stdlib, against
peers on 127.0.0.1 (the stdlib's OpenSSL on the other side)."""

from __future__ import annotations

import importlib
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

import glasstls
import glasstls.compat.sslobject
import glasstls.compat.sslsocket
from compat_peers import connect, tls_server
from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA
from test_compat_bio import Pair, contexts

STDLIB = ssl.SSLContext
KINDS = {"stdlib": STDLIB, "glasstls": GlassContext}
# The stdlib's properties whose setters name the module's SSLContext (ssl.py).
SETTINGS: list[tuple[str, Any]] = [
    ("options", ssl.OP_ALL | ssl.OP_NO_TICKET),
    ("verify_flags", ssl.VERIFY_X509_STRICT),
    ("minimum_version", ssl.TLSVersion.TLSv1_3),
    ("maximum_version", ssl.TLSVersion.TLSv1_3),
    ("verify_mode", ssl.CERT_OPTIONAL),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A root with a server leaf for localhost, and an unrelated root."""
    base = tmp_path_factory.mktemp("compat-subclasses")
    paths = {"ca": base / "ca.pem", "other": base / "other.pem", "cert": base / "cert.pem", "key": base / "key.pem"}
    ca = ThrowawayCA.create()
    paths["ca"].write_bytes(ca.root_pem())
    paths["other"].write_bytes(ThrowawayCA.create(common_name="some other root").root_pem())
    ca.issue_server(["localhost"]).write(paths["cert"], paths["key"])
    return paths


def _echo(tls: Any) -> bytes:
    data = tls.recv(100)
    tls.sendall(data)
    return bytes(data)


def _server(files: dict[str, Path], connections: int = 1) -> Any:
    return tls_server(contexts(STDLIB, files, ssl.TLSVersion.TLSv1_3)[1], _echo, connections)


# -- the stdlib's setters while injected -----------------------------------------------------------------


def test_a_context_made_before_the_injection_keeps_its_setters() -> None:
    """As the stdlib's: every setting of a context made before inject_into_ssl() can still be set
    (the stdlib's setters name ssl.SSLContext, which the injection rebinds), and reads back as a
    stdlib context set the same way; extract_from_ssl() puts the original properties back."""
    properties = {name: vars(STDLIB)[name] for name, _ in SETTINGS}
    before, reference = ssl.create_default_context(), ssl.create_default_context()
    for ctx in (before, reference):
        ctx.check_hostname = False
    glasstls.inject_into_ssl()
    try:
        for name, value in SETTINGS:
            setattr(before, name, value)
        before._msg_callback = print  # (its setter names the module's SSLContext too)
        assert before._msg_callback is print
        before._msg_callback = None
        assert type(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)) is GlassContext  # what new contexts are: unchanged
    finally:
        glasstls.extract_from_ssl()
    for name, value in SETTINGS:
        setattr(reference, name, value)
        assert getattr(before, name) == getattr(reference, name), name
    assert all(vars(STDLIB)[name] is prop for name, prop in properties.items())


def test_the_stdlib_setter_reached_through_super_sets_glasstlss_own() -> None:
    """truststore sets its settings as ``super(<ssl.SSLContext at its import>, …).X.__set__(ctx, v)``:
    on a glasstls context that must take effect (the OpenSSL context underneath is never used)."""
    glasstls.inject_into_ssl()
    try:
        ctx = GlassContext(ssl.PROTOCOL_TLS_CLIENT)
        parent = super(GlassContext, GlassContext)
        for name, value in SETTINGS:
            getattr(parent, name).__set__(ctx, value)
            assert getattr(ctx, name) == value, name
            assert getattr(parent, name).__get__(ctx) == value, name
    finally:
        glasstls.extract_from_ssl()


# -- sslsocket_class / sslobject_class ----------------------------------------------------------------


class Recording(ssl.SSLSocket):
    """A subclass of the stdlib's SSLSocket that verifies after the handshake, as truststore's."""

    calls: ClassVar[list[str]] = []
    refuse = False

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        Recording.calls.append(f"handshake {self.version()}")
        if Recording.refuse:
            raise ssl.SSLCertVerificationError("refused by the subclass")


class RecordingObject(ssl.SSLObject):
    calls: ClassVar[list[str]] = []

    def do_handshake(self) -> None:
        super().do_handshake()
        RecordingObject.calls.append(f"handshake {self.version()}")


class GlassRecording(glasstls.compat.sslsocket.SSLSocket):
    calls: ClassVar[list[str]] = []

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        GlassRecording.calls.append("handshake")


@pytest.fixture(autouse=True)
def _fresh_calls() -> Iterator[None]:
    for cls in (Recording, RecordingObject, GlassRecording):
        cls.calls = []
    Recording.refuse = False
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_sslsocket_class_makes_the_socket_and_its_do_handshake_runs(files: dict[str, Path], kind: str) -> None:
    client, _ = contexts(KINDS[kind], files, ssl.TLSVersion.TLSv1_3)
    client.sslsocket_class = Recording
    with _server(files) as server, connect(client, server.port) as tls:
        tls.sendall(b"ping")
        assert tls.recv(4) == b"ping"
        assert isinstance(tls, Recording) and type(tls).__name__ == "Recording"
        assert Recording.calls == ["handshake TLSv1.3"]
    assert server.result() == [b"ping"]


def test_a_glasstls_sslsocket_subclass_is_made_as_it_is(files: dict[str, Path]) -> None:
    client, _ = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_3)
    client.sslsocket_class = GlassRecording
    with _server(files) as server, connect(client, server.port) as tls:
        assert type(tls) is GlassRecording and GlassRecording.calls == ["handshake"]
        tls.sendall(b"ping")
        assert tls.recv(4) == b"ping"
    server.result()


@pytest.mark.parametrize("kind", KINDS)
def test_a_subclass_that_refuses_after_the_handshake_fails_the_connection(files: dict[str, Path], kind: str) -> None:
    """The subclass's verification is never skipped: what it raises, wrap_socket raises."""
    client, _ = contexts(KINDS[kind], files, ssl.TLSVersion.TLSv1_3)
    client.sslsocket_class = Recording
    Recording.refuse = True
    with _server(files) as server, pytest.raises(ssl.SSLCertVerificationError, match="refused by the subclass"):
        connect(client, server.port)
    assert Recording.calls == ["handshake TLSv1.3"]
    server.result()


@pytest.mark.parametrize("kind", KINDS)
def test_sslobject_class_makes_the_object_and_its_do_handshake_runs(files: dict[str, Path], kind: str) -> None:
    client, _ = contexts(KINDS[kind], files, ssl.TLSVersion.TLSv1_3)
    _, server = contexts(STDLIB, files, ssl.TLSVersion.TLSv1_3)
    client.sslobject_class = RecordingObject
    pair = Pair(client, server)
    assert isinstance(pair.client, RecordingObject)
    pair.handshake()
    assert RecordingObject.calls == ["handshake TLSv1.3"]
    pair.client.write(b"ping")
    pair.move()
    assert pair.server.read(4) == b"ping"


def test_sslobject_class_does_not_change_what_wrap_socket_makes(files: dict[str, Path]) -> None:
    """As the stdlib's: an SSLSocket's TLS is never the context's sslobject_class."""
    client, _ = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_3)
    client.sslobject_class = RecordingObject
    with _server(files) as server, connect(client, server.port) as tls:
        assert type(tls._sslobj) is glasstls.compat.sslobject.SSLObject
        tls.sendall(b"ping")
        assert tls.recv(4) == b"ping"
    server.result()
    assert RecordingObject.calls == []


def test_the_chain_reads_as_the_stdlib_gives_it(files: dict[str, Path]) -> None:
    """get_unverified_chain(): DER bytes (3.13's SSLObject), each answering public_bytes(format)
    as 3.10-3.12's _sslobj's _ssl.Certificate (truststore reads either)."""
    client, _ = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_3)
    _, server = contexts(STDLIB, files, ssl.TLSVersion.TLSv1_3)
    pair = Pair(client, server)
    pair.handshake()
    chain = pair.client.get_unverified_chain()
    leaf = pair.client.getpeercert(binary_form=True)
    assert chain[0] == leaf and isinstance(chain[0], bytes)
    assert chain[0].public_bytes(ssl._ssl.ENCODING_DER) == leaf  # type: ignore[attr-defined]
    assert chain[0].public_bytes() == ssl.DER_cert_to_PEM_cert(leaf)  # type: ignore[attr-defined]
    assert chain[0].get_info()["subject"] == pair.client.getpeercert()["subject"]  # type: ignore[attr-defined]


# -- truststore, imported after the injection as pip's is under `glasstls run` ---------------------------


@pytest.fixture
def truststore_injected() -> Iterator[ModuleType]:
    """truststore imported fresh while glasstls is injected: it captures ssl.SSLContext then."""
    pytest.importorskip("truststore")
    saved = {name: mod for name, mod in sys.modules.items() if name == "truststore" or name.startswith("truststore.")}
    for name in saved:
        del sys.modules[name]
    glasstls.inject_into_ssl()
    try:
        yield importlib.import_module("truststore")
    finally:
        glasstls.extract_from_ssl()
        for name in [n for n in sys.modules if n == "truststore" or n.startswith("truststore.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_truststore_context_over_glasstls(files: dict[str, Path], truststore_injected: ModuleType) -> None:
    ctx = truststore_injected.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert isinstance(ctx._ctx, GlassContext)
    ctx.load_verify_locations(cafile=str(files["ca"]))
    ctx.verify_mode = ssl.CERT_REQUIRED  # was a RecursionError
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx._ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    with _server(files, connections=2) as server:
        with connect(ctx, server.port) as tls:  # urllib3's way: wrap_socket
            assert type(tls).__name__ == "TruststoreSSLSocket"
            assert isinstance(tls, glasstls.compat.sslsocket.SSLSocket)
            tls.sendall(b"ping")
            assert tls.recv(4) == b"ping"
        plain = socket.create_connection(("127.0.0.1", server.port), timeout=10)  # asyncio's way: wrap_bio
        with plain:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
            assert type(obj).__name__ == "TruststoreSSLObject"
            _handshake_over(obj, plain, incoming, outgoing)  # truststore reads the chain after it
            assert obj.version() == "TLSv1.3"
    server.result()


def test_truststore_over_glasstls_refuses_an_unknown_ca(
    files: dict[str, Path], truststore_injected: ModuleType
) -> None:
    ctx = truststore_injected.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(files["other"]))
    with _server(files) as server, pytest.raises(ssl.SSLCertVerificationError) as caught:
        connect(ctx, server.port)
    assert caught.value.verify_code == 20
    server.result()


def _handshake_over(obj: Any, sock: socket.socket, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO) -> None:
    for _ in range(20):
        try:
            obj.do_handshake()
            sock.sendall(outgoing.read())
            return
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
            incoming.write(sock.recv(65536))
    raise AssertionError("no handshake in 20 rounds")
