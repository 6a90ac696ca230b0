"""A server extracts a PSK's early secret once (RFC 8446, Section 7.1): for the binder
(Section 4.2.11.2), then on into the handshake's key schedule and the 0-RTT keys, instead of
once for each (issue 15). What it derives must be what a fresh extraction derives, reported
as before; RFC 8448's resumed handshake (test_rfc8448_resumed.py) holds the bytes."""

from __future__ import annotations

from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite
from glasstls.session.psk import binder, early_binder

SUITE = TLS13_SUITES[CipherSuite.TLS_AES_256_GCM_SHA384]
PSK = b"p" * 48
TH = bytes(range(48))


def _walk(early: ks.EarlySecret) -> list[bytes]:
    secrets = [early.secret, early.client_early_traffic_secret(TH), early.early_exporter_master_secret(TH)]
    stage = early.handshake_stage(b"s" * 32)
    return [*secrets, stage.secret, stage.client_handshake_traffic_secret(TH)]


def test_the_binder_from_an_extracted_early_secret_is_the_binder() -> None:
    early = ks.EarlySecret(SUITE, PSK)
    for external in (False, True):
        assert early_binder(early, external, TH) == binder(SUITE, PSK, external, TH)


def test_an_early_secret_carried_on_derives_and_reports_what_a_fresh_one_does() -> None:
    fresh_heard: list[tuple[str, bytes]] = []
    carried_heard: list[tuple[str, bytes]] = []
    fresh = _walk(ks.EarlySecret(SUITE, PSK, lambda n, s: fresh_heard.append((n, s))))
    binder_stage = ks.EarlySecret(SUITE, PSK)
    early_binder(binder_stage, False, TH)
    carried = _walk(binder_stage.reporting(lambda n, s: carried_heard.append((n, s))))
    assert carried == fresh
    assert carried_heard == fresh_heard
    assert binder_stage.report is None  # the binder's stage is left as it was
    assert binder_stage.reporting(None) is binder_stage
