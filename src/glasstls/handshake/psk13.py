"""TLS 1.3 PSKs in the handshake, both roles (RFC 8446, Sections 2.2, 4.2.9,
4.2.11 and 4.6.1): session tickets out and back in, and external PSKs.

    Client                                           Server
    ClientHello + psk_key_exchange_modes
                + key_share*
                + pre_shared_key (last)   -->
                                                     ServerHello + pre_shared_key
                                                                 + key_share*
                                          <--        {EncryptedExtensions}
                                          <--        {Finished}
    {Finished}                            -->
                                          <--        [NewSessionTicket]...

No Certificate, CertificateVerify or CertificateRequest: the PSK authenticates
both sides (Section 2.2; Section 4.3.2 forbids a CertificateRequest). The
client offers one PSK: the ticket of the session it was given, or else its
external PSK. The server takes the first identity it can use, after checking
the binder; one it cannot use (a corrupt, expired, foreign ticket, another
server name, ...) means a full handshake, with the reason in the trace.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..config import ClientConfig, ServerConfig
from ..crypto.keyschedule13 import EarlySecret, resumption_psk
from ..crypto.suites import TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript, new_hash
from ..enums import AlertDescription, CipherSuite, PskKeyExchangeMode
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..frozen import dict_init
from ..session.psk import MAX_TICKET_LIFETIME, early_binder, obfuscated_age, ticket_age_ms
from ..session.state import MAX_OFFERABLE_TICKET, TLS13, SessionState, same_server_name
from ..session.stores import NoTicketKey, where
from ..session.tickets import TicketKeyRing
from ..wire import extensions as X
from ..wire.extensions import Extension, OfferedPsks, PskIdentity
from ..wire.handshake import ClientHello, NewSessionTicket, ServerHello
from .base import Context, require
from .peer_auth import session_client_refusal, session_server_problem

ILLEGAL = AlertDescription.illegal_parameter
SUBJECT = "PSK"  # the trace's name for the PSK decision, both sides
# RFC 8446, Section 4.6.1: how long our tickets may be used; the ticket keys open a ticket
# for at least this long after sealing it (session/tickets.py: accept_for).
TICKET_LIFETIME = 7200
_NONCE_BYTES = 8  # a counter: unique per ticket on the connection (Section 4.6.1)
# The enum members every resumption reads, looked up once: a member looked up on its class goes
# through EnumType's attribute hook (some 900 instructions a time in CPython 3.11).
_PSK, _PSK_MODES, _EARLY_DATA = E.pre_shared_key, E.psk_key_exchange_modes, E.early_data
_SERVER_NAME, _ALPN = E.server_name, E.application_layer_protocol_negotiation
_PSK_KE, _PSK_DHE_KE = PskKeyExchangeMode.psk_ke, PskKeyExchangeMode.psk_dhe_ke
# The TLS 1.3 suites by the plain value a SessionState keeps (CipherSuite members hash and
# compare as their values): no CipherSuite() call, through EnumType.__call__, per ticket.
_SUITES_BY_VALUE: dict[int, Suite13] = {int(value): suite for value, suite in TLS13_SUITES.items()}
# A running transcript hash fed the first bytes of a ClientHello, and how many (AcceptedPsk).
TruncatedHash = tuple["hashlib._Hash", int]


def _binder_transcript_hash(hash_name: str, truncated: bytes, before: Transcript | None) -> bytes:
    """Transcript-Hash(Truncate(ClientHello)), after ``before`` (ClientHello1 as message_hash
    and the HelloRetryRequest) for a second ClientHello (RFC 8446, Section 4.2.11.2)."""
    if before is None:
        return new_hash(hash_name, truncated).digest()
    transcript = before.fork()
    transcript.add(truncated)
    return transcript.digest()


@dict_init
@dataclass(frozen=True)
class SessionBasis:
    """What a session resumed from this connection's tickets stands on: the server name
    it was for, the application protocol, and the peer's chain as DER (RFC 8446,
    Section 4.6.1: a resumed connection has the original connection's authentication)."""

    server_name: str | None
    alpn: str | None
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)


# -- client ---------------------------------------------------------------------------


@dict_init
@dataclass(frozen=True)
class PskOffer:
    """The one PSK a client offers: a ticket from an earlier connection or an external PSK."""

    identity: bytes = field(repr=False)
    secret: bytes = field(repr=False)
    suite: Suite13  # lends the PSK's hash: binder and key schedule (Section 4.2.11)
    session: SessionState | None  # the session the ticket resumes; None: an external PSK
    modes: tuple[PskKeyExchangeMode, ...]  # psk_key_exchange_modes, as offered
    # The Early Secret of ``secret`` (RFC 8446, Section 7.1), extracted once for the binder and
    # carried on into the handshake's key schedule.
    early: EarlySecret = field(repr=False, compare=False)
    # The clock's reading when psk_offer found the ticket unexpired (None: an external PSK): the
    # first ClientHello reports the ticket's age at it, one reading of the clock for both.
    checked_at: datetime | None = field(default=None, repr=False, compare=False)

    @property
    def external(self) -> bool:
        return self.session is None

    @property
    def kind(self) -> str:
        return "external PSK" if self.session is None else "resumption"

    def obfuscated_age(self, ctx: Context, now: datetime | None = None) -> int:
        """Section 4.2.11: 0 for an external PSK; a ticket's age at ``now`` (None: the clock's
        reading now) plus its ticket_age_add."""
        if self.session is None:
            return 0
        return obfuscated_age(self.session.ticket_age_add, self.session.created, now or ctx.now())


def psk_offer(ctx: Context, offered_suites: Sequence[CipherSuite]) -> PskOffer | None:
    """The PSK to offer in the first ClientHello: the given session's ticket if it may be
    offered here, else the configured external PSK, else None."""
    cfg: ClientConfig = ctx.config
    suites = [TLS13_SUITES[s] for s in offered_suites if s in TLS13_SUITES]
    session = ctx.offered_session
    if session is not None and session.version == TLS13:
        now = ctx.now()
        problem = _unofferable(ctx, session, suites, now)
        if problem is None and session.ticket:
            own = _SUITES_BY_VALUE[session.cipher_suite]
            early = EarlySecret(own, session.master_secret)
            return PskOffer(session.ticket, session.master_secret, own, session, cfg.psk_modes, early, now)
        ctx.verified(SUBJECT, False, f"ticket not offered: {problem}")
        ctx.offered_session = None  # (not offered: nothing may resume it)
    psk = cfg.psk
    suite = next((s for s in suites if psk is not None and s.hash_name == psk.hash), None)
    if psk is None or suite is None:
        return None
    return PskOffer(psk.identity, psk.key, suite, None, cfg.psk_modes, EarlySecret(suite, psk.key))


def _unofferable(ctx: Context, session: SessionState, suites: Sequence[Suite13], now: datetime) -> str | None:
    """Why a TLS 1.3 session may not be offered on this connection at ``now``, or None."""
    suite = _SUITES_BY_VALUE.get(session.cipher_suite)
    if not session.ticket or suite is None:
        return "the session has no TLS 1.3 ticket"
    if len(session.ticket) > MAX_OFFERABLE_TICKET:
        return f"the ticket's {len(session.ticket)} bytes leave no room for the rest of a ClientHello"
    # RFC 8446, Section 4.2.11: the PSK is used only with a suite of its hash.
    hash_name = suite.hash_name
    for offered in suites:  # (a loop, not all() over a generator: once per client handshake)
        if offered.hash_name == hash_name:
            break
    else:
        return f"no offered TLS 1.3 suite uses the ticket's hash ({hash_name})"
    # RFC 8446, Section 4.6.1 and RFC 6066, Section 3: a session belongs to one server name.
    if not same_server_name(session.server_name, ctx.offered_sni):
        return f"the ticket is for server name {session.server_name!r}, not {ctx.offered_sni!r}"
    if session.expired(now):
        return "the ticket has expired"
    return session_server_problem(ctx, session.peer_certificates, now)


def psk_modes_extension(ctx: Context) -> Extension:
    """psk_key_exchange_modes (Section 4.2.9), as configured."""
    cfg: ClientConfig = ctx.config
    return Extension.make(E.psk_key_exchange_modes, cfg.psk_modes, X.CH)


def bind(
    ctx: Context, hello: ClientHello, offer: PskOffer, before: Transcript | None = None, now: datetime | None = None
) -> ClientHello:
    """``hello`` with pre_shared_key last (Section 4.2.11) and its binder computed over the
    ClientHello up to the binders (Section 4.2.11.2); ``before``: see _binder_transcript_hash;
    ``now``: when the ticket's age is reported at (None: the clock's reading now)."""
    identity = (PskIdentity(offer.identity, offer.obfuscated_age(ctx, now)),)
    psk = _PSK
    others = tuple([e for e in hello.extensions if e.type != psk])
    placeholder = Extension.make(psk, OfferedPsks(identity, (bytes(offer.suite.hash_len),)), X.CH)
    draft = hello.with_extensions((*others, placeholder))
    draft.encode()
    th = _binder_transcript_hash(offer.suite.hash_name, draft.truncated_for_binders(), before)
    value = early_binder(offer.early, offer.external, th)
    # The one binder is the last field of the last extension, so of the message (Section
    # 4.2.11): the bound extension's and hello's bytes are the draft's with the placeholder
    # binder (as long as the real one) replaced, without encoding either again.
    data = placeholder.data
    ext = Extension(psk, data[: len(data) - len(value)] + value, OfferedPsks(identity, (value,)))
    bound = hello.with_extensions((*others, ext))
    bound.raw = draft.raw[: len(draft.raw) - len(value)] + value
    return bound


def rebind_after_retry(
    ctx: Context, hello: ClientHello, offer: PskOffer | None, transcript: Transcript, suite: Suite13
) -> tuple[ClientHello, PskOffer | None]:
    """The second ClientHello's PSK (Section 4.1.2): a fresh age and a binder over
    message_hash(ClientHello1), HelloRetryRequest and itself; dropped when the server's
    suite has another hash (Section 4.1.4)."""
    if offer is None:
        return hello, None
    if offer.suite.hash_name != suite.hash_name:
        ctx.verified(SUBJECT, False, f"PSK dropped: the server chose {suite.name}, not of the PSK's hash")
        kept = tuple(e for e in hello.extensions if e.type != E.pre_shared_key)
        dropped = hello.with_extensions(kept)
        dropped.encode()
        return dropped, None
    return bind(ctx, hello, offer, transcript), offer


def accepted_psk(ctx: Context, sh: ServerHello, offer: PskOffer | None, suite: Suite13) -> PskOffer | None:
    """The PSK the ServerHello accepts (Section 4.2.11), checked; None: a full handshake."""
    selected = sh.ext(_PSK)
    if selected is None:
        if offer is not None:
            ctx.verified(SUBJECT, False, f"the server declined the PSK ({offer.kind}): full handshake")
        return None
    if offer is None:  # admit_extensions let it through only if the hello offered one
        raise AlertError(AlertDescription.unsupported_extension, "ServerHello selects a PSK the client did not offer")
    if selected.value != 0:
        raise AlertError(ILLEGAL, f"server selected PSK identity {selected.value}; the client offered one")
    if suite.hash_name != offer.suite.hash_name:
        raise AlertError(ILLEGAL, f"server chose {suite.name} with a PSK for {offer.suite.hash_name}")
    if ctx.tracing:  # (the message composed only for a listener, as _verify_binder's)
        ctx.verified(SUBJECT, True, f"PSK accepted: {offer.kind}")
    return offer


def check_key_exchange(accepted: PskOffer | None, has_share: bool) -> None:
    """A ServerHello key_share exactly when the mode needs one (Sections 4.2.9 and 4.2.11)."""
    if accepted is None:
        require(has_share, AlertDescription.missing_extension, "ServerHello has no key_share")
        return
    mode = _PSK_DHE_KE if has_share else _PSK_KE
    if mode not in accepted.modes:
        raise AlertError(ILLEGAL, f"server resumed with {mode.name}, which the client did not offer")


def session_from_ticket(
    ctx: Context, suite: Suite13, resumption_secret: bytes, basis: SessionBasis, nst: NewSessionTicket
) -> SessionState | None:
    """The session a NewSessionTicket resumes (Section 4.6.1), or None for a ticket to discard."""
    if nst.ticket_lifetime == 0:
        ctx.verified("session ticket", False, "lifetime 0: discarded at once (RFC 8446, Section 4.6.1)")
        return None
    if len(nst.ticket) > MAX_OFFERABLE_TICKET:
        ctx.verified("session ticket", False, f"{len(nst.ticket)} bytes: too large to offer, discarded")
        return None
    early = X.find(nst.extensions, _EARLY_DATA)
    # (Positionally: a call with keywords gets them as a dict, some 1,000 instructions a keyword.)
    return SessionState.tls13(
        suite.suite,
        resumption_psk(suite, resumption_secret, nst.ticket_nonce),  # the ticket's PSK
        basis.server_name,
        basis.alpn,
        ctx.now(),  # created: the age the client reports counts from here (Section 4.2.11.1)
        min(nst.ticket_lifetime, MAX_TICKET_LIFETIME),  # lifetime
        nst.ticket,
        nst.ticket_age_add,
        nst.ticket_nonce,
        early.value if early is not None else 0,  # max_early_data
        basis.peer_certificates,
    )


# -- server ---------------------------------------------------------------------------


@dict_init
@dataclass(frozen=True)
class AcceptedPsk:
    """The PSK a server accepted: its place among the client's identities (the
    ServerHello's selected_identity), the key, the suite and the key exchange mode."""

    index: int
    identity: bytes = field(repr=False)
    secret: bytes = field(repr=False)
    suite: Suite13
    mode: PskKeyExchangeMode
    session: SessionState | None  # the session a ticket resumes; None: an external PSK
    # The Early Secret of ``secret`` (RFC 8446, Section 7.1), extracted once for the binder
    # and carried on into the handshake's key schedule.
    early: EarlySecret = field(repr=False, compare=False)
    # The hash of the first ClientHello up to its binders, which the binder was checked over
    # (Section 4.2.11.2), and how many bytes it took: the handshake transcript goes on from a
    # copy of it (Section 4.4.1) instead of hashing those bytes again. None after a
    # HelloRetryRequest, whose binder covers more than the ClientHello.
    truncated_hash: TruncatedHash | None = field(default=None, repr=False, compare=False)

    @property
    def external(self) -> bool:
        return self.session is None


def choose_psk(
    ctx: Context, ch: ClientHello, suites: Sequence[Suite13], before: Transcript | None = None
) -> AcceptedPsk | None:
    """The first offered PSK this server can use with one of ``suites`` (both sides' TLS 1.3
    suites, best first), its binder verified; None: a full handshake. ``before``: the
    transcript ahead of this ClientHello (a stateless server's second one, rebuilt from its
    cookie), which the binder covers too (Section 4.2.11.2)."""
    offered = ch.ext(_PSK)
    if offered is None:
        return None
    modes = ch.ext(_PSK_MODES)
    if modes is None:  # RFC 8446, Section 4.2.9: a client offering a PSK MUST send it
        raise AlertError(AlertDescription.missing_extension, "ClientHello offers a PSK without psk_key_exchange_modes")
    cfg: ServerConfig = ctx.config
    mode = None
    for ours in cfg.psk_modes:  # our preference first
        if ours in modes.value:
            mode = ours
            break
    if mode is None:
        offered_modes = ", ".join(m.name for m in modes.value) or "none"
        ctx.verified(SUBJECT, False, f"no PSK key exchange mode in common (client: {offered_modes}): full handshake")
        return None
    psks: OfferedPsks = offered.value
    for index, identity in enumerate(psks.identities):
        found = _usable(ctx, ch, identity, suites)
        if found is not None:
            secret, suite, session = found
            early = EarlySecret(suite, secret)
            hashed = _verify_binder(ctx, ch, early, session is None, psks.binders[index], before)
            return AcceptedPsk(index, identity.identity, secret, suite, mode, session, early, hashed)
    return None


def confirm_second_hello(ctx: Context, ch: ClientHello, psk: AcceptedPsk, transcript: Transcript) -> AcceptedPsk:
    """After a HelloRetryRequest, the second ClientHello offers the chosen PSK again with a
    binder over the new transcript (Sections 4.1.2 and 4.2.11.2)."""
    offered = ch.ext(E.pre_shared_key)
    identities = offered.value.identities if offered is not None else ()
    index = next((i for i, ident in enumerate(identities) if ident.identity == psk.identity), None)
    if offered is None or index is None:
        raise AlertError(ILLEGAL, "second ClientHello dropped the PSK of the first, which the server chose")
    _verify_binder(ctx, ch, psk.early, psk.external, offered.value.binders[index], transcript)
    return replace(psk, index=index, truncated_hash=None)


def _verify_binder(
    ctx: Context, ch: ClientHello, early: EarlySecret, external: bool, received: bytes, before: Transcript | None
) -> TruncatedHash | None:
    """Section 4.2.11: the binder must validate before the PSK is accepted, else decrypt_error.
    Returns the running hash of the truncated ClientHello when nothing came before it."""
    truncated = ch.truncated_for_binders()
    hashed = None
    if before is None:
        running = new_hash(early.suite.hash_name, truncated)
        th = running.digest()  # (hashlib's digest leaves the running hash to go on)
        hashed = running, len(truncated)
    else:
        th = _binder_transcript_hash(early.suite.hash_name, truncated, before)
    expected = early_binder(early, external, th)
    # Traced as base.traced_check would, without a closure, or a message nobody reads.
    if not hmac.compare_digest(expected, received):
        error = AlertError(AlertDescription.decrypt_error, "the PSK binder does not match the ClientHello")
        ctx.verified(SUBJECT, False, error.reason)
        raise error
    if ctx.tracing:
        kind = "external PSK" if external else "resumption"
        ctx.verified(SUBJECT, True, f"PSK accepted: {kind}, binder verified")
    return hashed


def _usable(
    ctx: Context, ch: ClientHello, identity: PskIdentity, suites: Sequence[Suite13]
) -> tuple[bytes, Suite13, SessionState | None] | None:
    """The key, suite and session of one offered identity, or None (traced) if unusable."""
    cfg: ServerConfig = ctx.config
    external = None
    if cfg.psks:  # (no generator made for a server without external PSKs)
        external = next((p for p in cfg.psks if hmac.compare_digest(p.identity, identity.identity)), None)
    if external is not None:
        suite = next((s for s in suites if s.hash_name == external.hash), None)
        if suite is None:
            ctx.verified(SUBJECT, False, f"external PSK uses {external.hash}, no suite in common does: skipped")
            return None
        return external.key, suite, None
    keys: TicketKeyRing = cfg.ticket_keys
    state, reason = keys.open(identity.identity, ctx.now())
    if state is None:
        ctx.verified(SUBJECT, False, f"ticket refused: {reason} {where(keys.source)}, full handshake")
        return None
    if ctx.tracing:  # (the message composed only for a listener)
        ctx.verified("session ticket", True, f"{reason} {where(keys.source)}")
    suite, problem = _resumable(ctx, ch, state, identity, suites)
    if suite is None:
        ctx.verified(SUBJECT, False, f"ticket refused: {problem}, full handshake")
        return None
    return state.master_secret, suite, state


def _resumable(
    ctx: Context, ch: ClientHello, state: SessionState, identity: PskIdentity, suites: Sequence[Suite13]
) -> tuple[Suite13 | None, str]:
    """The suite to resume ``state`` with, or None and why not."""
    if state.version != TLS13:
        return None, "it holds a TLS 1.2 session"
    original = _SUITES_BY_VALUE.get(state.cipher_suite)
    if original is None:
        return None, "its cipher suite is not a TLS 1.3 one"
    # RFC 8446, Section 4.2.11: any suite with the PSK's hash will do. (Loops, not generators, in
    # this check of every ticket a server opens.)
    hash_name = original.hash_name
    for suite in suites:
        if suite.hash_name == hash_name:
            break
    else:
        return None, f"no suite in common uses its hash ({hash_name})"
    sni = ch.ext(_SERVER_NAME)
    name = sni.value if sni is not None else None
    # The same name as sent is the same name normalized (the usual case: no normalizing then).
    if name != state.server_name and not same_server_name(state.server_name, name):
        return None, "it was issued for another server name (RFC 6066, Section 3)"
    # (No ALPN check: the protocol is the connection's, chosen afresh (RFC 7301, Section 3); only 0-RTT
    # data must go under the ticket's, which early13 checks, as Go and rustls do.)
    age = ticket_age_ms(identity.obfuscated_ticket_age, state.ticket_age_add)
    if age > state.lifetime * 1000:  # Section 4.6.1: never used beyond its lifetime
        return None, f"the client says it is {age / 1000:.0f} s old, beyond its lifetime of {state.lifetime} s"
    refusal = session_client_refusal(ctx, state.peer_certificates)
    if refusal:
        return None, refusal
    return suite, ""


# pre_shared_key in a ServerHello accepting the first identity, the one clients offer (made
# once, as server13 makes the extensions it sends alike in every handshake).
_SH_FIRST_PSK = Extension.make(_PSK, 0, X.SH)


def server_hello_extension(psk: AcceptedPsk) -> Extension:
    """pre_shared_key in the ServerHello: the index of the accepted identity (Section 4.2.11)."""
    return _SH_FIRST_PSK if psk.index == 0 else Extension.make(_PSK, psk.index, X.SH)


def ticket_lifetime(resumed: SessionState | None, now: datetime) -> int:
    """The lifetime of a ticket issued now, in seconds. Issued on a resumption, a ticket ends when
    the one it resumed does: RFC 8446, Section 4.6.1 asks for a limit on how long keying material
    may be carried on from ticket to ticket, and so a chain of them ends TICKET_LIFETIME after the
    full handshake that authenticated its peer (as a TLS 1.2 ticket renewed, server12.py)."""
    if resumed is None:
        return TICKET_LIFETIME
    left = resumed.expires - now
    return max(0, min(TICKET_LIFETIME, left.days * 86400 + left.seconds))


def send_tickets(
    ctx: Context,
    suite: Suite13,
    resumption_secret: bytes,
    basis: SessionBasis,
    client_modes: Sequence[PskKeyExchangeMode],
    resumed: SessionState | None = None,
) -> None:
    """``ServerConfig.tls13_tickets`` NewSessionTickets (Section 4.6.1), each sealing the
    session and its own PSK under the ticket keys TLS 1.2 uses too; after a resumption of the
    ticket ``resumed`` one, replacing it (as OpenSSL does) and ending when it ends; none for a
    client whose psk_key_exchange_modes this server would refuse (Section 4.2.9: SHOULD NOT)."""
    cfg: ServerConfig = ctx.config
    ours = cfg.psk_modes
    if not any(map(ours.__contains__, client_modes)):  # (no generator: once per handshake)
        return
    lifetime = ticket_lifetime(resumed, ctx.now())
    if lifetime <= 0:
        ctx.verified("session ticket", False, "no ticket issued: the session it would carry on ends now")
        return
    for counter in range(min(cfg.tls13_tickets, 1) if resumed is not None else cfg.tls13_tickets):
        nonce = counter.to_bytes(_NONCE_BYTES, "big")
        now = ctx.now()
        age_add = int.from_bytes(ctx.randomness(4), "big")
        state = SessionState.tls13(
            suite.suite,
            resumption_psk(suite, resumption_secret, nonce),  # the ticket's PSK
            basis.server_name,
            basis.alpn,
            now,  # created
            lifetime,
            None,  # ticket: the client's to keep
            age_add,
            nonce,
            cfg.max_early_data_size,
            basis.peer_certificates,
        )
        try:
            ticket = cfg.ticket_keys.seal(state, now)
        except NoTicketKey as exc:  # a shared ring cut off from its store too long
            ctx.verified("session ticket", False, f"no ticket issued: {exc} {where(cfg.ticket_keys.source)}")
            return
        except ValueError as exc:  # a client chain too large for a ticket
            ctx.verified("session ticket", False, f"no ticket issued: {exc}")
            return
        # RFC 8446, Section 4.6.1: early_data announces the 0-RTT data the ticket admits.
        exts = (Extension.make(_EARLY_DATA, cfg.max_early_data_size, X.NST),) if cfg.max_early_data_size else ()
        ctx.send_message(NewSessionTicket(lifetime, age_add, nonce, ticket, exts))
