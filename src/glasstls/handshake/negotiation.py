"""Negotiation as pure functions: inputs are offers and preferences, outputs a
choice or an :class:`AlertError` that says what each side wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..crypto import kx
from ..crypto.signatures import key_kind, schemes_for_key, signable_schemes
from ..crypto.suites import TLS13_SUITES
from ..enums import CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme
from ..errors import AlertDescription, AlertError
from ..profiles import refused_by_policy
from ..text import listed, printable
from ..wire.extensions import KeyShareEntry


def _names(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values) or "(none)"


def choose_version(
    offered: Sequence[ProtocolVersion], supported: Sequence[ProtocolVersion], unsuited: Sequence[ProtocolVersion] = ()
) -> ProtocolVersion:
    """RFC 8446, Section 4.2.1: the highest version both sides support. ``unsuited``: versions within
    the server's range that it does not accept for want of a cipher suite (named in the refusal)."""
    for version in sorted(supported, reverse=True):
        if version in offered:
            return version
    wanted = listed([v.label for v in offered if v.known] or [hex(v) for v in offered])
    ours = _names([v.label for v in supported])
    why = "".join(f" (no {v.label} cipher suite is configured)" for v in unsuited if v in offered)
    raise AlertError(
        AlertDescription.protocol_version,
        f"no common protocol version: client offered {wanted}, server accepts {ours}{why}",
    )


def suite_order(
    offered: Sequence[CipherSuite], accepted: Sequence[CipherSuite], prefer_client: bool = False
) -> list[CipherSuite]:
    """The suites both sides accept, best first: the server's order, or the client's
    with ``prefer_client``. TLS 1.2 walks the list (a suite must also suit a
    certificate and a group); TLS 1.3 takes the first."""
    first, second = (offered, accepted) if prefer_client else (accepted, offered)
    return [suite for suite in first if suite in second]


def no_common_suite(
    offered: Sequence[CipherSuite], accepted: Sequence[CipherSuite], configured: Sequence[CipherSuite] = ()
) -> AlertError:
    """The refusal when :func:`suite_order` is empty (RFC 8446, Section 4.1.1: handshake_failure);
    ``configured``, the configuration's whole list, lets it say when a profile left the client's
    suites out."""
    return AlertError(
        AlertDescription.handshake_failure,
        f"no common cipher suite: client offered {listed(offered)}, server accepts {_names(accepted)}"
        + refused_by_policy("cipher_suites", offered, configured, TLS13_SUITES),
    )


def choose_group(
    client_groups: Sequence[NamedGroup],
    shares: Sequence[KeyShareEntry],
    server_groups: Sequence[NamedGroup],
    strict: bool = False,
) -> tuple[NamedGroup, KeyShareEntry | None]:
    """The server's most preferred group the client supports, preferring one
    the client already sent a share for (which avoids a HelloRetryRequest);
    ``strict``: the most preferred always, asked for with a HelloRetryRequest if need be."""
    # (Loops, not comprehensions: once per TLS 1.3 ClientHello, with a share or two.)
    mutual = [g for g in server_groups if g in client_groups]
    if not mutual:
        raise AlertError(
            AlertDescription.handshake_failure,
            f"no common group: client offered {listed(client_groups)}, server accepts {_names(server_groups)}"
            + refused_by_policy("groups", client_groups, server_groups, kx.SUPPORTED_GROUPS),
        )
    best = mutual[0]
    if strict or best in kx.TLS13_ONLY_GROUPS:
        # A post-quantum hybrid we prefer beats a classical share: ask for it with a
        # HelloRetryRequest if need be (RFC 8446, Section 4.1.4), as OpenSSL 3.5's
        # default group tuples do; a recorded handshake must not be decryptable later.
        return best, _share_for(shares, best)
    for group in mutual:
        share = _share_for(shares, group)
        if share is not None:
            return group, share
    return best, None


def _share_for(shares: Sequence[KeyShareEntry], group: NamedGroup) -> KeyShareEntry | None:
    """The last of ``shares`` for ``group`` (the server refuses two for one group before asking)."""
    for share in reversed(shares):
        if share.group == group:
            return share
    return None


def choose_signature_scheme(
    offered: Sequence[SignatureScheme],
    private_key: Any,
    allowed: Sequence[SignatureScheme] | None = None,
    rsa_pss_key: bool = False,
) -> SignatureScheme:
    """The first scheme in the peer's list that our key can make and our
    configuration allows (RFC 8446, Section 4.4.3)."""
    # What the key can make by TLS 1.3 rules (TLS 1.3's schemes only), worked out once per key.
    fits = signable_schemes(private_key, tls13=True, rsa_pss_key=rsa_pss_key)
    for scheme in offered:
        if scheme in fits and (allowed is None or scheme in allowed):
            # A decoded list holds members already: SignatureScheme() of one, through
            # EnumType.__call__, cost some 3,200 instructions a full handshake for itself.
            return scheme if type(scheme) is SignatureScheme else SignatureScheme(scheme)
    ours = [s for s in schemes_for_key(private_key, rsa_pss_key=rsa_pss_key) if allowed is None or s in allowed]
    raise AlertError(
        AlertDescription.handshake_failure,
        f"no common signature scheme: peer offered {listed(offered)}; our certificate's key is "
        f"{_KEY_NAMES.get(key_kind(private_key), key_kind(private_key))} and signs with {_names(ours)}",
    )


_KEY_NAMES = {"rsa": "RSA", "ecdsa": "ECDSA", "ed25519": "Ed25519", "ed448": "Ed448"}


def choose_alpn(offered: Sequence[bytes], ours: Sequence[str], required: bool = True) -> str | None:
    """RFC 7301, Section 3.2: server preference; no overlap is fatal unless not ``required``
    (ServerConfig.alpn_required), and then no protocol is selected."""
    if not offered or not ours:
        return None
    for proto in ours:
        if proto.encode() in offered:
            return proto
    if not required:
        return None
    raise AlertError(
        AlertDescription.no_application_protocol,
        f"no common application protocol: client offered {listed(printable(p) for p in offered)}, "
        f"server accepts {_names(ours)}",
    )
