"""Headless Chromium against ``glasstls server --www``: the hybrid group X25519MLKEM768 (issue 10).

Chromium (131 and later) offers X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem, code point
0x11EC) first, with a key share for it and one for X25519 in its first ClientHello.
glasstls puts the hybrid group first in its default groups, so with its defaults the
two must agree on it in one round trip. Each case starts its own ``glasstls server
--www --trace=json`` on 127.0.0.1 (:class:`GlasstlsCLIServer`) with the throwaway
ECDSA certificate of the session's PKI, then runs::

    chromium --headless --user-data-dir=FRESH --ignore-certificate-errors-spki-list=SHA256(leaf SPKI)
             --log-net-log=net.json --net-log-capture-mode=Everything --dump-dom https://localhost:PORT/

The SPKI allow-list makes Chromium accept that one leaf key (and nothing else) without
the root in a trust store; it is honoured because the profile is given with
``--user-data-dir``. Chromium resolves ``localhost`` to the loopback addresses itself.

What is checked, from three places:

* **the page** Chromium loaded (``--dump-dom``, the text/plain body wrapped in a
  ``<pre>``): ``Protocol version:  TLSv1.3`` and ``Key exchange:      GROUP``;
* **glasstls's side**: the JSON trace (one object per event; each carries its
  ``connection`` and ``peer``, and a message its ``raw`` bytes), decoded from those
  bytes here, not from glasstls's own rendering: the key shares of each ClientHello
  received, the group and share length of each ServerHello sent, any
  HelloRetryRequest (its random is the RFC 8446 HRR value); and its one line per
  connection on stderr, ``glasstls: 127.0.0.1:PORT TLSv1.3 SUITE GROUP SCHEME ...``;
* **Chromium's side**: its NetLog. Per socket to the server's port: the
  ``TCP_CONNECT`` end (``local_address``, which pairs it with glasstls's ``peer``),
  the handshake messages it sent and received (with their bytes, in capture mode
  Everything) and the ``SSL_CONNECT`` end, where Chromium states what it negotiated:
  ``{"version": "TLS 1.3", "key_exchange_group": 4588, "is_resumed": false, ...}``.

Chromium opens more than one connection for one page (a preconnect, the favicon);
the later ones resume with a ticket of the first. Every connection is checked; at
least one full handshake (a Certificate sent) must be among them.

The cases: glasstls's default groups (X25519MLKEM768, no HelloRetryRequest); the
server limited to ``--groups x25519`` (X25519 from Chromium's second share, still
no HelloRetryRequest); and, as the control that shows a HelloRetryRequest would be
seen on both sides, ``--groups secp256r1``, for which Chromium sends no share.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from interop_peers import WAIT, GlasstlsCLIServer, parse_server_hello, server_hello_group

from glasstls import NamedGroup
from glasstls.crypto import kx

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [  # as tests/test_illustrate.py runs it
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
]
CHROMIUM_TIMEOUT = 25.0  # seconds for one headless run (under a second on an idle machine)
FIRST_HYBRID_CHROMIUM = 131  # the first release that sends X25519MLKEM768 (0x11EC) instead of Kyber draft 00

# The server's key_share entry (RFC 8446, Section 4.2.8): an X25519MLKEM768 server share is
# the ML-KEM-768 ciphertext and the X25519 public key (draft-ietf-tls-ecdhe-mlkem, Section 4.2).
SERVER_SHARE_LENGTH = {
    NamedGroup.X25519MLKEM768: 1088 + 32,
    NamedGroup.x25519: 32,
    NamedGroup.secp256r1: 65,
}
# What Chromium puts in its first ClientHello, GREASE left out: the hybrid share, then X25519.
CHROMIUM_FIRST_SHARES = [NamedGroup.X25519MLKEM768, NamedGroup.x25519]

HAVE_MLKEM = NamedGroup.X25519MLKEM768 in kx.SUPPORTED_GROUPS

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package chromium; make test)"),
]


# -- ClientHello key shares, from the bytes ------------------------------------------------------


def is_grease(value: int) -> bool:
    """RFC 8701: 0x0A0A, 0x1A1A, ..., 0xFAFA."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def client_hello_shares(message: bytes) -> list[int]:
    """The groups of a ClientHello's key_share extension (51), in order, GREASE left out.

    RFC 8446, Section 4.1.2: legacy_version(2) random(32) legacy_session_id<0..32>
    cipher_suites<2..2^16-2> legacy_compression_methods<1..2^8-1> extensions<8..2^16-1>;
    Section 4.2.8: client_shares<0..2^16-1> of group(2) key_exchange<1..2^16-1>.
    """
    body = message[4:] if message[:1] == b"\x01" else message
    pos = 34
    pos += 1 + body[pos]
    pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 1 + body[pos]
    end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(body[pos : pos + 2], "big")
        ext_len = int.from_bytes(body[pos + 2 : pos + 4], "big")
        if ext_type == 51:
            shares = body[pos + 6 : pos + 4 + ext_len]
            groups, at = [], 0
            while at + 4 <= len(shares):
                group = int.from_bytes(shares[at : at + 2], "big")
                at += 4 + int.from_bytes(shares[at + 2 : at + 4], "big")
                if not is_grease(group):
                    groups.append(group)
            return groups
        pos += 4 + ext_len
    return []


@dataclass(frozen=True)
class Hello:
    """A ServerHello or HelloRetryRequest as read from its bytes."""

    group: NamedGroup | None
    retry: bool
    share_length: int | None  # the length of the server's key_exchange (None in a HelloRetryRequest)

    @classmethod
    def decode(cls, message: bytes) -> Hello:
        group, retry = server_hello_group(message)
        share = parse_server_hello(message).extensions.get(51)
        length = int.from_bytes(share[2:4], "big") if share is not None and not retry and len(share) >= 4 else None
        return cls(group, retry, length)


@dataclass
class Handshake:
    """One connection's hellos, as one side saw them."""

    client_hellos: list[bytes] = field(default_factory=list)
    server_hellos: list[Hello] = field(default_factory=list)  # HelloRetryRequest first, if any
    full: bool = False  # a Certificate (Chromium asks for it brotli-compressed, RFC 8879) went by: not a resumption


# -- glasstls's side: the JSON trace and the connection lines ------------------------------------


def glasstls_handshakes(output: str) -> dict[str, Handshake]:
    """Per peer address (``127.0.0.1:PORT``), what ``glasstls server --trace=json`` traced."""
    handshakes: dict[str, Handshake] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("kind") != "message":
            continue
        hs = handshakes.setdefault(event["peer"], Handshake())
        raw = bytes.fromhex(event["raw"]) if event.get("raw") else b""
        if event["direction"] == "in" and event["message"] == "ClientHello":
            hs.client_hellos.append(raw)
        elif event["direction"] == "out" and event["message"] in ("ServerHello", "HelloRetryRequest"):
            hs.server_hellos.append(Hello.decode(raw))
        elif event["direction"] == "out" and event["message"] in ("Certificate", "CompressedCertificate"):
            hs.full = True
    return handshakes


CONNECTED = re.compile(r"^glasstls: (127\.0\.0\.1:\d+) (TLSv1\.[23]) (\S+) (\S+) ")


def glasstls_connected(output: str) -> dict[str, tuple[str, str]]:
    """Per peer address, (version, group) from the server's line for each connection made."""
    return {m.group(1): (m.group(2), m.group(4)) for m in map(CONNECTED.match, output.splitlines()) if m}


# -- Chromium's side: headless, with a NetLog ----------------------------------------------------


@dataclass
class ChromiumConnection:
    """One socket Chromium opened to the server, from its NetLog."""

    local_address: str = ""
    handshake: Handshake = field(default_factory=Handshake)
    ssl_info: dict[str, Any] | None = None  # the SSL_CONNECT end: version, key_exchange_group, is_resumed, ...
    net_error: int | None = None


@dataclass
class ChromiumRun:
    returncode: int | None
    dom: str
    stderr: str
    seconds: float
    connections: list[ChromiumConnection]


def load_netlog(path: Path) -> dict[str, Any]:
    """A NetLog file; one cut short (Chromium killed) is closed so that it still parses."""
    text = path.read_text(errors="replace") if path.exists() else ""
    if not text:
        return {"constants": {}, "events": []}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.rstrip().rstrip(",") + "]}")


def netlog_connections(netlog: dict[str, Any], port: int) -> list[ChromiumConnection]:
    """The sockets to 127.0.0.1:``port`` in a NetLog, each with what Chromium logged on it."""
    constants = netlog["constants"]
    if not constants:
        return []
    name = {number: text for text, number in constants["logEventTypes"].items()}
    end = constants["logEventPhase"]["PHASE_END"]
    remote = f"127.0.0.1:{port}"
    sockets: dict[int, ChromiumConnection] = {}
    ours: set[int] = set()
    for event in netlog["events"]:
        kind, params = name.get(event["type"], ""), event.get("params", {})
        conn = sockets.setdefault(event["source"]["id"], ChromiumConnection())
        if kind == "TCP_CONNECT" and event["phase"] == end and params.get("remote_address") == remote:
            conn.local_address = params.get("local_address", "")
            ours.add(event["source"]["id"])
        elif kind in ("SSL_HANDSHAKE_MESSAGE_SENT", "SSL_HANDSHAKE_MESSAGE_RECEIVED") and "bytes" in params:
            message = base64.b64decode(params["bytes"])
            if kind.endswith("SENT") and params.get("type") == 1:
                conn.handshake.client_hellos.append(message)
            elif kind.endswith("RECEIVED") and params.get("type") == 2:
                conn.handshake.server_hellos.append(Hello.decode(message))
            elif kind.endswith("RECEIVED") and params.get("type") in (11, 25):  # Certificate, CompressedCertificate
                conn.handshake.full = True
        elif kind == "SSL_CONNECT" and event["phase"] == end:
            if "net_error" in params:
                conn.net_error = params["net_error"]
            else:
                conn.ssl_info = params
    return [sockets[source] for source in sorted(ours)]


def chromium_version() -> tuple[int, ...]:
    assert CHROMIUM is not None
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=WAIT, check=False).stdout
    match = re.search(r"(\d+)\.(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(n) for n in match.groups()) if match else ()


def run_chromium(url: str, port: int, spki_sha256: str, tmp_path: Path) -> ChromiumRun:
    """Headless Chromium, fresh profile, fetches ``url``; its whole process group is killed afterwards."""
    assert CHROMIUM is not None
    netlog = tmp_path / "netlog.json"
    with tempfile.TemporaryDirectory(prefix="glasstls-chromium-") as profile:
        cmd = [
            CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            f"--ignore-certificate-errors-spki-list={spki_sha256}",
            f"--log-net-log={netlog}", "--net-log-capture-mode=Everything",
            "--dump-dom", url,
        ]  # fmt: skip
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT)
        except subprocess.TimeoutExpired:
            out, err = b"", f"timed out after {CHROMIUM_TIMEOUT} s".encode()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: renderer, zygote, ...
            proc.wait()
        seconds = time.monotonic() - started
    return ChromiumRun(
        proc.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        seconds,
        netlog_connections(load_netlog(netlog), port),
    )


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_major() -> int:
    version = chromium_version()
    if not version or version[0] < FIRST_HYBRID_CHROMIUM:
        pytest.skip(f"Chromium {version or '(unknown version)'} predates X25519MLKEM768 ({FIRST_HYBRID_CHROMIUM}+)")
    return version[0]


@pytest.fixture(scope="module")
def leaf_spki(pki) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the ECDSA server leaf, as Chromium's allow-list wants it."""
    leaf = pki.identities["ecdsa-p256"].chain[0]
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@contextlib.contextmanager
def www_server(pki, *args: str) -> Iterator[GlasstlsCLIServer]:
    files = pki.files["ecdsa-p256"]
    with GlasstlsCLIServer(
        "--www", "--trace=json", "--cert", str(files.full_chain), "--key", str(files.key), *args
    ) as server:  # fmt: skip
        yield server


# -- the cases -----------------------------------------------------------------------------------

CASES = [
    pytest.param(
        (),
        NamedGroup.X25519MLKEM768,
        False,
        id="default-groups-X25519MLKEM768",
        marks=pytest.mark.skipif(not HAVE_MLKEM, reason="this build of cryptography has no ML-KEM"),
    ),
    pytest.param(("--groups", "x25519"), NamedGroup.x25519, False, id="groups-x25519"),
    pytest.param(("--groups", "secp256r1"), NamedGroup.secp256r1, True, id="groups-secp256r1-HRR-control"),
]


@pytest.mark.parametrize(("server_args", "group", "retry"), CASES)
def test_chromium_to_glasstls_www(pki, chromium_major, leaf_spki, tmp_path, server_args, group, retry):
    with www_server(pki, *server_args) as server:
        url = f"https://localhost:{server.port}/"
        chromium = run_chromium(url, server.port, leaf_spki, tmp_path)
        # The page was served after the handshake, so its line is out (the trace flushed before
        # it); a failure to see it is reported below, with what Chromium said.
        with contextlib.suppress(AssertionError):
            server.wait_for(r"^glasstls: 127\.0\.0\.1:\d+ TLSv1\.3 ")
            time.sleep(0.2)  # let Chromium's other connections print theirs
    output = server.output
    said = (
        f"Chromium {chromium_major} ran {chromium.seconds:.1f} s, exit {chromium.returncode}; it printed:\n"
        f"{chromium.dom[-2000:]}\n{chromium.stderr[-2000:]}\nglasstls server said:\n{output[-6000:]}"
    )
    assert chromium.returncode == 0, said
    assert chromium.seconds < CHROMIUM_TIMEOUT, said

    # (3) The page loaded: glasstls's --www body about the connection, as Chromium rendered it.
    assert "glasstls server: the TLS connection you made" in chromium.dom, said
    assert "Protocol version:  TLSv1.3" in chromium.dom, said
    assert f"Key exchange:      {group.name}" in chromium.dom, said

    # glasstls's side: every connection from Chromium.
    handshakes = glasstls_handshakes(output)
    connected = glasstls_connected(output)
    assert handshakes and connected, said
    assert any(hs.full for hs in handshakes.values()), f"no full handshake among Chromium's connections\n{said}"
    for peer, hs in handshakes.items():
        assert hs.client_hellos, said
        # (1) Chromium's first ClientHello: a hybrid share first, then X25519.
        assert client_hello_shares(hs.client_hellos[0]) == CHROMIUM_FIRST_SHARES, f"{peer}\n{said}"
        if not hs.server_hellos:  # Chromium left before this one's ServerHello (an unused preconnect)
            continue
        if retry:
            # HelloRetryRequest to the group Chromium supports but sent no share for; one more ClientHello.
            if len(hs.client_hellos) == 1:  # Chromium left after the HelloRetryRequest (an unused preconnect)
                assert [(h.group, h.retry) for h in hs.server_hellos] == [(group, True)], f"{peer}\n{said}"
                continue
            assert [(h.group, h.retry) for h in hs.server_hellos] == [(group, True), (group, False)], f"{peer}\n{said}"
            assert len(hs.client_hellos) == 2 and client_hello_shares(hs.client_hellos[1]) == [group], said
        else:
            # (1)/(2) One ServerHello, no HelloRetryRequest, with the expected group and share.
            assert [(h.group, h.retry) for h in hs.server_hellos] == [(group, False)], f"{peer}\n{said}"
            assert len(hs.client_hellos) == 1, f"{peer}\n{said}"
        assert hs.server_hellos[-1].share_length == SERVER_SHARE_LENGTH[group], f"{peer}\n{said}"
    for peer, (version, negotiated) in connected.items():
        assert (version, negotiated) == ("TLSv1.3", group.name), f"{peer}\n{said}"

    # Chromium's side: what it sent and received on each socket, and what it says it negotiated.
    done = [c for c in chromium.connections if c.ssl_info is not None]
    assert done, f"no completed TLS connection to port {server.port} in Chromium's NetLog\n{said}"
    assert any(not c.ssl_info["is_resumed"] for c in done if c.ssl_info), said
    for conn in done:
        info = conn.ssl_info
        assert info is not None
        assert info["version"] == "TLS 1.3", f"{info}\n{said}"
        assert info["key_exchange_group"] == group.value, f"{info}\n{said}"
        assert info["is_resumed"] == (not conn.handshake.full), f"{info}\n{said}"
        if conn.handshake.client_hellos:  # bytes, with capture mode Everything
            assert client_hello_shares(conn.handshake.client_hellos[0]) == CHROMIUM_FIRST_SHARES, said
            assert [h.retry for h in conn.handshake.server_hellos] == ([True, False] if retry else [False]), said
            assert conn.handshake.server_hellos[-1].group == group, said

    # Both sides saw the page's connection the same way: Chromium's local port is glasstls's peer.
    both = [c for c in done if c.local_address in connected]
    assert both, f"no connection in both Chromium's NetLog and glasstls's log\n{said}"
    for conn in both:
        peer = handshakes[conn.local_address]
        assert conn.handshake.full == peer.full, said
        if conn.handshake.client_hellos:
            assert conn.handshake.client_hellos == peer.client_hellos, f"the ClientHellos differ\n{said}"
