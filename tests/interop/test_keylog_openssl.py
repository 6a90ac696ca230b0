"""Known answers from OpenSSL's key log: the secrets of one real connection, seen from both ends.

OpenSSL's ``-keylogfile`` (the NSS key log format) writes the secrets it derived
for a connection; glasstls emits the same secrets as :class:`SecretTrace` events
to an observer with ``wants_secrets``. For one connection on 127.0.0.1 they
must be equal, byte for byte:

* TLS 1.2 (RFC 5246, Section 8.1; RFC 7627, Section 4): ``CLIENT_RANDOM
  <client random> <master secret>`` against glasstls's ``master_secret``, for
  the ECDHE, DHE (RFC 7919 ffdhe2048) and RSA key exchanges, with the extended
  master secret and without it, glasstls as client (``s_server``) and as server
  (``s_client``).
* TLS 1.3 (RFC 8446, Section 7.1): the five secrets OpenSSL logs against the
  glasstls labels of :data:`TLS13_LABELS`, in both directions.

For TLS 1.2 the master secret is then taken from OpenSSL's log, not from
glasstls, and fed through glasstls's PRF (``crypto.prf12``):

* both Finished messages' verify_data (RFC 5246, Section 7.4.9) are recomputed
  from it and the hash of the handshake messages as traced, and compared with
  the verify_data that went over the wire;
* the key block (RFC 5246, Section 6.3) derived from it decrypts, with a bare
  AES-GCM from ``cryptography`` (not glasstls's record layer), the first
  protected record each side sent (its Finished, sequence number 0; RFC 5288,
  Section 3), OpenSSL's own included;
* for the RSA key exchange ``s_client`` also logs the pre-master secret (an
  ``RSA <first 8 bytes of its encryption> <pre-master>`` line), and glasstls's
  ``master_secret`` / ``extended_master_secret`` turn it into OpenSSL's master
  secret: a true known answer for the derivation itself (RFC 5246, Section 8.1;
  RFC 7627, Section 4, over the session hash of the traced messages).

OpenSSL 3.0's command line has no ``-no_ems``; the extended master secret is
switched off through an OpenSSL configuration file (``Options =
-ExtendedMasterSecret``, i.e. SSL_OP_NO_EXTENDED_MASTER_SECRET) named by
``OPENSSL_CONF`` in the peer's environment. That OpenSSL did or did not
negotiate it is read from its own ``-trace`` of the ServerHello
(``extension_type=extended_master_secret(23)``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from interop_peers import (
    WAIT,
    OpenSSLServer,
    ServerThread,
    glasstls_line_through,
    read_line,
    run_s_client,
    trace_fatal_alerts,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, NamedGroup, ProtocolVersion, ServerConfig
from glasstls.crypto import prf12
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import ContentType, HandshakeType
from glasstls.observe import EventList, MessageTrace, RecordTrace, SecretTrace

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

# key exchange -> (glasstls suite name, OpenSSL suite name, group glasstls reports)
KX = {
    "ECDHE": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "x25519"),
    "DHE": ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", "ffdhe2048"),
    "RSA": ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", None),
}
TLS12_CASES = [(kx, ems) for kx in KX for ems in (True, False)]
TLS12_IDS = [f"{kx}-{'ems' if ems else 'no_ems'}" for kx, ems in TLS12_CASES]

# OpenSSL key log label -> glasstls SecretTrace label (RFC 8446, Section 7.1 names)
TLS13_LABELS = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake_traffic_secret",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake_traffic_secret",
    "CLIENT_TRAFFIC_SECRET_0": "client_application_traffic_secret_0",
    "SERVER_TRAFFIC_SECRET_0": "server_application_traffic_secret_0",
    "EXPORTER_SECRET": "exporter_master_secret",
}

NO_EMS_CONF = """\
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
"""

EMS_EXTENSION = "extension_type=extended_master_secret(23)"


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def openssl_ems(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A function ``set(ems)``: without EMS, point the OpenSSL peers started afterwards at NO_EMS_CONF."""

    def set_ems(ems: bool) -> None:
        if not ems:
            conf = tmp_path / "no_ems.cnf"
            conf.write_text(NO_EMS_CONF)
            monkeypatch.setenv("OPENSSL_CONF", str(conf))

    return set_ems


# -- reading what the two sides logged ------------------------------------------------------


def parse_keylog(text: str) -> list[tuple[str, bytes, bytes]]:
    """(label, key, secret) for every line of an NSS key log; comment lines are skipped.

    The key is the client random (32 bytes), except on an ``RSA`` line, where it is
    the first 8 bytes of the encrypted pre-master secret and the secret is the
    pre-master secret itself (``s_client`` writes one for the RSA key exchange).
    """
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"(RSA [0-9a-fA-F]{16}|[A-Z0-9_]+ [0-9a-fA-F]{64}) ([0-9a-fA-F]+)", line.strip())
        assert match, f"not a key log line: {line!r}"
        label, key = match.group(1).split(" ")
        entries.append((label, bytes.fromhex(key), bytes.fromhex(match.group(2))))
    return entries


def glasstls_secrets(events: EventList) -> dict[str, tuple[bytes, bytes]]:
    """label -> (client random, secret) of glasstls's SecretTrace events; each label exactly once."""
    secrets: dict[str, tuple[bytes, bytes]] = {}
    for event in events.events:
        if isinstance(event, SecretTrace):
            assert event.label not in secrets, f"glasstls emitted {event.label} twice"
            assert event.secret is not None, "an observer with wants_secrets=True got no secret"
            secrets[event.label] = (event.client_random, event.secret)
    return secrets


def messages(events: EventList) -> list:
    """The handshake messages glasstls sent and received, in the order it processed them."""
    return [e.message for e in events.events if isinstance(e, MessageTrace)]


def hello_randoms(events: EventList) -> tuple[bytes, bytes]:
    msgs = messages(events)
    client_hello = next(m for m in msgs if m.msg_type == HandshakeType.client_hello)
    server_hello = next(m for m in msgs if m.msg_type == HandshakeType.server_hello)
    return client_hello.random, server_hello.random


def server_hello_trace(trace: str) -> str:
    """The ServerHello in an OpenSSL ``-trace`` log, up to the next record."""
    blocks = re.split(r"^\s*ServerHello, Length=\d+\s*$", trace, flags=re.MULTILINE)
    assert len(blocks) == 2, f"expected one ServerHello in the trace:\n{trace}"
    return re.split(r"^(?:Sent|Received) Record", blocks[1], maxsplit=1, flags=re.MULTILINE)[0]


# -- TLS 1.2: the master secret and what it must reproduce ----------------------------------------


def check_tls12(events: EventList, keylog: str, suite_name: str, ems: bool) -> None:
    """OpenSSL's CLIENT_RANDOM line equals glasstls's master_secret, and reproduces Finished and record keys."""
    entries = {label: (key, secret) for label, key, secret in parse_keylog(keylog)}
    assert len(entries) == len(parse_keylog(keylog)), keylog
    assert "CLIENT_RANDOM" in entries and set(entries) <= {"CLIENT_RANDOM", "RSA"}, keylog
    openssl_random, master = entries["CLIENT_RANDOM"]
    assert len(master) == prf12.MASTER_SECRET_LEN

    secrets = glasstls_secrets(events)
    assert set(secrets) == {"pre_master_secret", "master_secret"}, secrets.keys()
    client_random, server_random = hello_randoms(events)
    assert secrets["master_secret"] == (client_random, master)
    assert openssl_random == client_random
    if "RSA" in entries:  # OpenSSL logs the RSA pre-master secret itself: glasstls's step shows the same
        assert secrets["pre_master_secret"] == (client_random, entries["RSA"][1])

    suite = TLS12_SUITES[CipherSuite[suite_name]]
    if "RSA" in entries:
        check_master_from_pre_master(events, suite.prf_hash, *entries["RSA"], master, ems)
    check_finished(events, suite.prf_hash, master)
    check_first_records(events, suite, master, client_random, server_random)


def check_master_from_pre_master(
    events: EventList, hash_name: str, encrypted_head: bytes, pre_master: bytes, master: bytes, ems: bool
) -> None:
    """OpenSSL's RSA pre-master secret, through glasstls's PRF, gives OpenSSL's master secret.

    RFC 5246, Section 7.4.7.1: the pre-master is client_version (3, 3) and 46
    random bytes, sent RSA-encrypted in a 2-byte-length vector; the key log names
    it by the first 8 bytes of the ciphertext. The master is then RFC 5246,
    Section 8.1, or with EMS RFC 7627, Section 4 over the session hash: the hash
    of every handshake message up to and including ClientKeyExchange.
    """
    assert len(pre_master) == 48 and pre_master[:2] == b"\x03\x03"
    msgs = messages(events)
    index = next(i for i, m in enumerate(msgs) if m.msg_type == HandshakeType.client_key_exchange)
    assert msgs[index].body[2:10] == encrypted_head
    if ems:
        digest = hashes.Hash(getattr(hashes, hash_name.upper())())
        for msg in msgs[: index + 1]:
            digest.update(msg.raw)
        derived = prf12.extended_master_secret(hash_name, pre_master, digest.finalize())
    else:
        client_random, server_random = hello_randoms(events)
        derived = prf12.master_secret(hash_name, pre_master, client_random, server_random)
    assert derived == master


def check_finished(events: EventList, hash_name: str, master: bytes) -> None:
    """RFC 5246, Section 7.4.9: each verify_data = PRF(master, label, Hash(messages before it))[0..11]."""
    msgs = messages(events)
    finished = [i for i, m in enumerate(msgs) if m.msg_type == HandshakeType.finished]
    assert len(finished) == 2, [type(m).__name__ for m in msgs]
    for sender, index in zip(("client", "server"), finished, strict=True):  # full handshake: client first
        digest = hashes.Hash(getattr(hashes, hash_name.upper())())
        for msg in msgs[:index]:
            assert msg.raw, f"{type(msg).__name__} kept no raw bytes"
            digest.update(msg.raw)
        expected = prf12.finished_verify_data(hash_name, master, sender, digest.finalize())
        assert msgs[index].verify_data == expected, f"{sender} Finished differs from PRF(OpenSSL's master secret)"


def check_first_records(events: EventList, suite, master: bytes, client_random: bytes, server_random: bytes) -> None:
    """Open the first protected record of each direction with the key block derived from ``master``.

    AES-GCM of RFC 5288, Section 3: nonce = salt (4 bytes from the key block) +
    explicit nonce (the first 8 bytes of the record); additional data = seq_num
    (0: the first record under new keys) + type + version + plaintext length
    (RFC 5246, Section 6.2.3.3). Done here with ``AESGCM`` directly.
    """
    assert suite.cipher.endswith("GCM"), suite.cipher
    keys = prf12.key_block(suite, master, client_random, server_random)
    side = next(e.side for e in events.events if isinstance(e, RecordTrace))
    peer = "server" if side == "client" else "client"
    for direction, sender in (("out", side), ("in", peer)):
        record = next(
            e
            for e in events.events
            if isinstance(e, RecordTrace) and e.direction == direction and e.plaintext is not None
        )
        assert record.content_type == ContentType.handshake  # Finished comes first after ChangeCipherSpec
        key, salt = (keys.client_key, keys.client_iv) if sender == "client" else (keys.server_key, keys.server_iv)
        explicit, sealed = record.payload[:8], record.payload[8:]
        plaintext_len = len(sealed) - 16
        aad = bytes(8) + record.header[:3] + plaintext_len.to_bytes(2, "big")
        plaintext = AESGCM(key).decrypt(salt + explicit, sealed, aad)
        assert plaintext == record.plaintext
        assert plaintext[0] == HandshakeType.finished and len(plaintext) == 4 + prf12.VERIFY_DATA_LEN


# -- TLS 1.2: glasstls client → openssl s_server ---------------------------------------------------


@pytest.mark.parametrize(("kx", "ems"), TLS12_CASES, ids=TLS12_IDS)
def test_tls12_master_secret_glasstls_client_to_s_server(pki, tmp_path, ffdhe2048, openssl_ems, kx, ems):
    suite, openssl_suite, group = KX[kx]
    openssl_ems(ems)
    keylog = tmp_path / "s_server.keylog"
    events = EventList(wants_secrets=True)
    config = ClientConfig(trust_store=pki.trust_store(), cipher_suites=(CipherSuite[suite],))
    server_args = ["-keylogfile", str(keylog), "-cipher", openssl_suite]
    if kx == "DHE":
        server_args += ["-dhparam", str(ffdhe2048)]
    line = f"keylog {kx} ems={ems}\n".encode()
    trace_path = tmp_path / "s_server.trace"
    with OpenSSLServer(pki.files["rsa2048"], trace_path, *server_args, protocol="-tls1_2") as server:
        params, answer = glasstls_line_through(server, config, line, observer=events)
        output = server.wait_exit()
        trace = server.trace

    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.2", suite, group)
    assert params.extended_master_secret is ems
    assert answer == line[:-1][::-1] + b"\n"
    assert "Protocol version: TLSv1.2" in output, output
    assert f"Ciphersuite: {openssl_suite}" in output, output
    assert (EMS_EXTENSION in server_hello_trace(trace)) is ems
    assert trace_fatal_alerts(trace) == []
    check_tls12(events, keylog.read_text(), suite, ems)


# -- TLS 1.2: openssl s_client → glasstls server ---------------------------------------------------


def _echo_once(config: ServerConfig, events: EventList):
    def handle(sock):
        tls = glasstls.accept(sock, config, observer=events)
        try:
            tls.sendall(read_line(tls.recv))
            return tls.parameters
        finally:
            tls.close()

    return handle


def _s_client(pki, tmp_path: Path, config: ServerConfig, events: EventList, *args: str):
    """``s_client`` against a glasstls server, with a key log.

    Returns glasstls's parameters, what s_client printed, its key log and its ``-trace``.
    """
    keylog, trace_file = tmp_path / "s_client.keylog", tmp_path / "s_client.trace"
    line = b"keylog from s_client\n"
    with ServerThread(_echo_once(config, events)) as server:
        client = run_s_client(
            [
                *args, "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-verify_hostname", "localhost",
                "-keylogfile", str(keylog), "-ign_eof", "-trace", "-msgfile", str(trace_file),
            ],
            stdin=line,
        )  # fmt: skip
        try:
            params = server.result()
        except Exception as exc:
            raise AssertionError(
                f"glasstls server failed: {exc!r}; s_client said:\n{client.stdout}{client.stderr}"
            ) from exc
    assert client.returncode == 0, client.stdout + client.stderr
    assert line.decode() in client.stdout, client.stdout  # the echo came back
    assert "Verify return code: 0 (ok)" in client.stdout, client.stdout
    trace = trace_file.read_text(errors="replace")
    assert trace_fatal_alerts(trace) == []
    return params, client.stdout, keylog.read_text(), trace


@pytest.mark.parametrize(("kx", "ems"), TLS12_CASES, ids=TLS12_IDS)
def test_tls12_master_secret_s_client_to_glasstls_server(pki, tmp_path, openssl_ems, kx, ems):
    suite, openssl_suite, group = KX[kx]
    openssl_ems(ems)
    events = EventList(wants_secrets=True)
    config = ServerConfig(
        certificates=(pki.certified_key("rsa2048"),),
        cipher_suites=(CipherSuite[suite],),
        groups=(NamedGroup.x25519, NamedGroup.ffdhe2048),
    )
    params, out, keylog, trace = _s_client(pki, tmp_path, config, events, "-tls1_2", "-cipher", openssl_suite)

    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.2", suite, group)
    assert params.extended_master_secret is ems
    assert f"New, TLSv1.2, Cipher is {openssl_suite}" in out, out
    assert f"Extended master secret: {'yes' if ems else 'no'}" in out, out
    assert (EMS_EXTENSION in server_hello_trace(trace)) is ems
    check_tls12(events, keylog, suite, ems)


# -- TLS 1.3: the five secrets OpenSSL logs ----------------------------------------------------------


def check_tls13(events: EventList, keylog: str) -> None:
    entries = parse_keylog(keylog)
    assert sorted(label for label, _, _ in entries) == sorted(TLS13_LABELS), keylog
    secrets = glasstls_secrets(events)
    client_random, _ = hello_randoms(events)
    for openssl_label, random, secret in entries:
        label = TLS13_LABELS[openssl_label]
        assert random == client_random, openssl_label
        assert secrets[label] == (client_random, secret), f"{label} differs from OpenSSL's {openssl_label}"


def test_tls13_secrets_glasstls_client_to_s_server(pki, tmp_path):
    keylog = tmp_path / "s_server.keylog"
    events = EventList(wants_secrets=True)
    config = ClientConfig(trust_store=pki.trust_store(), tls_min=ProtocolVersion.TLSv1_3)
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", "-keylogfile", str(keylog)) as server:
        try:
            with glasstls.connect(
                "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
            ) as tls:
                params = tls.parameters
                tls.sendall(b"tls 1.3 keylog\n")
                assert read_line(tls.recv) == b"golyek 3.1 slt\n"
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; s_server said:\n{server.output}") from exc
        server.wait_exit()
    assert params is not None and params.version == "TLSv1.3"
    check_tls13(events, keylog.read_text())


def test_tls13_secrets_s_client_to_glasstls_server(pki, tmp_path):
    events = EventList(wants_secrets=True)
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), tls_min=ProtocolVersion.TLSv1_3)
    params, out, keylog, _ = _s_client(pki, tmp_path, config, events, "-tls1_3")
    assert params.version == "TLSv1.3"
    assert "New, TLSv1.3, Cipher is " in out, out
    check_tls13(events, keylog)
