"""AES-CCM suites, by name only: TLS 1.3 (RFC 8446, Appendix B.4) and TLS 1.2 (RFC 6655, RFC 7251).

Records rebuilt from ``cryptography``'s AESCCM (tag 16, or 8 for CCM_8), their sizes,
tampering; handshakes glasstls with glasstls for every CCM suite in both versions with
data both ways; no default offers them; the CLI takes them by IANA name and its
trace and --explain of a CCM handshake work.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from glasstls import CertifiedKey, ClientConfig, ServerConfig
from glasstls.cli.common import parse_names
from glasstls.crypto.keyschedule13 import traffic_keys
from glasstls.crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES, TLS12_SUITES, TLS13_SUITES
from glasstls.enums import AlertDescription, CipherSuite, ContentType, ProtocolVersion
from glasstls.errors import AlertError
from glasstls.events import ApplicationData
from glasstls.record.protection import Protection13
from glasstls.record.protection12 import CCMProtection12, protection12
from glasstls.x509.mint import Identity, ThrowawayCA
from pairs import connected_pair, default_ca, transfer

CCM13 = [CipherSuite.TLS_AES_128_CCM_SHA256, CipherSuite.TLS_AES_128_CCM_8_SHA256]
CCM12 = [s for s, suite in TLS12_SUITES.items() if "CCM" in suite.cipher]
TIMEOUT = 30


def test_the_suites_are_all_there() -> None:
    assert len(CCM12) == 12
    assert {TLS13_SUITES[s].tag_len for s in CCM13} == {16, 8}
    for s in CCM12:
        suite = TLS12_SUITES[s]
        assert suite.aead and suite.fixed_iv_len == 4 and suite.prf_hash == "sha256"
        assert suite.tag_len == (8 if s.name.endswith("_8") else 16)
        assert suite.key_len == (32 if "_256_" in s.name else 16)


def test_no_default_offers_ccm() -> None:
    ccm = set(CCM13) | set(CCM12)
    assert not ccm & set(DEFAULT_TLS13_SUITES + DEFAULT_TLS12_SUITES)
    assert not ccm & set(ClientConfig().cipher_suites)
    identity = default_ca().issue_server(["localhost"])
    server = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    assert not ccm & set(server.cipher_suites)


# -- TLS 1.3 records ---------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", CCM13, ids=lambda s: s.name)
def test_tls13_record_by_hand(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(32)
    sealer, opener = Protection13(suite, secret, "application"), Protection13(suite, secret, "application")
    keys = traffic_keys(suite, secret)
    for seq, n in enumerate((0, 1, 100, 1 << 14)):
        data = os.urandom(n)
        record = bytes(sealer.seal(ContentType.application_data, data))
        # RFC 8446, Section 5.2: length = inner plaintext (content + type byte) + the AEAD tag.
        assert int.from_bytes(record[3:5], "big") == n + 1 + suite.tag_len == len(record) - 5
        nonce = (int.from_bytes(keys.iv, "big") ^ seq).to_bytes(12, "big")  # RFC 8446, Section 5.3
        inner = AESCCM(keys.key, tag_length=suite.tag_len).decrypt(nonce, record[5:], record[:5])
        assert inner == data + b"\x17"
        assert opener.open(record[:5], record[5:]) == (ContentType.application_data, data)


@pytest.mark.parametrize("suite_id", CCM13, ids=lambda s: s.name)
def test_tls13_tampering_is_bad_record_mac(suite_id: CipherSuite) -> None:
    suite = TLS13_SUITES[suite_id]
    secret = os.urandom(32)
    record = bytes(Protection13(suite, secret, "x").seal(ContentType.handshake, b"hello ccm"))
    for i in range(5, len(record)):
        bad = bytearray(record)
        bad[i] ^= 0x04
        with pytest.raises(AlertError) as info:
            Protection13(suite, secret, "x").open(bytes(bad[:5]), bytes(bad[5:]))
        assert info.value.description == AlertDescription.bad_record_mac


# -- TLS 1.2 records ---------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", CCM12, ids=lambda s: s.name)
def test_tls12_record_by_hand(suite_id: CipherSuite) -> None:
    suite = TLS12_SUITES[suite_id]
    key, salt = os.urandom(suite.key_len), os.urandom(4)
    sealer = protection12(suite, key, salt, b"", "application")
    opener = protection12(suite, key, salt, b"", "application")
    assert type(sealer) is CCMProtection12
    for seq, n in enumerate((0, 1, 100, 1 << 14)):
        data = os.urandom(n)
        record = bytes(sealer.seal(ContentType.application_data, data))
        # RFC 6655, Section 3: explicit nonce (8) + ciphertext + tag (16, or 8 for CCM_8).
        assert len(record) - 5 == 8 + n + suite.tag_len
        explicit = record[5:13]
        assert explicit == seq.to_bytes(8, "big")
        aad = seq.to_bytes(8, "big") + b"\x17\x03\x03" + n.to_bytes(2, "big")  # RFC 5246, Section 6.2.3.3
        assert AESCCM(key, tag_length=suite.tag_len).decrypt(salt + explicit, record[13:], aad) == data
        assert opener.open(record[:5], record[5:]) == (ContentType.application_data, data)


@pytest.mark.parametrize("suite_id", [CipherSuite.TLS_RSA_WITH_AES_128_CCM_8, CipherSuite.TLS_RSA_WITH_AES_256_CCM])
def test_tls12_tampering_and_truncation_are_bad_record_mac(suite_id: CipherSuite) -> None:
    suite = TLS12_SUITES[suite_id]
    key, salt = os.urandom(suite.key_len), os.urandom(4)
    record = bytes(protection12(suite, key, salt, b"", "x").seal(23, b"ccm record"))
    header, payload = record[:5], record[5:]
    for i in range(len(payload)):
        bad = bytearray(payload)
        bad[i] ^= 0x10
        for candidate in (bytes(bad), payload[:i]):
            with pytest.raises(AlertError) as info:
                protection12(suite, key, salt, b"", "x").open(header[:3] + len(candidate).to_bytes(2, "big"), candidate)
            assert info.value.description == AlertDescription.bad_record_mac


# -- handshakes, glasstls with glasstls --------------------------------------------------


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


def _exchange(p: Any) -> None:
    for sender, receiver, data in ((p.client, p.server, os.urandom(3000)), (p.server, p.client, os.urandom(40000))):
        sender.send(data)
        got = b"".join(e.data for e in transfer(sender, receiver) if isinstance(e, ApplicationData))
        assert got == data


@pytest.mark.parametrize("suite_id", CCM13, ids=lambda s: s.name)
def test_tls13_handshake(suite_id: CipherSuite) -> None:
    p = connected_pair(client_kw={"cipher_suites": (suite_id,)}, server_kw={"cipher_suites": (suite_id,)})
    for conn in (p.client, p.server):
        assert conn.parameters.version == "TLSv1.3" and conn.parameters.cipher_suite == suite_id.name
    _exchange(p)


@pytest.mark.parametrize("suite_id", CCM12, ids=lambda s: s.name)
def test_tls12_handshake(suite_id: CipherSuite) -> None:
    rsa = TLS12_SUITES[suite_id].auth == "RSA"
    p = connected_pair(
        identity=rsa_identity() if rsa else None,
        client_kw={"cipher_suites": (suite_id,), "tls_max": ProtocolVersion.TLSv1_2},
        server_kw={"cipher_suites": (suite_id,)},
    )
    for conn in (p.client, p.server):
        assert conn.parameters.version == "TLSv1.2" and conn.parameters.cipher_suite == suite_id.name
        assert type(conn._records.write) is CCMProtection12
    _exchange(p)


# -- the command line ------------------------------------------------------------------------


def test_ciphers_option_takes_ccm_names() -> None:
    names = "TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"
    assert parse_names(CipherSuite, names, "cipher suite") == (
        CipherSuite.TLS_AES_128_CCM_SHA256,
        CipherSuite.TLS_AES_128_CCM_8_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    return {"cert": d / "server.pem", "key": d / "server.key", "ca": d / "ca.pem"}


@pytest.mark.parametrize(
    ("suite", "version"),
    [("TLS_AES_128_CCM_8_SHA256", "1.3"), ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "1.2")],
)
def test_cli_handshake_traced_and_explained(pki: dict[str, Path], suite: str, version: str) -> None:
    glasstls = [sys.executable, "-m", "glasstls"]
    server = subprocess.Popen(
        [*glasstls, "server", "--listen", "127.0.0.1:0", "--cert", str(pki["cert"]), "--key", str(pki["key"]),
         "--max-connections", "1", "--ciphers", suite, "--trace"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", server.stderr.readline())
        assert match, "server did not start"
        client = subprocess.run(
            [*glasstls, "client", f"127.0.0.1:{match.group(1)}", "--linger", "0.5", "--cacert", str(pki["ca"]),
             "--servername", "localhost", "--ciphers", suite, "--tls-max", version, "--explain", "--show-secrets"],
            input=b"ping over CCM", capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip
        server_out, server_err = server.communicate(timeout=TIMEOUT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(TIMEOUT)
    stderr = client.stderr.decode()
    assert client.returncode == 0, stderr + server_err
    assert client.stdout == b"ping over CCM"
    assert "Traceback" not in stderr and "Traceback" not in server_err + server_out
    assert suite in stderr and suite in server_out
    assert "Step 1, ClientHello" in stderr  # the explanation ran through the whole handshake


@pytest.mark.parametrize(
    "suite_id", [CipherSuite.TLS_AES_128_CCM_8_SHA256, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8]
)
def test_dissect_ccm_8_capture(suite_id: CipherSuite, tmp_path: Path) -> None:
    """A CCM_8 capture decrypts with its key log: the 8-byte tag is taken from the suite."""
    from glasstls.trace import pcap
    from test_dissect import REQUEST, RESPONSE, application_data, converse, write

    keylog = tmp_path / "keys.log"
    tls12 = suite_id in TLS12_SUITES
    conv = converse(
        keylog,
        client_kw={"cipher_suites": (suite_id,), **({"tls_max": ProtocolVersion.TLSv1_2} if tls12 else {})},
        server_kw={"cipher_suites": (suite_id,)},
    )
    stream = pcap.dissect(write(tmp_path, conv), pcap.NSSKeyLog.load(keylog)).streams[0]
    assert stream.cipher_suite == suite_id
    assert stream.decrypted_records > 0 and stream.encrypted_records == 0
    assert application_data(stream, "client") == REQUEST
    assert application_data(stream, "server") == RESPONSE
