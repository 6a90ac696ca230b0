"""The TLS 1.3 server handshake (RFC 8446, Section 2, Figures 1 and 2).

ClientHello          -->
                     <--  HelloRetryRequest*   (then ClientHello again)
                     <--  ServerHello
                     <--  {EncryptedExtensions}
                     <--  {CertificateRequest*}
                     <--  {Certificate}
                     <--  {CertificateVerify}
                     <--  {Finished}
{Certificate*,
 CertificateVerify*,
 Finished}           -->
[Application Data]  <->   [Application Data]

The server enters here (on_client_hello) from server.ExpectClientHello once
TLS 1.3 is the version both sides share (hello.choose_protocol_version).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..config import CertifiedKey, ServerConfig
from ..crypto import kx
from ..crypto.keyschedule13 import EarlySecret, HandshakeSecret, MasterSecret, finished_verify_data
from ..crypto.suites import TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..events import NegotiatedParameters
from ..frozen import dict_init
from ..session.cookie import CookieContents
from ..wire import extensions as X
from ..wire.extensions import Extension, KeyShareEntry
from ..wire.handshake import (
    Certificate,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    Finished,
    HelloRetryRequest,
    ServerHello,
)
from . import early13, psk13
from . import negotiation as N
from .admission import refuse_client_entry_extensions
from .base import AnyState, Context, PeerVerified, State, checked_finished, require
from .certselect import candidates, check_name_served, report_choice
from .common13 import (
    certificate_request,
    certificate_verify_content,
    received_certificate,
    secret_reporter,
    send_certificate_and_verify,
)
from .hello import choose_protocol_version, ordered_extensions
from .peer_auth import (
    Chain,
    check_peer_signature,
    der_chain,
    no_client_certificate,
    parse_chain,
    parse_der_chain,
    verify_client,
)
from .post_handshake import PostHandshakeRequests, ServerConnected13, TrafficSecrets
from .second_hello import change_in_second_hello, fingerprint
from .status import staple_for

ILLEGAL = AlertDescription.illegal_parameter
MISSING = AlertDescription.missing_extension
# The enum members every handshake reads, looked up once: a member looked up on its class goes
# through EnumType's attribute hook (some 900 instructions a time in CPython 3.11).
_TLS12, _TLS13, _PSK_KE = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3, PskKeyExchangeMode.psk_ke
_SIGNATURE_ALGORITHMS, _SERVER_NAME = E.signature_algorithms, E.server_name
_ALPN, _RECORD_SIZE_LIMIT = E.application_layer_protocol_negotiation, E.record_size_limit
_SUPPORTED_GROUPS, _KEY_SHARE, _SUPPORTED_VERSIONS = E.supported_groups, E.key_share, E.supported_versions
_POST_HANDSHAKE_AUTH, _PSK_MODES = E.post_handshake_auth, E.psk_key_exchange_modes
_COMPRESS_CERTIFICATE, _OID_FILTERS = E.compress_certificate, E.oid_filters
# The extensions the server sends alike in every handshake, made once: Extension.make keeps them
# too, but finding one there is a call and a key built per hello. supported_versions in a
# ServerHello (RFC 8446, Section 4.2.1) and the empty server_name accepting the client's (RFC 6066,
# Section 3).
_SH_SUPPORTED_VERSIONS = Extension.make(_SUPPORTED_VERSIONS, _TLS13, X.SH)
_EE_SERVER_NAME = Extension.make(_SERVER_NAME, True, X.EE)


@dict_init
@dataclass(frozen=True)
class Decisions:
    """What the server decided from the ClientHello (RFC 8446, Section 4.1.1), the key
    share aside: a HelloRetryRequest keeps these and asks for the share."""

    suite: Suite13
    group: NamedGroup | None  # None: a psk_ke handshake, without (EC)DHE (Section 4.2.9)
    certified: CertifiedKey | None  # None (and no scheme): a PSK authenticates us (Section 2.2)
    scheme: SignatureScheme | None  # what our CertificateVerify is signed with
    alpn: str | None  # None: no application protocol negotiated
    server_name: str | None  # what the client asked for (SNI), None: it asked for none
    psk: psk13.AcceptedPsk | None = None  # the PSK accepted (Section 4.2.11)


def on_client_hello(ctx: Context, ch: ClientHello) -> AnyState:
    """TLS 1.3 is the version both sides share: negotiate, then a HelloRetryRequest
    (no usable key share) or the server flight."""
    ctx.set_version(_TLS13)
    decisions, share = negotiate(ctx, ch)
    transcript = _first_transcript(ch, decisions)
    if share is None and decisions.group is not None:
        if ch.ext(E.early_data) is not None:  # RFC 8446, Section 4.2.10: skip it
            early13.server_skip(ctx, "the server sends a HelloRetryRequest")
        return send_hello_retry(ctx, ch, decisions, transcript)
    return send_server_flight(ctx, ch, decisions, share, transcript, after_hrr=False)


def _first_transcript(ch: ClientHello, decisions: Decisions) -> Transcript:
    """The transcript of the first ClientHello (RFC 8446, Section 4.4.1). An accepted PSK's binder
    check hashed the ClientHello up to the binders (Section 4.2.11.2): the transcript goes on from a
    copy of that hash, and hashes only the binders, not the whole ClientHello again."""
    transcript = Transcript()
    psk = decisions.psk
    if psk is not None and psk.truncated_hash is not None:
        running, hashed = psk.truncated_hash
        transcript.start_hashed(decisions.suite.hash_name, running.copy(), ch.raw, hashed)
    else:
        transcript.start(decisions.suite.hash_name)
        transcript.add(ch.raw)
    return transcript


def negotiate(
    ctx: Context, ch: ClientHello, before: Transcript | None = None, psk_allowed: bool = True
) -> tuple[Decisions, KeyShareEntry | None]:
    """Everything the server decides from one TLS 1.3 ClientHello, checked in RFC order,
    and the client's key share for the chosen group (None: a HelloRetryRequest asks for one).
    ``before``: the transcript ahead of a stateless server's second ClientHello (PSK binders);
    ``psk_allowed`` False: its pre_shared_key is not looked at (the first hello had no PSK accepted)."""
    cfg: ServerConfig = ctx.config
    # RFC 8446, Section 4.1.2: TLS 1.3 allows only the null compression method.
    require(tuple(ch.compression_methods) == (0,), ILLEGAL, "ClientHello offers compression other than null only")
    ours = [s for s in cfg.cipher_suites if s in TLS13_SUITES]
    offered = [s for s in ch.cipher_suites if s in TLS13_SUITES]
    order = [TLS13_SUITES[s] for s in N.suite_order(offered, ours, cfg.prefer_client_suites)]
    if not order:
        raise N.no_common_suite(offered, ours, cfg.cipher_suites)
    suite = order[0]
    psk = psk13.choose_psk(ctx, ch, order, before) if psk_allowed else None  # its suite has the PSK's hash (4.2.11)
    # The extensions by type, asked for once: five look-ups here, each ch.ext() a call.
    found = ch.by_type()
    if _OID_FILTERS in found:
        # RFC 8446, Section 4.2: a known extension in a message its table does not give it to is
        # illegal_parameter; oid_filters is a CertificateRequest's alone (Section 4.2.5). (OpenSSL and
        # GnuTLS ignore it.)
        raise AlertError(ILLEGAL, "ClientHello carries oid_filters, which only a CertificateRequest may")
    # RFC 8446, Section 9.2: a certificate-based handshake needs signature_algorithms,
    # supported_groups and key_share; a PSK one the last two unless it is psk_ke.
    sigs_ext = found.get(_SIGNATURE_ALGORITHMS)
    if psk is None and sigs_ext is None:
        raise AlertError(MISSING, "ClientHello has no signature_algorithms")
    group, share = _key_exchange(ctx, found, psk)
    sni = found.get(_SERVER_NAME)
    server_name: str | None = sni.value if sni else None
    certified, scheme = None, None
    if psk is None:
        certified, scheme = _certificate_for(ctx, sigs_ext.value if sigs_ext else (), server_name)
    else:
        check_name_served(ctx, server_name)  # (a resumption shows no certificate: the name is checked all the same)
    alpn_ext = found.get(_ALPN)
    alpn = N.choose_alpn(alpn_ext.value if alpn_ext else (), cfg.alpn, cfg.alpn_required)
    chosen = psk.suite if psk is not None else suite
    return Decisions(chosen, group, certified, scheme, alpn, server_name, psk), share


def _key_exchange(
    ctx: Context, found: Mapping[int, Extension], psk: psk13.AcceptedPsk | None
) -> tuple[NamedGroup | None, KeyShareEntry | None]:
    """The (EC)DHE group and the client's share of it (None: a HelloRetryRequest asks for
    one); (None, None) for psk_ke, which has no key exchange (RFC 8446, Section 4.2.9).
    ``found``: the ClientHello's extensions by type (ClientHello.by_type)."""
    if psk is not None and psk.mode == _PSK_KE:
        return None, None
    groups_ext, shares_ext = found.get(_SUPPORTED_GROUPS), found.get(_KEY_SHARE)
    if groups_ext is None:
        raise AlertError(MISSING, "ClientHello has no supported_groups")
    if shares_ext is None:
        raise AlertError(MISSING, "ClientHello has no key_share")
    _check_shares(shares_ext.value, groups_ext.value)
    cfg = _config(ctx)
    return N.choose_group(groups_ext.value, shares_ext.value, cfg.groups, cfg.strict_group_preference)


def _certificate_for(
    ctx: Context, offered: tuple[SignatureScheme, ...], server_name: str | None
) -> tuple[CertifiedKey, SignatureScheme]:
    """The first certificate for the client's server name whose key can sign with a
    scheme the client offered (RFC 8446, Section 4.4.2.2)."""
    cfg: ServerConfig = ctx.config
    if not cfg.certificates and ctx.chains_for_name is None:
        raise AlertError(
            AlertDescription.unknown_psk_identity,
            "this server authenticates with external PSKs only, and the client offered none it can use",
        )
    error: AlertError | None = None
    for certified in candidates(ctx, server_name):
        if not certified.leaf_may_sign:  # RFC 8446, Section 4.4.2.2: the certificate MUST allow signing
            error = error or _may_not_sign(certified)
            continue
        try:
            scheme = N.choose_signature_scheme(
                offered, certified.private_key, cfg.signature_schemes, certified.leaf_is_rsassa_pss
            )
        except AlertError as exc:
            error = error or exc
            continue
        report_choice(ctx, certified, server_name)
        return certified, scheme
    assert error is not None
    raise error


def _may_not_sign(certified: CertifiedKey) -> AlertError:
    names = ", ".join(certified.leaf_names) or "no name"
    return AlertError(
        AlertDescription.handshake_failure,
        f"the server's certificate for {names} may not sign: its KeyUsage lacks digitalSignature, which a "
        "TLS 1.3 CertificateVerify needs (RFC 8446, Section 4.4.2.2); reissue it with digitalSignature",
    )


def _check_shares(shares: tuple[KeyShareEntry, ...], groups: tuple[NamedGroup, ...]) -> None:
    """RFC 8446, Section 4.2.8: one share per group, each for an offered group."""
    seen: set[int] = set()
    for entry in shares:
        # (Not require(): its message would be formatted for every share of every ClientHello.)
        if entry.group in seen:
            raise AlertError(ILLEGAL, f"ClientHello has two key shares for {entry.group.name}")
        if entry.group not in groups:
            raise AlertError(ILLEGAL, f"key share for {entry.group.name}, which is not in supported_groups")
        seen.add(entry.group)


def _server_hello(
    ch: ClientHello,
    suite: CipherSuite,
    random: bytes,
    exts: tuple[Extension, ...],
    kind: type[ServerHello] = ServerHello,
) -> ServerHello:
    # Positionally (a class called with keywords gets them as a dict): legacy_version is TLS 1.2's
    # and compression null (RFC 8446, Section 4.1.3).
    return kind(_TLS12, random, ch.legacy_session_id, suite, 0, exts)


def _hello_retry(
    ctx: Context, ch: ClientHello, suite: CipherSuite, group: NamedGroup, cookie: bytes | None
) -> ServerHello:
    """RFC 8446, Section 4.1.4: the HelloRetryRequest, rebuilt byte for byte from the same inputs."""
    exts = [
        Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.HRR),
        Extension.make(E.key_share, group, X.HRR),
    ]
    if cookie is not None:
        exts.append(Extension.make(E.cookie, cookie, X.HRR))
    ordered = ordered_extensions(exts, _config(ctx).dangerous.hello_extension_order)
    return _server_hello(ch, suite, HelloRetryRequest.random, ordered, HelloRetryRequest)


def send_hello_retry(ctx: Context, ch: ClientHello, decisions: Decisions, transcript: Transcript) -> AnyState:
    """RFC 8446, Section 4.1.4: ask for a share of the group we chose; a stateless server
    (Section 4.2.2) puts Hash(ClientHello1), the suite and the group into a sealed cookie
    and keeps nothing of the first ClientHello."""
    assert decisions.group is not None  # a HelloRetryRequest asks for a share of a group
    sealer = _config(ctx).cookie_sealer if _config(ctx).stateless_hrr else None
    cookie = None
    if sealer is not None:
        psk = decisions.psk
        contents = CookieContents(
            transcript.digest(), decisions.suite.suite, decisions.group, ctx.now(), fingerprint(ch),
            hashlib.sha256(psk.identity).digest() if psk is not None else b"",
        )  # fmt: skip
        cookie = sealer.seal(contents)
    hrr = _hello_retry(ctx, ch, decisions.suite.suite, decisions.group, cookie)
    transcript.replace_with_message_hash()
    ctx.send_message(hrr)
    transcript.add(hrr.raw)
    if ch.legacy_session_id:  # RFC 8446, Appendix D.4
        ctx.send_change_cipher_spec()
    if cookie is not None:
        return ExpectCookieClientHello()
    return ExpectSecondClientHello(ch, decisions, transcript)


@dataclass(frozen=True, eq=False, repr=False)
class ExpectCookieClientHello(State[ClientHello]):
    """A stateless server after its HelloRetryRequest (RFC 8446, Section 4.2.2): it holds
    nothing of the first ClientHello; the second brings it all back in the cookie."""

    expects = (ClientHello,)
    step = "waiting for the second ClientHello, with the cookie"
    ccs_allowed = True
    transitions = (
        ("ClientHello", "ExpectClientFinished", "cookie opened, sends the server flight"),
        ("ClientHello", "ExpectClientCertificate13", "cookie opened, with client auth, sends the server flight"),
    )

    def handle(self, ctx: Context, ch: ClientHello) -> AnyState:
        _end_of_early_data_skip(ctx)
        sealer = _config(ctx).cookie_sealer
        assert sealer is not None  # stateless_hrr made one
        cookie_ext = ch.ext(E.cookie)
        # RFC 8446, Section 4.1.2: the second ClientHello carries the HelloRetryRequest's cookie.
        require(cookie_ext is not None, ILLEGAL, "second ClientHello does not echo the HelloRetryRequest's cookie")
        assert cookie_ext is not None
        cookie: bytes = cookie_ext.value
        contents, reason = sealer.open(cookie, ctx.now())
        if contents is None:  # Section 4.2.2: a cookie this server did not issue (or no longer honours)
            raise AlertError(ILLEGAL, f"HelloRetryRequest cookie refused: {reason}")
        suite = TLS13_SUITES.get(CipherSuite(contents.cipher_suite))
        require(suite is not None, ILLEGAL, "cookie names a suite that is not a TLS 1.3 one")
        assert suite is not None
        group = NamedGroup(contents.group)
        _still_tls13(ctx, ch)
        if fingerprint(ch) != contents.hello_fingerprint:  # (the HelloRetryRequest is rebuilt from ch, below)
            raise AlertError(ILLEGAL, "second ClientHello changed more than RFC 8446, Section 4.1.2 allows")
        require(ch.ext(E.early_data) is None, ILLEGAL, "second ClientHello offers early data (Section 4.2.10)")
        # Section 4.4.1: message_hash(ClientHello1), then the HelloRetryRequest as it was sent.
        transcript = Transcript()
        transcript.start(suite.hash_name)
        transcript.add_message_hash(contents.ch1_hash)
        transcript.add(_hello_retry(ctx, ch, suite.suite, group, cookie).encode())
        share = _second_share(ch, group)
        # Section 4.1.2: the PSK of the first hello, its binder updated; a PSK the first did not bring is
        # not looked at, as a server that kept the first hello does (ExpectSecondClientHello).
        chose_psk = bool(contents.psk_identity_hash)
        decisions, _ = negotiate(ctx, ch, before=transcript, psk_allowed=chose_psk)
        if chose_psk and (
            decisions.psk is None or hashlib.sha256(decisions.psk.identity).digest() != contents.psk_identity_hash
        ):
            raise AlertError(ILLEGAL, "second ClientHello dropped or changed the PSK the server chose in the first")
        require(decisions.suite.suite == suite.suite, ILLEGAL, "second ClientHello did not keep the chosen suite")
        decisions = replace(decisions, group=group)
        transcript.add(ch.raw)
        return send_server_flight(ctx, ch, decisions, share, transcript, after_hrr=True)


def _second_share(ch: ClientHello, group: NamedGroup) -> KeyShareEntry:
    """The one key share of the group the HelloRetryRequest asked for (RFC 8446, Section 4.1.2). A
    hello without key_share is missing_extension (Section 9.2: supported_groups and key_share come
    together), as OpenSSL and BoringSSL answer; any other share list is illegal_parameter."""
    shares = ch.ext(E.key_share)
    if shares is None:
        raise AlertError(
            AlertDescription.missing_extension,
            f"second ClientHello has no key_share; the HelloRetryRequest asked for a {group.name} share "
            "(RFC 8446, Sections 4.1.2 and 9.2)",
        )
    if len(shares.value) != 1 or shares.value[0].group != group:
        raise AlertError(ILLEGAL, f"second ClientHello does not carry exactly one {group.name} key share")
    entry: KeyShareEntry = shares.value[0]
    return entry


def _end_of_early_data_skip(ctx: Context) -> None:
    """RFC 8446, Section 4.2.10: the early data a server skips after its HelloRetryRequest is what
    the client sent before its second ClientHello, which offers none: from here on a record the
    handshake keys do not open is bad_record_mac, not skipped."""
    ctx.skip_early_data(0)


def _still_tls13(ctx: Context, ch: ClientHello) -> None:
    """After a HelloRetryRequest the version is TLS 1.3 (RFC 8446, Section 4.1.4): a second
    ClientHello that no longer offers it (no supported_versions, or without 1.3) is
    protocol_version, as OpenSSL answers; it must not get a TLS 1.2 or 1.3 ServerHello."""
    if choose_protocol_version(ctx, ch) != ProtocolVersion.TLSv1_3:
        raise AlertError(AlertDescription.protocol_version, "second ClientHello no longer offers TLS 1.3")


@dataclass(frozen=True, eq=False, repr=False)
class ExpectSecondClientHello(State[ClientHello]):
    expects = (ClientHello,)
    step = "waiting for the second ClientHello"
    ccs_allowed = True
    transitions = (
        ("ClientHello", "ExpectClientFinished", "sends the server flight"),
        ("ClientHello", "ExpectClientCertificate13", "with client auth, sends the server flight"),
    )

    first: ClientHello
    decisions: Decisions
    transcript: Transcript  # message_hash(ClientHello1), HelloRetryRequest (Section 4.4.1)

    def handle(self, ctx: Context, ch: ClientHello) -> AnyState:
        _end_of_early_data_skip(ctx)
        _still_tls13(ctx, ch)
        # RFC 8446, Section 4.1.2: the same hello, but for the new share (and cookie).
        change = change_in_second_hello(self.first, ch)
        if change is not None:
            raise AlertError(ILLEGAL, f"second ClientHello {change} (RFC 8446, Section 4.1.2)")
        require(ch.ext(E.early_data) is None, ILLEGAL, "second ClientHello offers early data (Section 4.2.10)")
        decisions = self.decisions
        group = decisions.group
        assert group is not None  # a HelloRetryRequest asks for a share of a group
        share = _second_share(ch, group)
        if decisions.psk is not None:  # Section 4.2.11.2: bound anew to the transcript so far
            decisions = replace(decisions, psk=psk13.confirm_second_hello(ctx, ch, decisions.psk, self.transcript))
        self.transcript.add(ch.raw)
        return send_server_flight(ctx, ch, decisions, share, self.transcript, after_hrr=True)


@dict_init
@dataclass(frozen=True)
class ServerFlight:
    """What the server holds once its flight is out, until the client's Finished
    (RFC 8446, Section 7.1): its decisions, the transcript, the client's handshake
    traffic secret (for the client's Finished), and the application secrets and
    master secret already derived from the transcript through the server's Finished."""

    decisions: Decisions
    transcript: Transcript
    client_handshake_secret: bytes = field(repr=False)
    traffic: TrafficSecrets
    master: MasterSecret = field(repr=False)
    client_offered_post_handshake_auth: bool  # RFC 8446, Section 4.2.6
    client_psk_modes: tuple[PskKeyExchangeMode, ...] = ()  # what tickets may serve (Section 4.2.9)


def send_server_flight(
    ctx: Context,
    ch: ClientHello,
    decisions: Decisions,
    share: KeyShareEntry | None,
    transcript: Transcript,
    after_hrr: bool,
) -> AnyState:
    """ServerHello, then {EE, [CertificateRequest,] Certificate, CertificateVerify, Finished}
    under handshake keys, or {EE, Finished} with a PSK; then wait for the client's flight."""
    shared = _send_server_hello(ctx, ch, decisions, share, transcript, after_hrr)
    suite = decisions.suite
    report = secret_reporter(ctx, ch.random)
    # The PSK's early secret, extracted for its binder (psk13.choose_psk), or zeros' (Section 7.1).
    early = decisions.psk.early.reporting(report) if decisions.psk is not None else EarlySecret(suite, None, report)
    stage = early.handshake_stage(shared)
    th = transcript.digest()
    c_hs, s_hs = stage.client_handshake_traffic_secret(th), stage.server_handshake_traffic_secret(th)
    early_secret = early13.server_decide(ctx, ch, decisions.psk, early, decisions.alpn)  # 0-RTT?
    ctx.install_write(suite, s_hs, "handshake")
    _send_encrypted_flight(ctx, ch, decisions, transcript)
    fin = Finished(finished_verify_data(suite, s_hs, transcript.digest()))
    ctx.send_message(fin)
    transcript.add(fin.raw)
    master, traffic = _application_secrets(stage, transcript)
    # RFC 8446, Section 4.4.4: the server may send (0.5-RTT) under s_ap now.
    ctx.install_write(suite, traffic.server, "application")
    if early_secret is None:
        ctx.install_read(suite, c_hs, "handshake")
    else:
        ctx.install_read(suite, early_secret, "early")  # the client's 0-RTT data, then EndOfEarlyData
    found = ch.by_type()  # (two look-ups: one call, not two)
    offered_pha = found.get(_POST_HANDSHAKE_AUTH) is not None
    modes = found.get(_PSK_MODES)
    flight = ServerFlight(decisions, transcript, c_hs, traffic, master, offered_pha, modes.value if modes else ())
    if decisions.psk is not None:
        # RFC 8446, Section 4.3.2: no CertificateRequest with a PSK; a ticket keeps the client's chain.
        session = decisions.psk.session
        chain = parse_der_chain(session.peer_certificates, "client") if session is not None else ()
        if early_secret is not None:  # RFC 8446, Section 4.5
            following = ExpectClientFinished(flight, client_chain=chain)
            return early13.ExpectEndOfEarlyData(following, suite, c_hs, transcript)
        return ExpectClientFinished(flight, client_chain=chain)
    if _config(ctx).client_auth != "none":
        return ExpectClientCertificate13(flight)
    return ExpectClientFinished(flight, client_chain=())


def _config(ctx: Context) -> ServerConfig:
    config: ServerConfig = ctx.config
    return config


def _send_server_hello(
    ctx: Context,
    ch: ClientHello,
    decisions: Decisions,
    share: KeyShareEntry | None,
    transcript: Transcript,
    after_hrr: bool,
) -> bytes | None:
    """RFC 8446, Section 4.1.3: our key share for the client's (none for psk_ke) and the
    accepted PSK (Section 4.2.11); the shared secret."""
    # The order of RFC 8448's traces: pre_shared_key, key_share, supported_versions.
    exts, shared = [], None
    if decisions.psk is not None:
        exts.append(psk13.server_hello_extension(decisions.psk))
    if share is not None and decisions.group is not None:
        server_share, shared = kx.encapsulate_to(decisions.group, share.key_exchange, ctx.randomness)
        exts.append(Extension.make(_KEY_SHARE, KeyShareEntry(decisions.group, server_share), X.SH))
    exts.append(_SH_SUPPORTED_VERSIONS)
    sh = _server_hello(ch, decisions.suite.suite, ctx.randomness(32), tuple(exts))
    ctx.send_message(sh)
    transcript.add(sh.raw)
    if ch.legacy_session_id and not after_hrr:  # RFC 8446, Appendix D.4
        ctx.send_change_cipher_spec()
    return shared


def _send_encrypted_flight(ctx: Context, ch: ClientHello, decisions: Decisions, transcript: Transcript) -> None:
    """{EncryptedExtensions, [CertificateRequest,] Certificate, CertificateVerify} (RFC 8446, Section 4.3-4.4)."""
    ee = _encrypted_extensions(ctx, ch, decisions)
    ctx.send_message(ee)
    transcript.add(ee.raw)
    if decisions.certified is None or decisions.scheme is None:
        return  # a PSK handshake: the PSK authenticates (Sections 2.2 and 4.3.2)
    if _config(ctx).client_auth != "none":
        request = certificate_request(ctx)
        ctx.send_message(request)
        transcript.add(request.raw)
    staple = staple_for(ctx, ch, decisions.certified)  # RFC 8446, Section 4.4.2.1
    compression = ch.ext(_COMPRESS_CERTIFICATE)  # RFC 8879: a CompressedCertificate if it lists one of ours
    send_certificate_and_verify(
        ctx,
        transcript,
        decisions.certified,
        decisions.scheme,
        "server",
        ocsp_staple=staple,
        peer_compression=compression,
    )


def _encrypted_extensions(ctx: Context, ch: ClientHello, decisions: Decisions) -> EncryptedExtensions:
    cfg, exts = _config(ctx), []
    if cfg.advertise_groups:
        exts.append(Extension.make(_SUPPORTED_GROUPS, cfg.groups, X.EE))
    client_limit = ch.ext(_RECORD_SIZE_LIMIT)
    if client_limit is not None:
        ctx.set_peer_record_limit(client_limit.value)
        if cfg.record_size_limit:
            exts.append(Extension.make(_RECORD_SIZE_LIMIT, cfg.record_size_limit, X.EE))
            ctx.limit_incoming_records(cfg.record_size_limit)  # negotiated: from the client's next keys on
    if decisions.server_name is not None:
        # RFC 6066, Section 3: empty = accepted. (In TLS 1.3 always, as NSS in RFC 8448's traces; a
        # TLS 1.2 ServerHello says it only when the name chose the certificate, as OpenSSL.)
        exts.append(_EE_SERVER_NAME)
    if decisions.alpn is not None:
        exts.append(Extension.make(_ALPN, (decisions.alpn.encode(),), X.EE))
    if early13.server_accepted(ctx):  # RFC 8446, Section 4.2.10
        exts.append(early13.encrypted_extension())
    return EncryptedExtensions(tuple(exts))


def _application_secrets(stage: HandshakeSecret, transcript: Transcript) -> tuple[MasterSecret, TrafficSecrets]:
    """RFC 8446, Section 7.1: the master secret and both application traffic secrets,
    from the transcript through the server's Finished."""
    master = stage.master_stage()
    th = transcript.digest()
    c_ap, s_ap = master.client_application_traffic_secret(th), master.server_application_traffic_secret(th)
    exporter = master.exporter_master_secret(th)  # RFC 8446, Section 7.5 (the master secret is not kept)
    return master, TrafficSecrets(stage.suite, c_ap, s_ap, exporter)


@dataclass(frozen=True, eq=False, repr=False)
class ExpectClientCertificate13(State[Certificate | CompressedCertificate]):
    """RFC 8446, Section 4.4.2: the client's answer to our CertificateRequest, compressed
    or not (RFC 8879, Section 4)."""

    expects = (Certificate, CompressedCertificate)
    step = "waiting for the client's Certificate"
    ccs_allowed = True
    transitions = (
        ("Certificate", "ExpectClientCertificateVerify13"),
        ("Certificate", "ExpectClientFinished", "empty, no client certificate"),
        ("CompressedCertificate", "ExpectClientCertificateVerify13"),
        ("CompressedCertificate", "ExpectClientFinished", "empty, no client certificate"),
    )

    flight: ServerFlight

    def handle(self, ctx: Context, received: Certificate | CompressedCertificate) -> AnyState:
        msg = received_certificate(ctx, received, "client CompressedCertificate")
        require(msg.certificate_request_context == b"", ILLEGAL, "client Certificate has a request context")
        refuse_client_entry_extensions(msg.entries, "client CertificateEntry")
        self.flight.transcript.add(msg.raw)
        if not msg.entries:
            # RFC 8446, Section 4.4.2.4: certificate_required when we insist.
            if _config(ctx).client_auth == "required":
                raise no_client_certificate(AlertDescription.certificate_required)
            return ExpectClientFinished(self.flight, client_chain=())
        chain = parse_chain(msg, "client")
        verify_client(ctx, chain)
        return ExpectClientCertificateVerify13(self.flight, chain)


@dataclass(frozen=True, eq=False, repr=False)
class ExpectClientCertificateVerify13(State[CertificateVerify]):
    expects = (CertificateVerify,)
    step = "waiting for the client's CertificateVerify"
    ccs_allowed = True
    transitions = (("CertificateVerify", "ExpectClientFinished"),)

    flight: ServerFlight
    client_chain: Chain  # leaf first, verified against the client CAs; never empty

    def handle(self, ctx: Context, msg: CertificateVerify) -> AnyState:
        transcript = self.flight.transcript
        check_peer_signature(
            ctx,
            "client",
            self.client_chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("client", transcript.digest()),
            _config(ctx).signature_schemes,
            tls13=True,
            subject="client CertificateVerify",
            success=f"{msg.algorithm.name} signature over the transcript",
            what="client CertificateVerify signature",
        )
        transcript.add(msg.raw)
        return ExpectClientFinished(self.flight, self.client_chain)


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectClientFinished(State[Finished]):
    expects = (Finished,)
    step = "waiting for the client's Finished"
    ccs_allowed = True
    transitions = (("Finished", "ServerConnected13"),)

    flight: ServerFlight
    client_chain: Chain  # empty: the client sent no certificate (or was asked for none)

    def handle(self, ctx: Context, msg: Finished) -> AnyState:
        flight = self.flight
        transcript, suite, psk = flight.transcript, flight.decisions.suite, flight.decisions.psk
        # RFC 8446, Section 4.4.4: keyed by the client's handshake traffic secret.
        expected = finished_verify_data(suite, flight.client_handshake_secret, transcript.digest())
        proof = checked_finished(ctx, "client", expected, msg.verify_data)
        transcript.add(msg.raw)
        ctx.install_read(suite, flight.traffic.client, "application", proof)
        resumption = flight.master.resumption_master_secret(transcript.digest())
        ticket = psk.session if psk is not None else None  # the ticket resumed (None: an external PSK's)
        resumed = ticket is not None
        psk13.send_tickets(ctx, suite, resumption, self._session_basis(), flight.client_psk_modes, ticket)
        ctx.complete(PeerVerified(proof), self._parameters(resumed))
        # RFC 8446, Section 4.4: post-handshake authentication continues this transcript.
        pha = None
        if flight.client_offered_post_handshake_auth:
            pha = PostHandshakeRequests(transcript.fork())
        return ServerConnected13(flight.traffic, resumption, proof, pha)

    def _session_basis(self) -> psk13.SessionBasis:
        """What our tickets resume (RFC 8446, Section 4.6.1): the client's chain too."""
        d, chain = self.flight.decisions, self.client_chain
        return psk13.SessionBasis(d.server_name, d.alpn, der_chain(chain) if chain else ())

    def _parameters(self, resumed: bool) -> NegotiatedParameters:
        """What the handshake settled; ``resumed``: a ticket's PSK authenticated it."""
        d, chain = self.flight.decisions, self.client_chain
        group, scheme = d.group, d.scheme
        # Positionally, in the fields' order: a class called with keywords gets them as a dict
        # (some 4,800 instructions more for these ten). Enum names as _name_: .name is a descriptor call.
        return NegotiatedParameters(
            "TLSv1.3",  # version
            d.suite.name,  # cipher_suite
            group._name_ if group is not None else None,  # group
            scheme._name_ if scheme is not None else None,  # signature_scheme
            d.alpn,  # alpn
            d.server_name,  # server_name
            chain,  # peer_certificates
            resumed,  # resumed
            bool(chain),  # client_auth
            None,  # extended_master_secret: TLS 1.2 only
            None if d.psk is None else "resumption" if resumed else "external PSK",  # psk
        )
