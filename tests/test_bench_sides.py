"""bench/sides.py --quick --json runs through: each side's first flight timed for both stacks.

A smoke run (issue 15): the figures depend on the machine, so nothing here asserts a ratio
beyond its being there and positive. What it does check is what the script itself checks
before timing: both servers answered the recorded ClientHellos, and both resumed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_quick import run_quick

METRICS = ("client_full", "server_full", "client_resumption", "server_resumption")

pytestmark = pytest.mark.timeout(90)


def test_sides_quick_writes_both_stacks_for_every_metric(tmp_path: Path) -> None:
    stdout, results = run_quick("sides.py", tmp_path)
    assert tuple(results) == METRICS
    for metric, numbers in results.items():
        for stack in ("glasstls", "python ssl"):
            timed = numbers["us"][stack]
            assert timed["median"] > 0 and len(timed["rounds"]) == 3 and all(r > 0 for r in timed["rounds"]), metric
        assert numbers["ratio_glasstls_ssl"] > 0
        assert numbers["what"] in stdout  # the table prints every row
