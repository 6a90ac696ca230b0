"""Sequence diagrams of real connections (glasstls.trace.diagram) and the
``glasstls diagram`` command.

Each diagram is drawn from one side's trace events. The expected message
orders are those of RFC 8446, Section 2 (Figure 1; Figure 2 for a
HelloRetryRequest) and RFC 5246, Section 7.3 (Figures 1 and 2; RFC 5077,
Section 3.1 for the ticket), as glasstls sends them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from glasstls import CertifiedKey, CipherSuite, ClientConfig, NamedGroup, ProtocolVersion, ServerConfig
from glasstls.cli.main import main as cli_main
from glasstls.observe import EventList
from glasstls.sides import ClientConnection, ServerConnection
from glasstls.trace import Tee
from glasstls.trace.diagram import SequenceDiagram, display_name, sequence_diagram
from glasstls.x509.store import TrustStore
from pairs import Pair, default_ca, make_pair, other_ca, server_identity, transfer

V12 = ProtocolVersion.TLSv1_2
SVG_NS = "{http://www.w3.org/2000/svg}"

FLOW_13 = [
    "ClientHello",
    "ServerHello",
    "EncryptedExtensions",
    "CompressedCertificate",  # the glasstls client offers certificate compression (RFC 8879)
    "CertificateVerify",
    "Finished",
    "Finished",
    "NewSessionTicket",  # ServerConfig.tls13_tickets: two, after the client's Finished
    "NewSessionTicket",
]
FLOW_12_ECDHE = [
    "ClientHello",
    "ServerHello",
    "Certificate",
    "ServerKeyExchange",
    "ServerHelloDone",
    "ClientKeyExchange",
    "ChangeCipherSpec",
    "Finished",
    "NewSessionTicket",
    "ChangeCipherSpec",
    "Finished",
]
FLOW_12_RSA = [m for m in FLOW_12_ECDHE if m != "ServerKeyExchange"]
FLOW_13_HRR = ["ClientHello", "HelloRetryRequest", "ClientHello", *FLOW_13[1:]]
FLOW_12_RESUMED = ["ClientHello", "ServerHello", "ChangeCipherSpec", "Finished", "ChangeCipherSpec", "Finished"]


# -- connections, traced by a SequenceDiagram on each side ----------------------------------------


def traced(**kw: Any) -> tuple[SequenceDiagram, SequenceDiagram, Pair]:
    client, server = SequenceDiagram(), SequenceDiagram()
    pair = make_pair(client_observer=client, server_observer=server, **kw)
    pair.handshake()
    if pair.client.handshake_complete and pair.server.handshake_complete:
        pair.client.send(b"GET / HTTP/1.0\r\n\r\n")
        pair.to_server()
        pair.server.send(b"HTTP/1.0 200 OK\r\n\r\nhello")
        pair.to_client()
        pair.client.close()
        pair.to_server()
        pair.to_client()
    else:  # deliver the alert that ended it
        pair.to_server()
        pair.to_client()
    return client, server, pair


def resumed_12(tickets: bool) -> tuple[SequenceDiagram, SequenceDiagram]:
    identity = server_identity("localhost")
    ccfg = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_max=V12)
    scfg = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), session_tickets=tickets)
    first_c, first_s = ClientConnection(ccfg, "localhost"), ServerConnection(scfg)
    for _ in range(4):
        transfer(first_c, first_s)
        transfer(first_s, first_c)
    assert first_c.session is not None
    client, server = SequenceDiagram(), SequenceDiagram()
    c = ClientConnection(ccfg, "localhost", session=first_c.session, observer=client)
    s = ServerConnection(scfg, observer=server)
    for _ in range(4):
        transfer(c, s)
        transfer(s, c)
    assert c.parameters is not None and c.parameters.resumed
    return client, server


# -- reading the diagrams back ---------------------------------------------------------------------

_MARKERS = "{}[]()"


def _bare(label: str) -> str:
    """``{Certificate}`` → ``Certificate``; ``[ChangeCipherSpec]`` → ``ChangeCipherSpec``."""
    return label.strip().strip(_MARKERS)


def mermaid_arrows(text: str) -> list[tuple[str, str, str]]:
    """(from, to, label) of every arrow, in order."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*([CS])(->>|-->>|-x|-\))([CS]): (.*)$", line)
        if m:
            out.append((m.group(1), m.group(3), m.group(4).split(" · ")[0]))
    return out


def mermaid_messages(text: str) -> list[str]:
    """The handshake messages and ChangeCipherSpec records, in order."""
    return [
        _bare(label)
        for _src, _dst, label in mermaid_arrows(text)
        if "Application Data" not in label and "Alert" not in label
    ]


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def svg_messages(svg: str) -> list[str]:
    """The numbered arrow labels ("3. {Certificate}"), bare, in order."""
    out = []
    for text in svg_texts(svg):
        m = re.match(r"(\d+)\. (.*)$", text)
        if m and "Application Data" not in text and "Alert" not in text:
            out.append(_bare(m.group(2)))
    return out


def both_formats(d: SequenceDiagram) -> tuple[list[str], list[str]]:
    return mermaid_messages(d.to_mermaid()), svg_messages(d.to_svg())


# -- full handshakes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["client", "server"])
def test_tls13_lists_every_message_in_order(side: str) -> None:
    client, server, _ = traced()
    d = client if side == "client" else server
    mermaid, svg = both_formats(d)
    assert [m for m in mermaid if m != "ChangeCipherSpec"] == FLOW_13
    assert [m for m in svg if m != "ChangeCipherSpec"] == FLOW_13
    text = d.to_mermaid()
    assert f"TLS 1.3 handshake, traced by the {side}" in text
    # Directions: each side knows which way its messages went.
    arrows = mermaid_arrows(text)
    assert arrows[0][:2] == ("C", "S") and _bare(arrows[0][2]) == "ClientHello"
    assert ("S", "C", "{EncryptedExtensions}") in arrows and ("C", "S", "{Finished}") in arrows
    assert ("S", "C", "{Finished}") in arrows
    # Application data under application keys, then the closure alert.
    assert any("[Application Data]" in a[2] for a in arrows)
    assert any("close_notify" in a[2] for a in arrows)


@pytest.mark.parametrize("side", ["client", "server"])
def test_tls12_ecdhe_lists_every_message_in_order(side: str) -> None:
    client, server, _ = traced(client_kw={"tls_max": V12})
    d = client if side == "client" else server
    mermaid, svg = both_formats(d)
    assert mermaid == svg == FLOW_12_ECDHE
    text = d.to_mermaid()
    assert "TLS 1.2 handshake" in text
    assert text.count("[ChangeCipherSpec]") == 2 and "{Finished}" in text
    assert "Certificate12" not in text  # the RFC's names, not the classes'


def test_tls12_rsa_key_exchange_has_no_server_key_exchange() -> None:
    rsa = default_ca().issue_server(["localhost"], key_type="rsa2048")
    suite = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
    client, server, pair = traced(
        identity=rsa,
        client_kw={"tls_max": V12, "cipher_suites": (suite,)},
        server_kw={"cipher_suites": (suite,)},
    )
    assert pair.client.handshake_complete
    for d in (client, server):
        assert both_formats(d) == (FLOW_12_RSA, FLOW_12_RSA)


def test_both_sides_agree_on_the_message_order() -> None:
    for kw in ({}, {"client_kw": {"tls_max": V12}}):
        client, server, _ = traced(**kw)
        c = [s.name for s in client.steps() if s.kind == "message"]
        s = [s.name for s in server.steps() if s.kind == "message"]
        assert c == s


def test_svg_is_well_formed_and_names_every_message() -> None:
    client, server, _ = traced()
    for d in (client, server):
        svg = d.to_svg()
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg"
        assert float(root.get("width", 0)) > 0 and float(root.get("height", 0)) > 0
        texts = " ".join(svg_texts(svg))
        for name in FLOW_13:
            assert name in texts
        assert "Client" in texts and "Server" in texts
        assert "encrypted" in texts and "handshake keys" in texts  # the brace beside the server's flight
        assert "keys switch" in texts
        assert "<script" not in svg and "href=" not in svg.replace("url(#", "")  # self-contained


# -- HelloRetryRequest, resumption, failure --------------------------------------------------------------


def test_hello_retry_request_shows_up() -> None:
    client, server, pair = traced(
        client_kw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
        server_kw={"groups": (NamedGroup.secp256r1,)},
    )
    assert pair.client.handshake_complete
    for d in (client, server):
        mermaid, svg = both_formats(d)
        assert [m for m in mermaid if m != "ChangeCipherSpec"] == FLOW_13_HRR
        assert [m for m in svg if m != "ChangeCipherSpec"] == FLOW_13_HRR
        assert "asks for one for secp256r1" in d.to_mermaid()
        assert any(s.style == "hrr" and s.kind == "note" for s in d.steps())
        assert "#e65100" in d.to_svg()  # the HelloRetryRequest arrow in orange


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session-id"])
def test_resumption_shows_up(tickets: bool) -> None:
    how = "session ticket" if tickets else "session ID"
    for d in resumed_12(tickets):
        mermaid, svg = both_formats(d)
        assert mermaid == svg == FLOW_12_RESUMED
        assert f"Session resumed by {how}" in d.to_mermaid()
        assert "(resumed session)" in d.heading()
        assert f"Session resumed by {how}" in " ".join(svg_texts(d.to_svg()))


def test_failure_shows_the_alert_in_red() -> None:
    client, server, pair = traced(trust=other_ca())
    assert not pair.client.handshake_complete
    text = client.to_mermaid()
    assert re.search(r"C-xS: \{Alert \(fatal, unknown_ca\)\} · .*not trusted", text)
    assert "(failed)" in client.heading()
    svg = client.to_svg()
    assert 'stroke="#c62828"' in svg and "unknown_ca" in svg
    # The server saw it arrive.
    assert any(s.kind == "alert" and s.sender == "client" for s in server.steps())


# -- the API around it -----------------------------------------------------------------------------------


def test_from_recorded_events_equals_live_observer() -> None:
    live, log = SequenceDiagram(), EventList()
    pair = make_pair(client_observer=Tee(live, log))
    pair.handshake()
    assert sequence_diagram(log.events).to_mermaid() == live.to_mermaid()
    assert sequence_diagram(log.events).to_svg() == live.to_svg()


def test_states_can_be_shown() -> None:
    log = EventList()
    make_pair(client_observer=log).handshake()
    steps = sequence_diagram(log.events, show_states=True).steps()
    assert any(s.kind == "state" and s.label == "ExpectServerHello → ExpectEncryptedExtensions" for s in steps)
    assert "ExpectServerHello" in sequence_diagram(log.events, show_states=True).to_svg()
    assert not any(s.kind == "state" for s in sequence_diagram(log.events).steps())


def test_write_chooses_the_format_by_suffix(tmp_path: Path) -> None:
    client, _, _ = traced()
    svg = client.write(tmp_path / "flow.svg")
    mmd = client.write(tmp_path / "flow.mmd")
    assert svg.read_text().startswith("<?xml") and ET.parse(svg).getroot().tag == f"{SVG_NS}svg"
    assert "sequenceDiagram" in mmd.read_text()
    with pytest.raises(ValueError, match=r"\.svg or \.mmd"):
        client.write(tmp_path / "flow.png")


def test_display_names() -> None:
    assert display_name("Certificate12") == "Certificate"
    assert display_name("NewSessionTicket12") == "NewSessionTicket"
    assert display_name("ClientHello") == "ClientHello"


# -- glasstls diagram --states -----------------------------------------------------------------------------


def test_cli_writes_state_diagrams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["diagram", "--states", "-o", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{r}-{v}.{e}" for r in ("client", "server") for v in ("1.2", "1.3") for e in ("mmd", "svg"))
    for svg in tmp_path.glob("*.svg"):
        ET.parse(svg)
    assert "stateDiagram-v2" in (tmp_path / "server-1.3.mmd").read_text()
    assert "client-1.2.svg" in capsys.readouterr().out


def test_cli_one_role_and_version(tmp_path: Path) -> None:
    assert (
        cli_main(
            ["diagram", "--states", "--role", "server", "--version", "1.2", "--format", "svg", "-o", str(tmp_path)]
        )
        == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["server-1.2.svg"]
    texts = " ".join(svg_texts((tmp_path / "server-1.2.svg").read_text()))
    for state in ("ExpectClientHello", "ExpectClientKeyExchange12", "ExpectClientCcs12", "ServerConnected12"):
        assert state in texts
    assert "[ChangeCipherSpec]" in texts


def test_cli_needs_something_to_draw(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["diagram"]) == 2
    assert "--states" in capsys.readouterr().err


# -- glasstls client/server --diagram FILE ------------------------------------------------------------------


def test_client_and_server_write_their_diagrams(tmp_path: Path) -> None:
    ca = default_ca()
    server_identity("localhost", "127.0.0.1").write(tmp_path / "server.pem", tmp_path / "server.key")
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
            "--diagram",
            str(tmp_path / "server.svg"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", server.stderr.readline())
        assert port, "the server did not start"
        client = subprocess.run(
            [
                *glasstls,
                "client",
                f"127.0.0.1:{port.group(1)}",
                "--cacert",
                str(tmp_path / "ca.pem"),
                "--servername",
                "localhost",
                "--linger",
                "0.3",
                "--diagram",
                str(tmp_path / "client.mmd"),
            ],
            input=b"hello\n",
            capture_output=True,
            timeout=20,
        )
        assert client.returncode == 0, client.stderr
        assert b"hello\n" in client.stdout
        assert f"* Sequence diagram: {tmp_path / 'client.mmd'}".encode() in client.stderr
        server.wait(20)
    finally:
        server.kill()
        server.wait(20)
    mermaid = (tmp_path / "client.mmd").read_text()
    assert [m for m in mermaid_messages(mermaid) if m != "ChangeCipherSpec"] == FLOW_13
    assert "traced by the client" in mermaid
    svg = (tmp_path / "server-1.svg").read_text()
    assert [m for m in svg_messages(svg) if m != "ChangeCipherSpec"] == FLOW_13
    assert "[Application Data]" in svg


def test_diagram_option_rejects_other_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["client", "127.0.0.1:9", "--diagram", str(tmp_path / "x.png")]) == 2
    assert ".svg or .mmd" in capsys.readouterr().err


# -- a peer's text in the Mermaid file -------------------------------------------------------------------------

# A Mermaid directive: anywhere in a .mmd file, it sets the drawing's theme and its CSS.
DIRECTIVE = '%%{init:{"theme":"forest","themeCSS":".actor{fill:red}"}}%%'
# What Mermaid reads in a message's text (its entity codes, statements, comments, HTML, strings, KaTeX).
MERMAID_SYNTAX = set('%#;<>&"`$\\')


def mermaid_decoded(text: str) -> str:
    """The text Mermaid draws: its entity codes ("#37;") turned back into their characters."""
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def assert_inert(mermaid: str) -> list[str]:
    """No character Mermaid reads is left bare below the header; the lines of the body, decoded."""
    body = mermaid.split("\nsequenceDiagram\n", 1)[1]
    texts = [line.partition(": ")[2] for line in body.splitlines()]  # what follows "C->>S: ", "Note over C,S: "
    for text in texts:
        assert not MERMAID_SYNTAX & set(re.sub(r"#\d+;", "", text)), text
        assert "style" not in text and "classDef" not in text, text  # see _mm: Mermaid would strip a ";"
    assert "%%" not in mermaid
    return [mermaid_decoded(line) for line in body.splitlines()]


def test_a_peers_directive_is_inert_in_the_mermaid_file() -> None:
    """SNI and ALPN names are the client's; the server's refusal quotes them: as text, not as a directive."""
    client, server = SequenceDiagram(), SequenceDiagram()
    pair = make_pair(
        server_name=DIRECTIVE,
        client_observer=client,
        server_observer=server,
        client_kw={"alpn": (DIRECTIVE, "style:#x;")},
        server_kw={"alpn": ("h2",)},
    )
    pair.handshake()
    pair.to_client()
    for d in (server, client):
        lines = assert_inert(d.to_mermaid())
        hello = next(line for line in lines if "ClientHello" in line)
        assert hello.startswith(f"    C->>S: ClientHello · SNI {DIRECTIVE}, key shares ")
    refusal = next(line for line in assert_inert(server.to_mermaid()) if "Alert" in line)
    assert refusal == (
        "    S-xC: Alert (fatal, no_application_protocol) · no common application protocol: client offered "
        f"{DIRECTIVE}, style:#x;, server accepts h2"
    )


def test_a_servers_directive_is_inert_in_the_clients_mermaid_file() -> None:
    """A server that selects an ALPN the client never offered: the client's alert quotes it."""
    from glasstls.enums import ExtensionType
    from glasstls.wire.extensions import Extension
    from glasstls.wire.handshake import EncryptedExtensions

    def lie(msg: Any) -> bytes | None:
        if not isinstance(msg, EncryptedExtensions):
            return None
        alpn = Extension.make(ExtensionType.application_layer_protocol_negotiation, (DIRECTIVE.encode(),), "EE")
        return EncryptedExtensions(extensions=(alpn,)).encode()

    client = SequenceDiagram()
    pair = make_pair(client_observer=client, server_alter=lie, client_kw={"alpn": ("h2",)}, server_kw={"alpn": ("h2",)})
    pair.handshake()
    alert = next(line for line in assert_inert(client.to_mermaid()) if "Alert" in line)
    assert DIRECTIVE in alert and alert.startswith("    C-xS: {Alert (fatal, illegal_parameter)} · ")


def test_the_servers_mermaid_file_keeps_a_clients_directive_inert(tmp_path: Path) -> None:
    """``glasstls server --diagram d.mmd``, a client on 127.0.0.1 naming the directive as SNI and ALPN."""
    from glasstls import connect
    from glasstls.errors import TLSError
    from serving_helpers import WAIT, CLIServer, make_pki

    pki = make_pki(tmp_path)
    with CLIServer(pki, "--alpn", "h2", "--diagram", str(tmp_path / "d.mmd"), "--max-connections", "1") as server:
        with pytest.raises(TLSError, match="no_application_protocol"):
            connect("127.0.0.1", server.port, pki.client_config(alpn=(DIRECTIVE,)), server_name=DIRECTIVE, timeout=WAIT)
        server.wait_for(r"Sequence diagram: .*d-1\.mmd")
    lines = assert_inert((tmp_path / "d-1.mmd").read_text(encoding="utf-8"))
    assert any(line.startswith(f"    C->>S: ClientHello · SNI {DIRECTIVE}, ") for line in lines)
    assert any(line.endswith(f"client offered {DIRECTIVE}, server accepts h2") for line in lines)
