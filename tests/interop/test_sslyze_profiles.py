"""sslyze's Mozilla configuration checks against `glasstls server --profile P`.

sslyze (from PyPI) lives in a virtualenv of its own under .peers/ (`make peers` installs
it): it pins an older `cryptography` than glasstls needs. It scans a real `glasstls server`
on 127.0.0.1 with its own OpenSSL (nassl), then checks the result against Mozilla's JSON:
`--profile modern` must pass "modern", the default must pass "intermediate", and
`--profile legacy` must pass "old" (which also lists TLS 1.0 and 1.1; sslyze only fails a
server for what it accepts beyond the profile, and glasstls refuses those, RFC 8996).

Mozilla's certificate rules come with it: a lifetime of at most 90 days (modern) or 366,
an ECDSA certificate for modern, an RSA one signed with sha256WithRSAEncryption for old.
The certificates are made with the OpenSSL command line, and sslyze trusts their root
through --certinfo_ca_file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from interop_peers import OPENSSL, GlasstlsCLIServer

SSLYZE = Path(__file__).resolve().parents[2] / ".peers" / "sslyze" / "bin" / "sslyze"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not SSLYZE.exists(), reason=f"sslyze not installed at {SSLYZE} (make peers installs it)"),
]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _mint(directory: Path, kind: str) -> tuple[Path, Path, Path]:
    """A root and a localhost leaf of ``kind`` ("ec" or "rsa"), signed with SHA-256 by a root of
    the same kind, valid 90 days: (root, leaf, leaf key)."""
    d = directory / kind
    d.mkdir()
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" else ["-newkey", "rsa:2048"]
    _openssl(
        "req", "-x509", *new_key, "-nodes", "-sha256", "-days", "90", "-keyout", "root.key", "-out", "root.pem",
        "-subj", f"/CN=sslyze test {kind} root", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    _openssl("req", *new_key, "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "leaf.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
        "-sha256", "-days", "90", "-extfile", "leaf.ext", "-out", "leaf.pem",
        cwd=d,
    )  # fmt: skip
    return d / "root.pem", d / "leaf.pem", d / "leaf.key"


def _sslyze(mozilla: str, root: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SSLYZE), "--certinfo_ca_file", str(root), f"--mozilla_config={mozilla}", f"localhost:{port}{{127.0.0.1}}"],
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize(
    ("profile", "mozilla", "kind"),
    [("modern", "modern", "ec"), (None, "intermediate", "ec"), (None, "intermediate", "rsa"), ("legacy", "old", "rsa")],
    ids=["modern", "default-ecdsa", "default-rsa", "legacy-old"],
)
def test_sslyze_mozilla_check_passes(tmp_path: Path, profile: str | None, mozilla: str, kind: str) -> None:
    root, leaf, key = _mint(tmp_path, kind)
    args = ["--cert", str(leaf), "--key", str(key)] + (["--profile", profile] if profile else [])
    with GlasstlsCLIServer(*args) as server:
        result = _sslyze(mozilla, root, server.port)
    report = result.stdout[result.stdout.find("COMPLIANCE AGAINST") :]
    assert f'Mozilla\'s "{mozilla}" configuration' in report, result.stdout[-3000:] + result.stderr[-2000:]
    assert "OK - Compliant." in report, report
    assert result.returncode == 0, report


def test_sslyze_fails_the_legacy_profile_against_intermediate(tmp_path: Path) -> None:
    """The check can fail: legacy's CBC and RSA key transport suites are beyond "intermediate"."""
    root, leaf, key = _mint(tmp_path, "rsa")
    with GlasstlsCLIServer("--cert", str(leaf), "--key", str(key), "--profile", "legacy") as server:
        result = _sslyze("intermediate", root, server.port)
    report = result.stdout[result.stdout.find("COMPLIANCE AGAINST") :]
    assert "FAILED - Not compliant." in report, report
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in report and "should be rejected" in report
