"""Renderers never raise on anything a peer can send, and a malformed peer certificate ends in an alert.

Two halves:

* In memory, property-based (hypothesis): real handshakes (TLS 1.3 and 1.2, with client
  certificates, seen from either side) with one message or record mutated, certificates
  mutated or malformed, messages built with values of the wrong kind (plain ints where an
  enum belongs) and alerts and checks with arbitrary text, pushed through every renderer:
  text, full, explain, JSON lines, the illustrated page, the SVG and Mermaid diagrams and
  the diagnosis. None may raise, none may fall back to its last-resort "cannot show"
  line, and none may print a raw control character.
* As processes on 127.0.0.1, the two crashes this file was written for: ``glasstls server
  --trace --client-ca`` and a TLS 1.2 client (the CertificateRequest's certificate_types
  were plain ints), and a certificate that carries one extension twice (``cryptography``
  raises DuplicateExtension lazily), presented by a client to the server and by a server
  to ``glasstls client --trace``. Both sides stay up, the right alert is sent, and the
  reason says what is wrong.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import sys
import threading
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls import CertifiedKey
from glasstls.enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    ExtensionType,
    ProtocolVersion,
)
from glasstls.errors import AlertError, PeerAlertError, TLSError
from glasstls.observe import AlertTrace, EventList, MessageTrace, RecordTrace, TraceEvent, VerificationTrace
from glasstls.trace import describe as D
from glasstls.trace.diagnose import diagnose
from glasstls.trace.diagram import SequenceDiagram
from glasstls.trace.illustrate import Illustration
from glasstls.trace.jsonl import JsonLinesTrace
from glasstls.trace.text import render_text
from glasstls.wire import handshake as H
from glasstls.wire import handshake12 as H12
from glasstls.wire.extensions import Extension, KeyShareEntry
from glasstls.x509.mint import certificates_pem, private_key_pem
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_path_rfc5280, verify_server_chain
from malformed_certs import named, pem, with_duplicated_extension
from pairs import default_ca, make_pair
from serving_helpers import PKI, WAIT, CLIServer

GLASSTLS = [sys.executable, "-m", "glasstls"]
OPENSSL = "openssl"

TEXT_MODES: dict[str, dict[str, Any]] = {
    "text": {},
    "full": {"full": True},
    "explain": {"explain": True},
    "everything": {"full": True, "explain": True, "show_secrets": True},
}

# What each renderer prints when its last resort caught an exception: never expected.
FALLBACKS = (
    "trace: cannot show",
    "cannot render this event",
    "cannot be illustrated",
    "cannot be shown",
    "cannot be drawn",
    "nothing more can be said",
    "cannot explain this step",
)

UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    return [repr(ch) for ch in text if ch not in allowed and unicodedata.category(ch) in UNSAFE]


# -- recorded handshakes ------------------------------------------------------------------------------


@functools.cache
def traces() -> dict[str, tuple[TraceEvent, ...]]:
    """Complete handshakes with client certificates, SNI and ALPN, then data and close, from both sides."""
    ca = default_ca()
    alice = ca.issue_client("alice")
    out: dict[str, tuple[TraceEvent, ...]] = {}
    for label, version in (("1.3", ProtocolVersion.TLSv1_3), ("1.2", ProtocolVersion.TLSv1_2)):
        client, server = EventList(wants_secrets=True), EventList(wants_secrets=True)
        pair = make_pair(
            client_observer=client,
            server_observer=server,
            client_kw={"tls_max": version, "certificate": CertifiedKey(alice.chain, alice.private_key),
                       "alpn": ("h2", "http/1.1")},
            server_kw={"client_auth": "required", "client_trust_store": TrustStore.from_pem(ca.root_pem()),
                       "alpn": ("http/1.1",)},
        )  # fmt: skip
        pair.handshake()
        assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
        pair.client.send(b"hello")
        pair.to_server()
        pair.client.close()
        pair.to_server()
        out[f"{label} client"], out[f"{label} server"] = tuple(client.events), tuple(server.events)
    return out


def parsers(key: str) -> dict | None:
    return H12.TLS12_PARSERS if key.startswith("1.2") else None


# -- every renderer ------------------------------------------------------------------------------------


def render_everything(events: list[TraceEvent], error: BaseException | None) -> dict[str, str]:
    """What each renderer makes of ``events``; any exception fails the test."""
    out = {name: render_text(events, **opts) for name, opts in TEXT_MODES.items()}
    buffer = StringIO()
    JsonLinesTrace(buffer, show_secrets=True).render(events)
    out["json"] = buffer.getvalue()
    page = Illustration()
    page.add(events)
    out["html"] = page.render()
    diagram = SequenceDiagram(events, show_states=True)
    out["svg"], out["mermaid"] = diagram.to_svg(), diagram.to_mermaid()
    side = events[0].side if events else "client"
    out["diagnose"] = diagnose(error, events, side=side)
    return out


def check_outputs(out: dict[str, str]) -> None:
    for name, text in out.items():
        for marker in FALLBACKS:
            assert marker not in text, f"{name} fell back to its last resort:\n{text[:3000]}"
        # The page's own CSS and script may hold tabs; nothing a peer sent may.
        assert not raw_controls(text, "\n\t" if name in ("html", "svg") else "\n"), (name, raw_controls(text))
    for line in out["json"].splitlines():
        assert "error" not in json.loads(line), line
    ET.fromstring(out["svg"])  # well-formed XML


def check(events: list[TraceEvent], error: BaseException | None = None) -> dict[str, str]:
    out = render_everything(events, error)
    check_outputs(out)
    return out


# -- strategies --------------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, data: bytes, fix_length: bool) -> bytes:
    """``data`` with a few bytes changed, cut or inserted; a handshake header's length kept right or not."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("set", "set", "set", "cut", "insert")))
        if kind == "set" and out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        elif kind == "cut" and out:
            del out[draw(st.integers(0, len(out) - 1)) :]
        else:
            at = draw(st.integers(0, len(out)))
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
    if fix_length and len(out) >= 4:
        out[1:4] = (len(out) - 4).to_bytes(3, "big")
    return bytes(out)


def as_record(side: str, direction: str, data: bytes) -> RecordTrace:
    header = bytes([ContentType.handshake, 3, 3]) + len(data).to_bytes(2, "big")
    return RecordTrace(side, direction, ContentType.handshake, header, data)


@st.composite
def mutated_handshakes(draw: st.DrawFn) -> tuple[list[TraceEvent], BaseException]:
    """A recorded handshake with one message or record mutated (a message that no longer parses
    reaches the renderers as a record's bytes, which is how they would see it)."""
    key = draw(st.sampled_from(sorted(traces())))
    events = list(traces()[key])
    index = draw(st.sampled_from([i for i, e in enumerate(events) if isinstance(e, MessageTrace | RecordTrace)]))
    event = events[index]
    if isinstance(event, MessageTrace):
        raw = draw(mutated(event.message.raw, fix_length=draw(st.booleans())))
        try:
            events[index] = MessageTrace(event.side, event.direction, H.decode_message(raw, parsers(key)))
        except (TLSError, ValueError):
            events[index] = as_record(event.side, event.direction, raw)
    else:
        assert isinstance(event, RecordTrace)
        content_type = ContentType(draw(st.integers(0, 255)))
        plaintext = draw(mutated(event.plaintext, False)) if event.plaintext else None
        inner = ContentType(draw(st.integers(0, 255))) if plaintext is not None else None
        header = draw(mutated(event.header, False))
        events[index] = RecordTrace(event.side, event.direction, content_type, header, event.payload, inner, plaintext)
    return events, draw(errors())


def errors() -> st.SearchStrategy[BaseException]:
    texts = st.text(max_size=40)
    return st.one_of(
        st.builds(AlertError, st.sampled_from(list(AlertDescription)), texts),
        st.builds(PeerAlertError, st.sampled_from(list(AlertDescription)), texts),
        st.builds(TLSError, texts),
    )


@functools.cache
def sample_certificates() -> tuple[bytes, ...]:
    """A good leaf, the same leaf with its subjectAltName twice, and one whose names hold controls."""
    ca = default_ca()
    good = ca.issue_server(["localhost"]).certificate
    evil, _ = named(ca, "\x1b[31m<b>evil</b>\n* forged\u202e", ["localhost", "evil\x1b[0m.example"])
    duplicated = with_duplicated_extension(good, ca.issuer[1])
    return good.public_bytes(Encoding.DER), duplicated, evil.public_bytes(Encoding.DER)


@st.composite
def certificate_messages(draw: st.DrawFn) -> tuple[list[TraceEvent], BaseException]:
    """A recorded handshake whose Certificate carries a mutated, duplicated-extension or hostile certificate."""
    key = draw(st.sampled_from(sorted(traces())))
    events = list(traces()[key])
    # TLS 1.3 glasstls peers compress their Certificates (RFC 8879): a Certificate takes that one's place.
    certificates = (H.Certificate, H.CompressedCertificate, H12.Certificate12)
    index = next(i for i, e in enumerate(events) if isinstance(getattr(e, "message", None), certificates))
    der = draw(st.sampled_from(sample_certificates()))
    der = draw(st.one_of(st.just(der), mutated(der, False), st.binary(max_size=64)))
    chain = (der, *draw(st.lists(st.sampled_from(sample_certificates()), max_size=2)))
    if key.startswith("1.2"):
        msg: Any = H12.Certificate12(chain)
    else:
        msg = H.Certificate(b"", tuple(H.CertificateEntry(d) for d in chain))
    msg.encode()
    old = events[index]
    assert isinstance(old, MessageTrace)
    events[index] = MessageTrace(old.side, old.direction, msg)
    return events, draw(errors())


def codes(bits: int = 16) -> st.SearchStrategy[int]:
    """Code points as plain ints (what code may build a message with), in range or not."""
    return st.one_of(st.integers(0, (1 << bits) - 1), st.integers(-5, 1 << 20))


def hostile_text() -> st.SearchStrategy[str]:
    specials = st.sampled_from(["\n", "\r", "\x1b[31m", "\x07", "\x7f", "\x85", "\u202e", "\u2028", "\ufeff", "\\"])
    return st.lists(st.one_of(st.text(max_size=4), specials), max_size=6).map("".join)


@st.composite
def built_messages(draw: st.DrawFn) -> Any:
    """Messages built with plain ints where enums belong, and extensions holding hostile values."""
    hostile = draw(hostile_text())
    ext = st.sampled_from(
        [
            Extension(ExtensionType.server_name, b"", hostile),
            Extension(ExtensionType.application_layer_protocol_negotiation, b"", (hostile.encode("utf-8", "replace"),)),
            Extension(ExtensionType.key_share, b"", (KeyShareEntry(draw(codes()), b"\x01" * 32),)),  # type: ignore[arg-type]
            Extension(ExtensionType.key_share, b"", draw(codes())),
            Extension(ExtensionType.supported_versions, b"", draw(codes(20))),
            Extension(draw(codes()), b"\x00\x01", draw(st.one_of(st.none(), codes(), st.binary(max_size=4)))),  # type: ignore[arg-type]
        ]
    )
    extensions = tuple(draw(st.lists(ext, max_size=4)))
    options = [
        H12.CertificateRequest12(tuple(draw(st.lists(codes(8), max_size=4))), tuple(draw(st.lists(codes())))),
        H.CertificateVerify(draw(codes()), b"sig"),  # type: ignore[arg-type]
        H.KeyUpdate(draw(codes(8))),  # type: ignore[arg-type]
        H.ServerHello(draw(codes()), bytes(32), b"", draw(codes()), 0, extensions),  # type: ignore[arg-type]
        H.ClientHello(draw(codes()), bytes(32), b"", tuple(draw(st.lists(codes(), max_size=3))), (0,), extensions),  # type: ignore[arg-type]
        H.EncryptedExtensions(extensions),
        H.CertificateRequest(b"", extensions),
    ]
    return draw(st.sampled_from(options))


@st.composite
def built_handshakes(draw: st.DrawFn) -> tuple[list[TraceEvent], BaseException]:
    """A recorded handshake with a built message, an alert and a check of arbitrary content spliced in."""
    key = draw(st.sampled_from(sorted(traces())))
    events = list(traces()[key])
    side, reason, byte = events[0].side, draw(hostile_text()), st.integers(0, 255)
    at = draw(st.integers(0, len(events)))
    extra: list[TraceEvent] = [
        MessageTrace(side, draw(st.sampled_from(("in", "out"))), draw(built_messages())),
        # The alert's and the record's code points as enums or plain ints: renderers name both.
        AlertTrace(
            side,
            "in",
            draw(st.one_of(byte.map(AlertLevel), byte)),
            draw(st.one_of(byte.map(AlertDescription), byte)),
            reason,
        ),
        RecordTrace(side, "in", draw(st.one_of(byte.map(ContentType), byte)), b"\x17\x03\x03\x00\x01", b"\x00"),
        VerificationTrace(side, draw(hostile_text()), draw(st.booleans()), draw(hostile_text())),
    ]
    events[at:at] = draw(st.permutations(extra))
    return events, draw(errors())


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated_handshakes())
def test_every_renderer_survives_a_mutated_message_or_record(case: tuple[list[TraceEvent], BaseException]) -> None:
    check(*case)


@SETTINGS
@given(certificate_messages())
def test_every_renderer_survives_malformed_certificates(case: tuple[list[TraceEvent], BaseException]) -> None:
    check(*case)


@SETTINGS
@given(built_handshakes())
def test_every_renderer_survives_messages_built_with_plain_ints(case: tuple[list[TraceEvent], BaseException]) -> None:
    check(*case)


# -- the two crashes, in memory ---------------------------------------------------------------------------


def test_tls12_certificate_request_carries_the_open_enum_and_renders() -> None:
    events = list(traces()["1.2 server"])
    request = next(e.message for e in events if isinstance(getattr(e, "message", None), H12.CertificateRequest12))
    assert all(isinstance(t, H12.ClientCertificateType) for t in request.certificate_types)
    assert dict(D.describe(request))["certificate_types"] == "rsa_sign, ecdsa_sign"
    plain = H12.CertificateRequest12((1, 64, 0x99), (0x0403,))  # type: ignore[arg-type]
    assert dict(D.describe(plain))["certificate_types"] == "rsa_sign, ecdsa_sign, unknown_0x99"
    assert dict(D.describe(plain))["signature_algorithms"] == "ecdsa_secp256r1_sha256"


def test_a_duplicated_extension_is_shown_undecodable_and_the_rest_still_is() -> None:
    _, duplicated, _ = sample_certificates()
    fields = dict(D.certificate_fields(duplicated, "certificate 0"))
    assert fields["certificate 0 subject"] == "CN=localhost"
    assert fields["certificate 0 extensions"] == (
        "undecodable: it carries the extension subjectAltName (2.5.29.17) twice, and RFC 5280 (Section 4.2) "
        "allows each extension once: the certificate must be reissued"
    )
    assert fields["certificate 0 key"].startswith("EC secp256r1")


@pytest.mark.parametrize("role", ["server", "client"])
def test_path_validation_refuses_a_duplicated_extension_with_bad_certificate(role: str) -> None:
    """The handshake parses every certificate first; validation called directly still ends in the alert."""
    ca = default_ca()
    identity = ca.issue_server(["localhost"]) if role == "server" else ca.issue_client("alice")
    leaf = x509.load_der_x509_certificate(with_duplicated_extension(identity.certificate, ca.issuer[1]))
    chain, store, now = (leaf, *identity.chain[1:]), TrustStore.from_pem(ca.root_pem()), datetime.now(UTC)
    checks = [lambda: verify_path_rfc5280(chain, "localhost", store, now)]
    if role == "server":
        checks.append(lambda: verify_server_chain(chain, "localhost", store, now))
    else:
        checks.append(lambda: verify_client_chain(chain, store, now))
    for check in checks:
        with pytest.raises(AlertError) as caught:
            check()
        assert caught.value.description == AlertDescription.bad_certificate
        assert "subjectAltName (2.5.29.17)" in caught.value.reason or "duplicate extension" in caught.value.reason


# -- as processes, on 127.0.0.1 ------------------------------------------------------------------------------


@dataclass
class Files:
    pki: PKI
    dir: Path
    client: tuple[Path, Path]  # a good client certificate (chain) and key
    dup_client: tuple[Path, Path, Path]  # leaf with a duplicated extension, its intermediate, key
    dup_server: tuple[Path, Path, Path]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("robust-renderers")
    ca = default_ca()
    server = ca.issue_server(["localhost", "127.0.0.1"])
    server.write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    alice = ca.issue_client("alice")
    alice.write(d / "client.pem", d / "client.key")
    (d / "intermediate.pem").write_bytes(certificates_pem(alice.chain[1:]))
    for name, identity in (("dup-client", alice), ("dup-server", server)):
        (d / f"{name}.pem").write_bytes(pem(with_duplicated_extension(identity.certificate, ca.issuer[1])))
        (d / f"{name}.key").write_bytes(private_key_pem(identity.private_key))
    return Files(
        PKI(ca, d / "server.pem", d / "server.key", d / "ca.pem"),
        d,
        (d / "client.pem", d / "client.key"),
        (d / "dup-client.pem", d / "intermediate.pem", d / "dup-client.key"),
        (d / "dup-server.pem", d / "intermediate.pem", d / "dup-server.key"),
    )


@pytest.fixture
def trace_file(tmp_path: Path) -> Iterator[Any]:
    with open(tmp_path / "trace.txt", "w+b") as f:
        yield f


def glasstls_client(port: int, files: Files, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(files.pki.ca_pem), "--servername", "localhost",
         "--linger", "0.5", "--timeout", str(WAIT), *args],
        input=b"hello\n", capture_output=True, timeout=WAIT * 2,
    )  # fmt: skip


def s_client(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-brief", *args],
        input="hello\n", capture_output=True, text=True, errors="replace", timeout=WAIT * 2,
    )  # fmt: skip


def served(server: CLIServer, files: Files) -> None:
    """The server is still up and serves a TLS 1.3 client with a good certificate."""
    assert server.alive(), server.log
    cert, key = files.client
    res = glasstls_client(server.port, files, "--cert", str(cert), "--key", str(key))
    assert res.returncode == 0 and res.stdout == b"hello\n", res.stderr.decode(errors="replace")


@pytest.mark.interop
@pytest.mark.parametrize("mode", [("--trace",), ("--trace=full",), ("--explain",)], ids=lambda m: m[0])
def test_traced_server_asking_for_a_client_certificate_serves_tls12(
    files: Files, trace_file: Any, mode: tuple[str, ...]
) -> None:
    cert, key = files.client
    with CLIServer(files.pki, "--client-ca", str(files.pki.ca_pem), *mode, stdout=trace_file) as server:
        chain = str(files.dir / "intermediate.pem")  # s_client sends only the first certificate of -cert
        ca = str(files.pki.ca_pem)
        options = ("-tls1_2", "-cert", str(cert), "-cert_chain", chain, "-key", str(key), "-CAfile", ca)
        res = s_client(server.port, *options)
        # s_client leaves at the end of its input without waiting for the echo: the handshake is what counts.
        assert "Protocol version: TLSv1.2" in res.stderr and "alert" not in res.stderr, res.stderr
        res2 = glasstls_client(server.port, files, "--tls-max", "1.2", "--cert", str(cert), "--key", str(key))
        assert res2.returncode == 0 and res2.stdout == b"hello\n", res2.stderr.decode(errors="replace")
        served(server, files)
    trace = Path(trace_file.name).read_text(errors="replace")
    assert "CertificateRequest (13)" in trace and "Traceback" not in server.log


@pytest.mark.interop
@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_a_client_certificate_with_a_duplicated_extension_gets_bad_certificate(
    files: Files, trace_file: Any, protocol: str
) -> None:
    leaf, chain, key = files.dup_client
    args = ("--client-ca", str(files.pki.ca_pem), "--trace=full", "--explain")
    with CLIServer(files.pki, *args, stdout=trace_file) as server:
        # -ign_eof: in TLS 1.3 the refusal comes after the client's handshake; wait for it.
        res = s_client(server.port, protocol, "-cert", str(leaf), "-cert_chain", str(chain), "-key", str(key),
                       "-CAfile", str(files.pki.ca_pem), "-ign_eof")  # fmt: skip
        assert "alert bad certificate" in res.stderr and "SSL alert number 42" in res.stderr, res.stderr
        line = server.wait_for(r"handshake with .* failed")
        assert (
            "client certificate #0 (CN=alice) is malformed: it carries the extension subjectAltName (2.5.29.17) "
            "twice, and RFC 5280 (Section 4.2) allows each extension once: the certificate must be reissued"
        ) in line
        assert "alert bad_certificate" in line, line
        server.wait_for(r"likely fix: +the client's certificate is malformed")
        served(server, files)
    trace = Path(trace_file.name).read_text(errors="replace")
    assert "extensions undecodable: it carries the extension subjectAltName (2.5.29.17) twice" in trace


@pytest.mark.interop
@pytest.mark.parametrize("mode", [("--trace",), ("--trace=full", "--explain"), ("--trace=json",)], ids=" ".join)
def test_glasstls_client_refuses_a_server_certificate_with_a_duplicated_extension(
    files: Files, mode: tuple[str, ...]
) -> None:
    leaf, chain, key = files.dup_server
    with openssl_server("-naccept", "2", "-rev", "-cert", str(leaf), "-cert_chain", str(chain), "-key", str(key)) as (
        port,
        output,
    ):
        for _ in range(2):  # a second connection: the client's first refusal took nothing down
            res = glasstls_client(port, files, *mode)
            err = res.stderr.decode(errors="replace")
            assert res.returncode == 1 and "Traceback" not in err, err
            assert (
                "server certificate #0 (CN=localhost) is malformed: it carries the extension subjectAltName "
                "(2.5.29.17) twice"
            ) in err
            assert "alert bad_certificate" in err and "the server's certificate is malformed" in err, err
    assert sum("alert bad certificate" in line for line in output) == 2, output


@contextlib.contextmanager
def openssl_server(*args: str) -> Iterator[tuple[int, list[str]]]:
    """``openssl s_server`` on an ephemeral port of 127.0.0.1; yields the port and its output so far (a live list).

    Its output is read by a thread, so a pipe never blocks it; stdin stays open (s_server stops at its end)
    until the server is killed on exit.
    """
    proc = subprocess.Popen(
        [OPENSSL, "s_server", "-accept", "127.0.0.1:0", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    )  # fmt: skip
    lines: list[str] = []
    accepted = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("ACCEPT"):
                accepted.set()
        accepted.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert accepted.wait(WAIT) and any(x.startswith("ACCEPT") for x in lines), lines
        yield int(next(x for x in lines if x.startswith("ACCEPT")).rsplit(":", 1)[1]), lines
    finally:
        proc.kill()
        proc.wait(WAIT)
        assert proc.stdin is not None
        proc.stdin.close()
        reader.join(WAIT)
