"""Security profiles (profiles.py): the tables, how a configuration takes and refines them,
what each lets through in a real handshake, and the words of a refusal by policy."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.config import DEFAULT_GROUPS, DEFAULT_SIGNATURE_SCHEMES, DEFAULT_SUITES
from glasstls.crypto.suites import TLS12_SUITES, TLS13_SUITES
from glasstls.enums import AlertDescription, CipherSuite, NamedGroup, SignatureScheme
from glasstls.errors import ConfigError
from glasstls.profiles import DEFAULT_PROFILE, PROFILES
from glasstls.x509.mint import Identity
from pairs import default_ca, make_pair

C = CipherSuite
MOZILLA_INTERMEDIATE_12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
TLS13_ALLOWED = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def _names(values) -> set[str]:
    return {v.name for v in values}


def test_the_default_is_intermediate_and_the_defaults_are_its_lists() -> None:
    assert DEFAULT_PROFILE == "intermediate"
    p = PROFILES["intermediate"]
    assert (
        p.cipher_suites,
        p.groups,
        p.signature_schemes,
    ) == (DEFAULT_SUITES, DEFAULT_GROUPS, DEFAULT_SIGNATURE_SCHEMES)
    for cfg in (ClientConfig(), ServerConfig(certificates=(_ecdsa_key(),))):
        assert cfg.profile == "intermediate"
        assert cfg.cipher_suites == p.cipher_suites
        assert cfg.groups == (p.client_groups if isinstance(cfg, ClientConfig) else p.groups)
        assert cfg.tls_min == ProtocolVersion.TLSv1_2


@pytest.mark.parametrize("name", ["modern", "intermediate", "legacy"])
def test_a_client_also_names_p521_which_every_profile_signs_with(name) -> None:
    """RFC 8422, Section 5.1: a TLS 1.2 server's ECDSA curve must be in the client's supported_groups;
    every profile offers ecdsa_secp521r1_sha512, so a client names secp521r1, after the other curves
    and before the finite-field groups. A server does not choose it unless configured to."""
    p = PROFILES[name]
    assert SignatureScheme.ecdsa_secp521r1_sha512 in p.signature_schemes
    assert NamedGroup.secp521r1 not in p.groups
    curves = [g for g in p.groups if not g.name.startswith("ffdhe")]
    ffdhe = [g for g in p.groups if g.name.startswith("ffdhe")]
    assert p.client_groups == (*curves, NamedGroup.secp521r1, *ffdhe)
    assert ClientConfig(profile=name).groups == p.client_groups
    assert ServerConfig(profile=name, certificates=(_ecdsa_key(),)).groups == p.groups


def test_modern_is_tls13_only_with_mozillas_suites() -> None:
    modern = PROFILES["modern"]
    assert modern.tls_min == ProtocolVersion.TLSv1_3
    assert _names(modern.cipher_suites) == TLS13_ALLOWED
    assert ClientConfig(profile="modern").tls_min == ProtocolVersion.TLSv1_3


def test_intermediate_is_mozillas_intermediate() -> None:
    p = PROFILES["intermediate"]
    suites12 = _names(s for s in p.cipher_suites if s in TLS12_SUITES)
    assert suites12 == MOZILLA_INTERMEDIATE_12
    assert _names(s for s in p.cipher_suites if s in TLS13_SUITES) == TLS13_ALLOWED
    assert all(TLS12_SUITES[s].aead and TLS12_SUITES[s].kx != "RSA" for s in p.cipher_suites if s in TLS12_SUITES)
    ec = [g for g in p.groups if not g.name.startswith("ffdhe") and g != NamedGroup.X25519MLKEM768]
    assert _names(ec) == {"x25519", "secp256r1", "secp384r1"}  # Mozilla: X25519, prime256v1, secp384r1
    assert NamedGroup.x448 not in p.groups  # sslyze's intermediate check refuses X448
    assert not p.dhe_custom_groups
    assert SignatureScheme.rsa_pkcs1_sha1 not in p.signature_schemes


def test_legacy_is_intermediate_plus_the_old_things() -> None:
    legacy, intermediate = PROFILES["legacy"], PROFILES["intermediate"]
    assert set(intermediate.cipher_suites) < set(legacy.cipher_suites)
    assert set(intermediate.groups) < set(legacy.groups)
    extra = [TLS12_SUITES[s] for s in legacy.cipher_suites if s not in intermediate.cipher_suites]
    assert any(not s.aead for s in extra) and any(s.kx == "RSA" for s in extra)
    assert {SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1} <= set(legacy.signature_schemes)
    assert legacy.dhe_custom_groups and ClientConfig(profile="legacy").dhe_custom_groups
    # Still no TLS 1.0/1.1 (RFC 8996), and AES-CCM only by name.
    assert legacy.tls_min == ProtocolVersion.TLSv1_2
    assert not any("CCM" in s.name for s in legacy.cipher_suites)


def test_explicit_lists_refine_a_profile_and_a_copy_takes_the_new_profiles_lists() -> None:
    only = (C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, C.TLS_AES_128_GCM_SHA256)
    named = ClientConfig(cipher_suites=only)  # a CBC suite by name, without the legacy profile
    assert named.cipher_suites == only and named.groups == PROFILES["intermediate"].client_groups
    legacy = dataclasses.replace(ClientConfig(), profile="legacy")
    assert legacy.cipher_suites == PROFILES["legacy"].cipher_suites
    kept = dataclasses.replace(named, profile="legacy")
    assert kept.cipher_suites == only and kept.groups == PROFILES["legacy"].client_groups


def test_an_explicit_flag_stays_and_a_profiles_flag_follows_the_profile() -> None:
    """legacy_server_connect and dhe_custom_groups as the lists: given, they are the caller's (a legacy
    client that still refuses a server without secure renegotiation, RFC 5746, Section 4.1); not given,
    they are the profile's, taken again by a copy with another profile. An explicit False was
    overridden by the legacy profile, and a legacy copy turned intermediate kept both permissive."""
    strict = ClientConfig(profile="legacy", legacy_server_connect=False, dhe_custom_groups=False)
    assert strict.legacy_server_connect is False and strict.dhe_custom_groups is False
    assert C.TLS_RSA_WITH_AES_128_GCM_SHA256 in strict.cipher_suites  # (the profile's lists still)
    legacy = ClientConfig(profile="legacy")
    assert legacy.legacy_server_connect and legacy.dhe_custom_groups
    back = dataclasses.replace(legacy, profile="intermediate")
    assert not back.legacy_server_connect and not back.dhe_custom_groups
    assert dataclasses.replace(strict, profile="intermediate").legacy_server_connect is False
    assert dataclasses.replace(ClientConfig(), profile="legacy").legacy_server_connect


def test_an_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown profile 'paranoid': choose one of modern, intermediate, legacy"):
        ClientConfig(profile="paranoid")


def test_a_modern_server_refuses_tls12_with_protocol_version() -> None:
    pair = make_pair(client_kw={"tls_max": ProtocolVersion.TLSv1_2}, server_kw={"profile": "modern"})
    pair.handshake()
    assert pair.server.closed and pair.server.error is not None
    assert pair.server.error.description == AlertDescription.protocol_version


def test_a_suite_left_out_by_policy_says_which_profile_allows_it() -> None:
    rsa = _rsa_key()
    cbc = (C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,)
    pair = make_pair(identity=rsa, client_kw={"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": cbc})
    pair.handshake()
    err = pair.server.error
    assert err is not None and err.description == AlertDescription.handshake_failure
    assert "refused by policy: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA needs --profile legacy" in str(err)
    # The same client against a legacy server: served.
    pair = make_pair(
        identity=rsa,
        client_kw={"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": cbc},
        server_kw={"profile": "legacy"},
    )
    pair.handshake()
    assert pair.server.handshake_complete and pair.server.parameters is not None
    assert pair.server.parameters.cipher_suite == cbc[0].name


def test_a_signature_scheme_left_out_by_policy_says_which_profile_allows_it() -> None:
    """A client that signs only with SHA-1 (rsa_pkcs1_sha1) against an RSA certificate: the certificate
    could sign so, the profile forbids it. The refusal said "no scheme ... fits the server's
    certificate" and advised another certificate, though the server had the RSA one the client named."""
    sha1_only = (SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1)
    client_kw = {"tls_max": ProtocolVersion.TLSv1_2, "signature_schemes": sha1_only, "profile": "legacy"}
    pair = make_pair(identity=_rsa_key(), client_kw=client_kw)
    pair.handshake()
    err = pair.server.error
    assert err is not None and err.description == AlertDescription.handshake_failure
    assert "the client's signature_algorithms names only schemes this server's profile leaves out" in str(err)
    assert "refused by policy: rsa_pkcs1_sha1 needs --profile legacy" in str(err)
    assert "fits the server's certificate" not in str(err)


def test_a_group_left_out_by_policy_says_so() -> None:
    pair = make_pair(client_kw={"groups": (NamedGroup.x448,)})
    pair.handshake()
    err = pair.server.error
    assert err is not None and err.description == AlertDescription.handshake_failure
    assert "x448 is in no profile (--groups naming it allows it)" in str(err)


def test_a_legacy_client_still_negotiates_tls13_with_a_default_server() -> None:
    pair = make_pair(client_kw={"profile": "legacy"})
    pair.handshake()
    assert pair.client.parameters is not None and pair.client.parameters.version == "TLSv1.3"


def test_cli_lists_the_profiles_and_refuses_a_contradiction() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "glasstls", "profiles"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for name in PROFILES:
        assert f"\n{name}: " in f"\n{out}"
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in out.split("legacy:")[1]
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" not in out.split("legacy:")[0]
    res = subprocess.run(
        [sys.executable, "-m", "glasstls", "client", "127.0.0.1:9", "--profile", "modern", "--tls-min", "1.2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "--tls-min 1.2 is below what --profile modern allows" in res.stderr
    assert "Traceback" not in res.stderr


def _ecdsa_key() -> CertifiedKey:
    ident = default_ca().issue_server(["localhost"])
    return CertifiedKey(ident.chain, ident.private_key)


def _rsa_key() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")
