"""The illustrated connection page (glasstls.trace.illustrate).

* For TLS 1.3 and TLS 1.2 handshakes (ECDHE, RSA key exchange, client
  certificates, resumption by ticket) between two in-memory glasstls peers,
  the page shows every record in order, every byte of it (and of its
  decrypted content), every handshake message by name in the order sent,
  every secret with its value, every key change and every check.
* The page is self-contained (no external resources) and escapes what the
  peer controls.
* Headless Chromium renders it: the script runs to its end, every handshake
  message is in the rendered DOM, and a screenshot is taken.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    RecordTrace,
    SecretTrace,
    VerificationTrace,
)
from glasstls.trace.illustrate import Illustration
from test_fields import Traced, rfc_name, traced_connection

PAGES = ["tls13", "tls13-client-auth", "tls12-ecdhe", "tls12-rsa", "tls12-client-auth", "tls12-resumed"]


def page_of(traced: Traced, *, both: bool = True) -> str:
    illustration = Illustration(wants_secrets=True)  # (as --show-secrets asks: the pages with every value)
    for event in traced.client:  # as a live observer sees them
        illustration(event)
    if both:
        illustration.add(traced.server)
    return illustration.render()


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment, folded long values unfolded."""
    text = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    text = re.sub(r"\[\+\d+ bytes\] ", "", text)
    return re.sub(r"\s+", " ", text)


def record_cards(page: str) -> list[str]:
    return re.findall(r'<article class="record [^"]*" id="record-\d+".*?</article>', page, re.S)


def spaced_hex(data: bytes) -> str:
    return data.hex(" ")


@pytest.mark.parametrize("scenario", PAGES)
def test_every_record_and_byte_is_shown(scenario: str) -> None:
    traced = traced_connection(scenario)
    page = page_of(traced)
    records = [e for e in traced.client if isinstance(e, RecordTrace)]
    cards = record_cards(page)
    assert len(cards) == len(records)
    for n, (card, record) in enumerate(zip(cards, records, strict=True), 1):
        assert f'id="record-{n}"' in card
        c2s = record.direction == "out"
        assert ("client → server" if c2s else "server → client") in card
        visible = text_of(card)
        assert spaced_hex(record.header + record.payload) in visible, f"record {n}: wire bytes missing"
        if record.plaintext is not None:
            assert "Decrypted" in card
            assert spaced_hex(record.plaintext) in visible, f"record {n}: decrypted bytes missing"


@pytest.mark.parametrize("scenario", PAGES)
def test_every_message_is_shown_in_order(scenario: str) -> None:
    traced = traced_connection(scenario)
    page = page_of(traced)
    sent = [rfc_name(e.message) for e in traced.client if isinstance(e, MessageTrace)]
    titles = re.findall(r'<span class="rt">(.*?)</span>', page)
    shown = [
        name.strip("{}[] ")
        for title in titles
        for name in html.unescape(title).split(", ")
        if not name.startswith(("application data", "Alert", "ChangeCipherSpec"))
    ]
    assert shown == sent
    # And each message has its own node in a field tree, with its fields.
    for name in set(sent):
        assert f'<span class="nm">{name}</span>' in page
    for field in ("msg_type", "random", "cipher_suite", "verify_data"):
        assert f'<span class="nm">{field}</span>' in page


@pytest.mark.parametrize("scenario", ["tls13", "tls12-ecdhe", "tls12-resumed"])
def test_key_schedule_checks_and_summary(scenario: str) -> None:
    traced = traced_connection(scenario)
    page = page_of(traced)
    visible = text_of(page)
    secrets = [e for e in traced.client if isinstance(e, SecretTrace)]
    assert secrets
    for secret in secrets:
        assert secret.label in visible and secret.secret is not None and secret.secret.hex() in visible
    assert "RFC 8446, Section 7.1" in visible if traced.version == 0x0304 else "CLIENT_RANDOM" in visible
    for keys in (e for e in traced.client if isinstance(e, KeysTrace)):
        assert html.escape(keys.epoch) in page
    for check in (e for e in traced.client + traced.server if isinstance(e, VerificationTrace)):
        assert check.subject in visible and check.detail in visible
    assert "keep it private" in visible  # the secrets warning
    version = "TLSv1.3" if traced.version == 0x0304 else "TLSv1.2"
    assert f"<dd>{version}</dd>" in page
    assert f"<dd>{traced.pair.client.parameters.cipher_suite}</dd>" in page


def test_a_page_shows_secret_values_only_when_asked_and_then_is_private(tmp_path: Path) -> None:
    """Illustration() asked for secrets by default and printed any it was handed (events kept by a key
    log's EventList): every page glasstls demo wrote held the connection's secrets and key log lines,
    readable by all. Now the values appear only with wants_secrets (--show-secrets), in a 0600 file."""
    traced = traced_connection("tls13")
    secrets = [e.secret.hex() for e in traced.client if isinstance(e, SecretTrace) and e.secret]
    assert secrets
    plain = Illustration()
    plain.add(traced.client)  # (events that carry the values)
    page = plain.render()
    assert not any(value in page for value in secrets)
    assert "value not recorded (the observer did not ask for secrets)" in page
    plain.write_html(tmp_path / "plain.html")
    shown = Illustration(wants_secrets=True)
    shown.add(traced.client)
    assert all(value in shown.render() for value in secrets)
    assert (shown.write_html(tmp_path / "shown.html").stat().st_mode & 0o777) == 0o600


def test_one_side_only_and_without_secrets() -> None:
    traced = traced_connection("tls13")
    server_only = Illustration(wants_secrets=False)
    server_only.add([e for e in traced.server if not isinstance(e, SecretTrace)])
    page = server_only.render()
    assert "Seen from</dt><dd>the server" in page
    assert len(record_cards(page)) == sum(isinstance(e, RecordTrace) for e in traced.server)
    assert "keep it private" not in page
    assert '<p class="empty">No events were recorded.</p>' in Illustration().render()


def test_self_contained() -> None:
    for scenario in ("tls13", "tls12-ecdhe"):
        page = page_of(traced_connection(scenario))
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, re.I)
        assert not re.search(r"<link|<img|<iframe|@import|url\(", page, re.I)
        assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
        assert page.count("<script") == 2  # the explanations (JSON) and the inline script


def test_what_the_peer_controls_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    illustration = Illustration()
    illustration.add(traced_connection("tls13").client)
    illustration(VerificationTrace("client", evil, False, f"detail {evil} </script>"))
    illustration(AlertTrace("client", "in", AlertLevel.fatal, AlertDescription.bad_certificate, evil))
    data = b"</script><b>bold</b>"
    header = bytes([ContentType.application_data]) + b"\x03\x03" + (len(data) + 17).to_bytes(2, "big")
    illustration(
        RecordTrace(
            "client",
            "in",
            ContentType.application_data,
            header,
            bytes(len(data) + 17),
            ContentType.application_data,
            data,
        )
    )
    page = illustration.render()
    assert evil not in page and "<b>bold" not in page
    assert html.escape(evil) in page
    assert page.count("<script") == 2


# -- headless Chromium ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
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


def run_chromium(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile; the whole process group is killed afterwards."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="glasstls-chromium-") as profile:
        cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            out, err = b"", b"timed out"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: renderer, zygote, …
            proc.wait()
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.interop
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package chromium; make test)")
@pytest.mark.parametrize("scenario", ["tls13", "tls12-ecdhe"])
def test_chromium_renders_the_page(scenario: str, tmp_path: Path) -> None:
    traced = traced_connection(scenario)
    page = tmp_path / f"{scenario}.html"
    illustration = Illustration()
    illustration.add(traced.client)
    illustration.add(traced.server)
    illustration.write_html(page)
    url = page.resolve().as_uri()

    dom = run_chromium("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    rendered = dom.stdout.decode()
    assert 'data-ready="1"' in rendered, "the page's script did not run to its end"
    for name in {rfc_name(e.message) for e in traced.client if isinstance(e, MessageTrace)}:
        assert f'<span class="nm">{name}</span>' in rendered, name
    assert len(record_cards(rendered)) == sum(isinstance(e, RecordTrace) for e in traced.client)

    shot = tmp_path / f"{scenario}.png"
    result = run_chromium(f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert result.returncode == 0 and shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    assert png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kilobytes
    keep = os.environ.get("GLASSTLS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)


# -- the command line ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_cli_illustrate_client_and_server(version: str, tmp_path: Path) -> None:
    """``--illustrate``: the client writes FILE; the server FILE-<n>.html per connection."""
    import sys

    from glasstls.x509.mint import ThrowawayCA

    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(tmp_path / "server.pem", tmp_path / "server.key")
    (tmp_path / "ca.pem").write_bytes(ca.root_pem())
    glasstls = [sys.executable, "-m", "glasstls"]
    server = subprocess.Popen(
        [
            *glasstls,
            "server",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            str(tmp_path / "server.pem"),
            "--key",
            str(tmp_path / "server.key"),
            "--max-connections",
            "1",
            "--illustrate",
            str(tmp_path / "server.html"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", server.stderr.readline()).group(1)  # type: ignore[union-attr]
        client = subprocess.run(
            [
                *glasstls,
                "client",
                f"127.0.0.1:{port}",
                "--cacert",
                str(tmp_path / "ca.pem"),
                "--servername",
                "localhost",
                "--tls-max",
                version,
                "--linger",
                "0.5",
                "--illustrate",
                str(tmp_path / "client.html"),
            ],
            input=b"hello illustrated\n",
            capture_output=True,
            timeout=20,
        )
        assert client.returncode == 0, client.stderr.decode()
        assert client.stdout == b"hello illustrated\n"
        assert f"Illustrated connection: {tmp_path / 'client.html'}" in client.stderr.decode()
        server.wait(20)
        assert "connection 1 illustrated in" in server.stderr.read()
    finally:
        server.kill()
        server.wait(20)
    for name, side in (("client.html", "client"), ("server-1.html", "server")):
        page = (tmp_path / name).read_text()
        assert f"Seen from</dt><dd>the {side}" in page
        for message in ("ClientHello", "ServerHello", "Finished"):
            assert f'<span class="nm">{message}</span>' in page
        assert "hello illustrated" in text_of(page)  # the decrypted application data
        assert "keep it private" not in page  # no secret values without --show-secrets


# -- what the summary calls negotiated ------------------------------------------------------------------------


def summary_of(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page)}


def test_a_failed_handshake_shows_the_servers_choices_as_its_own() -> None:
    """A TLS 1.2 server selects an ALPN protocol the client never offered; the client refuses it. The page
    does not call it the connection's ALPN (nor the session resumed, for want of a certificate)."""
    import dataclasses

    from glasstls.enums import ExtensionType, ProtocolVersion
    from glasstls.wire.extensions import Extension
    from glasstls.wire.handshake import ServerHello
    from pairs import make_pair

    evil = b"\x1b[2J<b>h2;#`"

    def lie(msg: object) -> bytes | None:
        if not isinstance(msg, ServerHello):
            return None
        alpn = Extension.make(ExtensionType.application_layer_protocol_negotiation, (evil,), "SH")
        return dataclasses.replace(msg, extensions=(*msg.extensions, alpn)).encode()

    page = Illustration()
    pair = make_pair(
        client_observer=page,
        server_alter=lie,
        client_kw={"alpn": ("h2", "http/1.1"), "tls_max": ProtocolVersion.TLSv1_2},
    )
    pair.handshake()
    assert not pair.client.handshake_complete
    summary = summary_of(page.render())
    assert summary["Outcome"] == "failed: the client sent a fatal illegal_parameter alert"
    assert summary["Negotiated"] == "nothing: the handshake failed; what the server's answer chose is marked so"
    assert summary["ALPN (server's choice)"] == "\\x1b[2J<b>h2;#`"
    assert summary["Version (server's choice)"] == "TLSv1.2"
    assert "ALPN" not in summary and "Resumed session" not in summary and "Version" not in summary


def test_a_completed_handshake_shows_what_was_negotiated() -> None:
    summary = summary_of(page_of(traced_connection("tls12-ecdhe")))
    assert summary["Outcome"] == "handshake complete"
    assert "Negotiated" not in summary and summary["Version"] == "TLSv1.2" and summary["Resumed session"] == "no"
    assert not any(k.endswith("(server's choice)") for k in summary)


def test_traffic_keys_keep_their_bytes_out_of_repr() -> None:
    from glasstls.crypto.keyschedule13 import TrafficKeys

    keys = TrafficKeys(bytes(range(16)), bytes(range(100, 112)))
    assert "\\x0f" not in repr(keys) and "0f" not in repr(keys) and "key=" not in repr(keys)
