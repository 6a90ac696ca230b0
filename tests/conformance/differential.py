"""Differential fuzzing: the same mutated handshake sent to glasstls and to OpenSSL, answers compared.

    .venv/bin/python tests/conformance/differential.py hello  [--seed N] [--count N] [--server KIND]
    .venv/bin/python tests/conformance/differential.py flight [--seed N] [--count N]
    .venv/bin/python tests/conformance/differential.py client [--seed N] [--count N]

Not a test (its findings need a reading of the RFCs): a tool that finds where glasstls answers a
hostile peer otherwise than OpenSSL 3's s_server, for a person to judge, and turn into a rule of
rules_*.py when glasstls was wrong (or into README's deliberate differences when OpenSSL is).

* ``hello``: a well-formed TLS 1.3 or 1.2 ClientHello (hostile.hello13/hello12) with one or two
  random mutations (an extension dropped, repeated, emptied, cut, lengthened, added; the suites,
  compression methods, session id, version, supported_versions or key_share changed; a bit
  flipped anywhere), sent to both servers of the configuration ``--server`` (test_conformance's
  SERVERS; OpenSSL's from openssl_target.OPTIONS).
* ``flight``: glasstls's client, with a certificate and no certificate compression, against
  servers that require one ("clientauth"): one message of its second flight (Certificate,
  ClientKeyExchange, CertificateVerify, Finished) mutated on the wire only (a bit flipped, cut,
  bytes appended, a byte set, a length off by one, a random body).

* ``client``: the other way round, glasstls's client and ``openssl s_client`` each facing a
  glasstls server that mutates one of its messages on the wire only (ServerHello, Encrypted-
  Extensions, Certificate, CertificateVerify, Finished; TLS 1.2's ServerKeyExchange and
  ServerHelloDone): the alert each client sends back is compared.

Each probe prints nothing when both sides answered alike (the same alert, or both went on);
otherwise a line with what was changed and both answers. Probes go one at a time (s_server
serves one connection at a time), each bounded by hostile.WAIT.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import hostile as H
from openssl_target import OpenSSLTarget
from target import Target, authority, client_certificate, client_config, server_config
from test_conformance import SERVERS

import glasstls
from glasstls import ProtocolVersion, ServerConnection
from glasstls.errors import TLSError
from glasstls.events import AlertReceived
from glasstls.x509.store import TrustStore

EXTENSION_TYPES = (0, 1, 5, 10, 11, 13, 16, 21, 23, 27, 28, 35, 41, 42, 43, 44, 45, 47, 49, 51, 57, 0xFF01, 0x1234)
Mutation = Callable[[random.Random, H.Hello], "tuple[H.Hello | bytes, str]"]


def _some(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def _extension_edit(rng: random.Random, h: H.Hello) -> tuple[H.Hello, str]:
    exts = list(h.extensions)
    i = rng.randrange(len(exts))
    kind, data = exts[i]
    how = rng.choice(("drop", "repeat", "replace", "cut", "lengthen", "add"))
    if how == "drop":
        del exts[i]
    elif how == "repeat":
        exts.insert(rng.randrange(len(exts) + 1), exts[i])
    elif how == "replace":
        exts[i] = (kind, _some(rng, rng.randrange(9)))
    elif how == "cut":
        exts[i] = (kind, data[: -rng.randrange(1, 4)])
    elif how == "lengthen":
        exts[i] = (kind, data + _some(rng, rng.randrange(1, 3)))
    else:
        kind = rng.choice(EXTENSION_TYPES)
        exts.insert(rng.randrange(len(exts) + 1), (kind, _some(rng, rng.randrange(6))))
    return replace(h, extensions=exts), f"{how} extension {kind}: {dict(exts).get(kind, b'').hex()}"


def _field_edit(rng: random.Random, h: H.Hello) -> tuple[H.Hello, str]:
    how = rng.choice(("suites", "compression", "session_id", "version"))
    if how == "suites":
        choices = (b"\x13\x01", b"\x13\x03", b"\xc0\x2b", b"\xc0\x2f", b"\x00\xff", b"\x56\x00", b"\x00\x2f")
        suites = b"".join(rng.choice(choices) for _ in range(rng.randrange(4))) + rng.choice((b"", b"\x13"))
        return replace(h, suites=suites), f"suites {suites.hex()}"
    if how == "compression":
        methods = rng.choice((b"", b"\x01", b"\x00\x01", b"\x01\x00", _some(rng, 2)))
        return replace(h, compression=methods), f"compression methods {methods.hex()}"
    if how == "session_id":
        size = rng.choice((0, 1, 16, 31, 32))
        return replace(h, session_id=_some(rng, size)), f"session id of {size} bytes"
    version = rng.choice((0x0300, 0x0301, 0x0302, 0x0304, 0x7F1C, 0xFEFD))
    return replace(h, version=version), f"legacy_version {version:#06x}"


def _bit_flip(rng: random.Random, h: H.Hello) -> tuple[bytes, str]:
    body = bytearray(h.body())
    i = rng.randrange(len(body))
    body[i] ^= 1 << rng.randrange(8)
    return bytes(body), f"bit flipped in body byte {i}"


def mutated_hello(rng: random.Random) -> tuple[bytes, H.Hello, list[str]]:
    """A ClientHello's records after one or two mutations, the Hello (for the keys13 reader), what changed."""
    hello = H.hello13() if rng.random() < 0.6 else H.hello12()
    changed: list[str] = []
    for _ in range(rng.choice((1, 1, 2))):
        mutation: Mutation = rng.choice((_extension_edit, _extension_edit, _field_edit, _bit_flip))
        result, what = mutation(rng, hello)
        changed.append(what)
        if isinstance(result, bytes):  # a flipped bit: the body as bytes from here on
            return H.record(H.HANDSHAKE, H.handshake(H.CLIENT_HELLO, result), 0x0301), hello, changed
        hello = result
    return hello.records(), hello, changed


def answer(port: int, data: bytes, hello: H.Hello) -> str:
    got = H.exchange(port, data, hellos=(hello,) if hello.key is not None else ())
    if got.alert is not None:
        return got.alert.name
    return "went on" if H.SERVER_HELLO in got.handshake_types else ("kept waiting" if got.timed_out else "closed")


def mutated_message(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    b = bytearray(raw)
    how = rng.choice(("flip", "cut", "append", "set", "length", "random"))
    if how == "flip":
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    elif how == "cut":
        del b[-rng.randrange(1, min(8, len(b) - 3)) :]
    elif how == "append":
        b += _some(rng, rng.randrange(1, 4))
    elif how == "set":
        b[rng.randrange(4, len(b))] = rng.choice((0, 0xFF))
    elif how == "length":
        i = rng.randrange(4, min(len(b), 12))
        b[i] = (b[i] + rng.choice((1, 255))) & 0xFF
    else:
        b[4:] = _some(rng, len(b) - 4)
    return bytes(b), how


def flight_probe(target: Any, version: ProtocolVersion, msg_type: int, seed: int) -> tuple[str, list[str]]:
    rng, changed = random.Random(seed), []

    def edit(msg: Any) -> bytes | None:
        raw = msg.raw or msg.encode()
        if raw[0] != msg_type or changed or len(raw) < 6:
            return None
        new, how = mutated_message(rng, raw)
        changed.append(how)
        return new

    # Without certificate compression: OpenSSL 3.0 has none, so both servers get the same messages.
    config = client_config(tls_min=version, tls_max=version, certificate_compression=(), **target.client_kw)
    outcome = H.Scripted(target.port, config, message_edit=edit).run()
    said = outcome.alert.name if outcome.alert is not None else ("kept waiting" if outcome.timed_out else "went on")
    return said, changed


class _Tampering(ServerConnection):
    """A glasstls server that sends the first of its messages of ``msg_type`` mutated, on the wire only."""

    def __init__(self, config: Any, msg_type: int, rng: random.Random, changed: list[str]) -> None:
        self.msg_type, self.rng, self.changed = msg_type, rng, changed
        super().__init__(config)

    def _send_handshake(self, msg: Any) -> None:
        super()._send_handshake(msg)
        raw = self._hs_out[-1]
        if raw[0] == self.msg_type and not self.changed and len(raw) >= 6:
            self._hs_out[-1], how = mutated_message(self.rng, bytes(raw))
            self.changed.append(how)


def _serve_tampered(listener: socket.socket, config: Any, msg_type: int, seed: int, out: list[Any]) -> None:
    """Accept one client, play the handshake with a mutated message; ``out``: the changes, the client's alert."""
    changed: list[str] = []
    said = "no alert"
    with contextlib.suppress(OSError), listener.accept()[0] as sock:
        sock.settimeout(H.WAIT)
        conn = _Tampering(config, msg_type, random.Random(seed), changed)
        while not conn.closed and (data := sock.recv(1 << 16)):
            for event in conn.receive_bytes(data):
                if isinstance(event, AlertReceived) and said == "no alert":
                    said = event.description.name
            sock.sendall(conn.data_to_send())
    out += [changed, said]


def client_probe(kind: str, version: ProtocolVersion, msg_type: int, seed: int, root: Path) -> tuple[str, list[str]]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(H.WAIT)
    out: list[Any] = []
    server = threading.Thread(target=_serve_tampered, args=(listener, server_config(), msg_type, seed, out))
    server.start()
    port = listener.getsockname()[1]
    try:
        if kind == "glasstls":
            config = client_config(tls_min=version, tls_max=version, certificate_compression=())
            with contextlib.suppress(TLSError, OSError):
                glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=H.WAIT).close()
        else:
            flag = "-tls1_3" if version == ProtocolVersion.TLSv1_3 else "-tls1_2"
            argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"]
            argv += ["-CAfile", str(root), "-verify_return_error", flag]
            subprocess.run(argv, input=b"", capture_output=True, timeout=2 * H.WAIT, check=False)
    finally:
        server.join(2 * H.WAIT)
        listener.close()
    changed, said = out if out else ([], "no answer")
    return said, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("hello", "flight", "client"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--server", default="default", choices=sorted(SERVERS))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kind = "clientauth" if args.mode == "flight" else args.server
    config = dict(SERVERS[kind])
    client_kw: dict[str, Any] = {}
    if kind == "clientauth":
        config["client_trust_store"] = TrustStore.from_pem(authority().root_pem())
        client_kw = {"certificate": client_certificate()}
    if args.mode == "client":
        return client_mode(rng, args.count)
    differ = 0
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Target(server_config(**config), client_kw), OpenSSLTarget(Path(folder), kind)
        try:
            for _ in range(args.count):
                if args.mode == "hello":
                    data, hello, changed = mutated_hello(rng)
                    answers = [answer(t.port, data, hello) for t in (ours, theirs)]
                else:
                    version = rng.choice((ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3))
                    msg_type = rng.choice((11, 15, 20, 16) if version == ProtocolVersion.TLSv1_2 else (11, 15, 20))
                    seed = rng.randrange(1 << 30)
                    (a, changed), (b, _) = (flight_probe(t, version, msg_type, seed) for t in (ours, theirs))
                    answers, changed = [a, b], [f"{version.name} message {msg_type}", *changed]
                if answers[0] != answers[1]:
                    differ += 1
                    print(f"{'; '.join(changed)}: glasstls {answers[0]}, OpenSSL {answers[1]}", flush=True)
        finally:
            ours.stop()
            theirs.stop()
    print(f"{args.count} probes, {differ} answered otherwise", file=sys.stderr)
    return 0


def client_mode(rng: random.Random, count: int) -> int:
    differ = 0
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "root.pem"
        root.write_bytes(authority().root_pem())
        for _ in range(count):
            version = rng.choice((ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3))
            types = (2, 11, 12, 14, 20) if version == ProtocolVersion.TLSv1_2 else (2, 8, 11, 15, 20)
            msg_type, seed = rng.choice(types), rng.randrange(1 << 30)
            (a, changed), (b, theirs) = (
                client_probe(k, version, msg_type, seed, root) for k in ("glasstls", "openssl")
            )
            if changed == theirs and a != b:  # (a message that differs in size may be mutated otherwise)
                differ += 1
                print(f"{version.name} server message {msg_type}; {'; '.join(changed)}: glasstls {a}, OpenSSL {b}")
    print(f"{count} probes, {differ} answered otherwise", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
