"""Phrases the explanation (explain.py) composes: what each alert means, and the TLS 1.3 offers
and decisions that take a paragraph of their own (the PSK offer and its refusal, 0-RTT accepted or
rejected, a hybrid key share's parts and a classical share that is one of them, the GREASE values
of a ClientHello). Plain functions of the trace's values."""

from __future__ import annotations

from ..enums import ExtensionType, NamedGroup, is_grease
from ..observe import VerificationTrace
from ..wire import handshake as H
from ..wire.extensions import KeyShareEntry, OfferedPsks
from . import describe as D
from . import hybrid

# What each alert means, in a sentence (RFC 8446, Section 6.2; RFC 5246, Section 7.2.2).
ALERT_MEANINGS: dict[str, str] = {
    "close_notify": "the sender has finished sending",
    "unexpected_message": "a message arrived that is not allowed at this point of the protocol",
    "bad_record_mac": "a record failed authentication: it was altered, or the two sides' keys differ",
    "decryption_failed": "a record could not be decrypted (an alert of SSL 3.0 to TLS 1.1, which TLS 1.2 retired)",
    "record_overflow": "a record was longer than the protocol allows",
    "decompression_failure": "a record could not be decompressed (TLS compression, which TLS 1.3 removed)",
    "no_certificate": "the sender has no certificate to give (SSL 3.0's answer to a certificate request)",
    "export_restriction": "an export-grade limit was broken (TLS 1.0's alert for the retired export suites)",
    "certificate_unobtainable": "a certificate named by URL could not be fetched (RFC 6066, no longer used)",
    "bad_certificate_hash_value": "a certificate did not match the hash it was named by (RFC 6066, no longer used)",
    "handshake_failure": "the two sides could not agree on security parameters (cipher suite, group, signature)",
    "bad_certificate": "a certificate was rejected: malformed, or not usable for what it was sent for",
    "unsupported_certificate": "a certificate is of a type or usage that cannot be used here",
    "certificate_revoked": "a certificate was revoked by its issuer",
    "certificate_expired": "a certificate has expired or is not yet valid",
    "certificate_unknown": "a certificate could not be accepted, for some other reason",
    "illegal_parameter": "a field of a message had a value that is not allowed",
    "unknown_ca": "a certificate chain does not lead to a CA the receiver trusts",
    "access_denied": "the peer's identity was fine but it is not allowed in",
    "decode_error": "a message could not be parsed",
    "decrypt_error": "a signature or a Finished check failed: the keys or the transcript differ",
    "protocol_version": "the two sides have no protocol version in common",
    "insufficient_security": "the peer's parameters are weaker than the receiver accepts",
    "internal_error": "the sender hit an error of its own, unrelated to the peer",
    "inappropriate_fallback": "the client retried with a lower version although the server supports a higher one",
    "user_canceled": "the sender gave up the handshake for a reason of its own",
    "no_renegotiation": "the sender refuses to renegotiate",
    "missing_extension": "a required extension was not sent",
    "unsupported_extension": "an extension appeared where it was not asked for",
    "unrecognized_name": "the server does not serve the host name asked for in SNI",
    "bad_certificate_status_response": "the stapled OCSP response was invalid",
    "unknown_psk_identity": "the server does not know the pre-shared key offered",
    "certificate_required": "the server requires a client certificate and none was sent",
    "no_application_protocol": "the two sides have no application protocol (ALPN) in common",
}


def early_data_decision(event: VerificationTrace) -> str:
    """Whether 0-RTT data was accepted (RFC 8446, Sections 4.2.10 and 8), in words."""
    if event.detail.startswith("no early data"):
        return f"No 0-RTT this time ({event.detail}): the client waits for the handshake before it sends data."
    if event.detail.startswith("EndOfEarlyData"):
        return f"The 0-RTT data is complete ({event.detail}): what follows from the client is under handshake keys."
    if event.ok:
        return (
            f"The 0-RTT data is accepted ({event.detail}): the server delivers it to the application before the "
            "handshake completes. It came under keys from the PSK alone, so the application should act on it "
            "only if repeating it would do no harm."
        )
    if any(word in event.detail.lower() for word in ("replay", "single use", "seen before", "once already")):
        return (
            f"A replay ({event.detail}): the server has seen this ClientHello, or this single-use ticket, before. "
            "It rejects the 0-RTT data, so an attacker's recorded copy of the first flight is not acted on twice, "
            "but the handshake itself goes on as a full 1-RTT one (RFC 8446, Section 8): the client can send the "
            "data again once it completes."
        )
    return (
        f"The 0-RTT data is rejected ({event.detail}): the server skips those records unread and the handshake "
        "goes on as a full 1-RTT one; the client must send that data again after it if it still wants to."
    )


def parts_in_words(parts: str) -> str:
    """``"mlkem768_ciphertext (1088 bytes) || x25519 (32 bytes)"`` → "a 1088-byte ML-KEM-768 ciphertext and ..."."""
    words = []
    for part in parts.split(" || "):
        name, _, size = part.partition(" (")
        n = size.split(" ")[0]
        words.append(f"a {n}-byte {hybrid.PART_WORDS.get(name, name)}")
    return " followed by ".join(words)


def reused_shares(shares: object) -> list[str]:
    """A sentence for each classical share of a ClientHello whose bytes are the same group's part of
    a hybrid share beside it (an x25519 share equal to the last 32 bytes of X25519MLKEM768's,
    draft-ietf-tls-ecdhe-mlkem, Section 4.1): one key offered twice, as glasstls, rustls and Go
    send a default hello. Nothing for shares in any other form."""
    entries = [e for e in shares if isinstance(e, KeyShareEntry)] if isinstance(shares, tuple) else []
    classical = {D.enum_name(e.group, NamedGroup): bytes(e.key_exchange) for e in entries}
    out = []
    for entry in entries:
        cut = hybrid.split(entry.group, entry.key_exchange, "client")
        for part, start, end in cut if isinstance(cut, list) else ():
            if classical.get(part) == bytes(entry.key_exchange[start:end]):
                out.append(
                    f"Its {part} share is no second key: it is the {part} part of the "
                    f"{D.enum_name(entry.group, NamedGroup)} share, the same {end - start} bytes. A client may "
                    "offer one component's key in several key shares (draft-ietf-tls-hybrid-design): the "
                    "server picks one group, so the key still serves one exchange, and the client makes one key "
                    "instead of two."
                )
    return out


def psk_offer(msg: H.ClientHello, offered: object) -> str:
    """The pre_shared_key of a ClientHello (RFC 8446, Sections 4.2.9 and 4.2.11), in words."""
    modes = D.psk_modes(msg)
    if not isinstance(offered, OfferedPsks) or not offered.identities:
        return "It offers a pre-shared key (pre_shared_key), in a form glasstls cannot read."
    first = offered.identities[0]
    count = D.plural(len(offered.identities), "identity")
    binder = D.nbytes(len(offered.binders[0])) if offered.binders else "no"
    mode_words = (
        f"psk_key_exchange_modes ({modes}) says how the PSK may be used: psk_dhe_ke adds a fresh (EC)DHE "
        "exchange, so the connection keeps forward secrecy; psk_ke uses the PSK alone."
        if modes
        else "It sends no psk_key_exchange_modes, which a PSK offer must have (RFC 8446, Section 4.2.9)."
    )
    return (
        f"It offers a pre-shared key (pre_shared_key, always the last extension): {count}, the first "
        f"{D.nbytes(len(first.identity))} long with obfuscated_ticket_age 0x{first.obfuscated_ticket_age:08x}. "
        "For a ticket from an earlier connection the identity is the ticket itself, opaque to the client, and "
        "the obfuscated age is how old the ticket is, in milliseconds, plus the ticket_age_add that came with "
        "it (mod 2^32): the server subtracts it again to check the ticket is fresh, while an observer sees a "
        "random number and cannot link this connection to the one that issued the ticket. An external PSK's "
        f"age is 0. Each identity has a binder (here {binder}): an HMAC keyed from that PSK over this "
        "ClientHello up to the binders. It proves the client holds the key and binds the offer to this very "
        f"ClientHello, so a copied ticket is of no use in another one. {mode_words} If the server accepts the "
        "PSK, the handshake resumes without the certificate."
    )


def psk_refused(side: str, detail: str) -> str:
    """A TLS 1.3 PSK not used (RFC 8446, Section 4.2.11): why, and what follows."""
    if "binder" in detail:
        return (
            "The PSK binder does not match: whoever sent this ClientHello does not hold the key behind the "
            "identity it names, or the hello was changed on the way. The server must end the handshake "
            "(decrypt_error, RFC 8446, Section 4.2.11)."
        )
    if side == "client":
        return f"No resumption this time ({detail}): the certificate is checked again, as in a first handshake."
    return (
        f"The server cannot use the offered PSK ({detail}): it falls back to a full handshake with its "
        "certificate. An unusable ticket never fails the connection (RFC 8446, Section 4.2.11)."
    )


# -- renegotiation, warnings and the pre-master secret (TLS 1.2) ---------------------------------

RENEGOTIATING_CLIENT_HELLO = (
    "the client asks to renegotiate: a new handshake on the established connection, sent under its keys. "
    "glasstls never renegotiates (renegotiation let attackers splice sessions, RFC 5746, and TLS 1.3 removed "
    "it): the server declines with a no_renegotiation warning and the connection goes on, unless the client "
    "ends it."
)


# A TLS 1.2 ServerHello with or without renegotiation_info (RFC 5746, Sections 1 and 3.4).
SECURE_RENEGOTIATION = (
    "Its renegotiation_info extension (RFC 5746) says it supports secure renegotiation: any later "
    "handshake on this connection would be bound to this one's Finished messages, so no one can pass "
    "our handshake off to the server as the renegotiation of a connection of their own."
)
NO_SECURE_RENEGOTIATION = (
    "It sends no renegotiation_info: it does not support secure renegotiation (RFC 5746), so it cannot "
    "tell this handshake from the renegotiation of someone else's connection, and a man in the middle could "
    "put his own request in front of ours. glasstls refuses such a server unless the legacy profile "
    "(legacy_server_connect) lets it through, as here."
)


def hello_request_words(handshake_done: bool) -> str:
    """A TLS 1.2 server's HelloRequest (RFC 5246, Section 7.4.1.1)."""
    if not handshake_done:  # ignored while negotiating
        return "the server asks for a new handshake while one is under way: the client ignores it."
    return (
        "the server asks the client to renegotiate (TLS 1.2; RFC 5246, Section 7.4.1.1): to start a new "
        "handshake on this connection, often to ask for a client certificate late. glasstls never renegotiates: "
        "the client declines with a no_renegotiation warning, and the connection goes on unless the server ends it."
    )


def warning_words(side: str, peer: str, sent: bool, name: str, meaning: str) -> str:
    """A TLS 1.2 warning alert, sent by ``side`` (``sent``) or received from ``peer``: news, not an
    ending (RFC 5246, Section 7.2)."""
    if sent:
        return (
            f"The {side} sends a warning {name} alert, meaning {meaning}. A warning does not end a TLS 1.2 "
            f"connection: the {peer} may go on, or end it if it cannot."
        )
    return (
        f"The {peer} sent a warning {name} alert: {meaning}. A warning does not end a TLS 1.2 connection; "
        f"the {side} goes on."
    )


def pre_master_words(rsa: bool) -> str:
    """The TLS 1.2 pre-master secret, by key exchange (RFC 5246, Sections 7.4.7 and 8.1)."""
    how = (
        "the 48 bytes the client made and the server decrypted with its private key"
        if rsa
        else "the (EC)DHE shared secret both sides computed, each from its own private half and the other's "
        "public one; it never crossed the network"
    )
    return (
        f"The pre-master secret: {how}. It is the one value only the two sides know; with the client and server "
        "randoms it makes the master secret (RFC 5246, Section 8.1; RFC 7627 hashes the whole handshake in place "
        "of the randoms when extended_master_secret was agreed)."
    )


def versions_spoken(msg: H.ClientHello) -> str:
    """The versions a ClientHello offers, GREASE left out (grease_words says it is there)."""
    offered = msg.ext(ExtensionType.supported_versions)
    values = offered.value if offered is not None else None
    if not isinstance(values, tuple) or not values:  # (a value built by hand may be anything: said as it is)
        return D.ext_value(msg, ExtensionType.supported_versions) or D.version_label(msg.legacy_version)
    return ", ".join(D.version_label(v) for v in values if not is_grease(v))


def grease_words(msg: H.ClientHello) -> list[str]:
    """Where a ClientHello carries GREASE values (RFC 8701), said once: the lists above leave them out."""
    suites = msg.cipher_suites if isinstance(msg.cipher_suites, tuple) else ()
    found = ["cipher suites"] if any(is_grease(s) for s in suites) else []
    for ext_type, what in (
        (ExtensionType.supported_versions, "versions"),
        (ExtensionType.supported_groups, "groups"),
        (ExtensionType.key_share, "key shares"),
        (ExtensionType.signature_algorithms, "signature algorithms"),
    ):
        ext = msg.ext(ext_type)
        values = ext.value if ext is not None and isinstance(ext.value, tuple) else ()
        if any(is_grease(getattr(v, "group", v)) for v in values):
            found.append(what)
    if any(is_grease(getattr(e, "type", None)) for e in msg.extensions):
        found.append("extensions")
    if not found:
        return []
    return [
        f"Some of its {', '.join(found)} are GREASE values (RFC 8701): reserved numbers that mean nothing, "
        "sent so that a server which chokes on values it does not know is found out now rather than when "
        "real new ones arrive. The server ignores them, as glasstls does, and so does this account."
    ]

