"""Conformance: each rule of rules.RULES against a real glasstls server on 127.0.0.1.

Each case sends the rule's hostile bytes, asserts the exact alert on the wire
(or that the handshake went on, or that the server just closed), and then that
the server still serves a well-behaved client.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile import Answer, Outcome
from rules import CLOSED, RULES, SERVED, Rule
from target import Target, authority, client_certificate, server_config

from glasstls import ProtocolVersion
from glasstls.enums import AlertDescription, AlertLevel
from glasstls.enums import NamedGroup as G
from glasstls.x509.store import TrustStore

pytestmark = pytest.mark.timeout(60)

TLS12, TLS13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
SERVERS: dict[str, dict[str, Any]] = {
    "default": {},
    "tls13": {"tls_min": TLS13},
    "tls12": {"tls_max": TLS12},
    "alpn": {"alpn": ("h2", "http/1.1")},
    "hrr": {"groups": (G.secp384r1,)},
    "stateless": {"groups": (G.secp384r1,), "stateless_hrr": True},
    "clientauth": {"client_auth": "required"},  # (and the conformance root as client_trust_store: targets())
    "early": {"max_early_data_size": 1 << 14},  # (as s_server -early_data: 16384 bytes)
    "recordlimit": {"record_size_limit": 1000},  # RFC 8449 (OpenSSL 3.0 has none: it announces none)
}


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Target]]:
    started: dict[str, Target] = {}

    class Lazy(dict[str, Target]):
        def __missing__(self, key: str) -> Target:
            if key == "clientauth":
                trust = TrustStore.from_pem(authority().root_pem())
                config = server_config(**SERVERS[key], client_trust_store=trust)
                started[key] = self[key] = Target(config, {"certificate": client_certificate()})
            else:
                started[key] = self[key] = Target(server_config(**SERVERS[key]))
            return started[key]

    try:
        yield Lazy()
    finally:
        for target in started.values():
            target.stop()


def verdict(result: Answer | Outcome) -> str:
    """What the server did, in the terms of a rule's expectation."""
    if result.alert is not None and result.alert != AlertDescription.close_notify:
        return result.alert.name
    if isinstance(result, Outcome):
        if result.completed and result.timed_out:
            return SERVED
    elif result.server_hello is not None and result.alert is None and result.timed_out:
        return SERVED  # answered and waits for the client's next flight
    if not result.timed_out:
        return CLOSED
    return "timed out: the server kept waiting"


def expected(rule: Rule) -> str:
    return rule.expect if isinstance(rule.expect, str) else rule.expect.name


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.version}-{r.name}" for r in RULES])
def test_rule(rule: Rule, targets: dict[str, Target]) -> None:
    target = targets[rule.server]
    before = len(target.errors)
    result = rule.probe(target)
    got = verdict(result)
    assert got == expected(rule), (
        f"{rule.section}: expected {expected(rule)}, got {got}\n{result.describe()}\n"
        f"server said: {target.errors[before:]}"
    )
    if isinstance(rule.expect, AlertDescription):
        assert result.alert_level == AlertLevel(rule.level), result.describe()
    version = TLS12 if rule.version == "1.2" and rule.server != "tls13" else None
    assert target.serves(version), f"the server no longer serves after {rule.name}"


def test_rules_table_is_substantial() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)), [n for n, c in Counter(names).items() if c > 1]
    by_version = Counter(r.version for r in RULES)
    assert len(RULES) >= 60 and by_version["1.3"] >= 40 and by_version["1.2"] >= 20, by_version
    assert all(r.section.startswith("RFC ") for r in RULES)
    alerts = {r.expect for r in RULES if isinstance(r.expect, AlertDescription)}
    assert len(alerts) >= 10, alerts  # the rules exercise many different alerts, not one
    print(f"{len(RULES)} conformance rules: {dict(by_version)}")


def test_readme_lists_every_rule() -> None:
    readme = (Path(__file__).parent / "README.md").read_text()
    missing = [r.name for r in RULES if f"`{r.name}`" not in readme]
    assert not missing, f"README.md does not list {missing}"
