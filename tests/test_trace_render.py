"""The trace renderers (glasstls.trace): text, --explain, JSON lines, Tee.

Each renderer must show every handshake message of a TLS 1.3 and a TLS 1.2
handshake (ECDHE, DHE and RSA key exchange), in order, with the fields that
matter, as the client and as the server saw it; work live (attached to the
connection) and on a list of events afterwards, with the same result; and
never print a secret unless asked to.

The handshakes run between two in-memory glasstls peers (tests/pairs.py);
every byte each side sent is kept, so other tests (the key log) can check
what the renderers say against the wire.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from glasstls import CipherSuite, ClientConnection, NamedGroup, ProtocolVersion, ServerConnection
from glasstls.crypto import prf12
from glasstls.crypto.keyschedule13 import traffic_keys
from glasstls.crypto.suites import TLS12_SUITES, TLS13_SUITES
from glasstls.enums import AlertDescription, ExtensionType
from glasstls.observe import EventList, MessageTrace, Observer, RecordTrace, SecretTrace, TraceEvent
from glasstls.trace import Tee, combine
from glasstls.trace.describe import Context, describe, extension_value
from glasstls.trace.headlines import headline
from glasstls.trace.jsonl import JsonLinesTrace
from glasstls.trace.keylog import KeyLog
from glasstls.trace.text import SECRETS_WARNING, TextTrace, render_text
from glasstls.wire.extensions import Extension, Unreadable
from glasstls.wire.handshake import ClientHello, decode_message
from glasstls.x509.store import TrustStore
from pairs import Pair, default_ca, make_pair

V12 = ProtocolVersion.TLSv1_2
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
DHE = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256

# -- runs ------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One traced connection: both sides' events (with secret values) and the bytes on the wire."""

    kind: str
    pair: Pair
    client: list[TraceEvent]
    server: list[TraceEvent]
    wire: list[tuple[str, bytes]] = field(default_factory=list)  # ("c2s" | "s2c", bytes)

    def events(self, side: str) -> list[TraceEvent]:
        return self.client if side == "client" else self.server

    def sent(self, direction: str) -> bytes:
        return b"".join(data for d, data in self.wire if d == direction)


def pump(pair: Pair, wire: list[tuple[str, bytes]]) -> None:
    for _ in range(10):
        out = pair.client.data_to_send()
        if out:
            wire.append(("c2s", out))
            pair.server.receive_bytes(out)
        back = pair.server.data_to_send()
        if back:
            wire.append(("s2c", back))
            pair.client.receive_bytes(back)
        if not out and not back:
            return


def pair_kwargs(kind: str) -> dict[str, Any]:
    """make_pair arguments for "1.3", "1.2-ecdhe", "1.2-dhe" and "1.2-rsa"."""
    if kind == "1.3":
        # No certificate compression (RFC 8879): the server's Certificate, whose fields the text shows.
        return {"client_kw": {"certificate_compression": ()}}
    if kind == "1.2-ecdhe":
        return {"client_kw": {"tls_max": V12}}
    suite = RSA_KX if kind == "1.2-rsa" else DHE
    rsa_identity = default_ca().issue_server(["localhost"], key_type="rsa2048")
    # The suite is named in both configurations: RSA key exchange is offered only when asked for.
    return {
        "identity": rsa_identity,
        "client_kw": {"tls_max": V12, "cipher_suites": (suite,)},
        "server_kw": {"cipher_suites": (suite,)},
    }


def traced_run(kind: str, client_extra: Observer | None = None, server_extra: Observer | None = None) -> Run:
    client_log, server_log = EventList(wants_secrets=True), EventList(wants_secrets=True)
    pair = make_pair(
        client_observer=combine(client_log, client_extra),
        server_observer=combine(server_log, server_extra),
        **pair_kwargs(kind),
    )
    run = Run(kind, pair, client_log.events, server_log.events)
    pump(pair, run.wire)
    assert pair.client.handshake_complete and pair.server.handshake_complete, kind
    pair.client.send(b"ping from the client")
    pump(pair, run.wire)
    pair.server.send(b"pong from the server")
    pump(pair, run.wire)
    pair.client.close()
    pump(pair, run.wire)
    pair.server.close()
    pump(pair, run.wire)
    return run


@functools.cache
def cached_run(kind: str) -> Run:
    return traced_run(kind)


KINDS = ["1.3", "1.2-ecdhe", "1.2-dhe", "1.2-rsa"]
SIDES = ["client", "server"]

# What each side sends (>) and receives (<), in order: RFC 8446, Section 2 and RFC 5246, Section 7.3.
TLS13 = [
    ("client", "ClientHello"),
    ("server", "ServerHello"),
    ("server", "EncryptedExtensions"),
    ("server", "Certificate"),
    ("server", "CertificateVerify"),
    ("server", "Finished"),
    ("client", "Finished"),
    ("server", "NewSessionTicket"),  # RFC 8446, Section 4.6.1: two, after the handshake
    ("server", "NewSessionTicket"),
]
TLS12_ECDHE = [
    ("client", "ClientHello"),
    ("server", "ServerHello"),
    ("server", "Certificate"),
    ("server", "ServerKeyExchange"),
    ("server", "ServerHelloDone"),
    ("client", "ClientKeyExchange"),
    ("client", "Finished"),
    ("server", "NewSessionTicket"),
    ("server", "Finished"),
]
TLS12_RSA = [m for m in TLS12_ECDHE if m[1] != "ServerKeyExchange"]
FLOWS = {"1.3": TLS13, "1.2-ecdhe": TLS12_ECDHE, "1.2-dhe": TLS12_ECDHE, "1.2-rsa": TLS12_RSA}


def expected_messages(kind: str, side: str) -> list[tuple[str, str]]:
    """(direction, name) as ``side`` sees the flow."""
    return [("out" if sender == side else "in", name) for sender, name in FLOWS[kind]]


MESSAGE_LINE = re.compile(r"^(client|server) ([<>]) ([A-Za-z]+) \((\d+)\)(?:: (.*))?$")


def message_lines(text: str, side: str) -> list[tuple[str, str, str]]:
    out = []
    for line in text.splitlines():
        m = MESSAGE_LINE.match(line)
        if m and m.group(1) == side and m.group(3) != "Alert":
            out.append(("out" if m.group(2) == ">" else "in", m.group(3), m.group(5) or ""))
    return out


def all_secret_needles(run: Run) -> list[str]:
    """The hex of every secret both sides derived, and of the keys and IVs made from them."""
    needles: set[str] = set()
    for side in SIDES:
        ctx = Context(side)
        for e in run.events(side):
            ctx.update(e)
            if isinstance(e, SecretTrace) and e.secret is not None:
                needles.add(e.secret.hex())
                if ctx.tls13 and ctx.suite in TLS13_SUITES:
                    keys = traffic_keys(TLS13_SUITES[ctx.suite], e.secret)
                    needles |= {keys.key.hex(), keys.iv.hex()}
                elif e.label == "master_secret":
                    kb = prf12.key_block(TLS12_SUITES[ctx.suite], e.secret, ctx.client_random, ctx.server_random)
                    needles |= {kb.client_key.hex(), kb.server_key.hex()}
    assert needles
    return sorted(needles)


# -- the text trace ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", KINDS)
def test_text_shows_every_message_in_order(kind: str, side: str) -> None:
    run = cached_run(kind)
    text = render_text(run.events(side))
    shown = [(d, name) for d, name, _ in message_lines(text, side)]
    assert shown == expected_messages(kind, side)
    records = [line for line in text.splitlines() if re.match(rf"^{side} [<>] record ", line)]
    assert len(records) == sum(isinstance(e, RecordTrace) for e in run.events(side))


@pytest.mark.parametrize("side", SIDES)
def test_text_fields_tls13(side: str) -> None:
    lines = {name: fields for _, name, fields in message_lines(render_text(cached_run("1.3").events(side)), side)}
    assert "versions TLSv1.3, TLSv1.2" in lines["ClientHello"]
    assert "key shares X25519MLKEM768 (1216 bytes), x25519 (32 bytes)" in lines["ClientHello"]
    assert "SNI localhost" in lines["ClientHello"]
    assert re.search(r"\d+ cipher suites", lines["ClientHello"])
    assert lines["ServerHello"].startswith("TLSv1.3; TLS_AES_128_GCM_SHA256; key share X25519MLKEM768 (1120 bytes)")
    assert "server_name" in lines["EncryptedExtensions"]
    cert = lines["Certificate"]
    assert cert.startswith("CN=localhost; issuer CN=glasstls throwaway root intermediate; valid ")
    assert "SAN localhost" in cert and "EC secp256r1" in cert and "chain of 2" in cert
    assert lines["CertificateVerify"].startswith("ecdsa_secp256r1_sha256")
    assert lines["Finished"] == "verify_data 32 bytes"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", ["1.2-ecdhe", "1.2-dhe", "1.2-rsa"])
def test_text_fields_tls12(kind: str, side: str) -> None:
    lines = {name: fields for _, name, fields in message_lines(render_text(cached_run(kind).events(side)), side)}
    suite = {"1.2-ecdhe": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "1.2-dhe": DHE.name, "1.2-rsa": RSA_KX.name}[kind]
    assert lines["ClientHello"].startswith("versions TLSv1.2;")
    assert lines["ServerHello"].startswith(f"TLSv1.2; {suite}; session ID ")
    assert "extended master secret" in lines["ServerHello"]
    assert ("RSA 2048 bits" if kind != "1.2-ecdhe" else "EC secp256r1") in lines["Certificate"]
    if kind == "1.2-ecdhe":
        assert lines["ServerKeyExchange"] == "ECDHE x25519; public 32 bytes; signed ecdsa_secp256r1_sha256"
        assert lines["ClientKeyExchange"] == "ECDHE public value (ecdh_Yc), 32 bytes"
    elif kind == "1.2-dhe":
        assert lines["ServerKeyExchange"].startswith("DHE ffdhe2048; public 256 bytes; signed rsa_pss_rsae_sha256")
        assert lines["ClientKeyExchange"] == "DHE public value (dh_Yc), 256 bytes"
    else:
        assert "ServerKeyExchange" not in lines
        assert lines["ClientKeyExchange"] == "RSA-encrypted pre-master secret, 256 bytes"
    assert lines["NewSessionTicket"].startswith("lifetime 7200 s; ticket ")
    assert lines["Finished"] == "verify_data 12 bytes"


def test_text_keys_verification_and_alerts() -> None:
    text = render_text(cached_run("1.3").client)
    assert "client * read keys: handshake, TLS_AES_128_GCM_SHA256" in text
    assert "client * write keys: application, TLS_AES_128_GCM_SHA256" in text
    assert "client * verified CN=localhost: chain to a trusted root, valid for localhost" in text
    assert "client * verified server Finished: verify_data matches the transcript" in text
    assert "client > Alert: warning close_notify (0)" in text
    assert "client < record application_data, TLSv1.2, " in text
    assert "[protected: handshake, " in text and "[protected: application_data, " in text


def test_text_without_side_labels() -> None:
    text = render_text(cached_run("1.3").client, side_label=False)
    assert text.splitlines()[0].startswith("> ClientHello (1): ")
    assert not any(line.startswith("client") for line in text.splitlines())


@pytest.mark.parametrize("kind", KINDS)
def test_text_live_equals_text_afterwards(kind: str) -> None:
    client_out, server_out = io.StringIO(), io.StringIO()
    run = traced_run(kind, TextTrace(client_out, color=False), TextTrace(server_out, color=False))
    assert client_out.getvalue() == render_text(run.client)
    assert server_out.getvalue() == render_text(run.server)


def test_full_mode_decodes_fields_with_offsets_and_hex() -> None:
    run = cached_run("1.2-ecdhe")
    text = render_text(run.client, full=True)
    hello = next(e.message for e in run.client if isinstance(e, MessageTrace))
    # Every byte of the ClientHello is accounted for: the random appears in hex, the state changes show.
    assert hello.random.hex() in text
    assert "client * state ExpectServerHello -> ExpectCertificate12" in text
    assert "cipher_suite" in text and "named_curve" in text.replace("namedcurve", "named_curve")
    assert "certificate 0 subjectAltName: localhost" in text
    assert re.search(r"^\s+0000\+\d+\s+ClientHello", text, re.M) or re.search(r"^\s+0000  01 00 ", text, re.M)


def test_full_mode_falls_back_to_a_hex_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    from glasstls.trace import text as text_module

    monkeypatch.setattr(text_module, "_field_tree", lambda: None)
    run = cached_run("1.3")
    out = render_text(run.client, full=True)
    hello = next(e.message for e in run.client if isinstance(e, MessageTrace))
    assert f"0000  {' '.join(f'{b:02x}' for b in hello.raw[:16])}" in out
    assert "cipher_suites: " in out and "key_share: X25519MLKEM768 (1216 bytes), x25519 (32 bytes)" in out


def test_colour_only_when_asked_or_on_a_terminal() -> None:
    events = cached_run("1.3").client
    plain = render_text(events)
    assert "\x1b[" not in plain
    coloured = io.StringIO()
    TextTrace(coloured, color=True).render(events)
    assert "\x1b[" in coloured.getvalue()
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.getvalue()) == plain


# -- --explain ------------------------------------------------------------------------------------


def explained(kind: str, side: str) -> str:
    return render_text(cached_run(kind).events(side), explain=True, width=1000)


@pytest.mark.parametrize("side", SIDES)
def test_explain_rsa_names_the_three_randoms(side: str) -> None:
    text = explained("1.2-rsa", side)
    plain = " ".join(line.lstrip(" |") for line in text.splitlines())
    for words in ("client random", "server random", "pre-master secret", "three values"):
        assert words in plain, words
    assert 'master_secret = PRF(pre_master_secret, "extended master secret", session_hash)' in plain
    assert 'key_block = PRF(master_secret, "key expansion", server_random + client_random)' in plain
    assert "encrypts it with the RSA public key from the server's certificate" in plain
    assert "no forward secrecy" in plain
    # The steps are numbered the way the seed articles number them.
    steps = re.findall(r"Step (\d+), (\w+) \((client|server) to", plain)
    assert [(int(n), name) for n, name, _ in steps] == [(i + 1, m[1]) for i, m in enumerate(FLOWS["1.2-rsa"])]


@pytest.mark.parametrize("side", SIDES)
def test_explain_ecdhe_and_finished(side: str) -> None:
    plain = explained("1.2-ecdhe", side)
    assert "The server signs it, together with the client random and the server random" in plain
    assert "forward secrecy" in plain
    assert "defeats a downgrade" in plain
    assert "a ticket" in plain and "RFC 5077" in plain
    assert "ChangeCipherSpec: a one-byte record" in plain


@pytest.mark.parametrize("side", SIDES)
def test_explain_tls13_one_round_trip(side: str) -> None:
    plain = explained("1.3", side)
    assert "why TLS 1.3 needs one round trip" in plain
    assert "everything after this message is encrypted" in plain
    assert "middlebox compatibility mode" in plain
    assert "CertificateVerify" in plain and "defeats a downgrade" in plain
    assert "truncation attack" in plain


def test_explain_lines_are_indented_under_their_event() -> None:
    text = render_text(cached_run("1.3").client, explain=True)
    lines = text.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("client > ClientHello")))
    assert lines[first + 1].startswith("         | Step 1, ClientHello (client to server): ")
    assert all(len(line) <= 100 for line in lines if line.startswith("         | "))


# -- JSON lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", KINDS)
def test_json_lines_parse_in_order_with_fields(kind: str, side: str) -> None:
    events = cached_run(kind).events(side)
    out = io.StringIO()
    JsonLinesTrace(out).render(events)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [o["seq"] for o in objects] == list(range(len(events)))
    assert [o["kind"] for o in objects] == [e.kind for e in events]
    assert all(o["side"] == side for o in objects)
    messages = [o for o in objects if o["kind"] == "message"]
    assert [(o["direction"], o["message"]) for o in messages] == expected_messages(kind, side)
    raw = [e.message.raw.hex() for e in events if isinstance(e, MessageTrace)]
    assert [o["raw"] for o in messages] == raw
    by_name = {o["message"]: o for o in messages}
    assert (
        by_name["ClientHello"]["handshake_type"] == "client_hello"
        and by_name["ClientHello"]["handshake_type_code"] == 1
    )
    assert by_name["ClientHello"]["fields"]["server_name"] == "localhost"
    assert by_name["ServerHello"]["fields"]["cipher_suite"] == next(
        e.message.cipher_suite.name for e in events if isinstance(e, MessageTrace) and e.message.name == "ServerHello"
    )
    assert by_name["Certificate"]["fields"]["certificate 0 subject"] == "CN=localhost"
    records = [o for o in objects if o["kind"] == "record"]
    wire = [e.header.hex() + e.payload.hex() for e in events if isinstance(e, RecordTrace)]
    assert [o["header"] + o["payload"] for o in records] == wire
    data = [o for o in records if o["inner_type"] == "application_data"]
    assert data and all("plaintext" not in o and o["plaintext_length"] == 20 for o in data)
    alerts = [o for o in objects if o["kind"] == "alert"]
    assert {(o["level"], o["description"]) for o in alerts} == {("warning", "close_notify")}


def test_json_lines_extra_and_data_on_request() -> None:
    out = io.StringIO()
    JsonLinesTrace(out, include_data=True, extra={"connection": 7}).render(cached_run("1.3").server)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(o["connection"] == 7 for o in objects)
    data = [o for o in objects if o.get("inner_type") == "application_data"]
    assert bytes.fromhex(data[0]["plaintext"]) == b"ping from the client"


# -- secrets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_text_or_json_unless_asked(kind: str) -> None:
    run = cached_run(kind)
    needles = all_secret_needles(run)
    for side in SIDES:
        events = run.events(side)
        assert any(isinstance(e, SecretTrace) and e.secret for e in events)  # the values were there to leak
        outputs = [render_text(events), render_text(events, full=True), render_text(events, explain=True)]
        out = io.StringIO()
        JsonLinesTrace(out).render(events)
        outputs.append(out.getvalue())
        for text in outputs:
            for needle in needles:
                assert needle not in text


@pytest.mark.parametrize("kind", ["1.3", "1.2-rsa"])
def test_show_secrets_prints_them_with_a_warning(kind: str) -> None:
    run = cached_run(kind)
    text = render_text(run.client, show_secrets=True)
    assert text.splitlines()[0] == SECRETS_WARNING
    for e in run.client:
        if isinstance(e, SecretTrace):
            assert f"client * secret {e.label} = {e.secret.hex()}" in text
    if kind == "1.3":
        assert "client_write_key = " in text and "server_write_iv = " in text
    else:
        assert "client_write_key = " in text and "server_write_IV = " in text
    out = io.StringIO()
    JsonLinesTrace(out, show_secrets=True).render(run.client)
    secrets = [json.loads(line) for line in out.getvalue().splitlines() if '"kind": "secret"' in line]
    assert secrets and all(len(bytes.fromhex(o["secret"])) >= 32 for o in secrets)


def test_tee_gives_secrets_only_to_who_wants_them() -> None:
    keylog_out, text_out, json_out = io.StringIO(), io.StringIO(), io.StringIO()
    observer = Tee(KeyLog(keylog_out), TextTrace(text_out, color=False), JsonLinesTrace(json_out))
    assert observer.wants_secrets
    run = traced_run("1.3", client_extra=observer)
    assert len(keylog_out.getvalue().splitlines()) == 5
    needles = all_secret_needles(run)
    assert any(n in keylog_out.getvalue() for n in needles)
    for text in (text_out.getvalue(), json_out.getvalue()):
        assert "ClientHello" in text
        assert not any(n in text for n in needles)
    assert not Tee(TextTrace(io.StringIO(), color=False)).wants_secrets
    assert combine(None, None) is None


def test_no_renderer_is_loaded_without_an_observer() -> None:
    code = (
        "import sys, glasstls\n"
        "from glasstls import ClientConfig, ClientConnection\n"
        "ClientConnection(ClientConfig(), server_name='example.com').data_to_send()\n"
        "loaded = [m for m in sys.modules if m.startswith('glasstls.trace') or m == 'rich']\n"
        "print(loaded)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


# -- describe ------------------------------------------------------------------------------------


def test_unknown_and_grease_extensions_are_named_in_hex() -> None:
    hello = ClientHello(
        random=bytes(32),
        cipher_suites=(CipherSuite(0x0A0A), CipherSuite.TLS_AES_128_GCM_SHA256),
        extensions=(Extension(0x0A0A, b""), Extension(0x1234, b"\x01\x02")),
    )
    hello.encode()
    fields = dict(describe(hello))
    assert fields["extensions"] == "2: GREASE_0x0a0a, unknown_0x1234"
    assert fields["GREASE_0x0a0a"] == "(empty)"
    assert fields["unknown_0x1234"] == "2 bytes: 0102"
    assert fields["cipher_suites"] == "2: GREASE_0x0a0a, TLS_AES_128_GCM_SHA256"
    assert extension_value(Extension(0x1234, bytes(40))).endswith("… (40 bytes)")
    assert "2 cipher suites" in headline(hello)


def test_a_hello_s_tls12_only_extension_that_does_not_decode_is_kept_and_described() -> None:
    """ec_point_formats and extended_master_secret with bodies that do not decode, in a ClientHello:
    kept as Unreadable (a server that chooses TLS 1.3 ignores them; one that chooses TLS 1.2 refuses
    them then, tests/conformance), and described with why and their bytes, not as an error."""
    hello = ClientHello(
        random=bytes(32),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        extensions=(
            Extension(ExtensionType.ec_point_formats, b""),
            Extension(ExtensionType.extended_master_secret, b"\x07"),
        ),
    )
    decoded = decode_message(hello.encode())
    values = [ext.value for ext in decoded.extensions]
    assert [type(v) for v in values] == [Unreadable, Unreadable]
    assert values[1].error.description == AlertDescription.decode_error
    fields = dict(describe(decoded))
    assert fields["ec_point_formats"] == f"unreadable ({values[0].error.reason}), (empty)"
    assert fields["extended_master_secret"] == f"unreadable ({values[1].error.reason}), 1 byte: 07"


# -- resumption and HelloRetryRequest, explained ------------------------------------------------------


def resumed_run(corrupt_ticket: bool = False) -> tuple[list[TraceEvent], list[TraceEvent]]:
    first = make_pair(client_kw={"tls_max": V12})
    pump(first, [])
    session = first.client.session
    assert session is not None and session.ticket
    if corrupt_ticket:
        session = dataclasses.replace(session, ticket=bytes([session.ticket[0] ^ 1]) + session.ticket[1:])
    client_log, server_log = EventList(), EventList()
    client = ClientConnection(first.client_config, server_name="localhost", session=session, observer=client_log)
    server = ServerConnection(first.server_config, observer=server_log)
    for _ in range(6):
        out = client.data_to_send()
        if out:
            server.receive_bytes(out)
        back = server.data_to_send()
        if back:
            client.receive_bytes(back)
    assert client.handshake_complete and server.handshake_complete
    assert client.parameters is not None and client.parameters.resumed is not corrupt_ticket
    return client_log.events, server_log.events


def test_explain_resumption_by_ticket() -> None:
    client_events, server_events = resumed_run()
    text = " ".join(line.lstrip(" |") for line in render_text(client_events, explain=True).splitlines())
    assert "It presents a session ticket from an earlier connection" in text
    assert "that is how a server says it could decrypt the ticket" in text
    assert "This abbreviated handshake skips the certificate and the key exchange" in text
    shown = [(d, name) for d, name, _ in message_lines(render_text(client_events), "client")]
    assert shown == [("out", "ClientHello"), ("in", "ServerHello"), ("in", "Finished"), ("out", "Finished")]
    assert "resumed" in message_lines(render_text(server_events), "server")[1][2]
    server_text = render_text(server_events, explain=True, width=1000)
    assert "server * verified session ticket: " in server_text
    assert "The server could decrypt the ticket" in server_text


def test_explain_an_invalid_ticket_falls_back() -> None:
    _, server_events = resumed_run(corrupt_ticket=True)
    text = render_text(server_events, explain=True, width=1000)
    assert "server ! rejected session ticket: " in text
    assert "falls back to a full handshake" in text
    assert "server > Certificate (11): " in text


def test_explain_hello_retry_request() -> None:
    client_log = EventList()
    pair = make_pair(
        client_observer=client_log,
        client_kw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
        server_kw={"groups": (NamedGroup.secp256r1,)},
    )
    pump(pair, [])
    text = render_text(client_log.events, explain=True, width=1000)
    assert "client < HelloRetryRequest (2): TLS_AES_128_GCM_SHA256; key share needed: selected group secp256r1" in text
    assert "It asks the client to try again with a key share for that group" in text
    assert "the second ClientHello, the answer to the HelloRetryRequest" in text
    assert "key shares secp256r1 (65 bytes)" in text


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_a_certificate_request_says_what_it_accepts_on_one_line(version: str) -> None:
    """Seed 002 describes the request's certificate types and CA names; the one-line trace gave only the
    signature algorithms (the types and the CAs were in --explain and --trace=full)."""
    events = EventList()
    roots = TrustStore.from_pem(default_ca().root_pem())
    pair = make_pair(
        client_observer=events,
        client_kw={"tls_max": V12} if version == "1.2" else {},
        server_kw={"client_auth": "optional", "client_trust_store": roots},
    )
    pair.handshake()
    (line,) = [line for line in render_text(events.events).splitlines() if "< CertificateRequest" in line]
    if version == "1.2":
        assert "certificate types rsa_sign, ecdsa_sign; signature algorithms " in line
    assert line.endswith("; CAs CN=glasstls throwaway root")


@pytest.mark.parametrize("kind", ["1.2-ecdhe", "1.3"])
def test_explain_names_the_keys_that_protect_application_data(kind: str) -> None:
    """TLS 1.2 has no 'application traffic keys' (RFC 8446's words): its records use the key block."""
    text = explained(kind, "client")
    tls13 = "Application data, encrypted and authenticated with the application traffic keys"
    tls12 = "Application data, encrypted and authenticated with the keys of the key block, which the master secret"
    assert (tls13 in text, tls12 in text) == ((True, False) if kind == "1.3" else (False, True))


def test_a_certificate_message_of_many_certificates_lists_the_first_ones() -> None:
    """A hostile chain of thousands of entries (or a capture of one) is not described certificate by
    certificate: the first LISTED_CERTIFICATES are, and the rest are counted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from glasstls.trace.describe import LISTED_CERTIFICATES
    from glasstls.wire.handshake import Certificate, CertificateEntry

    der = x509.load_pem_x509_certificate(default_ca().root_pem()).public_bytes(serialization.Encoding.DER)
    msg = Certificate(certificate_request_context=b"", entries=tuple(CertificateEntry(der) for _ in range(500)))
    fields = describe(msg)
    assert dict(fields)["certificates"] == "500"
    listed = {name.split()[1] for name, _ in fields if name.startswith("certificate ") and name[12:13].isdigit()}
    assert listed == {str(i) for i in range(LISTED_CERTIFICATES)}
    unlisted = f"{500 - LISTED_CERTIFICATES} (the first {LISTED_CERTIFICATES} are)"
    assert dict(fields)["certificates not listed"] == unlisted
