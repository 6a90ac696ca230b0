"""The handshake states' transition tables tell the truth, and the state
diagrams drawn from them (docs/states/) are up to date.

Each state class declares ``transitions``: (trigger, next state[, note]).
Many in-memory handshakes — TLS 1.3 full, HelloRetryRequest, client auth;
TLS 1.2 ECDHE, RSA and DHE, client auth, resumption by session ID and by
ticket (with renewal), failures — run with an ``EventList`` on both sides,
and every state change they report (``StateTrace`` old → new, with the
message or ChangeCipherSpec that caused it) must be declared in the old
state's table. A message handled without a state change (KeyUpdate,
NewSessionTicket, a refused renegotiation) must be a declared self-loop.
Conversely every declared transition is taken by one of the runs, so the
tables claim nothing the code does not do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from glasstls import CertifiedKey, CipherSuite, ClientConfig, NamedGroup, ProtocolVersion, ServerConfig
from glasstls.crypto import certcompress
from glasstls.enums import AlertLevel, CertificateCompressionAlgorithm, ContentType, PskKeyExchangeMode
from glasstls.handshake.base import State
from glasstls.observe import AlertTrace, EventList, MessageTrace, RecordTrace, StateTrace, TraceEvent
from glasstls.session.psk import ExternalPsk
from glasstls.trace import statemachine
from glasstls.wire import handshake as wire13
from glasstls.wire import handshake12 as wire12
from glasstls.wire.handshake import Certificate, Finished, HelloRetryRequest, KeyUpdate, NewSessionTicket
from glasstls.wire.handshake12 import HelloRequest, NewSessionTicket12
from glasstls.x509.mint import Identity
from glasstls.x509.store import TrustStore
from pairs import TamperingClient, TamperingServer, default_ca, flip, inject, other_ca, server_identity, split_records
from revocation_helpers import stapled_key

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
ECDHE_ECDSA = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
DHE_RSA = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
DOCS = Path(__file__).resolve().parent.parent / "docs" / "states"

Transition = tuple[str, str, str]  # (old state, trigger, new state)


# -- running handshakes ----------------------------------------------------------------------


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


@functools.cache
def client_identity() -> Identity:
    return default_ca().issue_client("client.test")


@dataclass
class Run:
    client: TamperingClient
    server: TamperingServer
    client_log: EventList
    server_log: EventList
    server_records: Callable[[bytes], bytes] = lambda data: data  # rewrites what the server sends

    def drive(self, rounds: int = 6) -> Run:
        for _ in range(rounds):
            out_c = self.client.data_to_send()
            if out_c:
                self.server.receive_bytes(out_c)
            out_s = self.server_records(self.server.data_to_send())
            if out_s:
                self.client.receive_bytes(out_s)
            if not out_c and not out_s:
                break
        return self

    @property
    def connected(self) -> bool:
        return self.client.handshake_complete and self.server.handshake_complete


def run(
    *,
    ckw: dict[str, Any] | None = None,
    skw: dict[str, Any] | None = None,
    identity: Identity | None = None,
    client_cert: bool = False,
    client_auth: str = "none",
    trust: Any = None,
    session: Any = None,
    server_config: ServerConfig | None = None,
    client_alter: Any = None,
    server_alter: Any = None,
    server_records: Callable[[bytes], bytes] | None = None,
    early_data: bytes | None = None,
) -> Run:
    identity = identity or server_identity("localhost")
    ckw = dict(ckw or {})
    if client_cert:
        ckw["certificate"] = CertifiedKey(client_identity().chain, client_identity().private_key)
    skw = dict(skw or {})
    if client_auth != "none":
        skw |= {"client_auth": client_auth, "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    ccfg = ClientConfig(trust_store=TrustStore.from_pem((trust or default_ca()).root_pem()), **ckw)
    scfg = server_config or ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **skw)
    client_log, server_log = EventList(), EventList()
    client = TamperingClient(
        ccfg, "localhost", client_alter, observer=client_log, session=session, early_data=early_data
    )
    server = TamperingServer(scfg, server_alter, observer=server_log)
    r = Run(client, server, client_log, server_log)
    if server_records is not None:
        r.server_records = server_records
    return r.drive()


def _drop(kind: type) -> Callable[[Any], bytes | None]:
    return lambda msg: b"" if type(msg) is kind else None


def _without_empty_records(data: bytes) -> bytes:
    """Drop the empty handshake record a dropped message leaves behind."""
    return b"".join(r for r in split_records(data) if r[3:5] != b"\x00\x00")


def _corrupt(kind: type) -> Callable[[Any], bytes | None]:
    return lambda msg: flip(msg.raw, len(msg.raw) - 1) if type(msg) is kind else None


def _empty_certificate_compressed(msg: Any) -> bytes | None:
    """A client's empty Certificate sent as a CompressedCertificate, as RFC 8879 allows (glasstls never
    does): the server takes it; the client's transcript keeps the Certificate, so its Finished then fails."""
    if type(msg) is Certificate and not msg.entries:
        return certcompress.compress_certificate(msg, CertificateCompressionAlgorithm.zlib).encode()
    return None


def _after_handshake_13(r: Run) -> None:
    """Application data, a KeyUpdate each way, and a NewSessionTicket to the client."""
    assert r.connected
    r.client.send(b"ping")
    r.client.update_keys(request_peer=True)
    r.drive()
    r.server.update_keys(request_peer=False)
    inject(r.server, NewSessionTicket(ticket_lifetime=60, ticket_age_add=1, ticket_nonce=b"n", ticket=b"t"))
    r.drive()
    r.client.close()
    r.drive()


def _post_handshake_auth(r: Run, required: bool = True) -> Run:
    """The server asks for the client's certificate after the handshake (RFC 8446, Section 4.6.2)."""
    assert r.connected
    r.server.request_client_certificate(required=required)
    return r.drive()


def _after_handshake_12(r: Run) -> None:
    """A HelloRequest to the client and a renegotiating ClientHello to the server, both refused."""
    assert r.connected
    inject(r.server, HelloRequest())
    r.drive()
    inject(r.client, r.client.offered_hello)
    r.drive()
    assert not r.client.closed and not r.server.closed


def _first_session(**kw: Any) -> tuple[Any, ServerConfig]:
    first = run(**kw)
    assert first.connected and first.client.session is not None
    return first.client.session, first.server.config


def scenario_runs() -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {}

    def add(name: str, *rs: Run) -> None:
        runs[name] = list(rs)

    # TLS 1.3
    r = run()
    _after_handshake_13(r)
    add("1.3 full, KeyUpdate, NewSessionTicket", r)
    add(
        "1.3 HelloRetryRequest",
        run(ckw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)}, skw={"groups": (NamedGroup.secp256r1,)}),
    )
    stateless = {"groups": (NamedGroup.secp256r1,), "stateless_hrr": True}
    add(
        "1.3 stateless HelloRetryRequest (cookie)",
        run(ckw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)}, skw=stateless),
    )
    add(
        "1.3 stateless HelloRetryRequest (cookie) and client auth",
        run(
            ckw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
            skw=stateless,
            client_cert=True,
            client_auth="required",
        ),
    )
    add("1.3 client auth", run(client_cert=True, client_auth="required"))
    add("1.3 client auth, no certificate", run(client_auth="optional"))
    pha = {"client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    add("1.3 post-handshake auth", _post_handshake_auth(run(client_cert=True, skw=pha)))
    add(
        "1.3 post-handshake auth, declined",
        _post_handshake_auth(run(ckw={"post_handshake_auth": True}, skw=pha), required=False),
    )
    # RFC 8879: glasstls peers compress both Certificates by default; here neither, and a compressed empty one.
    uncompressed = {"certificate_compression": ()}
    add("1.3 full, no certificate compression", run(ckw=uncompressed))
    add("1.3 client auth, no certificate compression", run(ckw=uncompressed, client_cert=True, client_auth="required"))
    add(
        "1.3 post-handshake auth, no certificate compression",
        _post_handshake_auth(run(ckw=uncompressed, client_cert=True, skw=pha)),
    )
    add(
        "1.3 client auth, empty Certificate compressed in flight, transcript corrupted",
        run(client_auth="optional", client_alter=_empty_certificate_compressed),
    )
    add(
        "1.3 post-handshake auth, empty Certificate compressed in flight (its Finished then fails)",
        _post_handshake_auth(
            run(ckw={"post_handshake_auth": True}, skw=pha, client_alter=_empty_certificate_compressed), required=False
        ),
    )
    add(
        "1.3 HelloRetryRequest and client auth",
        run(
            ckw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
            skw={"groups": (NamedGroup.secp256r1,)},
            client_cert=True,
            client_auth="required",
        ),
    )
    # TLS 1.3 PSKs: a ticket's session resumed (psk_dhe_ke, psk_ke), and an external PSK
    session, scfg = _first_session()
    add("1.3 resumption", run(session=session, server_config=scfg))
    session, scfg = _first_session(skw={"max_early_data_size": 1024})
    add("1.3 resumption, 0-RTT accepted", run(session=session, server_config=scfg, early_data=b"0-RTT"))
    psk_ke = {"psk_modes": (PskKeyExchangeMode.psk_ke,)}
    session, scfg = _first_session(ckw=psk_ke, skw=psk_ke)
    add("1.3 resumption, psk_ke", run(ckw=psk_ke, session=session, server_config=scfg))
    external = ExternalPsk(b"state tables", bytes(32))
    add("1.3 external PSK", run(ckw={"psk": external}, skw={"psks": (external,)}))
    # TLS 1.2 key exchanges
    r = run(ckw={"tls_max": V12})
    _after_handshake_12(r)
    add("1.2 ECDHE, refused renegotiation", r)
    for name, suite in (("RSA", RSA_KX), ("DHE", DHE_RSA), ("ECDHE_RSA", ECDHE_RSA)):
        add(
            f"1.2 {name}",
            run(
                ckw={"tls_max": V12, "cipher_suites": (suite,)},
                skw={"cipher_suites": (suite,)},
                identity=rsa_identity(),
            ),
        )
    add("1.2 ECDHE, no tickets", run(ckw={"tls_max": V12}, skw={"session_tickets": False}))
    add("1.2 client auth", run(ckw={"tls_max": V12}, client_cert=True, client_auth="required"))
    add(
        "1.2 client auth, no tickets",
        run(ckw={"tls_max": V12}, skw={"session_tickets": False}, client_cert=True, client_auth="required"),
    )
    add("1.2 client auth, no certificate", run(ckw={"tls_max": V12}, client_auth="optional"))
    # TLS 1.2 resumption
    session, scfg = _first_session(ckw={"tls_max": V12}, skw={"session_tickets": False})
    add("1.2 resumption by session ID", run(ckw={"tls_max": V12}, session=session, server_config=scfg))
    session, scfg = _first_session(ckw={"tls_max": V12})
    add("1.2 resumption by ticket", run(ckw={"tls_max": V12}, session=session, server_config=scfg))
    scfg.ticket_keys.rotate(datetime.now(UTC))
    add("1.2 resumption, ticket renewed", run(ckw={"tls_max": V12}, session=session, server_config=scfg))
    # Failures: each still reports the transitions it made before failing.
    add("1.3 untrusted server", run(trust=other_ca()))
    add("1.3 client Finished corrupted", run(client_alter=_corrupt(Finished)))
    add("1.2 server Finished corrupted", run(ckw={"tls_max": V12}, server_alter=_corrupt(Finished)))
    add(
        "1.2 no common cipher suite",
        run(ckw={"tls_max": V12, "cipher_suites": (RSA_KX,)}, skw={"cipher_suites": (ECDHE_ECDSA,)}),
    )
    add(
        "1.2 promised ticket not sent",
        run(ckw={"tls_max": V12}, server_alter=_drop(NewSessionTicket12), server_records=_without_empty_records),
    )
    _stapling_runs(add)
    return runs


def _stapling_runs(add: Callable[..., None]) -> None:
    """TLS 1.2 OCSP stapling (RFC 6066, Section 8): CertificateStatus sent, and announced but left out."""
    rsa = {"cipher_suites": (RSA_KX,)}

    def stapled(identity: Identity, **skw: Any) -> ServerConfig:
        return ServerConfig(certificates=(stapled_key(identity, default_ca()),), **skw)

    def without_status(**kw: Any) -> Run:
        return run(server_alter=_drop(wire12.CertificateStatus), server_records=_without_empty_records, **kw)

    ecdsa, rsa_id = server_identity("localhost"), rsa_identity()
    add("1.2 OCSP stapled", run(ckw={"tls_max": V12}, server_config=stapled(ecdsa)))
    add("1.2 RSA, OCSP stapled", run(ckw={"tls_max": V12, **rsa}, server_config=stapled(rsa_id, **rsa)))
    add("1.2 CertificateStatus not sent", without_status(ckw={"tls_max": V12}, server_config=stapled(ecdsa)))
    add(
        "1.2 RSA, CertificateStatus not sent",
        without_status(ckw={"tls_max": V12, **rsa}, server_config=stapled(rsa_id, **rsa)),
    )
    add(
        "1.2 RSA, no tickets, CertificateStatus not sent",
        without_status(ckw={"tls_max": V12, **rsa}, server_config=stapled(rsa_id, session_tickets=False, **rsa)),
    )
    client_auth = {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    add(
        "1.2 RSA client auth, CertificateStatus not sent",
        without_status(
            ckw={"tls_max": V12, **rsa}, client_cert=True, server_config=stapled(rsa_id, **rsa, **client_auth)
        ),
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Run]]:
    return scenario_runs()


# -- reading transitions out of a trace ---------------------------------------------------------


def initial_state(side: str) -> str:
    classes = statemachine.state_classes()
    (name,) = [n for n, c in classes.items() if c.initial and statemachine.role_of_initial(c) == side]
    return name


def observed_transitions(events: list[TraceEvent]) -> tuple[set[Transition], list[str]]:
    """The (old, trigger, new) transitions one side's trace shows, and any inconsistencies.

    The trigger of a state change is the last message (or ChangeCipherSpec
    record) received before it. A message after which the state did not change
    and the connection did not fail was handled as a self-loop.
    """
    side = events[0].side
    current = initial_state(side)
    seen: set[Transition] = set()
    problems: list[str] = []
    pending: str | None = None  # a received message not yet followed by a state change

    def settle() -> None:
        nonlocal pending
        if pending is not None and pending != "ChangeCipherSpec":
            seen.add((current, pending, current))
        pending = None

    for e in events:
        if isinstance(e, MessageTrace) and e.direction == "in":
            settle()
            pending = type(e.message).__name__
        elif isinstance(e, RecordTrace) and e.direction == "in" and e.content_type == ContentType.change_cipher_spec:
            settle()
            pending = "ChangeCipherSpec"
        elif isinstance(e, StateTrace):
            if e.old != current:
                problems.append(f"{side}: state change from {e.old}, but the trace was in {current}")
            if pending is None:
                problems.append(f"{side}: {e.old} → {e.new} with no message received")
            else:
                seen.add((e.old, pending, e.new))
            current, pending = e.new, None
        elif isinstance(e, AlertTrace) and e.direction == "out" and e.level == AlertLevel.fatal:
            pending = None  # the message was refused: no transition
    settle()
    return seen, problems


def declared() -> set[Transition]:
    out = set()
    for name, cls in statemachine.state_classes().items():
        for edge in statemachine.declared_edges(cls):
            out.add((name, edge.trigger, edge.target))
    return out


def all_observed(runs: dict[str, list[Run]]) -> dict[Transition, str]:
    """Every observed transition, with the first scenario that showed it."""
    out: dict[Transition, str] = {}
    for name, rs in runs.items():
        for r in rs:
            for log in (r.client_log, r.server_log):
                seen, problems = observed_transitions(log.events)
                assert not problems, (name, problems)
                for t in seen:
                    out.setdefault(t, name)
    return out


# -- the tables are truthful ---------------------------------------------------------------------


def test_scenarios_went_as_planned(runs: dict[str, list[Run]]) -> None:
    for name, rs in runs.items():
        failing = any(word in name for word in ("untrusted", "corrupted", "no common", "not sent"))
        for r in rs:
            assert r.connected != failing, (name, r.client.error, r.server.error)
    (resumed,) = runs["1.2 resumption by ticket"]
    assert resumed.client.parameters.resumed
    (hrr,) = runs["1.3 HelloRetryRequest"]
    assert any(isinstance(e, MessageTrace) and isinstance(e.message, HelloRetryRequest) for e in hrr.server_log.events)
    (post,) = runs["1.3 full, KeyUpdate, NewSessionTicket"]
    assert any(isinstance(e, MessageTrace) and isinstance(e.message, KeyUpdate) for e in post.client_log.events)


def test_every_state_change_is_declared(runs: dict[str, list[Run]]) -> None:
    table = declared()
    undeclared = {t: scenario for t, scenario in all_observed(runs).items() if t not in table}
    assert not undeclared, "transitions the code made but its tables do not declare: " + repr(undeclared)


def test_every_declared_transition_happens(runs: dict[str, list[Run]]) -> None:
    never = declared() - set(all_observed(runs))
    assert not never, f"declared transitions no handshake took: {sorted(never)}"


def test_declared_targets_exist_and_triggers_are_expected() -> None:
    classes = statemachine.state_classes()
    messages = {
        name: obj
        for module in (wire13, wire12)
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, wire13.Handshake)
    }
    for name, cls in classes.items():
        for edge in statemachine.declared_edges(cls):
            assert edge.target in classes, f"{name} → {edge.target}: no such state"
            if edge.trigger == statemachine.CCS:
                assert cls.on_change_cipher_spec is not None, f"{name} declares a CCS transition but takes no CCS"
                continue
            assert edge.trigger in messages, f"{name}: trigger {edge.trigger} is no message class"
            assert issubclass(messages[edge.trigger], cls.expects), f"{name} does not expect {edge.trigger}"


def test_every_state_is_reachable_and_each_role_has_one_start() -> None:
    classes = statemachine.state_classes()
    starts = {statemachine.role_of_initial(c): n for n, c in classes.items() if c.initial}
    assert set(starts) == {"client", "server"} and len([c for c in classes.values() if c.initial]) == 2
    in_graphs = {node.name for g in statemachine.all_graphs() for node in g.nodes}
    assert in_graphs == set(classes), f"states in no diagram: {set(classes) - in_graphs}"


def test_state_classes_with_handlers_all_declare_a_table() -> None:
    """A new state class must declare where it goes (abstract bases excepted)."""
    classes = statemachine.state_classes()
    for cls in _subclasses(State):
        concrete = "handle" in vars(cls) or "on_change_cipher_spec" in vars(cls)
        if concrete and cls.__name__ not in ("Connected13",):
            assert cls.__name__ in classes and cls.transitions, f"{cls.__name__} has no transition table"


def _subclasses(cls: type) -> list[type]:
    return [s for sub in cls.__subclasses__() for s in (sub, *_subclasses(sub))]


# -- the diagrams in docs/states are generated from the current tables ---------------------------


def test_graphs_follow_handshake_order() -> None:
    g = statemachine.state_graph("client", "1.3")
    names = [n.name for n in g.nodes]
    assert names[0] == "ExpectServerHello" and names[-1] == "ClientConnected13"
    assert names.index("ExpectEncryptedExtensions") < names.index("ExpectCertificateVerify")
    assert ("ExpectServerHello", "ExpectServerHello", "HelloRetryRequest") in {
        (e.source, e.target, e.trigger) for e in g.edges
    }
    g12 = statemachine.state_graph("client", "1.2")
    assert all(e.trigger != "HelloRetryRequest" for e in g12.edges)
    assert [n.name for n in g12.nodes][-1] == "ClientConnected12"


def test_docs_states_are_up_to_date(tmp_path: Path) -> None:
    written = statemachine.write_state_diagrams(tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{role}-{version}.{ext}"
        for role in ("client", "server")
        for version in ("1.2", "1.3")
        for ext in ("mmd", "svg")
    )
    stale = [
        p.name
        for p in written
        if not (DOCS / p.name).exists() or (DOCS / p.name).read_text(encoding="utf-8") != p.read_text(encoding="utf-8")
    ]
    assert not stale, f"docs/states is out of date for {stale}: run `glasstls diagram --states -o docs/states`"
