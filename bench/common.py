"""What the three stacks' benchmarks share: constants, the rate loop, the throwaway PKI.

Imports neither ``ssl`` nor a stack, so ``bench.py`` can point OPENSSL_CONF at its
file before anything imports ``ssl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openssl_conf import pinned_openssl_conf as pinned_openssl_conf  # re-exported for the load benchmark

from glasstls.x509.mint import Identity, ThrowawayCA

HOST = "localhost"
WRITE = 16 * 1024
MB = 1_000_000

TLS13_SUITE = "TLS_AES_128_GCM_SHA256"  # every TLS 1.3 metric but the ChaCha20 bulk rows
TLS13_CHACHA = "TLS_CHACHA20_POLY1305_SHA256"
TLS12_SUITE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
TLS12_OPENSSL_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"

_GROUP_NAMES = {0x001D: "x25519", 0x0017: "secp256r1", 0x0018: "secp384r1", 0x001E: "x448", 0x11EC: "X25519MLKEM768"}


def group_name(group: int) -> str:
    return _GROUP_NAMES.get(group, f"0x{group:04x}")


class NotNegotiated(RuntimeError):
    """A stack negotiated something other than what its row claims."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise NotNegotiated(what)


# -- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    value: float  # per second
    count: int  # operations timed
    elapsed: float


def rate(operation: Callable[[], int], seconds: float, warmup: float) -> Rate:
    """Run ``operation`` (which returns how much it did) for ``warmup`` untimed, then ``seconds`` timed.

    The clock is read after every operation, so a slow one (tlslite-ng's pure-Python
    AES-GCM) overshoots by at most itself.
    """
    clock = time.perf_counter
    stop = clock() + warmup
    while clock() < stop:
        operation()
    done, start = 0, clock()
    stop = start + seconds
    operations = 0
    while True:
        done += operation()
        operations += 1
        now = clock()
        if now >= stop:
            break
    return Rate(done / (now - start), operations, now - start)


# -- the PKI, shared by the three stacks ------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: ThrowawayCA
    server: Identity  # ECDSA P-256, for TLS 1.3
    rsa_server: Identity  # RSA-2048, for TLS 1.2 ECDHE-RSA
    directory: Path  # the same certificates as PEM files, for ssl and tlslite-ng

    @property
    def root_file(self) -> Path:
        return self.directory / "root.pem"

    @property
    def chain_file(self) -> Path:
        return self.directory / "chain.pem"

    @property
    def key_file(self) -> Path:
        return self.directory / "key.pem"

    @property
    def rsa_chain_file(self) -> Path:
        return self.directory / "rsa-chain.pem"

    @property
    def rsa_key_file(self) -> Path:
        return self.directory / "rsa-key.pem"


def make_pki(directory: Path) -> Pki:
    ca = ThrowawayCA.create("bench root", key_type="ecdsa-p256")  # root and one intermediate
    server = ca.issue_server([HOST], key_type="ecdsa-p256")
    rsa_server = ca.issue_server([HOST], key_type="rsa2048")
    pki = Pki(ca, server, rsa_server, directory)
    pki.root_file.write_bytes(ca.root_pem())
    server.write(pki.chain_file, pki.key_file)
    rsa_server.write(pki.rsa_chain_file, pki.rsa_key_file)
    return pki
