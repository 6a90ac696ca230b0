"""Which certificate a server presents: chosen by the client's server_name
(SNI, RFC 6066, Section 3), wildcards included, the first one being the
default for names none of them carry."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import CertifiedKey, ClientConfig, ServerConfig
from ..crypto.signatures import TLS13_SIGNATURE_SCHEMES, is_rsassa_pss_certificate, key_kind, scheme_fits_key
from ..enums import AlertDescription, ClientCertificateType, ExtensionType, SignatureScheme
from ..errors import AlertError, Facts
from ..text import exception_text, printable
from ..wire.handshake import ClientHello
from ..x509.names import describe, name_matches
from .base import Context


def certificate_names(certified: CertifiedKey) -> tuple[str, ...]:
    return certified.leaf_names


def carries_name(certified: CertifiedKey, server_name: str) -> bool:
    """Whether the chain's leaf is for ``server_name`` (wildcards included)."""
    return any(name_matches(n, server_name) for n in certificate_names(certified))


def candidates(ctx: Context, server_name: str | None) -> Sequence[CertifiedKey]:
    """The configured certificates that may answer ``server_name``, best first.

    A name that no certificate carries gets the default (the first) chain, or,
    with ``refuse_unknown_server_names``, an unrecognized_name alert.
    """
    cfg: ServerConfig = ctx.config
    chains = cfg.certificates if ctx.chains_for_name is None else ctx.chains_for_name
    if not chains and ctx.chains_for_name is not None:
        # As OpenSSL's server with no certificate: refused at the handshake that needs one.
        raise AlertError(
            AlertDescription.handshake_failure,
            "the server has no certificate to present: its server_name_callback chose none and it has none of its own",
        )
    if server_name is None:
        return chains
    matching = [c for c in chains if carries_name(c, server_name)]
    if matching:
        return matching
    if cfg.refuse_unknown_server_names:
        served = ", ".join(n for c in chains for n in certificate_names(c)) or "(no names)"
        raise AlertError(
            AlertDescription.unrecognized_name,
            f"no certificate for server name '{printable(server_name)}'; this server has {served}",
        )
    return chains


def check_name_served(ctx: Context, server_name: str | None) -> None:
    """On a resumption (no certificate shown): unrecognized_name for a name no configured chain carries,
    when the server refuses unknown names, as a full handshake would refuse it (RFC 6066, Section 3)."""
    cfg: ServerConfig = ctx.config
    chains = cfg.certificates if ctx.chains_for_name is None else ctx.chains_for_name
    if cfg.refuse_unknown_server_names and server_name is not None and chains:
        candidates(ctx, server_name)


def ask_server_name_callback(ctx: Context, ch: ClientHello) -> None:
    """Ask the server's server_name_callback once per ClientHello, before anything is chosen by the
    name (RFC 6066, Section 3), resumed handshakes too, as OpenSSL calls its servername callback. Its
    chains are what candidates() chooses among; a ServerConfig it gives serves the rest of the
    handshake (the version is already chosen). Its failure refuses the handshake, not the server."""
    cfg: ServerConfig = ctx.config
    assert cfg.server_name_callback is not None
    sni = ch.ext(ExtensionType.server_name)
    server_name = sni.value if sni is not None else None
    try:
        answer = cfg.server_name_callback(server_name)
    except AlertError:
        raise
    except Exception as exc:  # the application's code: any failure is a refusal with its reason
        raise AlertError(
            AlertDescription.handshake_failure,
            f"the server's server_name_callback failed: {exception_text(exc)}",
            facts=Facts("callback_refused", field="ServerConfig.server_name_callback"),
        ) from None
    if isinstance(answer, ServerConfig):
        ctx.serve_with(answer)
        answer = answer.certificates
    elif answer is None:
        answer = cfg.certificates  # (none: refused by candidates() if the handshake needs one)
    elif not answer:
        raise AlertError(AlertDescription.unrecognized_name, "the server's server_name_callback gave no certificate")
    ctx.chains_for_name = tuple(answer)


def acknowledges_name(ctx: Context, certified: CertifiedKey, server_name: str) -> bool:
    """RFC 6066, Section 3: the server answers the client's server_name with an empty one when it
    used the name: its certificate carries the name, or the application's server_name_callback chose
    by it. The default chain served for a name it does not carry is no use of it (nor does OpenSSL
    acknowledge the name then)."""
    return ctx.chains_for_name is not None or carries_name(certified, server_name)


def report_choice(ctx: Context, certified: CertifiedKey, server_name: str | None) -> None:
    """Say in the trace which chain answers which name."""
    if not ctx.tracing:
        return
    subject = describe(certified.chain[0])
    name = printable(server_name) if server_name is not None else None  # the client chose it: escaped for the trace
    if server_name is None:
        detail = "no server_name in the ClientHello: the default certificate"
    elif carries_name(certified, server_name):
        detail = f"chosen for server name {name}"
    else:
        detail = f"no certificate names {name}: the default certificate"
    ctx.verified(f"certificate {subject}", True, detail)


def client_certificate_for(
    ctx: Context,
    requested_schemes: Sequence[int],
    authorities: Sequence[bytes],
    *,
    tls13: bool,
    certificate_types: Sequence[int] | None = None,
) -> tuple[CertifiedKey, SignatureScheme] | None:
    """The client chain that answers a CertificateRequest, and the scheme to sign with.

    A chain issued under one of the server's certificate_authorities comes first
    (RFC 8446, Section 4.2.4; RFC 5246, Section 7.4.4); within that, the first
    whose key can make a scheme the server asked for. ``certificate_types`` (TLS 1.2):
    only chains whose key is of a type listed (RFC 5246, Section 7.4.4: MUST).
    None: send no certificate.
    """
    config: ClientConfig = ctx.config
    chains: Sequence[CertifiedKey] = config.client_certificates
    if certificate_types is not None:
        given, chains = chains, [c for c in chains if _key_type_listed(c, certificate_types)]
        if given and not chains:
            listed = ", ".join(ClientCertificateType(t).name for t in certificate_types) or "none"
            ctx.verified(
                "client certificate", False,
                f"none of this client's {len(given)} certificate(s) has a key of a type the server lists "
                f"({listed}): an empty Certificate is sent",
            )  # fmt: skip
            return None
    if authorities:
        wanted = set(authorities)
        chains = sorted(chains, key=lambda c: not any(x.issuer.public_bytes() in wanted for x in c.chain))
    for certified in chains:
        for scheme in requested_schemes:
            if scheme not in config.signature_schemes:
                continue
            if tls13 and scheme not in TLS13_SIGNATURE_SCHEMES:
                continue
            rsa_pss = is_rsassa_pss_certificate(certified.chain[0])
            if scheme_fits_key(certified.private_key, scheme, tls13=tls13, rsa_pss_key=rsa_pss):
                return certified, SignatureScheme(scheme)
    if chains:  # a certificate was given, and none can answer: say why, for the trace and the diagnosis
        asked = ", ".join(SignatureScheme(s).name for s in requested_schemes) or "none"
        ctx.verified(
            "client certificate", False,
            f"none of this client's {len(chains)} certificate(s) can sign with a scheme the server accepts "
            f"({asked}): an empty Certificate is sent",
        )  # fmt: skip
    return None


def _key_type_listed(certified: CertifiedKey, certificate_types: Sequence[int]) -> bool:
    """RFC 5246, Section 7.4.4: rsa_sign for an RSA key; RFC 8422, Section 5.5: ecdsa_sign for an
    ECDSA or EdDSA key."""
    if key_kind(certified.private_key) == "rsa":
        return ClientCertificateType.rsa_sign in certificate_types
    return ClientCertificateType.ecdsa_sign in certificate_types


# The client CAs a CertificateRequest names, at most this many bytes of names (each with its 2-byte
# length): the list shares a vector of 2^16 - 1 bytes (RFC 5246, Section 7.4.4; RFC 8446, Section
# 4.2.4, where the request's other extensions share it too).
MAX_CA_NAMES = (1 << 16) - 1 - 4096


def requested_authorities(ctx: Context) -> tuple[bytes, ...]:
    """The DER subject names of the server's client CAs, for its CertificateRequest; none when they
    would not fit it (MAX_CA_NAMES): the list is optional (RFC 8446, Section 4.2.4) or may be empty
    (RFC 5246, Section 7.4.4: the client may then send any certificate), and the trace says why."""
    config: ServerConfig = ctx.config
    store = config.client_trust_store
    if store is None:
        return ()
    names = tuple(c.subject.public_bytes() for c in store.certificates)
    size = sum(2 + len(n) for n in names)
    if size > MAX_CA_NAMES:
        ctx.verified(
            "client certificate", False,
            f"the {len(names)} client CA names take {size} bytes, more than a CertificateRequest holds: "
            "none are listed, and the client may send any certificate (checked against the store as always)",
        )  # fmt: skip
        return ()
    return names
