"""The core stays a library: ``import glasstls`` loads the TLS stack and its drivers, not the
renderers, the command line or the dependencies only they need (rich, dpkt, h11)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = (
    "import json, sys, glasstls; "
    "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('glasstls', 'rich', 'dpkt', 'h11')))))"
)


def test_import_glasstls_leaves_the_renderers_and_the_cli_alone() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(out.stdout)
    assert "glasstls.connection" in loaded and "glasstls.io.aio" in loaded  # the probe sees the core
    unwanted = [m for m in loaded if m.startswith(("glasstls.trace.", "glasstls.cli", "rich", "dpkt", "h11"))]
    assert not unwanted, unwanted
