"""The server's exporter_master_secret is derived when first used (issue 15), as the client's
is (test_fast_client13_exporter.py): RFC 8446, Section 7.5, over the transcript through the
server Finished. A server whose observer listens derives it with the application traffic
secrets, in the order the key schedule has always reported them; either way the server exports
what the client exports, and, traced, the secret it reports is the one an export uses."""

from __future__ import annotations

from typing import Any

from glasstls.crypto.keyschedule13 import export_keying_material
from glasstls.handshake.post_handshake import DeferredExporter, ServerConnected13
from glasstls.observe import Observer, SecretTrace
from pairs import connected_pair


class _Secrets(Observer):
    """An observer that keeps the server's secrets, in the order reported."""

    wants_secrets = True
    wants_secret_events = True
    wants_state_events = False

    def __init__(self) -> None:
        self.secrets: list[tuple[str, bytes]] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, SecretTrace):
            self.secrets.append((event.label, event.secret))


def _server_state(pair: Any) -> ServerConnected13:
    state = pair.server._state
    assert isinstance(state, ServerConnected13)
    return state


def test_an_untraced_server_derives_the_exporter_on_first_use() -> None:
    pair = connected_pair()
    traffic = _server_state(pair).traffic
    assert isinstance(traffic.exporter_master, DeferredExporter)
    exported = pair.server.export_keying_material("EXPORTER-test", b"ctx", 32)
    assert exported == pair.client.export_keying_material("EXPORTER-test", b"ctx", 32)
    first = traffic.exporter_master_secret()
    assert traffic.exporter_master_secret() is first  # derived once, then kept


def test_a_traced_server_derives_and_reports_the_exporter_in_the_handshake() -> None:
    observer = _Secrets()
    pair = connected_pair(server_observer=observer)
    traffic = _server_state(pair).traffic
    assert isinstance(traffic.exporter_master, bytes)
    labels = [label for label, _ in observer.secrets]
    assert labels[-4:] == [
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
    ]
    reported = dict(observer.secrets)["exporter_master_secret"]
    assert reported == traffic.exporter_master
    # RFC 8446, Section 7.5: TLS-Exporter from the reported secret is what both sides export.
    suite = traffic.suite
    expected = export_keying_material(suite, reported, b"EXPORTER-t", b"", 16)
    assert pair.server.export_keying_material("EXPORTER-t", b"", 16) == expected
    assert pair.client.export_keying_material("EXPORTER-t", b"", 16) == expected


class _ChecksOnly(Observer):
    """An observer that reads no secret events (a plain text trace): nothing to derive early for."""

    wants_secrets = False
    wants_secret_events = False
    wants_state_events = False

    def __call__(self, event: Any) -> None:
        pass


def test_a_server_whose_observer_reads_no_secrets_still_defers_the_exporter() -> None:
    pair = connected_pair(server_observer=_ChecksOnly())
    traffic = _server_state(pair).traffic
    assert isinstance(traffic.exporter_master, DeferredExporter)
    assert pair.server.export_keying_material("EXPORTER-p") == pair.client.export_keying_material("EXPORTER-p")
