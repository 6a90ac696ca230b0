"""Pieces both TLS 1.2 roles use (RFC 5246): the handshake every state hands on,
key derivation from the master secret, the protections installed at
ChangeCipherSpec, Finished, and the session a handshake leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from ..crypto import prf12
from ..crypto.suites import Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, NamedGroup, ProtocolVersion, SignatureScheme
from ..errors import AlertError, DecodeError
from ..events import NegotiatedParameters
from ..record.protection12 import Protection12, protection12_from_key_block
from ..session.state import SessionState
from ..wire.handshake import Handshake
from .base import Connected, Context, FinishedVerified, M, checked_finished

VERIFY_DATA_LEN = 12  # RFC 5246, Section 7.4.9
# Seconds a session is kept when nothing says otherwise (a ticket_lifetime_hint of 0
# leaves it unspecified, RFC 5077, Section 3.3).
DEFAULT_TICKET_LIFETIME = 7200


@dataclass(slots=True, eq=False)
class Handshake12:
    """A TLS 1.2 handshake as far as it has come, the same for both roles: what the
    two hellos settled (RFC 5246, Section 7.4.1) and, filled in by the states that
    learn them, the parameters the handshake reports when it completes.

    One object per handshake, handed from state to state: a state that learns
    something (the peer's chain, the group, that the client proved its
    certificate) records it here, and nothing recorded is ever taken back; the
    transcript only grows. (A copy per step, with ``dataclasses.replace``, cost
    more than the rest of a resumption's bookkeeping.) Until the master secret is
    known there is nothing to key or to finish with: :meth:`derive_master` and
    :meth:`resume_master` turn this object into the :class:`KeyedHandshake12` that can.
    """

    suite: Suite12
    client_random: bytes
    server_random: bytes
    transcript: Transcript
    extended_master_secret: bool  # RFC 7627
    encrypt_then_mac: bool  # RFC 7366; never with an AEAD suite
    session_id: bytes  # the server's, for resumption by session ID (may be empty)
    server_name: str | None  # what the client asked for (RFC 6066, Section 3)
    alpn: str | None  # the protocol the server selected (RFC 7301)
    issue_ticket: bool  # a NewSessionTicket comes before the server's CCS (RFC 5077, Section 3.3)
    resumed: bool = False  # abbreviated handshake (RFC 5246, Section 7.3)
    group: NamedGroup | str | None = None  # (EC)DHE only; a str names a DHE group without a code point
    signature_scheme: SignatureScheme | None = None  # of the ServerKeyExchange
    peer_chain: tuple[x509.Certificate, ...] = ()  # leaf first; empty: the peer sent none
    client_auth: bool = False  # the client proved its certificate (CertificateVerify)
    # A resumed session's creation: a ticket renewed on resumption keeps it, so renewals never carry
    # a master secret past its first lifetime (as OpenSSL keeps a resumed SSL_SESSION's time).
    created: datetime | None = None
    # Set once, by resume_master, as the object becomes a KeyedHandshake12 (which types them).
    master_secret: bytes | None = field(default=None, repr=False)
    prf: prf12.MasterPrf | None = field(default=None, repr=False)  # the key block's and both Finished's PRF
    keys: prf12.KeyBlock | None = field(default=None, repr=False)  # RFC 5246, Section 6.3: both directions'

    def send(self, ctx: Context, msg: Handshake) -> None:
        """Send a handshake message and add the bytes sent to the transcript."""
        ctx.send_message(msg)
        self.transcript.add(msg.raw)

    def derive_master(self, ctx: Context, pre_master: bytes) -> KeyedHandshake12:
        """RFC 5246, Section 8.1, or RFC 7627, Section 4 with the session hash."""
        h = self.suite.prf_hash
        ctx.secret("pre_master_secret", self.client_random, pre_master)  # (its value only to --show-secrets)
        if self.extended_master_secret:
            master = prf12.extended_master_secret(h, pre_master, self.transcript.digest())
        else:
            master = prf12.master_secret(h, pre_master, self.client_random, self.server_random)
        return self.resume_master(ctx, master)

    def resume_master(self, ctx: Context, master_secret: bytes) -> KeyedHandshake12:
        """The master secret is known (derived, or the resumed session's: RFC 5246, Section 7.3).

        This object becomes the keyed handshake, in place: it keeps everything
        settled so far, and the states after this one hold it as a
        :class:`KeyedHandshake12`. (A new object, all seventeen fields copied, was
        about 1 % of a TLS 1.2 resumption; both classes have the same slots, so
        only the class changes.) Its key block (RFC 5246, Section 6.3) is derived
        here, once, for the protections of both directions."""
        ctx.secret("master_secret", self.client_random, master_secret)
        self.prf = prf = prf12.MasterPrf(self.suite.prf_hash, master_secret)
        self.keys = prf.key_block(self.suite, self.client_random, self.server_random)
        self.master_secret = master_secret
        self.__class__ = KeyedHandshake12
        return self  # type: ignore[return-value]  # its class is KeyedHandshake12 now

    def parameters(self) -> NegotiatedParameters:
        return NegotiatedParameters(
            version="TLSv1.2",
            cipher_suite=self.suite.name,
            group=self.group.name if isinstance(self.group, NamedGroup) else self.group,
            signature_scheme=self.signature_scheme.name if self.signature_scheme is not None else None,
            alpn=self.alpn,
            server_name=self.server_name,
            peer_certificates=self.peer_chain,
            resumed=self.resumed,
            client_auth=self.client_auth,
            extended_master_secret=self.extended_master_secret,
        )


# The epoch names the record layer and the trace show for each writer's keys.
_EPOCHS = {"client": "client write (TLS 1.2)", "server": "server write (TLS 1.2)"}


class KeyedHandshake12(Handshake12):
    """A TLS 1.2 handshake whose master secret is known: what the record
    protections (RFC 5246, Section 6.3), Finished (Section 7.4.9) and the session
    kept for resumption are made from. Only :meth:`Handshake12.resume_master` makes
    one, from a :class:`Handshake12`; it adds no slots, so that it can."""

    __slots__ = ()
    master_secret: bytes
    prf: prf12.MasterPrf
    keys: prf12.KeyBlock

    def _protection(self, ctx: Context, writer: str) -> Protection12:
        # encrypt_then_mac matters to CBC only (never negotiated with an AEAD suite, RFC 7366, Section 3).
        return protection12_from_key_block(
            self.suite, self.keys, writer, _EPOCHS[writer], ctx.randomness, encrypt_then_mac=self.encrypt_then_mac
        )

    def install_write(self, ctx: Context) -> None:
        """Send ChangeCipherSpec, then protect everything we send (RFC 5246, Section 7.1)."""
        ctx.send_change_cipher_spec()
        ctx.install_write_protection(self._protection(ctx, ctx.side))

    def install_read(self, ctx: Context) -> None:
        """The peer's ChangeCipherSpec came: everything after it is protected (RFC 5246, Section 7.1)."""
        peer = "server" if ctx.side == "client" else "client"
        ctx.install_read_protection(self._protection(ctx, peer))

    def export(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 5705, Section 4: the PRF over the master secret and both randoms."""
        h, randoms = self.suite.prf_hash, (self.client_random, self.server_random)
        return prf12.export_keying_material(h, self.master_secret, *randoms, label, context, length)

    def finished(self, sender: str) -> bytes:
        return self.prf.finished(sender, self.transcript.digest())

    def check_finished(self, ctx: Context, sender: str, verify_data: bytes) -> FinishedVerified:
        if len(verify_data) != VERIFY_DATA_LEN:
            raise DecodeError(f"{sender} Finished has {len(verify_data)} bytes of verify_data, not 12")
        expected = self.finished(sender)
        matches = "verify_data matches the transcript and master secret"
        return checked_finished(ctx, sender, expected, verify_data, matches)

    def session_state(
        self,
        ctx: Context,
        ticket: bytes | None = None,
        lifetime: int = DEFAULT_TICKET_LIFETIME,
        peer_certificates: tuple[bytes, ...] = (),
    ) -> SessionState:
        """What resumption needs of this handshake (RFC 5246, Section 7.3; RFC 5077, Section 4),
        with the peer's chain as DER."""
        return SessionState(
            version=ProtocolVersion.TLSv1_2,
            cipher_suite=self.suite.suite,
            master_secret=self.master_secret,
            extended_master_secret=self.extended_master_secret,
            server_name=self.server_name,
            alpn=self.alpn,
            created=self.created or ctx.now(),
            lifetime=lifetime,
            session_id=self.session_id,
            ticket=ticket,
            peer_certificates=peer_certificates,
            encrypt_then_mac=self.encrypt_then_mac,
        )


class Connected12(Connected[M]):
    """What the connected states of both TLS 1.2 roles answer from the keyed handshake."""

    s: KeyedHandshake12
    version_label = "TLSv1.2"

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        return self.s.export(label, context, length)

    def exporter_safe_for_channel_binding(self) -> bool:
        # RFC 9266, Section 4.2 (and RFC 7627, Section 5.4): without the extended master
        # secret, two TLS 1.2 connections can share a master secret (triple handshake).
        return self.s.extended_master_secret


def refuse_renegotiation_info(data: bytes) -> None:
    """RFC 5746, Section 3.4/3.6: on an initial handshake the field is empty."""
    if data:
        raise AlertError(AlertDescription.handshake_failure, "renegotiation_info is not empty on an initial handshake")
