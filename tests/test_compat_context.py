"""glasstls.compat.SSLContext where libraries look at the context itself: ``isinstance`` with the
stdlib's class, ``PROTOCOL_TLS``, and the server's ``sni_callback``. Each behaviour is run with
``ssl.SSLContext`` too, in memory against the stdlib's SSLObject (test_compat_bio.Pair)."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import pytest

from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA
from test_compat_bio import VERSIONS, Pair, contexts

KINDS = [GlassContext, ssl.SSLContext]
KIND_IDS = ["glasstls", "stdlib"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One root; a chain for localhost and one for other.example, each in its own files."""
    ca = ThrowawayCA.create()
    base = tmp_path_factory.mktemp("compat-sni")
    paths = {"ca": base / "ca.pem", "cert": base / "cert.pem", "key": base / "key.pem",
             "other_cert": base / "other.pem", "other_key": base / "other.key"}  # fmt: skip
    paths["ca"].write_bytes(ca.root_pem())
    ca.issue_server(["localhost", "127.0.0.1"]).write(paths["cert"], paths["key"])
    ca.issue_server(["other.example"]).write(paths["other_cert"], paths["other_key"])
    return paths


def test_an_ssl_sslcontext_to_every_isinstance_check() -> None:
    ctx = GlassContext(ssl.PROTOCOL_TLS_CLIENT)
    assert isinstance(ctx, ssl.SSLContext)  # aiohttp and httpx check this before they use a context
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT and isinstance(ctx.protocol, ssl._SSLMethod)
    ctx.keylog_filename = None  # the glasstls attribute, not OpenSSL's file-opening descriptor
    ctx.options |= ssl.OP_NO_TICKET
    assert ctx.options & ssl.OP_NO_TICKET and isinstance(ctx.options, ssl.Options)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_protocol_tls_serves_either_side_unverified(files: dict[str, Path], kind: type) -> None:
    """The older PROTOCOL_TLS (urllib3 1.26, vendored by pip, still uses it): either side, and
    no verification until asked for."""
    with pytest.warns(DeprecationWarning, match="PROTOCOL_TLS is deprecated"):  # both, as _ssl.c
        client, server = kind(ssl.PROTOCOL_TLS), kind(ssl.PROTOCOL_TLS)
    assert client.check_hostname is False and client.verify_mode == ssl.CERT_NONE
    server.load_cert_chain(str(files["cert"]), str(files["key"]))
    pair = Pair(client, server, hostname="localhost")
    pair.handshake()
    assert pair.client.version() == "TLSv1.3" and pair.client.getpeercert() == {}


def _sni_server(kind: type, files: dict[str, Path], version: ssl.TLSVersion) -> tuple[ssl.SSLContext, list]:
    """A server whose sni_callback switches to the other.example chain, recording its calls."""
    _, server = contexts(kind, files, version)
    other = kind(ssl.PROTOCOL_TLS_SERVER)
    other.load_cert_chain(str(files["other_cert"]), str(files["other_key"]))
    calls: list = []

    def choose(sslobj, name, ctx):  # as the stdlib documents it: (SSLObject, name or None, context)
        calls.append((name, ctx is server, sslobj.server_side))
        if name == "other.example":
            sslobj.context = other
        if name == "refused.example":
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    server.sni_callback = choose
    return server, calls


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("server_kind", KINDS, ids=KIND_IDS)
def test_sni_callback_switches_the_context(files: dict[str, Path], version: ssl.TLSVersion, server_kind: type) -> None:
    server, calls = _sni_server(server_kind, files, version)
    client, _ = contexts(ssl.SSLContext, files, version)
    pair = Pair(client, server, hostname="other.example")
    pair.handshake()  # verified for other.example: the other chain was served
    assert pair.client.getpeercert()["subjectAltName"] == (("DNS", "other.example"),)
    assert calls[0] == ("other.example", True, True)
    default = Pair(client, server, hostname="localhost")
    default.handshake()
    assert default.client.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("server_kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("client_kind", KINDS, ids=KIND_IDS)
def test_sni_callback_refuses_with_its_alert(files: dict[str, Path], version: ssl.TLSVersion, server_kind: type,
                                             client_kind: type) -> None:  # fmt: skip
    server, _ = _sni_server(server_kind, files, version)
    client, _ = contexts(client_kind, files, version)
    client.check_hostname = False
    client_error, server_error = _both_errors(Pair(client, server, hostname="refused.example"))
    assert client_error.reason == "TLSV1_UNRECOGNIZED_NAME"
    assert server_error.reason == "CALLBACK_FAILED"


def _both_errors(pair: Pair) -> tuple[ssl.SSLError, ssl.SSLError]:
    """Each side's handshake error: the server fails on the hello, the client on the alert."""
    errors: dict[str, ssl.SSLError] = {}
    for _ in range(10):
        for name, obj in (("client", pair.client), ("server", pair.server)):
            if name not in errors:
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    errors[name] = exc
        pair.move()
        if len(errors) == 2:
            return errors["client"], errors["server"]
    raise AssertionError(f"both sides should fail: {errors}")


@pytest.mark.parametrize("server_kind", KINDS, ids=KIND_IDS)
def test_sni_callback_that_raises_refuses_the_handshake(files: dict[str, Path], server_kind: type) -> None:
    _, server = contexts(server_kind, files, ssl.TLSVersion.TLSv1_3)
    server.sni_callback = lambda sslobj, name, ctx: 1 / 0
    client, _ = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_3)
    unraisable: list = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append  # the stdlib reports it there
    try:
        client_error, server_error = _both_errors(Pair(client, server))
    finally:
        sys.unraisablehook = hook
    assert client_error.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
    assert server_error.reason in ("CALLBACK_FAILED", "SSLV3_ALERT_HANDSHAKE_FAILURE")
    with pytest.raises(TypeError):
        server.sni_callback = "not callable"


@pytest.mark.parametrize("server_kind", KINDS, ids=KIND_IDS)
def test_sni_callback_without_a_name(files: dict[str, Path], server_kind: type) -> None:
    server, calls = _sni_server(server_kind, files, ssl.TLSVersion.TLSv1_3)
    client, _ = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_3)
    client.check_hostname = False
    Pair(client, server, hostname=None).handshake()
    assert calls == [(None, True, True)]


@pytest.mark.parametrize(
    ("client_kind", "server_kind"), [(GlassContext, ssl.SSLContext), (ssl.SSLContext, GlassContext)],
    ids=["glass-client", "glass-server"],
)  # fmt: skip
def test_tls_unique_as_openssl(files: dict[str, Path], client_kind: type, server_kind: type) -> None:
    """RFC 5929, Section 3.1: the first Finished, the client's in a full TLS 1.2 handshake and the
    server's in a resumed one; both sides agree with OpenSSL on the other end."""
    client, _ = contexts(client_kind, files, ssl.TLSVersion.TLSv1_2)
    _, server = contexts(server_kind, files, ssl.TLSVersion.TLSv1_2)
    full = Pair(client, server)
    assert full.client.get_channel_binding("tls-unique") is None  # before the handshake, as the stdlib
    full.handshake()
    unique = full.client.get_channel_binding("tls-unique")
    assert unique == full.server.get_channel_binding("tls-unique") and len(unique) == 12
    resumed = Pair(client, server, session=full.client.session)
    resumed.handshake()
    assert resumed.client.session_reused and resumed.server.session_reused
    again = resumed.client.get_channel_binding()
    assert again == resumed.server.get_channel_binding() and again != unique


@pytest.mark.parametrize("server_kind", KINDS, ids=KIND_IDS)
def test_shared_ciphers_on_the_server_only(files: dict[str, Path], server_kind: type) -> None:
    client, _ = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_2)
    client.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    _, server = contexts(server_kind, files, ssl.TLSVersion.TLSv1_2)
    pair = Pair(client, server)
    assert pair.server.shared_ciphers() is None  # no hello yet
    pair.handshake()
    assert pair.server.shared_ciphers() == [("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128)]
    assert pair.client.shared_ciphers() is None  # OpenSSL reports them to a server only


def test_profile_is_the_security_level(files: dict[str, Path]) -> None:
    """The glasstls profile in place of OpenSSL's @SECLEVEL: modern refuses a TLS 1.2-only server."""
    client, _ = contexts(GlassContext, files, ssl.TLSVersion.TLSv1_2)
    assert client.profile == "intermediate" and client.security_level == 2
    with pytest.raises(ValueError, match="unknown profile"):
        client.profile = "paranoid"
    client.profile = "modern"
    assert client.security_level == 3
    assert {c["name"] for c in client.get_ciphers()} == {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                                        "TLS_CHACHA20_POLY1305_SHA256"}  # fmt: skip
    _, server = contexts(ssl.SSLContext, files, ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError, match="NO_PROTOCOLS_AVAILABLE"):  # TLS 1.3 floor, TLS 1.2 ceiling
        Pair(client, server)
    client.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    exc = _both_errors(Pair(client, server))[0]
    assert isinstance(exc, ssl.SSLError) and exc.reason == "TLSV1_ALERT_PROTOCOL_VERSION"
    client.profile = "legacy"
    assert client.security_level == 1
    Pair(client, server).handshake()


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_arguments_refused_as_the_stdlib_refuses_them(files: dict[str, Path], kind: type) -> None:
    """Found by a helper's differential review: glasstls took an sni_callback on a client context (which
    never hears a client's name) and read cadata=5 as five zero bytes (an SSLError about DER)."""
    client = kind(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ValueError, match="sni_callback cannot be set on TLS_CLIENT context"):
        client.sni_callback = lambda *args: None
    with pytest.raises(ValueError, match="sni_callback cannot be set on TLS_CLIENT context"):
        client.set_servername_callback(lambda *args: None)
    kind(ssl.PROTOCOL_TLS_SERVER).sni_callback = lambda *args: None  # a server's is fine
    with pytest.raises(TypeError, match="cadata should be"):
        client.load_verify_locations(cadata=5)
    der = ssl.PEM_cert_to_DER_cert(files["ca"].read_text())
    client.load_verify_locations(cadata=bytearray(der))
    assert client.cert_store_stats()["x509_ca"] == 1
