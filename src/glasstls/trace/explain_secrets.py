"""The key schedule's secrets, in words, for --explain (RFC 8446, Section 7.1; RFC 5246, Section 8.1).

Each secret is explained once per connection, when the trace first shows it; its value is shown
only with --show-secrets (the text renderer's business, not this module's).
"""

from __future__ import annotations

from . import describe as D
from .explain_phrases import pre_master_words

# The secrets of the early stage of the TLS 1.3 key schedule (RFC 8446, Section 7.1), in words.
_EARLY_SECRETS = {
    "early_secret": "The early secret, the first stage of the key schedule: HKDF-Extract over the pre-shared key "
    "(zeros when there is none). The binder key and the 0-RTT secrets come from it, and it is the salt under "
    "which the (EC)DHE secret enters next.",
    "binder_key": "The binder key, from the early secret: the PSK binders are HMACs under a key derived from it, "
    "so only a holder of the PSK can make them.",
    "client_early_traffic_secret": "The client early traffic secret (RFC 8446, Section 7.1): Derive-Secret(early "
    'secret, "c e traffic", ClientHello). It protects the client\'s 0-RTT data and its EndOfEarlyData. It depends '
    "only on the PSK and the ClientHello, no fresh key exchange: that is why 0-RTT data has no forward secrecy "
    "and can be replayed. In the NSS key log it is CLIENT_EARLY_TRAFFIC_SECRET.",
    "early_exporter_master_secret": 'The early exporter secret: Derive-Secret(early secret, "e exp master", '
    "ClientHello), from which an application can export keying material during 0-RTT (RFC 8446, Section 7.5), "
    "with the same caveats as early data: no forward secrecy, no protection from replay. In the NSS key log it "
    "is EARLY_EXPORTER_SECRET.",
}


def secret_words(label: str, ctx: D.Context) -> list[str]:
    """What the secret named ``label`` is, at this point of the handshake ``ctx`` describes."""
    early = _EARLY_SECRETS.get(label)
    if early is not None:
        return [early]
    if label == "handshake_secret":
        psk = " on top of the early secret, which holds the PSK," if ctx.psk else ""
        return [
            f"Key schedule (RFC 8446, Section 7.1): the (EC)DHE shared secret goes through HKDF-Extract{psk} "
            "into the handshake secret; from it and the hash of the hellos come "
            "client_handshake_traffic_secret and server_handshake_traffic_secret, one for each direction."
        ]
    if label == "master_secret" and ctx.tls13:
        return [
            "The master secret, the last stage of the key schedule; the application traffic secrets and the "
            "exporter secret are derived from it and the transcript hash up to the server's Finished."
        ]
    if label == "master_secret":
        if ctx.resumed:
            return ["The master secret of the resumed session, taken from the session cache or the ticket."]
        return ["The master secret, from the pre-master secret and the randoms (see ClientKeyExchange)."]
    if label == "resumption_master_secret":
        return ["The resumption secret: tickets issued on this connection derive their PSK from it."]
    if label == "exporter_master_secret":
        return ["The exporter secret: keying material for applications, bound to this connection."]
    if label == "pre_master_secret":
        return [pre_master_words(ctx.kx == "RSA")]
    return []
