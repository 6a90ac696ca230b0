"""Your own certificate authority, kept in a directory: what ``glasstls ca`` drives.

The seed articles build a CA with ``openssl ca`` (request, issue, sign, revoke,
import); this does the same in a few calls, sharing the certificate profile and
builders of :mod:`glasstls.x509.mint`:

* ``init``: a self-signed root (BasicConstraints cA=TRUE, pathLen 1; KeyUsage
  keyCertSign, cRLSign, digitalSignature) and an intermediate (pathLen 0), which
  carries a CRL Distribution Point and an AIA OCSP URL when given (RFC 5280,
  Sections 4.2.1.13 and 4.2.2.1), or all of them and AIA caIssuers from one base
  ``url`` (see :mod:`glasstls.x509.ca_urls`). The intermediate issues the leaves.
* ``issue_*``: leaves with SubjectAltName and their ExtendedKeyUsage (serverAuth,
  clientAuth, OCSPSigning), optionally must-staple (RFC 7633).
* ``revoke`` records a revocation; ``crl`` publishes a CRL (RFC 5280, Section 5),
  ``ocsp_response`` answers for one certificate (RFC 6960), ``export_pkcs12``
  bundles a key and its chain for browsers and OS stores (RFC 7292).

The directory (``./glasstls-ca`` by default, mode 0700) holds root.pem/root.key,
intermediate.pem/intermediate.key, chain.pem (the intermediate: what a server
sends after its leaf), state.json (serials issued, revocations, CRL numbers, URLs)
and certs/<SERIAL>.pem, a copy of every certificate issued. Keys are unencrypted
PKCS#8, created with mode 0600 from the start. Without an intermediate the root
signs the leaves (pathLen 0) and there is no chain.pem. The CRL and OCSP URLs go
into the intermediate and every leaf: the responder answers for both levels (each
answer signed by the certificate's own issuer), and ``crl(issuer="root")`` makes
the root's CRL should the intermediate ever be revoked.

Time is passed in (``now``); every error is a :class:`~glasstls.errors.ConfigError`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NotRequired, TypedDict, TypeVar, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import ConfigError, Facts
from .ca_files import (
    entries_problem,
    leaf_subject,
    load_certificates,
    load_private_key,
    same_public_key,
    write_file,
)
from .ca_ocsp import CertId, sign_response
from .ca_requests import Extensions as _Extensions
from .ca_requests import client_parts, server_parts
from .ca_urls import CRL_PATH, OCSP_PATH, Pointers, base_url, pointers
from .mint import (
    BACKDATE,
    Identity,
    Issuer,
    KeyType,
    PrivateKey,
    authority_key_identifier,
    build_certificate,
    ca_extensions,
    certificates_pem,
    generate_key,
    leaf_key_usage,
    private_key_pem,
    signature_hash,
    subject_name,
    write_private,
)

DEFAULT_DIR = "glasstls-ca"
DEFAULT_NAME = "glasstls Root CA"
CA_KEY_TYPES: tuple[KeyType, ...] = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "rsa3072", "ed25519")
ROOT_DAYS = 3650
INTERMEDIATE_DAYS = 1825
LEAF_DAYS = 90
# A delegated responder carries id-pkix-ocsp-nocheck, so nobody can check whether it was
# revoked: RFC 6960, Section 4.2.2.2.1 advises a short lifetime instead.
RESPONDER_DAYS = 30
CRL_DAYS = 30
OCSP_DAYS = 7
# Far beyond any sensible lifetime (some 2,700 years), yet far from 9999-12-31, the last date
# X.509 can carry (RFC 5280, Section 4.1.2.5) and Python's datetime can count to.
MAX_DAYS = 1_000_000

# RFC 5280, Section 5.3.1, by the names OpenSSL and the RFC use.
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
}

OCSP_HASHES: dict[str, hashes.HashAlgorithm] = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256()}

ROOT, INTERMEDIATE = "root", "intermediate"
_T = TypeVar("_T")
STATE_FILE = "state.json"
_CA_FILES = (STATE_FILE, "root.key", "root.pem", "intermediate.key", "intermediate.pem", "chain.pem")
_STATE_VERSION = 1
_URL = re.compile(r"^(https?|ldap)://\S+$")


def serial_hex(serial: int) -> str:
    """A serial number as OpenSSL prints it: upper-case hex, two digits per byte."""
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex().upper()


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _describe(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or f"serial {serial_hex(cert.serial_number)}"


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate, as the state file records it."""

    serial: int
    reason: str  # a key of REASONS
    date: datetime
    issuer: str  # ROOT or INTERMEDIATE: whose CRL lists it
    subject: str

    @property
    def reason_flag(self) -> x509.ReasonFlags | None:
        """The reasonCode to publish; RFC 5280, Section 5.3.1: leave it out rather than say "unspecified"."""
        return None if self.reason == "unspecified" else REASONS[self.reason]


# -- the state file ----------------------------------------------------------------------------


class _Settings(TypedDict):
    """What ``init`` was told, as state.json keeps it under "ca"."""

    name: str
    key_type: str
    intermediate: bool
    crl_url: str | None
    ocsp_url: str | None
    url: NotRequired[str | None]  # the base of every pointer, when init was given one


class IssuedEntry(TypedDict):
    """One certificate issued, as state.json records it (serial in hex, times in ISO 8601)."""

    serial: str
    kind: str  # "server", "client", "ocsp-responder" or "intermediate"
    subject: str
    names: list[str]
    issuer: str  # ROOT or INTERMEDIATE
    key_type: str
    not_before: str
    not_after: str


class _RevokedEntry(TypedDict):
    serial: str
    reason: str
    date: str
    issuer: str
    subject: NotRequired[str]


class _State(TypedDict):
    version: int
    ca: _Settings
    crl_number: dict[str, int]  # by issuer level: the last CRL number used
    issued: list[IssuedEntry]
    revoked: list[_RevokedEntry]


def _empty_state(settings: _Settings) -> _State:
    return {"version": _STATE_VERSION, "ca": settings, "crl_number": {}, "issued": [], "revoked": []}


def _check_state(state: object, path: Path) -> _State:
    shape = {"issued": list, "revoked": list, "crl_number": dict, "ca": dict}
    if not (isinstance(state, dict) and state.get("version") == _STATE_VERSION) or any(
        not isinstance(state.get(key), kind) for key, kind in shape.items()
    ):
        raise ConfigError(f"{path} is not a glasstls CA state file (version {_STATE_VERSION}); was it edited?")
    problem = entries_problem(state["issued"], state["revoked"], state["crl_number"])
    if problem is not None:
        raise ConfigError(f"{path} is damaged ({problem}): restore it from a backup")
    return cast(_State, state)


def _revocation(entry: _RevokedEntry) -> Revocation:
    return Revocation(
        serial=int(entry["serial"], 16),
        reason=entry["reason"],
        date=datetime.fromisoformat(entry["date"]),
        issuer=entry["issuer"],
        subject=entry.get("subject", ""),
    )


# -- the authority -----------------------------------------------------------------------------


class CertificateAuthority:
    """A root, usually an intermediate, and the state of what they issued and revoked."""

    def __init__(self, directory: Path, root: Issuer, intermediate: Issuer | None, state: _State) -> None:
        self.directory = directory
        self.root = root
        self.intermediate = intermediate
        self._state = state

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str] = DEFAULT_DIR,
        *,
        name: str = DEFAULT_NAME,
        key_type: KeyType = "ecdsa-p256",
        days: int = ROOT_DAYS,
        intermediate_days: int | None = None,
        with_intermediate: bool = True,
        crl_url: str | None = None,
        ocsp_url: str | None = None,
        url: str | None = None,
        now: datetime | None = None,
    ) -> CertificateAuthority:
        """Create the root (and intermediate) and write the directory; refuses one that holds a CA.

        ``url`` (http://HOST:PORT, where ``glasstls ca serve`` will listen) sets the OCSP,
        CRL and caIssuers URLs at once; it excludes ``crl_url`` and ``ocsp_url``.
        """
        path = Path(directory)
        if url is not None:
            if crl_url or ocsp_url:
                raise ConfigError("url sets the CRL and OCSP URLs itself: give url, or crl_url/ocsp_url, not both")
            url = base_url(url)
            crl_url, ocsp_url = url + CRL_PATH, url + OCSP_PATH
        _check_key_type(key_type, "init")
        _check_days(days, "init", "days")
        if not 1 <= len(name) <= 64:
            raise ConfigError(
                f"name must be 1 to 64 characters (the root's common name), not {len(name)}",
                facts=_invalid("init", "name", name),
            )
        for given, parameter in ((crl_url, "crl_url"), (ocsp_url, "ocsp_url")):
            if given is not None and not _URL.match(given):
                raise ConfigError(
                    f"{parameter} {given!r}: give an http://, https:// or ldap:// URL",
                    facts=_invalid("init", parameter, given),
                )
        if taken := [f for f in _CA_FILES if (path / f).exists()]:
            raise ConfigError(
                f"{path} already holds a CA ({', '.join(taken)}): choose another directory or remove it",
                facts=_invalid("init", "directory", str(path)),
            )
        start = _utc(now) - BACKDATE
        root_key = generate_key(key_type)
        root_end, root_extensions = start + timedelta(days=days), ca_extensions(1 if with_intermediate else 0)
        root_cert = build_certificate(
            subject_name(name), root_key.public_key(), None, root_key, start, root_end, root_extensions
        )
        root = Issuer(root_cert, root_key)
        intermediate = None
        if with_intermediate:
            inter_days = intermediate_days if intermediate_days is not None else min(days, INTERMEDIATE_DAYS)
            _check_days(inter_days, "init", "intermediate_days")
            inter_key = generate_key(key_type)
            inter_end = min(start + timedelta(days=inter_days), root_cert.not_valid_after_utc)
            links = pointers(ROOT, crl_url=crl_url, ocsp_url=ocsp_url, url=url, root_signs_leaves=False)
            extensions = [*ca_extensions(0), *links.extensions()]
            inter_name = subject_name(_intermediate_name(name))
            inter_cert = build_certificate(
                inter_name, inter_key.public_key(), root, root_key, start, inter_end, extensions
            )
            intermediate = Issuer(inter_cert, inter_key)
        settings = _Settings(
            name=name, key_type=key_type, intermediate=with_intermediate, crl_url=crl_url, ocsp_url=ocsp_url, url=url
        )
        state = _empty_state(settings)
        ca = cls(path, root, intermediate, state)
        ca._write_new(state)
        return ca

    def _write_new(self, state: _State) -> None:
        directory = self.directory
        levels = [(ROOT, self.root)] + ([(INTERMEDIATE, self.intermediate)] if self.intermediate else [])
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the keys inside are unencrypted
            (directory / "certs").mkdir(mode=0o700, exist_ok=True)
            for level, issuer in levels:
                write_private(directory / f"{level}.key", private_key_pem(issuer.key), exclusive=True)
                (directory / f"{level}.pem").write_bytes(certificates_pem([issuer.certificate]))
            if self.intermediate is not None:
                (directory / "chain.pem").write_bytes(certificates_pem([self.intermediate.certificate]))
        except OSError as exc:
            raise ConfigError(f"cannot write the CA into {directory}: {exc.strerror} ({exc.filename})") from None
        if self.intermediate is not None:
            self._record(state, self.intermediate.certificate, INTERMEDIATE, ROOT, [])
        self._save(state)

    @classmethod
    def load(cls, directory: str | os.PathLike[str] = DEFAULT_DIR) -> CertificateAuthority:
        """Open a CA directory made by :meth:`init`, checking that each key fits its certificate."""
        path = Path(directory)
        state_path = path / STATE_FILE
        if not state_path.exists():
            raise ConfigError(
                f"{path} is not a CA directory (no {STATE_FILE}): create one with CertificateAuthority.init",
                facts=_invalid("load", "directory", str(path)),
            )
        state = _read_state(state_path)
        root = _load_issuer(path, ROOT)
        intermediate = _load_issuer(path, INTERMEDIATE) if state["ca"].get("intermediate", True) else None
        if intermediate is not None and intermediate.certificate.issuer != root.certificate.subject:
            raise ConfigError(f"{path}/intermediate.pem was not issued by {path}/root.pem")
        return cls(path, root, intermediate, state)

    # -- what the CA is ----------------------------------------------------------------------

    @property
    def issuer(self) -> Issuer:
        """What signs the leaves: the intermediate, or the root when there is none."""
        return self.intermediate or self.root

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The certificates a leaf's holder sends after its own (the intermediate, if any)."""
        return (self.intermediate.certificate,) if self.intermediate else ()

    @property
    def crl_url(self) -> str | None:
        return self._state["ca"].get("crl_url")

    @property
    def ocsp_url(self) -> str | None:
        return self._state["ca"].get("ocsp_url")

    @property
    def url(self) -> str | None:
        """The base URL ``glasstls ca serve`` answers at (init's ``url``), if one was given."""
        return self._state["ca"].get("url")

    def pointers(self, issuer_level: str) -> Pointers:
        """The CRL, OCSP and caIssuers URLs of a certificate that ``issuer_level`` signs."""
        settings = self._state["ca"]
        return pointers(
            issuer_level,
            crl_url=settings.get("crl_url"),
            ocsp_url=settings.get("ocsp_url"),
            url=settings.get("url"),
            root_signs_leaves=self.intermediate is None,
        )

    @property
    def issued(self) -> list[IssuedEntry]:
        """What the state file records of every certificate issued (serials in hex)."""
        return [entry.copy() for entry in self._state["issued"]]

    @property
    def revocations(self) -> list[Revocation]:
        return [_revocation(entry) for entry in self._state["revoked"]]

    def revocation_of(self, cert: x509.Certificate) -> Revocation | None:
        """The revocation of ``cert`` (issued here), or None while it is good."""
        level, _ = self.issuer_of(cert)
        for revocation in self.revocations:
            if revocation.serial == cert.serial_number and revocation.issuer == level:
                return revocation
        return None

    def issuer_of(self, cert: x509.Certificate) -> tuple[str, Issuer]:
        """Which of this CA's certificates signed ``cert`` (checked by signature, not only by name)."""
        if cert == self.root.certificate:
            raise ConfigError(f"{_describe(cert)} is this CA's root: a trust anchor has no issuer to vouch for it")
        for level, issuer in ((INTERMEDIATE, self.intermediate), (ROOT, self.root)):
            if issuer is None or cert.issuer != issuer.certificate.subject or cert == issuer.certificate:
                continue
            try:
                cert.verify_directly_issued_by(issuer.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return level, issuer
        ours = ", ".join(_describe(i.certificate) for i in (self.intermediate, self.root) if i)
        raise ConfigError(
            f"{_describe(cert)} was not issued by this CA ({self.directory}): its issuer is "
            f"{cert.issuer.rfc4514_string() or 'empty'}, this CA signs as {ours}"
        )

    # -- issuing -------------------------------------------------------------------------------

    def issue_server(
        self,
        names: Sequence[str],
        *,
        key_type: KeyType = "ecdsa-p256",
        days: int = LEAF_DAYS,
        must_staple: bool = False,
        now: datetime | None = None,
    ) -> Identity:
        """A server certificate for DNS names (wildcards too) and IP addresses; CN is the first name.

        ``must_staple`` adds the TLS feature extension with status_request (RFC 7633,
        Section 4): clients that honour it refuse the server without a stapled OCSP response.
        """
        return self._issue("server", *server_parts(names, must_staple), key_type, days, now)

    def issue_client(
        self,
        name: str,
        *,
        email: str | None = None,
        key_type: KeyType = "ecdsa-p256",
        days: int = LEAF_DAYS,
        now: datetime | None = None,
    ) -> Identity:
        """A client certificate, CN=``name``, with the clientAuth EKU.

        The identity is repeated in a SubjectAltName (RFC 5280, Section 4.2.1.6), as the
        CA/Browser Forum profile and ``cryptography``'s verifier want: an rfc822Name for
        ``email`` (or a ``name`` with "@"), and a dNSName or IP address for a ``name`` that is one.
        """
        return self._issue("client", *client_parts(name, email), key_type, days, now)

    def sign_request(
        self,
        kind: str,
        request: x509.CertificateSigningRequest,
        names: Sequence[str],
        *,
        email: str | None = None,
        must_staple: bool = False,
        days: int = LEAF_DAYS,
        now: datetime | None = None,
    ) -> tuple[x509.Certificate, ...]:
        """A server or client certificate for the key of ``request`` (x509/ca_requests.py: checked by
        load_request), certifying ``names`` as issue_server and issue_client do; the chain, leaf first.
        The requester keeps its key: only the certificate is made here."""
        if kind == "server":
            parts = server_parts(names, must_staple)
        elif kind == "client":
            if len(names) != 1:
                raise ConfigError(f"a client certificate has one name (got {len(names)})")
            parts = client_parts(names[0], email)
        else:
            raise ConfigError(f"a request is signed for a server or a client, not {kind!r}")
        return (self._certify(kind, *parts, request.public_key(), days, now), *self.chain)

    def issue_ocsp_responder(
        self, name: str, *, key_type: KeyType = "ecdsa-p256", days: int = RESPONDER_DAYS, now: datetime | None = None
    ) -> Identity:
        """A delegated OCSP responder (RFC 6960, Section 4.2.2.2): id-kp-OCSPSigning and id-pkix-ocsp-nocheck.

        Issued by the CA that issues the leaves: a delegated responder answers only for
        the certificates of the CA that certified it.
        """
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
        extra: _Extensions = [(eku, False), (x509.OCSPNoCheck(), False)]
        return self._issue("ocsp-responder", name.strip(), None, extra, key_type, days, now)

    def _issue(
        self,
        kind: str,
        common_name: str,
        san: x509.SubjectAlternativeName | None,
        extra: _Extensions,
        key_type: KeyType,
        days: int,
        now: datetime | None,
    ) -> Identity:
        """A leaf for a new key of ``key_type``, and that key."""
        method = f"issue_{kind.replace('-', '_')}"  # issue_server, issue_client, issue_ocsp_responder
        _check_key_type(key_type, method)
        _check_days(days, method, "days")  # (before a key is made: an RSA key takes a while)
        key = generate_key(key_type)
        cert = self._certify(kind, common_name, san, extra, key.public_key(), days, now)
        return Identity(cert, (cert, *self.chain), key)

    def _certify(
        self,
        kind: str,
        common_name: str,
        san: x509.SubjectAlternativeName | None,
        extra: _Extensions,
        public_key: CertificatePublicKeyTypes,
        days: int,
        now: datetime | None,
    ) -> x509.Certificate:
        """A leaf certificate for ``public_key``, recorded in the CA's state."""
        method = f"issue_{kind.replace('-', '_')}"
        _check_days(days, method, "days")
        if not common_name:
            raise ConfigError(f"a {kind} certificate needs a name")
        start = _utc(now) - BACKDATE
        issuer, level = self.issuer, INTERMEDIATE if self.intermediate else ROOT
        if start >= issuer.certificate.not_valid_after_utc:
            raise ConfigError(f"the issuing CA {_describe(issuer.certificate)} has expired: create a new CA")
        subject = leaf_subject(common_name)
        extensions: _Extensions = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (leaf_key_usage(public_key), True),
            *extra,
        ]
        if san is not None:
            extensions.append((san, not subject))  # RFC 5280, 4.2.1.6: critical when the subject is empty
            extensions += self.pointers(level).extensions()
        # A leaf never outlives its issuer: path validation would reject it from then on.
        not_after = min(start + BACKDATE + timedelta(days=days), issuer.certificate.not_valid_after_utc)
        names = [str(entry.value) for entry in san] if san is not None else [common_name]

        def record(state: _State) -> x509.Certificate:
            taken = {int(entry["serial"], 16) for entry in state["issued"]}
            serial = x509.random_serial_number()
            while serial in taken:
                serial = x509.random_serial_number()
            cert = build_certificate(
                subject, public_key, issuer, issuer.key, start, not_after, extensions, serial=serial
            )
            self._record(state, cert, kind, level, names)
            return cert

        return self._update(record)

    def _record(self, state: _State, cert: x509.Certificate, kind: str, issuer: str, names: Sequence[str]) -> None:
        serial = serial_hex(cert.serial_number)
        entry = IssuedEntry(
            serial=serial,
            kind=kind,
            subject=cert.subject.rfc4514_string(),
            names=list(names),
            issuer=issuer,
            key_type=_key_type_of(cert.public_key()),
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
        )
        state["issued"].append(entry)
        write_file(self.directory / "certs" / f"{serial}.pem", certificates_pem([cert]))

    # -- revoking --------------------------------------------------------------------------------

    def certificate_by_serial(self, serial: str) -> x509.Certificate:
        """The copy kept in certs/ of the certificate with this serial (hex, colons allowed)."""
        wanted = serial.replace(":", "").strip().upper()
        try:
            number = int(wanted, 16)
        except ValueError:
            raise ConfigError(f"{serial!r} is not a serial number in hex") from None
        path = self.directory / "certs" / f"{serial_hex(number)}.pem"
        if not path.exists():
            raise ConfigError(f"this CA ({self.directory}) has no certificate with serial {serial_hex(number)}")
        return load_certificates(path)[0]

    def revoke(self, cert: x509.Certificate, reason: str = "unspecified", when: datetime | None = None) -> Revocation:
        """Record that ``cert`` is revoked since ``when``; the next CRL and OCSP answers say so.

        A certificate on hold (certificateHold) may be revoked again for good with
        another reason (RFC 5280, Section 5.3.1); any other second revocation is an error.
        """
        if reason not in REASONS:
            raise ConfigError(f"unknown revocation reason {reason!r}; choose one of {', '.join(REASONS)}")
        if cert == self.root.certificate:
            raise ConfigError("the root cannot be revoked: it is a trust anchor; remove it from the trust stores")
        level, _ = self.issuer_of(cert)
        moment = _utc(when).replace(microsecond=0)
        revocation = Revocation(cert.serial_number, reason, moment, level, cert.subject.rfc4514_string())

        def record(state: _State) -> None:
            for entry in state["revoked"]:
                old = _revocation(entry)
                if old.serial == revocation.serial and old.issuer == level:
                    if old.reason != "certificateHold":
                        raise ConfigError(
                            f"{_describe(cert)} (serial {serial_hex(old.serial)}) is already revoked since "
                            f"{old.date:%Y-%m-%d %H:%M:%S} UTC ({old.reason})"
                        )
                    state["revoked"].remove(entry)
                    break
            serial = serial_hex(revocation.serial)
            entry = _RevokedEntry(
                serial=serial, reason=reason, date=moment.isoformat(), issuer=level, subject=revocation.subject
            )
            state["revoked"].append(entry)

        self._update(record)
        return revocation

    # -- publishing status -----------------------------------------------------------------------

    def crl(self, now: datetime, days: int = CRL_DAYS, *, issuer: str | None = None) -> x509.CertificateRevocationList:
        """The CRL of the leaves' issuer (or of ``issuer="root"``), valid from ``now`` for ``days``.

        RFC 5280, Section 5: thisUpdate, nextUpdate, the AuthorityKeyIdentifier and a
        CRL number that grows with every CRL (Section 5.2.3); each entry has its
        revocation date and, unless unspecified, its reasonCode (Section 5.3.1).
        """
        _check_days(days, "crl", "days")
        level = issuer or (INTERMEDIATE if self.intermediate else ROOT)
        signer = {ROOT: self.root, INTERMEDIATE: self.intermediate}.get(level)
        if signer is None:
            raise ConfigError(f"this CA has no {level} to sign a CRL")
        moment = _utc(now).replace(microsecond=0)

        def next_number(state: _State) -> int:
            number = int(state["crl_number"].get(level, 0)) + 1
            state["crl_number"][level] = number
            return number

        number = self._update(next_number)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(signer.certificate.subject)
            .last_update(moment)
            .next_update(moment + timedelta(days=days))
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(authority_key_identifier(signer.certificate), critical=False)
        )
        for revocation in self.revocations:
            if revocation.issuer != level:
                continue
            entry = x509.RevokedCertificateBuilder().serial_number(revocation.serial).revocation_date(revocation.date)
            if revocation.reason_flag is not None:
                entry = entry.add_extension(x509.CRLReason(revocation.reason_flag), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(signer.key, signature_hash(signer.key))

    def ocsp_response(
        self,
        cert: x509.Certificate,
        now: datetime,
        days: int = OCSP_DAYS,
        responder: tuple[x509.Certificate, PrivateKey] | None = None,
        *,
        hash_algorithm: hashes.HashAlgorithm | None = None,
    ) -> ocsp.OCSPResponse:
        """A signed OCSP response (RFC 6960, Section 4.2) saying whether ``cert`` is good or revoked.

        Signed by the certificate's issuer, or by a delegated ``responder`` (certificate,
        key) that issuer certified for OCSPSigning. The CertID hashes the issuer's name
        and key with SHA-1 unless told otherwise: OpenSSL (``openssl ocsp``, and a TLS
        client checking a stapled response) looks a certificate up by a CertID it
        builds with SHA-1, and CertIDs match only when their hash algorithms match;
        RFC 5019, Section 2.1.1 asks lightweight responders for SHA-1 for the same reason.
        SHA-1 is used here only as an identifier, not for the signature.
        """
        _check_days(days, "ocsp_response", "days")
        _, issuer = self.issuer_of(cert)
        cert_id = CertId.of(cert, issuer.certificate, hash_algorithm or hashes.SHA1())
        return sign_response(cert_id, issuer, self.revocation_of(cert), _utc(now), timedelta(days=days), responder)

    # -- exporting ---------------------------------------------------------------------------------

    def export_pkcs12(
        self,
        certificates: Sequence[x509.Certificate],
        key: PrivateKey,
        password: bytes | str | None,
        *,
        friendly_name: str | None = None,
        include_root: bool = False,
        legacy: bool = False,
    ) -> bytes:
        """A PKCS#12 bundle (RFC 7292) of ``key``, its certificate and the chain, for browsers and OS stores.

        ``certificates`` is the leaf first (a PREFIX.pem as issued); this CA's
        intermediate is added when missing, and the root with ``include_root``. With a
        password, key and certificates are encrypted with PBES2 (PBKDF2-HMAC-SHA256,
        AES-256-CBC) and the MAC is HMAC-SHA256, which OpenSSL 3, Windows 10+, macOS
        and current browsers read; ``legacy`` uses 3DES and a SHA-1 MAC for older importers.
        """
        if not certificates:
            raise ConfigError("nothing to export: the certificate file holds no certificate")
        leaf = certificates[0]
        if not same_public_key(leaf, key):
            raise ConfigError(f"the key does not belong to {_describe(leaf)}: their public keys differ")
        extra = list(certificates[1:])
        wanted = [*self.chain, self.root.certificate] if include_root else list(self.chain)
        if leaf.issuer == self.issuer.certificate.subject:
            extra += [c for c in wanted if c not in extra and c != leaf]
        name = friendly_name or _common_name(leaf) or serial_hex(leaf.serial_number)
        secret = password.encode() if isinstance(password, str) else password
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
        if secret:
            modern = (pkcs12.PBES.PBESv2SHA256AndAES256CBC, hashes.SHA256(), 100_000)
            algorithm, mac_hash, rounds = (
                (pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC, hashes.SHA1(), 2048) if legacy else modern
            )
            builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds)
            encryption = builder.key_cert_algorithm(algorithm).hmac_hash(mac_hash).build(secret)
        return pkcs12.serialize_key_and_certificates(name.encode(), key, leaf, extra or None, encryption)

    # -- the state file, read and written under a lock -------------------------------------------------

    def _update(self, change: Callable[[_State], _T]) -> _T:
        """Apply ``change`` to the state as it is on disk now, under an exclusive lock, and save it."""
        try:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot lock {self.directory}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time: two `ca issue` runs must not lose a serial
            path = self.directory / STATE_FILE
            state = _read_state(path) if path.exists() else self._state
            result = change(state)
            self._save(state)
        finally:
            os.close(fd)
        return result

    def _save(self, state: _State) -> None:
        path = self.directory / STATE_FILE
        temporary = path.with_name(f".{STATE_FILE}.tmp")
        write_file(temporary, (json.dumps(state, indent=2) + "\n").encode())
        os.replace(temporary, path)  # atomic: a reader sees the old state or the new one
        self._state = state


# -- helpers ----------------------------------------------------------------------------------------


def _intermediate_name(root_name: str) -> str:
    """ "Example Root CA" -> "Example Intermediate CA"; other names get " Intermediate" appended."""
    replaced = re.sub(r"\bRoot\b", "Intermediate", root_name, count=1)
    name = replaced if replaced != root_name else f"{root_name} Intermediate"
    return name if len(name) <= 64 else name[-64:]


def _key_type_of(key: CertificatePublicKeyTypes) -> str:
    """ "ecdsa-p256", "rsa2048", "ed25519": the ``key_type`` that makes a key like this one."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ecdsa-p{key.curve.key_size}"
    return type(key).__name__.removesuffix("PublicKey").lower()


def _common_name(cert: x509.Certificate) -> str | None:
    attributes = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else None


def _invalid(method: str, parameter: str, value: str) -> Facts:
    """The facts of a parameter of ``CertificateAuthority.<method>`` that cannot work: the CLI names its option."""
    return Facts("invalid_value", field=f"CertificateAuthority.{method}({parameter})", value=value)


def _check_key_type(key_type: str, method: str) -> None:
    if key_type not in CA_KEY_TYPES:
        raise ConfigError(
            f"unknown key type {key_type!r}; choose one of {', '.join(CA_KEY_TYPES)}",
            facts=_invalid(method, "key_type", key_type),
        )


def _check_days(days: int, method: str, parameter: str) -> None:
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ConfigError(
            f"{parameter} must be a whole number of days, 1 to {MAX_DAYS} (got {days!r})",
            facts=_invalid(method, parameter, repr(days)),
        )


def _read_state(path: Path) -> _State:
    try:
        state = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is damaged (not JSON: {exc}); restore it from a backup") from None
    return _check_state(state, path)  # (its ConfigError is not one of JSON's)


def _load_issuer(directory: Path, level: str) -> Issuer:
    cert = load_certificates(directory / f"{level}.pem")[0]
    if not same_public_key(cert, key := load_private_key(directory / f"{level}.key")):
        raise ConfigError(f"{directory}/{level}.key does not belong to {directory}/{level}.pem")
    return Issuer(cert, key)
