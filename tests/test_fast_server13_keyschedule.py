"""The TLS 1.3 stages write Derive-Secret over a transcript hash out as the HKDF-Expand-Label it
is (RFC 8446, Section 7.1), and finished_verify_data its finished_key (Section 4.4.4), a call
fewer each (issue 15). Each must derive, and report, what derive_secret and finished_key give,
under both hashes; RFC 8448's traces (test_rfc8448*.py) hold SHA-256's bytes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite

SUITES = [TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256], TLS13_SUITES[CipherSuite.TLS_AES_256_GCM_SHA384]]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.hash_name)
def test_every_stage_derives_and_reports_what_derive_secret_gives(suite) -> None:  # type: ignore[no-untyped-def]
    h = suite.hash_name
    th = hashlib.new(h, b"transcript").digest()
    heard: list[tuple[str, bytes]] = []
    early = ks.EarlySecret(suite, b"p" * suite.hash_len, lambda name, secret: heard.append((name, secret)))
    stage = early.handshake_stage(b"s" * 32)
    master = stage.master_stage()
    expected = [
        ("client_early_traffic_secret", early.secret, b"c e traffic"),
        ("early_exporter_master_secret", early.secret, b"e exp master"),
        ("client_handshake_traffic_secret", stage.secret, b"c hs traffic"),
        ("server_handshake_traffic_secret", stage.secret, b"s hs traffic"),
        ("client_application_traffic_secret_0", master.secret, b"c ap traffic"),
        ("server_application_traffic_secret_0", master.secret, b"s ap traffic"),
        ("exporter_master_secret", master.secret, b"exp master"),
        ("resumption_master_secret", master.secret, b"res master"),
    ]
    derived = [
        early.client_early_traffic_secret(th),
        early.early_exporter_master_secret(th),
        stage.client_handshake_traffic_secret(th),
        stage.server_handshake_traffic_secret(th),
        master.client_application_traffic_secret(th),
        master.server_application_traffic_secret(th),
        master.exporter_master_secret(th),
        master.resumption_master_secret(th),
    ]
    assert derived == [ks.derive_secret(h, secret, label, th) for _, secret, label in expected]
    reported = [(name, secret) for name, secret in heard if name not in ("handshake_secret", "master_secret")]
    assert reported == [(name, value) for (name, _, _), value in zip(expected, derived, strict=True)]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.hash_name)
def test_finished_verify_data_is_the_hmac_under_finished_key(suite) -> None:  # type: ignore[no-untyped-def]
    for base in (b"b" * suite.hash_len, bytes(suite.hash_len), b"\xff" * suite.hash_len):
        for th in (b"", hashlib.new(suite.hash_name, base).digest()):
            key = ks.finished_key(suite, base)
            assert ks.finished_verify_data(suite, base, th) == hmac.new(key, th, suite.hash_name).digest()
