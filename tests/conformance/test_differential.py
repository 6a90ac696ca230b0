"""differential.py, the differential fuzzing tool, still runs in each mode against openssl s_server/s_client.

A few probes a mode: the tool is not a test of glasstls (its findings need a reading of the RFCs),
but it must not rot. Each run must finish, count its probes, and print only probes the two stacks
answered otherwise, each naming both answers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from openssl_target import OPENSSL

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(120),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed"),
]

HERE = Path(__file__).parent
DIFFERENCE = re.compile(r"^(.+): glasstls (.+), OpenSSL (.+)$")


@pytest.mark.parametrize(("mode", "count"), [("hello", 6), ("flight", 4), ("client", 4)])
def test_each_mode_runs_and_reports_only_differences(mode: str, count: int) -> None:
    argv = [sys.executable, str(HERE / "differential.py"), mode, "--seed", "3", "--count", str(count)]
    proc = subprocess.run(argv, cwd=HERE, capture_output=True, text=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stderr
    summary = re.search(r"^(\d+) probes, (\d+) answered otherwise$", proc.stderr, re.MULTILINE)
    assert summary is not None, proc.stderr
    probes, differ = int(summary[1]), int(summary[2])
    lines = proc.stdout.splitlines()
    assert probes == count and differ == len(lines) <= count, (proc.stdout, proc.stderr)
    for line in lines:
        found = DIFFERENCE.match(line)
        assert found is not None and found[2] != found[3], line
