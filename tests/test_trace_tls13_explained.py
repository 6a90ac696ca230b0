"""TLS 1.3's newer steps, seen and explained by the renderers (issue 10, item 8).

For each of them, keyed off the messages and extensions present (so it works
for traces of glasstls's own handshakes as those features land, and for pcap
dissections of other stacks, whose messages are the same wire objects), from
messages built with the wire classes and parsed back from their bytes:

* ``--explain`` (trace/explain.py): the hybrid post-quantum exchange (and what
  it protects against), a HelloRetryRequest with a cookie and the second
  ClientHello that echoes it, NewSessionTicket (lifetime, age_add, nonce,
  max_early_data_size), the PSK offer and the ServerHello that accepts it (or
  not), 0-RTT offered, accepted and rejected, EndOfEarlyData,
  CompressedCertificate, the early secrets and an early-data decision;
* the sequence diagram (trace/diagram.py): the details under the arrows and the
  notes for PSK resumption, 0-RTT, a cookie HelloRetryRequest;
* the illustrated page (trace/illustrate*.py): the summary rows and the
  glossary of the new fields.

And on real traces: a TLS 1.3 resumption between two glasstls peers (tickets,
PSK offer and acceptance) explained, drawn and illustrated.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.crypto import certcompress, kx
from glasstls.enums import CertificateCompressionAlgorithm as CCA
from glasstls.enums import CipherSuite, ContentType, NamedGroup, ProtocolVersion, PskKeyExchangeMode
from glasstls.enums import ExtensionType as E
from glasstls.observe import EventList, KeysTrace, MessageTrace, RecordTrace, SecretTrace, TraceEvent, VerificationTrace
from glasstls.trace import describe as D
from glasstls.trace.diagram import SequenceDiagram
from glasstls.trace.explain import Explainer
from glasstls.trace.illustrate import Illustration
from glasstls.trace.illustrate_assets import explain as field_why
from glasstls.trace.text import render_text
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension, KeyShareEntry, OfferedPsks, PskIdentity
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

V13 = ProtocolVersion.TLSv1_3
AES128 = CipherSuite.TLS_AES_128_GCM_SHA256
HAVE_HYBRID = NamedGroup.X25519MLKEM768 in kx.SUPPORTED_GROUPS
needs_hybrid = pytest.mark.skipif(not HAVE_HYBRID, reason="this cryptography build has no ML-KEM")


# -- messages, as a peer would send them (encoded, then parsed back like received ones) -------------------


def parsed(msg: H.Handshake) -> Any:
    return H.decode_message(msg.encode())


def hybrid_share() -> Any:
    return kx.generate_key_share(NamedGroup.X25519MLKEM768, os.urandom)


def x25519_entry() -> KeyShareEntry:
    share = kx.generate_key_share(NamedGroup.x25519, os.urandom)
    return KeyShareEntry(share.group, share.public_bytes())


PSK = OfferedPsks((PskIdentity(b"T" * 180, 0x1234ABCD),), (b"B" * 32,))


def client_hello(
    shares: tuple[KeyShareEntry, ...] | None = None,
    psk: OfferedPsks | None = None,
    modes: tuple[PskKeyExchangeMode, ...] = (PskKeyExchangeMode.psk_dhe_ke,),
    early_data: bool = False,
    cookie: bytes | None = None,
    compression: tuple[CCA, ...] = (),
) -> Any:
    exts = [
        Extension.make(E.supported_versions, (V13,), X.CH),
        Extension.make(E.server_name, "example.com", X.CH),
        Extension.make(E.key_share, shares if shares is not None else (x25519_entry(),), X.CH),
    ]
    if compression:
        exts.append(Extension.make(E.compress_certificate, compression, X.CH))
    if cookie is not None:
        exts.append(Extension.make(E.cookie, cookie, X.CH))
    if early_data:
        exts.append(Extension.make(E.early_data, True, X.CH))
    if psk is not None:
        exts.append(Extension.make(E.psk_key_exchange_modes, modes, X.CH))
        exts.append(Extension.make(E.pre_shared_key, psk, X.CH))  # last (RFC 8446, Section 4.2.11)
    return parsed(H.ClientHello(random=os.urandom(32), cipher_suites=(AES128,), extensions=tuple(exts)))


def server_hello(share: KeyShareEntry | None = None, psk_index: int | None = None) -> Any:
    exts = [Extension.make(E.supported_versions, V13, X.SH)]
    if share is not None:
        exts.append(Extension.make(E.key_share, share, X.SH))
    if psk_index is not None:
        exts.append(Extension.make(E.pre_shared_key, psk_index, X.SH))
    return parsed(H.ServerHello(random=os.urandom(32), cipher_suite=AES128, extensions=tuple(exts)))


def hello_retry(group: NamedGroup | None = None, cookie: bytes | None = None) -> Any:
    exts = [Extension.make(E.supported_versions, V13, X.HRR)]
    if group is not None:
        exts.append(Extension.make(E.key_share, group, X.HRR))
    if cookie is not None:
        exts.append(Extension.make(E.cookie, cookie, X.HRR))
    return parsed(H.HelloRetryRequest(cipher_suite=AES128, extensions=tuple(exts)))


def encrypted_extensions(early_data: bool = False) -> Any:
    exts = (Extension.make(E.early_data, True, X.EE),) if early_data else ()
    return parsed(H.EncryptedExtensions(exts))


def ticket(nonce: int = 0, max_early_data: int | None = None, lifetime: int = 7200, age_add: int = 0xDEADBEEF) -> Any:
    exts = (Extension.make(E.early_data, max_early_data, X.NST),) if max_early_data is not None else ()
    return parsed(H.NewSessionTicket(lifetime, age_add, nonce.to_bytes(8, "big"), b"t" * 200, exts))


def certificate() -> H.Certificate:
    identity = server_identity("localhost")
    from cryptography.hazmat.primitives.serialization import Encoding

    entries = tuple(H.CertificateEntry(c.public_bytes(Encoding.DER)) for c in identity.chain)
    return H.Certificate(b"", entries)


def compressed(algorithm: CCA = CCA.zlib) -> Any:
    return parsed(certcompress.compress_certificate(certificate(), algorithm))


def server_hybrid_entry(client: Any) -> KeyShareEntry:
    share, _ = kx.encapsulate_to(NamedGroup.X25519MLKEM768, client.public_bytes(), os.urandom)
    return KeyShareEntry(NamedGroup.X25519MLKEM768, share)


# -- rendering ----------------------------------------------------------------------------------------


def flow(side: str, *steps: tuple[str, Any]) -> list[TraceEvent]:
    """MessageTraces of ``side``: each step is (who sent it, message) or an event as it is."""
    out: list[TraceEvent] = []
    for who, msg in steps:
        if isinstance(msg, TraceEvent):
            out.append(msg)
        else:
            out.append(MessageTrace(side, "out" if who == side else "in", msg))
    return out


def explained(events: list[TraceEvent]) -> str:
    """The --explain text, one line per event or paragraph (no wrapping)."""
    text = render_text(events, explain=True, width=100_000)
    return "\n".join(line.strip().removeprefix("| ") for line in text.splitlines())


def paragraphs_of(events: list[TraceEvent], index: int) -> list[str]:
    """The explanation of the ``index``-th event alone (the Explainer's state built by those before)."""
    ctx, explainer = D.Context(events[0].side), Explainer()
    out: list[str] = []
    for i, event in enumerate(events[: index + 1]):
        ctx.update(event)
        said = explainer.explain(event, ctx)
        if i == index:
            out = said
    return out


# -- hybrid post-quantum -----------------------------------------------------------------------------


@needs_hybrid
@pytest.mark.parametrize("side", ["client", "server"])
def test_explain_hybrid_key_exchange(side: str) -> None:
    client = hybrid_share()
    ch = client_hello((KeyShareEntry(client.group, client.public_bytes()), x25519_entry()))
    sh = server_hello(server_hybrid_entry(client))
    text = explained(flow(side, ("client", ch), ("server", sh)))
    assert "The X25519MLKEM768 share is a hybrid post-quantum key exchange" in text
    assert "a 1184-byte ML-KEM-768 encapsulation key followed by a 32-byte X25519 share" in text
    assert "harvest now, decrypt later" in text and "quantum computer" in text
    assert "an attacker has to break both" in text
    assert (
        "It answers with its own X25519MLKEM768 share (a 1088-byte ML-KEM-768 ciphertext followed by a 32-byte" in text
    )
    assert "the ML-KEM shared secret then the X25519 one, 64 bytes" in text
    assert "key encapsulation mechanism, not Diffie-Hellman" in text
    assert text.count("harvest now, decrypt later") == 1  # said once per side
    # The one-liners split the shares too.
    assert "X25519MLKEM768 share = mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)" in text
    assert "X25519MLKEM768 share = mlkem768_ciphertext (1088 bytes) || x25519 (32 bytes)" in text


@needs_hybrid
def test_explain_hybrid_after_a_hello_retry_and_a_broken_share() -> None:
    client = hybrid_share()
    ch1 = client_hello()
    hrr = hello_retry(NamedGroup.X25519MLKEM768)
    ch2 = client_hello((KeyShareEntry(client.group, client.public_bytes()),))
    text = explained(flow("client", ("client", ch1), ("server", hrr), ("client", ch2)))
    assert "the same offer with a key share for the group the server asked for (X25519MLKEM768)" in text
    assert "harvest now, decrypt later" in text
    broken = client_hello((KeyShareEntry(NamedGroup.X25519MLKEM768, b"\x01" * 100),))
    text = explained(flow("server", ("client", broken)))
    assert "Its X25519MLKEM768 share cannot be a real one: the X25519MLKEM768 client share is 1216 bytes" in text


# -- HelloRetryRequest with a cookie ------------------------------------------------------------------


def test_explain_cookie_hello_retry_request() -> None:
    ch1 = client_hello()
    hrr = hello_retry(cookie=b"C" * 120)
    ch2 = client_hello(cookie=b"C" * 120)
    events = flow("server", ("client", ch1), ("server", hrr), ("client", ch2))
    text = explained(events)
    assert "server > HelloRetryRequest (2): TLS_AES_128_GCM_SHA256; cookie 120 bytes (to echo)" in text
    hrr_words = " ".join(paragraphs_of(events, 1))
    assert "The key shares were fine: it asks only so that the client returns the cookie" in hrr_words
    assert "It carries a cookie (120 bytes) that the client must echo in its second ClientHello" in hrr_words
    assert "the server keeps no state between the two hellos" in hrr_words
    assert "RFC 8446, Section 4.2.2" in hrr_words
    second = " ".join(paragraphs_of(events, 2))
    assert second.startswith("Step 3, ClientHello (client to server): the second ClientHello")
    assert "It echoes the server's cookie (120 bytes) unchanged" in second
    assert "key share needed" not in text


def test_explain_hello_retry_with_group_and_cookie() -> None:
    events = flow(
        "client",
        ("client", client_hello()),
        ("server", hello_retry(NamedGroup.secp256r1, b"K" * 64)),
        ("client", client_hello(cookie=b"K" * 64)),
    )
    words = " ".join(paragraphs_of(events, 1))
    assert "It asks the client to try again with a key share for that group" in words
    assert "It carries a cookie (64 bytes)" in words
    assert "the same offer with a key share for the group the server asked for (secp256r1)" in explained(events)


# -- tickets -----------------------------------------------------------------------------------------------


def test_explain_new_session_tickets() -> None:
    events = flow(
        "client",
        ("client", client_hello()),
        ("server", server_hello(x25519_entry())),
        ("server", ticket(0, max_early_data=16384)),
        ("server", ticket(1, age_add=0x01020304)),
        ("server", ticket(2, lifetime=0)),
    )
    first = " ".join(paragraphs_of(events, 2))
    assert "a ticket for resuming later, sent after the handshake under the application keys (200 bytes" in first
    assert 'HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)' in first
    assert "the nonce here 0000000000000000" in first
    assert "ticket_lifetime (7200 s, at most 7 days)" in first
    assert "ticket_age_add (0xdeadbeef) is a random number the client adds to the ticket's age" in first
    assert "The early_data extension (max_early_data_size 16384 bytes) allows 0-RTT with this ticket" in first
    assert "safe to repeat" in first
    second = " ".join(paragraphs_of(events, 3))
    assert "another ticket (lifetime 7200 s, ticket_age_add 0x01020304, nonce 0000000000000001)" in second
    assert "use each once" in second and "0-RTT" not in second
    assert "throw it away" in " ".join(paragraphs_of(events, 4))
    text = explained(events)
    assert (
        "client < NewSessionTicket (4): lifetime 7200 s; ticket 200 bytes; age_add 0xdeadbeef; "
        "nonce 0000000000000000; 0-RTT allowed: max_early_data_size 16384 bytes"
    ) in text


# -- GREASE (RFC 8701), as a browser sends it ------------------------------------------------------------


def greased_client_hello() -> Any:
    """A ClientHello with GREASE where Chromium puts it: a suite, a version, a group with a key share,
    and two extensions (one empty, one with a byte)."""
    grease_share = KeyShareEntry(NamedGroup(0x4A4A), b"\x00")
    exts = [
        Extension(E(0x0A0A), b""),
        Extension.make(E.supported_versions, (ProtocolVersion(0x3A3A), V13, ProtocolVersion.TLSv1_2), X.CH),
        Extension.make(E.supported_groups, (NamedGroup(0x4A4A), NamedGroup.x25519), X.CH),
        Extension.make(E.key_share, (grease_share, x25519_entry()), X.CH),
        Extension(E(0x1A1A), b"\x00"),
    ]
    suites = (CipherSuite(0x2A2A), AES128, CipherSuite.TLS_CHACHA20_POLY1305_SHA256)
    return parsed(H.ClientHello(random=os.urandom(32), cipher_suites=suites, extensions=tuple(exts)))


@pytest.mark.parametrize("side", ["client", "server"])
def test_explain_leaves_grease_out_of_the_offer_and_says_what_it_is(side: str) -> None:
    offer = " ".join(paragraphs_of(flow(side, ("client", greased_client_hello())), 0))
    assert "It lists the versions it speaks (TLSv1.3, TLSv1.2) and the 2 cipher suites it accepts" in offer
    assert "Some of its cipher suites, versions, groups, key shares, extensions are GREASE values (RFC 8701)" in offer
    assert "GREASE_0x3a3a" not in offer.split("Some of its")[0]
    plain = " ".join(paragraphs_of(flow(side, ("client", client_hello())), 0))
    assert "GREASE" not in plain and "the 1 cipher suite it accepts" in plain


# -- the PSK offer and its answer ------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["client", "server"])
def test_explain_psk_offer_and_resumption(side: str) -> None:
    ch = client_hello(psk=PSK)
    events = flow(side, ("client", ch), ("server", server_hello(x25519_entry(), psk_index=0)))
    offer = " ".join(paragraphs_of(events, 0))
    assert "It offers a pre-shared key (pre_shared_key, always the last extension): 1 identity" in offer
    assert "180 bytes long with obfuscated_ticket_age 0x1234abcd" in offer
    assert "plus the ticket_age_add that came with it" in offer
    assert "Each identity has a binder (here 32 bytes): an HMAC keyed from that PSK over this ClientHello" in offer
    assert "psk_key_exchange_modes (psk_dhe_ke)" in offer
    answer = " ".join(paragraphs_of(events, 1))
    assert "It accepts the client's pre-shared key (selected identity 0): this is a resumption" in answer
    assert "No Certificate or CertificateVerify follows" in answer
    assert "psk_dhe_ke: the PSK and a fresh (EC)DHE exchange" in answer and "forward secrecy" in answer
    text = explained(events)
    assert "offers a PSK (1 identity; modes psk_dhe_ke)" in text
    assert "PSK accepted (identity 0, psk_dhe_ke)" in text


def test_explain_psk_ke_and_a_declined_psk() -> None:
    ch = client_hello(psk=PSK, modes=(PskKeyExchangeMode.psk_ke,))
    answer = " ".join(paragraphs_of(flow("client", ("client", ch), ("server", server_hello(psk_index=0))), 1))
    assert "psk_ke: no key share, so the keys come from the PSK alone" in answer
    assert "without forward secrecy" in answer.lower()
    declined = flow("client", ("client", client_hello(psk=PSK)), ("server", server_hello(x25519_entry())))
    assert "full handshake follows, with the server's certificate" in " ".join(paragraphs_of(declined, 1))
    # No PSK offered: nothing said about one.
    plain = flow("client", ("client", client_hello()), ("server", server_hello(x25519_entry())))
    assert "pre-shared key" not in " ".join(paragraphs_of(plain, 1))


# -- 0-RTT ---------------------------------------------------------------------------------------------


def test_explain_early_data_accepted() -> None:
    events = flow(
        "client",
        ("client", client_hello(psk=PSK, early_data=True)),
        ("client", SecretTrace("client", "client_early_traffic_secret", b"r" * 32, None)),
        ("server", server_hello(x25519_entry(), psk_index=0)),
        ("server", encrypted_extensions(early_data=True)),
        ("client", parsed(H.EndOfEarlyData())),
    )
    offer = " ".join(paragraphs_of(events, 0))
    assert "With the early_data extension the client says it sends application data right behind this" in offer
    assert "(0-RTT)" in offer and "replay" in offer and "safe to repeat" in offer
    secret = " ".join(paragraphs_of(events, 1))
    assert 'Derive-Secret(early secret, "c e traffic", ClientHello)' in secret
    assert "CLIENT_EARLY_TRAFFIC_SECRET" in secret
    accepted = " ".join(paragraphs_of(events, 3))
    assert "Its early_data extension accepts the client's 0-RTT data" in accepted
    end = " ".join(paragraphs_of(events, 4))
    assert end.startswith("Step 4, EndOfEarlyData (client to server): the client has sent all its 0-RTT data")
    assert "last message under the early traffic keys" in end
    text = explained(events)
    assert "0-RTT early data follows" in text and "0-RTT early data accepted" in text


def test_explain_early_data_rejected() -> None:
    events = flow(
        "client",
        ("client", client_hello(psk=PSK, early_data=True)),
        ("server", server_hello(x25519_entry(), psk_index=0)),
        ("server", encrypted_extensions()),
    )
    rejected = " ".join(paragraphs_of(events, 2))
    assert "the server rejects the client's 0-RTT data" in rejected and "replay" in rejected
    assert "send that data again" in rejected
    # A HelloRetryRequest rejects it too (RFC 8446, Section 4.2.10).
    retried = flow("client", ("client", client_hello(psk=PSK, early_data=True)), ("server", hello_retry(cookie=b"c")))
    assert "A HelloRetryRequest also rejects the 0-RTT data" in " ".join(paragraphs_of(retried, 1))
    # Without any 0-RTT attempt, EncryptedExtensions says nothing about it.
    plain = flow("client", ("client", client_hello()), ("server", encrypted_extensions()))
    assert "0-RTT" not in " ".join(paragraphs_of(plain, 1))


@pytest.mark.parametrize(
    ("ok", "detail", "words"),
    [
        (True, "0-RTT accepted: 5 bytes", "The 0-RTT data is accepted"),
        (False, "replayed ClientHello", "A replay (replayed ClientHello)"),
        (False, "the ticket allows no early data", "The 0-RTT data is rejected"),
        (False, "0-RTT rejected: replayed ClientHello: its binder was seen before", "A replay (0-RTT rejected"),
        (False, "no early data: the ticket allows 0 bytes", "No 0-RTT this time"),
        (False, "0-RTT rejected: the ticket's early data was accepted once already (single use)", "A replay"),
        (True, "EndOfEarlyData after 5 bytes of early data", "The 0-RTT data is complete"),
    ],
)
def test_explain_early_data_decisions(ok: bool, detail: str, words: str) -> None:
    for subject in ("0-RTT", "early data"):
        said = " ".join(paragraphs_of([VerificationTrace("server", subject, ok, detail)], 0))
        assert said.startswith(words), said
        if not ok and not detail.startswith("no early data"):
            assert "1-RTT" in said


def test_explain_early_secrets() -> None:
    for label, words in (
        ("client_early_traffic_secret", "0-RTT data"),
        ("early_exporter_master_secret", "EARLY_EXPORTER_SECRET"),
        ("early_secret", "HKDF-Extract over the pre-shared key"),
        ("binder_key", "binders"),
    ):
        said = paragraphs_of([SecretTrace("client", label, b"r" * 32, None)], 0)
        assert said and words in said[0], label


# -- certificate compression ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", certcompress.SUPPORTED)
def test_explain_compressed_certificate(algorithm: CCA) -> None:
    msg = compressed(algorithm)
    events = flow(
        "client",
        ("client", client_hello(compression=(algorithm,))),
        ("server", server_hello(x25519_entry())),
        ("server", msg),
    )
    offer = " ".join(paragraphs_of(events, 0))
    assert f"With compress_certificate ({algorithm.name}) it offers to take the server's certificate chain" in offer
    said = " ".join(paragraphs_of(events, 2))
    size, length = len(msg.compressed_certificate_message), msg.uncompressed_length
    assert said.startswith(
        f"Step 3, CompressedCertificate (server to client): the server's Certificate message, compressed with "
        f"{algorithm.name} (RFC 8879): {length} bytes compressed to {size} bytes"
    )
    assert "uncompressed_length" in said and "the transcript keeps the compressed message" in said
    assert "Inside, the server's certificate chain (2 certificate(s)). The first, CN=localhost" in said
    # The context learns the certificate's names from inside, as from a Certificate.
    ctx = D.Context("client")
    for event in events:
        ctx.update(event)
    assert "localhost" in ctx.certificate_names


def test_a_compressed_certificate_that_does_not_inflate() -> None:
    msg = parsed(H.CompressedCertificate(CCA.zlib, 5000, b"\x00not zlib at all"))
    said = " ".join(paragraphs_of(flow("client", ("server", msg)), 0))
    assert "compressed with zlib" in said and "Inside" not in said
    assert D.inflated_certificate(msg) is None
    failed = VerificationTrace("client", "server CompressedCertificate", False, "zlib data does not decompress")
    assert "The compressed certificate cannot be used (zlib data does not decompress)" in paragraphs_of([failed], 0)[0]


# -- the sequence diagram -----------------------------------------------------------------------------------


def early_keys(side: str) -> KeysTrace:
    return KeysTrace(side, "write", "early", "TLS_AES_128_GCM_SHA256")


def test_diagram_shows_resumption_0rtt_and_tickets() -> None:
    events = flow(
        "client",
        ("client", client_hello(psk=PSK, early_data=True)),
        ("client", early_keys("client")),
        ("server", server_hello(x25519_entry(), psk_index=0)),
        ("server", encrypted_extensions(early_data=True)),
        ("client", parsed(H.EndOfEarlyData())),
        ("server", ticket(0, max_early_data=16384)),
    )
    d = SequenceDiagram(events)
    mermaid = d.to_mermaid()
    assert "a PSK (1 identity, with binder), 0-RTT data follows" in mermaid
    assert "Note over C,S: 0-RTT: the client sends application data right behind its ClientHello" in mermaid
    assert "PSK accepted, psk_dhe_ke" in mermaid
    assert "Session resumed with a pre-shared key" in mermaid and "psk_dhe_ke: with a fresh key exchange" in mermaid
    assert "0-RTT data accepted" in mermaid
    assert "C->>S: (EndOfEarlyData) · end of the 0-RTT data" in mermaid  # RFC 8446's notation for 0-RTT
    assert "lifetime 7200 s, nonce 0000000000000000, 0-RTT up to 16384 bytes" in mermaid
    assert "(resumed session)" in d.heading()
    svg = d.to_svg()
    assert "(EndOfEarlyData)" in svg and "0-RTT" in svg


def test_diagram_shows_rejected_0rtt_cookie_retry_and_compression() -> None:
    msg = compressed(CCA.zlib)
    events = flow(
        "client",
        ("client", client_hello(psk=PSK, early_data=True)),
        ("server", hello_retry(cookie=b"c" * 40)),
        ("client", client_hello(cookie=b"c" * 40)),
        ("server", server_hello(x25519_entry())),
        ("server", encrypted_extensions()),
        ("server", msg),
    )
    mermaid = SequenceDiagram(events).to_mermaid()
    assert "asks for its cookie back" in mermaid and "asks for a None" not in mermaid
    assert "It carries a cookie the client must echo: the server kept no state" in mermaid
    assert "0-RTT rejected: the server skips the client's early data" in mermaid
    assert "the cookie, echoed" in mermaid
    size = len(msg.compressed_certificate_message)
    assert f"CompressedCertificate · zlib, {msg.uncompressed_length} → {size} bytes" in mermaid
    # Rejected by the EncryptedExtensions instead (no HelloRetryRequest).
    events = flow(
        "server",
        ("client", client_hello(psk=PSK, early_data=True)),
        ("server", server_hello(x25519_entry(), psk_index=0)),
        ("server", encrypted_extensions()),
    )
    assert "0-RTT rejected" in SequenceDiagram(events).to_mermaid()


# -- the illustrated page --------------------------------------------------------------------------------


def record(side: str, direction: str, msg: Any) -> RecordTrace:
    """A plaintext handshake record carrying ``msg``."""
    header = bytes([ContentType.handshake, 3, 3]) + len(msg.raw).to_bytes(2, "big")
    return RecordTrace(side, direction, ContentType.handshake, header, msg.raw)


def page_summary(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))


@needs_hybrid
def test_illustrated_page_summary_and_glossary() -> None:
    client = hybrid_share()
    ch = client_hello((KeyShareEntry(client.group, client.public_bytes()),), psk=PSK, early_data=True)
    hrr = hello_retry(NamedGroup.X25519MLKEM768, b"c" * 16)
    ch2 = client_hello((KeyShareEntry(client.group, client.public_bytes()),), psk=PSK, cookie=b"c" * 16)
    sh = server_hello(server_hybrid_entry(client), psk_index=0)
    events: list[TraceEvent] = []
    for who, msg in (("client", ch), ("server", hrr), ("client", ch2), ("server", sh)):
        direction = "out" if who == "client" else "in"
        events += [record("client", direction, msg), MessageTrace("client", direction, msg)]
    events += flow("client", ("server", ticket(0, max_early_data=1024)), ("server", ticket(1, max_early_data=1024)))
    events.append(SecretTrace("client", "client_early_traffic_secret", ch.random, b"\x11" * 32))
    illustration = Illustration(wants_secrets=True)
    for event in events:
        illustration(event)
    page = illustration.render()
    summary = page_summary(page)
    assert (
        summary["Key exchange"]
        == "X25519MLKEM768: hybrid post-quantum (ML-KEM-768 + X25519; ephemeral, forward secret)"
    )
    assert summary["Resumed session"] == "yes: a pre-shared key (psk_dhe_ke, with a fresh key exchange), no certificate"
    assert summary["HelloRetryRequest"] == (
        "asked for a key share for X25519MLKEM768 and its cookie back (the server kept no state)"
    )
    assert summary["0-RTT early data"] == "offered, rejected: the server skipped it"
    assert summary["Tickets"] == "2 NewSessionTickets (lifetime 7200 s, 0-RTT up to 1024 bytes)"
    # The field tree of the hellos, with what each new field is for.
    why = json.loads(re.search(r'<script type="application/json" id="why">(.*?)</script>', page, re.S).group(1))
    for field, parent, message in (
        ("mlkem768_encapsulation_key", "key_exchange", "ClientHello"),
        ("mlkem768_ciphertext", "key_exchange", "ServerHello"),
        ("x25519", "key_exchange", "ClientHello"),
        ("obfuscated_ticket_age", "PskIdentity", "ClientHello"),
        ("PskBinderEntry", "binders", "ClientHello"),
        ("selected_identity", "extension_data", "ServerHello"),
    ):
        text = field_why(field, parent, message, True)
        assert text and text in why, field
        assert f"› {message} ›" in page
    parts = "ClientHello › extensions › Extension › client_shares › KeyShareEntry › key_exchange › "
    assert f'{parts}mlkem768_encapsulation_key"' in page and f'{parts}x25519"' in page
    assert ">mlkem768_encapsulation_key<" in page and ">obfuscated_ticket_age<" in page
    # The early secret, with its NSS key log line.
    assert f"CLIENT_EARLY_TRAFFIC_SECRET {ch.random.hex()} {'11' * 32}" in page


def test_illustrated_page_glossary_entries() -> None:
    for field, parent, message, words in (
        ("ticket_nonce", "NewSessionTicket", "NewSessionTicket", "resumption"),
        ("ticket_age_add", "NewSessionTicket", "NewSessionTicket", "age"),
        ("max_early_data_size", "extension_data", "NewSessionTicket", "0-RTT"),
        ("cookie", "extension_data", "HelloRetryRequest", "state"),
        ("algorithm", "CompressedCertificate", "CompressedCertificate", "compression algorithm"),
        ("uncompressed_length", "CompressedCertificate", "CompressedCertificate", "inflated"),
        ("compressed_certificate_message", "CompressedCertificate", "CompressedCertificate", "compressed"),
        ("EndOfEarlyData", "content", "", "early traffic keys"),
        ("CompressedCertificate", "content", "", "RFC 8879"),
        ("HelloRetryRequest", "content", "", "cookie"),
    ):
        assert words in field_why(field, parent, message, True), field
    assert "signature" in field_why("algorithm", "CertificateVerify", "CertificateVerify", True)
    for ext, message, words in (
        ("early_data", "EncryptedExtensions", "accepts"),
        ("early_data", "NewSessionTicket", "0-RTT"),
        ("early_data", "ClientHello", "replayed"),
        ("pre_shared_key", "ServerHello", "resumption"),
        ("cookie", "HelloRetryRequest", "no state"),
    ):
        assert words in field_why("Extension", "extensions", message, True, ext=ext), (ext, message)


def test_illustrated_page_of_a_compressed_certificate() -> None:
    msg = compressed(CCA.zlib)
    events = flow("client", ("server", server_hello(x25519_entry())), ("server", msg))
    illustration = Illustration()
    for event in events:
        illustration(event)
    summary = page_summary(illustration.render())
    assert summary["Server certificate"].startswith("CN=localhost, sent compressed (zlib, ")


# -- a real TLS 1.3 resumption between glasstls peers --------------------------------------------------------


def configs() -> tuple[ClientConfig, ServerConfig]:
    identity = server_identity("localhost")
    client = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()))
    server = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    return client, server


def run(client_config: ClientConfig, server_config: ServerConfig, session: Any = None) -> tuple[Any, EventList]:
    client_log = EventList()
    client = ClientConnection(client_config, server_name="localhost", session=session, observer=client_log)
    server = ServerConnection(server_config)
    for _ in range(6):
        out = client.data_to_send()
        if out:
            server.receive_bytes(out)
        back = server.data_to_send()
        if back:
            client.receive_bytes(back)
    assert client.handshake_complete and server.handshake_complete
    return client, client_log


def test_a_real_resumption_explained_drawn_and_illustrated() -> None:
    client_config, server_config = configs()
    first, first_log = run(client_config, server_config)
    tickets = [
        e.message for e in first_log.events if isinstance(e, MessageTrace) and e.message.name == "NewSessionTicket"
    ]
    if not tickets or first.session is None:
        pytest.skip("this glasstls server sends no TLS 1.3 tickets")
    text = explained(first_log.events)
    assert "a ticket for resuming later" in text and "another ticket" in text
    assert f"nonce {tickets[0].ticket_nonce.hex()}" in text
    second, log = run(client_config, server_config, session=first.session)
    assert second.parameters is not None and second.parameters.resumed
    text = explained(log.events)
    assert "It offers a pre-shared key (pre_shared_key, always the last extension): 1 identity" in text
    assert "It accepts the client's pre-shared key (selected identity 0)" in text
    names = [e.message.name for e in log.events if isinstance(e, MessageTrace)]
    assert "Certificate" not in names and "CompressedCertificate" not in names
    d = SequenceDiagram(log.events)
    assert "(resumed session)" in d.heading() and "PSK accepted, psk_dhe_ke" in d.to_mermaid()
    illustration = Illustration()
    illustration.add(log)
    summary = page_summary(illustration.render())
    assert summary["Resumed session"].startswith("yes: a pre-shared key (psk_dhe_ke")
    # One after a resumption, ending when the ticket it resumed does (RFC 8446, 4.6.1): a second or so less.
    assert re.match(r"1 NewSessionTicket \(lifetime 71[89]\d s", summary["Tickets"]), summary["Tickets"]


@pytest.mark.parametrize("side", ["client", "server"])
def test_explain_takes_a_hello_whose_values_were_built_by_hand(side: str) -> None:
    """A ClientHello built with a plain int where a tuple of versions goes (the renderers' fuzz test builds
    such messages): the versions are said as the value stands, not a TypeError for the fallback to report."""
    odd = H.ClientHello(
        random=bytes(32),
        cipher_suites=(AES128,),
        extensions=(Extension(E.supported_versions, b"", 1), Extension(E(0x0A0A), b"")),
    )
    words = " ".join(paragraphs_of(flow(side, ("client", odd)), 0))
    assert "cannot explain" not in words and "It lists the versions it speaks" in words
    assert "Some of its extensions are GREASE values (RFC 8701)" in words


def test_a_user_canceled_is_explained_as_a_cancel_not_a_fatal_alert() -> None:
    """RFC 8446, Section 6.1: user_canceled is a closure alert; every other TLS 1.3 alert is fatal."""
    from glasstls import ClientConfig, ClientConnection
    from glasstls.observe import AlertTrace, EventList

    log = EventList()
    client = ClientConnection(ClientConfig(), "example.com", observer=log)
    client.close()  # (its ClientHello out, no answer yet: canceled)
    index = next(i for i, e in enumerate(log.events) if isinstance(e, AlertTrace) and e.description == 90)
    said = " ".join(paragraphs_of(log.events, index))
    assert "gives up the handshake" in said and "fatal" not in said, said
