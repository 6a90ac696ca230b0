"""The TLS 1.3 key schedule (RFC 8446, Section 7), as three stages.

    EarlySecret  --(EC)DHE-->  HandshakeSecret  --0-->  MasterSecret

Each stage offers only the derivations RFC 8446, Section 7.1 allows there, so
code holding a :class:`HandshakeSecret` cannot derive application keys by
mistake. Each stage also reports every secret it derives, by its key-log name
(``handshake_secret``, ``client_handshake_traffic_secret`` …), to the ``report``
callable it was made with (None: nobody listens, and nothing is called): the trace
and the key log hear of a secret where it is made, not wherever a handshake state
remembers to tell them.

HMAC and HKDF run through :mod:`.kdf` (one OpenSSL call per HMAC), which the
TLS 1.2 PRF uses too. A stage keys its secret's HMAC once and derives each secret
(Derive-Secret, Section 7.1; some ten a side per handshake) from a copy of it fed
the HkdfLabel, whose head is kept per label; a traffic key and IV (Section 7.3)
come of one HMAC keyed with their secret, and a finished_key (Section 4.4.4) of
one HMAC, over inputs each suite makes once. What does not depend on the connection is computed once
per hash: the empty transcript's hash, and without a PSK the early secret and
the "derived" salt of the handshake secret (RFC 8446, Section 7.1: both come
from zeros alone).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .kdf import (
    derive_secret_heads,
    hkdf_expand,
    hkdf_expand_label,
    hkdf_expand_pair,
    hkdf_extract,
    hkdf_label,
    hmac_digest,
    hmac_keyed,
    hmac_of_hmac,
)
from .suites import Suite13

__all__ = [
    "EarlySecret",
    "HandshakeSecret",
    "MasterSecret",
    "TrafficKeys",
    "derive_secret",
    "empty_hash",
    "export_keying_material",
    "finished_key",
    "finished_verify_data",
    "hkdf_expand",
    "hkdf_expand_label",
    "hkdf_extract",
    "hkdf_label",
    "next_traffic_secret",
    "resumption_psk",
    "traffic_key_and_iv",
    "traffic_keys",
]

SecretReport = Callable[[str, bytes], None]  # (the secret's key-log name, its value)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret of RFC 8446, Section 7.1, given the transcript hash."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, len(transcript_hash))


@cache
def empty_hash(hash_name: str) -> bytes:
    return hashlib.new(hash_name, b"").digest()


@cache
def _psk_less(hash_name: str, hash_len: int) -> tuple[bytes, bytes]:
    """Without a PSK: the early secret, HKDF-Extract(0, 0), and the salt Derive-Secret(., "derived", "")."""
    secret = hkdf_extract(hash_name, b"", bytes(hash_len))
    return secret, derive_secret(hash_name, secret, b"derived", empty_hash(hash_name))


@dataclass(frozen=True)
class TrafficKeys:
    """The write key and IV of RFC 8446, Section 7.3 (kept out of repr(): an exception's or a log's)."""

    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)


def traffic_key_and_iv(suite: Suite13, secret: bytes) -> tuple[bytes, bytes]:
    """The write key and IV of RFC 8446, Section 7.3, from one traffic secret (the record layer
    derives them so, at an epoch's first record, without a TrafficKeys object)."""
    key_input, iv_input = suite.traffic_inputs
    return hkdf_expand_pair(suite.hash_name, secret, key_input, suite.key_len, iv_input, suite.iv_len)


def traffic_keys(suite: Suite13, secret: bytes) -> TrafficKeys:
    return TrafficKeys(*traffic_key_and_iv(suite, secret))


def finished_key(suite: Suite13, base_key: bytes) -> bytes:
    """RFC 8446, Section 4.4.4: HKDF-Expand-Label(base_key, "finished", "", Hash.length), one HMAC
    over the suite's kept HkdfLabel (the output is the hash's own length: no slice)."""
    return hmac_digest(base_key, suite.finished_input, suite.hash_name)


def finished_verify_data(suite: Suite13, base_key: bytes, transcript_hash: bytes) -> bytes:
    """HMAC(finished_key, transcript hash), RFC 8446, Section 4.4.4 (finished_key inlined: a side
    makes three or four of these per handshake, PSK binders included)."""
    return hmac_of_hmac(base_key, suite.finished_input, transcript_hash, suite.hash_name)


def next_traffic_secret(suite: Suite13, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 (RFC 8446, Section 7.2)."""
    return hkdf_expand_label(suite.hash_name, secret, b"traffic upd", b"", suite.hash_len)


class _Stage:
    """What the three stages share: their secret, the suite, whom they report to, and Derive-Secret
    from a copy of their secret's HMAC keyed once (RFC 8446, Section 7.1: a stage derives two to
    four secrets from its own)."""

    suite: Suite13
    secret: bytes
    report: SecretReport | None
    _keyed: Any  # the secret's HMAC (kdf.hmac_keyed), None for an early secret made from zeros
    _heads: dict[bytes, bytes]  # kdf.derive_secret_heads of the suite's hash

    def _derive(self, label: bytes, name: str, transcript_hash: bytes) -> bytes:
        """Derive-Secret(this secret, label, messages) from the messages' hash, reported by its
        key-log ``name`` (none for ""): the HkdfLabel's head made once per label, the HMAC a copy."""
        keyed = self._keyed
        if keyed is not None and len(transcript_hash) == self.suite.hash_len:
            mac = keyed.copy()
            mac.update(self._heads[label] + transcript_hash + b"\x01")
            secret: bytes = mac.digest()
        else:  # (no keyed HMAC, or a context of another length: HKDF-Expand-Label to its length)
            secret = derive_secret(self.suite.hash_name, self.secret, label, transcript_hash)
        if name and self.report is not None:
            self.report(name, secret)
        return secret


class EarlySecret(_Stage):
    """Stage 1: from the PSK (or zeros) to the binder and early traffic keys."""

    def __init__(self, suite: Suite13, psk: bytes | None = None, report: SecretReport | None = None) -> None:
        self.suite = suite
        self.report = report
        self._heads = derive_secret_heads(suite.hash_name)
        if psk:
            self.secret = hkdf_extract(suite.hash_name, b"", psk)
            self._derived: bytes | None = None
            # Two secrets or more come of a PSK's (the binder key, "derived"; with 0-RTT the early
            # traffic and exporter secrets): its HMAC keyed once. Without a PSK both come from zeros
            # alone and are made once per hash (_psk_less).
            self._keyed = hmac_keyed(self.secret, suite.hash_name)
        else:
            self.secret, self._derived = _psk_less(suite.hash_name, suite.hash_len)
            self._keyed = None

    def reporting(self, report: SecretReport | None, suite: Suite13 | None = None) -> EarlySecret:
        """This stage, reporting what it derives from here on to ``report``, for the handshake's
        ``suite`` (default: its own; a PSK's suite lends only its hash, RFC 8446, Section 4.2.11):
        each side extracts the early secret once, for the PSK binder (Section 4.2.11.2), and
        carries it on into the handshake's key schedule."""
        suite = suite or self.suite
        if report is self.report and suite is self.suite:
            return self
        if suite.hash_name != self.suite.hash_name:
            raise ValueError(f"an early secret of {self.suite.hash_name} carried on under {suite.hash_name}")
        other = EarlySecret.__new__(EarlySecret)
        other.suite, other.secret, other._derived, other.report = suite, self.secret, self._derived, report
        other._keyed, other._heads = self._keyed, self._heads  # (the HMAC copied per derivation, never fed)
        return other

    def binder_key(self, external: bool = False) -> bytes:
        return self._derive(b"ext binder" if external else b"res binder", "", empty_hash(self.suite.hash_name))

    def client_early_traffic_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"c e traffic", "client_early_traffic_secret", transcript_hash)

    def early_exporter_master_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"e exp master", "early_exporter_master_secret", transcript_hash)

    def handshake_stage(self, shared_secret: bytes | None) -> HandshakeSecret:
        """Mix in the (EC)DHE shared secret (zeros for psk_ke)."""
        h = self.suite.hash_name
        salt = self._derived or self._derive(b"derived", "", empty_hash(h))
        secret = hkdf_extract(h, salt, shared_secret or bytes(self.suite.hash_len))
        return HandshakeSecret(self.suite, secret, self.report)


class HandshakeSecret(_Stage):
    """Stage 2: handshake traffic secrets, keyed by ClientHello..ServerHello."""

    def __init__(self, suite: Suite13, secret: bytes, report: SecretReport | None = None) -> None:
        self.suite = suite
        self.secret = secret
        self.report = report
        # Three secrets come of this one (two traffic secrets, "derived"): its HMAC keyed once.
        self._keyed = hmac_keyed(secret, suite.hash_name)
        self._heads = derive_secret_heads(suite.hash_name)
        if report is not None:
            report("handshake_secret", secret)

    def client_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"c hs traffic", "client_handshake_traffic_secret", transcript_hash)

    def server_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"s hs traffic", "server_handshake_traffic_secret", transcript_hash)

    def master_stage(self) -> MasterSecret:
        h = self.suite.hash_name
        salt = self._derive(b"derived", "", empty_hash(h))
        return MasterSecret(self.suite, hkdf_extract(h, salt, bytes(self.suite.hash_len)), self.report)


class MasterSecret(_Stage):
    """Stage 3: application traffic, exporter and resumption secrets."""

    def __init__(self, suite: Suite13, secret: bytes, report: SecretReport | None = None) -> None:
        self.suite = suite
        self.secret = secret
        self.report = report
        # Four secrets come of this one (two traffic secrets, the exporter's, the resumption
        # one): its HMAC keyed once.
        self._keyed = hmac_keyed(secret, suite.hash_name)
        self._heads = derive_secret_heads(suite.hash_name)
        if report is not None:
            report("master_secret", secret)

    def client_application_traffic_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"c ap traffic", "client_application_traffic_secret_0", transcript_hash)

    def server_application_traffic_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"s ap traffic", "server_application_traffic_secret_0", transcript_hash)

    def exporter_master_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"exp master", "exporter_master_secret", transcript_hash)

    def resumption_master_secret(self, transcript_hash: bytes) -> bytes:
        return self._derive(b"res master", "resumption_master_secret", transcript_hash)


def resumption_psk(suite: Suite13, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """RFC 8446, Section 4.6.1."""
    return hkdf_expand_label(suite.hash_name, resumption_master_secret, b"resumption", ticket_nonce, suite.hash_len)


def export_keying_material(
    suite: Suite13, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter of RFC 8446, Section 7.5."""
    h = suite.hash_name
    secret = derive_secret(h, exporter_master_secret, label, empty_hash(h))
    return hkdf_expand_label(h, secret, b"exporter", hashlib.new(h, context).digest(), length)
