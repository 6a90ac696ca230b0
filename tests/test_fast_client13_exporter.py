"""The client's exporter_master_secret is derived when first used (issue 15), and is the one it
always was: RFC 8446, Section 7.5, over the transcript through the server Finished.

An untraced client keeps a DeferredExporter until an exporter is asked for; a client whose
observer listens derives the secret with the application traffic secrets, in the order the
key schedule has always reported them. Both export what the server (which derives it at
once) exports, before and after a KeyUpdate. The client's Finished, which reuses the
transcript hash through the server Finished when nothing comes between, is covered by the
RFC 8448 traces (1-RTT, resumption, client authentication) and the 0-RTT tests.
"""

from __future__ import annotations

from typing import Any

from glasstls.handshake.post_handshake import ClientConnected13, DeferredExporter
from glasstls.observe import Observer, SecretTrace
from pairs import connected_pair


class _Secrets(Observer):
    """An observer that keeps the client's secret labels, in the order reported."""

    wants_secrets = True
    wants_secret_events = True
    wants_state_events = False

    def __init__(self) -> None:
        self.labels: list[str] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, SecretTrace):
            self.labels.append(event.label)


def _client_state(pair: Any) -> ClientConnected13:
    state = pair.client._state
    assert isinstance(state, ClientConnected13)
    return state


def test_an_untraced_client_derives_the_exporter_on_first_use() -> None:
    pair = connected_pair()
    traffic = _client_state(pair).traffic
    assert isinstance(traffic.exporter_master, DeferredExporter)
    exported = pair.client.export_keying_material("EXPORTER-test", b"ctx", 32)
    assert exported == pair.server.export_keying_material("EXPORTER-test", b"ctx", 32)
    first = traffic.exporter_master_secret()
    assert traffic.exporter_master_secret() is first  # derived once, then kept
    assert pair.client.channel_binding() == pair.server.channel_binding()


def test_a_key_update_before_the_first_export_leaves_the_exporter_alone() -> None:
    pair = connected_pair()
    pair.client.update_keys(request_peer=True)
    pair.to_server()
    pair.to_client()
    assert isinstance(_client_state(pair).traffic.exporter_master, DeferredExporter)
    assert pair.client.export_keying_material("EXPORTER-k") == pair.server.export_keying_material("EXPORTER-k")


def test_a_traced_client_derives_and_reports_the_exporter_in_the_handshake() -> None:
    observer = _Secrets()
    pair = connected_pair(client_observer=observer)
    traffic = _client_state(pair).traffic
    assert isinstance(traffic.exporter_master, bytes)
    assert observer.labels[-4:] == [
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
    ]
    assert pair.client.export_keying_material("EXPORTER-t") == pair.server.export_keying_material("EXPORTER-t")
