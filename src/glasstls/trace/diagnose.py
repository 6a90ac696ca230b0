"""Failure diagnosis: when a handshake fails, say where, what, why, and what to do.

``diagnose(error, events)`` reads the error a Connection ended with (an
:class:`~glasstls.errors.AlertError` glasstls raised itself, with its precise
reason, or a :class:`~glasstls.errors.PeerAlertError` for an alert the peer
sent) and the trace events of that side, and returns a few lines::

    diagnosis: the handshake failed on the client while waiting for the server's Certificate
      last message: < Certificate
      alert:        bad_certificate (42), sent by the client
      reason:       certificate is for localhost, not example.com
      likely fix:   connect with --servername set to a name the certificate holds (localhost), ...

The likely fix comes from :data:`~glasstls.trace.fixes.FIXES`, a table of (alert, reason pattern or
problem, who detected it, which side we are) rules, the first match winning.
It is the command line's own advice, in its options (``--cacert FILE``): the
library's reasons name configuration fields, and its errors carry
:class:`~glasstls.errors.Facts` (the problem, the trust store, the chain), which
the rules read before the reason's text. When the peer sent the alert its
reason is not on the wire; the rules then use what the trace shows (the name
asked for, the certificate's names).

:class:`FailureRecorder` is a cheap observer that keeps the handshake's events
(and only alerts and verifications after it) for a later diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..enums import AlertDescription, HandshakeType
from ..errors import AlertError, Facts, PeerAlertError
from ..observe import AlertTrace, MessageTrace, Observer, StateTrace, TraceEvent, VerificationTrace
from ..text import exception_text, printable
from . import describe as D
from .explain import friendly_reason
from .explain_phrases import ALERT_MEANINGS
from .fixes import FIXES

_AFTER_HANDSHAKE = "exchanging application data"  # the step of every connected state


@dataclass
class Diagnosis:
    side: str
    step: str
    alert: str | None
    alert_code: int | None
    origin: str  # "local", "peer" or "transport"
    reason: str
    fix: str
    last_message: str = ""
    verification: str = ""  # the failed check ("subject: detail"), if the trace shows one
    verification_detail: str = ""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f" while {self.step}" if self.step else ""
        # After the handshake (a KeyUpdate, early data over its limit, ...) it is the connection that failed.
        what = "connection" if self.step.startswith(_AFTER_HANDSHAKE) else "handshake"
        lines = [f"diagnosis: the {what} failed on the {self.side}{where}"]
        if self.last_message:
            lines.append(f"  last message: {self.last_message}")
        if self.alert is not None:
            if self.origin == "peer":
                who = f"received from the {'server' if self.side == 'client' else 'client'}"
            else:
                who = f"sent by the {self.side}"
            lines.append(f"  alert:        {self.alert} ({self.alert_code}), {who}")
        lines.append(f"  reason:       {self.reason}")
        friendly = friendly_reason(self.reason)
        if friendly != self.reason:
            lines.append(f"  in words:     {friendly}")
        if self.verification and self.verification_detail != self.reason:
            lines.append(f"  failed check: {self.verification}")
        lines += [f"  note:         {note}" for note in self.notes]
        lines.append(f"  likely fix:   {self.fix}")
        # Reasons quote what the peer sent (escaped where they are made); this is the guard for the rest.
        return "\n".join(printable(line, escape_backslash=False) for line in lines)


def _context(events: Sequence[TraceEvent]) -> D.Context:
    ctx = D.Context()
    for event in events:
        ctx.update(event)
    return ctx


def _match(alert: str | None, reason: str, origin: str, side: str, ctx: D.Context, facts: Facts | None = None) -> str:
    # The client chose the name and the server its certificate's names: both escaped (the names already are).
    sni = printable(ctx.server_name) if ctx.server_name else "(none)"
    values = {"sni": sni, "names": ", ".join(ctx.certificate_names) or "(unknown)"}
    for rule in FIXES:
        if rule.alert is not None and rule.alert != alert:
            continue
        if rule.origin is not None and rule.origin != origin:
            continue
        if rule.side is not None and rule.side != side:
            continue
        m = None
        if rule.problem is not None and facts is not None:
            if facts.problem != rule.problem:
                continue
        elif rule.pattern is not None:
            m = re.search(rule.pattern, reason)
            if m is None:
                continue
        groups = {f"m{i}": g for i, g in enumerate(m.groups() if m else (), start=1)}
        return rule.fix.format(**values, **groups)
    if alert is not None:
        return f"{ALERT_MEANINGS.get(alert, 'see the alert')}; " + (
            "the peer's log says why" if origin == "peer" else "the reason above says what to change"
        )
    return "run again with --trace to see the last step"


def find_diagnosis(error: BaseException | None, events: Iterable[TraceEvent] = (), *, side: str = "") -> Diagnosis:
    """The structured diagnosis of ``error`` (None: read the failure from the events)."""
    events = list(events)
    ctx = _context(events)
    side = side or (events[0].side if events else "") or "this side"
    alerts = [e for e in events if isinstance(e, AlertTrace) and e.description != 0]
    failed = [e for e in events if isinstance(e, VerificationTrace) and not e.ok]
    messages = [e for e in events if isinstance(e, MessageTrace)]
    alert_name: str | None = None
    code: int | None = None
    step = getattr(error, "step", "") or ""
    if isinstance(error, AlertError):
        origin, reason = "local", error.reason
        alert_name, code = D.enum_name(error.description, AlertDescription), int(error.description)
    elif isinstance(error, PeerAlertError):
        origin = "peer"
        alert_name, code = D.enum_name(error.description, AlertDescription), int(error.description)
        reason = (
            f"the peer did not say (an alert carries no reason); {alert_name} means "
            f"{_peer_alert_meaning(alert_name, side, messages)}"
        )
    elif alerts:
        last = alerts[-1]
        origin = "local" if last.direction == "out" else "peer"
        alert_name, code = D.enum_name(last.description, AlertDescription), int(last.description)
        reason = last.reason or ALERT_MEANINGS.get(alert_name, "")
    else:
        origin = "transport"
        reason = str(error) if error is not None else "the connection ended before the handshake completed"
    if not step:
        step = _step_from(events)
    last_message = ""
    if messages:
        m = messages[-1]
        last_message = f"{'>' if m.direction == 'out' else '<'} {D.message_name(m.message)}"
        last_message += f" ({'sent' if m.direction == 'out' else 'received'})"
    verification = f"{failed[-1].subject}: {failed[-1].detail}" if failed else ""
    facts = error.facts if isinstance(error, AlertError) else None
    fix = _match(alert_name, reason if origin != "peer" else "", origin, side, ctx, facts)
    fix = _fix_from_context(fix, alert_name, origin, side, ctx, alerts, failed, messages)
    notes: list[str] = []
    detail = failed[-1].detail if failed else ""
    return Diagnosis(side, step, alert_name, code, origin, reason, fix, last_message, verification, detail, notes)


def _fix_from_context(
    fix: str,
    alert_name: str | None,
    origin: str,
    side: str,
    ctx: D.Context,
    alerts: Sequence[AlertTrace],
    failed: Sequence[VerificationTrace],
    messages: Sequence[MessageTrace],
) -> str:
    """The rules' fix, replaced where the trace shows more than the alert and the reason can (the first
    case that applies, most specific first)."""
    rsa_kx = ctx.kx == "RSA" and not ctx.handshake_done
    if alert_name == "bad_record_mac" and origin == "local" and side == "server" and rsa_kx:
        return _RSA_PREMASTER_FAILED
    unfit = [e for e in failed if e.subject == "client certificate" and "can sign with" in e.detail]
    if origin == "peer" and side == "client" and unfit:
        # A certificate was given (--cert) but none fit the request: passing one is not the fix.
        return (
            "the client's certificate cannot sign with any scheme the server accepts, so none was sent: use a "
            "certificate whose key fits the server's signature_algorithms (the check above names them), or "
            "widen the server's list"
        )
    if origin == "peer" and _refused_renegotiation(alerts):
        return _RENEGOTIATION_REFUSED
    if origin == "transport" and side == "server" and _asked_for_certificate_then_dropped(messages):
        return _DROPPED_AFTER_CERTIFICATE_REQUEST
    sent_none = side == "client" and _sent_no_certificate(messages)
    if origin == "peer" and sent_none and alert_name in _NO_CERTIFICATE_ALERTS:
        # RFC 5246, Section 7.4.6: a TLS 1.2 server that requires a client certificate answers an empty one
        # with handshake_failure (OpenSSL), bad_certificate (Go) or decode_error (GnuTLS); the trace shows it
        # asked and got none, so say that rather than "no common suite" or "could not parse".
        fix = _match("certificate_required", "", origin, side, ctx)
        if alert_name != "certificate_required":
            fix += f"; it asked for one, this client sent none, and it answered {alert_name}"
    return fix


# RFC 5246, Section 7.4.7.1: a pre-master secret that does not decrypt is replaced by a random one, in
# silence, so the first sign of it is the client's Finished record failing authentication. ROBOT scanners
# (testssl.sh, sslyze) send such ClientKeyExchanges on purpose to look for an oracle.
_RSA_PREMASTER_FAILED = (
    "with RSA key exchange, the client's encrypted pre-master secret did not decrypt to a valid one, so the "
    "keys differ: a ROBOT scanner probing on purpose (testssl.sh, sslyze; the same answer to every probe is "
    "the defence), or a client encrypting to another certificate's key; otherwise data altered in transit"
)


# What servers that require a client certificate answer an empty one with: certificate_required
# (RFC 8446, Section 4.4.2.4), handshake_failure (RFC 5246, Section 7.4.6), or another stack's choice.
_NO_CERTIFICATE_ALERTS = frozenset(
    {"certificate_required", "handshake_failure", "bad_certificate", "decode_error", "certificate_unknown"}
)

# Alerts about a certificate (RFC 8446, Section 6.2). A server sends them only about the client's.
_CERTIFICATE_ALERTS = frozenset(
    {"bad_certificate", "unsupported_certificate", "certificate_expired", "certificate_unknown", "unknown_ca"}
)


def _peer_alert_meaning(alert_name: str, side: str, messages: Sequence[MessageTrace]) -> str:
    """What the peer's alert means; a server's certificate alert is about our client certificate, never a host."""
    meaning = ALERT_MEANINGS.get(alert_name, "a failure")
    if side == "client" and alert_name in _CERTIFICATE_ALERTS and _sent_certificate(messages):
        meaning = meaning.split(",")[0].replace("a certificate", "our client certificate", 1)
        return f"{meaning} (the server checked the certificate this client sent)"
    return meaning


def _sent_certificate(messages: Sequence[MessageTrace]) -> bool:
    """Whether this side sent a non-empty Certificate (TLS 1.2 or 1.3) or a CompressedCertificate (RFC 8879)."""
    for m in messages:
        kind = int(getattr(m.message, "msg_type", -1))
        if m.direction == "out" and kind in (11, 25):  # certificate, compressed_certificate
            return kind == 25 or bool(getattr(m.message, "certificates", None) or getattr(m.message, "entries", None))
    return False


def _sent_no_certificate(messages: Sequence[MessageTrace]) -> bool:
    """Whether this side answered a CertificateRequest with an empty Certificate (TLS 1.2 or 1.3)."""
    for m in messages:
        if m.direction == "out" and int(getattr(m.message, "msg_type", -1)) == 11:  # certificate
            return not (getattr(m.message, "certificates", None) or getattr(m.message, "entries", None))
    return False


# A browser asked for a client certificate in the handshake closes the connection while its user (or
# its policy) picks one, and with none picked connects again without one (Chromium does this:
# ERR_SSL_CLIENT_AUTH_CERT_NEEDED, then a second connection that sends an empty Certificate).
_DROPPED_AFTER_CERTIFICATE_REQUEST = (
    "the client closed the connection after this server asked for a certificate (CertificateRequest): a "
    "browser does that while it chooses one, and connects again with one or without (with --verify-client "
    "optional the next connection goes through); a client that always drops here has no certificate "
    "this server accepts, which only its own log shows"
)


def _asked_for_certificate_then_dropped(messages: Sequence[MessageTrace]) -> bool:
    """Whether this server's last flight asked for a client certificate and nothing came back after it."""
    first = next((i for i, m in enumerate(messages) if m.direction == "out"), None)
    if first is None:
        return False
    flight = messages[first:]
    request = HandshakeType.certificate_request
    asked = any(int(getattr(m.message, "msg_type", -1)) == request for m in flight)
    return asked and all(m.direction == "out" for m in flight)


_RENEGOTIATION_REFUSED = (
    "the peer asked to renegotiate (a HelloRequest or a new ClientHello) and glasstls refused with a "
    "no_renegotiation warning (it never renegotiates), which the peer answered by ending the connection: configure "
    "the peer not to renegotiate (a server that wants a client certificate can ask for it in the first handshake)"
)


def _refused_renegotiation(alerts: Sequence[AlertTrace]) -> bool:
    """Whether this side sent a no_renegotiation warning before the peer's alert."""
    return any(a.direction == "out" and int(a.description) == AlertDescription.no_renegotiation for a in alerts)


def _step_from(events: Sequence[TraceEvent]) -> str:
    states = [e for e in events if isinstance(e, StateTrace)]
    return f"in state {states[-1].new}" if states else ""


def diagnose(error: BaseException | None, events: Iterable[TraceEvent] = (), *, side: str = "") -> str:
    """Multi-line text: the step, the alert, the precise reason and the likely fix.

    Never raises: a server prints it for every failed connection and goes on serving.
    """
    try:
        return str(find_diagnosis(error, events, side=side))
    except Exception as exc:
        reason = printable(str(error), escape_backslash=False) if error is not None else "unknown"
        failed = f"diagnosis: the handshake failed on the {side or 'this side'}: {reason}"
        return f"{failed}\n  (nothing more can be said: {exception_text(exc)})"


class FailureRecorder(Observer):
    """Keeps what a diagnosis needs: every event until the handshake completes, then
    alerts, verifications and the latest message alone (so a long connection costs no
    memory, and a failure after the handshake names the message it was about: a KeyUpdate
    past its bound, a renegotiating ClientHello)."""

    def __init__(self, limit: int = 1000) -> None:
        self.events: list[TraceEvent] = []
        self.limit = limit
        self._handshake_done = False
        self._latest: int | None = None  # where in events the latest post-handshake message is

    def __call__(self, event: TraceEvent) -> None:
        if self._handshake_done and event.kind not in ("alert", "verification"):
            if isinstance(event, MessageTrace):
                if self._latest is not None:
                    self.events[self._latest] = event
                elif len(self.events) < self.limit:
                    self._latest = len(self.events)
                    self.events.append(event)
            return
        if isinstance(event, StateTrace) and "Connected" in event.new:
            self._handshake_done = True
        if len(self.events) < self.limit:
            self.events.append(event)
