"""client13.server_choices: one ServerChoices per (group, protocol) pair (issue 15: a dict_init
record costs some 4,000 instructions to make, a cache hit some 1,200). Each value is the one
ServerChoices makes of the pair, its group the very member given; the same pair gives the same
value again, another pair another; and the cache stays bounded however many pairs it sees. The
connections' parameters with and without ALPN are held field by field in test_fast_parameters13."""

from __future__ import annotations

import dataclasses

import pytest

from glasstls.enums import NamedGroup
from glasstls.handshake.client13 import ServerChoices, server_choices

GROUPS = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1, None]
PROTOCOLS = [None, "h2", "http/1.1", ""]


@pytest.mark.parametrize("alpn", PROTOCOLS)
@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name if g is not None else "psk_ke")
def test_the_value_is_what_server_choices_makes(group: NamedGroup | None, alpn: str | None) -> None:
    got = server_choices(group, alpn)
    assert type(got) is ServerChoices
    assert dataclasses.astuple(got) == dataclasses.astuple(ServerChoices(group, alpn)) == (group, alpn)
    assert got.group is group and got.alpn == alpn
    assert server_choices(group, alpn) is got
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.alpn = "other"  # type: ignore[misc]


def test_other_pairs_get_other_values() -> None:
    made = {(g, a): server_choices(g, a) for g in GROUPS for a in PROTOCOLS}
    assert len({id(v) for v in made.values()}) == len(made)
    for (group, alpn), value in made.items():
        assert (value.group, value.alpn) == (group, alpn)


def test_the_cache_is_bounded() -> None:
    for i in range(300):
        assert server_choices(NamedGroup.x25519, f"protocol {i}").alpn == f"protocol {i}"
    assert server_choices.cache_info().currsize <= 64
