"""Pieces both TLS 1.2 roles use (RFC 5246): key derivation from the master
secret, the protections installed at ChangeCipherSpec, Finished, and the
session a handshake leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from ..crypto import prf12
from ..crypto.suites import Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, NamedGroup, ProtocolVersion, SignatureScheme
from ..errors import AlertError, DecodeError
from ..events import NegotiatedParameters
from ..record.protection12 import protection12
from ..session.state import SessionState
from .base import Context, FinishedVerified, traced_check, verify_finished

# RFC 8446, Section 4.1.3: the last 8 bytes of a TLS 1.3-capable server's
# random when it negotiates TLS 1.2.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
VERIFY_DATA_LEN = 12  # RFC 5246, Section 7.4.9


@dataclass
class Session12:
    """Everything a TLS 1.2 handshake has settled, filled in state by state."""

    suite: Suite12
    client_random: bytes
    server_random: bytes
    transcript: Transcript
    extended_master_secret: bool
    encrypt_then_mac: bool = False
    resumed: bool = False
    session_id: bytes = b""
    alpn: str | None = None
    server_name: str | None = None
    group: NamedGroup | None = None
    signature_scheme: SignatureScheme | None = None
    peer_chain: tuple[x509.Certificate, ...] = ()
    master_secret: bytes = b""
    issue_ticket: bool = False
    client_auth: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def send(self, ctx: Context, msg: Any) -> None:
        """Send a handshake message and add the bytes sent to the transcript."""
        ctx.send_message(msg)
        self.transcript.add(msg.raw)

    def derive_master(self, ctx: Context, pre_master: bytes) -> None:
        """RFC 5246, Section 8.1, or RFC 7627, Section 4 with the session hash."""
        h = self.suite.prf_hash
        if self.extended_master_secret:
            self.master_secret = prf12.extended_master_secret(h, pre_master, self.transcript.digest())
        else:
            self.master_secret = prf12.master_secret(h, pre_master, self.client_random, self.server_random)
        ctx.secret("master_secret", self.client_random, self.master_secret)

    def resume_master(self, ctx: Context, master_secret: bytes) -> None:
        """An abbreviated handshake (RFC 5246, Section 7.3) takes the resumed session's master secret."""
        self.master_secret = master_secret
        ctx.secret("master_secret", self.client_random, master_secret)

    def _protection(self, ctx: Context, sender: str) -> Any:
        kb = prf12.key_block(self.suite, self.master_secret, self.client_random, self.server_random)
        if sender == "client":
            key, iv, mac = kb.client_key, kb.client_iv, kb.client_mac_key
        else:
            key, iv, mac = kb.server_key, kb.server_iv, kb.server_mac_key
        return protection12(
            self.suite,
            key,
            iv,
            mac,
            f"{sender} write (TLS 1.2)",
            ctx.randomness,
            encrypt_then_mac=self.encrypt_then_mac or self.suite.aead,
        )

    def install_write(self, ctx: Context) -> None:
        """Send ChangeCipherSpec, then protect everything we send (RFC 5246, Section 7.1)."""
        ctx.send_change_cipher_spec()
        ctx.install_write_protection(self._protection(ctx, ctx.side))  # type: ignore[attr-defined]

    def install_read(self, ctx: Context) -> None:
        peer = "server" if ctx.side == "client" else "client"
        ctx.install_read_protection(self._protection(ctx, peer))  # type: ignore[attr-defined]

    def finished(self, sender: str) -> bytes:
        return prf12.finished_verify_data(self.suite.prf_hash, self.master_secret, sender, self.transcript.digest())

    def check_finished(self, ctx: Context, sender: str, verify_data: bytes) -> FinishedVerified:
        if len(verify_data) != VERIFY_DATA_LEN:
            raise DecodeError(f"{sender} Finished has {len(verify_data)} bytes of verify_data, not 12")
        expected = self.finished(sender)
        return traced_check(
            ctx,
            f"{sender} Finished",
            "verify_data matches the transcript and master secret",
            lambda: verify_finished(sender, expected, verify_data),
        )

    def parameters(self) -> NegotiatedParameters:
        return NegotiatedParameters(
            version="TLSv1.2",
            cipher_suite=self.suite.name,
            group=self.group.name if self.group is not None else None,
            signature_scheme=self.signature_scheme.name if self.signature_scheme is not None else None,
            alpn=self.alpn,
            server_name=self.server_name,
            peer_certificates=self.peer_chain,
            resumed=self.resumed,
            client_auth=self.client_auth,
            extended_master_secret=self.extended_master_secret,
        )

    def session_state(self, ctx: Context, ticket: bytes | None = None, lifetime: int = 7200) -> SessionState:
        return SessionState(
            version=ProtocolVersion.TLSv1_2,
            cipher_suite=self.suite.suite,
            master_secret=self.master_secret,
            extended_master_secret=self.extended_master_secret,
            server_name=self.server_name,
            alpn=self.alpn,
            created=ctx.now(),
            lifetime=lifetime,
            session_id=self.session_id,
            ticket=ticket,
        )


def refuse_renegotiation_info(data: bytes) -> None:
    """RFC 5746, Section 3.4/3.6: on an initial handshake the field is empty."""
    if data:
        raise AlertError(AlertDescription.handshake_failure, "renegotiation_info is not empty on an initial handshake")
