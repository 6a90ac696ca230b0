"""TLS 1.3 0-RTT early data, both roles (RFC 8446, Sections 2.3, 4.2.10, 4.5 and 8).

    Client                                               Server
    ClientHello + early_data + pre_shared_key
    (Application Data*)  under client_early_traffic_secret  -->
                                                         ServerHello + pre_shared_key
                                                         {EncryptedExtensions + early_data*}
                                                         {Finished}
                                                    <--  [Application Data*]
    (EndOfEarlyData)     only if the server accepted
    {Finished}                                      -->

The client offers early data only with a ticket that allows it (its
NewSessionTicket carried early_data with max_early_data_size). The server
accepts it only for the first PSK identity, a ticket that allows it, the same
suite and ALPN as the ticket, a client-reported ticket age within the freshness
window (Section 8.3), and a ClientHello (binder) and ticket not used for early
data before (Sections 8.1 and 8.2, ``ServerConfig.replay_guard``). Otherwise it
rejects the early data: no early_data in EncryptedExtensions, and the client's
early records, which it cannot decrypt, are skipped (Section 4.2.10), up to a
limit. A rejected attempt is not resent: the application sees
``early_data_accepted`` False and decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..config import ServerConfig
from ..crypto.keyschedule13 import EarlySecret
from ..crypto.suites import Suite13
from ..crypto.transcript import Transcript
from ..enums import AlertDescription
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..session.psk import ticket_age_ms
from ..session.replay import DEFAULT_WINDOW, RECORDING, ReplayGuard, fresh
from ..session.state import SessionState
from ..session.stores import where
from ..wire import extensions as X
from ..wire.extensions import Extension
from ..wire.handshake import ClientHello, EncryptedExtensions, EndOfEarlyData
from .base import AnyState, Context, State, require
from .common13 import secret_reporter
from .psk13 import AcceptedPsk, PskOffer
from .zero_rtt import ZeroRtt

SUBJECT = "0-RTT"  # the trace's name for the early data decision, both sides
# How much early data a server skips when it accepts none at all (max_early_data_size 0):
# a client may send some anyway (a ticket from another server of the fleet); one record.
SKIP_WITHOUT_EARLY_DATA = 1 << 14
# Looked up once: a member looked up on its class goes through EnumType's attribute hook (some 900
# instructions a time in CPython 3.11), and the server asks every ClientHello (the client, each
# EncryptedExtensions after it offered early data).
_EARLY_DATA = E.early_data


def _early_secret(early: EarlySecret, ch: ClientHello) -> bytes:
    """client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello)
    (RFC 8446, Section 7.1), and the early exporter master secret for the key log."""
    th = hashlib.new(early.suite.hash_name, ch.raw).digest()
    secret = early.client_early_traffic_secret(th)
    early.early_exporter_master_secret(th)
    return secret


# -- client ---------------------------------------------------------------------------


def client_may_offer(ctx: Context, offer: PskOffer) -> bool:
    """Whether the first ClientHello carries early_data: the application has early data
    and the offered ticket allows it (RFC 8446, Section 4.2.10)."""
    wanted = ctx.early_wanted
    if wanted is None:
        return False
    session = offer.session
    if session is None:
        ctx.verified(SUBJECT, False, "no early data: an external PSK is offered, not a ticket")
        return False
    if len(wanted) > session.max_early_data:
        ctx.verified(SUBJECT, False, f"no early data: the ticket allows {session.max_early_data} bytes")
        return False
    return True


def early_data_extension() -> Extension:
    return Extension.make(E.early_data, True, X.CH)


def client_start(ctx: Context, hello: ClientHello, offer: PskOffer | None) -> None:
    """Right after the first ClientHello: the client's early traffic keys, for the early
    data the connection sends next (RFC 8446, Section 2.3); none without early_data."""
    wanted = ctx.early_wanted
    if wanted is None:
        return
    if offer is None or offer.session is None or hello.ext(E.early_data) is None:
        ctx.early = ZeroRtt(0, accepted=False, open=False)
        return
    secret = _early_secret(offer.early.reporting(secret_reporter(ctx, hello.random)), hello)  # the binder's
    ctx.early = ZeroRtt(offer.session.max_early_data, suite=offer.suite, secret=secret)
    # RFC 8446, Appendix D.4: the dummy change_cipher_spec goes before the first encrypted record.
    if ctx.config.middlebox_compat:
        ctx.send_change_cipher_spec()
    ctx.install_write(offer.suite, secret, "early")


def client_retry(ctx: Context) -> None:
    """A HelloRetryRequest rejects the early data; the second ClientHello goes in the clear."""
    early = ctx.early
    if early is None or early.suite is None:
        return
    ctx.verified(SUBJECT, False, "early data rejected: the server sent a HelloRetryRequest")
    ctx.early = ZeroRtt(0, accepted=False, open=False)
    ctx.clear_write_keys()


def client_refuse_tls12(ctx: Context) -> None:
    """RFC 8446, Appendix D.3: a client that offered 0-RTT data (under a TLS 1.3 ticket, with its
    early keys already writing) MUST fail a connection whose server answers TLS 1.2 or older: its
    next records would go under keys that server never had."""
    early = ctx.early
    if early is not None and early.suite is not None:
        raise AlertError(
            AlertDescription.protocol_version,
            "server chose TLS 1.2 after this client offered 0-RTT data under a TLS 1.3 ticket "
            "(RFC 8446, Appendix D.3): a server that resumed the ticket's session speaks TLS 1.3",
        )


def client_keeps_early_keys(ctx: Context) -> bool:
    """After the ServerHello: True while the client still writes under its early keys
    (until EndOfEarlyData or the switch to handshake keys at its flight)."""
    early = ctx.early
    if early is None or early.suite is None:
        return False
    early.open = False  # no more early data once the server has answered
    return True


def client_encrypted_extensions(ctx: Context, ee: EncryptedExtensions, psk: PskOffer | None, suite: Suite13) -> None:
    """EncryptedExtensions says whether the early data was accepted (RFC 8446, Section 4.2.10)."""
    early = ctx.early
    if early is None or early.suite is None:
        return  # admit_extensions refused early_data in EE when the hello did not offer it
    said = ee.ext(_EARLY_DATA) is not None  # (asked only with early data in play)
    if said:
        require(psk is not None, AlertDescription.illegal_parameter, "server accepted early data without the PSK")
        # Section 4.2.10: early data is accepted only under the ticket's suite, which sealed it (BoringSSL:
        # CIPHER_MISMATCH_ON_EARLY_DATA, illegal_parameter; rustls refuses it too).
        require(
            suite.suite == early.suite.suite,
            AlertDescription.illegal_parameter,
            f"server accepted early data sealed under {early.suite.suite.name} in a handshake under "
            f"{suite.suite.name} (RFC 8446, Section 4.2.10)",
        )
        _check_early_alpn(ee, psk)
        ctx.verified(SUBJECT, True, f"early data accepted ({early.count} bytes)")
    else:
        ctx.verified(SUBJECT, False, f"early data rejected by the server ({early.count} bytes not delivered)")
    early.accepted = said


def _check_early_alpn(ee: EncryptedExtensions, psk: PskOffer | None) -> None:
    """RFC 8446, Section 4.2.10: accepted early data goes under the ALPN protocol of the ticket's
    session; a server that accepts it under another (or none) is illegal_parameter, as OpenSSL and
    BoringSSL answer."""
    session = psk.session if psk is not None else None
    if session is None:
        return
    chosen = ee.ext(E.application_layer_protocol_negotiation)
    alpn = chosen.value[0].decode(errors="replace") if chosen is not None and chosen.value else None
    if alpn != session.alpn:
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"server accepted early data under ALPN {alpn!r}, but the ticket's session was made under "
            f"{session.alpn!r} (RFC 8446, Section 4.2.10)",
        )


def client_end_early_data(ctx: Context, suite: Suite13, client_handshake_secret: bytes, transcript: Transcript) -> None:
    """Before the client's flight: EndOfEarlyData under the early keys when the server
    accepted the early data (RFC 8446, Section 4.5), then the handshake keys."""
    early = ctx.early
    if early is None or early.suite is None:
        return
    if early.accepted:
        eoed = EndOfEarlyData()
        ctx.send_message(eoed)
        transcript.add(eoed.raw)
    early.accepted = bool(early.accepted)
    ctx.install_write(suite, client_handshake_secret, "handshake")


# -- server ---------------------------------------------------------------------------


def _config(ctx: Context) -> ServerConfig:
    config: ServerConfig = ctx.config
    return config


def server_skip(ctx: Context, reason: str, ticket_limit: int = 0) -> None:
    """Reject the client's early data: skip its early records (RFC 8446, Section 4.2.10), as much as
    this server takes or the ticket offered allowed (one issued before max_early_data_size was lowered)."""
    limit = max(_config(ctx).max_early_data_size, ticket_limit) or SKIP_WITHOUT_EARLY_DATA
    ctx.early = ZeroRtt(limit, accepted=False, open=False)
    ctx.skip_early_data(limit)
    ctx.verified(SUBJECT, False, f"0-RTT rejected: {reason}")


def server_decide(
    ctx: Context, ch: ClientHello, psk: AcceptedPsk | None, early: EarlySecret, alpn: str | None
) -> bytes | None:
    """For a ClientHello with early_data: the client_early_traffic_secret when the server
    accepts its early data, else None (the early records are skipped, the reason traced).
    ``early``: the handshake's early secret stage (the PSK's, reporting to the connection)."""
    if ch.ext(_EARLY_DATA) is None:
        return None
    suite = early.suite
    reason = _refusal(ctx, ch, psk, suite, alpn)
    if reason is not None:
        session = psk.session if psk is not None else None
        server_skip(ctx, reason, session.max_early_data if session is not None else 0)
        return None
    assert psk is not None
    cfg = _config(ctx)
    secret = _early_secret(early, ch)
    ctx.early = ZeroRtt(cfg.max_early_data_size, accepted=True, suite=suite, secret=secret)
    ctx.verified(SUBJECT, True, f"0-RTT accepted: up to {cfg.max_early_data_size} bytes")
    return secret


def _refusal(ctx: Context, ch: ClientHello, psk: AcceptedPsk | None, suite: Suite13, alpn: str | None) -> str | None:
    """Why this server does not accept the early data of ``ch``, or None (RFC 8446,
    Sections 4.2.10 and 8). The replay guard is asked last: it records what it admits."""
    cfg = _config(ctx)
    if psk is None:
        return "no PSK accepted"
    if psk.index != 0:  # Section 4.2.10: early data only with the first identity
        return "the accepted PSK is not the client's first"
    session = psk.session
    if session is None:
        return "an external PSK (glasstls accepts early data with tickets only)"
    if cfg.max_early_data_size == 0:
        return "this server accepts no early data (max_early_data_size 0)"
    if session.max_early_data == 0:
        return "the ticket does not allow early data"
    if session.max_early_data > cfg.max_early_data_size:  # (the client may send what the ticket allows)
        return (
            f"the ticket allows {session.max_early_data} bytes, more than this server takes now "
            f"({cfg.max_early_data_size}): max_early_data_size was lowered since it was issued"
        )
    if session.cipher_suite != suite.suite:
        return "the handshake's cipher suite is not the ticket's"
    if session.alpn != alpn:
        return f"the application protocol ({alpn!r}) is not the ticket's ({session.alpn!r})"
    offered = ch.ext(E.pre_shared_key)
    assert offered is not None  # a PSK was accepted
    age = ticket_age_ms(offered.value.identities[0].obfuscated_ticket_age, session.ticket_age_add)
    now = ctx.now()
    if not fresh(age, session.created, now):  # Section 8.3
        server_age = (now - session.created).total_seconds()
        return (
            f"the client says the ticket is {age / 1000:.1f} s old, the server {server_age:.1f} s: "
            f"outside the {DEFAULT_WINDOW.total_seconds():.0f} s freshness window (RFC 8446, Section 8.3)"
        )
    return _replayed(cfg.replay_guard, offered.value.binders[0], psk.identity, session, now)


def _replayed(guard: ReplayGuard, binder: bytes, ticket: bytes, session: SessionState, now: datetime) -> str | None:
    """Why the replay guard refuses this hello's binder (Section 8.2) or its ticket
    (Section 8.1), or None once it recorded both: the guard is asked last, it records
    what it admits. It says where it looked (memory, redis) and, in a fleet, whether
    the value was seen by this server or another; a guard that cannot record refuses."""
    place = where(guard.source)
    why = guard.record(b"binder:" + binder, now + RECORDING, now, session.created)
    if why is not None:
        if not why.startswith("seen"):
            return (
                f"the replay guard cannot vouch for this ClientHello: {why} {place}, fails closed (RFC 8446, Section 8)"
            )
        return f"replayed ClientHello: its binder was {why} {place} (RFC 8446, Section 8.2)"
    digest = b"ticket:" + hashlib.sha256(ticket).digest()
    why = guard.record(digest, session.created + timedelta(seconds=session.lifetime), now, session.created)
    if why is not None:
        if not why.startswith("seen"):
            return f"the replay guard cannot vouch for this ticket: {why} {place}, fails closed (RFC 8446, Section 8)"
        return f"the ticket's early data was accepted once already, {why} {place} (single use, RFC 8446, Section 8.1)"
    return None


def server_accepted(ctx: Context) -> bool:
    early = ctx.early
    return early is not None and bool(early.accepted) and early.open


def encrypted_extension() -> Extension:
    return Extension.make(E.early_data, True, X.EE)


@dataclass(frozen=True, eq=False, repr=False)
class ExpectEndOfEarlyData(State[EndOfEarlyData]):
    """The server accepted 0-RTT: the client's early data (EarlyData events), then its
    EndOfEarlyData under the early keys; then the client's handshake keys (RFC 8446, Section 4.5)."""

    expects = (EndOfEarlyData,)
    step = "waiting for the client's early data and EndOfEarlyData"
    ccs_allowed = True
    transitions = (("EndOfEarlyData", "ExpectClientFinished", "back to the client's handshake keys"),)

    following: AnyState  # ExpectClientFinished
    suite: Suite13
    client_handshake_secret: bytes = field(repr=False)
    transcript: Transcript

    def handle(self, ctx: Context, msg: EndOfEarlyData) -> AnyState:
        self.transcript.add(msg.raw)  # Section 4.4.1: the client's Finished covers it
        early = ctx.early
        if early is not None:
            early.open = False
            ctx.verified(SUBJECT, True, f"EndOfEarlyData after {early.count} bytes of early data")
        ctx.install_read(self.suite, self.client_handshake_secret, "handshake")
        return self.following
