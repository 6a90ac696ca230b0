"""A key schedule made without a report (a connection nobody observes, issue 15) derives what a
reported one does, and a reported one hears of every secret where it is made."""

from __future__ import annotations

from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite

SUITE = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
TH = bytes(range(32))


def _walk(report: ks.SecretReport | None) -> list[bytes]:
    early = ks.EarlySecret(SUITE, b"p" * 32, report) if report is not None else ks.EarlySecret(SUITE, b"p" * 32)
    secrets = [early.client_early_traffic_secret(TH), early.early_exporter_master_secret(TH)]
    stage = early.handshake_stage(b"s" * 32)
    secrets += [stage.secret, stage.client_handshake_traffic_secret(TH), stage.server_handshake_traffic_secret(TH)]
    master = stage.master_stage()
    secrets += [master.secret, master.client_application_traffic_secret(TH)]
    secrets += [master.server_application_traffic_secret(TH), master.exporter_master_secret(TH)]
    secrets.append(master.resumption_master_secret(TH))
    return secrets


def test_an_unreported_schedule_derives_what_a_reported_one_does() -> None:
    heard: list[tuple[str, bytes]] = []
    reported = _walk(lambda name, secret: heard.append((name, secret)))
    assert _walk(None) == reported
    assert [name for name, _ in heard] == [
        "client_early_traffic_secret",
        "early_exporter_master_secret",
        "handshake_secret",
        "client_handshake_traffic_secret",
        "server_handshake_traffic_secret",
        "master_secret",
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
    ]
    assert [secret for _, secret in heard] == reported
