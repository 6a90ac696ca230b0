"""glasstls against Python's ssl (OpenSSL) and tlslite-ng, measured in one run.

    .venv/bin/python bench/bench.py [--seconds 2] [--profile]

Four metrics, each stack measured the same way, client and server in one
process, bytes moved in memory (no sockets, no threads):

* full TLS 1.3 handshakes per second: X25519, an ECDSA P-256 server
  certificate under a throwaway root and intermediate, the client verifying
  the chain and the host name (tlslite-ng cannot: it has no X.509 path
  validation, so it only checks the CertificateVerify signature);
* TLS 1.3 bulk MB/s (10^6 bytes): 16 KiB writes from client to server with
  TLS_AES_128_GCM_SHA256, counting the bytes the server decrypted;
* full TLS 1.2 handshakes per second: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  with X25519 and an RSA-2048 server certificate under the same root, the
  client verifying as above, the extended master secret on (RFC 7627);
* TLS 1.2 session-ID resumptions per second (RFC 5246, Section 7.4.1.2): the
  client offers the session of one earlier full handshake and the server finds
  it in its session cache; no certificate, no key exchange, no signature. Every
  resumption is checked to have really resumed, and then both sides send
  close_notify: OpenSSL drops a session from the server's cache, and marks it
  not resumable on the client, when an SSL object that used it is freed without
  having sent one (``ssl_clear_bad_session``), so the ssl peers must; the other
  two stacks do the same and pay for the same two records.

Python 3.11's ssl has no API for the TLS 1.3 suites (there is no
``SSLContext.set_ciphersuites``) and OpenSSL's default order puts
TLS_AES_256_GCM_SHA384 first, so this script points OPENSSL_CONF at a file
restricting the suites to TLS_AES_128_GCM_SHA256 and the groups to X25519
*before* ``ssl`` is imported, and checks what was negotiated. Servers send no
session tickets in either version (OpenSSL's ``num_tickets`` = 0 and
``OP_NO_TICKET``, glasstls's ``session_tickets=False``, tlslite-ng's
``ticket_count`` = 0), so a TLS 1.3 handshake is the same work for all three and
TLS 1.2 resumption goes by session ID. Each TLS 1.2 metric has its own server
session cache, so the full handshakes cannot evict the session being resumed.
This is a script that prints numbers, not a timed test.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile

_OPENSSL_CONF = """\
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = TLS_AES_128_GCM_SHA256
Groups = X25519
"""


def _restrict_openssl() -> str:
    """Point OPENSSL_CONF at a file that pins the TLS 1.3 suite and group; must run before ``import ssl``."""
    if "ssl" in sys.modules:
        return "ssl was imported before the OpenSSL configuration could be set: OpenSSL defaults apply"
    fd, path = tempfile.mkstemp(prefix="glasstls-bench-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write(_OPENSSL_CONF)
    atexit.register(os.unlink, path)
    previous = os.environ.get("OPENSSL_CONF")
    os.environ["OPENSSL_CONF"] = path
    note = f"OPENSSL_CONF={path} (Ciphersuites = TLS_AES_128_GCM_SHA256, Groups = X25519)"
    return note + (f", replacing {previous}" if previous else "")


_OPENSSL_NOTE = _restrict_openssl()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import errno  # noqa: E402
import pstats  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from glasstls import (  # noqa: E402
    ApplicationData,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    NamedGroup,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
    SignatureScheme,
)
from glasstls.x509.mint import Identity, ThrowawayCA  # noqa: E402
from glasstls.x509.store import TrustStore  # noqa: E402

HOST = "localhost"
WRITE = 16 * 1024
MB = 1_000_000

TLS12_SUITE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
TLS12_OPENSSL_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"

# The metrics, in the order they are measured and printed: (key, label in the table).
METRICS = (
    ("handshakes", "TLS 1.3 handshakes/s (full, verify on)"),
    ("megabytes", "TLS 1.3 bulk MB/s (16 KiB, AES-128-GCM)"),
    ("handshakes12", "TLS 1.2 handshakes/s (full, ECDHE-RSA)"),
    ("resumptions12", "TLS 1.2 resumptions/s (session ID)"),
)
# What each stack is set up to negotiate for a metric (the bulk transfer runs on a TLS 1.3 handshake's keys).
SETUPS = {
    "handshakes": "TLS 1.3 full handshake, then bulk",
    "handshakes12": f"TLS 1.2 full handshake, {TLS12_SUITE}",
    "resumptions12": "TLS 1.2 session-ID resumption",
}


class NotNegotiated(RuntimeError):
    """A stack negotiated something other than what its row claims."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise NotNegotiated(what)


# -- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    value: float  # per second
    count: int  # operations timed
    elapsed: float


def rate(operation: Callable[[], int], seconds: float, warmup: float) -> Rate:
    """Run ``operation`` (which returns how much it did) for ``warmup`` untimed, then ``seconds`` timed.

    The clock is read after every operation, so a slow one (tlslite-ng's pure-Python
    AES-GCM) overshoots by at most itself.
    """
    clock = time.perf_counter
    stop = clock() + warmup
    while clock() < stop:
        operation()
    done, start = 0, clock()
    stop = start + seconds
    operations = 0
    while True:
        done += operation()
        operations += 1
        now = clock()
        if now >= stop:
            break
    return Rate(done / (now - start), operations, now - start)


# -- the PKI, shared by the three stacks ------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: ThrowawayCA
    server: Identity  # ECDSA P-256, for TLS 1.3
    rsa_server: Identity  # RSA-2048, for TLS 1.2 ECDHE-RSA
    directory: Path  # the same certificates as PEM files, for ssl and tlslite-ng

    @property
    def root_file(self) -> Path:
        return self.directory / "root.pem"

    @property
    def chain_file(self) -> Path:
        return self.directory / "chain.pem"

    @property
    def key_file(self) -> Path:
        return self.directory / "key.pem"

    @property
    def rsa_chain_file(self) -> Path:
        return self.directory / "rsa-chain.pem"

    @property
    def rsa_key_file(self) -> Path:
        return self.directory / "rsa-key.pem"


def make_pki(directory: Path) -> Pki:
    ca = ThrowawayCA.create("bench root", key_type="ecdsa-p256")  # root and one intermediate
    server = ca.issue_server([HOST], key_type="ecdsa-p256")
    rsa_server = ca.issue_server([HOST], key_type="rsa2048")
    pki = Pki(ca, server, rsa_server, directory)
    pki.root_file.write_bytes(ca.root_pem())
    server.write(pki.chain_file, pki.key_file)
    rsa_server.write(pki.rsa_chain_file, pki.rsa_key_file)
    return pki


# -- glasstls -----------------------------------------------------------------------------


class Glasstls:
    name = "glasstls"

    def __init__(self, pki: Pki) -> None:
        suite = (CipherSuite.TLS_AES_128_GCM_SHA256,)
        trust = TrustStore.from_pem(pki.ca.root_pem())  # verification on, anchors built once
        self.client_config = ClientConfig(trust_store=trust, cipher_suites=suite, groups=(NamedGroup.x25519,))
        self.server_config = ServerConfig(
            certificates=(CertifiedKey(pki.server.chain, pki.server.private_key),),
            cipher_suites=suite,
            groups=(NamedGroup.x25519,),
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

    def negotiated(self) -> str:
        client, _ = self.pair()
        p = client.parameters
        assert p is not None
        expect((p.version, p.cipher_suite, p.group) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519"), str(p))
        return f"{p.version}, {p.cipher_suite}, {p.group}, {p.signature_scheme}, chain verified"

    def bulk(self) -> Callable[[], int]:
        client, server = self.pair()
        data = bytes(WRITE)

        def write() -> int:
            client.send(data)
            got = 0
            for event in server.receive_bytes(client.data_to_send()):
                if isinstance(event, ApplicationData):
                    got += len(event.data)
            return got

        return write

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


# -- Python's ssl ---------------------------------------------------------------------------

_SERVER_HELLO, _SERVER_KEY_EXCHANGE, _KEY_SHARE, _EMS = 2, 12, 51, 23
_GROUP_NAMES = {0x001D: "x25519", 0x0017: "secp256r1", 0x0018: "secp384r1", 0x001E: "x448", 0x11EC: "X25519MLKEM768"}


def _group_name(group: int) -> str:
    return _GROUP_NAMES.get(group, f"0x{group:04x}")


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
    return _group_name(int.from_bytes(share[:2], "big")) if share else None


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
    return _group_name(group), scheme.name


class PythonSsl:
    name = "python ssl"

    def __init__(self, pki: Pki) -> None:
        self.client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for context in (self.client_context, self.server_context):
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
            context.set_ecdh_curve("X25519")  # OpenSSL 3: SSL_CTX_set1_groups with X25519 alone
        self.client_context.load_verify_locations(cafile=pki.root_file)
        self.server_context.load_cert_chain(pki.chain_file, pki.key_file)
        self.server_context.num_tickets = 0

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
        expect((version, suite) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256"), f"{version}, {suite}")
        group = _server_hello_group(seen[_SERVER_HELLO]) if _SERVER_HELLO in seen else "group unknown"
        expect(group in ("x25519", "group unknown"), f"group {group}")
        return f"{version}, {suite}, {group}, chain and host name verified"

    def bulk(self) -> Callable[[], int]:
        client, server, _c_in, c_out, s_in, _s_out = self.pair()
        data = bytes(WRITE)

        def write() -> int:
            client.write(data)
            s_in.write(c_out.read())
            got = 0
            while True:
                try:
                    got += len(server.read(WRITE))
                except ssl.SSLWantReadError:
                    return got

        return write

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


# -- tlslite-ng --------------------------------------------------------------------------------


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


class Tlslite:
    name = "tlslite-ng"

    def __init__(self, pki: Pki) -> None:
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
        accelerated = [
            name
            for name, loaded in (("M2Crypto", cryptomath.m2cryptoLoaded), ("pycrypto", cryptomath.pycryptoLoaded))
            if loaded
        ]
        self.backend = "with " + ", ".join(accelerated) if accelerated else "pure Python: no M2Crypto/pycrypto"

    def settings(self):
        settings = self._settings_class()
        settings.minVersion = settings.maxVersion = (3, 4)
        settings.cipherNames = ["aes128gcm"]
        settings.eccCurves = ["x25519"]
        settings.keyShares = ["x25519"]
        settings.ticket_count = 0
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
        group = _group_name(client.ecdhCurve)
        expect((version, suite, group) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519"), f"{version} {suite}")
        return f"{version}, {suite} ({client.getCipherImplementation()}), {group}, no chain validation ({self.backend})"

    def bulk(self) -> Callable[[], int]:
        client, server = self.pair()
        data = bytes(WRITE)

        def write() -> int:
            for _ in client.writeAsync(data):
                pass
            got = 0
            while True:
                result = None
                for result in server.readAsync(max=WRITE * 4):
                    if isinstance(result, int):
                        return got  # would block: everything sent has been read
                if result is None:
                    return got
                got += len(result)

        return write

    def handshake12(self) -> tuple[str, Callable[[], int]]:
        client, _ = self.pair12(self.session_cache12)
        version, suite = self._describe(client)
        group = _group_name(client.ecdhCurve)
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


# -- the report ---------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """The first column left-aligned, numbers right-aligned."""
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


@dataclass
class Result:
    """One stack's operations (by metric) and the rates of each round."""

    operations: dict[str, Callable[[], int]] = field(default_factory=dict)
    rates: dict[str, list[Rate]] = field(default_factory=dict)

    def median(self, metric: str) -> float | None:
        rates = self.rates.get(metric)
        return statistics.median(r.value for r in rates) if rates else None

    def spread(self, metric: str) -> str:
        rates = self.rates.get(metric)
        if not rates:
            return "-"
        values = [r.value for r in rates]
        count = sum(r.count for r in rates)
        return f"{_fmt(min(values))}-{_fmt(max(values))} ({count} ops)"


def measure(results: dict[str, Result], seconds: float, warmup: float, rounds: int) -> None:
    """Warm every operation up, then time each metric in interleaved rounds of ``seconds / rounds``.

    Interleaving spreads drifts in machine load (a shared VM, a CPU changing speed)
    over every stack alike instead of charging them to whichever ran at the wrong moment.
    """
    for result in results.values():
        for operation in result.operations.values():
            rate(operation, 0, warmup)
    for metric, _label in METRICS:
        for _ in range(rounds):
            for result in results.values():
                if metric not in result.operations:
                    continue
                measured = rate(result.operations[metric], seconds / rounds, 0)
                if metric == "megabytes":
                    measured = Rate(measured.value / MB, measured.count, measured.elapsed)
                result.rates.setdefault(metric, []).append(measured)


def profile_handshakes(stack: Glasstls, seconds: float, tls12: bool = False, top: int = 25) -> None:
    handshake = stack.handshake12()[1] if tls12 else stack.handshake
    for _ in range(20):  # warm up caches before profiling
        handshake()
    profiler = cProfile.Profile()
    count, stop = 0, time.perf_counter() + seconds
    profiler.enable()
    while time.perf_counter() < stop:
        handshake()
        count += 1
    profiler.disable()
    version = "TLS 1.2" if tls12 else "TLS 1.3"
    print(f"\nglasstls {version} handshake profile: {count} handshakes (client + server) under cProfile, {seconds:g} s")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print(f"-- top {top} by cumulative time --")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    print("-- top 15 by own time --")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(15)


STACKS = ("glasstls", "python ssl", "tlslite-ng")


def print_table(results: dict[str, Result]) -> None:
    header = ("metric", *STACKS, "glasstls/ssl", "glasstls/tlslite")
    widths = (40, 10, 11, 11, 13, 16)
    print()
    print(_row(header, widths))
    for metric, label in METRICS:
        g, s, t = (results[name].median(metric) if name in results else None for name in STACKS)
        print(_row((label, _fmt(g), _fmt(s), _fmt(t), _ratio(g, s), _ratio(g, t)), widths))
    print()
    for name, result in results.items():
        spreads = "; ".join(f"{metric} {result.spread(metric)}" for metric, _ in METRICS if metric in result.rates)
        print(f"  {name:<11} rounds: {spreads}")


def set_up(stack: Any) -> tuple[Result, list[str]]:
    """Check what ``stack`` negotiates for each metric and collect its operations.

    A metric tlslite-ng cannot do is reported and left out; glasstls and ssl must do them all.
    """
    result, skipped = Result(), []

    def tls13() -> tuple[str, dict[str, Callable[[], int]]]:
        return stack.negotiated(), {"handshakes": stack.handshake, "megabytes": stack.bulk()}

    def full12() -> tuple[str, dict[str, Callable[[], int]]]:
        description, operation = stack.handshake12()
        return description, {"handshakes12": operation}

    def resumed12() -> tuple[str, dict[str, Callable[[], int]]]:
        description, operation = stack.resumption12()
        return description, {"resumptions12": operation}

    setups = {"handshakes": tls13, "handshakes12": full12, "resumptions12": resumed12}
    for key, setup in setups.items():
        try:
            description, operations = setup()
        except Exception as exc:  # a stack that breaks is reported, not fatal
            if stack.name != Tlslite.name:
                raise
            skipped.append(f"{SETUPS[key]}: skipped ({type(exc).__name__}: {exc})")
            continue
        print(f"  {stack.name:<11} {SETUPS[key]}: {description}")
        result.operations.update(operations)
    return result, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed duration of each measurement (2)")
    parser.add_argument("--warmup", type=float, default=None, help="untimed warm-up before each (seconds/5)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the timed seconds are cut into (4)")
    parser.add_argument("--profile", action="store_true", help="profile glasstls handshakes instead of benchmarking")
    parser.add_argument("--profile-tls12", action="store_true", help="profile glasstls TLS 1.2 ECDHE-RSA handshakes")
    parser.add_argument("--no-tlslite", action="store_true", help="leave tlslite-ng out")
    args = parser.parse_args(argv)
    warmup = args.seconds / 5 if args.warmup is None else args.warmup

    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        pki = make_pki(Path(directory))
        glass = Glasstls(pki)
        if args.profile or args.profile_tls12:
            profile_handshakes(glass, args.seconds, tls12=args.profile_tls12)
            return 0

        stacks: list = [glass, PythonSsl(pki)]
        skipped: list[str] = []
        if args.no_tlslite:
            skipped.append("tlslite-ng: skipped (--no-tlslite)")
        else:
            try:
                stacks.append(Tlslite(pki))
            except ImportError as exc:
                skipped.append(f"tlslite-ng: skipped (not importable: {exc})")

        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {_OPENSSL_NOTE}")
        print(
            f"each measurement: {warmup:g} s warm-up, then {args.seconds:g} s timed in {args.rounds} interleaved "
            "rounds (median shown); client and server in one process, in memory"
        )
        results: dict[str, Result] = {}
        for stack in stacks:
            result, stack_skipped = set_up(stack)
            skipped += [f"{stack.name}: {note}" for note in stack_skipped]
            if result.operations:
                results[stack.name] = result
        for note in skipped:
            print(note)
        measure(results, args.seconds, warmup, args.rounds)

        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
