"""The server's group choice and ticket check without comprehensions or generators (issue 15):
choose_group must choose what the comprehension-built version chose (RFC 8446, Sections 4.1.4
and 4.2.8), and _resumable take and refuse a ticket as the generator-built version did, its
server names compared normalized (RFC 6066, Section 3) only when they differ as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.crypto import kx
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite, NamedGroup
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError
from glasstls.handshake import psk13
from glasstls.handshake.negotiation import choose_group
from glasstls.session.state import SessionState, same_server_name
from glasstls.wire.extensions import KeyShareEntry, PskIdentity

GROUPS = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x448, *kx.TLS13_ONLY_GROUPS]


def _reference_group(client, shares, server, strict):  # type: ignore[no-untyped-def]
    """choose_group as it was, comprehensions and all."""
    mutual = [g for g in server if g in client]
    if not mutual:
        raise AlertError(0, "none")  # type: ignore[arg-type]
    by_group = {s.group: s for s in shares}
    if strict or mutual[0] in kx.TLS13_ONLY_GROUPS:
        return mutual[0], by_group.get(mutual[0])
    for group in mutual:
        if group in by_group:
            return group, by_group[group]
    return mutual[0], None


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except AlertError:
        return "refused"


_groups = st.lists(st.sampled_from(GROUPS), unique=True, max_size=6)


@settings(max_examples=500)
@given(_groups, _groups, st.lists(st.tuples(st.sampled_from(GROUPS), st.binary(max_size=3)), max_size=4), st.booleans())
def test_choose_group_chooses_as_before(client, server, shares, strict) -> None:  # type: ignore[no-untyped-def]
    entries = tuple(KeyShareEntry(g, key) for g, key in shares)  # duplicates too: the last one counts
    got = _outcome(choose_group, tuple(client), entries, tuple(server), strict)
    assert got == _outcome(_reference_group, tuple(client), entries, tuple(server), strict)


def _reference_resumable(ctx, ch, state, identity, suites):  # type: ignore[no-untyped-def]
    """_resumable as it was, generator and all."""
    if state.version != 0x0304:
        return None, "it holds a TLS 1.2 session"
    original = psk13._SUITES_BY_VALUE.get(state.cipher_suite)
    if original is None:
        return None, "its cipher suite is not a TLS 1.3 one"
    suite = next((s for s in suites if s.hash_name == original.hash_name), None)
    if suite is None:
        return None, f"no suite in common uses its hash ({original.hash_name})"
    sni = ch.ext(E.server_name)
    if not same_server_name(state.server_name, sni.value if sni is not None else None):
        return None, "it was issued for another server name (RFC 6066, Section 3)"
    age = (identity.obfuscated_ticket_age - state.ticket_age_add) % (1 << 32)
    if age > state.lifetime * 1000:
        return None, f"the client says it is {age / 1000:.0f} s old, beyond its lifetime of {state.lifetime} s"
    if ctx.config.client_auth == "required" and not state.peer_certificates:
        return None, "its session has no client certificate, and this server requires one"
    return suite, ""


class _Hello:
    def __init__(self, name: str | None) -> None:
        self.exts: dict[Any, Any] = {E.server_name: SimpleNamespace(value=name)} if name is not None else {}

    def ext(self, ext_type: Any) -> Any:
        return self.exts.get(ext_type)


NAMES = [None, "example.com", "Example.COM", "example.com.", "EXAMPLE.com.", "other.example", "", "."]
SUITES = list(TLS13_SUITES.values())


@settings(max_examples=300)
@given(
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    st.sampled_from([CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384]),
    st.lists(st.sampled_from(SUITES), unique=True),
    st.sampled_from([0, 60_000, 60_001, (1 << 32) - 1]),
)
def test_a_ticket_is_taken_or_refused_as_before(issued, sent, ticket_suite, suites, age_ms) -> None:  # type: ignore[no-untyped-def]
    if issued == "":
        issued = None  # a state has no empty name
    state = SessionState(0x0304, int(ticket_suite), b"k" * 32, False, issued, None, datetime.now(UTC), 60)
    ctx = SimpleNamespace(config=SimpleNamespace(client_auth="none"))
    identity = PskIdentity(b"t", (state.ticket_age_add + age_ms) % (1 << 32))
    got = psk13._resumable(ctx, _Hello(sent), state, identity, suites)  # type: ignore[arg-type]
    assert got == _reference_resumable(ctx, _Hello(sent), state, identity, suites)


def test_the_chosen_signature_scheme_is_the_member_whether_offered_as_member_or_int() -> None:
    """choose_signature_scheme returns an offered member as it is, without SignatureScheme() of it
    (issue 15), and makes the member of a plain int: the same member either way, of the enum's type,
    and the first offered one the key can make (RFC 8446, Section 4.4.3)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    from glasstls.crypto.signatures import TLS13_SIGNATURE_SCHEMES
    from glasstls.enums import SignatureScheme
    from glasstls.handshake.negotiation import choose_signature_scheme

    keys = [
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        ed25519.Ed25519PrivateKey.generate(),
    ]
    for key in keys:
        chosen = []
        for scheme in TLS13_SIGNATURE_SCHEMES:
            for offered in (scheme, int(scheme)):
                try:
                    got = choose_signature_scheme([0x0201, offered], key)  # (0x0201: rsa_pkcs1_sha1, not TLS 1.3's)
                except AlertError:
                    continue
                assert type(got) is SignatureScheme and got == SignatureScheme(scheme)
                chosen.append(got)
        assert chosen  # every key can make one of them
