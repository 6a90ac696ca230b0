"""The ClientHello's plan (issue 15): what a configuration's hellos share (the versions offered, the
suites with the fallback SCSV, the groups with key shares, the fixed extension runs) is worked
out once per ClientConfig, and is what the configuration gives when worked out afresh."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from glasstls import ClientConfig
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.handshake import hello as HL

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "fallback": {"send_fallback_scsv": True},
    "tls12 only": {"tls_max": V12},
    "tls13 only": {"tls_min": V13},
    "fallback tls12": {"send_fallback_scsv": True, "tls_max": V12},
    "two shares": {"key_share_groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
    "p256 first": {"groups": (NamedGroup.secp256r1, NamedGroup.x25519)},
    "no compat": {"middlebox_compat": False},
}


def _careful(cfg: ClientConfig) -> tuple[Any, ...]:
    """The plan as client_hello worked it out for each hello before it was kept."""
    offers_13, offers_12 = cfg.tls_max >= V13, cfg.tls_min <= V12
    suites = HL._offered_suites(cfg, offers_12, offers_13)
    if cfg.send_fallback_scsv:
        suites += (CipherSuite.TLS_FALLBACK_SCSV,)
    groups = tuple(cfg.shares_for) if offers_13 else ()
    return (offers_12, offers_13, suites, groups, HL._make_fixed_runs(cfg, offers_12, offers_13))


@pytest.mark.parametrize("name", CONFIGS)
def test_the_plan_is_the_configurations(name: str) -> None:
    cfg = ClientConfig(**CONFIGS[name])
    plan = HL._hello_plan(cfg)
    assert tuple(plan) == _careful(cfg)
    assert HL._hello_plan(cfg) is plan  # kept on the configuration
    other = dataclasses.replace(cfg, send_fallback_scsv=not cfg.send_fallback_scsv)
    assert HL._hello_plan(other) is not plan and tuple(HL._hello_plan(other)) == _careful(other)


def test_each_configuration_keeps_its_own() -> None:
    plans = [HL._hello_plan(ClientConfig(**kw)) for kw in CONFIGS.values()]
    assert [tuple(p) for p in plans] == [_careful(ClientConfig(**kw)) for kw in CONFIGS.values()]
