"""What both sides remember about a session so that it can be resumed.

A :class:`SessionState` is the one record of a finished handshake that
resumption needs: the server seals it into a session ticket (RFC 5077,
Section 4; RFC 8446, Section 4.6.1) or keeps it in its session-ID cache
(RFC 5246, Section 7.4.1.2); the client stores it beside the ticket or session
ID it was given, in memory or in a ``--session-out`` file.

Binary encoding (:meth:`SessionState.to_bytes`), in the presentation language
of RFC 8446, Section 3; every block is consumed exactly or decoding fails::

    uint8  format = 1;
    uint16 version;                    /* 0x0303 or 0x0304 */
    uint16 cipher_suite;
    opaque master_secret<1..255>;      /* TLS 1.2 master secret or TLS 1.3 resumption PSK */
    uint8  flags;                      /* 1 = EMS, 2 = server_name, 4 = alpn, 8 = ticket,
                                          16 = encrypt-then-MAC (a TLS 1.2 CBC session's, RFC 7366) */
    uint64 created;                    /* microseconds since 1970-01-01T00:00:00Z */
    uint32 lifetime;                   /* seconds */
    opaque session_id<0..32>;
    opaque server_name<1..2^16-1>;     /* UTF-8, present when flag 2 */
    opaque alpn<1..255>;               /* UTF-8, present when flag 4 */
    opaque ticket<0..2^16-1>;          /* present when flag 8 */
    uint32 ticket_age_add;
    opaque ticket_nonce<0..255>;
    uint32 max_early_data;
    opaque peer_certificates<0..2^24-1>;  /* a list of opaque DER<1..2^24-1> */

The PEM form (:meth:`SessionState.to_pem`) wraps those bytes for files. Both
hold the master secret in the clear: a ticket must be sealed
(:mod:`glasstls.session.tickets`) and a file kept private
(:func:`glasstls.session.store.save_session`).
"""

from __future__ import annotations

import base64
import binascii
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from struct import Struct
from struct import error as struct_error
from typing import Any

from ..errors import DecodeError
from ..frozen import dict_init

FORMAT_VERSION = 1
TLS12 = 0x0303
TLS13 = 0x0304
# A ticket may have up to 2^16 - 1 bytes (RFC 8446, Section 4.6.1; RFC 5077, Section 3.3), but a
# ClientHello's extensions, the ticket among them, share one block of at most 2^16 - 1 (RFC 8446,
# Section 4.1.2; RFC 5246, Section 7.4.1.2): a client keeps and offers tickets up to this size,
# which leaves 32 KiB for the rest of the hello (a hybrid key share alone is 1,216 bytes).
MAX_OFFERABLE_TICKET = 1 << 15

PEM_LABEL = "GLASSTLS SESSION"
_PEM_BEGIN = f"-----BEGIN {PEM_LABEL}-----"
_PEM_END = f"-----END {PEM_LABEL}-----"
_PEM_RE = re.compile(re.escape(_PEM_BEGIN) + r"(.*?)" + re.escape(_PEM_END), re.DOTALL)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_FLAG_EMS = 0x01
_FLAG_SERVER_NAME = 0x02
_FLAG_ALPN = 0x04
_FLAG_TICKET = 0x08
_FLAG_ETM = 0x10
_KNOWN_FLAGS = _FLAG_EMS | _FLAG_SERVER_NAME | _FLAG_ALPN | _FLAG_TICKET | _FLAG_ETM

_U32_MAX = (1 << 32) - 1


def check_aware(now: datetime, what: str = "now") -> None:
    """Times in the session layer are timezone-aware (UTC); a naive one is a bug."""
    if now.tzinfo is UTC:  # what every clock of glasstls's gives: utcoffset() is the slower question
        return
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime (UTC), got naive {now!r}")


def _all_bytes(items: tuple[object, ...]) -> bool:
    """Whether every item is bytes itself (a loop, not set(map(type, ...)) or a generator: a
    client makes a session of every ticket it is sent, with the server's chain)."""
    for item in items:  # noqa: SIM110 - all() over a generator is the costlier form
        if type(item) is not bytes:
            return False
    return True


@dict_init
@dataclass(frozen=True)
class SessionState:
    """A resumable session (see the module doc for its encoding)."""

    version: int
    cipher_suite: int
    master_secret: bytes = field(repr=False)
    extended_master_secret: bool
    server_name: str | None
    alpn: str | None
    created: datetime
    lifetime: int
    session_id: bytes = b""
    ticket: bytes | None = field(default=None, repr=False)
    # TLS 1.3 (RFC 8446, Section 4.6.1): what the client needs to offer the ticket as a PSK.
    ticket_age_add: int = 0
    ticket_nonce: bytes = b""
    max_early_data: int = 0
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)
    # RFC 7366, Section 3.1: a TLS 1.2 CBC session made with encrypt-then-MAC resumes only with it.
    encrypt_then_mac: bool = False

    def __post_init__(self) -> None:
        """Normalize ``created`` to UTC and the certificates to a tuple of bytes, and refuse a
        state that cannot be encoded or used."""
        created = self.created
        if created.tzinfo is not UTC:  # (UTC, what every clock of glasstls's gives, needs no more checks)
            check_aware(created, "created")
            object.__setattr__(self, "created", created.astimezone(UTC))
        certs = self.peer_certificates
        if type(certs) is not tuple or not _all_bytes(certs):
            object.__setattr__(self, "peer_certificates", tuple(bytes(c) for c in certs))
        problem = self._problem()
        if problem:
            raise ValueError(f"invalid session state: {problem}")

    def _problem(self) -> str | None:
        """Why this state cannot be encoded or used, or None (each check made only if the ones
        before it passed: a session is made a few times per handshake)."""
        return (
            _secret_problem(self.version, self.master_secret)
            or self._field_problem()
            or (self._certificates_problem() if self.peer_certificates else None)
        )

    def _field_problem(self) -> str | None:
        """What the encoding needs of each field but the certificates (see the module doc)."""
        if not 0 <= self.cipher_suite <= 0xFFFF:
            return "cipher_suite is not a 16-bit value"
        if self.created < _EPOCH:
            return "created is before 1970"
        if not 0 <= self.lifetime <= _U32_MAX:
            return "lifetime does not fit 32 bits"
        if len(self.session_id) > 32:
            return "session_id is longer than 32 bytes (RFC 5246, Section 7.4.1.2)"
        problem = self._names_problem()
        if problem is not None:
            return problem
        if self.ticket is not None and len(self.ticket) >= 1 << 16:
            return "ticket is longer than 65535 bytes"
        if not 0 <= self.ticket_age_add <= _U32_MAX:
            return "ticket_age_add does not fit 32 bits"
        if len(self.ticket_nonce) >= 256:
            return "ticket_nonce is longer than 255 bytes"
        if not 0 <= self.max_early_data <= _U32_MAX:
            return "max_early_data does not fit 32 bits"
        return None

    def _names_problem(self) -> str | None:
        """What the encoding needs of the server name and the ALPN protocol (see the module doc)."""
        if self.server_name is not None and not 0 < len(self.server_name.encode()) < 1 << 16:
            return "bad server_name length"
        if self.alpn is not None and not 0 < len(self.alpn.encode()) < 256:
            return "bad alpn length (RFC 7301, Section 3.1)"
        return None

    def _certificates_problem(self) -> str | None:
        """Why the chain does not fit ``opaque peer_certificates<0..2^24-1>`` of ``opaque
        DER<1..2^24-1>`` (the module doc), or None. (One loop: a chain has a few certificates,
        and list, map, min, max and sum over them cost twice as much; a client makes a session
        of every ticket it is sent.)"""
        total = 0
        for der in self.peer_certificates:
            size = len(der)
            if not 0 < size < 1 << 24:
                return "bad peer certificate length"
            total += size + 3  # (and its 3-byte length)
        if total >= 1 << 24:
            return "peer certificates too long"
        return None

    @classmethod
    def tls13(
        cls,
        cipher_suite: int,
        psk: bytes,
        server_name: str | None,
        alpn: str | None,
        created: datetime,
        lifetime: int,
        ticket: bytes | None,
        ticket_age_add: int,
        ticket_nonce: bytes,
        max_early_data: int,
        peer_certificates: tuple[bytes, ...],
    ) -> SessionState:
        """A TLS 1.3 session of a NewSessionTicket (RFC 8446, Section 4.6.1): the one a server seals
        into it (no ``ticket`` of its own) or the one a client makes of it. The state the
        constructor makes of these fields (no session ID), with only the checks that can fail, as
        one is made per ticket. The others cannot for what a handshake passes: a TLS 1.3 suite,
        the PSK of its hash's length, a ticket, nonce, ticket_age_add and early_data limit within
        their encodings (the server's own, or what the NewSessionTicket decoder read), the lifetime
        capped (MAX_TICKET_LIFETIME). The server name, ALPN protocol and chain are checked here as
        the constructor does; a clock not in UTC or before 1970, or a chain not a tuple of bytes,
        takes the constructor's checks (and errors). tests/test_fast_server13_tickets.py and
        tests/test_fast_res13_session_checks.py hold this to the constructor."""
        fields: dict[str, Any] = {
            "version": TLS13,
            "cipher_suite": cipher_suite,
            "master_secret": psk,
            "extended_master_secret": False,
            "server_name": server_name,
            "alpn": alpn,
            "created": created,
            "lifetime": lifetime,
            "session_id": b"",
            "ticket": ticket,
            "ticket_age_add": ticket_age_add,
            "ticket_nonce": ticket_nonce,
            "max_early_data": max_early_data,
            "peer_certificates": peer_certificates,
            "encrypt_then_mac": False,
        }
        chain = peer_certificates
        if created.tzinfo is UTC and created >= _EPOCH and type(chain) is tuple and _all_bytes(chain):
            state = object.__new__(cls)
            object.__setattr__(state, "__dict__", fields)
            if state._names_problem() is None and state._certificates_problem() is None:
                return state
        return cls(**fields)  # the constructor, its checks and its errors

    # -- lifetime and matching ----------------------------------------------------------

    @property
    def expires(self) -> datetime:
        return self.created + timedelta(seconds=self.lifetime)

    def expired(self, now: datetime) -> bool:
        """True once ``lifetime`` seconds have passed since ``created`` (a zero lifetime is always expired).

        A session created "in the future" (the clock stepped back) is not expired.
        """
        if now.tzinfo is not UTC:  # (UTC, what every clock of glasstls's gives, needs no call)
            check_aware(now)
        lifetime = self.lifetime
        if lifetime <= 0:
            return True
        # now >= expires, without building expires or a timedelta (a server asks this of every
        # ticket it opens): the age's whole seconds, as its microseconds only add a fraction to
        # them, reach the whole seconds of lifetime exactly when the age does.
        age = now - self.created
        return age.days * 86400 + age.seconds >= lifetime

    def matches(self, version: int, cipher_suite: int, extended_master_secret: bool, server_name: str | None) -> bool:
        """May this session be resumed in a handshake with these parameters?

        RFC 5246, Section 7.4.1.2: the same version and cipher suite. RFC 7627,
        Section 5.3: extended master secret used both times or neither (a
        mismatch means a full handshake, or an abort, which is the caller's
        call). RFC 6066, Section 3: the same server name (DNS names compare
        case-insensitively; a trailing dot is ignored). TLS 1.3 would allow any
        suite with the same hash (RFC 8446, Section 4.2.11); this check is the
        stricter exact match.
        """
        return (
            self.version == version
            and self.cipher_suite == cipher_suite
            and self.extended_master_secret == bool(extended_master_secret)
            and _normal_name(self.server_name) == _normal_name(server_name)
        )

    # -- binary encoding ------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The encoding of the module doc. Every length fits its field: ``__post_init__`` checked them."""
        flags = (
            (_FLAG_EMS if self.extended_master_secret else 0)
            | (_FLAG_SERVER_NAME if self.server_name is not None else 0)
            | (_FLAG_ALPN if self.alpn is not None else 0)
            | (_FLAG_TICKET if self.ticket is not None else 0)
            | (_FLAG_ETM if self.encrypt_then_mac else 0)
        )
        micros = (self.created - _EPOCH) // _MICROSECOND
        master, session_id = self.master_secret, self.session_id
        # One join of struct-packed runs (a session is sealed into every ticket a server issues);
        # the secret, of one of the lengths _secret_problem allows, packed with the fields around it.
        parts = [
            _SECRET_RUNS[len(master)].pack(
                FORMAT_VERSION,
                self.version,
                self.cipher_suite,
                len(master),
                master,
                flags,
                micros,
                self.lifetime,
                len(session_id),
            ),
            session_id,
        ]
        if self.server_name is not None:
            name = self.server_name.encode()
            parts += (len(name).to_bytes(2, "big"), name)
        if self.alpn is not None:
            alpn = self.alpn.encode()
            parts += (_LENGTH_BYTE[len(alpn)], alpn)
        if self.ticket is not None:
            parts += (len(self.ticket).to_bytes(2, "big"), self.ticket)
        nonce, certs = self.ticket_nonce, self.peer_certificates
        parts += (_AGE.pack(self.ticket_age_add, len(nonce)), nonce)
        if not certs:  # (a server's tickets, without client authentication)
            parts.append(_NO_CERTIFICATES.pack(self.max_early_data))
            return b"".join(parts)
        parts.append(_U32.pack(self.max_early_data))
        parts.append((sum(map(len, certs)) + 3 * len(certs)).to_bytes(3, "big"))
        for der in certs:
            parts += (len(der).to_bytes(3, "big"), der)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionState:
        """Decode :meth:`to_bytes` output; anything malformed raises :class:`DecodeError`."""
        if type(data) is not bytes:  # (a ticket's plaintext is bytes: no bytes() call for it)
            data = bytes(data)
        fields = _well_formed_state(data)
        if fields is not None:
            # Every check of __post_init__ holds for what _well_formed_state reads (see there):
            # the state is made unchecked, its dict at once (a server opens a ticket per
            # resumption); tests/test_fast_server13_session.py holds it to the checked
            # construction on every cut and byte change.
            state = object.__new__(cls)
            object.__setattr__(state, "__dict__", fields)
            return state
        (
            version,
            cipher_suite,
            master_secret,
            flags,
            micros,
            lifetime,
            session_id,
            server_name,
            alpn,
            ticket,
            ticket_age_add,
            ticket_nonce,
            max_early_data,
            certs,
        ) = _checked_fields(data)
        try:
            created = _EPOCH + micros * _MICROSECOND
        except OverflowError:
            raise DecodeError(f"session state: created timestamp {micros} is out of range") from None
        try:
            return cls(  # the fields in their order
                version,
                cipher_suite,
                master_secret,
                bool(flags & _FLAG_EMS),
                server_name,
                alpn,
                created,
                lifetime,
                session_id,
                ticket,
                ticket_age_add,
                ticket_nonce,
                max_early_data,
                certs,
                bool(flags & _FLAG_ETM),
            )
        except ValueError as exc:
            raise DecodeError(f"session state: {exc}") from None

    # -- PEM --------------------------------------------------------------------------------

    def to_pem(self) -> str:
        body = base64.b64encode(self.to_bytes()).decode("ascii")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join([_PEM_BEGIN, *lines, _PEM_END]) + "\n"

    @classmethod
    def from_pem(cls, text: str | bytes) -> SessionState:
        """Decode the first GLASSTLS SESSION block in ``text``; raises :class:`DecodeError`."""
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        match = _PEM_RE.search(text)
        if match is None:
            raise DecodeError(f"no '{_PEM_BEGIN}' ... '{_PEM_END}' block found")
        body = "".join(match.group(1).split())
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise DecodeError("session PEM: the base64 body is malformed") from None
        return cls.from_bytes(data)


def _secret_problem(version: int, master_secret: bytes) -> str | None:
    """Why ``master_secret`` cannot be the secret of a ``version`` session, or None."""
    if version == TLS12:
        # RFC 5246, Section 8.1: the master secret is always 48 bytes.
        if len(master_secret) != 48:
            return f"a TLS 1.2 master secret has 48 bytes, not {len(master_secret)}"
    elif version == TLS13:
        # RFC 8446, Section 4.6.1: the PSK is Hash.length long; TLS 1.3 suites use SHA-256 or SHA-384.
        if len(master_secret) not in (32, 48):
            return f"a TLS 1.3 resumption PSK has 32 or 48 bytes, not {len(master_secret)}"
    else:
        return f"version 0x{version:04x} is neither TLS 1.2 nor TLS 1.3"
    return None


def _text(raw: bytes, field_name: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise DecodeError(f"session state: {field_name} is not UTF-8") from None


def _normal_name(name: str | None) -> str | None:
    return None if name is None else name.rstrip(".").lower()


def same_server_name(a: str | None, b: str | None) -> bool:
    """Whether two server names are one (case and a final dot aside): a session belongs to the
    name it was made for (RFC 6066, Section 3; RFC 8446, Section 4.6.1)."""
    return _normal_name(a) == _normal_name(b)


# What the careful reader below returns: the encoded fields in their order (module doc), flags and
# created (in microseconds) as encoded; SessionState.from_bytes makes the state of them.
_Fields = tuple[
    int, int, bytes, int, int, int, bytes, str | None, str | None, bytes | None, int, bytes, int, tuple[bytes, ...]
]


def _well_formed_state(data: bytes) -> dict[str, object] | None:
    """The dict of the state ``data`` encodes (its fields in their order) if it is well formed and
    the state valid, read in one pass without a call per field (a server opens a ticket per
    resumption); None for anything else, which :func:`_checked_fields` and the checked
    construction read again to say what is wrong. What is read here passes every check of
    ``__post_init__``: each field within the width and bounds of its encoding, the secret's
    length that of its version (:func:`_secret_problem`), UTF-8 names of 1 to 65535 and 1 to
    255 bytes, certificates of bytes, ``created`` in UTC."""
    size = len(data)
    try:  # (an index past the end, a name not UTF-8 or a date out of range: None, as below)
        fmt, version, cipher_suite, n = _HEAD.unpack_from(data)
        pos = _HEAD.size + n
        master_secret = data[_HEAD.size : pos]  # (cut short: the next read fails)
        if fmt != FORMAT_VERSION or _secret_problem(version, master_secret) is not None:
            return None
        flags, micros, lifetime, n = _TIMES.unpack_from(data, pos)
        if flags & ~_KNOWN_FLAGS or n > 32:
            return None
        start = pos + _TIMES.size
        pos = start + n
        session_id = data[start:pos]
        server_name = alpn = ticket = None
        if flags & _FLAG_SERVER_NAME:
            start = pos + 2
            pos = start + (data[pos] << 8 | data[pos + 1])
            if pos == start or pos > size:
                return None
            server_name = data[start:pos].decode()
        if flags & _FLAG_ALPN:
            start = pos + 1
            pos = start + data[pos]
            if pos == start or pos > size:
                return None
            alpn = data[start:pos].decode()
        if flags & _FLAG_TICKET:
            start = pos + 2
            pos = start + (data[pos] << 8 | data[pos + 1])
            ticket = data[start:pos]
        ticket_age_add, n = _AGE.unpack_from(data, pos)
        start = pos + _AGE.size
        pos = start + n
        ticket_nonce = data[start:pos]
        (max_early_data,) = _U32.unpack_from(data, pos)
        start = pos + _U32.size + 3  # after peer_certificates' length
        if start + (data[start - 3] << 16 | data[start - 2] << 8 | data[start - 1]) != size:
            return None  # truncated, or trailing bytes
        certs: tuple[bytes, ...] = ()
        if start != size:
            certs, _ = _certificates(data, start - 3)
        created = _EPOCH + micros * _MICROSECOND
    except (IndexError, struct_error, UnicodeDecodeError, DecodeError, OverflowError):
        return None
    return {
        "version": version,
        "cipher_suite": cipher_suite,
        "master_secret": master_secret,
        "extended_master_secret": flags & _FLAG_EMS != 0,
        "server_name": server_name,
        "alpn": alpn,
        "created": created,
        "lifetime": lifetime,
        "session_id": session_id,
        "ticket": ticket,
        "ticket_age_add": ticket_age_add,
        "ticket_nonce": ticket_nonce,
        "max_early_data": max_early_data,
        "peer_certificates": certs,
        "encrypt_then_mac": flags & _FLAG_ETM != 0,
    }


def _checked_fields(data: bytes) -> _Fields:
    """The fields of ``data``, each checked on its own: :class:`DecodeError` says which is wrong."""
    fmt, version, cipher_suite, n = _unpack(_HEAD, data, 0, "format, version, cipher suite")
    if fmt != FORMAT_VERSION:
        raise DecodeError(f"session state: unsupported format {fmt} (this version reads {FORMAT_VERSION})")
    if n < 1:
        raise DecodeError("session state: master_secret has length 0, allowed 1..255")
    master_secret, pos = _take(data, _HEAD.size, n, "master_secret")
    flags, micros, lifetime, n = _unpack(_TIMES, data, pos, "flags, created, lifetime")
    if flags & ~_KNOWN_FLAGS:
        raise DecodeError(f"session state: unknown flags 0x{flags & ~_KNOWN_FLAGS:02x}")
    if n > 32:
        raise DecodeError(f"session state: session_id has length {n}, allowed 0..32")
    session_id, pos = _take(data, pos + _TIMES.size, n, "session_id")
    server_name = alpn = ticket = None
    if flags & _FLAG_SERVER_NAME:
        raw, pos = _vector(data, pos, 2, "server_name")
        server_name = _text(raw, "server_name")
    if flags & _FLAG_ALPN:
        raw, pos = _vector(data, pos, 1, "alpn")
        alpn = _text(raw, "alpn")
    if flags & _FLAG_TICKET:
        ticket, pos = _vector(data, pos, 2, "ticket", min_len=0)
    ticket_age_add, n = _unpack(_AGE, data, pos, "ticket_age_add")
    ticket_nonce, pos = _take(data, pos + _AGE.size, n, "ticket_nonce")
    (max_early_data,) = _unpack(_U32, data, pos, "max_early_data")
    certs, pos = _certificates(data, pos + _U32.size)
    if pos != len(data):
        raise DecodeError(f"session state: {len(data) - pos} trailing bytes")
    fields = version, cipher_suite, master_secret, flags, micros, lifetime, session_id, server_name, alpn
    return (*fields, ticket, ticket_age_add, ticket_nonce, max_early_data, certs)


# The fixed-size runs of the encoding (module doc): format, version, cipher_suite and the master
# secret's length; flags, created, lifetime and the session ID's length; ticket_age_add and the
# nonce's length; max_early_data.
_HEAD = Struct(">BHHB")
_TIMES = Struct(">BQIB")
_AGE = Struct(">IB")
_U32 = Struct(">I")
# to_bytes's runs: _HEAD, the secret and _TIMES at once, for each length a secret may have
# (_secret_problem); max_early_data and an empty peer_certificates.
_SECRET_RUNS = {n: Struct(f">BHHB{n}sBQIB") for n in (32, 48)}
_NO_CERTIFICATES = Struct(">I3x")
_LENGTH_BYTE = [bytes((n,)) for n in range(256)]


def _unpack(layout: Struct, data: bytes, pos: int, what: str) -> tuple[int, ...]:
    if pos + layout.size > len(data):
        raise DecodeError(f"session state: {what} truncated (need {layout.size} bytes, {len(data) - pos} left)")
    return layout.unpack_from(data, pos)


def _take(data: bytes, pos: int, n: int, what: str) -> tuple[bytes, int]:
    """``n`` bytes at ``pos``, and the position after them."""
    end = pos + n
    if end > len(data):
        raise DecodeError(f"session state: {what} truncated (need {n} bytes, {len(data) - pos} left)")
    return data[pos:end], end


def _vector(data: bytes, pos: int, size: int, what: str, min_len: int = 1) -> tuple[bytes, int]:
    """An opaque vector with a ``size``-byte length at ``pos``, at least ``min_len`` long."""
    head, pos = _take(data, pos, size, f"{what} length")
    n = int.from_bytes(head, "big")
    if n < min_len:
        raise DecodeError(f"session state: {what} has length {n}, allowed >= {min_len}")
    return _take(data, pos, n, what)


def _certificates(data: bytes, pos: int) -> tuple[tuple[bytes, ...], int]:
    """``opaque peer_certificates<0..2^24-1>``, a list of ``opaque DER<1..2^24-1>``."""
    block, end = _vector(data, pos, 3, "peer_certificates", min_len=0)
    certs, at = [], 0
    while at < len(block):
        der, at = _vector(block, at, 3, "peer certificate")
        certs.append(der)
    return tuple(certs), end


# RFC 5246, Section 7.2: "any connection terminated with a fatal alert MUST NOT be resumed". The client's
# TLS 1.2 sessions whose connection a fatal alert ended, sent or received (HandshakeContext.forget_session),
# which a ClientConnection then does not offer, whoever gives them back (a SessionStore, the ssl-compatible
# layer's session=, a program): the flag OpenSSL sets on such an SSL_SESSION (not_resumable), which a
# frozen state cannot hold. Weak: a session nobody keeps is forgotten. TLS 1.3 tickets are not bound by it.
_ENDED_BY_ALERT: weakref.WeakSet[SessionState] = weakref.WeakSet()


def end_by_alert(state: SessionState | None) -> None:
    if state is not None and state.version == 0x0303:
        _ENDED_BY_ALERT.add(state)


def ended_by_alert(state: SessionState) -> bool:
    return state in _ENDED_BY_ALERT
