"""What the RFC 8448 replays of Sections 4, 5 and 6 share (Section 3's are in test_rfc8448.py).

- every HKDF step a section's trace shows, checked against glasstls's key schedule;
- the RSA-PSS salt inside one of the RFC's CertificateVerify signatures (so that a
  glasstls signer given it signs the same bytes), for either side;
- a handshake transcript hash, and message_hash (RFC 8446, Section 4.4.1).
"""

from __future__ import annotations

import hashlib
import re

from cryptography.hazmat.primitives.asymmetric import rsa

from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import Suite13
from rfc8448_trace import Trace

# RFC 8446, Section 4.4.3: the context strings of the two CertificateVerify signatures.
SERVER_CV = b"TLS 1.3, server CertificateVerify"
CLIENT_CV = b"TLS 1.3, client CertificateVerify"


def th(hash_name: str, *messages: bytes) -> bytes:
    return hashlib.new(hash_name, b"".join(messages)).digest()


def message_hash(hash_name: str, client_hello1: bytes) -> bytes:
    """RFC 8446, Section 4.4.1: the synthetic handshake message (type 254) that stands for the
    first ClientHello in the transcript after a HelloRetryRequest."""
    digest = th(hash_name, client_hello1)
    return b"\xfe\x00\x00" + bytes([len(digest)]) + digest


def check_hkdf_steps(trace: Trace, suite: Suite13) -> int:
    """Each step of ``trace`` with PRK/info/expanded (HkdfLabel, RFC 8446, Section 7.1, and
    HKDF-Expand), each "extract secret" step (HKDF-Extract) and each traffic keys step
    (Section 7.3). Returns how many steps were checked."""
    h = suite.hash_name
    checked = 0
    for step in trace.steps:
        b = step.blocks
        if "expanded" in b:
            found = re.search(r'"tls13 ([^"]+)"', step.label)
            # A PSK binder is made as a Finished is (RFC 8446, Section 4.2.11.2); its step names no label.
            label = found.group(1) if found else "finished" if "finished" in b else None
            assert label, step.label
            assert ks.hkdf_label(label.encode(), b["hash"], len(b["expanded"])) == b["info"], step.label
            assert ks.hkdf_expand(h, b["PRK"], b["info"], len(b["expanded"])) == b["expanded"], step.label
            checked += 1
        elif "key expanded" in b:
            assert ks.hkdf_label(b"key", b"", suite.key_len) == b["key info"], step.label
            assert ks.hkdf_label(b"iv", b"", suite.iv_len) == b["iv info"], step.label
            keys = ks.traffic_keys(suite, b["PRK"])
            assert (keys.key, keys.iv) == (b["key expanded"], b["iv expanded"]), step.label
            checked += 1
        elif "secret" in b:
            assert "salt" in b or step.notes["salt"].startswith("0 "), step.label
            assert ks.hkdf_extract(h, b.get("salt", b""), b["IKM"]) == b["secret"], step.label
            checked += 1
        if "finished" in b:
            assert ks.finished_key(suite, b["PRK"]) == b["expanded"], step.label
    return checked


def _mgf1(hash_name: str, seed: bytes, length: int) -> bytes:
    size = hashlib.new(hash_name).digest_size
    out = b"".join(hashlib.new(hash_name, seed + i.to_bytes(4, "big")).digest() for i in range(-(-length // size)))
    return out[:length]


def recover_pss_salt(cv_message: bytes, public: rsa.RSAPublicKey, context: bytes, transcript_hash: bytes) -> bytes:
    """The salt inside an rsa_pss_rsae_sha256 CertificateVerify: the RSA public operation, then
    EMSA-PSS-VERIFY's decoding (RFC 8017, Sections 8.1.2 and 9.1.2), checked against the
    content signed (RFC 8446, Section 4.4.3)."""
    assert cv_message[0] == 15 and cv_message[4:6] == b"\x08\x04"  # CertificateVerify, rsa_pss_rsae_sha256
    signature = cv_message[8 : 8 + int.from_bytes(cv_message[6:8], "big")]
    numbers = public.public_numbers()
    em_bits = numbers.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    em = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(em_len, "big")
    assert em[-1] == 0xBC
    h_len = 32
    masked_db, h = em[: em_len - h_len - 1], em[em_len - h_len - 1 : -1]
    db = bytes(a ^ b for a, b in zip(masked_db, _mgf1("sha256", h, len(masked_db)), strict=True))
    db = bytes([db[0] & (0xFF >> (8 * em_len - em_bits))]) + db[1:]
    salt = db[-h_len:]
    assert db[: -h_len - 1] == bytes(len(db) - h_len - 1) and db[-h_len - 1] == 1
    content = b" " * 64 + context + b"\x00" + transcript_hash
    m_hash = hashlib.sha256(content).digest()
    assert hashlib.sha256(bytes(8) + m_hash + salt).digest() == h, "the signature is not over this transcript"
    return salt
