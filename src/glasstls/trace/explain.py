"""Plain-words explanations of each step, the way the seed articles teach the handshake.

``Explainer.explain(event, ctx)`` returns the paragraphs that say what the
event is for: the client random, the server random and the pre-master secret
and how the three make the keys (TLS 1.2 with RSA, ECDHE or DHE key
exchange); why the server signs its key exchange; what Finished proves and why
that defeats a downgrade; why TLS 1.3 needs one round trip; what a
HelloRetryRequest, a session ID and a ticket are for; and, on failure, the
reason glasstls found in the words of the person who has to fix it.

The text renderer prints them indented under the event (``TextTrace(...,
explain=True)``, ``--explain`` on the command line). ``ctx`` is the
:class:`~glasstls.trace.describe.Context` of the side, already updated with
the event. An Explainer keeps a little state (which things it has already
explained), so use one per side and per connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any, TypeAlias

from ..enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    is_grease,
)
from ..observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    RecordTrace,
    SecretTrace,
    TraceEvent,
    VerificationTrace,
)
from ..text import exception_text
from ..wire import handshake as H
from ..wire import handshake12 as H12
from . import describe as D
from .dn import authorities_text
from .explain_phrases import (
    ALERT_MEANINGS,
    NO_SECURE_RENEGOTIATION,
    RENEGOTIATING_CLIENT_HELLO,
    SECURE_RENEGOTIATION,
    early_data_decision,
    grease_words,
    hello_request_words,
    parts_in_words,
    psk_offer,
    psk_refused,
    reused_shares,
    versions_spoken,
    warning_words,
)
from .explain_revocation import REVOCATION_SUBJECTS, revocation_words
from .explain_secrets import secret_words


def _peer(side: str) -> str:
    return "server" if side == "client" else "client"


def _sender(event: MessageTrace | RecordTrace | AlertTrace) -> str:
    return event.side if event.direction == "out" else _peer(event.side)


def friendly_reason(reason: str) -> str:
    """glasstls's reason, made to read as a sentence about the server's certificate."""
    m = re.match(r"certificate is for (.+), not (\S+)(.*)$", reason)
    if m:
        return f"the server's certificate names {m.group(1)}, not {m.group(2)}{m.group(3)}"
    return reason


def _capitalised(paragraph: str) -> str:
    first = paragraph.split(" ", 1)[0]
    return paragraph if "_" in first else paragraph[:1].upper() + paragraph[1:]


class Explainer:
    """Explanations for one side's events (see module doc)."""

    def __init__(self) -> None:
        self.step = 0
        self._said: set[Hashable] = set()
        self._epochs: dict[str, str] = {}  # "read" / "write": the side's current key epoch

    def _once(self, key: Hashable) -> bool:
        if key in self._said:
            return False
        self._said.add(key)
        return True

    def explain(self, event: TraceEvent, ctx: D.Context) -> list[str]:
        try:
            return [_capitalised(p) for p in self._explain(event, ctx)]
        except Exception as exc:  # an explanation never ends the trace it belongs to
            return [f"(glasstls cannot explain this step: {exception_text(exc)})"]

    def _explain(self, event: TraceEvent, ctx: D.Context) -> list[str]:
        if isinstance(event, MessageTrace):
            self.step += 1
            return self._message(event, ctx)
        if isinstance(event, RecordTrace):
            return self._record(event, ctx)
        if isinstance(event, AlertTrace):
            return self._alert(event, ctx)
        if isinstance(event, VerificationTrace):
            return self._verification(event, ctx)
        if isinstance(event, KeysTrace):
            return self._keys(event, ctx)
        if isinstance(event, SecretTrace):
            return self._secret(event, ctx)
        return []

    # -- messages ------------------------------------------------------------------------------
    def _message(self, event: MessageTrace, ctx: D.Context) -> list[str]:
        msg, sender = event.message, _sender(event)
        head = f"Step {self.step}, {D.message_name(msg)} ({sender} to {_peer(sender)}): "
        for kind, method in _MESSAGE_EXPLAINERS:
            if isinstance(msg, kind):
                paragraphs = method(self, msg, ctx, sender)
                if paragraphs:
                    paragraphs[0] = head + paragraphs[0]
                return paragraphs
        return []

    def _hello_request(self, msg: H12.HelloRequest, ctx: D.Context, sender: str) -> list[str]:
        return [hello_request_words(ctx.handshake_done)]

    def _client_hello(self, msg: H.ClientHello, ctx: D.Context, sender: str) -> list[str]:
        out = []
        if ctx.handshake_done:  # on an established connection, under its keys: RFC 5246, Section 7.4.1.2
            return [RENEGOTIATING_CLIENT_HELLO]
        if ctx.hello_retry:
            return self._second_client_hello(msg, ctx)
        versions = versions_spoken(msg)
        suites = [s for s in msg.cipher_suites if not is_grease(s)]
        out.append(
            f"the client opens the handshake, in the clear. It lists the versions it speaks ({versions}) and "
            f"the {D.plural(len(suites), 'cipher suite')} it accepts, best first, and sends 32 fresh "
            f"random bytes, the client random ({msg.random[:8].hex()}…; 'random A' in many handshake tutorials). "
            "The client random goes into every key of the connection, so no two handshakes make the same keys "
            "and a recorded handshake cannot be replayed."
        )
        shares = msg.ext(ExtensionType.key_share)
        if shares is not None and shares.value:
            out.append(
                f"It already sends key shares ({D.extension_value(shares)}): its half of an ephemeral "
                "Diffie-Hellman exchange, a guess at the group the server will choose. That guess is why TLS 1.3 "
                "needs one round trip: if it is right, the server answers with its own half at once, both sides "
                "compute the shared secret, and everything after the ServerHello is encrypted."
            )
            for group, parts in D.hybrid_shares(shares.value)[:1]:
                out.append(self._hybrid_offer(group, parts))
            out += reused_shares(shares.value)
        sni = msg.ext(ExtensionType.server_name)
        if sni is not None:
            out.append(
                f"The server_name extension (SNI, here {D.extension_value(sni)}) tells the server which host the "
                "client wants, so it can choose the certificate for it; it travels in the clear."
            )
        compression = msg.ext(ExtensionType.compress_certificate)
        if compression is not None:
            out.append(
                f"With compress_certificate ({D.extension_value(compression)}) it offers to take the server's "
                "certificate chain compressed (RFC 8879): chains are often the largest part of the handshake."
            )
        out += grease_words(msg)
        out += self._resumption_offer(msg, ctx, shares)
        return out

    def _second_client_hello(self, msg: H.ClientHello, ctx: D.Context) -> list[str]:
        """The answer to a HelloRetryRequest: what changed, and why (RFC 8446, Section 4.1.4)."""
        out = []
        change = (
            f"with a key share for the group the server asked for ({ctx.retry_group})"
            if ctx.retry_group
            else "with the cookie the server asked it to return"
        )
        out.append(f"the second ClientHello, the answer to the HelloRetryRequest: the same offer {change}.")
        shares = msg.ext(ExtensionType.key_share)
        for group, parts in D.hybrid_shares(shares.value if shares is not None else ())[:1]:
            out.append(self._hybrid_offer(group, parts))
        cookie = msg.ext(ExtensionType.cookie)
        if cookie is not None:
            out.append(
                f"It echoes the server's cookie ({D.extension_value(cookie)}) unchanged (RFC 8446, Section "
                "4.2.2): the server kept nothing about the first ClientHello and reads back from the cookie "
                "what it needs to go on, such as that hello's hash for the transcript."
            )
        if msg.ext(ExtensionType.pre_shared_key) is not None:
            out.append(
                "It offers its pre-shared key again, with a new binder: the binder now covers the first "
                "ClientHello (as its hash), the HelloRetryRequest and this hello (RFC 8446, Section 4.2.11.2)."
            )
        return out

    def _resumption_offer(self, msg: H.ClientHello, ctx: D.Context, shares: Any) -> list[str]:
        """What the hello offers to resume: a PSK (and 0-RTT), a TLS 1.2 ticket or session ID."""
        out: list[str] = []
        psk = msg.ext(ExtensionType.pre_shared_key)
        if psk is not None:
            out.append(psk_offer(msg, psk.value))
            if msg.ext(ExtensionType.early_data) is not None:
                out.append(
                    "With the early_data extension the client says it sends application data right behind this "
                    "ClientHello, before any answer (0-RTT), encrypted under the client_early_traffic_secret, "
                    "which comes from the PSK and this ClientHello. That saves a round trip at two costs (RFC "
                    "8446, Section 8 and Appendix E.5): the data is protected by the PSK alone (no forward "
                    "secrecy), and an attacker who records it can replay it, sending the same flight to the "
                    "server again. So 0-RTT should carry only requests that are safe to repeat. The server says "
                    "in EncryptedExtensions whether it accepts the data; if not, it skips it and the client sends "
                    "it again after the handshake, if it still wants to."
                )
        elif ctx.offered_ticket:
            out.append(
                "It presents a session ticket from an earlier connection: if the server can still decrypt it, "
                "both skip the certificate and the key exchange (resumption, RFC 5077)."
            )
        elif msg.legacy_session_id and shares is None:
            out.append(
                f"It sends a session ID ({msg.legacy_session_id[:8].hex()}…): if the server still has a session "
                "of that ID in its cache, it may resume it; otherwise the server ignores it."
            )
        if psk is None and msg.ext(ExtensionType.early_data) is not None:
            out.append(
                "It carries early_data without a pre_shared_key: 0-RTT data needs a PSK to be encrypted under, "
                "so this offer cannot be honoured (RFC 8446, Section 4.2.10)."
            )
        return out

    def _hybrid_offer(self, group: str, parts: str) -> str:
        if " || " not in parts:  # a share of the wrong length: say what it should have been
            return f"Its {group} share cannot be a real one: the {parts} bytes."
        return (
            f"The {group} share is a hybrid post-quantum key exchange (draft-ietf-tls-ecdhe-mlkem): "
            f"{parts_in_words(parts)}, back to back. {self._why_hybrid()}"
        )

    def _why_hybrid(self) -> str:
        if not self._once("why hybrid"):
            return "Both parts must be broken to recover the secret."
        return (
            "Why: an attacker can record this handshake today and keep it until a quantum computer can solve "
            "the elliptic-curve problem behind X25519 (Shor's algorithm), then compute the key and decrypt "
            "everything ('harvest now, decrypt later'). ML-KEM (FIPS 203) is built to withstand quantum "
            "computers; X25519 stays beside it in case the much younger ML-KEM turns out weaker than hoped. "
            "The secret comes from both, so an attacker has to break both."
        )

    def _hello_retry(self, msg: H.HelloRetryRequest, ctx: D.Context, sender: str) -> list[str]:
        group = D.ext_value(msg, ExtensionType.key_share)
        note = "(A HelloRetryRequest is a ServerHello whose random is the fixed SHA-256 of 'HelloRetryRequest'.)"
        if group is not None:
            out = [
                f"the server supports none of the groups the client sent key shares for, but it does support one "
                f"the client listed in supported_groups ({group.replace('selected group ', '')}). It asks the "
                f"client to try again with a key share for that group. The price is one more round trip. {note}"
            ]
        else:
            out = [
                "the server asks the client to send its ClientHello again. The key shares were fine: it asks "
                f"only so that the client returns the cookie below. The price is one more round trip. {note}"
            ]
        cookie = msg.ext(ExtensionType.cookie)
        if cookie is not None:
            out.append(
                f"It carries a cookie ({D.extension_value(cookie)}) that the client must echo in its second "
                "ClientHello (RFC 8446, Section 4.2.2). With it the server keeps no state between the two hellos: "
                "what it must remember (the hash of the first ClientHello, sealed and authenticated under a key "
                "only the server knows) travels in the cookie and comes back with the client's answer. A server "
                "facing a flood of forged hellos can so forget every client until it answers, and the echo "
                "shows that the client receives what is sent to its address."
            )
        if ctx.early_data == "rejected":
            out.append(
                "A HelloRetryRequest also rejects the 0-RTT data the client sent (RFC 8446, Section 4.2.10): "
                "the server skips it, and the second ClientHello offers no early data."
            )
        return out

    def _server_hello(self, msg: H.ServerHello, ctx: D.Context, sender: str) -> list[str]:
        if D.server_hello_version(msg) == ProtocolVersion.TLSv1_3:
            return self._server_hello13(msg, ctx)
        out = [
            f"the server chooses TLS 1.2 and the cipher suite {msg.cipher_suite} and sends its own 32 random "
            f"bytes, the server random ({msg.random[:8].hex()}…; 'random B' or random_S). Both randoms are public; "
            "together they make sure each side contributes fresh values to the keys, so neither can force the "
            "keys of an earlier connection."
        ]
        if msg.random[-8:] in (H.DOWNGRADE_TLS12, H.DOWNGRADE_TLS11):
            out.append(
                "The server random ends in 'DOWNGRD': this server also speaks TLS 1.3 and marks that the client "
                "offered only an older version. A client that did offer TLS 1.3 and sees this knows that something "
                "in between removed it, and aborts (RFC 8446, Section 4.1.3)."
            )
        renegotiation_info = msg.ext(ExtensionType.renegotiation_info) is not None
        out.append(SECURE_RENEGOTIATION if renegotiation_info else NO_SECURE_RENEGOTIATION)
        if ctx.resumed:
            if ctx.offered_ticket:
                how = (
                    "It echoes the session ID the client sent along with its ticket: that is how a server says it "
                    "could decrypt the ticket and resumes the session inside it (RFC 5077, Section 3.4)."
                )
            else:
                how = "It echoes the session ID the client offered: the server still has that session in its cache."
            out.append(
                f"{how} This abbreviated handshake skips the certificate and the key exchange: the saved master "
                "secret and the two new randoms make fresh keys, and only ChangeCipherSpec and Finished follow."
            )
            return out
        kx = ctx.kx
        if kx == "RSA":
            out.append(
                "RSA key exchange: the client will make the secret itself (the pre-master secret) and send it "
                "encrypted with the public key of the server's certificate."
            )
        elif kx in ("ECDHE", "DHE"):
            out.append(
                f"{kx} key exchange: the two sides will agree on the secret by an ephemeral Diffie-Hellman "
                "exchange; the server's half comes in ServerKeyExchange, signed."
            )
        if msg.legacy_session_id_echo:
            out.append(
                f"The session ID ({msg.legacy_session_id_echo[:8].hex()}…) names this session in the server's "
                "cache: the client can offer it next time to resume without a full handshake."
            )
        if ctx.extended_master_secret:
            out.append(
                "The extended_master_secret extension (RFC 7627): the master secret will be bound to the hash "
                "of the whole handshake, not only to the two randoms, so a man in the middle cannot make two "
                "connections share one master secret."
            )
        return out

    def _server_hello13(self, msg: H.ServerHello, ctx: D.Context) -> list[str]:
        share = D.ext_value(msg, ExtensionType.key_share)
        out = [
            f"the server chooses TLS 1.3 (in the supported_versions extension; legacy_version stays TLS 1.2 so "
            f"that old middleboxes let the handshake through) and the cipher suite {msg.cipher_suite}, and sends "
            f"32 random bytes of its own, the server random ({msg.random[:8].hex()}…)."
        ]
        shares = msg.ext(ExtensionType.key_share)
        pq = D.hybrid_shares(shares.value) if shares is not None else []
        if pq and " || " in pq[0][1]:
            group, parts = pq[0]
            out.append(
                f"It answers with its own {group} share ({parts_in_words(parts)}). ML-KEM is a key "
                "encapsulation mechanism, not Diffie-Hellman: the server made a fresh random secret and "
                "encapsulated it to the client's encapsulation key, and only the client's private key can "
                "decapsulate it; the X25519 halves combine as usual. The shared secret is the two joined, "
                "the ML-KEM shared secret then the X25519 one, 64 bytes (draft-ietf-tls-ecdhe-mlkem, "
                "Section 4.3), and the key schedule (HKDF) turns it and the hash of the two hellos into the "
                "handshake traffic keys: everything after this message is encrypted. One round trip: the "
                f"client spoke once, the server answers with everything. {self._why_hybrid()}"
            )
        elif share is not None:
            out.append(
                f"It answers the client's key share with its own ({share}). Each side now combines its private "
                "key with the other's public share and gets the same (EC)DHE shared secret, which never crosses "
                "the wire. The key schedule (HKDF) turns it and the hash of the two hellos into the handshake "
                "traffic keys: everything after this message is encrypted. One round trip: the client spoke "
                "once, the server answers with everything."
            )
        selected = msg.ext(ExtensionType.pre_shared_key)
        if selected is not None:
            out.append(
                f"It accepts the client's pre-shared key ({D.extension_value(selected)}): this is a resumption "
                "(or an agreed external key). No Certificate or CertificateVerify follows: knowing the PSK, "
                "which only the two of them hold, proves who the server is, and the binder already showed that "
                "the client holds it."
            )
            if share is not None:
                out.append(
                    "psk_dhe_ke: the PSK and a fresh (EC)DHE exchange both go into the key schedule, so this "
                    "connection keeps forward secrecy: whoever steals the ticket key or the PSK later still "
                    "cannot decrypt a recording of it."
                )
            else:
                out.append(
                    "psk_ke: no key share, so the keys come from the PSK alone. Quicker, but without forward "
                    "secrecy: whoever learns the PSK (or the server's ticket key) later can decrypt a recording "
                    "of this connection."
                )
        elif ctx.offered_psk:
            out.append(
                "It does not accept the pre-shared key the client offered (no pre_shared_key in its answer): a "
                "full handshake follows, with the server's certificate."
            )
        return out

    def _encrypted_extensions(self, msg: H.EncryptedExtensions, ctx: D.Context, sender: str) -> list[str]:
        alpn = D.ext_value(msg, ExtensionType.application_layer_protocol_negotiation)
        what = f" (here ALPN {alpn})" if alpn else ""
        out = [
            "the first encrypted message. The server's answers to the client's extensions that are not needed "
            f"to set up the keys{what} travel here, hidden from anyone watching; TLS 1.2 sent them in the clear "
            "in the ServerHello."
        ]
        if msg.ext(ExtensionType.early_data) is not None:
            out.append(
                "Its early_data extension accepts the client's 0-RTT data: the server decrypts and delivers "
                "what the client sent right behind its ClientHello. The client ends it with EndOfEarlyData."
            )
        elif ctx.early_data == "rejected":
            out.append(
                "It has no early_data extension: the server rejects the client's 0-RTT data (not configured "
                "for it, a ticket that does not allow it, or a ClientHello it has seen before: a replay, RFC "
                "8446, Section 8). It skips those records unread; the handshake goes on as a full 1-RTT one, "
                "and the client must send that data again after it if it still wants to."
            )
        return out

    def _certificate(self, msg: H.Certificate | H12.Certificate12, ctx: D.Context, sender: str) -> list[str]:
        ders = D.certificate_ders(msg)
        if sender == "client":
            if not ders:
                return ["the client has no certificate to offer (the server asked for one)."]
            return [
                "the client's certificate chain, because the server asked for one (mutual TLS). The server checks "
                "it against the CAs it trusts for clients; a CertificateVerify will prove the client holds its key."
            ]
        info = D.certificate_info(ders[0]) if ders else {}
        if "error" in info or not ders:
            return ["the server's certificate chain."]
        unreadable = "names that cannot be read (its extensions do not decode)"
        sans = ", ".join(info["sans"]) or (unreadable if "extensions" in info else "no names")
        if ctx.tls13:
            proof = "CertificateVerify, next"
        elif ctx.kx == "RSA":
            proof = "being able to decrypt the pre-master secret, which Finished will show"
        else:
            proof = "the signature on ServerKeyExchange"
        return [
            f"the server's certificate chain ({len(ders)} certificate(s)). The first, {info['subject']}, is signed "
            f"by {info['issuer']} and says that its public key ({info['key']}) belongs to {sans}, from "
            f"{D.day(info['not_before'])} to {D.day(info['not_after'])}. The client checks that the chain leads to "
            "a CA it trusts, that every certificate is valid today, and that the name it asked for is among the "
            "subjectAltNames. The certificate alone proves nothing (anyone can copy it); the proof that the server "
            f"holds its private key is {proof}."
        ]

    def _compressed_certificate(self, msg: H.CompressedCertificate, ctx: D.Context, sender: str) -> list[str]:
        algorithm, saving = D.compressed_certificate_summary(msg, ctx)
        out = [
            f"the {sender}'s Certificate message, compressed with {algorithm} (RFC 8879): {saving}. It takes the "
            f"Certificate's place because the {_peer(sender)} offered compress_certificate. The receiver "
            "inflates it, refuses it unless it comes out exactly uncompressed_length bytes long (and within its "
            "size limit), and then checks the chain inside as any Certificate; the transcript keeps the "
            "compressed message, as sent. Fewer bytes in the first flight mean fewer round trips on a slow start "
            "(and, in QUIC, staying within the 3x amplification limit)."
        ]
        inner = D.inflated_certificate(msg)
        if inner is not None:
            chain = self._certificate(inner, ctx, sender)
            if chain:
                out.append("Inside, " + chain[0])
        return out

    def _end_of_early_data(self, msg: H.EndOfEarlyData, ctx: D.Context, sender: str) -> list[str]:
        return [
            "the client has sent all its 0-RTT data: this is the last message under the early traffic keys "
            "(RFC 8446, Section 4.5). It is sent only when the server accepted early data; from the next message "
            "on (the client's Finished) the client uses its handshake traffic keys."
        ]

    def _certificate_request(
        self, msg: H.CertificateRequest | H12.CertificateRequest12, ctx: D.Context, sender: str
    ) -> list[str]:
        out = [
            "the server asks the client to authenticate with a certificate of its own (mutual TLS), and says "
            "which signature algorithms it accepts."
        ]
        authorities = D.requested_authorities(msg)
        if authorities:
            out.append(
                f"It names the CAs whose certificates it accepts ({authorities_text(authorities)}): the client "
                "answers with a certificate issued under one of them, or none."
            )
        return out

    def _server_key_exchange(self, msg: H12.ServerKeyExchange, ctx: D.Context, sender: str) -> list[str]:
        params = D.server_key_exchange_params(msg, ctx)
        if isinstance(params, H12.ServerECDHParams):
            what = f"ECDHE exchange on {D.enum_name(params.group, NamedGroup)}"
        elif isinstance(params, H12.ServerDHParams):
            what = f"DHE exchange in {D._dh_group_name(params)}"
        else:
            what = "Diffie-Hellman exchange"
        scheme = getattr(params, "algorithm", None)
        signed = f" ({D.enum_name(scheme, SignatureScheme)})" if scheme is not None else ""
        return [
            f"the server's half of the ephemeral {what}: a public value made for this connection only. "
            f"The server signs it, together with the client random and the server random, with the private key "
            f"of its certificate{signed}. Why sign it: a man in the middle could replace the value with his own, "
            "but he cannot sign it with the certificate's key, so the signature proves the key exchange comes "
            "from the certificate's owner; and because both randoms are covered, the signature was made for this "
            "handshake and is not a replay of an old one.",
            "The private half is thrown away after the handshake: that is forward secrecy. Stealing the "
            "server's certificate key later does not decrypt a recording of this connection.",
        ]

    def _server_hello_done(self, msg: H12.ServerHelloDone, ctx: D.Context, sender: str) -> list[str]:
        return ["the server has sent everything it has to say for now; it is the client's turn."]

    def _client_key_exchange(self, msg: H12.ClientKeyExchange, ctx: D.Context, sender: str) -> list[str]:
        ems = ctx.extended_master_secret
        master = (
            'master_secret = PRF(pre_master_secret, "extended master secret", session_hash), the session hash '
            "standing for the whole handshake so far (RFC 7627; without that extension it would be "
            'PRF(pre_master_secret, "master secret", client_random + server_random))'
            if ems
            else 'master_secret = PRF(pre_master_secret, "master secret", client_random + server_random)'
        )
        keys = (
            f'{master}; then key_block = PRF(master_secret, "key expansion", server_random + client_random), cut '
            "into each direction's encryption key and IV (and MAC key for CBC suites). The same three inputs on "
            "both sides give the same keys, and the keys themselves never cross the wire."
        )
        if ctx.kx == "RSA":
            return [
                "the client makes the third value, the 48-byte pre-master secret (the version it offered, then 46 "
                "random bytes; the third random, 'random C', of many handshake tutorials), and encrypts it with the "
                "RSA public key from the "
                "server's certificate. Only the holder of the matching private key can decrypt it.",
                "Now both sides have the three values: the client random, the server random and the pre-master "
                f"secret. {keys}",
                "RSA key exchange has no forward secrecy: whoever obtains the server's private key later can "
                "decrypt a recording of this handshake and everything after it. That is why TLS 1.3 dropped it.",
            ]
        return [
            "the client's half of the ephemeral Diffie-Hellman exchange. Each side combines its own private "
            "value with the other's public value and gets the same shared secret, which never crosses the wire: "
            "that is the pre-master secret.",
            f"With the client random and the server random it makes the keys: {keys}",
        ]

    def _certificate_verify(self, msg: H.CertificateVerify, ctx: D.Context, sender: str) -> list[str]:
        return [
            f"the {sender} signs the hash of the handshake so far ({D.enum_name(msg.algorithm, SignatureScheme)}) "
            "with the private key of "
            "its certificate. That proves it holds the key (a certificate alone proves nothing), and ties the "
            "certificate to this handshake: nobody in between changed the messages."
        ]

    def _finished(self, msg: H.Finished, ctx: D.Context, sender: str) -> list[str]:
        proves = (
            "If it matches, both sides derived the same keys (so the key exchange succeeded, with the party "
            "that authenticated) and saw exactly the same messages. That defeats a downgrade: an attacker who "
            "struck the strong cipher suites or versions out of the ClientHello would change the transcript, "
            "and Finished would not match."
        )
        if ctx.tls13:
            out = [
                f"an HMAC over the hash of every handshake message so far, keyed from the {sender}'s handshake "
                f"traffic secret. The {_peer(sender)} computes the same value. {proves}"
            ]
            if sender == "server":
                out.append(
                    "After its Finished the server already has the application keys; the client checks it, "
                    "sends its own Finished and may send data at once: one round trip from ClientHello to data."
                )
            return out
        out = [
            f'the first message under the new keys: verify_data = PRF(master_secret, "{sender} finished", '
            f"hash of all handshake messages), 12 bytes. The {_peer(sender)} computes the same value. {proves}"
        ]
        if ctx.kx == "RSA" and sender == "server" and not ctx.resumed:
            out.append(
                "With RSA key exchange this is also where the server proves it holds its certificate's private "
                "key: without it, it could not have decrypted the pre-master secret to make these keys."
            )
        return out

    def _new_session_ticket(
        self, msg: H.NewSessionTicket | H12.NewSessionTicket12, ctx: D.Context, sender: str
    ) -> list[str]:
        if isinstance(msg, H12.NewSessionTicket12):
            if not msg.ticket:
                return ["an empty ticket: the server will not issue one after all."]
            return [
                f"the server hands the client a ticket ({D.nbytes(len(msg.ticket))}): the session's state (its "
                "master secret, cipher suite, ...) encrypted under a key only the server knows (RFC 5077). The "
                "server keeps nothing; next time the client presents the ticket in its ClientHello and both skip "
                f"the certificate and the key exchange. Lifetime hint: {msg.lifetime_hint} s."
            ]
        return self._new_session_ticket13(msg)

    def _new_session_ticket13(self, msg: H.NewSessionTicket) -> list[str]:
        if msg.ticket_lifetime == 0:
            return ["a ticket with a lifetime of 0 s: the client must throw it away at once (RFC 8446, 4.6.1)."]
        nonce = msg.ticket_nonce.hex() or "(empty)"
        if not self._once("ticket"):
            return [
                f"another ticket (lifetime {msg.ticket_lifetime} s, ticket_age_add 0x{msg.ticket_age_add:08x}, "
                f"nonce {nonce}): a server sends several so the client can use each once, for one later "
                "connection, and no two resumptions can be linked by their ticket (RFC 8446, Appendix C.4)."
            ]
        out = [
            f"a ticket for resuming later, sent after the handshake under the application keys "
            f"({D.nbytes(len(msg.ticket))}, opaque to the client: the server's own sealed record of the "
            "session, or a key to it). The client keeps it with the PSK it stands for, HKDF-Expand-Label("
            f'resumption_master_secret, "resumption", ticket_nonce, Hash.length), the nonce here {nonce}: '
            "each ticket of a connection has its own nonce, hence its own PSK. Next time the client offers the "
            "ticket as the identity of a pre_shared_key and proves with a binder that it holds that PSK; the "
            "server then skips its certificate.",
            f"ticket_lifetime ({msg.ticket_lifetime} s, at most 7 days) is how long the client may use it. "
            f"ticket_age_add (0x{msg.ticket_age_add:08x}) is a random number the client adds to the ticket's age "
            "when it offers the ticket, so that the age on the wire tells an observer nothing.",
        ]
        early = D.ticket_early_data(msg)
        if early is not None:
            out.append(
                f"The early_data extension (max_early_data_size {early}) allows 0-RTT with this ticket: next "
                "time the client may send up to that much application data right behind its ClientHello, "
                "before the handshake completes, under keys from this ticket's PSK. Such data can be replayed "
                "by an attacker, so the client should send only requests that are safe to repeat."
            )
        return out

    def _key_update(self, msg: H.KeyUpdate, ctx: D.Context, sender: str) -> list[str]:
        return [
            f"the {sender} switches to the next generation of its traffic keys, derived from the current secret, "
            "so that no key protects too much data."
        ]

    # -- records, keys, secrets ------------------------------------------------------------------
    def _record(self, event: RecordTrace, ctx: D.Context) -> list[str]:
        sender = _sender(event)
        if event.content_type == ContentType.change_cipher_spec and event.inner_type is None:
            if not self._once(("ccs", event.direction)):
                return []
            # Before the ServerHello only a TLS 1.3 client sends one: its dummy, ahead of 0-RTT data.
            if ctx.tls13 or (ctx.version is None and ctx.offered_tls13):
                return [
                    f"a dummy ChangeCipherSpec from the {sender} (middlebox compatibility mode, RFC 8446, "
                    "Appendix D.4): it makes TLS 1.3 look like a resumed TLS 1.2 handshake to old middleboxes. "
                    "The receiver drops it; it changes nothing."
                ]
            return [
                f"ChangeCipherSpec: a one-byte record of its own content type in which the {sender} says 'from "
                "my next record on, I encrypt with the keys we just agreed'."
            ]
        early = self._epochs.get("write" if event.direction == "out" else "read", "").startswith("early")
        if event.inner_type == ContentType.application_data and early and self._once(("early data", event.direction)):
            return [
                "0-RTT application data, sent right behind the ClientHello and encrypted with the client's early "
                "traffic keys, before the server has answered: an observer sees only its length, but whoever "
                "records it can send it to the server again (a replay)."
            ]
        if event.inner_type == ContentType.application_data and not early and self._once(("data", event.direction)):
            keys = (
                "the application traffic keys"
                if ctx.tls13
                else "the keys of the key block, which the master secret expanded into (RFC 5246, Section 6.3)"
            )
            return [f"application data, encrypted and authenticated with {keys}: an observer sees only its length."]
        if (
            ctx.tls13
            and event.inner_type == ContentType.handshake
            and self._once(("protected handshake", event.direction))
        ):
            return [
                "an encrypted record: on the wire its type says application_data and its version TLS 1.2, "
                "whatever it carries; the real content type is inside the encryption."
            ]
        return []

    def _keys(self, event: KeysTrace, ctx: D.Context) -> list[str]:
        self._epochs[event.direction] = event.epoch
        if event.epoch.startswith("early"):
            if not self._once((event.direction, "early")):
                return []
            verb = "encrypts what it sends" if event.direction == "write" else "decrypts what it receives"
            return [
                f"from here on the {event.side} {verb} with the early traffic keys (from the "
                "client_early_traffic_secret): the client's 0-RTT data and its EndOfEarlyData."
            ]
        epoch = "handshake" if event.epoch == "handshake" else "application" if "application" in event.epoch else ""
        key = (event.direction, epoch or event.epoch)
        if not self._once(key):
            return []
        verb = "encrypts what it sends" if event.direction == "write" else "decrypts what it receives"
        if ctx.tls13 and epoch == "handshake":
            what = "handshake traffic keys (from the handshake secret)"
        elif ctx.tls13:
            what = "application traffic keys (from the master secret)"
        else:
            what = f"keys from the key block ({event.suite})"
        return [f"from here on the {event.side} {verb} with the {what}."]

    def _secret(self, event: SecretTrace, ctx: D.Context) -> list[str]:
        if not self._once(event.label):
            return []
        return secret_words(event.label, ctx)

    # -- outcomes ------------------------------------------------------------------------------
    def _alert(self, event: AlertTrace, ctx: D.Context) -> list[str]:
        name = D.enum_name(event.description, AlertDescription)
        meaning = ALERT_MEANINGS.get(name, "an alert glasstls has no words for")
        if event.description == AlertDescription.close_notify:
            return [
                f"A close_notify alert: the {_sender(event)} will send nothing more. Ending with an authenticated "
                "alert rather than just closing TCP lets the receiver tell a complete message from one an attacker "
                "cut short (a truncation attack)."
            ]
        if event.description == AlertDescription.user_canceled:  # RFC 8446, Section 6.1: a closure alert
            return [
                f"A user_canceled alert: the {_sender(event)} gives up the handshake for a reason of its own, not "
                "a protocol failure; a close_notify follows."
            ]
        fatal = event.level == AlertLevel.fatal or ctx.tls13
        if not fatal:  # RFC 5246, Section 7.2: the connection goes on unless the receiver ends it
            return [self._warning(event, name, meaning)]
        if event.direction == "out":
            why = f" Why: {friendly_reason(event.reason)}." if event.reason else ""
            return [f"The {event.side} ends the connection with a fatal {name} alert, meaning {meaning}.{why}"]
        return [
            f"The {_peer(event.side)} ended the connection with a fatal {name} alert: {meaning}. An alert carries "
            f"no reason on the wire; the {_peer(event.side)}'s own log says why."
        ]

    @staticmethod
    def _warning(event: AlertTrace, name: str, meaning: str) -> str:
        """A TLS 1.2 warning alert: news, not an ending (RFC 5246, Section 7.2)."""
        why = f" Why: {friendly_reason(event.reason)}." if event.reason and event.direction == "out" else ""
        return warning_words(event.side, _peer(event.side), event.direction == "out", name, meaning) + why

    def _verification(self, event: VerificationTrace, ctx: D.Context) -> list[str]:
        is_revocation = event.subject.startswith(REVOCATION_SUBJECTS)
        revocation = revocation_words(event, self._once) if is_revocation else []
        if is_revocation and (event.ok or event.subject.startswith(("OCSP fetch", "CRL fetch"))):
            return revocation  # a failed fetch is not yet a refusal: the policy decides, on a line of its own
        subject = event.subject.lower()
        if "early data" in subject or "0-rtt" in subject:
            return [early_data_decision(event)]
        if "compressedcertificate" in subject.replace(" ", "") and not event.ok:
            return [
                f"The compressed certificate cannot be used ({event.detail}): it names an algorithm that was not "
                "offered, or does not inflate to exactly its uncompressed_length within the size limit. The "
                "handshake ends (RFC 8879, Section 4)."
            ]
        if event.ok:
            if event.subject == "session ticket":
                # The detail ends with where the key came from: "(memory)", "(redis)" (issue 14).
                return [f"The server could decrypt the ticket ({event.detail}): the session can be resumed."]
            if event.subject == "session ID":
                return [f"The server found the session ({event.detail}): it can be resumed."]
            return []
        if event.subject == "session ticket":
            return [
                f"The ticket cannot be used ({event.detail}): the server falls back to a full handshake. An "
                "invalid ticket never fails the connection (RFC 5077, Section 3.4)."
            ]
        if event.subject in ("session", "session ID"):
            return [f"The saved session cannot be resumed ({event.detail}): a full handshake follows."]
        if event.subject == "PSK":
            return [psk_refused(event.side, event.detail)]
        if "Finished" in event.subject:
            return [
                f"The {event.subject} does not match: the two sides computed different keys or saw different "
                "messages (a wrong key, tampering in transit, or for RSA a pre-master secret that did not decrypt)."
            ]
        whose = "server's" if event.side == "client" else "client's"
        rejects = f"The {event.side} rejects the {whose} credentials ({event.subject}): {friendly_reason(event.detail)}"
        return [*revocation, rejects + "."]


# Each explainer takes the message types of its row (matched with isinstance), hence Any for the
# message here: a Callable over the Handshake base would not accept the narrower methods.
_MessageExplainer: TypeAlias = Callable[[Explainer, Any, D.Context, str], list[str]]
_MESSAGE_EXPLAINERS: tuple[tuple[type[H.Handshake] | tuple[type[H.Handshake], ...], _MessageExplainer], ...] = (
    (H.ClientHello, Explainer._client_hello),
    (H.HelloRetryRequest, Explainer._hello_retry),
    (H.ServerHello, Explainer._server_hello),
    (H.EncryptedExtensions, Explainer._encrypted_extensions),
    ((H.Certificate, H12.Certificate12), Explainer._certificate),
    ((H.CertificateRequest, H12.CertificateRequest12), Explainer._certificate_request),
    (H12.ServerKeyExchange, Explainer._server_key_exchange),
    (H12.ServerHelloDone, Explainer._server_hello_done),
    (H12.ClientKeyExchange, Explainer._client_key_exchange),
    (H.CertificateVerify, Explainer._certificate_verify),
    (H.Finished, Explainer._finished),
    ((H.NewSessionTicket, H12.NewSessionTicket12), Explainer._new_session_ticket),
    (H.KeyUpdate, Explainer._key_update),
    (H.CompressedCertificate, Explainer._compressed_certificate),
    (H.EndOfEarlyData, Explainer._end_of_early_data),
    (H12.HelloRequest, Explainer._hello_request),
)
