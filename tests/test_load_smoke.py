"""bench/load.py --quick runs through: both servers up, every section measured, no failure.

A smoke run only: the numbers depend on the machine and on whatever else runs
on it, so nothing here asserts a rate or a latency (bench/load.py prints them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOAD = Path(__file__).resolve().parent.parent / "bench" / "load.py"
BOUND = 90.0  # seconds; a quick run takes about 25 on an idle 2-core machine

pytestmark = pytest.mark.timeout(BOUND + 30)

# The server under test is glasstls's asyncio driver; without it there is nothing to load.
pytest.importorskip("glasstls.io.aio")


def test_quick_load_run_completes_without_failures(tmp_path: Path) -> None:
    numbers_file = tmp_path / "load.json"
    # On a timeout subprocess.run kills load.py; its servers and client see their stdin
    # close and stop by themselves (bench/load_procs.py).
    done = subprocess.run(
        [sys.executable, str(LOAD), "--quick", "--json", str(numbers_file)],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    for heading in ("glasstls/ssl", "1. full handshakes", "2. ", "3. RSS per idle", "4. a fresh client"):
        assert heading in out, f"no {heading!r} in the table:\n{out}"
    assert "failures in all: 0" in out, out

    numbers = json.loads(numbers_file.read_text())
    assert numbers["failures_total"] == 0
    # The clients of a run are shared out among two load processes at least (one is one core,
    # and a client's handshake costs about twice a server's: bench/load.py's docstring).
    assert numbers["load_processes"] >= 2
    assert f"load: {numbers['load_processes']} processes of Python asyncio + ssl clients" in out, out
    for stack in ("glasstls", "ssl"):
        held = numbers["held"][stack]
        assert held["held"] == held["held_alive"] == numbers["plan"]["held"]
        assert held["churn"]["completed"] == numbers["plan"]["churn"]
        assert numbers["loris"][stack]["probes"] > 0
        for level in numbers["levels"].values():
            assert level[stack]["completed"] > 0
