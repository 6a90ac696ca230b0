"""The likely fixes of failure diagnosis (diagnose.py): a table of rules, each an alert, a
reason pattern or problem, who detected it and which side we are, with the command line's own
advice for it. The first rule that matches wins, so the specific ones come before the general."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A likely fix for failures matching ``alert`` and ``pattern``.

    ``origin`` is "local" (this side found the problem and sent the alert) or
    "peer" (this side received the alert); ``side`` is this side's role. None
    matches anything. ``problem`` is a :data:`~glasstls.errors.PROBLEMS` key:
    an error with :class:`~glasstls.errors.Facts` matches on it alone, one
    without (a reason read from a trace) on ``pattern``. ``fix`` may use
    ``{m1}``, ``{m2}``, ... (the pattern's groups), ``{sni}`` (the name the
    client asked for) and ``{names}`` (the names in the server's certificate).
    """

    alert: str | None
    fix: str
    pattern: str | None = None
    origin: str | None = None
    side: str | None = None
    problem: str | None = None


_CLIENT_STOPPED = (
    "the client stopped the handshake itself, without an error alert: a scanner or health check that only "
    "wanted this server's answer (testssl.sh, sslyze, nmap), or a client that gave up for a reason only its "
    "own log shows; nothing to change here unless real clients do it"
)
_SERVER_STOPPED = (
    "the server stopped the handshake without an error alert (a server shutting down, or refusing for a "
    "reason only its log shows): try again, or ask its operator"
)

_CACERT = (
    "pass --cacert FILE with the CA certificate that issued the server's certificate (for a self-signed "
    "certificate, that certificate itself); --insecure skips the check, for tests only"
)

_CLIENT_SENT_NONE = (
    "the client sent no certificate, and this server requires one: give the client a certificate issued by a CA "
    "in --client-ca (glasstls client: --cert FILE --key FILE), or let clients without one in with "
    "--verify-client optional (a browser asks its user, or tries again without one)"
)

FIXES: tuple[Rule, ...] = (
    # -- certificates ---------------------------------------------------------------------------
    Rule(
        "unknown_ca",
        "the server must send its intermediate CA certificate(s) after its own: give the server a --cert file "
        "holding the whole chain, leaf first",
        r"sent no intermediate",
        "local",
        "client",
        problem="missing_intermediate",
    ),
    Rule("unknown_ca", _CACERT, None, "local", "client"),
    Rule(
        "bad_certificate",
        "the certificate chain is longer than glasstls follows: the CA must issue a shorter one (fewer "
        "intermediates); --cacert cannot help",
        r"chain goes on past",
        "local",
        problem="chain_too_long",
    ),
    Rule(
        "unknown_ca",
        "the client must send its intermediate CA certificate(s) after its own (glasstls client: a --cert file "
        "holding the whole chain, leaf first), or start this server with --client-ca FILE holding that issuer",
        r"sent no intermediate",
        "local",
        "server",
        problem="missing_intermediate",
    ),
    Rule(
        "unknown_ca",
        "the server does not trust the CA of the client's certificate: start it with --client-ca FILE holding that CA",
        None,
        "local",
        "server",
    ),
    Rule(
        "unknown_ca",
        "the client does not trust this server's certificate: the client needs the CA that issued it "
        "(glasstls client / curl: --cacert FILE), or this server must send its intermediate certificates "
        "(a --cert file with the whole chain)",
        None,
        "peer",
        "server",
    ),
    Rule(
        "unknown_ca",
        "the server does not trust the CA that issued this client's certificate: the server needs that CA "
        "(glasstls server: --client-ca FILE)",
        None,
        "peer",
        "client",
    ),
    Rule(
        "bad_certificate",
        "connect with --servername set to a name the certificate holds ({m1}), or give the server a certificate "
        "that includes {m2}",
        r"certificate is for (.+), not (\S+)",
        "local",
    ),
    Rule(
        "bad_certificate",
        "the client's certificate is malformed (the reason says where): no TLS stack should accept it, so the "
        "client needs one reissued by its CA; the server itself is fine",
        r"is malformed|is not valid DER",
        "local",
        "server",
    ),
    Rule(
        "bad_certificate",
        "the server's certificate is malformed (the reason says where): its operator must have it reissued by "
        "the CA; --insecure does not help, a certificate that does not parse cannot be used at all",
        r"is malformed|is not valid DER",
        "local",
        "client",
    ),
    # A server refusing a client certificate (x509/client_policy.py): a client certificate names no
    # host, so none of these speaks of host names; the reason says which rule the chain broke.
    Rule(
        "bad_certificate",
        "the client's certificate was refused for the reason above (client certificates need no subjectAltName "
        "and are not matched against any host name): the client needs one its CA issues without that problem",
        r"^client certificate|^the client sent",
        "local",
        "server",
    ),
    Rule(
        "certificate_expired",
        "the client's certificate (or a CA above it, as the reason says) has expired or is not yet valid: renew "
        "the certificate (the client needs a new one from its CA), or, if it is in fact still valid, set this "
        "machine's clock right",
        None,
        "local",
        "server",
    ),
    Rule(
        "unsupported_certificate",
        "the client's certificate is not a TLS client certificate: its CA must reissue it with extendedKeyUsage "
        "clientAuth (or none at all) and keyUsage digitalSignature (or none at all)",
        r"not for TLS clients",
        "local",
        "server",
    ),
    Rule(
        "access_denied",
        "the client's certificate is valid, but this server's ServerConfig.client_identity_check refused it "
        "(its reason is above): allow that identity there, or give the client a certificate the check accepts",
        r"client_identity_check",
        "local",
        "server",
    ),
    Rule(
        "internal_error",
        "the application's ServerConfig.client_identity_check failed (the reason shows how): fix that function, "
        "which must return None to accept a client or a reason (str) to refuse it; the client was refused",
        r"client_identity_check",
        "local",
        "server",
    ),
    Rule(
        "unsupported_certificate",
        "the server refused our client certificate's purpose: a TLS client certificate needs extendedKeyUsage "
        "clientAuth (or none at all) and keyUsage digitalSignature (or none at all); have its CA reissue it",
        None,
        "peer",
        "client",
    ),
    Rule(
        "access_denied",
        "the server verified our certificate but its access control refuses that identity: ask its operator "
        "to allow it, or use a certificate it allows",
        None,
        "peer",
        "client",
    ),
    Rule(
        "bad_certificate",
        "reissue the certificate with a subjectAltName listing its host names (the CN is never used)",
        r"no DNS or IP subjectAltName",
        "local",
    ),
    Rule(
        "bad_certificate",
        "the client rejected this server's certificate, most often because it does not name the host the client "
        "asked for (SNI: {sni}; the certificate names: {names}): use a certificate for that name, or have the "
        "client ask for one of its names",
        None,
        "peer",
        "server",
    ),
    Rule(
        "bad_certificate",
        "the server rejected the client certificate: it must be a client certificate (clientAuth) issued by a "
        "CA the server trusts, and --key must be its key",
        None,
        "peer",
        "client",
    ),
    Rule(
        "certificate_expired",
        "renew the certificate (glasstls ca or your CA), or, if it is in fact still valid, set this machine's "
        "clock right",
        None,
        "local",
    ),
    Rule(
        "certificate_expired",
        "the peer says our certificate has expired or is not yet valid: renew it, or check the peer's clock",
        None,
        "peer",
    ),
    Rule(
        "unsupported_certificate",
        "issue a certificate whose extended key usage includes serverAuth (clientAuth for a client certificate)",
        r"extended key usage",
    ),
    Rule(
        "unsupported_certificate",
        "the certificate's key does not fit the cipher suite: use an RSA certificate for *_RSA_* suites and an "
        "ECDSA one for *_ECDSA_* suites, or choose other suites with --ciphers",
        r"does not fit",
    ),
    Rule("certificate_revoked", "the certificate was revoked by its CA: get a new one"),
    # -- revocation information (x509/revocation.py) ------------------------------------------------
    Rule(
        "bad_certificate_status_response",
        "the server must staple an OCSP response (openssl s_server -status_file FILE, glasstls server --ocsp FILE, "
        "nginx ssl_stapling on); without must-staple, --ocsp request accepts a server that staples none",
        r"stapled no OCSP response",
        "local",
        "client",
    ),
    Rule(
        "bad_certificate_status_response",
        "the stapled OCSP response is out of date: the server must fetch a fresh one from its CA's responder "
        "(openssl ocsp -respout FILE, glasstls ca ocsp), or this machine's clock is wrong",
        r"stale|too old|not valid yet",
        "local",
    ),
    Rule(
        "bad_certificate_status_response",
        "the server must staple a response about its own certificate, signed by the CA that issued it "
        "(or by a responder that CA delegated to, included in the response)",
        None,
        "local",
    ),
    Rule(
        "bad_certificate_status_response",
        "the client refused the stapled OCSP response, or its absence: give the server a current response signed "
        "by its certificate's CA (glasstls server --ocsp FILE)",
        None,
        "peer",
    ),
    Rule(
        "certificate_unknown",
        "hard-fail revocation needs a current CRL from every issuer in the chain: pass one --crl FILE per issuer "
        "(glasstls ca crl, or the CA's CRL distribution point), or use --revocation soft",
        r"hard-fail",
        "local",
        "client",
        problem="revocation_unknown",
    ),
    Rule(
        "certificate_unknown",
        "hard-fail revocation needs a current CRL from every issuer of the client's chain: pass one "
        "--client-crl FILE per issuer, or use --client-revocation soft",
        r"hard-fail",
        "local",
        "server",
        problem="revocation_unknown",
    ),
    # This server refused a client without a certificate: the advice is for the server's operator (the
    # server's --cert is its own), and for the client's.
    Rule(
        "certificate_required",
        _CLIENT_SENT_NONE,
        None,
        "local",
        "server",
    ),
    Rule(  # TLS 1.2 has no certificate_required: the server says handshake_failure (RFC 5246, Section 7.4.6)
        "handshake_failure",
        _CLIENT_SENT_NONE,
        r"requires one",
        "local",
        "server",
    ),
    Rule(
        "certificate_required",
        "the server requires a client certificate: pass --cert FILE --key FILE (issued by a CA the server trusts)",
    ),
    # -- negotiation ------------------------------------------------------------------------------
    Rule(
        "handshake_failure",
        "the server does not support RFC 5746 secure renegotiation (nothing current lacks it): update the "
        "server, or accept the risk for this one with --profile legacy (ClientConfig.legacy_server_connect=True)",
        r"does not support secure renegotiation",
        "local",
        "client",
    ),
    # A suite both sides list, not servable with this certificate: what the profile left out is beside
    # the point (RFC 8422, Section 5.1: an ECDSA certificate's curve must be one the client names).
    Rule(
        "handshake_failure",
        "the client's supported_groups does not name {m1}, the curve of this server's ECDSA certificate: add "
        "an RSA certificate (a second --cert and --key), or one on a curve the client names",
        r"ECDSA certificate is on (\S+), which the client's supported_groups does not name",
        "local",
        "server",
    ),
    # The server's certificate is the cause, not the suites (choice12._why_not_served, server13): no
    # profile or --ciphers helps.
    Rule(
        "handshake_failure",
        "the client accepts no signature this server's certificate can make (its signature_algorithms): serve "
        "a certificate whose key it names, e.g. ECDSA P-256 or RSA 2048 for a browser (which takes neither "
        "Ed25519 nor Ed448 nor id-RSASSA-PSS keys); a second --cert and --key can serve the others",
        r"no scheme of the client's signature_algorithms fits",
        "local",
        "server",
    ),
    Rule(
        "handshake_failure",
        "this server's certificate may not be used that way (its key type or KeyUsage): reissue it with the "
        "key usage the handshake needs (digitalSignature; keyEncipherment for RSA key exchange), or serve an "
        "ECDHE suite with a certificate that may sign",
        r"may only sign|KeyUsage allows|may not sign",
        "local",
        "server",
    ),
    Rule(
        "handshake_failure",
        "the server's security profile left out what the client offered: {m1}",
        r"refused by policy: (.*)$",
    ),
    # Suites no --ciphers can give (3DES, RC4, Camellia, ARIA, ...): testssl.sh probes for each family.
    Rule(
        "handshake_failure",
        "the client offered only cipher suites glasstls does not implement (retired or rare ones: 3DES, RC4, "
        "Camellia, ARIA, ...), so no setting here can serve it: a scanner probing for them, or a client "
        "that needs AES-GCM, ChaCha20-Poly1305 or AES-CBC enabled",
        r"client offered no TLS 1\.2 suite glasstls implements",
    ),
    Rule(
        "handshake_failure",
        "align the cipher suites: give --ciphers a suite the other side accepts (TLS 1.2 RSA key exchange and "
        "CBC suites need --profile legacy or --ciphers naming them)",
        r"no common cipher suite",
    ),
    Rule(
        "handshake_failure",
        "align the key exchange groups: --groups with one the other side supports (e.g. x25519,secp256r1)",
        r"no common group",
    ),
    Rule(
        "handshake_failure",
        "no signature both accept: use a certificate with another key type (ECDSA P-256 or RSA 2048) or widen "
        "the peer's signature algorithms",
        r"no common signature scheme",
    ),
    Rule(
        "handshake_failure",
        "one side requires the extended master secret (RFC 7627) and the other does not support it: upgrade "
        "the peer or relax the requirement",
        r"extended master secret",
    ),
    Rule(
        "handshake_failure",
        "choose an AEAD suite (AES-GCM or ChaCha20-Poly1305) with --ciphers; CBC suites need --profile legacy "
        "or naming them in --ciphers",
        r"encrypt-then-MAC|CBC",
    ),
    Rule(
        "handshake_failure",
        "the server found nothing acceptable in the ClientHello (cipher suite, group or signature algorithm): "
        "compare --ciphers / --groups / --tls-max with the server's configuration; its log says what was missing",
        None,
        "peer",
        "client",
    ),
    Rule(
        "handshake_failure",
        "the client refused what this server chose: compare --ciphers / --groups of both sides",
        None,
        "peer",
        "server",
    ),
    # A peer whose highest version is below TLS 1.2: no --tls-min on this side reaches it (RFC 8996).
    Rule(
        "protocol_version",
        "the peer speaks only versions retired by RFC 8996 (or RFC 7568 for SSL 3.0), which glasstls does not "
        "implement, so no setting here can serve it: a scanner probing for them, or a peer to upgrade",
        r"glasstls speaks only TLS 1\.2 and 1\.3",
        "local",
    ),
    Rule(
        "protocol_version",
        "the version ranges do not overlap: adjust --tls-min / --tls-max on one side (glasstls speaks TLS 1.2 and "
        "TLS 1.3)",
    ),
    # RFC 7919, Section 4: FFDHE groups named in supported_groups, none of them acceptable, forbid the
    # server a DHE suite; this side is the server, so the advice for a client refusing its group does not fit.
    Rule(
        "insufficient_security",
        "the client offered DHE suites only, and named finite-field groups (RFC 7919) none of which this "
        "server accepts: --groups with one it names (ffdhe3072 and ffdhe4096 come with --profile legacy), or "
        "a client that offers ECDHE",
        r"needs an? (?:EC)?DHE group both sides name",
        "local",
        "server",
    ),
    Rule(
        "insufficient_security",
        "the server's Diffie-Hellman group is too small or its own: a published group (RFC 7919 ffdhe2048 or "
        "RFC 3526 MODP, 2048 bits or more) is accepted by default, a server's own safe prime of 2048 bits or more "
        "with --profile legacy; or use an ECDHE suite",
        r"DHE|prime|ffdhe|RFC 7919",
    ),
    Rule(
        "insufficient_security",
        "the peer finds our parameters too weak: for DHE use ffdhe2048 or larger, or prefer ECDHE suites",
    ),
    Rule(
        "no_application_protocol",
        "the two ALPN lists share no protocol: give --alpn one the other side serves (h2, http/1.1, ... as its "
        "configuration says; the refusing side's log names what it accepts)",
    ),
    Rule(
        "unrecognized_name",
        "the client asked for a name no certificate of this server carries: add a certificate for it (another "
        "--cert and --key), or serve the first one to any name with --unknown-name default",
        None,
        "local",
        "server",
    ),
    Rule(
        "unrecognized_name",
        "the server serves no host of that name: use --servername with one of its names",
    ),
    Rule(
        "unknown_psk_identity",
        "the client's PSK does not fit this server's: the same --psk-identity, --psk-key and --psk-hash on both "
        "sides and a --psk-modes in common (the failed check above says which differed)",
        r"external PSKs only",
        "local",
        "server",
    ),
    Rule(
        "unknown_psk_identity",
        "the server can use no PSK the client offered: a saved session it no longer knows (drop --session-in "
        "for a full handshake), or an external PSK whose --psk-identity, --psk-key, --psk-hash or --psk-modes "
        "differ from the server's",
    ),
    Rule(
        "illegal_parameter",
        "something between client and server removed TLS 1.3 from the handshake (a TLS-intercepting proxy?): "
        "connect without it",
        r"downgrade sentinel",
    ),
    # -- keys -------------------------------------------------------------------------------------
    Rule(
        "decrypt_error",
        "the two sides computed different keys: a private key that does not belong to its certificate (check "
        "--cert / --key), tampering in transit (a middlebox rewriting the handshake), or with RSA key exchange "
        "a pre-master secret that did not decrypt",
        r"Finished",
    ),
    Rule(
        "decrypt_error",
        "a signature did not verify: the private key does not belong to the certificate, or a message was "
        "altered in transit",
        r"signature",
    ),
    Rule(
        "decrypt_error",
        "the peer's check of our Finished or signature failed: keys differ (the wrong --key for --cert?), or "
        "the handshake was altered in transit",
        None,
        "peer",
    ),
    Rule(
        "bad_record_mac",
        "records failed authentication: the keys differ or the data was altered in transit (a middlebox?)",
    ),
    # -- the protocol itself -----------------------------------------------------------------------
    Rule(
        "decode_error",
        "the peer sent a malformed message: is it TLS on that port at all (not plain HTTP)? Otherwise a bug in "
        "the peer; the reason names the field",
        None,
        "local",
    ),
    Rule(
        "decode_error",
        "the peer could not parse what we sent: an incompatibility or a bug; --trace=full shows the bytes",
        None,
        "peer",
    ),
    Rule(
        "unexpected_message",
        "nothing on that port speaks TLS (the reason shows what answered instead: HTTP? SSH?): check HOST:PORT",
        r"not speaking TLS: it sent plain text",
        "local",
        "client",
    ),
    Rule(
        "unexpected_message",
        "the client is not speaking TLS to this TLS port (plain HTTP? an http:// URL instead of https://?)",
        r"not speaking TLS: it sent plain text",
        "local",
        "server",
    ),
    Rule("unexpected_message", "configure the client for TLS 1.2 or later: only very old stacks send that", "SSL 2.0"),
    # A bound on what a peer may make us spend (limits.py names it in the reason): each message was
    # legal, there were too many. Before the catch-all below, which would call them out of order.
    Rule(
        None,
        "the peer went past a bound glasstls keeps on what a peer may make it spend (Limits.{m1}): a broken "
        "or hostile peer, or a legitimate one doing something unusual many times over; if it is legitimate, "
        "a program raises the bound with limits=Limits({m1}=...) in its ClientConfig or ServerConfig",
        r"\(limit Limits\.(\w+)",
        "local",
    ),
    Rule("unexpected_message", "a message arrived out of the protocol's order: a bug or an incompatible peer"),
    Rule("access_denied", "the peer accepted who we are but refuses us access: ask its operator"),
    Rule(
        None,
        "the server took the connection but never answered the ClientHello: a service that is not TLS and waits "
        "for its own protocol, or a stuck server; check HOST:PORT (--timeout waits longer)",
        r"no answer from the server",
    ),
    Rule(
        None,
        "the server answered too slowly for --timeout (a deadline for connecting and the whole handshake): "
        "an overloaded server or a slow path; --timeout waits longer",
        r"answer was still incomplete after",
    ),
    # A close_notify before the handshake completed is the peer's own choice to stop, not an error it
    # reports (RFC 8446, Section 6.1; RFC 5246, Section 7.2.1): scanners such as testssl.sh and sslyze do
    # it after every probe, so the fix says who decided, not "run again with --trace".
    Rule("close_notify", _CLIENT_STOPPED, None, "peer", "server"),  # (the PeerClosedError of the core)
    Rule("close_notify", _SERVER_STOPPED, None, "peer", "client"),
    Rule(None, _CLIENT_STOPPED, r"sent close_notify while", None, "server"),  # (the same said in a message)
    Rule(None, _SERVER_STOPPED, r"sent close_notify while", None, "client"),
    # user_canceled (RFC 8446, Section 6.1): the peer gave up its handshake on purpose, as glasstls's
    # server does when it shuts down with handshakes in flight.
    Rule(
        "user_canceled",
        "the client canceled the handshake itself (user_canceled): a client that gave up for a reason only its "
        "own log shows, or a scanner; nothing to change here unless real clients do it",
        None,
        "peer",
        "server",
    ),
    Rule(
        "user_canceled",
        "the server canceled the handshake (user_canceled): a server shutting down or restarting, or refusing "
        "for a reason only its log shows; try again, or ask its operator",
        None,
        "peer",
        "client",
    ),
    # The server got a ClientHello, so the client speaks TLS and shares a version and a suite with it:
    # the client's advice below ("may not speak TLS on that port") does not fit this side.
    Rule(
        None,
        "the client dropped the connection mid-handshake without an alert: a scanner's probe (testssl.sh ends "
        "its ROBOT and cipher probes this way), or a client that refused what this server sent (its "
        "certificate?) without saying why, which only its own log shows; --trace shows the last message sent",
        r"closed the connection",
        None,
        "server",
    ),
    Rule(
        None,
        "the connection ended without an alert: the peer may not speak TLS on that port, may support none of "
        "the versions or suites offered, or refused for a reason only its log shows; --trace shows the last "
        "message it got",
        r"closed the connection",
    ),
)
