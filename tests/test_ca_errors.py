"""The CA is a library too (issue 9, items 7 and 8): ``glasstls.x509.ca`` names its own parameters
(``days``, ``directory``) and carries :class:`~glasstls.errors.Facts`; ``glasstls ca`` adds the
option to pass (``--days N``, ``--dir DIR``) as its own hint."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from glasstls.cli.hints import hint, with_hint
from glasstls.cli.main import main
from glasstls.errors import PROBLEMS, ConfigError, Facts
from glasstls.x509.ca import MAX_DAYS, CertificateAuthority
from glasstls.x509.ca_files import load_private_key

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")  # as in test_library_errors.py


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path_factory.mktemp("ca") / "ca", now=NOW)


def _refusal(attempt: Callable[[], object]) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        attempt()
    error = raised.value
    assert not OPTION.search(str(error)), f"a library error speaks CLI: {error}"
    assert error.facts is not None and error.facts.problem in PROBLEMS, error
    return error


def test_ca_errors_name_parameters_and_carry_facts(ca: CertificateAuthority, tmp_path: Path) -> None:
    cases: list[tuple[Callable[[], object], str, str, str]] = [
        (lambda: CertificateAuthority.init(tmp_path / "a", days=0), "days must be", "init(days)", "0"),
        (
            lambda: CertificateAuthority.init(tmp_path / "b", intermediate_days=MAX_DAYS + 1),
            "intermediate_days must be",
            "init(intermediate_days)",
            str(MAX_DAYS + 1),
        ),
        (lambda: CertificateAuthority.init(tmp_path / "c", name=""), "name must be 1 to 64", "init(name)", ""),
        (
            lambda: CertificateAuthority.init(tmp_path / "d", ocsp_url="ocsp.example"),
            "ocsp_url 'ocsp.example'",
            "init(ocsp_url)",
            "ocsp.example",
        ),
        (lambda: CertificateAuthority.init(ca.directory), "choose another directory", "init(directory)", ""),
        (lambda: CertificateAuthority.load(tmp_path / "none"), "not a CA directory", "load(directory)", ""),
        (lambda: ca.issue_server(["a.example"], days=-1, now=NOW), "days must be", "issue_server(days)", "-1"),
        (
            lambda: ca.issue_client("Bob Smith", now=NOW),
            "give an e-mail address as well (email)",
            "issue_client(email)",
            "",
        ),
        (lambda: ca.crl(NOW, 0), "days must be", "crl(days)", "0"),
        (
            lambda: ca.ocsp_response(ca.issue_server(["b.example"], now=NOW).certificate, NOW, MAX_DAYS + 1),
            "days must be",
            "ocsp_response(days)",
            str(MAX_DAYS + 1),
        ),
    ]
    for attempt, words, field, value in cases:
        error = _refusal(attempt)
        assert words in str(error), error
        assert error.facts is not None
        assert (error.facts.problem, error.facts.field) == ("invalid_value", f"CertificateAuthority.{field}")
        if value:
            assert error.facts.value == value, error.facts


def test_an_encrypted_key_names_the_password(tmp_path: Path, ca: CertificateAuthority) -> None:
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        ca.issue_server(["c.example"], now=NOW).private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    error = _refusal(lambda: load_private_key(encrypted))
    assert "is encrypted and no password was given" in str(error)
    assert error.facts == Facts("invalid_value", field="load_private_key(password)", value=str(encrypted))
    assert load_private_key(encrypted, b"secret") is not None


def test_cli_hints_for_the_ca() -> None:
    def ca_facts(field: str, value: str = "") -> Facts:
        return Facts("invalid_value", field=f"CertificateAuthority.{field}", value=value)

    assert hint(ca_facts("init(days)")) == "on the command line, days is --days N"
    assert hint(ca_facts("issue_server(days)")) == "on the command line, days is --days N"
    assert "--intermediate-days N" in hint(ca_facts("init(intermediate_days)"))
    assert "--crl-url URL" in hint(ca_facts("init(crl_url)"))
    assert "--name" in hint(ca_facts("init(name)"))
    assert "`glasstls ca init --dir somewhere`" in hint(ca_facts("load(directory)", "somewhere"))
    assert "another --dir DIR" in hint(ca_facts("init(directory)"))
    assert hint(ca_facts("issue_client(email)")) == "give --email ADDRESS as well"
    assert "glasstls ca issue ocsp-responder" in hint(ca_facts("ocsp_response(responder)"))
    assert "openssl pkey -in k.pem" in hint(Facts("invalid_value", field="load_private_key(password)", value="k.pem"))
    # Not a field the CA tool knows: no hint rather than a wrong one.
    assert hint(Facts("invalid_value", field="ClientConfig.alpn")) == ""
    assert hint(ca_facts("init(unknown_parameter)")) == ""
    assert with_hint("x", ca_facts("crl(days)")) == "x\n  hint: on the command line, days is --days N"


def test_cli_adds_the_option_to_the_library_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ca", "--dir", "nowhere", "list"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "glasstls: nowhere is not a CA directory (no state.json): create one with CertificateAuthority.init\n"
        "  hint: create a CA there with `glasstls ca init --dir nowhere`, or point --dir at an existing one\n"
    )
    assert main(["ca", "init", "--days", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glasstls: days must be a whole number of days, 1 to 1000000 (got 0)\n"), err
    assert err.endswith("  hint: on the command line, days is --days N\n"), err


def test_cli_hint_from_a_real_process(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "glasstls", "ca", "--dir", str(tmp_path / "ca"), "init", "--intermediate-days", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("glasstls: intermediate_days must be a whole number of days"), res.stderr
    assert "hint: on the command line, intermediate_days is --intermediate-days N" in res.stderr
    assert not (tmp_path / "ca").exists()
