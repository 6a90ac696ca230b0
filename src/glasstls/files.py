"""Reading the files a configuration names (certificates, keys, CA bundles, requests), within a bound.

A path may name something endless or huge by mistake (``--cert /dev/zero``, a disk image): it was read
whole, until memory ran out. A certificate, key or CA file is at most a few megabytes (a system CA
bundle is a few hundred kilobytes), so more than :data:`MAX_CONFIG_FILE` is refused by name.
"""

from __future__ import annotations

import os

from .errors import ConfigError

MAX_CONFIG_FILE = 64 << 20


def read_config_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``; OSError as ``open`` raises it, ConfigError past MAX_CONFIG_FILE."""
    with open(path, "rb") as f:
        data = f.read(MAX_CONFIG_FILE + 1)
    if len(data) > MAX_CONFIG_FILE:
        raise ConfigError(
            f"{os.fspath(path)} holds more than {MAX_CONFIG_FILE >> 20} MiB: no certificate, key or CA file is "
            "that large (glasstls.files.MAX_CONFIG_FILE)"
        )
    return data
