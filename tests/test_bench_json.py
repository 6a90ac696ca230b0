"""bench/bench.py --quick --json runs through and writes every metric, with its ratios and spreads.

A smoke run only (issue 15): the rates depend on the machine and on whatever else runs
on it, so nothing here asserts a rate or a ratio beyond its being there and positive
(the benchmark prints them). tlslite-ng may be absent, or unable to do a metric: it
must then say why ("n/a") instead of giving a number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import glasstls

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench.py"
BOUND = 38.0  # seconds; a quick run takes about 20 on a busy 2-core machine

COMPARED = (
    "handshakes",
    "megabytes",
    "megabytes_s2c",
    "megabytes_chacha",
    "megabytes_chacha_s2c",
    "handshakes12",
    "resumptions12",
    "resumptions13",
)
MEMORY = ("memory_pair", "memory_client", "memory_server")
TRACED = ("handshakes_text", "handshakes_explain")
FLOORED = COMPARED  # every handshake and bulk metric has its crypto floor beside it

pytestmark = pytest.mark.timeout(BOUND + 20)


def _positive(numbers: dict, where: str) -> None:
    assert numbers["median"] > 0 and numbers["min"] > 0 and numbers["max"] >= numbers["min"], (where, numbers)
    assert numbers["rounds"] and all(r > 0 for r in numbers["rounds"]), (where, numbers)


def test_quick_run_writes_every_metric(tmp_path: Path) -> None:
    numbers_file = tmp_path / "bench.json"
    # On a timeout subprocess.run kills the benchmark; its workers get SIGTERM then (PR_SET_PDEATHSIG).
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(numbers_file)],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    numbers = json.loads(numbers_file.read_text())

    assert numbers["commit"] and numbers["stacks"] == ["glasstls", "ssl", "tlslite-ng"]
    # The glasstls measured is this checkout's (the commit names it, not only the script's tree).
    assert Path(numbers["glasstls_from"]) == Path(glasstls.__file__).resolve().parent
    assert numbers["commit"] == numbers["bench_commit"]
    assert sorted(numbers["metrics"]) == sorted(COMPARED + MEMORY + TRACED)
    for key, metric in numbers["metrics"].items():
        assert metric["label"] in out, f"{metric['label']} is not in the table:\n{out}"
        for stack in ("glasstls", "ssl") if key not in TRACED else ("glasstls",):
            _positive(metric[stack], f"{key} {stack}")
        if "median" in metric["tlslite-ng"]:
            _positive(metric["tlslite-ng"], f"{key} tlslite-ng")
            assert metric["ratios"]["glasstls/tlslite-ng"] > 0, key
        else:
            assert metric["tlslite-ng"]["n/a"], key  # a reason, not a silent gap
        ratios = ("traced/untraced",) if key in TRACED else ("glasstls/ssl",)
        for name in ratios:
            assert metric["ratios"][name] > 0, (key, name)
            assert all(r > 0 for r in metric["ratio_rounds"][name]), (key, name)
        if key in FLOORED:
            _positive(metric["floor"], f"{key} floor")
            assert metric["floor"]["us_per_operation"] > 0 and metric["floor"]["includes"], key
            assert all(us > 0 for us in metric["floor"]["components_us"].values()), key
            assert metric["floor_ratios"]["glasstls"] > 0 and metric["floor_ratios"]["ssl"] > 0, key
    for key in MEMORY:
        for stack in ("glasstls", "ssl"):
            reading = numbers["metrics"][key][stack]
            assert reading["connections"] > 0 and reading["rss_after"] > reading["rss_before"], (key, reading)
    for key in COMPARED:  # every row checked what it negotiated
        assert "TLSv1" in numbers["metrics"][key]["glasstls"]["negotiated"], key
    assert "ChaCha20" in out and "crypto floor" in out and "traced/untraced" in out
