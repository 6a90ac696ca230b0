"""glasstls against Python's ssl (OpenSSL) and tlslite-ng, measured in one run.

    .venv/bin/python bench/bench.py [--seconds 2] [--profile]

Two metrics, each stack measured the same way, client and server in one
process, bytes moved in memory (no sockets, no threads):

* full TLS 1.3 handshakes per second: X25519, an ECDSA P-256 server
  certificate under a throwaway root and intermediate, the client verifying
  the chain and the host name (tlslite-ng cannot: it has no X.509 path
  validation, so it only checks the CertificateVerify signature);
* bulk MB/s (10^6 bytes): 16 KiB writes from client to server with
  TLS_AES_128_GCM_SHA256, counting the bytes the server decrypted.

Python 3.11's ssl has no API for the TLS 1.3 suites (there is no
``SSLContext.set_ciphersuites``) and OpenSSL's default order puts
TLS_AES_256_GCM_SHA384 first, so this script points OPENSSL_CONF at a file
restricting the suites to TLS_AES_128_GCM_SHA256 and the groups to X25519
*before* ``ssl`` is imported, and checks what was negotiated. Servers send no
session tickets (glasstls has none yet; OpenSSL's ``num_tickets`` and
tlslite-ng's ``ticket_count`` are set to 0), so a handshake is the same work
for all three. This is a script that prints numbers, not a timed test.
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
import cProfile  # noqa: E402
import errno  # noqa: E402
import pstats  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from glasstls import (  # noqa: E402
    ApplicationData,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    NamedGroup,
    ServerConfig,
    ServerConnection,
)
from glasstls.x509.mint import Identity, ThrowawayCA  # noqa: E402
from glasstls.x509.store import TrustStore  # noqa: E402

HOST = "localhost"
WRITE = 16 * 1024
MB = 1_000_000


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
    server: Identity
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


def make_pki(directory: Path) -> Pki:
    ca = ThrowawayCA.create("bench root", key_type="ecdsa-p256")  # root and one intermediate
    server = ca.issue_server([HOST], key_type="ecdsa-p256")
    pki = Pki(ca, server, directory)
    pki.root_file.write_bytes(ca.root_pem())
    server.write(pki.chain_file, pki.key_file)
    return pki


# -- glasstls -----------------------------------------------------------------------------


class Glasstls:
    name = "glasstls"

    def __init__(self, pki: Pki) -> None:
        suite = (CipherSuite.TLS_AES_128_GCM_SHA256,)
        self.client_config = ClientConfig(
            trust_store=TrustStore.from_pem(pki.ca.root_pem()),  # verification on, anchors built once
            cipher_suites=suite,
            groups=(NamedGroup.x25519,),
        )
        self.server_config = ServerConfig(
            certificates=(CertifiedKey(pki.server.chain, pki.server.private_key),),
            cipher_suites=suite,
            groups=(NamedGroup.x25519,),
        )

    def pair(self) -> tuple[ClientConnection, ServerConnection]:
        client = ClientConnection(self.client_config, server_name=HOST)
        server = ServerConnection(self.server_config)
        server.receive_bytes(client.data_to_send())  # ClientHello
        client.receive_bytes(server.data_to_send())  # ServerHello … Finished
        server.receive_bytes(client.data_to_send())  # (CCS) Finished
        for side in (client, server):
            if not side.handshake_complete:
                raise RuntimeError(f"glasstls {side.side} did not complete the handshake: {side.error}")
        return client, server

    def handshake(self) -> int:
        self.pair()
        return 1

    def negotiated(self) -> str:
        client, _ = self.pair()
        p = client.parameters
        assert p is not None
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


# -- Python's ssl ---------------------------------------------------------------------------

_SERVER_HELLO, _KEY_SHARE = 2, 51
_GROUP_NAMES = {0x001D: "x25519", 0x0017: "secp256r1", 0x0018: "secp384r1", 0x001E: "x448", 0x11EC: "X25519MLKEM768"}


def _server_hello_group(message: bytes) -> str | None:
    """The key_share group of a ServerHello (RFC 8446, Section 4.1.3 and 4.2.8), from its raw bytes."""
    pos = 4 + 2 + 32  # handshake header, legacy_version, random
    pos += 1 + message[pos]  # legacy_session_id_echo
    pos += 2 + 1 + 2  # cipher_suite, legacy_compression_method, extensions length
    while pos + 4 <= len(message):
        kind, length = int.from_bytes(message[pos : pos + 2], "big"), int.from_bytes(message[pos + 2 : pos + 4], "big")
        if kind == _KEY_SHARE:
            group = int.from_bytes(message[pos + 4 : pos + 6], "big")
            return _GROUP_NAMES.get(group, f"0x{group:04x}")
        pos += 4 + length
    return None


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

    def pair(self) -> tuple[ssl.SSLObject, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO]:
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = self.client_context.wrap_bio(c_in, c_out, server_hostname=HOST)
        server = self.server_context.wrap_bio(s_in, s_out, server_side=True)
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

    def handshake(self) -> int:
        self.pair()
        return 1

    def negotiated(self) -> str:
        seen: list[str | None] = []

        def watch(conn, direction, version, content_type, msg_type, data) -> None:
            if direction == "read" and msg_type == _SERVER_HELLO and content_type == ssl._TLSContentType.HANDSHAKE:
                seen.append(_server_hello_group(data))

        callback = getattr(ssl.SSLContext, "_msg_callback", None)
        if callback is not None:  # a private debugging hook of CPython's ssl
            self.client_context._msg_callback = watch  # type: ignore[attr-defined]
        try:
            client, *_ = self.pair()
        finally:
            if callback is not None:
                self.client_context._msg_callback = None  # type: ignore[attr-defined]
        suite, version, _bits = client.cipher() or ("?", "?", 0)
        group = seen[0] if seen else "group unknown"
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
        from tlslite.api import HandshakeSettings, X509CertChain, parsePEMKey
        from tlslite.utils import cryptomath

        self._settings_class = HandshakeSettings
        self.chain = X509CertChain()
        self.chain.parsePemList(pki.chain_file.read_text())
        self.key = parsePEMKey(pki.key_file.read_text(), private=True)
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

    def pair(self):
        from tlslite.api import TLSConnection

        to_server, to_client = _Pipe(), _Pipe()
        client = TLSConnection(_MemorySocket(to_client, to_server))
        server = TLSConnection(_MemorySocket(to_server, to_client))
        steps = [
            client.handshakeClientCert(serverName=HOST, settings=self.settings(), async_=True),
            server.handshakeServerAsync(certChain=self.chain, privateKey=self.key, settings=self.settings()),
        ]
        done = [False, False]
        for _ in range(10):
            for index, step in enumerate(steps):
                if not done[index]:
                    done[index] = _run_until_blocked(step)
            if all(done):
                return client, server
        raise RuntimeError("tlslite-ng handshake did not complete")

    def handshake(self) -> int:
        self.pair()
        return 1

    def negotiated(self) -> str:
        client, _ = self.pair()
        version = {(3, 4): "TLSv1.3"}.get(client.version, str(client.version))
        return (
            f"{version}, {client.getCipherName()} ({client.getCipherImplementation()}), "
            f"{_GROUP_NAMES.get(client.ecdhCurve, client.ecdhCurve)}, no chain validation ({self.backend})"
        )

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
    """One stack's measurements: the handshake and bulk rates of each round."""

    handshake: Callable[[], int]
    bulk: Callable[[], int]
    handshakes: list[Rate] = field(default_factory=list)
    megabytes: list[Rate] = field(default_factory=list)

    def median(self, metric: str) -> float:
        return statistics.median(r.value for r in getattr(self, metric))

    def spread(self, metric: str) -> str:
        values = [r.value for r in getattr(self, metric)]
        count = sum(r.count for r in getattr(self, metric))
        return f"{_fmt(min(values))}-{_fmt(max(values))} ({count} ops)"


def measure(results: dict[str, Result], seconds: float, warmup: float, rounds: int) -> None:
    """Warm every operation up, then time them in interleaved rounds of ``seconds / rounds``.

    Interleaving spreads drifts in machine load (a shared VM, a CPU changing speed)
    over every stack alike instead of charging them to whichever ran at the wrong moment.
    """
    for result in results.values():
        rate(result.handshake, 0, warmup)
        rate(result.bulk, 0, warmup)
    for _ in range(rounds):
        for result in results.values():
            result.handshakes.append(rate(result.handshake, seconds / rounds, 0))
    for _ in range(rounds):
        for result in results.values():
            bulk = rate(result.bulk, seconds / rounds, 0)
            result.megabytes.append(Rate(bulk.value / MB, bulk.count, bulk.elapsed))


def profile_handshakes(stack: Glasstls, seconds: float, top: int = 25) -> None:
    for _ in range(20):  # warm up caches before profiling
        stack.handshake()
    profiler = cProfile.Profile()
    count, stop = 0, time.perf_counter() + seconds
    profiler.enable()
    while time.perf_counter() < stop:
        stack.handshake()
        count += 1
    profiler.disable()
    print(f"\nglasstls handshake profile: {count} handshakes (client + server) under cProfile, {seconds:g} s")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print(f"-- top {top} by cumulative time --")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    print("-- top 15 by own time --")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(15)


ROWS = (
    ("handshakes/s (full, verify on)", "handshakes"),
    ("bulk MB/s (16 KiB writes, AES-128-GCM)", "megabytes"),
)
STACKS = ("glasstls", "python ssl", "tlslite-ng")


def print_table(results: dict[str, Result]) -> None:
    header = ("metric", *STACKS, "glasstls/ssl", "glasstls/tlslite")
    widths = (40, 10, 11, 11, 13, 16)
    print()
    print(_row(header, widths))
    for label, metric in ROWS:
        g, s, t = (results[name].median(metric) if name in results else None for name in STACKS)
        print(_row((label, _fmt(g), _fmt(s), _fmt(t), _ratio(g, s), _ratio(g, t)), widths))
    print()
    for name, result in results.items():
        print(f"  {name:<11} rounds: handshakes/s {result.spread('handshakes')}; MB/s {result.spread('megabytes')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed duration of each measurement (2)")
    parser.add_argument("--warmup", type=float, default=None, help="untimed warm-up before each (seconds/5)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the timed seconds are cut into (4)")
    parser.add_argument("--profile", action="store_true", help="profile glasstls handshakes instead of benchmarking")
    parser.add_argument("--no-tlslite", action="store_true", help="leave tlslite-ng out")
    args = parser.parse_args(argv)
    warmup = args.seconds / 5 if args.warmup is None else args.warmup

    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        pki = make_pki(Path(directory))
        glass = Glasstls(pki)
        if args.profile:
            profile_handshakes(glass, args.seconds)
            return 0

        stacks: list = [glass, PythonSsl(pki)]
        skipped = ""
        if args.no_tlslite:
            skipped = "tlslite-ng: skipped (--no-tlslite)"
        else:
            try:
                stacks.append(Tlslite(pki))
            except ImportError as exc:
                skipped = f"tlslite-ng: skipped (not importable: {exc})"

        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {_OPENSSL_NOTE}")
        print(
            f"each measurement: {warmup:g} s warm-up, then {args.seconds:g} s timed in {args.rounds} interleaved "
            "rounds (median shown); client and server in one process, in memory"
        )
        results: dict[str, Result] = {}
        for stack in stacks:
            try:
                print(f"  {stack.name:<11} negotiated: {stack.negotiated()}")
                results[stack.name] = Result(stack.handshake, stack.bulk())
            except Exception as exc:  # a stack that breaks is reported, not fatal
                if stack.name != Tlslite.name:
                    raise
                skipped = f"tlslite-ng: skipped ({type(exc).__name__}: {exc})"
        if skipped:
            print(skipped)
        measure(results, args.seconds, warmup, args.rounds)

        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
