"""Once a TLS 1.3 handshake is over, neither side keeps the secrets it was derived from.

RFC 8446, Section 7.1's schedule runs from the early secret through the handshake secret to the
master secret; what a connection needs afterwards is derived from those at the end of the
handshake: the application traffic secrets, the exporter master secret (Section 7.5) and the
resumption master secret (Section 4.6.1). Kept any longer, the master secret and the transcript
hash would give back application_traffic_secret_0, which Section 4.6.3 says a KeyUpdate should
leave unrecoverable. So no stage object of the key schedule may stay reachable from a connection,
untraced or traced, resumed or not, before and after a KeyUpdate, and an export still answers.
"""

from __future__ import annotations

import gc
import types
from typing import Any

import pytest

from glasstls import ClientConnection, ServerConnection
from glasstls.crypto.keyschedule13 import EarlySecret, HandshakeSecret, MasterSecret
from glasstls.observe import EventList
from pairs import connected_pair

STAGES = (EarlySecret, HandshakeSecret, MasterSecret)


def reachable_stages(root: Any) -> list[str]:
    """The key schedule's stage objects reachable from ``root``: every reference is followed but a
    function's globals (modules and classes belong to no connection), while its closure is."""
    seen: set[int] = set()
    found: list[str] = []
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, STAGES):
            found.append(type(obj).__name__)
        if isinstance(obj, types.FunctionType):
            todo.extend([*(obj.__closure__ or ()), *(obj.__defaults__ or ())])
        else:
            todo.extend(gc.get_referents(obj))
    return found


def assert_no_stage_kept(pair: Any) -> None:
    for side in (pair.client, pair.server):
        assert reachable_stages(side) == [], f"the {side.side} keeps a key schedule stage after its handshake"


@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
def test_no_stage_of_the_key_schedule_outlives_the_handshake(traced: bool) -> None:
    observers = {"client_observer": EventList(), "server_observer": EventList()} if traced else {}
    pair = connected_pair(**observers)
    assert_no_stage_kept(pair)
    exported = pair.client.export_keying_material("EXPORTER-hygiene", b"ctx", 32)
    assert exported == pair.server.export_keying_material("EXPORTER-hygiene", b"ctx", 32)


def test_nor_after_a_key_update_or_a_resumption() -> None:
    pair = connected_pair()
    pair.client.update_keys(request_peer=True)
    pair.to_server()
    pair.to_client()
    assert_no_stage_kept(pair)
    assert pair.client.export_keying_material("EXPORTER-k") == pair.server.export_keying_material("EXPORTER-k")
    session = pair.client.session
    assert session is not None and session.ticket
    client = ClientConnection(pair.client_config, "localhost", session=session)
    server = ServerConnection(pair.server_config)  # the same ticket keys
    for _ in range(3):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.parameters is not None and client.parameters.resumed
    for side in (client, server):
        assert reachable_stages(side) == [], f"the resumed {side.side} keeps a key schedule stage"
