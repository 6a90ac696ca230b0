"""bench/phases.py --quick --json runs through: the phases of a TLS 1.3 resumption for both stacks.

A smoke run (issue 15): the figures depend on the machine, so nothing here asserts a ratio.
It checks what the script checks before timing (both stacks resume through all six phases),
that every cut was timed for both stacks, and that the phases add up to the whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_quick import run_quick

pytestmark = pytest.mark.timeout(90)


def test_phases_quick_times_every_cut_of_both_stacks(tmp_path: Path) -> None:
    stdout, results = run_quick("phases.py", tmp_path)
    assert len(results["phases"]) == 6
    for stack in ("glasstls", "python ssl"):
        numbers = results["stacks"][stack]
        assert [len(rounds) for rounds in numbers["cuts_us"]] == [3] * 6, stack
        assert all(us > 0 for rounds in numbers["cuts_us"] for us in rounds), stack
        assert sum(numbers["phase_us"]) == pytest.approx(numbers["cut_medians_us"][-1]), stack
    for phase in results["phases"]:
        assert phase in stdout  # the table prints every row
    assert "whole resumption" in stdout
