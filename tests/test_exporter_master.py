"""The exporter_master_secret (RFC 8446, Section 7.5) is derived with the application traffic
secrets, over the transcript through the server Finished, and reported there in the key
schedule's order; the secret a side reports is the one it keeps and exports with. That no stage
of the schedule is kept to derive it later is tests/test_key_hygiene.py's."""

from __future__ import annotations

from typing import Any

import pytest

from glasstls.crypto.keyschedule13 import export_keying_material
from glasstls.handshake.post_handshake import Connected13
from glasstls.observe import Observer, SecretTrace
from pairs import connected_pair


class _Secrets(Observer):
    """An observer that keeps one side's secrets, in the order reported."""

    wants_secrets = True
    wants_secret_events = True
    wants_state_events = False

    def __init__(self) -> None:
        self.secrets: list[tuple[str, bytes]] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, SecretTrace):
            self.secrets.append((event.label, event.secret))


@pytest.mark.parametrize("side", ["client", "server"])
def test_the_exporter_master_secret_is_derived_reported_and_kept_in_the_handshake(side: str) -> None:
    observer = _Secrets()
    pair = connected_pair(**{f"{side}_observer": observer})
    state = getattr(pair, side)._state
    assert isinstance(state, Connected13)
    traffic = state.traffic
    assert [label for label, _ in observer.secrets][-4:] == [
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
    ]
    reported = dict(observer.secrets)["exporter_master_secret"]
    assert reported == traffic.exporter_master
    # TLS-Exporter from the reported secret is what both sides export.
    expected = export_keying_material(traffic.suite, reported, b"EXPORTER-t", b"", 16)
    assert pair.server.export_keying_material("EXPORTER-t", b"", 16) == expected
    assert pair.client.export_keying_material("EXPORTER-t", b"", 16) == expected
