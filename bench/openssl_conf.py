"""The OpenSSL configuration the benchmarks pin Python's ``ssl`` with. A module of its own that
imports nothing that loads ``ssl``: it must be read before anything imports ``ssl`` (glasstls
does, for the system's default CA file), because OpenSSL reads OPENSSL_CONF once, when ``ssl`` loads."""

from __future__ import annotations

import atexit
import os
import tempfile


def pinned_openssl_conf(suite: str, group: str) -> str:
    """An OpenSSL configuration that pins the TLS 1.3 suite and group of every SSL_CTX: Python 3.11's
    ssl has no set_ciphersuites, so a benchmark tells OpenSSL through OPENSSL_CONF instead."""
    return (
        "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n"
        f"system_default = system_default_sect\n[system_default_sect]\nCiphersuites = {suite}\nGroups = {group}\n"
    )


def pin_openssl(prefix: str, suite: str = "TLS_AES_128_GCM_SHA256", group: str = "X25519") -> str:
    """Point OPENSSL_CONF at a file pinning ``suite`` and ``group`` (removed at exit); its path.
    Must run before ``import ssl``."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write(pinned_openssl_conf(suite, group))
    atexit.register(os.unlink, path)
    os.environ["OPENSSL_CONF"] = path
    return path
