"""The NSS key log (the SSLKEYLOGFILE format, draft-ietf-tls-keylogfile).

One line per secret, ``LABEL <client random hex> <secret hex>``, written as
soon as the secret is derived, so that Wireshark / tshark can decrypt a
capture of the connection:

* TLS 1.3 (Section 2.1 of the draft): CLIENT_HANDSHAKE_TRAFFIC_SECRET,
  SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
  SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET (and the early-data secrets
  CLIENT_EARLY_TRAFFIC_SECRET, EARLY_EXPORTER_SECRET);
* TLS 1.2 (Section 2.2): ``CLIENT_RANDOM <client random> <master secret>``.

glasstls names its secrets as RFC 8446 does, and both versions emit a
``master_secret``. The TLS 1.3 one is not a TLS 1.2 master secret and must not
become a CLIENT_RANDOM line; it is recognised by its connection (the client
random) having derived TLS 1.3 handshake secrets before it, which every TLS
1.3 handshake does (RFC 8446, Section 7.1) and no TLS 1.2 handshake can.

The file is opened for appending and, when created, readable by its owner
only (mode 0600): whoever reads it can decrypt the connections it lists
(Section 3 of the draft). A file that already exists keeps its mode, as
OpenSSL's and NSS's key logs leave it; if others may read or write it, a
warning says so once, when it is opened.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from ..observe import Observer, SecretTrace, TraceEvent

logger = logging.getLogger(__name__)

# glasstls (RFC 8446, Section 7.1) label -> NSS key log label.
TLS13_LABELS: dict[str, str] = {
    "client_early_traffic_secret": "CLIENT_EARLY_TRAFFIC_SECRET",
    "early_exporter_master_secret": "EARLY_EXPORTER_SECRET",
    "client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
    "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
    "exporter_master_secret": "EXPORTER_SECRET",
}
# Secrets only a TLS 1.3 key schedule derives before its master secret.
_TLS13_MARKERS = frozenset(
    {
        "early_secret",
        "binder_key",
        "client_early_traffic_secret",
        "early_exporter_master_secret",
        "handshake_secret",
        "client_handshake_traffic_secret",
        "server_handshake_traffic_secret",
    }
)
TLS12_LABEL = "CLIENT_RANDOM"
_REMEMBER = 4096  # client randoms of TLS 1.3 connections kept to classify their master_secret


def _warn_if_open_to_others(fd: int, path: Path) -> None:
    """A key log that already existed keeps its mode (only a new one is made 0600): say so if
    others than its owner may read or write it, since every line decrypts a connection."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and mode & 0o077:
        logger.warning(
            "the key log %s may be read or written by others than its owner (mode %03o): whoever reads "
            "it can decrypt the connections it lists; chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )


def format_line(label: str, client_random: bytes, secret: bytes) -> str:
    """One key log line (without the line end)."""
    return f"{label} {client_random.hex()} {secret.hex()}"


class KeyLog(Observer):
    """Appends the NSS key log lines of every connection it observes.

    Give it a path (opened for appending, created 0600) or an open text
    stream. One KeyLog may serve many connections, one after another or at the
    same time: the client random tells their secrets apart.
    """

    wants_secrets = True

    def __init__(self, path_or_stream: str | os.PathLike[str] | TextIO) -> None:
        self._owned = False
        if isinstance(path_or_stream, (str, os.PathLike)):
            self.path: Path | None = Path(path_or_stream)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _warn_if_open_to_others(fd, self.path)
            self.stream: TextIO = os.fdopen(fd, "a", encoding="utf-8", newline="\n")
            self._owned = True
            # A KeyLog let go unclosed (SSLContext.keylog_filename set again, or the context gone) closes
            # its file then, as OpenSSL frees its BIO with the SSL_CTX: no ResourceWarning, no fd held.
            self._closer = weakref.finalize(self, self.stream.close)
        else:
            self.path = None
            self.stream = path_or_stream
        self._lock = threading.Lock()
        self._tls13: OrderedDict[bytes, None] = OrderedDict()

    def __call__(self, event: TraceEvent) -> None:
        if not isinstance(event, SecretTrace) or event.secret is None:
            return
        line = self.line_for(event)
        if line is None:
            return
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()  # the draft: written continuously, as secrets are generated

    def line_for(self, event: SecretTrace) -> str | None:
        """The key log line for ``event``, or None if it has none (and note what it tells)."""
        label, random = event.label, event.client_random
        if event.secret is None:
            return None
        if label in _TLS13_MARKERS:
            self._remember_tls13(random)
        if label in TLS13_LABELS:
            return format_line(TLS13_LABELS[label], random, event.secret)
        if label == "master_secret" and random not in self._tls13:
            return format_line(TLS12_LABEL, random, event.secret)
        return None

    def _remember_tls13(self, random: bytes) -> None:
        with self._lock:
            self._tls13[random] = None
            self._tls13.move_to_end(random)
            while len(self._tls13) > _REMEMBER:
                self._tls13.popitem(last=False)

    def render(self, events: Iterable[TraceEvent]) -> None:
        for event in events:
            self(event)

    def close(self) -> None:
        if self._owned:
            self._closer()

    def __enter__(self) -> KeyLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def keylog_from_env(environ: Mapping[str, str] | None = None) -> KeyLog | None:
    """A KeyLog appending to the file named by SSLKEYLOGFILE, or None when it is unset or empty."""
    env = os.environ if environ is None else environ
    path = env.get("SSLKEYLOGFILE", "")
    return KeyLog(path) if path else None
