"""The NSS key log (draft-ietf-tls-keylogfile): the right lines, and lines that decrypt.

For each handshake the log of either side must hold exactly the lines the
draft defines (Section 2.1 for TLS 1.3, 2.2 for TLS 1.2), keyed by the client
random that went over the wire. "Decrypts" is checked from the bytes on the
wire with nothing but the logged secrets, glasstls.crypto and a bare AEAD:

* TLS 1.3 (RFC 8446, Sections 5.2, 5.3, 7.3): each side's first protected
  record opens under the key and IV made by ``traffic_keys`` from the
  *_HANDSHAKE_TRAFFIC_SECRET line, the first application data under
  CLIENT_TRAFFIC_SECRET_0;
* TLS 1.2 (RFC 5246, Section 6.3; RFC 5288, Section 3): the key block made
  from the CLIENT_RANDOM line's master secret opens each side's Finished, the
  first record after its ChangeCipherSpec.
"""

from __future__ import annotations

import gc
import io
import os
import stat
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from glasstls.crypto import prf12
from glasstls.crypto.keyschedule13 import traffic_keys
from glasstls.crypto.suites import TLS12_SUITES, TLS13_SUITES
from glasstls.enums import CipherSuite, ContentType
from glasstls.observe import MessageTrace, SecretTrace
from glasstls.trace.keylog import KeyLog, format_line, keylog_from_env
from glasstls.wire.handshake import decode_message
from glasstls.wire.handshake12 import TLS12_PARSERS
from pairs import split_records
from test_trace_render import Run, traced_run

TLS13_LABELS = [
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
]


def logged_run(kind: str) -> tuple[Run, list[str], list[str]]:
    client_log, server_log = io.StringIO(), io.StringIO()
    run = traced_run(kind, KeyLog(client_log), KeyLog(server_log))
    return run, client_log.getvalue().splitlines(), server_log.getvalue().splitlines()


def parse(lines: list[str]) -> dict[str, tuple[bytes, bytes]]:
    out = {}
    for line in lines:
        label, random, secret = line.split(" ")
        assert label not in out, f"{label} logged twice"
        out[label] = (bytes.fromhex(random), bytes.fromhex(secret))
    return out


def wire_records(run: Run, direction: str) -> list[bytes]:
    return split_records(run.sent(direction))


def hello_randoms(run: Run) -> tuple[bytes, bytes]:
    """The client and server randoms as they went over the wire (first record each way)."""
    ch = decode_message(wire_records(run, "c2s")[0][5:])
    sh_record = wire_records(run, "s2c")[0]
    sh_raw = sh_record[5 : 5 + 4 + int.from_bytes(sh_record[6:9], "big")]
    sh = decode_message(sh_raw, TLS12_PARSERS)
    return ch.random, sh.random


def sent_messages(run: Run, side: str) -> list[bytes]:
    return [e.message.raw for e in run.events(side) if isinstance(e, MessageTrace) and e.direction == "out"]


# -- TLS 1.3 ------------------------------------------------------------------------------------------


def open13(secret: bytes, record: bytes, seq: int) -> tuple[int, bytes]:
    """Decrypt one TLS 1.3 record with a bare AES-GCM; returns (inner type, content)."""
    keys = traffic_keys(TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256], secret)
    nonce = (int.from_bytes(keys.iv, "big") ^ seq).to_bytes(12, "big")
    inner = AESGCM(keys.key).decrypt(nonce, record[5:], record[:5]).rstrip(b"\x00")
    return inner[-1], inner[:-1]


def test_tls13_key_log_lines_both_roles() -> None:
    run, client_lines, server_lines = logged_run("1.3")
    client_random, _ = hello_randoms(run)
    assert [line.split(" ")[0] for line in client_lines] == TLS13_LABELS
    assert client_lines == server_lines
    traced = {e.label: e.secret for e in run.client if isinstance(e, SecretTrace)}
    names = dict(
        zip(
            TLS13_LABELS,
            [
                "client_handshake_traffic_secret",
                "server_handshake_traffic_secret",
                "client_application_traffic_secret_0",
                "server_application_traffic_secret_0",
                "exporter_master_secret",
            ],
            strict=True,
        )
    )
    for label, (random, secret) in parse(client_lines).items():
        assert random == client_random
        assert secret == traced[names[label]]
    # The TLS 1.3 master secret is not a TLS 1.2 one: no CLIENT_RANDOM line.
    assert not any(line.startswith("CLIENT_RANDOM") for line in client_lines)


def test_tls13_key_log_decrypts_the_captured_records() -> None:
    run, lines, _ = logged_run("1.3")
    log = parse(lines)
    # The client's first protected record (after its compatibility change_cipher_spec) is its Finished.
    client_records = [r for r in wire_records(run, "c2s") if r[0] == ContentType.application_data]
    inner_type, content = open13(log["CLIENT_HANDSHAKE_TRAFFIC_SECRET"][1], client_records[0], 0)
    assert inner_type == ContentType.handshake
    assert content == sent_messages(run, "client")[-1]  # the client's Finished
    # The server's: EncryptedExtensions, Certificate, CertificateVerify, Finished.
    server_records = [r for r in wire_records(run, "s2c") if r[0] == ContentType.application_data]
    server_sent = sent_messages(run, "server")
    inner_type, content = open13(log["SERVER_HANDSHAKE_TRAFFIC_SECRET"][1], server_records[0], 0)
    assert inner_type == ContentType.handshake and content == b"".join(server_sent[1:-2])
    # Its two NewSessionTickets, the first record under its application traffic secret.
    inner_type, content = open13(log["SERVER_TRAFFIC_SECRET_0"][1], server_records[1], 0)
    assert inner_type == ContentType.handshake and content == b"".join(server_sent[-2:])
    # And the application data, under the application traffic secrets.
    inner_type, content = open13(log["CLIENT_TRAFFIC_SECRET_0"][1], client_records[1], 0)
    assert (inner_type, content) == (ContentType.application_data, b"ping from the client")
    inner_type, content = open13(log["SERVER_TRAFFIC_SECRET_0"][1], server_records[2], 1)
    assert (inner_type, content) == (ContentType.application_data, b"pong from the server")


# -- TLS 1.2 ------------------------------------------------------------------------------------------


def open12(key: bytes, fixed_iv: bytes, record: bytes, seq: int) -> bytes:
    """RFC 5288, Section 3: nonce = salt || explicit nonce; AAD = seq || type || version || length."""
    explicit, ciphertext = record[5:13], record[13:]
    aad = seq.to_bytes(8, "big") + record[:3] + (len(ciphertext) - 16).to_bytes(2, "big")
    return AESGCM(key).decrypt(fixed_iv + explicit, ciphertext, aad)


def after_ccs(records: list[bytes]) -> list[bytes]:
    i = next(i for i, r in enumerate(records) if r[0] == ContentType.change_cipher_spec)
    return records[i + 1 :]


@pytest.mark.parametrize("kind", ["1.2-ecdhe", "1.2-rsa", "1.2-dhe"])
def test_tls12_key_log_line_and_decryption(kind: str) -> None:
    run, client_lines, server_lines = logged_run(kind)
    client_random, server_random = hello_randoms(run)
    assert client_lines == server_lines and len(client_lines) == 1
    ((label, (random, master)),) = parse(client_lines).items()
    assert (label, random, len(master)) == ("CLIENT_RANDOM", client_random, 48)
    suite_id = next(e.message.cipher_suite for e in run.client if isinstance(e, MessageTrace) and e.direction == "in")
    kb = prf12.key_block(TLS12_SUITES[suite_id], master, client_random, server_random)
    client_finished = open12(kb.client_key, kb.client_iv, after_ccs(wire_records(run, "c2s"))[0], 0)
    assert client_finished == sent_messages(run, "client")[-1]
    server_finished = open12(kb.server_key, kb.server_iv, after_ccs(wire_records(run, "s2c"))[0], 0)
    assert server_finished == sent_messages(run, "server")[-1]
    ping = open12(kb.client_key, kb.client_iv, after_ccs(wire_records(run, "c2s"))[1], 1)
    assert ping == b"ping from the client"


# -- the file ------------------------------------------------------------------------------------------


def test_key_log_file_is_private_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    for _ in range(2):
        with KeyLog(path) as log:
            traced_run("1.3", client_extra=log)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 10 and len({line.split(" ")[1] for line in lines}) == 2


@pytest.mark.parametrize("mode", [0o644, 0o620, 0o600, 0o400])
def test_an_existing_key_log_open_to_others_is_warned_of_and_kept(
    tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An existing file keeps its mode, as OpenSSL's and NSS's key logs leave it; a warning says
    when others may read or write it."""
    path = tmp_path / "keys.log"
    path.write_text("")
    path.chmod(mode | 0o200)  # (the owner must be able to append)
    with caplog.at_level("WARNING", logger="glasstls.trace.keylog"):
        KeyLog(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == mode | 0o200
    warned = [r.getMessage() for r in caplog.records]
    if mode & 0o077:
        assert warned == [
            f"the key log {path} may be read or written by others than its owner (mode {mode | 0o200:03o}): "
            "whoever reads it can decrypt the connections it lists; chmod 600 it"
        ]
    else:
        assert warned == []


def test_a_key_log_let_go_unclosed_closes_its_file_quietly(tmp_path: Path) -> None:
    """As a compat context's keylog_filename set again, or the context dropped: the file is closed
    when the KeyLog goes, with no ResourceWarning (and close() after close() is harmless). (No
    connection observes it here: one could keep it alive past the test's gc.collect().) Only warnings
    about this test's files count: the collection also finalizes what earlier tests in the same
    process left to the collector (a socket of theirs warns of itself)."""
    gc.collect()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        log = KeyLog(tmp_path / "dropped.log")
        stream = log.stream
        stream.write("# written before it was let go\n")
        del log
        gc.collect()
        assert stream.closed
        closed = KeyLog(tmp_path / "closed.log")
        closed.close()
        closed.close()
    ours = [w for w in seen if issubclass(w.category, ResourceWarning) and str(tmp_path) in str(w.message)]
    assert ours == []
    assert (tmp_path / "dropped.log").read_text() == "# written before it was let go\n"


def test_sslkeylogfile(tmp_path: Path) -> None:
    assert keylog_from_env({}) is None
    assert keylog_from_env({"SSLKEYLOGFILE": ""}) is None
    path = tmp_path / "env.log"
    log = keylog_from_env({"SSLKEYLOGFILE": str(path)})
    assert log is not None and log.path == path and log.wants_secrets
    traced_run("1.2-ecdhe", server_extra=log)
    log.close()
    assert path.read_text().startswith("CLIENT_RANDOM ")


def test_format_line() -> None:
    assert format_line("CLIENT_RANDOM", b"\x01" * 32, b"\xab" * 48) == f"CLIENT_RANDOM {'01' * 32} {'ab' * 48}"
