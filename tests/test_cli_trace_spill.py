"""`glasstls server --trace` holds a connection's trace to write it out in one piece, and past
SPILL_BYTES writes out what it holds as a block of its own: a client that keeps a traced connection
busy with small records made the server hold its whole trace until the end (hundreds of MiB in seconds,
found by a helper's review of the server's bounds)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

import glasstls
from glasstls.trace import SPILL_BYTES
from serving_helpers import WAIT, CLIServer, make_pki


@pytest.mark.parametrize("mode", ["--trace", "--trace=json"])
def test_a_long_traced_connection_is_written_out_as_it_goes(tmp_path: Path, mode: str) -> None:
    pki = make_pki(tmp_path)
    chunks: list[bytes] = []
    with CLIServer(pki, mode, stdout=subprocess.PIPE) as server:
        assert server.proc.stdout is not None
        reader = threading.Thread(target=lambda: chunks.extend(iter(server.proc.stdout.readline, b"")), daemon=True)
        reader.start()
        tls = glasstls.connect("127.0.0.1", server.port, pki.client_config(), server_name="localhost", timeout=WAIT)
        with tls:
            for _ in range(1500):  # each echo: two traced records
                tls.sendall(b"x")
                assert tls.recv(1) == b"x"
            written_meanwhile = sum(len(c) for c in chunks)
    # Most of the trace was out before the connection ended, in blocks of about SPILL_BYTES.
    assert written_meanwhile > 4 * SPILL_BYTES, written_meanwhile
    if mode == "--trace":
        assert sum(c.startswith(b"* connection 1 from") and b"continued" in c for c in chunks) >= 4
