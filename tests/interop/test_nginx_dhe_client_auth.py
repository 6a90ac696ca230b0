"""The glasstls client against nginx (Debian's package, OpenSSL 3.0) where the other nginx tests
do not go: TLS 1.2 DHE key exchange (RFC 5246, Section 7.4.3) with the RFC 7919 group Mozilla's
configuration guide gives nginx (``ssl_dhparam``), and client certificates under
``ssl_verify_client on`` (RFC 8446, Section 4.4.2; RFC 5246, Section 7.4.6).

nginx asks for a client certificate in the handshake and lets any chain through it; it checks
the chain afterwards and answers a request over a failed one with HTTP 400, saying why in its
error log and in ``$ssl_client_verify`` (SUCCESS, FAILED:reason, or NONE). Each test starts its
own nginx on 127.0.0.1 (nginx_peer.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import InteropPKI
from nginx_peer import PATHS, TEMP_PATHS, Nginx, needs_nginx, running_nginx
from test_nginx import client_config, fetch

from glasstls import CertifiedKey, CipherSuite, NamedGroup
from glasstls.enums import ProtocolVersion
from glasstls.x509.mint import ThrowawayCA

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(90),
    needs_nginx,
    # glasstls.crypto.kx silences cryptography's FFDH deprecation for its own calls; pytest's own
    # warning capture resets that filter inside a test.
    pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields"),
]

CONFIG = PATHS + """
http {{""" + TEMP_PATHS + """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        {extra}
        location / {{
            default_type text/plain;
            return 200 "protocol=$ssl_protocol cipher=$ssl_cipher verify=$ssl_client_verify\n subject=$ssl_client_s_dn";
        }}
    }}
}}
"""


def _nginx(directory: Path, pki: InteropPKI, cert_type: str, protocols: str, extra: str) -> Iterator[Nginx]:
    files = pki.files[cert_type]

    def configuration(port: int) -> str:
        return CONFIG.format(
            prefix=directory, port=port, chain=files.full_chain, key=files.key, protocols=protocols, extra=extra
        )

    return running_nginx(directory, configuration)


# -- TLS 1.2 DHE -------------------------------------------------------------------------------------


def test_dhe_rsa_with_the_ffdhe2048_parameters_mozilla_gives_nginx(
    pki: InteropPKI, tmp_path: Path, ffdhe2048: Path
) -> None:
    """nginx offering only DHE-RSA-AES128-GCM-SHA256 with ffdhe2048 as its ``ssl_dhparam``: glasstls
    recognises the group from its prime (RFC 7919, Section 3) and both sides agree on the suite."""
    extra = f"ssl_ciphers DHE-RSA-AES128-GCM-SHA256; ssl_dhparam {ffdhe2048};"
    with _nginx(tmp_path, pki, "rsa2048", "TLSv1.2", extra) as server:
        got = fetch(server, client_config(pki), "/dhe")
    assert got.response.status == 200, got.response
    assert got.response.body.startswith(b"protocol=TLSv1.2 cipher=DHE-RSA-AES128-GCM-SHA256 ")
    suite = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.name
    assert (got.params.version, got.params.cipher_suite) == ("TLSv1.2", suite)
    assert got.params.group == NamedGroup.ffdhe2048.name


# -- client certificates ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_identities(pki: InteropPKI) -> dict[str, CertifiedKey]:
    """A client certificate from the PKI nginx trusts, and one from a root it has never seen."""
    trusted = pki.ca.issue_client("glasstls trusted client")
    stranger = ThrowawayCA.create("glasstls stranger root").issue_client("glasstls stranger client")
    return {
        "trusted": CertifiedKey(trusted.chain, trusted.private_key),
        "stranger": CertifiedKey(stranger.chain, stranger.private_key),
    }


@pytest.mark.parametrize("version", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2], ids=["tls13", "tls12"])
@pytest.mark.parametrize("who", ["trusted", "stranger", "none"])
def test_client_certificates_at_nginx_verify_client_on(
    pki: InteropPKI, tmp_path: Path, client_identities: dict[str, CertifiedKey], version: ProtocolVersion, who: str
) -> None:
    """``ssl_verify_client on``: a chain to the root nginx trusts gets the page, with nginx's
    SUCCESS and the client's subject; one from another root, or none, completes the handshake
    and gets nginx's 400 with the reason in ``$ssl_client_verify`` terms in its error log."""
    extra = f"ssl_verify_client on; ssl_client_certificate {pki.root_file}; ssl_verify_depth 3;"
    certificate = client_identities.get(who)
    config = client_config(pki, tls_max=version, certificate=certificate)
    with _nginx(tmp_path, pki, "ecdsa-p256", "TLSv1.2 TLSv1.3", extra) as server:
        got = fetch(server, config, "/mtls")
        log = server.log
    assert got.params.version == version.label
    assert got.params.client_auth == (certificate is not None), got.params
    if who == "trusted":
        assert got.response.status == 200, got.response
        assert b" verify=SUCCESS\n subject=CN=glasstls trusted client" in got.response.body, got.response.body
    elif who == "stranger":
        assert got.response.status == 400 and b"The SSL certificate error" in got.response.body, got.response
        assert "client SSL certificate verify error" in log, log
    else:
        assert got.response.status == 400 and b"No required SSL certificate was sent" in got.response.body
        assert "client sent no required SSL certificate" in log, log
