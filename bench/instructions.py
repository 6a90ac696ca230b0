"""Instructions per operation of one of bench.py's glasstls metrics, counted by callgrind.

    .venv/bin/python bench/instructions.py METRIC [-n N]

METRIC is one of hs13, hs12, res12, res13, bulk, bulk_s2c, chacha, chacha_s2c, traced
(bench.py's TLS 1.3 and TLS 1.2 handshakes and resumptions, 16 KiB writes each way, a
TLS 1.3 handshake with a text trace attached), or server13, server_res13 (sides.py's server
side alone: a ClientHello in, the server's first flight out, full and resumed). Wall-clock rates on a shared machine
drift from second to second; an instruction count does not, so it decides whether a
change pays (within about half a percent), and bench.py says what it is worth against ssl.

The count is the difference between two runs under ``valgrind --tool=callgrind``, one
doing N operations after a warm-up and one doing none, divided by N: start-up and
imports cancel out. Key generation would not (an RSA key takes a varying number of
tries), so the certificates and keys are made once and kept in out/instructions-pki/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
KEPT = HERE.parent / "out" / "instructions-pki"
METRICS = ("hs13", "hs12", "res12", "res13", "bulk", "bulk_s2c", "chacha", "chacha_s2c", "traced")
METRICS += ("server13", "server_res13")  # sides.py's server side
WARMUP = 20


def kept_pki() -> Any:
    """bench/common.py's PKI, made once and read back from out/instructions-pki/ after that."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not (KEPT / "rsa.key").exists():
        from common import make_pki

        pki = make_pki(Path(tempfile.mkdtemp(prefix="glasstls-instructions-")))
        KEPT.mkdir(parents=True, exist_ok=True)
        (KEPT / "root.pem").write_bytes(pki.ca.root_pem())
        for name, issued in (("ec", pki.server), ("rsa", pki.rsa_server)):
            pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain)
            (KEPT / f"{name}.pem").write_bytes(pem)
            key = issued.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            (KEPT / f"{name}.key").write_bytes(key)

    def issued(name: str) -> SimpleNamespace:
        chain = tuple(x509.load_pem_x509_certificates((KEPT / f"{name}.pem").read_bytes()))
        key = serialization.load_pem_private_key((KEPT / f"{name}.key").read_bytes(), None)
        return SimpleNamespace(chain=chain, private_key=key)

    root = (KEPT / "root.pem").read_bytes()
    return SimpleNamespace(ca=SimpleNamespace(root_pem=lambda: root), server=issued("ec"), rsa_server=issued("rsa"))


def operation(metric: str) -> Any:
    """The timed operation of ``metric``, as bench.py's glasstls stack builds it."""
    from common import TLS13_CHACHA, TLS13_SUITE
    from stacks_glasstls import Glasstls

    if metric in ("server13", "server_res13"):
        from sides import glasstls_operations

        operations, _ = glasstls_operations(kept_pki())
        return operations["server_full" if metric == "server13" else "server_resumption"]

    stack = Glasstls(kept_pki(), TLS13_CHACHA if metric.startswith("chacha") else TLS13_SUITE)
    makers = {
        "hs13": lambda: stack.handshake,
        "hs12": lambda: stack.handshake12()[1],
        "res12": lambda: stack.resumption12()[1],
        "res13": lambda: stack.resumption13()[1],
        "bulk": lambda: stack.bulk("c2s")[1],
        "bulk_s2c": lambda: stack.bulk("s2c")[1],
        "chacha": lambda: stack.bulk("c2s")[1],
        "chacha_s2c": lambda: stack.bulk("s2c")[1],
        "traced": lambda: stack.traced("handshakes_text")[1],
    }
    return makers[metric]()


def run(metric: str, count: int) -> None:
    """The worker: a warm-up, then ``count`` operations (what callgrind counts)."""
    sys.path.insert(0, str(HERE))
    op = operation(metric)
    for _ in range(WARMUP + count):
        op()


def counted(metric: str, count: int) -> int:
    """Instructions callgrind counts for a worker doing ``count`` operations."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, metric, "--worker", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metric", choices=METRICS)
    parser.add_argument("-n", type=int, default=50, help="operations counted (default 50; bulk: use 1000 or more)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        run(args.metric, args.worker)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same dict layouts in both runs
    kept_pki()  # made here, if it must be, so that neither counted run makes keys
    per_op = (counted(args.metric, args.n) - counted(args.metric, 0)) / args.n
    print(f"{args.metric}: {per_op / 1000:,.0f}k instructions per operation (N={args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
