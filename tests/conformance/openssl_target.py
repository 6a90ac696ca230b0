"""``openssl s_server`` as the reference server the rules are checked against.

The same probes (rules.py) go to OpenSSL 3 on 127.0.0.1, so the alert each rule
expects is what OpenSSL sends, or the difference is written down in the rule
(``openssl=``) and in README.md. s_server runs with ``-rev`` (it answers each
line reversed), keeps accepting, and is killed in :meth:`OpenSSLTarget.stop`.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from target import DEADLINE, authority, client_certificate, client_config, identity

import glasstls
from glasstls.x509.mint import certificates_pem

OPENSSL = shutil.which("openssl")

# s_server options for each configuration of test_conformance.SERVERS.
OPTIONS: dict[str, tuple[str, ...]] = {
    "default": (),
    "tls13": ("-tls1_3",),
    "tls12": ("-tls1_2",),
    "alpn": ("-alpn", "h2,http/1.1"),
    "hrr": ("-groups", "secp384r1"),
    "stateless": ("-groups", "secp384r1", "-stateless"),
    "early": ("-early_data",),  # (max_early_data 16384)
    "clientauth": ("-Verify", "1", "-verify_return_error"),  # (and -CAfile, the conformance root: OpenSSLTarget)
    "recordlimit": (),  # (OpenSSL 3.0 has no record_size_limit, RFC 8449: it takes records of any size)
}


class _Config:
    def __init__(self, alpn: tuple[str, ...]) -> None:
        self.alpn = alpn


class OpenSSLTarget:
    def __init__(self, folder: Path, kind: str) -> None:
        ident = identity()
        (folder / "cert.pem").write_bytes(certificates_pem(ident.chain[:1]))
        (folder / "chain.pem").write_bytes(certificates_pem(ident.chain[1:]))
        (folder / "key.pem").write_bytes(ident.key_pem())
        # -rev answers each line reversed, which serves() checks; s_server refuses it with -early_data,
        # and then only the handshake is checked.
        self.echoes = kind != "early"
        argv = [OPENSSL or "openssl", "s_server", "-accept", "127.0.0.1:0", *(("-rev",) if self.echoes else ())]
        argv += ["-cert", str(folder / "cert.pem"), "-cert_chain", str(folder / "chain.pem")]
        argv += ["-key", str(folder / "key.pem"), *OPTIONS[kind]]
        self.client_kw: dict[str, Any] = {}
        if kind == "clientauth":
            (folder / "root.pem").write_bytes(authority().root_pem())
            argv += ["-CAfile", str(folder / "root.pem")]
            self.client_kw = {"certificate": client_certificate()}
        self.config = _Config(("h2", "http/1.1") if kind == "alpn" else ())
        self.errors: list[str] = []
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + DEADLINE
        while not any(line.startswith("ACCEPT") for line in self._lines):
            assert time.monotonic() < deadline and self.proc.poll() is None, self._lines
            time.sleep(0.05)
        accept = next(line for line in self._lines if line.startswith("ACCEPT"))
        self.port = int(re.findall(r":(\d+)", accept)[-1])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line.rstrip("\n"))
            self.errors.append(line.rstrip("\n"))

    def serves(self, version: Any = None) -> bool:
        kw: dict[str, Any] = {}
        if version is not None:
            kw = {"tls_min": version, "tls_max": version}
        cfg = client_config(**kw, **self.client_kw, alpn=self.config.alpn)
        with glasstls.connect("127.0.0.1", self.port, cfg, server_name="localhost", timeout=DEADLINE) as tls:
            if not self.echoes:
                return True
            tls.sendall(b"next\n")
            return tls.recv().startswith(b"txen")

    def stop(self) -> None:
        self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(DEADLINE)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self._reader.join(DEADLINE)
