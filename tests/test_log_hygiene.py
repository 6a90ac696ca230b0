"""Names a peer chooses never reach a log or a terminal raw.

A client chooses its SNI host name and ALPN protocol names, a server (or a client) the
subject and subjectAltName entries of its certificate. A newline in one of them would
forge a log line, an ANSI escape recolour the terminal, a bidi override make a name read
backwards. :func:`glasstls.text.printable` escapes them, and every text output goes
through it: checked here on the bytes each output really writes, with glasstls server
and glasstls client run as processes on 127.0.0.1 (the traces: text, full, explain,
JSON; the diagnosis; the client's summary and errors; the page and the diagrams, which
must also stay well-formed HTML, SVG and Mermaid).
"""

from __future__ import annotations

import html.parser
import json
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

import glasstls
from glasstls.config import Dangerous
from glasstls.errors import TLSError
from glasstls.text import printable
from glasstls.x509.mint import Issuer, build_certificate, certificates_pem, private_key_pem
from malformed_certs import named
from pairs import default_ca
from serving_helpers import PKI, WAIT, CLIServer

GLASSTLS = [sys.executable, "-m", "glasstls"]
SKIP = {"2.5.29.14", "2.5.29.35"}  # subject and authority key identifiers: build_certificate adds them

# SNI is printable ASCII (RFC 6066, Section 3): markup gets through to be escaped; controls are refused.
EVIL_SNI = "evil<b>x</b>&.example"
CONTROL_SNI = "evil\nglasstls: 6.6.6.6:1 forged\x1b[31m\x07\x7f"
EVIL_ALPN = "\x1b[2J\u202eh2\nforged alpn"
EVIL_CN = "\x1b[31m<b>evil</b>\n* forged line\u202e\x85"
EVIL_DNS = "evil\x1b[0m.example"  # a dNSName is IA5String: ASCII, controls included
# What a forged line would start with, were a newline printed raw.
FORGED = (b"glasstls: 6.6.6.6", b"forged alpn", b"* forged line")
# The UTF-8 of what must never appear raw: ESC, CR, BEL, DEL, NEL (U+0085), RLO (U+202E), LS (U+2028).
RAW = (b"\x1b", b"\r", b"\x07", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae", b"\xe2\x80\xa8")
UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def subject() -> str:
    """EVIL_CN as RFC 4514 writes the subject (it escapes "<" and ">" with a backslash, which printable doubles)."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, EVIL_CN)]).rfc4514_string()


def assert_clean(data: bytes, what: str, allowed: str = "\n") -> None:
    """No raw control, format or separator character in ``data``, and no line a peer forged."""
    for raw in RAW:
        assert raw not in data, f"{what} holds {raw!r}:\n{data.decode(errors='replace')[:4000]}"
    text = data.decode("utf-8")
    bad = sorted({repr(ch) for ch in text if ch not in allowed and unicodedata.category(ch) in UNSAFE})
    assert not bad, f"{what} holds {bad}"
    for line in data.splitlines():
        assert not line.lstrip(b" |").startswith(FORGED), f"{what} has a forged line: {line!r}"


# -- printable itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("localhost", "localhost"),
        ("a\nb", "a\\nb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("x\u202ey", "x\\u202ey"),
        ("café 例", "café 例"),
        ("back\\slash", "back\\\\slash"),
        ("\t\r\x00\x7f\x85", "\\t\\r\\x00\\x7f\\x85"),
        ("\u2028\ufeff\U000e0001", "\\u2028\\ufeff\\U000e0001"),
        (b"h2\xff\n", "h2\\xff\\n"),
        (b"caf\xc3\xa9", "café"),
    ],
)
def test_printable(value: str | bytes, shown: str) -> None:
    assert printable(value) == shown


@given(st.one_of(st.text(), st.binary()))
def test_printable_leaves_nothing_unsafe_and_its_guard_form_is_idempotent(value: str | bytes) -> None:
    for escaped in (printable(value), printable(value, escape_backslash=False)):
        assert not [ch for ch in escaped if unicodedata.category(ch) in UNSAFE]
        assert printable(escaped, escape_backslash=False) == escaped


@given(st.text())
def test_printable_reads_back(value: str) -> None:
    """With backslashes doubled, the escaped text decodes to the original (nothing is ambiguous)."""
    escaped = printable(value)
    assert escaped.encode("latin-1", "backslashreplace").decode("unicode_escape") == value


# -- the files and the peers ----------------------------------------------------------------------------


@dataclass
class Files:
    pki: PKI
    dir: Path
    evil_server: tuple[Path, Path]  # a server certificate with hostile names, and its key
    evil_client: tuple[Path, Path]  # a client certificate with a hostile subject, and its key


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("hygiene")
    ca = default_ca()
    ca.issue_server(["localhost", "127.0.0.1"]).write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    pairs = {}
    for name, client in (("evil-server", False), ("evil-client", True)):
        cert, key = named(ca, EVIL_CN, ["localhost", EVIL_DNS], client=client)
        (d / f"{name}.pem").write_bytes(certificates_pem([cert, *ca.issue_server(["x"]).chain[1:]]))
        (d / f"{name}.key").write_bytes(private_key_pem(key))  # type: ignore[arg-type]
        pairs[name] = (d / f"{name}.pem", d / f"{name}.key")
    pki = PKI(ca, d / "server.pem", d / "server.key", d / "ca.pem")
    return Files(pki, d, pairs["evil-server"], pairs["evil-client"])


def hostile_client(port: int, files: Files, alpn: tuple[str, ...], server_name: str = EVIL_SNI) -> None:
    """A glasstls client (in this process) that sends ``server_name`` and these ALPN names, then one line."""
    config = files.pki.client_config(alpn=alpn, dangerous=Dangerous(skip_server_verification=True))
    with glasstls.connect("127.0.0.1", port, config, server_name=server_name, timeout=WAIT) as tls:
        tls.sendall(b"hello\n")
        assert tls.recv() == b"hello\n"


def glasstls_client(port: int, files: Files, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(files.pki.ca_pem), "--linger", "0.5",
         "--timeout", str(WAIT), *args],
        input=b"hello\n", capture_output=True, timeout=WAIT * 2,
    )  # fmt: skip


class _Balance(html.parser.HTMLParser):
    """Elements opened and closed in order (void elements aside): a page a peer's name did not break."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def assert_page(path: Path) -> None:
    page = path.read_bytes()
    assert_clean(page, str(path), allowed="\n\t")
    checker = _Balance()
    checker.feed(page.decode())
    checker.close()
    assert not checker.stack, checker.stack
    assert b"<b>evil" not in page  # the peer's markup stays text


# -- a hostile client: SNI and ALPN -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [("--trace", "--explain"), ("--trace=full",), ("--trace=json",)], ids=" ".join)
def test_sni_and_alpn_are_escaped_in_the_server_trace(files: Files, tmp_path: Path, mode: tuple[str, ...]) -> None:
    trace = tmp_path / "trace.out"
    page, diagram = tmp_path / "page.html", tmp_path / "flow.svg"
    extra = ("--illustrate", str(page), "--diagram", str(diagram))
    with open(trace, "wb") as out, CLIServer(files.pki, "--alpn", "http/1.1", *mode, *extra, stdout=out) as server:
        hostile_client(server.port, files, (EVIL_ALPN, "http/1.1"))
        server.wait_for(r"illustrated in")
    data = trace.read_bytes()
    assert_clean(data, "the server's trace")
    if mode[0] != "--trace=json":
        assert printable(EVIL_SNI).encode() in data  # shown, escaped, not dropped
        assert printable(EVIL_ALPN).encode() in data
    assert_page(tmp_path / "page-1.html")
    svg = (tmp_path / "flow-1.svg").read_bytes()
    assert_clean(svg, "the diagram", allowed="\n\t")
    assert any(EVIL_SNI in (element.text or "") for element in ET.fromstring(svg).iter())  # text, not markup


def test_a_refused_alpn_is_escaped_in_the_server_log_and_diagnosis(files: Files) -> None:
    with CLIServer(files.pki, "--alpn", "http/1.1") as server:
        with pytest.raises(TLSError):
            hostile_client(server.port, files, (EVIL_ALPN,))
        server.wait_for(r"likely fix:")
        log = server.log.encode()
    assert_clean(log, "the server's log")
    assert f"client offered {printable(EVIL_ALPN)}".encode() in log, log


def test_an_unknown_sni_is_escaped_in_the_server_log_and_diagnosis(files: Files) -> None:
    with CLIServer(files.pki, "--unknown-name", "refuse", "--trace", stdout=subprocess.DEVNULL) as server:
        with pytest.raises(TLSError):
            hostile_client(server.port, files, ())
        server.wait_for(r"likely fix:")
        log = server.log.encode()
    assert_clean(log, "the server's log")
    assert b"unrecognized_name" in log and EVIL_SNI.encode() in log, log


def test_a_server_name_with_control_characters_is_refused_and_not_logged(files: Files) -> None:
    # RFC 6066, Section 3: a host name holds no control character; the refusal does not echo it.
    with CLIServer(files.pki, "--trace", stdout=subprocess.DEVNULL) as server:
        with pytest.raises(TLSError, match="illegal_parameter"):
            hostile_client(server.port, files, (), server_name=CONTROL_SNI)
        server.wait_for(r"likely fix:")
        log = server.log.encode()
    assert_clean(log, "the server's log")
    assert b"server_name holds a control character" in log
    assert not any(line.startswith(FORGED) for line in log.splitlines()), log


# -- a hostile certificate: subject and subjectAltName ----------------------------------------------------------


@pytest.mark.parametrize("mode", [("--trace", "--explain"), ("--trace=full",), ("--trace=json",)], ids=" ".join)
def test_the_client_escapes_a_hostile_server_certificate(files: Files, tmp_path: Path, mode: tuple[str, ...]) -> None:
    cert, key = files.evil_server
    page, svg, mmd = tmp_path / "page.html", tmp_path / "flow.svg", tmp_path / "flow.mmd"
    with CLIServer(PKI(files.pki.ca, cert, key, files.pki.ca_pem)) as server:
        ok = glasstls_client(server.port, files, "--servername", "localhost", *mode, "--illustrate", str(page),
                             "--diagram", str(svg))  # fmt: skip
        assert ok.returncode == 0 and ok.stdout == b"hello\n", ok.stderr
        assert_clean(ok.stderr, "the client's summary and trace")
        if mode[0] != "--trace=json":
            assert printable(subject()).encode() in ok.stderr
        assert_page(page)
        ET.fromstring(svg.read_bytes())
        # The name asked for is not in the certificate: the refusal quotes the certificate's names.
        bad = glasstls_client(server.port, files, "--servername", "other.example", *mode, "--diagram", str(mmd))
        assert bad.returncode == 1, bad.stderr
        assert_clean(bad.stderr, "the client's error and diagnosis")
        reason = f"certificate is for localhost, {printable(EVIL_DNS)}, not other.example"
        if mode[0] == "--trace=json":  # stderr is JSON Lines: the failure is the last object
            assert reason in json.loads(bad.stderr.splitlines()[-1])["error"]
        else:
            assert reason.encode() in bad.stderr
        assert_clean(mmd.read_bytes(), "the Mermaid diagram")
        assert b"<" not in mmd.read_bytes().split(b"sequenceDiagram", 1)[1]


def test_the_server_escapes_a_hostile_client_certificate(files: Files, tmp_path: Path) -> None:
    cert, key = files.evil_client
    trace = tmp_path / "trace.out"
    args = ("--client-ca", str(files.pki.ca_pem), "--trace", "--explain")
    with open(trace, "wb") as out, CLIServer(files.pki, *args, stdout=out) as server:
        res = glasstls_client(server.port, files, "--servername", "localhost", "--cert", str(cert), "--key", str(key))
        assert res.returncode == 0 and res.stdout == b"hello\n", res.stderr
    data = trace.read_bytes()
    assert_clean(data, "the server's trace")
    assert f"verified {printable(subject())}".encode() in data, data


def test_a_long_peer_name_brings_no_python_warning(files: Files, tmp_path: Path) -> None:
    """A commonName over X.520's 64 characters (real O= and CN= fields run longer) made cryptography
    warn, with Python source lines, on every read: in the client's --trace=json stderr, which must
    stay JSON Lines, and in the server's log. OpenSSL reads such names silently."""
    long_cn = "a-rather-long-name-" * 6
    cert, key = named(files.pki.ca, "short", ["localhost"])
    issuer_cert, issuer_key = files.pki.ca.issuer
    long_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, long_cn, _validate=False)])
    cert = build_certificate(
        long_name, cert.public_key(), Issuer(issuer_cert, issuer_key), issuer_key, cert.not_valid_before_utc,
        cert.not_valid_after_utc, [(e.value, e.critical) for e in cert.extensions if e.oid.dotted_string not in SKIP],
    )  # fmt: skip
    (tmp_path / "long.pem").write_bytes(certificates_pem([cert, *files.pki.ca.issue_server(["x"]).chain[1:]]))
    (tmp_path / "long.key").write_bytes(private_key_pem(key))  # type: ignore[arg-type]
    log = tmp_path / "server.log"
    with open(log, "wb") as out, CLIServer(PKI(files.pki.ca, tmp_path / "long.pem", tmp_path / "long.key",
                                                files.pki.ca_pem), "--trace", stdout=out) as server:  # fmt: skip
        res = glasstls_client(server.port, files, "--servername", "localhost", "--trace=json")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.decode().splitlines()
    assert all(line.startswith("{") for line in lines), [line for line in lines if not line.startswith("{")]
    assert b"Warning" not in log.read_bytes()
    assert long_cn.encode() in log.read_bytes() or long_cn.encode() in res.stderr
