"""The machinery of the conformance rules (the rules themselves are in rules_*.py).

A :class:`Rule` names the RFC section it checks, the protocol version, the server
configuration it runs against (``SERVERS`` in test_conformance.py), what must come
back (an alert description, :data:`SERVED`: the handshake goes on, or
:data:`CLOSED`: the server closes without an alert, as after a fatal alert from the
client), and what OpenSSL 3.0 answers where it differs (``openssl``; README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hostile import (
    CCS,
    HANDSHAKE,
    Answer,
    Hello,
    Scripted,
    exchange,
    record,
)
from target import client_config

from glasstls import ProtocolVersion
from glasstls.enums import AlertDescription as A

SERVED = "served"
CLOSED = "closed"
Expect = A | str
Probe = Callable[[Any], Any]  # (Target) -> Answer | Outcome


@dataclass(frozen=True)
class Rule:
    name: str
    section: str
    version: str  # "1.3" or "1.2"
    server: str  # a key of test_conformance.SERVERS
    expect: Expect
    probe: Probe
    note: str = ""
    level: int = 2  # the alert's level: fatal, but for TLS 1.2's no_renegotiation warning
    openssl: str | None = None  # OpenSSL's verdict where it deliberately differs (README.md)


RULES: list[Rule] = []


def rule(
    name: str,
    section: str,
    version: str,
    expect: Expect,
    server: str = "default",
    note: str = "",
    level: int = 2,
    openssl: str | None = None,
) -> Any:
    def register(probe: Probe) -> Probe:
        RULES.append(Rule(name, section, version, server, expect, probe, note, level, openssl))
        return probe

    return register


def send13(target: Any, hello: Hello, *after: bytes) -> Answer:
    """A TLS 1.3 ClientHello (in one record) and more records; the answer decrypted."""
    return exchange(target.port, hello.records(), *after, hellos=(hello,))


def send12(target: Any, hello: Hello, *after: bytes) -> Answer:
    return exchange(target.port, hello.records(), *after)


def scripted13(t: Any, start: bool = True, **kw: Any) -> Any:
    """glasstls's client, TLS 1.3 only, with the probe's rewriting (hostile.Scripted)."""
    config = client_config(tls_min=ProtocolVersion.TLSv1_3, alpn=t.config.alpn)
    scripted = Scripted(t.port, config, **kw)
    return scripted.run() if start else scripted


def scripted12(t: Any, start: bool = True, **kw: Any) -> Any:
    config = client_config(tls_max=ProtocolVersion.TLSv1_2, alpn=t.config.alpn)
    scripted = Scripted(t.port, config, **kw)
    return scripted.run() if start else scripted


def scripted_with_certificate(t: Any, version: ProtocolVersion, certificate: Any = None, **kw: Any) -> Any:
    """glasstls's client of one version with the target's client certificate (``certificate``:
    another one; None in ``kw`` is not possible, use ``certificate=False`` for none at all)."""
    cert = t.client_kw.get("certificate") if certificate is None else (certificate or None)
    config = client_config(tls_min=version, tls_max=version, certificate=cert, alpn=t.config.alpn)
    return Scripted(t.port, config, **kw).run()


def fragments(message: bytes, size: int, ctype: int = HANDSHAKE) -> list[bytes]:
    return [record(ctype, message[i : i + size]) for i in range(0, len(message), size)]


CCS_RECORD = record(CCS, b"\x01")
WAITING = "timed out: the server kept waiting"
GREASE = 0x0A0A  # RFC 8701, Section 2


def finished_edit(edit: Callable[[bytes], bytes]) -> Callable[[Any], bytes | None]:
    def message_edit(msg: Any) -> bytes | None:
        if type(msg).__name__ != "Finished":
            return None
        return edit(msg.raw)

    return message_edit


def with_body(raw: bytes, body: bytes) -> bytes:
    return raw[:1] + len(body).to_bytes(3, "big") + body
