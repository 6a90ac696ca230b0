"""The core stays a library (issue 9, item 7): its errors speak of configuration, never of a command line.

Every failure of the in-memory failure matrix (tests/test_failure_matrix.py) and the
configuration errors a Python caller meets say what is wrong in library terms
(``ClientConfig.trust_store``) and carry :class:`~glasstls.errors.Facts`; no reason
mentions a command-line option. The CLI adds its own hints from those facts: a
``glasstls client`` that was given no CA for its server is told ``--cacert``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.errors import PROBLEMS, AlertError, ConfigError, Facts, TLSError
from glasstls.events import ConnectionClosed
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.stapling import StapleSource
from glasstls.x509.verify import verify_server_chain
from test_failure_matrix import ROWS, VERSIONS, Cell, MatrixPKI, mint_matrix_pki, run_cell

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")  # "--cacert", not "TLS_ECDHE--x" nor "a--b"
TIMEOUT = 30


def _no_option(error: BaseException) -> None:
    text = str(error) + " " + str(getattr(error, "reason", ""))
    assert not OPTION.search(text), f"a library error speaks CLI: {text}"
    facts = getattr(error, "facts", None)
    if facts is not None:
        assert facts.problem in PROBLEMS, facts


@pytest.fixture(scope="module")
def pki() -> MatrixPKI:
    return mint_matrix_pki()


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", ROWS, ids=[c.row for c in ROWS])
def test_failure_matrix_errors_speak_library(pki: MatrixPKI, cell: Cell, version: str) -> None:
    client_events, server_events = run_cell(pki, cell, version)
    errors = [e.error for e in client_events + server_events if isinstance(e, ConnectionClosed)]
    assert errors and all(isinstance(e, TLSError) for e in errors), errors
    for error in errors:
        _no_option(error)


# The facts of the trust and revocation rows: whose chain, which store (or CRL field), which problem.
EXPECTED_FACTS = {
    "unknown_ca": ("untrusted_issuer", "server", "ClientConfig.trust_store"),
    "missing_intermediate": ("missing_intermediate", "server", "ClientConfig.trust_store"),
    "client_untrusted": ("untrusted_issuer", "client", "ServerConfig.client_trust_store"),
    "wrong_host": ("name_mismatch", "server", "server_name"),
}


@pytest.mark.parametrize("row", list(EXPECTED_FACTS))
def test_trust_failures_carry_facts(pki: MatrixPKI, row: str) -> None:
    cell = next(c for c in ROWS if c.row == row)
    client_events, server_events = run_cell(pki, cell, "TLSv1.3")
    detector = client_events if cell.detector == "client" else server_events
    (error,) = [e.error for e in detector if isinstance(e, ConnectionClosed)]
    assert isinstance(error, AlertError) and error.facts is not None
    assert (error.facts.problem, error.facts.chain, error.facts.field) == EXPECTED_FACTS[row]
    if row == "wrong_host":
        assert (error.facts.name, error.facts.value) == ("example.com", "www.example.org, example.org")


def test_hard_fail_revocation_names_the_crl_field(pki: MatrixPKI) -> None:
    from glasstls.x509.revocation import check_crls

    path = (*pki.good_client.chain, pki.client_ca.root_cert)
    with pytest.raises(AlertError) as raised:
        check_crls(path, (), datetime.now(UTC), "hard", role="client")
    _no_option(raised.value)
    facts = raised.value.facts
    assert facts is not None and (facts.problem, facts.field, facts.chain) == (
        "revocation_unknown",
        "ServerConfig.client_crls",
        "client",
    )


def _config_errors(pki: MatrixPKI, tmp_path: Path) -> list[tuple[ConfigError, str | None]]:
    key = CertifiedKey(pki.good_server.chain, pki.good_server.private_key)
    garbage = tmp_path / "garbage.der"
    garbage.write_bytes(b"not an OCSP response")
    now = datetime.now(UTC)
    attempts = [
        (lambda: ClientConfig(tls_min=ProtocolVersion.TLSv1_3, tls_max=ProtocolVersion.TLSv1_2), "version_range"),
        (lambda: ServerConfig(certificates=(key,), client_auth="required"), "missing_client_trust_store"),
        (lambda: verify_server_chain(pki.good_server.chain, " ", pki.server_store(), now), "no_server_name"),
        (lambda: StapleSource.from_file(garbage), "bad_ocsp_file"),
    ]
    found: list[tuple[ConfigError, str | None]] = []
    for attempt, problem in attempts:
        with pytest.raises(ConfigError) as raised:
            attempt()
        found.append((raised.value, problem))
    return found


def test_config_errors_speak_library(pki: MatrixPKI, tmp_path: Path) -> None:
    errors = _config_errors(pki, tmp_path)
    for error, problem in errors:
        _no_option(error)
        if problem is not None:
            assert error.facts is not None and error.facts.problem == problem, error
    version_range = errors[0][0]
    assert "tls_min TLSv1.3 is above tls_max TLSv1.2" in str(version_range)
    assert version_range.facts is not None and version_range.facts.field == "ClientConfig.tls_min"
    no_name = errors[2][0]
    assert no_name.facts == Facts("no_server_name", field="server_name")


def test_cli_hints_come_from_the_facts() -> None:
    from glasstls.cli.hints import hint

    server = Facts("untrusted_issuer", field="ClientConfig.trust_store", chain="server")
    client = Facts("untrusted_issuer", field="ServerConfig.client_trust_store", chain="client")
    assert "--cacert FILE" in hint(server)
    assert "--client-ca FILE" in hint(client)
    assert "--servername NAME" in hint(Facts("no_server_name", field="server_name"))
    assert "--client-crl FILE" in hint(Facts("revocation_unknown", field="ServerConfig.client_crls", chain="client"))
    assert hint(None) == ""


def test_cli_client_says_cacert_for_an_untrusted_server(tmp_path: Path) -> None:
    """``glasstls client`` against a server whose CA it was not given: the library reason names
    ClientConfig.trust_store, and the CLI's own hint says --cacert."""
    ca = ThrowawayCA.create("cli hint root")
    ca.issue_server(["localhost", "127.0.0.1"]).write(tmp_path / "server.pem", tmp_path / "server.key")
    glasstls = [sys.executable, "-m", "glasstls"]
    files = ["--cert", str(tmp_path / "server.pem"), "--key", str(tmp_path / "server.key")]
    server = subprocess.Popen(
        [*glasstls, "server", "--listen", "127.0.0.1:0", *files],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        res = subprocess.run(
            [*glasstls, "client", f"127.0.0.1:{match.group(1)}", "--linger", "0.3"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
            text=True,
        )
    finally:
        server.kill()
        server.wait(TIMEOUT)
    assert res.returncode == 1, res.stderr
    assert "is not trusted" in res.stderr and "ClientConfig.trust_store" in res.stderr
    assert "likely fix:   pass --cacert FILE" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_config_error_adds_its_hint() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "glasstls", "client", "127.0.0.1:1", "--tls-min", "1.3", "--tls-max", "1.2"],
        capture_output=True,
        timeout=TIMEOUT,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.startswith("glasstls: tls_min TLSv1.3 is above tls_max TLSv1.2")
    assert "hint: --tls-min is above --tls-max" in res.stderr
