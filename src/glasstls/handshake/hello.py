"""The hellos, before a version is chosen: the client's one ClientHello that
offers every version in its range, and the server's choice of version from it
(RFC 8446, Sections 4.1.2 and 4.2.1; RFC 5246, Section 7.4.1.2).

Everything here serves TLS 1.2 and TLS 1.3 alike; the dispatch to a version's
flight is in ``client.py`` and ``server.py``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..crypto import kx
from ..crypto.suites import TLS12_SUITES, TLS13_SUITES
from ..enums import CipherSuite, NamedGroup, ProtocolVersion
from ..enums import ExtensionType as E
from ..errors import AlertDescription, AlertError, ConfigError
from ..session.state import MAX_OFFERABLE_TICKET, TLS12, SessionState, same_server_name
from ..wire import extensions as X
from ..wire.extensions import Extension, KeyShareEntry, Unreadable
from ..wire.handshake import ClientHello
from . import negotiation as N
from .base import Context
from .peer_auth import session_server_problem
from .psk13 import PskOffer, bind, psk_offer

KeyShares = dict[NamedGroup, kx.KeyShare]
FixedRuns = tuple[tuple[Extension, ...], tuple[Extension, ...], tuple[Extension, ...]]


@functools.lru_cache(maxsize=256)  # a client names the same few servers; an IP check raises for every name
def sni_name(server_name: str | None) -> str | None:
    """RFC 6066, Section 3: literal IP addresses are not sent as SNI (an IPv6 one in brackets either)."""
    if not server_name:
        return None
    return None if _ip_literal(server_name) else server_name.rstrip(".")


@functools.lru_cache(maxsize=256)  # (an IP check raises for every host name: once per name)
def _ip_literal(name: str) -> bool:
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    return True


_PORT = re.compile(r":[0-9]+$")
MAX_HOST_NAME = 253  # RFC 1035, Section 2.3.4 (255 octets on the wire, as a text name 253)
MAX_LABEL = 63


@functools.lru_cache(maxsize=256)
def _host_name_problem(name: str) -> str | None:
    """Why ``name`` (ASCII, not an IP literal) cannot be a server name (RFC 6066, Section 3: a DNS
    host name), or None: labels of 1..63 characters (a trailing dot is the root's), no port."""
    if _PORT.search(name):
        return "ends in a port: the port goes elsewhere"
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if len(name.rstrip(".")) > MAX_HOST_NAME:
        return f"is {len(name)} characters long: a host name has at most {MAX_HOST_NAME}"
    for label in labels:
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if len(label) > MAX_LABEL:
            return f"has a label of {len(label)} characters: at most {MAX_LABEL}"
    # A NUL ends a C string: the name a peer's library checks would not be the name sent. Other odd
    # characters are sent, as OpenSSL, Go and Python's ssl send them; a server refuses control characters
    # (illegal_parameter), as glasstls's does.
    if "\x00" in name:
        return "holds '\\x00', which no host name holds"
    return None


def check_server_name(config: Any, server_name: Any) -> None:
    """Refuse, when the connection is made, a ``server_name`` that cannot be one (as Python's ssl does at
    wrap time): not a str, empty, not ASCII (IDNs are given as A-labels), not a host name or an IP
    literal, or missing while the server's certificate is to be checked against it."""
    if server_name is None:
        dangerous = config.dangerous
        if not (dangerous.skip_server_verification or dangerous.skip_server_name_check or config.psk is not None):
            raise ConfigError(
                "no server_name: the server's certificate is checked against it; pass the host name (or an IP "
                "address), or Dangerous(skip_server_name_check=True)"
            )
        return
    if not isinstance(server_name, str):
        raise TypeError(f"server_name must be a str (a host name or an IP address), not {type(server_name).__name__}")
    if not server_name.isascii():
        raise ConfigError(_non_ascii_name(server_name))
    if not _ip_literal(server_name):
        problem = "is empty" if not server_name else _host_name_problem(server_name)
        if problem is not None:
            raise ConfigError(f"server name {server_name!r} {problem}")


def _non_ascii_name(name: str) -> str:
    """RFC 6066, Section 3: a HostName is ASCII; an internationalized name travels as A-labels (RFC 5890)."""
    try:
        a_labels = f" ({name.encode('idna').decode('ascii')})"
    except UnicodeError:
        a_labels = ""
    return f"server name {name!r} is not ASCII: give it in its IDNA form{a_labels}, as DNS and certificates hold it"


def offered_signature_schemes(cfg: Any) -> tuple[int, ...]:
    """The schemes the client puts in signature_algorithms (and accepts from the server)."""
    advertised = cfg.dangerous.advertised_signature_schemes
    return tuple(advertised) if advertised is not None else cfg.signature_schemes


# -- client -------------------------------------------------------------------------


def client_hello(ctx: Context) -> tuple[ClientHello, KeyShares, PskOffer | None]:
    """The first ClientHello, the TLS 1.3 key shares it carries and the PSK it offers.

    One ClientHello offers every version in the configured range; the server
    picks (RFC 8446, Section 4.2.1). A TLS 1.2 session to resume rides in it
    as a session ID or a ticket (RFC 5246, Section 7.4.1.2; RFC 5077, Section 3.4);
    a TLS 1.3 ticket or an external PSK as pre_shared_key (RFC 8446, Section 4.2.11).
    """
    cfg = ctx.config
    plan = _hello_plan(cfg)
    randomness = ctx.randomness
    # beside X25519MLKEM768, the x25519 share is the hybrid's X25519 half: one X25519 key, not two
    # (draft-ietf-tls-hybrid-design allows the reuse; kx.generate_key_shares says why and in what order it draws)
    shares = kx.generate_key_shares(plan.share_groups, randomness)
    session = _tls12_session(ctx, plan)
    if session is not None and session.ticket is None and session.session_id:
        session_id = session.session_id
    elif (cfg.middlebox_compat and plan.offers_13) or (session is not None and session.ticket):
        session_id = randomness(32)  # RFC 5077, Section 3.4: tells us whether the ticket was taken
    else:
        session_id = b""
    suites = plan.suites
    # Positionally, in the fields' order: a class called with keywords gets them as a dict
    # (some 1,000 instructions a keyword).
    hello = ClientHello(
        _TLS12,  # legacy_version: RFC 8446, Section 4.1.2
        randomness(32),  # random
        session_id,  # legacy_session_id
        suites,  # cipher_suites
        _NULL_COMPRESSION,  # compression_methods
        _client_hello_extensions(ctx, shares, plan, session),  # extensions
    )
    offer = psk_offer(ctx, suites) if plan.offers_13 else None
    if offer is not None:
        # pre_shared_key goes last (RFC 8446, Section 4.2.11), with the ticket's age when psk_offer
        # read the clock (once for both: a reading costs some 2,700 instructions)
        hello = bind(ctx, hello, offer, now=offer.checked_at)
    return hello, shares, offer


def _tls12_session(ctx: Context, plan: HelloPlan) -> SessionState | None:
    """The TLS 1.2 session to offer, if one was given and may be offered here."""
    session = ctx.offered_session
    if session is None or session.version != TLS12:
        return None
    # RFC 5246, Section 7.4.1.2: a hello that resumes a session offers the session's suite; a session
    # whose suite this configuration no longer offers is not offered (a server would refuse the hello).
    problem: str | None
    if session.cipher_suite not in plan.suites:
        problem = f"its cipher suite {CipherSuite(session.cipher_suite).name} is not offered"
    # RFC 6066, Section 3: a session is resumed only for the server name it was made for; a resumed
    # handshake shows no certificate, so the one checked for that name would vouch for another.
    elif session.ticket and len(session.ticket) > MAX_OFFERABLE_TICKET:
        problem = f"its ticket's {len(session.ticket)} bytes leave no room for the rest of a ClientHello"
    elif not same_server_name(session.server_name, ctx.offered_sni):
        problem = f"it is for server name {session.server_name!r}, not {ctx.offered_sni!r}"
    else:
        problem = session_server_problem(ctx, session.peer_certificates, ctx.now())
    if problem is None:
        return session
    ctx.verified("session", False, f"session not offered: {problem}")
    # Not offered, so not to be resumed: a server that echoes the hello's random (compatibility)
    # session ID must not find it on the client's side (client12.on_server_hello resumes ctx's).
    ctx.offered_session = None
    return None


class HelloPlan(NamedTuple):
    """What a configuration's ClientHellos share, worked out once per ClientConfig."""

    offers_12: bool
    offers_13: bool
    suites: tuple[CipherSuite, ...]  # TLS_FALLBACK_SCSV last when configured (RFC 7507, Section 4)
    share_groups: tuple[NamedGroup, ...]  # ClientConfig.shares_for; none without TLS 1.3
    runs: FixedRuns


def _hello_plan(cfg: Any) -> HelloPlan:
    fixed: dict[Any, Any] = _fixed_extensions(cfg)
    plan: HelloPlan | None = fixed.get("plan")
    if plan is None:
        offers_13 = _TLS13 in cfg.versions  # (a version without a suite configured is not offered)
        offers_12 = _TLS12 in cfg.versions
        suites = _offered_suites(cfg, offers_12, offers_13)
        if cfg.send_fallback_scsv:
            suites += (_FALLBACK_SCSV,)
        groups = tuple(cfg.shares_for) if offers_13 else ()
        plan = fixed["plan"] = HelloPlan(offers_12, offers_13, suites, groups, _fixed_runs(cfg, offers_12, offers_13))
    return plan


def _client_hello_extensions(
    ctx: Context, shares: KeyShares, plan: HelloPlan, session: SessionState | None
) -> tuple[Extension, ...]:
    """The ClientHello's extensions: the configuration's fixed runs, with the server name, the
    TLS 1.2 ticket and the key shares (what changes from one hello to the next) between them."""
    cfg = ctx.config
    before_ticket, before_shares, after_shares = plan.runs
    exts: list[Extension] = []
    sni = ctx.offered_sni  # sni_name(ctx.server_name), as the connection keeps it
    if sni:
        exts.append(Extension.make(_SERVER_NAME, sni, X.CH))
    exts += before_ticket
    if cfg.session_tickets:
        ticket = session.ticket if session is not None and session.ticket and plan.offers_12 else b""
        exts.append(Extension.make(_SESSION_TICKET, ticket, X.CH))
    exts += before_shares
    if plan.offers_13:
        exts.append(Extension.make(_KEY_SHARE, key_share_entries(shares), X.CH))
    exts += after_shares
    return tuple(exts)


# Enum members looked up on their class go through EnumType's attribute hook: once, here.
_SERVER_NAME, _SESSION_TICKET, _KEY_SHARE = E.server_name, E.session_ticket, E.key_share
_SUPPORTED_VERSIONS = E.supported_versions
_TLS13, _TLS12, _SSL3 = ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2, ProtocolVersion.SSLv3
_NULL_COMPRESSION = (0,)  # the only compression method (RFC 8446, Section 4.1.2)
_FALLBACK_SCSV = CipherSuite.TLS_FALLBACK_SCSV


def _fixed_runs(cfg: Any, offers_12: bool, offers_13: bool) -> FixedRuns:
    """The extensions that depend on the configuration alone, encoded once per ClientConfig: the
    runs before the session ticket, before the key shares and after them."""
    fixed: dict[Any, Any] = _fixed_extensions(cfg)
    key = ("runs", offers_12, offers_13)
    runs: FixedRuns | None = fixed.get(key)
    if runs is None:
        runs = fixed[key] = _make_fixed_runs(cfg, offers_12, offers_13)
    return runs


def _make_fixed_runs(cfg: Any, offers_12: bool, offers_13: bool) -> FixedRuns:
    def make(ext_type: E, value: object) -> Extension:
        return Extension.make(ext_type, value, X.CH)

    before_ticket: list[Extension] = []
    if offers_12:
        before_ticket.append(make(E.extended_master_secret, True))  # RFC 7627, Section 5.1
    before_ticket.append(make(E.renegotiation_info, b""))  # RFC 5746, Section 3.4
    # A client that offers only TLS 1.2 lists no TLS 1.3-only group (draft-ietf-tls-ecdhe-mlkem, Section 4).
    groups = cfg.groups if offers_13 else tuple(g for g in cfg.groups if g not in kx.TLS13_ONLY_GROUPS)
    before_ticket.append(make(E.supported_groups, groups))
    if offers_12:
        before_ticket.append(make(E.ec_point_formats, (0,)))  # RFC 8422, Section 5.1.2: uncompressed only
    if cfg.ocsp != "off" and not cfg.dangerous.skip_server_verification:
        before_ticket.append(make(E.status_request, X.StatusRequest()))  # RFC 6066, Section 8: staple, please
    before_shares: list[Extension] = []
    if cfg.alpn:
        before_shares.append(make(E.application_layer_protocol_negotiation, tuple(p.encode() for p in cfg.alpn)))
    if offers_12 and _offers_cbc(cfg):
        before_shares.append(make(E.encrypt_then_mac, True))  # RFC 7366: preferred; MAC-then-encrypt only without it
    after_shares: list[Extension] = []
    if offers_13:
        after_shares.append(make(E.supported_versions, cfg.versions))
    after_shares.append(make(E.signature_algorithms, offered_signature_schemes(cfg)))
    if offers_13:
        after_shares.append(make(E.psk_key_exchange_modes, cfg.psk_modes))  # RFC 8446, Section 4.2.9
        if cfg.offers_post_handshake_auth:
            after_shares.append(make(E.post_handshake_auth, True))  # RFC 8446, Section 4.2.6
        if cfg.certificate_compression:
            after_shares.append(make(E.compress_certificate, cfg.certificate_compression))  # RFC 8879, Section 3
    if cfg.record_size_limit:
        after_shares.append(make(E.record_size_limit, cfg.record_size_limit))
    return tuple(before_ticket), tuple(before_shares), tuple(after_shares)


def _offered_suites(cfg: Any, offers_12: bool, offers_13: bool) -> tuple[CipherSuite, ...]:
    fixed: dict[Any, Any] = _fixed_extensions(cfg)
    key = ("suites", offers_12, offers_13)
    if key not in fixed:
        fixed[key] = tuple(
            s for s in cfg.cipher_suites if (s in TLS13_SUITES and offers_13) or (s in TLS12_SUITES and offers_12)
        )
    return fixed[key]  # type: ignore[no-any-return]  # the tuple stored just above


def _offers_cbc(cfg: Any) -> bool:
    fixed: dict[Any, Any] = _fixed_extensions(cfg)
    if "cbc" not in fixed:
        fixed["cbc"] = any(TLS12_SUITES.get(s) is not None and not TLS12_SUITES[s].aead for s in cfg.cipher_suites)
    return bool(fixed["cbc"])


def _fixed_extensions(cfg: Any) -> dict[Any, Any]:
    """The ClientHello extensions this configuration always sends alike (and the suites it
    offers), kept on the (frozen) configuration object itself: ``dataclasses.replace`` makes a
    new one that starts empty. A few keys per configuration: the runs and suites for the one
    (TLS 1.2, TLS 1.3) offer a configuration makes, whether it offers CBC, and its HelloPlan."""
    fixed: dict[Any, Any] | None = cfg.__dict__.get("_fixed_hello_extensions")
    if fixed is None:
        fixed = {}
        object.__setattr__(cfg, "_fixed_hello_extensions", fixed)
    return fixed


def ordered_extensions(exts: Sequence[Extension], order: Sequence[int] | None) -> tuple[Extension, ...]:
    """``exts`` in ``order`` (Dangerous.hello_extension_order), the unlisted after the listed in
    their own order, pre_shared_key last (RFC 8446, Section 4.2.11); ``exts`` when None."""
    if order is None:
        return tuple(exts)
    rank = {int(t): i for i, t in enumerate(order)}
    last = len(rank) + 1
    return tuple(sorted(exts, key=lambda e: last if e.type == E.pre_shared_key else rank.get(e.type, len(rank))))


def _padding_length(size: int) -> int | None:
    """RFC 7685: the padding extension's data length that takes a ClientHello of ``size`` bytes
    (its handshake header included) to 512, for 256 to 511; at least one zero byte, as NSS
    sends (an empty last extension upsets some servers). None: no padding."""
    if not 256 <= size < 512:
        return None
    return max(512 - size, 5) - 4


def shape_client_hello(ctx: Context, hello: ClientHello) -> ClientHello:
    """``hello`` in the configured extension order, padded when ClientConfig.client_hello_padding
    asks; ``hello`` itself when neither is configured. Shape before the PSK binder is computed
    (it covers the padding, RFC 8446, Section 4.2.11.2): the pre_shared_key extension, when
    there, is measured as the bound one will be."""
    cfg = ctx.config
    order = cfg.dangerous.hello_extension_order
    if order is None and not cfg.client_hello_padding:
        return hello
    exts = ordered_extensions([e for e in hello.extensions if e.type != E.padding], order)
    if cfg.client_hello_padding:
        unpadded = hello.with_extensions(exts)
        pad = _padding_length(len(unpadded.encode()))
        if pad is not None:
            psk = tuple(e for e in exts if e.type == E.pre_shared_key)
            rest = tuple(e for e in exts if e.type != E.pre_shared_key)
            exts = (*rest, Extension.make(E.padding, pad, X.CH), *psk)
    shaped = hello.with_extensions(exts)
    shaped.encode()
    return shaped


def key_share_entries(shares: KeyShares) -> tuple[KeyShareEntry, ...]:
    return tuple([KeyShareEntry(g, s.public_bytes()) for g, s in shares.items()])  # (no generator: each hello)


# -- server -------------------------------------------------------------------------


def raise_unreadable(ch: ClientHello) -> None:
    """A server that chose TLS 1.2 reads the extensions only TLS 1.2 uses: one whose body did not
    decode (wire.extensions.Unreadable) is refused now, with the error its decoding raised."""
    for ext in ch.extensions:
        if type(ext.value) is Unreadable:
            raise ext.value.error


def _unsuited(cfg: Any) -> tuple[ProtocolVersion, ...]:
    """The versions within tls_min..tls_max that the configuration has no cipher suite for."""
    return tuple(v for v in (_TLS13, _TLS12) if cfg.tls_min <= v <= cfg.tls_max and v not in cfg.versions)


def choose_protocol_version(ctx: Context, ch: ClientHello) -> ProtocolVersion:
    """RFC 8446, Section 4.2.1 (supported_versions, else legacy_version), RFC 8996
    (nothing below TLS 1.2) and RFC 7507 (TLS_FALLBACK_SCSV)."""
    cfg = ctx.config
    supported = cfg.versions  # (those with a cipher suite configured)
    versions = ch.ext(_SUPPORTED_VERSIONS)
    if versions is not None and ch.legacy_version <= _SSL3:
        # RFC 8446, Appendix D.5: a legacy_version of 0x0300 (or below) is protocol_version even
        # beside supported_versions; 0x0301 and 0x0302 are tolerated (Section 4.2.1), as OpenSSL does.
        raise AlertError(
            AlertDescription.protocol_version,
            f"ClientHello legacy_version is {ch.legacy_version.label}: SSL 3.0 or older (RFC 8446, Appendix D.5)",
        )
    if versions is not None:
        offered = versions.value
    elif ch.legacy_version >= _TLS12:
        offered = (_TLS12,)
    else:
        # Answer in the record version the old client speaks, so it can read the alert.
        ctx.set_plaintext_record_version(max(ch.legacy_version, ProtocolVersion.TLSv1))
        if _FALLBACK_SCSV in ch.cipher_suites:
            # RFC 7507, Section 3 allows either alert here; inappropriate_fallback, as OpenSSL answers,
            # tells a client that fell back that it need not have (and tlsfuzzer expects it).
            raise AlertError(
                AlertDescription.inappropriate_fallback,
                f"client retried with {ch.legacy_version.label} and TLS_FALLBACK_SCSV, but this server "
                f"supports {max(supported).label}: a downgrade (RFC 7507)",
            )
        raise AlertError(
            AlertDescription.protocol_version,
            f"client wants {ch.legacy_version.label} at most; glasstls speaks only TLS 1.2 and 1.3 "
            f"({ch.legacy_version.retired_by} retired {ch.legacy_version.label})",
        )
    version = N.choose_version(offered, supported, _unsuited(cfg) if len(supported) < 2 else ())
    if _FALLBACK_SCSV in ch.cipher_suites and version < max(supported):
        raise AlertError(
            AlertDescription.inappropriate_fallback,
            f"client retried with {version.label} and TLS_FALLBACK_SCSV, but this server supports "
            f"{max(supported).label}: a downgrade (RFC 7507)",
        )
    return version
