"""Running a bench/ script in its --quick form for a smoke test: its exit, its output, its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_quick(script: str, tmp_path: Path, timeout: float = 80) -> tuple[str, Any]:
    """``bench/<script> --quick --json FILE``: what it printed and the numbers it wrote (it must exit 0)."""
    out = tmp_path / f"{Path(script).stem}.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())
