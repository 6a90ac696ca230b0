"""The server under test: glasstls's blocking server in a thread on 127.0.0.1.

Each accepted connection is handled in a thread of its own (a probe that leaves
the server waiting must not hold up the next one): glasstls.accept, then an echo
until the client leaves. What went wrong on the server's side is kept in
``errors`` for the failure messages; the tests judge the alert on the wire.
Every socket has a deadline; :meth:`Target.stop` closes the listener and joins
every thread.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from typing import Any

import glasstls
from glasstls import CertifiedKey, ClientConfig, ServerConfig
from glasstls.errors import TLSError
from glasstls.x509.mint import Identity, ThrowawayCA
from glasstls.x509.store import TrustStore

DEADLINE = 6.0  # a connection the server keeps open longer than this is cut


@functools.cache
def authority() -> ThrowawayCA:
    return ThrowawayCA.create("glasstls conformance root")


@functools.cache
def identity() -> Identity:
    return authority().issue_server(["localhost"])


@functools.cache
def client_identity() -> Identity:
    """The well-behaved client's certificate, for servers that require one (the "clientauth" target)."""
    return authority().issue_client("glasstls conformance client")


def client_certificate() -> CertifiedKey:
    ident = client_identity()
    return CertifiedKey(ident.chain, ident.private_key)


def server_config(**kw: Any) -> ServerConfig:
    ident = identity()
    return ServerConfig(certificates=(CertifiedKey(ident.chain, ident.private_key),), **kw)


def client_config(**kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(authority().root_pem()), **kw)


class Target:
    def __init__(self, config: ServerConfig, client_kw: dict[str, Any] | None = None) -> None:
        self.config = config
        self.client_kw = client_kw or {}  # what a client needs besides the defaults (its certificate)
        self.errors: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(DEADLINE)
        try:
            with glasstls.accept(sock, self.config, timeout=DEADLINE) as tls:
                while data := tls.recv():
                    tls.sendall(data)
        except TLSError as err:
            self.errors.append(str(err))
        except OSError as err:
            self.errors.append(f"socket: {err}")
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def serves(self, version: glasstls.ProtocolVersion | None = None) -> bool:
        """A well-behaved client completes a handshake and an echo: the server goes on."""
        kw: dict[str, Any] = {}
        if version is not None:
            kw = {"tls_min": version, "tls_max": version}
        cfg = client_config(**kw, **self.client_kw, alpn=self.config.alpn)
        with glasstls.connect("127.0.0.1", self.port, cfg, server_name="localhost", timeout=DEADLINE) as tls:
            tls.sendall(b"next\n")
            return tls.recv() == b"next\n"

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._acceptor.join(DEADLINE)
        for thread in self._threads:
            thread.join(DEADLINE + 1)
