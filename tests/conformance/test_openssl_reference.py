"""The rules against OpenSSL 3's s_server: the expected alerts are OpenSSL's too.

Where OpenSSL answers otherwise and glasstls deliberately follows the RFC, the
rule says so (``Rule.openssl``) and README.md lists it; this test then checks
that OpenSSL still answers as written down, so the list cannot go stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openssl_target import OPENSSL, OpenSSLTarget
from rules import RULES, Rule
from test_conformance import TLS12, expected, verdict

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed"),
]


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OpenSSLTarget]]:
    started: dict[str, OpenSSLTarget] = {}

    class Lazy(dict[str, OpenSSLTarget]):
        def __missing__(self, key: str) -> OpenSSLTarget:
            folder: Path = tmp_path_factory.mktemp(f"openssl-{key}")
            started[key] = self[key] = OpenSSLTarget(folder, key)
            return started[key]

    try:
        yield Lazy()
    finally:
        for target in started.values():
            target.stop()


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.version}-{r.name}" for r in RULES])
def test_openssl_answers_as_the_rule_says(rule: Rule, references: dict[str, OpenSSLTarget]) -> None:
    target = references[rule.server]
    result = rule.probe(target)
    want = rule.openssl if rule.openssl is not None else expected(rule)
    got = verdict(result)
    assert got == want, f"{rule.section}: OpenSSL answered {got}, the rule says {want}\n{result.describe()}"
    version = TLS12 if rule.version == "1.2" and rule.server != "tls13" else None
    assert target.serves(version)
