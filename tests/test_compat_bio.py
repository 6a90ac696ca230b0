"""glasstls.compat.SSLObject against the stdlib's ssl.SSLObject, both in memory over
MemoryBIOs (no sockets: the bytes one side writes to its outgoing BIO are fed to the
other's incoming BIO), both TLS versions, each side played by glasstls in turn.

The stdlib side is real OpenSSL (through _ssl), so every WantRead, close and error
checked here is checked against what OpenSSL does at the same moment.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import glasstls
from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA

VERSIONS = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
MAX_ROUNDS = 20  # a handshake is 2-3 flights; a bounded loop either way


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A root with a server leaf for localhost and 127.0.0.1, and an unrelated root."""
    ca = ThrowawayCA.create()
    other = ThrowawayCA.create(common_name="some other root")
    ident = ca.issue_server(["localhost", "127.0.0.1"])
    base = tmp_path_factory.mktemp("compat-pki")
    paths = {"ca": base / "ca.pem", "other": base / "other.pem", "cert": base / "cert.pem", "key": base / "key.pem"}
    paths["ca"].write_bytes(ca.root_pem())
    paths["other"].write_bytes(other.root_pem())
    ident.write(paths["cert"], paths["key"])
    return paths


def contexts(kind: type, files: dict[str, Path], version: ssl.TLSVersion, ca: str = "ca") -> tuple[Any, Any]:
    client = kind(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(files[ca]))
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["cert"]), str(files["key"]))
    for ctx in (client, server):
        ctx.minimum_version = ctx.maximum_version = version
    return client, server


class Pair:
    """A client and a server SSLObject, each over its own two MemoryBIOs."""

    def __init__(self, client_ctx: Any, server_ctx: Any, hostname: str = "localhost", session: Any = None) -> None:
        self.c_in, self.c_out, self.s_in, self.s_out = (ssl.MemoryBIO() for _ in range(4))
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_hostname=hostname, session=session)
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)

    def move(self) -> None:
        """Hand each side what the other wrote."""
        self.s_in.write(self.c_out.read())
        self.c_in.write(self.s_out.read())

    def handshake(self) -> None:
        done = {"client": False, "server": False}
        for _ in range(MAX_ROUNDS):
            for name, obj in (("client", self.client), ("server", self.server)):
                if not done[name]:
                    try:
                        obj.do_handshake()
                        done[name] = True
                    except ssl.SSLWantReadError:
                        pass
            self.move()
            if all(done.values()):
                return
        raise AssertionError(f"handshake did not finish in {MAX_ROUNDS} rounds: {done}")


def glass_sides() -> list[tuple[str, type, type]]:
    return [("glass-client", GlassContext, ssl.SSLContext), ("glass-server", ssl.SSLContext, GlassContext)]


def _pair(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type, server_kind: type, **kw: Any) -> Pair:
    client_ctx, _ = contexts(client_kind, files, version, kw.pop("ca", "ca"))
    _, server_ctx = contexts(server_kind, files, version)
    return Pair(client_ctx, server_ctx, **kw)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize(("side", "client_kind", "server_kind"), glass_sides())
def test_handshake_data_and_unwrap(files: dict[str, Path], version: ssl.TLSVersion, side: str,
                                   client_kind: type, server_kind: type) -> None:  # fmt: skip
    pair = _pair(files, version, client_kind, server_kind)
    with pytest.raises(ssl.SSLWantReadError):
        pair.client.do_handshake()  # the ClientHello is written; nothing has come back yet
    assert pair.c_out.pending > 0
    pair.handshake()
    for obj in (pair.client, pair.server):
        assert obj.version() == version.name.replace("v1_", "v1.")
        name, proto, bits = obj.cipher()
        assert proto == obj.version() and bits in (128, 256) and name
        assert obj.compression() is None
    assert pair.client.getpeercert()["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))
    assert pair.server.getpeercert() is None  # no client certificate was asked for

    # data both ways; a read with nothing buffered wants more bytes
    with pytest.raises(ssl.SSLWantReadError):
        pair.server.read(1024)
    assert pair.client.write(b"ping " * 1000) == 5000
    pair.move()
    got = b""
    for _ in range(MAX_ROUNDS):
        try:
            got += pair.server.read(4096)
        except ssl.SSLWantReadError:
            break
    assert got == b"ping " * 1000
    pair.server.write(b"pong")
    pair.move()
    buf = bytearray(16)
    assert pair.client.read(16, buf) == 4 and bytes(buf[:4]) == b"pong"

    # unwrap: close_notify sent, WantRead until the peer's arrives
    with pytest.raises(ssl.SSLWantReadError):
        pair.client.unwrap()
    pair.move()
    assert pair.server.read() == b""  # the peer's close_notify: a clean end, as _ssl.c reports it
    pair.server.unwrap()
    pair.move()
    assert pair.client.unwrap() is None
    with pytest.raises(ssl.SSLZeroReturnError):
        pair.client.read()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize(("side", "client_kind", "server_kind"), glass_sides())
def test_eof_without_close_notify(files: dict[str, Path], version: ssl.TLSVersion, side: str,
                                  client_kind: type, server_kind: type) -> None:  # fmt: skip
    pair = _pair(files, version, client_kind, server_kind)
    pair.handshake()
    pair.server.write(b"last words")
    pair.move()
    pair.c_in.write_eof()  # the stream ends, no close_notify
    assert pair.client.read() == b"last words"
    with pytest.raises(ssl.SSLEOFError):
        pair.client.read()


def _handshake_error(pair: Pair) -> BaseException:
    try:
        pair.handshake()
    except ssl.SSLError as exc:
        return exc
    raise AssertionError("the handshake succeeded")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_untrusted_ca(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type) -> None:
    pair = _pair(files, version, client_kind, ssl.SSLContext, ca="other")
    exc = _handshake_error(pair)
    assert isinstance(exc, ssl.SSLCertVerificationError)
    assert exc.verify_code == 20
    assert exc.verify_message == "unable to get local issuer certificate"
    assert exc.reason == "CERTIFICATE_VERIFY_FAILED" and exc.library == "SSL"


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_wrong_host(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type) -> None:
    pair = _pair(files, version, client_kind, ssl.SSLContext, hostname="wrong.example")
    exc = _handshake_error(pair)
    assert isinstance(exc, ssl.SSLCertVerificationError)
    assert exc.verify_code == 62
    assert exc.verify_message == "Hostname mismatch, certificate is not valid for 'wrong.example'."


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
@pytest.mark.parametrize("hostname", ["wrong.example", "127.0.0.2", None])
def test_chain_verified_without_the_name(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type,
                                         hostname: str | None) -> None:  # fmt: skip
    """check_hostname False with CERT_REQUIRED: the chain is verified, the name is not (urllib3
    checks it itself); an untrusted root still fails."""
    for ca, trusted in (("ca", True), ("other", False)):
        client_ctx, _ = contexts(client_kind, files, version, ca)
        client_ctx.check_hostname = False
        assert client_ctx.verify_mode == ssl.CERT_REQUIRED
        _, server_ctx = contexts(ssl.SSLContext, files, version)
        pair = Pair(client_ctx, server_ctx, hostname=hostname)
        if trusted:
            pair.handshake()
            assert pair.client.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
        else:
            exc = _handshake_error(pair)
            assert isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code == 20


@pytest.mark.parametrize("server_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_version_mismatch_is_an_ssl_error(files: dict[str, Path], server_kind: type) -> None:
    client_ctx, _ = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_3)
    _, server_ctx = contexts(server_kind, files, ssl.TLSVersion.TLSv1_2)
    exc = _handshake_error(Pair(client_ctx, server_ctx))
    assert type(exc) is ssl.SSLError and exc.library == "SSL" and exc.reason


@pytest.mark.parametrize("kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_context_settings_as_the_stdlib(kind: type) -> None:
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    assert ctx.check_hostname is True and ctx.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ValueError):
        ctx.verify_mode = ssl.CERT_NONE  # check_hostname first, as the stdlib insists
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    assert ctx.verify_mode == ssl.CERT_NONE
    ctx.check_hostname = True
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    assert server.check_hostname is False and server.verify_mode == ssl.CERT_NONE


def test_old_versions_read_back_with_a_deprecation_warning() -> None:
    """As the stdlib: taken, read back, and warned about; TLS 1.2 stays the floor in effect
    (test_an_older_floor_is_read_back_and_tls12_in_effect in test_compat_parity.py)."""
    ctx = GlassContext(ssl.PROTOCOL_TLS_CLIENT)
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.warns(DeprecationWarning, match=f"ssl.TLSVersion.{old.name} is deprecated"):
            ctx.minimum_version = old
        assert ctx.minimum_version == old


@pytest.mark.parametrize("kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_ca_certs_and_cadata(files: dict[str, Path], kind: type) -> None:
    pem = files["ca"].read_text()
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=pem)
    ctx.load_verify_locations(cadata=ssl.PEM_cert_to_DER_cert(files["other"].read_text()))
    assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 2}
    first = ctx.get_ca_certs()[0]
    assert set(first) >= {"subject", "issuer", "version", "serialNumber", "notBefore", "notAfter"}
    assert ctx.get_ca_certs(binary_form=True)[0] == ssl.PEM_cert_to_DER_cert(pem)


def test_ca_certs_same_dict_as_stdlib(files: dict[str, Path]) -> None:
    mine, theirs = GlassContext(), ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (mine, theirs):
        ctx.load_verify_locations(cafile=str(files["ca"]))
    assert mine.get_ca_certs() == theirs.get_ca_certs()


def test_set_ciphers_maps_openssl_names(files: dict[str, Path]) -> None:
    client_ctx, server_ctx = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_2)
    client_ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:!aNULL:@SECLEVEL=2")
    pair = Pair(client_ctx, server_ctx)
    pair.handshake()
    assert pair.client.cipher()[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
    with pytest.raises(ssl.SSLError):
        client_ctx.set_ciphers("RC4:!ALL")


def test_alpn_and_channel_binding(files: dict[str, Path]) -> None:
    client_ctx, server_ctx = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_3)
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    server_ctx.set_alpn_protocols(["http/1.1"])
    pair = Pair(client_ctx, server_ctx)
    pair.handshake()
    assert pair.client.selected_alpn_protocol() == pair.server.selected_alpn_protocol() == "http/1.1"
    binding = pair.client.get_channel_binding("tls-exporter")
    assert binding is not None and len(binding) == 32
    assert binding == pair.server.get_channel_binding("tls-exporter")


def test_exported_from_glasstls() -> None:
    assert glasstls.SSLContext is GlassContext
    assert glasstls.create_default_context().verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_expired_certificate(tmp_path: Path, client_kind: type) -> None:
    ca = ThrowawayCA.create()
    now = datetime.now(UTC)
    ident = ca.issue_server(["localhost"], not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    paths = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "cert.pem", "key": tmp_path / "key.pem"}
    paths["ca"].write_bytes(ca.root_pem())
    ident.write(paths["cert"], paths["key"])
    exc = _handshake_error(_pair(paths, ssl.TLSVersion.TLSv1_3, client_kind, ssl.SSLContext))
    assert isinstance(exc, ssl.SSLCertVerificationError)
    assert (exc.verify_code, exc.verify_message) == (10, "certificate has expired")


@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_alert_from_the_peer_names_it_as_openssl(files: dict[str, Path], client_kind: type) -> None:
    """A TLS 1.3-only client, a TLS 1.2-only stdlib server: the server refuses, and the client
    sees its protocol_version alert as OpenSSL names it."""
    client_ctx, _ = contexts(client_kind, files, ssl.TLSVersion.TLSv1_3)
    _, server_ctx = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_2)
    pair = Pair(client_ctx, server_ctx)
    with pytest.raises(ssl.SSLWantReadError):
        pair.client.do_handshake()
    pair.move()
    with pytest.raises(ssl.SSLError):
        pair.server.do_handshake()
    pair.move()
    with pytest.raises(ssl.SSLError) as caught:
        pair.client.do_handshake()
    assert caught.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION" and caught.value.library == "SSL"


@pytest.mark.parametrize("kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_ssl_cert_file_honoured(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, kind: type) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(files["ca"]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    client_ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.set_default_verify_paths()
    _, server_ctx = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_3)
    Pair(client_ctx, server_ctx).handshake()  # trusted only through the file SSL_CERT_FILE names


@pytest.mark.parametrize(("option", "version", "key_label"), [
    (ssl.OP_NO_TLSv1_3, "TLSv1.2", "CLIENT_RANDOM "), (ssl.OP_NO_TLSv1_2, "TLSv1.3", "CLIENT_TRAFFIC_SECRET_0 "),
])  # fmt: skip
def test_options_keylog_and_resumption(files: dict[str, Path], tmp_path: Path, option: int, version: str,
                                       key_label: str) -> None:  # fmt: skip
    client_ctx, server_ctx = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_2)
    client_ctx.maximum_version = server_ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    client_ctx.options |= option
    client_ctx.keylog_filename = str(tmp_path / "keys.log")
    first = Pair(client_ctx, server_ctx)
    first.handshake()
    assert first.client.version() == version and not first.client.session_reused
    assert key_label in (tmp_path / "keys.log").read_text()
    first.server.write(b"x")  # TLS 1.3 tickets come after the handshake: read past them
    first.move()
    assert first.client.read() == b"x"
    session = first.client.session
    assert session is not None
    second = Pair(client_ctx, server_ctx, session=session)
    second.handshake()
    assert second.client.session_reused and second.server.session_reused


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
def test_getpeercert_same_as_stdlib(files: dict[str, Path], version: ssl.TLSVersion) -> None:
    seen = []
    for kind in (GlassContext, ssl.SSLContext):
        pair = _pair(files, version, kind, ssl.SSLContext)
        pair.handshake()
        seen.append((pair.client.getpeercert(), pair.client.getpeercert(binary_form=True)))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("client_kind", [GlassContext, ssl.SSLContext], ids=["glasstls", "stdlib"])
def test_no_ca_loaded_fails_the_chain(files: dict[str, Path], client_kind: type) -> None:
    _, server_ctx = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_3)
    exc = _handshake_error(Pair(client_kind(ssl.PROTOCOL_TLS_CLIENT), server_ctx))
    assert isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code == 20


def _drain(obj: Any, into: bytearray, size: int, use_buffer: bool, calls: int) -> list[int]:
    """Read what ``obj`` has, at most ``calls`` times, until SSLWantReadError; the length of each read."""
    lengths: list[int] = []
    buffer = bytearray(size)
    for _ in range(calls):
        try:
            if use_buffer:
                count = obj.read(size, buffer)
                into += buffer[:count]
                lengths.append(count)
            else:
                chunk = obj.read(size)
                into += chunk
                lengths.append(len(chunk))
        except ssl.SSLWantReadError:
            break
    return lengths


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize(("side", "client_kind", "server_kind"), glass_sides())
@pytest.mark.parametrize("use_buffer", [False, True], ids=["read", "read_into"])
def test_large_writes_and_reads_in_every_size(
    files: dict[str, Path], version: ssl.TLSVersion, side: str, client_kind: type, server_kind: type, use_buffer: bool
) -> None:
    """A write larger than the slice glasstls seals at once (io.payload.SEND_SLICE), of memoryviews and
    bytearrays too, arrives whole at OpenSSL, and the reverse: reads of every size take the
    records' data in order, never more than asked (into a buffer: no more than it holds)."""
    pair = _pair(files, version, client_kind, server_kind)
    pair.handshake()
    for data in (bytes(range(256)) * 4099, memoryview(bytes(range(7, 256)) * 300), bytearray(b"x" * (128 * 1024 + 1))):
        expected = bytes(data)
        for writer, reader in ((pair.client, pair.server), (pair.server, pair.client)):
            assert writer.write(data) == len(expected)
            pair.move()
            got = bytearray()
            for size, calls in ((1, 3), (100, 3), (5000, 3), (1 << 16, 3), (1 << 20, 1000)):
                lengths = _drain(reader, got, size, use_buffer, calls)
                assert all(0 < length <= size for length in lengths)
            assert bytes(got) == expected
            assert reader.pending() == 0


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("kind", [ssl.SSLContext, GlassContext], ids=["stdlib", "glasstls"])
def test_no_write_after_a_truncation_or_our_own_unwrap(
    files: dict[str, Path], version: ssl.TLSVersion, kind: type
) -> None:
    """As OpenSSL: once a read met the end of the stream without close_notify (SSLEOFError), a write
    raises SSLEOFError too rather than queue records for a peer that is gone; after our unwrap() a write is
    PROTOCOL_IS_SHUTDOWN (found by a helper's differential review: glasstls queued the first and said
    SSLZeroReturnError to the second)."""
    client, _ = contexts(kind, files, version)
    _, server = contexts(ssl.SSLContext, files, version)
    pair = Pair(client, server)
    pair.handshake()
    pair.server.write(b"data")
    pair.move()
    assert pair.client.read(100) == b"data"
    pair.c_in.write_eof()  # the transport's end, without the server's close_notify
    with pytest.raises(ssl.SSLEOFError):
        pair.client.read(100)
    queued = pair.c_out.pending
    with pytest.raises(ssl.SSLEOFError):
        pair.client.write(b"more")
    assert pair.c_out.pending == queued
    other = Pair(*[contexts(kind, files, version)[0], server])
    other.handshake()
    with pytest.raises(ssl.SSLWantReadError):
        other.client.unwrap()
    with pytest.raises(ssl.SSLError) as refused:
        other.client.write(b"more")
    assert refused.value.reason == "PROTOCOL_IS_SHUTDOWN", refused.value


@pytest.mark.parametrize("kind", [ssl.SSLContext, GlassContext])
def test_unwrap_before_the_handshake_is_shutdown_while_in_init(files: dict[str, Path], kind: type) -> None:
    """As OpenSSL's SSL_shutdown in the handshake: an error, and nothing sent. glasstls sent a ClientHello,
    then a cancel, and every later unwrap() wanted to read for ever."""
    client_ctx, _ = contexts(kind, files, ssl.TLSVersion.TLSv1_3)
    c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    with pytest.raises(ssl.SSLError, match="SHUTDOWN_WHILE_IN_INIT"):
        client.unwrap()
    assert c_out.pending == 0


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("server_kind", [ssl.SSLContext, GlassContext])
def test_a_handshake_the_client_cancels_is_a_zero_return_at_the_server(
    files: dict[str, Path], version: ssl.TLSVersion, server_kind: type
) -> None:
    """A glasstls client cancels (user_canceled, close_notify) after the ClientHello: the server's
    do_handshake raises SSLZeroReturnError, as OpenSSL's does (it raised an SSLError naming the alert)."""
    _, server_ctx = contexts(server_kind, files, version)
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    client = glasstls.ClientConnection(
        glasstls.ClientConfig(trust_store=glasstls.TrustStore.from_pem(files["ca"].read_bytes())), "localhost"
    )
    client.close()  # the ClientHello went out (queued), then the cancel
    s_in.write(client.data_to_send())
    with pytest.raises(ssl.SSLZeroReturnError):
        server.do_handshake()
