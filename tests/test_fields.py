"""The byte-exact field trees of glasstls.trace.fields.

* For real handshakes between two in-memory glasstls peers (TLS 1.3, TLS 1.3
  with a client certificate, TLS 1.2 with ECDHE, DHE and RSA key exchange,
  with a client certificate and resumed by ticket), the tree of every
  handshake message and of every record, both directions, tiles its bytes
  exactly at the leaves (no gaps, no overlaps), decodes without an
  ``undecodable`` leaf, and names the fields as the RFCs do, with the values
  the wire parsers read.
* Malformed input never raises: whatever cannot be read is one
  ``undecodable`` leaf with a note, and the tiling still holds (hypothesis,
  random bytes and mutated real messages).

:func:`traced_connection` is shared with the illustrated-page tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls import CertifiedKey, CipherSuite, ProtocolVersion
from glasstls.enums import ContentType
from glasstls.observe import EventList, MessageTrace, RecordTrace, TraceEvent
from glasstls.trace.fields import KINDS, UNDECODABLE, Field, content_tree, field_tree
from glasstls.x509.mint import Identity
from glasstls.x509.store import TrustStore
from pairs import Pair, TamperingClient, TamperingServer, default_ca, make_pair

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
DHE = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256


# -- traced connections ------------------------------------------------------------------------


@dataclass
class Traced:
    """Both sides' trace events of one connection: handshake, data each way, close_notify."""

    name: str
    version: ProtocolVersion
    key_exchange: str | None  # for TLS 1.2's ServerKeyExchange / ClientKeyExchange
    client: list[TraceEvent]
    server: list[TraceEvent]
    pair: Pair

    def messages(self) -> list[tuple[str, Any]]:
        return [(e.side, e.message) for e in self.client + self.server if isinstance(e, MessageTrace)]

    def records(self) -> list[RecordTrace]:
        return [e for e in self.client + self.server if isinstance(e, RecordTrace)]


SCENARIOS = [
    "tls13",
    "tls13-client-auth",
    "tls12-ecdhe",
    "tls12-dhe",
    "tls12-rsa",
    "tls12-client-auth",
    "tls12-resumed",
]


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


@functools.cache
def client_certificate() -> CertifiedKey:
    identity = default_ca().issue_client("client.test")
    return CertifiedKey(identity.chain, identity.private_key)


def _drive(pair: Pair) -> None:
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    pair.client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    pair.to_server()
    pair.server.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    pair.to_client()
    pair.client.close()
    pair.to_server()
    pair.to_client()


@functools.cache
def traced_connection(name: str) -> Traced:
    """One connection of scenario ``name`` (see :data:`SCENARIOS`), traced on both sides with secrets."""
    client, server = EventList(wants_secrets=True), EventList(wants_secrets=True)
    ckw: dict[str, Any] = {}
    skw: dict[str, Any] = {}
    kw: dict[str, Any] = {}
    version, kx = (V13, None) if name.startswith("tls13") else (V12, "ecdhe")
    if version == V12:
        ckw["tls_max"] = V12
    if name.endswith("client-auth"):
        ckw["certificate"] = client_certificate()
        if version == V13:  # both Certificates uncompressed here; "tls13" has the server's compressed (RFC 8879)
            ckw["certificate_compression"] = ()
        skw |= {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    suite = {"tls12-dhe": DHE, "tls12-rsa": RSA_KX, "tls12-client-auth": ECDHE_RSA}.get(name)
    if suite is not None:
        ckw["cipher_suites"] = (suite,)
        skw["cipher_suites"] = (CipherSuite.TLS_AES_128_GCM_SHA256, suite)
        kw["identity"] = rsa_identity()
        kx = "dhe" if suite == DHE else "rsa" if suite == RSA_KX else "ecdhe"
    if name == "tls12-resumed":
        first = make_pair(client_kw=ckw)
        _drive(first)
        assert first.client.session is not None
        c = TamperingClient(first.client_config, "localhost", None, session=first.client.session, observer=client)
        s = TamperingServer(first.server_config, None, observer=server)
        pair = Pair(c, s, first.client_config, first.server_config, first.identity, first.ca)
    else:
        pair = make_pair(client_kw=ckw, server_kw=skw, client_observer=client, server_observer=server, **kw)
    _drive(pair)
    assert pair.client.parameters.version == version.label
    assert pair.client.parameters.resumed == (name == "tls12-resumed")
    return Traced(name, version, kx, client.events, server.events, pair)


# -- checking a tree ------------------------------------------------------------------------------


def assert_tiles(tree: Field, size: int) -> None:
    """Leaves cover [0, size) exactly once, in order; every node's children tile the node."""
    assert (tree.start, tree.end) == (0, size), (tree.start, tree.end, size)
    pos = 0
    for leaf in tree.leaves():
        assert leaf.start == pos, f"{leaf.name} starts at {leaf.start}, expected {pos}"
        assert leaf.end > leaf.start or size == 0, f"empty leaf {leaf.name}"
        pos = leaf.end
    assert pos == size
    for _, node in tree.walk():
        if node.children:
            assert node.children[0].start == node.start and node.children[-1].end == node.end, node.name
            for a, b in zip(node.children, node.children[1:], strict=False):
                assert a.end == b.start, (node.name, a.name, b.name)


def assert_clean(tree: Field) -> None:
    bad = [(n.name, n.note) for _, n in tree.walk() if n.name == UNDECODABLE or n.note.startswith("truncated")]
    assert not bad, bad


def names(node: Field) -> list[str]:
    return [c.name for c in node.children]


def data(raw: bytes, node: Field | None) -> bytes:
    assert node is not None
    return raw[node.start : node.end]


def rfc_name(msg: Any) -> str:
    return msg.name.removesuffix("12")


# -- real handshakes --------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_message_tiles_and_decodes(scenario: str) -> None:
    traced = traced_connection(scenario)
    seen = set()
    for _side, msg in traced.messages():
        for version, kx in ((traced.version, traced.key_exchange), (None, None)):
            tree = field_tree(msg.raw, "handshake", version, key_exchange=kx)
            assert_tiles(tree, len(msg.raw))
            assert_clean(tree)
            assert tree.name == rfc_name(msg)
            assert names(tree)[:2] == ["msg_type", "length"]
        seen.add(rfc_name(msg))
    assert {"ClientHello", "ServerHello", "Finished"} <= seen


# Top-level fields of each message, as RFC 8446 Section 4 and RFC 5246 Section 7.4 name them.
HEADER = ["msg_type", "length"]
SESSION = ["legacy_session_id length", "legacy_session_id"]
SIGNED = ["algorithm", "signature length", "signature"]
EXPECTED = {
    "ClientHello": [
        *HEADER,
        "legacy_version",
        "random",
        *SESSION,
        "cipher_suites",
        "legacy_compression_methods",
        "extensions",
    ],
    "ServerHello": [
        *HEADER,
        "legacy_version",
        "random",
        "legacy_session_id_echo length",
        "legacy_session_id_echo",
        "cipher_suite",
        "legacy_compression_method",
        "extensions",
    ],
    "EncryptedExtensions": [*HEADER, "extensions"],
    ("Certificate", V13): [
        *HEADER,
        "certificate_request_context length",
        "certificate_request_context",
        "certificate_list",
    ],
    ("Certificate", V12): [*HEADER, "certificate_list"],
    "CompressedCertificate": [
        *HEADER,
        "algorithm",
        "uncompressed_length",
        "compressed_certificate_message length",
        "compressed_certificate_message",
    ],
    ("CertificateRequest", V13): [
        *HEADER,
        "certificate_request_context length",
        "certificate_request_context",
        "extensions",
    ],
    ("CertificateRequest", V12): [
        *HEADER,
        "certificate_types",
        "supported_signature_algorithms",
        "certificate_authorities",
    ],
    "CertificateVerify": [*HEADER, *SIGNED],
    "Finished": [*HEADER, "verify_data"],
    ("ServerKeyExchange", "ecdhe"): [*HEADER, "curve_type", "named_curve", "public length", "public", *SIGNED],
    ("ServerKeyExchange", "dhe"): [
        *HEADER,
        *("dh_p length", "dh_p", "dh_g length", "dh_g", "dh_Ys length", "dh_Ys"),
        *SIGNED,
    ],
    ("ClientKeyExchange", "ecdhe"): [*HEADER, "ecdh_Yc length", "ecdh_Yc"],
    ("ClientKeyExchange", "dhe"): [*HEADER, "dh_Yc length", "dh_Yc"],
    ("ClientKeyExchange", "rsa"): [*HEADER, "EncryptedPreMasterSecret length", "EncryptedPreMasterSecret"],
    "ServerHelloDone": HEADER,
    ("NewSessionTicket", V12): [*HEADER, "ticket_lifetime_hint", "ticket length", "ticket"],
    ("NewSessionTicket", V13): [
        *HEADER,
        *("ticket_lifetime", "ticket_age_add", "ticket_nonce length", "ticket_nonce", "ticket length", "ticket"),
        "extensions",
    ],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_field_names_and_values_match_the_parsed_messages(scenario: str) -> None:
    traced = traced_connection(scenario)
    for _side, msg in traced.messages():
        raw, name = msg.raw, rfc_name(msg)
        tree = field_tree(raw, "handshake", traced.version, key_exchange=traced.key_exchange)
        expected = EXPECTED.get(name) or EXPECTED.get((name, traced.version)) or EXPECTED[(name, traced.key_exchange)]
        if name == "ServerHello" and not msg.extensions:
            expected = expected[:-1]
        # An empty opaque vector is its length alone: no bytes, no leaf.
        empty = {
            f.name.removesuffix(" length")
            for f in tree.children
            if f.name.endswith(" length") and f.size and f.value == "0 bytes"
        }
        expected = [n for n in expected if n not in empty]
        assert names(tree) == expected, name
        CHECKS.get(name, lambda *a: None)(raw, tree, msg)


def _check_hello(raw: bytes, tree: Field, msg: Any) -> None:
    assert data(raw, tree.find("random")) == msg.random
    assert tree.find("legacy_version").value == f"TLSv1.2 (0x0303)"  # noqa: F541 - RFC 8446, Section 4.1.2
    suites = list(msg.cipher_suites) if hasattr(msg, "cipher_suites") else [msg.cipher_suite]
    leaves = [f for f in tree.find_all("cipher_suite")]
    assert [f.value.split(" ")[0] for f in leaves] == [s.name for s in suites]
    extensions = tree.find("extensions")
    if msg.extensions:
        assert extensions.children[0].name == "length"
        types = [e.children[0].value.split(" ")[0] for e in extensions.children[1:]]
        assert types == [e.type.name for e in msg.extensions]
        for node, ext in zip(extensions.children[1:], msg.extensions, strict=True):
            assert data(raw, node)[4:] == ext.data  # type and length, then the data
    if hasattr(msg, "cipher_suites"):
        assert tree.find("HostName").value == "localhost"
        shares = list(tree.find_all("KeyShareEntry"))
        if shares:
            key_share = msg.ext(51).value
            assert [s.children[0].value.split(" ")[0] for s in shares] == [k.group.name for k in key_share]
            assert [data(raw, s.find("key_exchange")) for s in shares] == [k.key_exchange for k in key_share]


def _check_certificate(raw: bytes, tree: Field, msg: Any) -> None:
    ders = [e.cert_data for e in msg.entries] if hasattr(msg, "entries") else list(msg.certificates)
    leaves = [f for _, f in tree.walk() if f.name in ("cert_data", "ASN.1Cert")]
    assert [data(raw, f) for f in leaves] == ders
    for f, der in zip(leaves, ders, strict=True):
        from cryptography import x509

        assert f.value.startswith(x509.load_der_x509_certificate(der).subject.rfc4514_string())


def _check_certificate_verify(raw: bytes, tree: Field, msg: Any) -> None:
    assert tree.find("algorithm").value.startswith(msg.algorithm.name)
    assert data(raw, tree.find("signature")) == msg.signature


def _check_finished(raw: bytes, tree: Field, msg: Any) -> None:
    assert data(raw, tree.find("verify_data")) == msg.verify_data


def _check_ske(raw: bytes, tree: Field, msg: Any) -> None:
    if tree.find("curve_type"):
        params = msg.ecdhe()
        assert tree.find("curve_type").value == "named_curve (3)"
        assert tree.find("named_curve").value.startswith(params.group.name)
        assert data(raw, tree.find("public")) == params.public
    else:
        params = msg.dhe()
        assert data(raw, tree.find("dh_p")) == params.p and data(raw, tree.find("dh_Ys")) == params.ys
    assert tree.find("algorithm").value.startswith(params.algorithm.name)
    assert data(raw, tree.find("signature")) == params.signature


CHECKS = {
    "ClientHello": _check_hello,
    "ServerHello": _check_hello,
    "Certificate": _check_certificate,
    "CertificateVerify": _check_certificate_verify,
    "Finished": _check_finished,
    "ServerKeyExchange": _check_ske,
}


def inner_plaintext(record: RecordTrace) -> bytes:
    """A TLS 1.3 record's TLSInnerPlaintext: the content, its type, then the padding (16-byte tags)."""
    assert record.plaintext is not None and record.inner_type is not None
    padding = len(record.payload) - 16 - 1 - len(record.plaintext)
    return record.plaintext + bytes([record.inner_type]) + bytes(max(padding, 0))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_record_tiles_and_decodes(scenario: str) -> None:
    traced = traced_connection(scenario)
    kinds = set()
    sent = {rfc_name(m) for _, m in traced.messages()}
    for record in traced.records():
        raw = record.header + record.payload
        protected = record.plaintext is not None
        tree = field_tree(raw, "record", traced.version, decode_payload=not protected)
        assert_tiles(tree, len(raw))
        assert_clean(tree)
        assert names(tree) == ["type", "legacy_record_version", "length", tree.children[3].name]
        assert tree.children[0].value == f"{record.content_type.name} ({int(record.content_type)})"
        assert tree.children[2].value.split(" ")[0] == str(len(record.payload))
        if not protected:
            kinds.add(record.content_type.name)
            if record.content_type == ContentType.handshake:
                assert {child.name for child in tree.children[3].children} <= sent
            continue
        kinds.add(f"protected {record.inner_type.name}")
        assert not tree.children[3].children  # ciphertext stays opaque
        if traced.version == V13:
            inner = inner_plaintext(record)
            itree = field_tree(inner, "inner", V13)
            assert_tiles(itree, len(inner))
            assert_clean(itree)
            assert itree.find("type").value == f"{record.inner_type.name} ({int(record.inner_type)})"
        else:
            ctree = content_tree(record.plaintext, record.inner_type, V12, key_exchange=traced.key_exchange)
            assert_tiles(ctree, len(record.plaintext))
            assert_clean(ctree)
    expected = {"handshake", "protected application_data", "protected alert"}
    expected.add("change_cipher_spec")
    assert expected <= kinds, kinds


def test_inner_plaintext_with_padding_and_several_messages() -> None:
    traced = traced_connection("tls13")
    sent = [e.message for e in traced.server if isinstance(e, MessageTrace) and e.direction == "out"]
    flight = [m.raw for m in sent if m.name != "ServerHello"][:4]
    content = b"".join(flight)
    inner = content + bytes([ContentType.handshake]) + bytes(7)
    tree = field_tree(inner, "inner", V13)
    assert_tiles(tree, len(inner))
    assert names(tree) == ["content", "type", "zeros"]
    # The glasstls client offers certificate compression: the server's Certificate goes compressed (RFC 8879).
    assert names(tree.children[0]) == ["EncryptedExtensions", "CompressedCertificate", "CertificateVerify", "Finished"]
    assert tree.find("zeros").value == "7 bytes of padding"


def test_fragments_across_records_are_marked() -> None:
    traced = traced_connection("tls13")
    cert = next(m.raw for _, m in traced.messages() if m.name == "CompressedCertificate")
    first, rest = cert[:100], cert[100:]
    head = content_tree(first, ContentType.handshake, V13)
    assert_tiles(head, len(first))
    assert names(head.children[0]) == ["msg_type", "length", "message fragment"]
    assert "continues" in head.children[0].note
    tail = content_tree(rest, ContentType.handshake, V13, continued=len(rest))
    assert_tiles(tail, len(rest))
    assert names(tail) == ["message fragment"]


def test_alert_and_change_cipher_spec() -> None:
    alert = field_tree(b"\x02\x28", "alert")
    assert_tiles(alert, 2)
    assert names(alert.children[0]) == ["level", "description"]
    assert [c.value for c in alert.children[0].children] == ["fatal (2)", "handshake_failure (40)"]
    ccs = field_tree(b"\x01", "change_cipher_spec")
    assert [(c.name, c.value) for c in ccs.children] == [("type", "change_cipher_spec (1)")]


def test_grease_and_unknown_values_survive() -> None:
    traced = traced_connection("tls13")
    hello = next(m for _, m in traced.messages() if m.name == "ClientHello").raw
    # Append a GREASE extension (RFC 8701) with two bytes of data and fix every length on the way.
    grease = b"\x0a\x0a\x00\x02\xab\xcd"
    body = hello[4:] + grease
    ext_at = 4 + 2 + 32 + 1 + hello[38] + 2 + int.from_bytes(hello[39 + hello[38] : 41 + hello[38]], "big")
    ext_at += 1 + hello[ext_at]
    ext_len = int.from_bytes(hello[ext_at : ext_at + 2], "big") + len(grease)
    raw = bytes([1]) + len(body).to_bytes(3, "big") + body
    raw = raw[:ext_at] + ext_len.to_bytes(2, "big") + raw[ext_at + 2 :]
    tree = field_tree(raw, "handshake")
    assert_tiles(tree, len(raw))
    assert_clean(tree)
    last = tree.find("extensions").children[-1]
    assert last.children[0].value == "GREASE_0x0a0a (0x0a0a)" and "RFC 8701" in last.children[0].note
    assert last.children[2].name == "extension_data" and last.children[2].value == "abcd"


def test_malformed_input_is_marked_not_raised() -> None:
    traced = traced_connection("tls12-ecdhe")
    hello = next(m for _, m in traced.messages() if m.name == "ClientHello").raw
    # Cut in the middle of the cipher suites: the header still says the full length.
    cut = field_tree(hello[:80], "handshake")
    assert_tiles(cut, 80)
    assert "truncated" in cut.note
    # A cipher_suites length that overruns the message.
    bad = bytearray(hello)
    suites_at = 4 + 2 + 32 + 1 + hello[38]
    bad[suites_at : suites_at + 2] = b"\xff\xff"
    tree = field_tree(bytes(bad), "handshake")
    assert_tiles(tree, len(bad))
    undecodable = [f for f in tree.leaves() if f.name == UNDECODABLE]
    assert len(undecodable) == 1 and "cipher_suites" in undecodable[0].note
    # Extra bytes after a record; a record whose header overstates its length.
    record = field_tree(b"\x16\x03\x03\x00\x02\x0e\x00\xff", "record")
    assert_tiles(record, 8)
    assert record.children[-1].name == UNDECODABLE
    short = field_tree(b"\x17\x03\x03\x01\x00abc", "record", V13)
    assert_tiles(short, 8)
    assert short.children[-1].name == "encrypted_record" and "truncated" in short.children[-1].note
    # A TLSInnerPlaintext of zeros has no content type.
    zeros = field_tree(bytes(5), "inner")
    assert_tiles(zeros, 5)
    assert zeros.children[0].name == UNDECODABLE
    with pytest.raises(ValueError):
        field_tree(b"", "nonsense")


# -- fuzzing ------------------------------------------------------------------------------------------

VERSIONS = st.sampled_from([None, V12, V13])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=400), kind=st.sampled_from(KINDS), version=VERSIONS)
def test_random_bytes_never_raise(raw: bytes, kind: str, version: Any) -> None:
    tree = field_tree(raw, kind, version, decode_payload=True)
    assert_tiles(tree, len(raw))


def _real_messages() -> list[bytes]:
    return [
        m.raw
        for name in ("tls13-client-auth", "tls12-dhe", "tls12-client-auth")
        for _, m in traced_connection(name).messages()
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_messages_never_raise(data: Any) -> None:
    messages = _real_messages()
    raw = bytearray(data.draw(st.sampled_from(messages)))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "length"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "length" and pos + 1 < len(raw):
            raw[pos : pos + 2] = data.draw(st.binary(min_size=2, max_size=2))
    for version in (None, V12, V13):
        for kx in (None, "ecdhe", "dhe", "rsa"):
            tree = field_tree(bytes(raw), "handshake", version, key_exchange=kx)
            assert_tiles(tree, len(raw))
    record = b"\x16\x03\x03" + len(raw).to_bytes(2, "big") + bytes(raw)
    assert_tiles(field_tree(record, "record", decode_payload=True), len(record))
    assert_tiles(field_tree(bytes(raw) + b"\x16", "inner"), len(raw) + 1)


def test_version_by_label_and_layout_guess() -> None:
    """The version may be a label ("TLSv1.2", as NegotiatedParameters has it); None guesses the layout."""
    traced = traced_connection("tls12-ecdhe")
    cert = next(m.raw for _, m in traced.messages() if m.name == "Certificate12")
    for version in ("TLSv1.2", "1.2", V12, None):
        tree = field_tree(cert, "handshake", version)
        assert_clean(tree)
        assert [f.name for f in tree.find("certificate_list").children][:3] == [
            "length",
            "ASN.1Cert length",
            "ASN.1Cert",
        ]
