"""What the illustrated page (:mod:`glasstls.trace.illustrate`) says and how it looks.

The sentences that explain each field (:func:`explain`) and each secret
(:func:`secret_info`), the colour category of each field (:func:`_category`,
:data:`LEGEND`), and the page's inline :data:`CSS` and :data:`SCRIPT`. Data
only: it imports nothing from glasstls.
"""

from __future__ import annotations


def _category(name: str, parent: str) -> str:
    if parent == "TLSInnerPlaintext" and name == "type":
        return "c-inner"
    if parent == "CompressedCertificate" and name in ("algorithm", "uncompressed_length"):
        return "c-cert"
    if name == "length" or name.endswith(" length"):
        return "c-len"
    for cat, names in _CATEGORIES:
        if name in names:
            return cat
    return "c-data" if parent in ("Extension", "extension_data") else "c-ext"


_CATEGORIES = [
    ("c-hdr", {"type", "legacy_record_version", "msg_type"}),
    ("c-ver", {"legacy_version", "selected_version", "ProtocolVersion"}),
    ("c-rnd", {"random"}),
    (
        "c-sid",
        {
            "legacy_session_id",
            "legacy_session_id_echo",
            "ticket",
            "identity",
            "ticket_nonce",
            "ticket_age_add",
            "obfuscated_ticket_age",
            "PskBinderEntry",
            "cookie",
        },
    ),
    ("c-suite", {"cipher_suite", "compression_method", "legacy_compression_method"}),
    ("c-ext", {"extension_type"}),
    (
        "c-key",
        {
            "key_exchange",
            "public",
            "ecdh_Yc",
            "dh_Yc",
            "dh_p",
            "dh_g",
            "dh_Ys",
            "EncryptedPreMasterSecret",
            "exchange_keys",
            "group",
            "named_curve",
            "NamedGroup",
            "selected_group",
            "curve_type",
            # the parts of a hybrid post-quantum share (draft-ietf-tls-ecdhe-mlkem)
            "mlkem768_encapsulation_key",
            "mlkem768_ciphertext",
            "mlkem1024_encapsulation_key",
            "mlkem1024_ciphertext",
            "x25519",
            "secp256r1",
            "secp384r1",
        },
    ),
    ("c-cert", {"cert_data", "ASN.1Cert", "OCSPResponse", "DistinguishedName", "compressed_certificate_message"}),
    ("c-sig", {"algorithm", "signature", "SignatureScheme"}),
    ("c-fin", {"verify_data"}),
    ("c-enc", {"encrypted_content", "encrypted_content_mac_padding", "encrypted_record", "fragment"}),
    ("c-tag", {"auth_tag", "explicit_nonce", "iv"}),
    ("c-inner", {"zeros", "padding"}),
    ("c-app", {"application_data"}),
    ("c-alert", {"level", "description"}),
    ("c-bad", {"undecodable", "message fragment"}),
]


# -- what each field is for ---------------------------------------------------------------------
# Keys: "Message/field@13", "Message/field", "parent/field", "field@12", "field@ecdhe", "field".
# Sentences are ours; the RFC sections say where the rules are.

_WHY = {
    # records (RFC 8446, Section 5.1; RFC 5246, Section 6.2)
    "record/type": "The record's content type: handshake (22), alert (21), change_cipher_spec (20) or "
    "application_data (23). TLS 1.3 labels every encrypted record application_data and hides the real type inside.",
    "legacy_record_version": "The record-layer version. It negotiates nothing: 0x0301 in a first ClientHello for old "
    "middleboxes, 0x0303 everywhere else.",
    "record/length": "Length of the payload that follows; at most 16384 bytes of plaintext (RFC 8446, Section 5.1).",
    "fragment": "The record's payload: one or more handshake messages (or pieces of one), an alert, a "
    "change_cipher_spec or application data.",
    "encrypted_record": "The encrypted TLSInnerPlaintext followed by the AEAD tag (RFC 8446, Section 5.2).",
    "encrypted_content": "The content, encrypted with the sender's traffic key. Only a holder of the keys derived in "
    "this handshake can read it.",
    "encrypted_content_mac_padding": "CBC mode (RFC 5246, Section 6.2.3.2): the content, its HMAC and the padding, "
    "encrypted together (MAC-then-encrypt).",
    "auth_tag": "The AEAD authentication tag: proof that the ciphertext and the record header were not changed. "
    "A wrong tag ends the connection with bad_record_mac.",
    "explicit_nonce": "TLS 1.2 AES-GCM/CCM: the 8 bytes of the nonce sent in the clear; the other 4 come from the key "
    "block (RFC 5288, Section 3).",
    "iv": "The random initialisation vector of this CBC record (RFC 5246, Section 6.2.3.2).",
    # TLSInnerPlaintext (RFC 8446, Section 5.2)
    "TLSInnerPlaintext": "What the AEAD protects: the content, then the real content type, then optional zeros.",
    "TLSInnerPlaintext/type": "The real content type, hidden inside the encryption so an observer cannot tell "
    "handshake messages, alerts and data apart.",
    "zeros": "Padding: zeros that hide the real length of the content.",
    "content": "The content of the record.",
    "plaintext": "The decrypted content of the record.",
    "application_data": "Application data: the bytes the application sent (an HTTP request, say). On the wire they "
    "are ciphertext; decrypted here with the traffic keys.",
    "message fragment": "Part of a handshake message that does not fit in this record: messages may span records "
    "(RFC 8446, Section 5.1).",
    "undecodable": "Bytes that do not hold what the layout says at this point.",
    # alerts and change_cipher_spec
    "Alert": "An alert: a warning or a fatal error, or close_notify, the orderly end of the connection "
    "(RFC 8446, Section 6).",
    "level": "warning (1) or fatal (2). In TLS 1.3 the description alone decides, except for close_notify.",
    "description": "What happened: close_notify, or the error that ends the connection.",
    "ChangeCipherSpec@12": "From the next record on, this side encrypts with the keys just derived "
    "(RFC 5246, Section 7.1).",
    "ChangeCipherSpec@13": "A dummy record sent only so middleboxes that expect TLS 1.2 see a familiar flow; the peer "
    "drops it (RFC 8446, Appendix D.4).",
    "ChangeCipherSpec/type": "Always the single byte 1.",
    # handshake messages
    "msg_type": "The handshake message type.",
    "length": "Length in bytes of what follows in this structure.",
    "ClientHello@13": "The client opens the handshake: the versions, cipher suites, groups and signature schemes it "
    "supports, the server name it wants, its random, and already a key share, so the server can answer with "
    "its own and both can encrypt after one round trip.",
    "ClientHello@12": "The client opens the handshake: the versions, cipher suites and extensions it supports and the "
    "client random, the first of the three randoms the keys are made from.",
    "ServerHello@13": "The server chooses the version, the cipher suite and a key share. With both shares each side "
    "now computes the same shared secret: everything after this message is encrypted.",
    "ServerHello@12": "The server chooses the version and cipher suite and sends the server random, the second of the "
    "three randoms, and a session ID to resume with later.",
    "HelloRetryRequest": "The server asks the client to try again with a key share for another group "
    "(RFC 8446, Section 4.1.4), or only to echo a cookie: a server that sends one keeps no state between the two "
    "hellos (Section 4.2.2).",
    "EncryptedExtensions": "The extensions that do not shape the key exchange (ALPN, server name acknowledgement, "
    "record size limit), already encrypted (RFC 8446, Section 4.3.1).",
    "CertificateRequest": "The server asks the client for a certificate: client authentication.",
    "Certificate": "The sender's certificate chain: its identity and public key, signed by a certificate authority "
    "the peer is to check up to a trusted root, with the host name and the validity dates.",
    "CertificateVerify": "A signature over the whole handshake so far with the certificate's private key: proves the "
    "sender holds that key and that the handshake is this one (RFC 8446, Section 4.4.3).",
    "Finished@13": "An HMAC over the whole transcript with a key from the handshake secret: proves both sides saw "
    "the same messages, so a tampered offer or a downgrade is caught (RFC 8446, Section 4.4.4).",
    "Finished@12": "The first message under the new keys: 12 bytes of PRF over the master secret and all handshake "
    "messages. If an attacker changed anything (a downgrade, say), the values differ (RFC 5246, Section 7.4.9).",
    "ServerKeyExchange": "The server's ephemeral Diffie-Hellman public value, signed with its certificate's key over "
    "both randoms: the signature is what stops an attacker from substituting its own value.",
    "ServerHelloDone": "The server's flight is over; the client's turn (RFC 5246, Section 7.4.5).",
    "ClientKeyExchange@ecdhe": "The client's ephemeral ECDH public key. Both sides now compute the pre-master secret "
    "and, with the two randoms, the master secret.",
    "ClientKeyExchange@dhe": "The client's ephemeral DH public value. Both sides now compute the pre-master secret "
    "and, with the two randoms, the master secret.",
    "ClientKeyExchange@rsa": "The pre-master secret, the third random, encrypted with the server's RSA key: client "
    "random, server random and pre-master secret make the master secret. No forward secrecy.",
    "NewSessionTicket@12": "A session ticket: the session state sealed under a key only the server knows. The client "
    "keeps it and presents it later to skip the full handshake (RFC 5077).",
    "NewSessionTicket@13": "A ticket for resumption, sent after the handshake: a later connection offers it as the "
    "identity of a pre-shared key, whose value the client derives from this connection's resumption secret and "
    "the ticket's nonce; the server then skips its certificate. With early_data it also allows 0-RTT "
    "(RFC 8446, Section 4.6.1).",
    "CompressedCertificate": "The Certificate message, compressed (RFC 8879) because the peer offered "
    "compress_certificate. The receiver inflates it to exactly uncompressed_length bytes (within its limit) "
    "and checks the chain inside as any Certificate; the transcript keeps the compressed message.",
    "CompressedCertificate/algorithm": "The compression algorithm: zlib (1), brotli (2) or zstd (3); it must be "
    "one the receiver offered (RFC 8879, Section 3).",
    "uncompressed_length": "The length of the Certificate message's body once inflated; anything else is "
    "bad_certificate (RFC 8879, Section 4).",
    "compressed_certificate_message": "The Certificate message's body (without its 4-byte header), compressed.",
    "KeyUpdate": "The sender switches to the next generation of traffic keys (RFC 8446, Section 4.6.3).",
    "CertificateStatus": "A stapled OCSP response: the CA's signed statement that the certificate is not revoked.",
    "EndOfEarlyData": "The end of the 0-RTT data: the last message under the client's early traffic keys, sent "
    "only when the server accepted early data; the client's Finished follows under its handshake keys "
    "(RFC 8446, Section 4.5).",
    # ClientHello / ServerHello fields
    "legacy_version@13": "Frozen at TLS 1.2 (0x0303) so old middleboxes pass the message; the real version is "
    "negotiated in supported_versions.",
    "legacy_version@12": "The highest version the client supports (ClientHello) or the one the server chose.",
    "ClientHello/random@12": "The client random: 32 fresh random bytes, one of the three values the master secret is "
    "made from, so every connection gets fresh keys.",
    "ServerHello/random@12": "The server random: 32 fresh random bytes, the second of the three values the master "
    "secret is made from. Its last 8 bytes would carry a sentinel if a TLS 1.3 server were pushed down to 1.2.",
    "random": "32 fresh random bytes. They enter the transcript, so every handshake's keys differ even with the "
    "same key shares. A server's random can carry a downgrade sentinel in its last 8 bytes.",
    "legacy_session_id@13": "A meaningless 32-byte value in TLS 1.3, sent for middlebox compatibility mode; the "
    "server echoes it (RFC 8446, Appendix D.4).",
    "legacy_session_id@12": "The ID of a cached session the client would like to resume (empty for a fresh start).",
    "legacy_session_id_echo@13": "The client's legacy_session_id, echoed.",
    "legacy_session_id_echo@12": "The session ID: the client's own when the server resumes that session, a new one "
    "otherwise (empty if the server will not cache it).",
    "cipher_suites": "The cipher suites the client offers, in its order of preference.",
    "ClientHello/cipher_suite": "One offered cipher suite. TLS 1.3 suites name an AEAD and a hash; TLS 1.2 suites "
    "also the key exchange and the authentication.",
    "ServerHello/cipher_suite": "The cipher suite the server chose from the client's list.",
    "legacy_compression_methods": "Compression is gone from TLS (it leaked secrets: CRIME); only null (0).",
    "compression_method": "null (0): no compression.",
    "legacy_compression_method": "null (0): no compression.",
    "extensions": "Extensions: how everything newer than the base protocol is negotiated.",
    "extension_type": "Which extension this is (IANA TLS ExtensionType registry).",
    # Certificate, CertificateVerify, Finished
    "certificate_request_context": "Empty in a server's Certificate; echoes the CertificateRequest's context in "
    "a client's.",
    "certificate_list": "The chain: the end-entity certificate first, then the intermediates towards a root the "
    "peer trusts.",
    "CertificateEntry": "One certificate of the chain and its extensions.",
    "cert_data": "One X.509 certificate in DER: subject, public key, issuer, validity and the issuer's signature.",
    "ASN.1Cert": "One X.509 certificate in DER: subject, public key, issuer, validity and the issuer's signature.",
    "algorithm": "The signature scheme: algorithm and hash.",
    "CertificateVerify/signature": "The signature over a context string and the transcript hash, made with the "
    "certificate's private key.",
    "ServerKeyExchange/signature": "The signature over client random, server random and the parameters above, made "
    "with the certificate's private key.",
    "verify_data": "The Finished value the peer recomputes from its own transcript and keys; a mismatch is "
    "decrypt_error.",
    # TLS 1.2 key exchange
    "curve_type": "named_curve (3): the curve is named, not spelled out (RFC 8422, Section 5.4).",
    "named_curve": "The elliptic curve of the exchange.",
    "public": "The server's ephemeral ECDH public key, thrown away after the handshake: forward secrecy.",
    "dh_p": "The DH prime modulus.",
    "dh_g": "The DH generator.",
    "dh_Ys": "The server's ephemeral DH public value, g^x mod p.",
    "ecdh_Yc": "The client's ephemeral ECDH public key.",
    "dh_Yc": "The client's ephemeral DH public value.",
    "EncryptedPreMasterSecret": "48 bytes (the client's version and 46 random bytes) encrypted with the server's RSA "
    "public key; only the private key's owner can recover it.",
    "exchange_keys": "The client's key exchange value; the cipher suite says whether RSA-encrypted or DH.",
    # tickets and requests
    "ticket": "Opaque to the client: the server's sealed session state, handed back to resume.",
    "ticket_lifetime": "How long, in seconds, the ticket may be used.",
    "ticket_lifetime_hint": "How long, in seconds, the server suggests keeping the ticket.",
    "ticket_age_add": "A random value the client adds to the ticket's age (in milliseconds, mod 2^32) when it "
    "offers the ticket, so that the age on the wire reveals nothing to an observer.",
    "ticket_nonce": "Makes each ticket's pre-shared key unique: PSK = HKDF-Expand-Label(resumption_master_secret, "
    '"resumption", ticket_nonce, Hash.length) (RFC 8446, Section 4.6.1).',
    "max_early_data_size": "How many bytes of 0-RTT data the client may send with this ticket (RFC 8446, "
    "Section 4.2.10).",
    # pre_shared_key and cookie (RFC 8446, Sections 4.2.2 and 4.2.11)
    "identities": "The pre-shared keys offered, each an identity and an obfuscated age.",
    "PskIdentity": "One offered PSK: a ticket from an earlier connection, or the name of an external PSK.",
    "PskIdentity/identity": "The ticket as the server issued it (opaque to the client), or an external PSK's name.",
    "obfuscated_ticket_age": "The ticket's age in milliseconds plus its ticket_age_add (mod 2^32): the server "
    "subtracts it again to check freshness, an observer sees a random number. 0 for an external PSK.",
    "binders": "One binder per identity, in the same order.",
    "PskBinderEntry": "An HMAC, keyed from the PSK, over the ClientHello up to the binders: proves the client "
    "holds the PSK and ties the offer to this ClientHello (RFC 8446, Section 4.2.11.2).",
    "selected_identity": "The index of the identity the server accepted: a resumption, so no certificate follows.",
    "cookie": "A value the server asks the client to echo: it carries the server's state (the first ClientHello's "
    "hash, sealed under a server key), so the server need remember nothing (RFC 8446, Section 4.2.2).",
    "ke_modes": "How a PSK may be used: psk_dhe_ke (with a fresh (EC)DHE exchange, forward secret) or psk_ke "
    "(the PSK alone).",
    # the parts of a hybrid post-quantum key share (draft-ietf-tls-ecdhe-mlkem, Sections 4.1 and 4.2)
    "mlkem768_encapsulation_key": "The client's ML-KEM-768 encapsulation (public) key, 1184 bytes (FIPS 203). "
    "The server encapsulates a fresh secret to it; only the client's private key can decapsulate it, and no "
    "known quantum algorithm breaks that.",
    "mlkem768_ciphertext": "The ML-KEM-768 ciphertext, 1088 bytes: the server's fresh secret encapsulated to the "
    "client's key. The client decapsulates it; the ML-KEM shared secret is the first half of the hybrid secret.",
    "mlkem1024_encapsulation_key": "The client's ML-KEM-1024 encapsulation key, 1568 bytes (FIPS 203).",
    "mlkem1024_ciphertext": "The ML-KEM-1024 ciphertext, 1568 bytes, encapsulated to the client's key.",
    "key_exchange/x25519": "The X25519 half of the hybrid share: a 32-byte ephemeral public key (RFC 7748). The "
    "hybrid's secret joins the ML-KEM and X25519 secrets, so an attacker must break both; ML-KEM guards a "
    "recording against a future quantum computer (harvest now, decrypt later).",
    "key_exchange/secp256r1": "The ECDH half of the hybrid share: an uncompressed secp256r1 point, 65 bytes.",
    "key_exchange/secp384r1": "The ECDH half of the hybrid share: an uncompressed secp384r1 point, 97 bytes.",
    "certificate_types": "The kinds of client certificate the server accepts.",
    "supported_signature_algorithms": "Signature schemes the sender accepts.",
    "certificate_authorities": "The CAs whose certificates the server accepts; empty means any.",
    # inside extensions
    "ServerName": "One name entry.",
    "HostName": "The DNS name, in ASCII.",
    "name_type": "host_name (0), the only type defined.",
    "NamedGroup": "A key exchange group: an elliptic curve, a finite-field group or a post-quantum hybrid.",
    "KeyShareEntry": "A group and the sender's ephemeral public key for it.",
    "group": "The group of this key share.",
    "key_exchange": "The ephemeral public key for that group (x25519: 32 bytes; X25519MLKEM768: an ML-KEM "
    "encapsulation key or ciphertext and an X25519 key).",
    "selected_group": "The group the server wants a key share for.",
    "SignatureScheme": "A signature scheme the sender accepts.",
    "ProtocolVersion": "A version the client supports.",
    "selected_version": "The version the server chose.",
    "ProtocolName": "An application protocol name, e.g. h2 or http/1.1.",
    "PskKeyExchangeMode": "psk_dhe_ke: a resumption also does a fresh (EC)DHE exchange, keeping forward secrecy; "
    "psk_ke: the keys come from the PSK alone.",
    "RecordSizeLimit": "The largest record the sender will accept (RFC 8449).",
    "ECPointFormat": "uncompressed (0), the only format in use.",
    "renegotiated_connection": "Empty in a first handshake (RFC 5746, Section 3.2).",
    "padding": "Zeros that make the ClientHello longer, to get past buggy middleboxes (RFC 7685).",
}

_EXT_WHY = {
    "server_name": "SNI: the host name the client wants, so a server with many sites can pick the certificate. "
    "It travels in the clear (RFC 6066, Section 3).",
    "server_name@EncryptedExtensions": "Empty: the server acknowledges the name the client sent.",
    "server_name@ServerHello": "Empty: the server acknowledges the name the client sent.",
    "supported_groups": "The key exchange groups the client supports, in order of preference (RFC 8446, 4.2.7).",
    "key_share": "The client's ephemeral public keys, sent at once so the server can finish the exchange in one "
    "round trip (RFC 8446, Section 4.2.8).",
    "key_share@ServerHello": "The server's ephemeral public key for the chosen group. Combined with the client's it "
    "gives the shared secret, which only the two of them know.",
    "key_share@HelloRetryRequest": "The group the server wants a key share for.",
    "pre_shared_key@ServerHello": "The server accepts one of the offered PSKs: a resumption, no certificate.",
    "early_data@EncryptedExtensions": "The server accepts the client's 0-RTT data.",
    "early_data@NewSessionTicket": "This ticket allows 0-RTT: the largest amount of early data the client may send "
    "with it.",
    "cookie@HelloRetryRequest": "A cookie the client must echo in its second ClientHello; with it the server keeps "
    "no state between the two hellos (RFC 8446, Section 4.2.2).",
    "supported_versions": "The TLS versions the client supports; this, not legacy_version, negotiates TLS 1.3.",
    "supported_versions@ServerHello": "The version the server chose: its presence makes this a TLS 1.3 handshake.",
    "signature_algorithms": "The signature schemes the client accepts in CertificateVerify and ServerKeyExchange.",
    "signature_algorithms_cert": "The signature schemes the client accepts in certificates.",
    "application_layer_protocol_negotiation": "ALPN: the application protocols offered (h2, http/1.1); the server "
    "picks one (RFC 7301).",
    "psk_key_exchange_modes": "How a pre-shared key may be used for resumption (RFC 8446, Section 4.2.9): "
    "psk_dhe_ke adds a fresh (EC)DHE exchange (forward secret), psk_ke does not.",
    "record_size_limit": "The largest record the sender accepts (RFC 8449).",
    "extended_master_secret": "The master secret is bound to the hash of the whole handshake, not just the randoms, "
    "which defeats the triple-handshake attack (RFC 7627).",
    "renegotiation_info": "Secure renegotiation (RFC 5746); empty in a first handshake.",
    "session_ticket": "Session tickets (RFC 5077): empty to say the client takes one, or a ticket to resume with.",
    "ec_point_formats": "Elliptic curve point formats (RFC 8422); only uncompressed is used.",
    "pre_shared_key": "Pre-shared keys offered for resumption (usually a ticket from an earlier connection): "
    "identities with obfuscated ages, then a binder each. Always the last extension (RFC 8446, 4.2.11).",
    "early_data": "0-RTT: application data follows the ClientHello at once, under keys from the PSK. It saves a "
    "round trip but has no forward secrecy and can be replayed (RFC 8446, Section 8).",
    "cookie": "The cookie from the HelloRetryRequest, echoed unchanged (RFC 8446, Section 4.2.2).",
    "padding": "Zeros that lengthen the ClientHello past sizes buggy middleboxes choke on (RFC 7685).",
    "status_request": "Asks the server to staple an OCSP response for its certificate (RFC 6066, Section 8).",
    "encrypt_then_mac": "CBC suites MAC the ciphertext instead of the plaintext (RFC 7366).",
    "post_handshake_auth": "The client accepts a CertificateRequest after the handshake.",
    "certificate_authorities": "The CAs the sender trusts.",
    "compress_certificate": "Certificate compression algorithms (RFC 8879).",
    "max_fragment_length": "A smaller maximum record size (RFC 6066, Section 4).",
    "signed_certificate_timestamp": "Certificate Transparency timestamps (RFC 6962).",
    "encrypted_client_hello": "Encrypted ClientHello: the real ClientHello, encrypted to the server's ECH key.",
}

_GREASE_WHY = "GREASE (RFC 8701): a reserved value with no meaning, sent so servers keep tolerating unknown ones."


def explain(name: str, parent: str, msg: str, v13: bool, *, ext: str = "", kx: str | None = None) -> str:
    """The purpose of field ``name`` (inside ``parent``, in message ``msg``), in a sentence or two."""
    v = "@13" if v13 else "@12"
    if name == "Extension" and ext:
        if ext.startswith("GREASE"):
            return _GREASE_WHY
        return _EXT_WHY.get(f"{ext}@{msg}") or _EXT_WHY.get(ext) or f"The {ext} extension."
    keys = [f"{msg}/{name}{v}", f"{msg}/{name}", f"{parent}/{name}{v}", f"{parent}/{name}", f"{name}{v}"]
    keys += [f"{name}@{kx}", name] if kx else [name]
    for key in keys:
        if key in _WHY:
            return _WHY[key]
    if name.endswith(" length"):
        return f"Length in bytes of the {name.removesuffix(' length')} that follows."
    return ""


# RFC names and formulas of the secrets, and their NSS key log labels.
_SECRETS = {
    "early_secret": ("RFC 8446, Section 7.1: HKDF-Extract(0, PSK)", ""),
    "binder_key": (
        'RFC 8446, Section 7.1: Derive-Secret(Early Secret, "res binder" or "ext binder", ""): keys the PSK binders',
        "",
    ),
    "client_early_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Early Secret, "c e traffic", ClientHello)',
        "CLIENT_EARLY_TRAFFIC_SECRET",
    ),
    "early_exporter_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Early Secret, "e exp master", ClientHello)',
        "EARLY_EXPORTER_SECRET",
    ),
    "handshake_secret": (
        'RFC 8446, Section 7.1: HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE shared secret): '
        "the key exchange's shared secret enters the schedule",
        "",
    ),
    "client_handshake_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Handshake Secret, "c hs traffic", ClientHello…ServerHello): '
        "protects the client's encrypted handshake messages",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    ),
    "server_handshake_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Handshake Secret, "s hs traffic", ClientHello…ServerHello): '
        "protects the server's EncryptedExtensions to Finished",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    ),
    "master_secret@13": ('RFC 8446, Section 7.1: HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0)', ""),
    "master_secret@12": (
        'RFC 5246, Section 8.1: PRF(pre_master_secret, "master secret", client_random + server_random), 48 bytes: '
        "the three randoms become one secret, and the key block of both directions is expanded from it",
        "CLIENT_RANDOM",
    ),
    "master_secret@12ems": (
        'RFC 7627, Section 4: PRF(pre_master_secret, "extended master secret", session_hash), 48 bytes: the '
        "pre-master secret with the hash of the handshake so far, which holds both randoms; the key block of both "
        "directions is expanded from it",
        "CLIENT_RANDOM",
    ),
    "client_application_traffic_secret_0": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "c ap traffic", ClientHello…server Finished)',
        "CLIENT_TRAFFIC_SECRET_0",
    ),
    "server_application_traffic_secret_0": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "s ap traffic", ClientHello…server Finished)',
        "SERVER_TRAFFIC_SECRET_0",
    ),
    "exporter_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "exp master", ClientHello…server Finished): '
        "for keying material exporters (RFC 5705)",
        "EXPORTER_SECRET",
    ),
    "resumption_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "res master", ClientHello…client Finished): '
        "the pre-shared keys of this connection's tickets derive from it",
        "",
    ),
}


def secret_info(label: str, v13: bool, ems: bool = False) -> tuple[str, str]:
    """(what the RFC says the secret is, its NSS key log label or "")."""
    version = "13" if v13 else "12ems" if ems else "12"
    found = _SECRETS.get(f"{label}@{version}") or _SECRETS.get(label)
    return found if found else ("a secret of the key schedule", "")


LEGEND = [
    ("c-hdr", "record / message header"),
    ("c-len", "length"),
    ("c-ver", "version"),
    ("c-rnd", "random"),
    ("c-sid", "session ID, ticket"),
    ("c-suite", "cipher suite, compression"),
    ("c-ext", "extension type"),
    ("c-data", "extension data"),
    ("c-key", "key exchange"),
    ("c-cert", "certificate"),
    ("c-sig", "signature"),
    ("c-fin", "Finished"),
    ("c-enc", "ciphertext"),
    ("c-tag", "AEAD tag, nonce"),
    ("c-inner", "inner type, padding"),
    ("c-app", "application data"),
    ("c-alert", "alert"),
    ("c-bad", "fragment, undecodable"),
]

CSS = """
:root{--c2s:#2563eb;--s2c:#c2410c;--ink:#1f2328;--mute:#6b7280;--line:#e5e7eb;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "DejaVu Sans",system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px 20px 180px}
h1{font-size:24px;margin:0 0 6px}
h2{font-size:15px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}
header .intro{margin:0 0 10px;color:#374151;max-width:960px}
.warn{background:#fff4e5;border:1px solid #f5b971;border-radius:6px;padding:6px 10px;margin:0 0 12px;color:#7a4100}
.top{display:grid;grid-template-columns:minmax(0,1.1fr) minmax(0,1fr);gap:14px}
section.summary,section.checks,section.flow,section.legend{background:#fff;border:1px solid var(--line);
border-radius:8px;padding:12px 14px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}
dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}
.checks ul{margin:0;padding-left:0;list-style:none}.checks li{margin:2px 0;overflow-wrap:anywhere}
.checks i{color:var(--mute);font-style:normal}
.ok{color:#15803d}.bad{color:#b91c1c}
section.flow,section.legend{margin-top:14px}
.fl-head{display:grid;grid-template-columns:1fr 1fr;font-weight:bold;color:var(--mute);padding:0 4px}
.fl-head span:last-child{text-align:right}
a.fl{display:grid;grid-template-columns:3em 1fr;align-items:center;text-decoration:none;color:var(--ink);
margin:2px 0;padding:1px 4px;border-radius:4px}
a.fl:hover{background:#eef2ff}
.fl-n{color:var(--mute);font-size:12px}
.fl-k{text-align:center;color:#0f766e;font-size:11.5px;margin:0 10%;border-top:1px dashed #99f6e4;line-height:1.6}
.fl-e{font-size:11px;color:#fff;background:#57534e;border-radius:6px;padding:0 5px;vertical-align:1px}
.fl-m{position:relative;padding:1px 26px 3px;border-bottom:2px solid;font-size:13px}
a.c2s .fl-m{border-color:var(--c2s);margin-right:8%}
a.s2c .fl-m{border-color:var(--s2c);margin-left:8%;text-align:right}
a.c2s .fl-m:after{content:"";position:absolute;right:-2px;bottom:-6px;border:5px solid transparent;
border-left:9px solid var(--c2s)}
a.s2c .fl-m:before{content:"";position:absolute;left:-2px;bottom:-6px;border:5px solid transparent;
border-right:9px solid var(--s2c)}
.lg{display:inline-flex;align-items:center;margin:2px 12px 2px 0;font-size:13px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px;
border:1px solid rgba(0,0,0,.15)}
.timeline{margin-top:18px}
article.record{background:#fff;border:1px solid var(--line);border-left:5px solid;border-radius:8px;
margin:12px 0;padding:10px 14px}
article.c2s{border-left-color:var(--c2s);margin-right:3%}
article.s2c{border-left-color:var(--s2c);margin-left:3%}
.rh{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.rn{font-weight:bold;color:var(--mute)}
.dir{font-weight:bold;font-size:13px;padding:1px 8px;border-radius:10px;color:#fff}
.c2s .dir{background:var(--c2s)}.s2c .dir{background:var(--s2c)}
.rt{font-size:17px;font-weight:bold}
.rm{color:var(--mute);font-size:12.5px;margin:2px 0 6px}
.intro-r p{margin:2px 0;color:#374151;font-size:13px}
.blk{margin-top:8px;border-top:1px dashed var(--line);padding-top:6px}
.blk.dec{background:#fbfcf4}
.bh{font-weight:bold;font-size:13px;margin-bottom:4px}.bh span{font-weight:normal;color:var(--mute)}
.cols{display:grid;grid-template-columns:50ch minmax(0,1fr);gap:16px;align-items:start}
.hex{font:12.5px/1.75 "DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;width:50ch;word-spacing:0}
.f{border-radius:3px;padding:1px 0;box-decoration-break:clone;-webkit-box-decoration-break:clone;cursor:pointer}
.f .mid{display:none}.f.open .mid{display:inline}.f.open .ell{display:none}
.ell{white-space:nowrap;color:#1e3a8a;text-decoration:underline dotted;cursor:pointer}
.f.alt{filter:brightness(.9)}
.hl{outline:2px solid #111;outline-offset:0;position:relative;z-index:1}
.row.hl{background:#fff6c2;outline:none}
.tree{font-size:12.5px;max-height:560px;overflow:auto;border-left:1px solid var(--line);padding-left:10px}
.tree details>summary{list-style:none;cursor:pointer}
.tree details>summary::-webkit-details-marker{display:none}
.tree details>summary .row:before{content:"▸";color:var(--mute);display:inline-block;width:12px}
.tree details[open]>summary .row:before{content:"▾"}
.kids{margin-left:14px;border-left:1px dotted #d1d5db;padding-left:6px}
.row{padding:0 4px;border-radius:3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.row:hover{background:#f3f4f6}
.nm{font-weight:bold}.val{color:#374151;font-family:"DejaVu Sans Mono",monospace;font-size:12px}
.note{color:#b45309;margin-left:6px;font-style:italic}
.steps{margin:8px 6%;padding:6px 12px;border-left:3px solid #a78bfa;background:#f5f3ff;border-radius:6px;
font-size:13px}
.step{margin:3px 0;overflow-wrap:anywhere}
.badge{display:inline-block;min-width:54px;font-size:11px;text-transform:uppercase;letter-spacing:.04em;
text-align:center;border-radius:8px;padding:0 6px;margin-right:8px;color:#fff;background:#6b7280}
.secret .badge{background:#7c3aed}.keys .badge{background:#0f766e}.ok .badge{background:#15803d}
.bad .badge{background:#b91c1c}.st{color:var(--mute)}
.sf{color:#4b5563;margin:1px 0 1px 66px;font-size:12.5px}
.sv,.kl{font:12px "DejaVu Sans Mono",monospace;margin-left:66px;color:#3730a3;overflow-wrap:anywhere}
.kl{color:var(--mute)}
#inspector{position:fixed;right:16px;bottom:16px;width:440px;max-height:45vh;overflow:auto;background:#111827;
color:#f9fafb;border-radius:10px;padding:10px 14px;font-size:13px;box-shadow:0 6px 24px rgba(0,0,0,.3);opacity:.95}
#inspector.pinned{outline:3px solid #facc15}
#inspector.idle{width:auto;padding:6px 12px}#inspector.idle .i-why{display:none}
.i-path{font-weight:bold;overflow-wrap:anywhere}.i-value{font-family:"DejaVu Sans Mono",monospace;
color:#fde68a;overflow-wrap:anywhere}.i-range{color:#9ca3af;font-size:12px}.i-note{color:#fdba74}
.c-hdr{background:#cbd5e1}.c-len{background:#e5e7eb}.c-ver{background:#bfdbfe}.c-rnd{background:#fde68a}
.c-sid{background:#fed7aa}.c-suite{background:#bbf7d0}.c-ext{background:#ddd6fe}.c-data{background:#ede9fe}
.c-key{background:#fbcfe8}.c-cert{background:#99f6e4}.c-sig{background:#fecaca}.c-fin{background:#fcd34d}
.c-enc{background:#57534e;color:#fafaf9}.c-tag{background:#d6c3a5}.c-inner{background:#a5f3fc}.c-app{background:#d9f99d}
.c-alert{background:#fca5a5}
.c-bad{background:repeating-linear-gradient(45deg,#fee2e2,#fee2e2 4px,#fecaca 4px,#fecaca 8px)}
.empty{color:var(--mute)}
@media (max-width:900px){.cols,.top{grid-template-columns:1fr}.hex{width:auto}}
"""

SCRIPT = """
(function () {
  var W = JSON.parse(document.getElementById('why').textContent);
  var panel = document.getElementById('inspector');
  var pinned = null, current = null;
  function part(cls, text) { panel.querySelector(cls).textContent = text || ''; }
  function show(id) {
    if (current === id) { return; }
    var row = document.getElementById('t-' + id);
    if (!row) { return; }
    current = id;
    panel.classList.remove('idle');
    document.querySelectorAll('.hl').forEach(function (e) { e.classList.remove('hl'); });
    document.querySelectorAll('[data-a~="' + id + '"]').forEach(function (e) { e.classList.add('hl'); });
    row.classList.add('hl');
    part('.i-path', row.dataset.p);
    part('.i-value', row.dataset.v);
    part('.i-range', row.dataset.r);
    part('.i-why', W[+row.dataset.w] || '');
    part('.i-note', row.dataset.n);
  }
  document.addEventListener('mouseover', function (ev) {
    var t = ev.target.closest ? ev.target.closest('[data-f]') : null;
    if (t && !pinned) { show(t.dataset.f); }
  });
  document.addEventListener('click', function (ev) {
    var ell = ev.target.closest ? ev.target.closest('.ell') : null;
    if (ell) { ell.parentNode.classList.add('open'); return; }
    var t = ev.target.closest ? ev.target.closest('[data-f]') : null;
    if (!t) { pinned = null; panel.classList.remove('pinned'); return; }
    var id = t.dataset.f;
    pinned = pinned === id ? null : id;
    current = null;
    show(id);
    panel.classList.toggle('pinned', !!pinned);
    if (t.classList.contains('f')) {
      var row = document.getElementById('t-' + id);
      for (var d = row.parentElement; d; d = d.parentElement) { if (d.tagName === 'DETAILS') { d.open = true; } }
      row.scrollIntoView({block: 'nearest'});
    }
  });
  document.documentElement.setAttribute('data-ready', '1');
})();
"""
