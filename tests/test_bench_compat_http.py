"""bench/compat_http.py --quick runs through, on nginx and on the stdlib fallback, and reports every metric.

A smoke run only: the rates depend on the machine and on whatever else runs on it,
so nothing here asserts a rate or a ratio beyond its being positive (the benchmark
prints them). The benchmark itself checks, with the server's counters, that every
keep-alive run kept its connection and every new-connection run made one per request;
the JSON's connection counts are checked here again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "compat_http.py"
BOUND = 60.0  # seconds for one run; a quick run takes about 5 on an idle 2-core machine

VERSIONS = ("tls13", "tls12")
CLIENTS = ("urllib3", "requests")
MODES = ("keepalive", "new")
METRICS = [f"{v}.{c}.{m}" for v in VERSIONS for c in CLIENTS for m in MODES]

pytestmark = pytest.mark.timeout(BOUND + 30)
pytest.importorskip("urllib3")
pytest.importorskip("requests")


def _has_nginx() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").is_file()


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("nginx", marks=pytest.mark.skipif(not _has_nginx(), reason="nginx is not installed")),
        "stdlib",  # the fallback: Python's http.server over ssl, always there
    ],
)
def test_quick_run_reports_every_metric(tmp_path: Path, server: str) -> None:
    numbers_file = tmp_path / "compat_http.json"
    # On a timeout subprocess.run kills the benchmark; its server goes with it (the fallback
    # at the end of its stdin, nginx by PR_SET_PDEATHSIG).
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--server", server, "--json", str(numbers_file)],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "glasstls/ssl" in done.stdout, done.stdout

    numbers = json.loads(numbers_file.read_text())
    assert numbers["server"]["name"].startswith(server), numbers["server"]
    assert sorted(numbers["metrics"]) == sorted(METRICS)
    for key, metric in numbers["metrics"].items():
        assert metric["label"] in done.stdout, f"{metric['label']} not in the table:\n{done.stdout}"
        assert metric["ratio"] > 0 and all(r > 0 for r in metric["ratio_rounds"]), key
        for stack in ("ssl", "glasstls"):
            got = metric[stack]
            assert got["median"] > 0 and got["min"] > 0 and got["requests"] > 0, (key, stack, got)
            assert len(got["rounds"]) == numbers["plan"]["rounds"] and all(r > 0 for r in got["rounds"])
            expected = got["requests"] if metric["mode"] == "new" else 0
            assert got["connections"] == expected, (key, stack, got)
