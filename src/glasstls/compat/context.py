"""``SSLContext``: the parts of ``ssl.SSLContext`` libraries use, over glasstls.

The context only holds settings, as the stdlib's does; each ``wrap_bio`` gives an
:class:`~glasstls.compat.sslobject.SSLObject` (one more driver of the sans-I/O
Connection) a glasstls ClientConfig or ServerConfig of them (config.py): the one the
last ``wrap_bio`` built when the settings it came of are unchanged, else one built then.
What is stored but has no effect here is said on each attribute and in
docs/design/ssl-compat.md.
"""

from __future__ import annotations

import functools
import operator
import os
import ssl
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ..config import CertifiedKey, ClientConfig, Dangerous, ServerConfig
from ..crypto.rand import system_randomness
from ..crypto.suites import TLS13_SUITES
from ..enums import CipherSuite, NamedGroup, ProtocolVersion
from ..errors import ConfigError
from ..profiles import DEFAULT_PROFILE, profile_named
from ..session.cache import ServerSessionCache
from ..session.tickets import TicketKeys
from ..x509.store import TrustStore, _system_bundle_paths
from . import capath as hashed_dirs
from . import keylogfile, sslsocket, watch
from .autochain import AutoChains
from .carules import der_certificates, is_ca, openssl_ca
from .certdict import certificate_dict
from .ciphers import cipher_dict, openssl_tls13_rank, parse_cipher_string
from .errors import X509_R_KEY_VALUES_MISMATCH
from .opensslconf import system_default
from .passwords import Password, key_password
from .sessionstats import SessionStats
from .sslobject import SSLObject
from .subclasses import usable_class

_VERSIONS = {
    ssl.TLSVersion.TLSv1_2: ProtocolVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3: ProtocolVersion.TLSv1_3,
}
_OLD = (ssl.TLSVersion.SSLv3, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)


# A subclass of the stdlib's class at run time, so that ``isinstance(ctx, ssl.SSLContext)``
# holds wherever libraries check it (aiohttp, httpx, asyncio) even for a class captured before
# inject_into_ssl; truststore does the same. Every attribute and method a library uses is
# defined here and shadows the OpenSSL one, whose context underneath stays unused. For mypy it
# is a class of its own: its attributes are glasstls's, not typeshed's.
if TYPE_CHECKING:
    from ..trace.keylog import KeyLog

    _Base = object
else:
    _Base = ssl.SSLContext

_SIDES = (ssl.PROTOCOL_TLS_CLIENT, ssl.PROTOCOL_TLS_SERVER)
# The stdlib's defaults with OpenSSL 3 (Modules/_ssl.c, _ssl__SSLContext_impl): what
# ``ssl.SSLContext().options`` reads. glasstls acts on OP_NO_TLSv1_2/3, OP_NO_TICKET and
# OP_LEGACY_SERVER_CONNECT; it never compresses, keeps no DH or ECDH key across handshakes,
# sends the TLS 1.3 middlebox-compatible hello (RFC 8446 D.4) and, as a server, picks the suite
# by its own preference.
_DEFAULT_OPTIONS = (
    ssl.OP_ALL | ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    | ssl.OP_SINGLE_DH_USE | ssl.OP_SINGLE_ECDH_USE | ssl.OP_ENABLE_MIDDLEBOX_COMPAT
)  # fmt: skip
# SSL_OP_LEGACY_SERVER_CONNECT (OpenSSL 3's value; ssl names it from Python 3.12): a client
# accepts a TLS 1.2 server without secure renegotiation (ClientConfig.legacy_server_connect).
_OP_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
_NO_VERSION_OPTIONS = (
    ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1 | ssl.OP_NO_TLSv1_2 | ssl.OP_NO_TLSv1_3
)  # fmt: skip
# set_ecdh_curve's names (OpenSSL's short names, OBJ_sn2nid) of the groups glasstls has.
_CURVES = {
    "prime256v1": NamedGroup.secp256r1, "secp384r1": NamedGroup.secp384r1, "secp521r1": NamedGroup.secp521r1,
    "X25519": NamedGroup.x25519, "X448": NamedGroup.x448,
}  # fmt: skip
_LEVELS = {"legacy": 1, "intermediate": 2, "modern": 3}  # OpenSSL security levels of the same strength


class SSLContext(_Base):
    """A drop-in for ``ssl.SSLContext``: ``PROTOCOL_TLS_CLIENT``, ``PROTOCOL_TLS_SERVER``, or the
    older ``PROTOCOL_TLS`` (either side, no verification by default, as the stdlib's; also what
    no protocol argument means). A context made for one side refuses to wrap the other.

    ``post_handshake_auth`` and ``num_tickets`` (server) map to the config; ``verify_flags`` is
    stored, VERIFY_CRL_CHECK_LEAF making revocation checks hard for CRLs loaded with
    ``load_verify_locations``.
    """

    # What wrap_bio and wrap_socket make; a program (truststore) may set subclasses, on the class
    # or on one context, as the stdlib allows (3.7+).
    sslobject_class: type[Any] = SSLObject
    sslsocket_class: type[Any] = sslsocket.SSLSocket
    # Plain class attributes shadow the OpenSSL context's descriptors (see _Base above).
    post_handshake_auth = False
    # Reads True as the stdlib's (OpenSSL falls back to the CN of a certificate without DNS names);
    # stored, not acted on: glasstls never reads the CN (RFC 9525), whatever it is set to.
    hostname_checks_common_name = True

    def __new__(cls, protocol: int | None = None, *args: Any, **kwargs: Any) -> SSLContext:
        if protocol is None:  # as ssl.SSLContext.__new__ (3.10+): PROTOCOL_TLS, either side, unverified
            warnings.warn("ssl.SSLContext() without protocol argument is deprecated.", DeprecationWarning, stacklevel=2)
        if _Base is object:
            return super().__new__(cls)
        return _Base.__new__(cls, protocol if protocol in _SIDES else ssl.PROTOCOL_TLS_CLIENT)  # type: ignore[no-any-return,call-arg,unused-ignore]  # ssl.SSLContext.__new__ takes the protocol

    def __init__(self, protocol: int | None = None) -> None:
        if protocol is None:
            protocol = ssl.PROTOCOL_TLS  # (__new__ warned)
        if protocol not in (*_SIDES, ssl.PROTOCOL_TLS, ssl.PROTOCOL_TLSv1_2):
            raise ValueError(
                "glasstls.SSLContext takes ssl.PROTOCOL_TLS_CLIENT, ssl.PROTOCOL_TLS_SERVER, ssl.PROTOCOL_TLS or "
                "ssl.PROTOCOL_TLSv1_2 (TLS 1.0 and 1.1 are not implemented: RFC 8996 deprecates them)"
            )
        self._protocol = ssl._SSLMethod(protocol)
        if protocol in (ssl.PROTOCOL_TLS, ssl.PROTOCOL_TLSv1_2):  # as _ssl.c's _ssl__SSLContext_impl
            warnings.warn(f"ssl.{self._protocol.name} is deprecated", DeprecationWarning, stacklevel=2)
        client = protocol == ssl.PROTOCOL_TLS_CLIENT
        self._check_hostname = client
        self._verify_mode = ssl.CERT_REQUIRED if client else ssl.CERT_NONE
        # As the stdlib reads them: TLS 1.2 the floor of the flexible methods (Python 3.10+); a
        # fixed-version method (PROTOCOL_TLSv1_2, deprecated) reads MINIMUM_SUPPORTED and is that
        # version only.
        fixed = protocol == ssl.PROTOCOL_TLSv1_2
        # OpenSSL's system_default (opensslconf.py): what of it a Python context starts with.
        system = system_default()
        self._minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED if fixed else ssl.TLSVersion.TLSv1_2
        self._maximum_version = system.maximum_version or ssl.TLSVersion.MAXIMUM_SUPPORTED
        self._only_tls12 = fixed
        self._options = _DEFAULT_OPTIONS
        self._verify_flags = ssl.VERIFY_X509_TRUSTED_FIRST
        self._sni_callback: Callable[..., Any] | None = None
        self._profile = DEFAULT_PROFILE
        self._roots: list[x509.Certificate] = []
        self._root_set: set[x509.Certificate] = set()
        self._store: TrustStore | None = None  # of _anchors(), kept for every connection until they change
        self._store_partial = False  # whether _store was built for VERIFY_X509_PARTIAL_CHAIN
        self._capaths: list[str] = []  # hashed CA directories (capath.py), read when a store is built
        self._store_capath: tuple[x509.Certificate, ...] = ()  # their CAs in _store
        self._crls: list[x509.CertificateRevocationList] = []
        self._chain: CertifiedKey | None = None  # the last loaded: a client's certificate
        self._chains: dict[str, CertifiedKey] = {}  # a server's, one per kind of key (_key_kind)
        self._autochains = AutoChains()  # each chain loaded alone, completed from the trust store
        self._alpn: tuple[str, ...] = ()
        # OPENSSL_CONF's or set_ecdh_curve's groups, OPENSSL_CONF's TLS 1.3 suites and schemes; (), None: the profile's.
        self._groups, self._tls13_suites, self._schemes = system.groups, system.tls13_suites, system.signature_schemes
        self._num_tickets = 2
        self._msg_cb: Callable[..., Any] | None = None
        self._keylog_name: Any = None
        self._keylog: KeyLog | None = None
        self._tls12_suites: tuple[CipherSuite, ...] | None = None
        # One session cache and one ticket key set for every connection of this context, as
        # OpenSSL's SSL_CTX keeps them: a config per wrap_bio must not forget the sessions.
        self._session_cache = ServerSessionCache()
        self.stats = SessionStats()  # session_stats(): counted by the connections (sessionstats.py)
        self._ticket_keys = TicketKeys(system_randomness)
        # The last config built for a connection, with what it was built from (_reused): a
        # program wraps socket after socket with one context, as OpenSSL's SSL objects share
        # their SSL_CTX, and a config keeps what is worked out once for it (a client's encoded
        # hello extensions, a server's certificate messages).
        self._built: dict[str, tuple[tuple[Any, ...], Any]] = {}

    # -- the glasstls security profile (profiles.py) ----------------------------------------------
    @property
    def profile(self) -> str:
        """The glasstls profile the suites, groups and signature schemes come from ("modern",
        "intermediate", "legacy"); set_ciphers still chooses the TLS 1.2 suites."""
        return self._profile

    @profile.setter
    def profile(self, name: str) -> None:
        self._profile = profile_named(name).name

    @property
    def security_level(self) -> int:
        """OpenSSL's security level of the same strength: legacy 1 (SHA-1, 80-bit), intermediate
        2 (112-bit), modern 3 (128-bit, TLS 1.3 only)."""
        return _LEVELS[self._profile]

    # -- plain settings, as properties: the stdlib's class has descriptors of these names ---------
    @property
    def protocol(self) -> ssl._SSLMethod:
        return self._protocol

    @property
    def options(self) -> ssl.Options:
        return ssl.Options(self._options)

    @options.setter
    def options(self, value: int) -> None:
        if ~self._options & value & _NO_VERSION_OPTIONS:  # as _ssl.c's set_options: newly set ones only
            warnings.warn("ssl.OP_NO_SSL*/ssl.OP_NO_TLS* options are deprecated", DeprecationWarning, stacklevel=2)
        self._options = ssl.Options(value)

    @property
    def verify_flags(self) -> ssl.VerifyFlags:
        return ssl.VerifyFlags(self._verify_flags)

    @verify_flags.setter
    def verify_flags(self, value: int) -> None:
        self._verify_flags = ssl.VerifyFlags(operator.index(value))  # (TypeError for None, as _ssl.c's)

    @property
    def num_tickets(self) -> int:
        """TLS 1.3 tickets a server sends after the handshake (capped at 8)."""
        return self._num_tickets

    @num_tickets.setter
    def num_tickets(self, value: int) -> None:
        value = operator.index(value)  # (TypeError for None, as _ssl.c's)
        if value < 0:
            raise ValueError("value must be non-negative")
        if self._protocol == ssl.PROTOCOL_TLS_CLIENT:
            raise ValueError("SSLContext is not a server context.")
        self._num_tickets = value

    @property
    def keylog_filename(self) -> Any:
        """The key log file, as it was set (keylogfile.py: opened, with its header, when set)."""
        return self._keylog_name

    @keylog_filename.setter
    def keylog_filename(self, value: Any) -> None:
        self._keylog = keylogfile.opened(value)
        self._keylog_name = value

    def key_log(self) -> KeyLog | None:
        """Where this context's connections write their secrets (None: nowhere)."""
        return self._keylog

    def session_stats(self) -> dict[str, int]:
        return self.stats.as_dict(len(self._session_cache))

    @property
    def _msg_callback(self) -> Callable[..., Any] | None:
        """Called as OpenSSL's message callback is, with ssl.py's enums (compat/msgcallback.py), for
        connections made after it was set. Defined here because ssl.py's property calls
        super(SSLContext, SSLContext), which after inject_into_ssl names this class and recurses
        without end."""
        return self._msg_cb

    @_msg_callback.setter
    def _msg_callback(self, callback: Callable[..., Any] | None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"{callback} is not callable.")
        self._msg_cb = callback

    @property
    def sni_callback(self) -> Callable[..., Any] | None:
        """Called as ``callback(sslobject, server_name, context)`` when a client's hello arrives
        at a server; may set ``sslobject.context`` to another context (whose certificate is then
        served) or return an alert number (``ssl.ALERT_DESCRIPTION_*``) to refuse."""
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, callback: Callable[..., Any] | None) -> None:
        if self._protocol == ssl.PROTOCOL_TLS_CLIENT:  # as _ssl.c: a client never hears a client's name
            raise ValueError("sni_callback cannot be set on TLS_CLIENT context")
        if callback is not None and not callable(callback):
            raise TypeError("not a callable object")
        self._sni_callback = callback

    # -- verification settings, with the stdlib's coupling ----------------------
    @property
    def check_hostname(self) -> bool:
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        # As the stdlib: turning it on upgrades CERT_NONE to CERT_REQUIRED.
        if value and self._verify_mode == ssl.CERT_NONE:
            self._verify_mode = ssl.CERT_REQUIRED
        self._check_hostname = bool(value)

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        return ssl.VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        value = operator.index(value)  # (TypeError for None, as _ssl.c's)
        if value == ssl.CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = ssl.VerifyMode(value)

    @property
    def minimum_version(self) -> ssl.TLSVersion:
        return self._minimum_version

    @minimum_version.setter
    def minimum_version(self, value: ssl.TLSVersion) -> None:
        self._minimum_version = _checked_version(value)

    @property
    def maximum_version(self) -> ssl.TLSVersion:
        return self._maximum_version

    @maximum_version.setter
    def maximum_version(self, value: ssl.TLSVersion) -> None:
        self._maximum_version = _checked_version(value)

    # -- trust -------------------------------------------------------------------
    def load_verify_locations(
        self, cafile: str | os.PathLike[str] | None = None, capath: str | os.PathLike[str] | None = None,
        cadata: str | bytes | None = None,
    ) -> None:  # fmt: skip
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:  # (a bytes path too, as _ssl.c's PyUnicode_FSConverter)
            self._load_file(os.fsdecode(cafile))
        if capath is not None:
            self._add_capath(os.fsdecode(capath))
        if isinstance(cadata, str):
            self._load_pem(cadata.encode("ascii"), "cadata")
        elif cadata is not None:
            try:
                der = memoryview(cadata).tobytes()  # (bytes(5) would make five zero bytes of an int)
            except TypeError:
                raise TypeError("cadata should be an ASCII string or a bytes-like object") from None
            self._add_roots(der_certificates(der))

    def _load_file(self, path: str, lenient: bool = False) -> None:
        crls, roots = _parsed_bundle(*_stamp(path), lenient)
        self._add_crls(crls)
        self._add_roots(roots)

    def _add_roots(self, roots: Iterable[x509.Certificate]) -> None:
        """Each CA once, however many places name it (SSL_CERT_DIR holds SSL_CERT_FILE's roots too);
        the trust store is built again only if one is new (requests loads its CA file again for
        every connection, and a store keeps the chains verified against it: x509/verify_cache.py)."""
        added = False
        for root in roots:
            if root not in self._root_set:
                self._root_set.add(root)
                self._roots.append(root)
                added = True
        if added:
            self._store = None  # built again, once, by the next connection

    def _add_capath(self, directory: str) -> None:
        """A hashed CA directory, read at each trust store built, its CAs listed once a chain asked
        for them, as OpenSSL's by_dir lookup (capath.py); one that does not exist is no error (the
        chains it cannot help fail), as OpenSSL's X509_LOOKUP_add_dir."""
        directory = os.path.abspath(directory)
        if directory not in self._capaths:
            self._capaths.append(directory)

    def _capath_certificates(self) -> tuple[x509.Certificate, ...]:
        found: tuple[x509.Certificate, ...] = ()
        for directory in self._capaths:
            try:
                found += hashed_dirs.hashed_certificates(*_stamp(directory))
            except OSError:
                continue  # (gone, or not there yet: nothing found in it)
        return found

    def note_peer_chain(self, chain: Iterable[x509.Certificate]) -> None:
        """A verified peer's chain: the hashed directories' CAs OpenSSL would have read for it are
        now in the context's list (get_ca_certs, cert_store_stats)."""
        if self._store_capath:
            self._add_roots(hashed_dirs.looked_up(list(chain), self._store_capath))

    def _add_crls(self, crls: Iterable[x509.CertificateRevocationList]) -> None:
        """Each CRL once, however often its file is loaded."""
        for crl in crls:
            if crl not in self._crls:
                self._crls.append(crl)

    def _load_pem(self, data: bytes, source: str, lenient: bool = False) -> None:
        if b"-----BEGIN X509 CRL-----" in data:
            self._add_crls(x509.load_pem_x509_crls(data) if hasattr(x509, "load_pem_x509_crls")
                           else [x509.load_pem_x509_crl(data)])  # fmt: skip
        if b"-----BEGIN CERTIFICATE-----" in data:
            try:
                self._add_roots(TrustStore.from_pem(data, source, skip_unparsable=lenient).certificates)
            except ConfigError as exc:  # an ssl.SSLError, as OpenSSL's "[X509] PEM lib" that programs catch
                raise _ssl_error(f"PEM lib ({exc})", "PEM_LIB", "X509") from None
        elif source == "cadata":  # _ssl.c's own text
            raise _ssl_error("no start line: cadata does not contain a certificate", "NO_START_LINE", "PEM")
        elif b"CRL" not in data:
            raise _ssl_error(f"no certificate found in {source}", "NO_CERTIFICATE_OR_CRL_FOUND")

    def set_default_verify_paths(self) -> None:
        """The system bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set, as OpenSSL reads them."""
        cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
        if cafile or capath:
            if cafile and os.path.isfile(cafile):
                self._load_file(cafile, lenient=True)
            for directory in (capath or "").split(os.pathsep):
                if directory:
                    self._add_capath(directory)
            return
        for path in _system_bundle_paths():
            if os.path.isfile(path):
                self._load_file(path, lenient=True)  # the system's bundle is not ours to fix
                return

    def load_default_certs(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
        if not isinstance(purpose, ssl._ASN1Object):  # as ssl.py's
            raise TypeError(purpose)
        self.set_default_verify_paths()

    def get_ca_certs(self, binary_form: bool = False) -> list[Any]:
        """The loaded certificates OpenSSL's X509_check_ca takes for CAs, as _ssl.c lists them
        (a server's own certificate loaded to trust it is left out)."""
        cas = [c for c in self._roots if openssl_ca(c)]
        if binary_form:
            return [c.public_bytes(serialization.Encoding.DER) for c in cas]
        return [certificate_dict(c) for c in cas]

    def cert_store_stats(self) -> dict[str, int]:
        cas = sum(1 for c in self._roots if openssl_ca(c))
        return {"x509": len(self._roots), "crl": len(self._crls), "x509_ca": cas}

    # -- our identity and the negotiation ----------------------------------------
    def load_cert_chain(
        self, certfile: str | bytes | os.PathLike[str], keyfile: str | bytes | os.PathLike[str] | None = None,
        password: Password = None,
    ) -> None:  # fmt: skip
        chain_pem = Path(os.fsdecode(certfile)).read_bytes()  # (a bytes path too, as _ssl.c's)
        key_pem = Path(os.fsdecode(keyfile)).read_bytes() if keyfile is not None else chain_pem
        secret = key_password(password, key_pem)
        try:
            self._chain = CertifiedKey.from_pem(chain_pem, key_pem, secret)
            self._chains[_key_kind(self._chain)] = self._chain
        except (ValueError, TypeError) as exc:
            if _key_mismatch(chain_pem, key_pem, secret):  # as OpenSSL's X509_check_private_key
                message = f"[X509: KEY_VALUES_MISMATCH] key values mismatch ({exc})"
                err = ssl.SSLError(X509_R_KEY_VALUES_MISMATCH, message)
                err.reason, err.library = "KEY_VALUES_MISMATCH", "X509"
                raise err from exc
            raise _ssl_error(f"PEM lib (cannot load the certificate chain or key: {exc})", "PEM_LIB") from exc

    def set_alpn_protocols(self, protocols: list[str]) -> None:
        for proto in protocols:
            if not isinstance(proto, str):  # as the stdlib's (str.encode of it)
                raise TypeError("encoding without a string argument")
            if not 0 < len(proto.encode()) < 256:  # RFC 7301, Section 3.1; the stdlib's error class
                raise ssl.SSLError("ALPN protocols must be 1 to 255 in length")
        self._alpn = tuple(protocols)

    def set_ciphers(self, cipherlist: str) -> None:
        """OpenSSL cipher string, for the TLS 1.2 suites (ciphers.py)."""
        self._tls12_suites = parse_cipher_string(cipherlist)

    def set_npn_protocols(self, protocols: list[str]) -> None:  # NPN is obsolete; libraries still call it
        pass

    def set_ecdh_curve(self, name: str | bytes) -> None:
        """The one group key exchange uses from now on, as OpenSSL's SSL_CTX_set1_groups with it."""
        text = os.fsdecode(name)  # (str or bytes; TypeError for others, as _ssl.c's PyUnicode_FSConverter)
        if text not in _CURVES:
            raise ValueError(f"unknown elliptic curve name {name!r}")
        self._groups = (_CURVES[text],)

    def get_ciphers(self) -> list[dict[str, Any]]:
        """The suites enabled, TLS 1.3 first, in the dicts (and values) the stdlib gives."""
        return [cipher_dict(s) for s in self._suites()]

    # -- building connections ----------------------------------------------------
    def wrap_bio(
        self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
        server_hostname: str | bytes | None = None, session: Any = None,
    ) -> SSLObject:  # fmt: skip
        """``self.sslobject_class._create(…)``, as the stdlib's: a subclass set on the class or the
        instance is what is returned, its methods (an overridden do_handshake) run (subclasses.py)."""
        peer = watch.asyncio_peer(sys._getframe(1)) if watch.current() is not None else None
        cls = usable_class(self.sslobject_class, SSLObject, "sslobject_class")
        obj: SSLObject = cls._create(
            incoming, outgoing, server_side=server_side, server_hostname=server_hostname, session=session, context=self
        )
        if peer is not None:
            obj._locate(peer)
        return obj

    def wrap_socket(
        self, sock: Any, server_side: bool = False, do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True, server_hostname: str | None = None, session: Any = None,
    ) -> Any:  # fmt: skip
        """``self.sslsocket_class._create(…)``, as the stdlib's (subclasses.py); the SSLSocket's
        TLS is glasstls's own SSLObject whatever ``sslobject_class`` is, as the stdlib's SSLSocket
        never uses it (its SSL object is _ssl's)."""
        cls = usable_class(self.sslsocket_class, sslsocket.SSLSocket, "sslsocket_class")
        return cls._create(
            sock=sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs, server_hostname=server_hostname, context=self, session=session,
        )  # fmt: skip

    def _socket_sslobject(
        self, sock: Any, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool,
        server_hostname: str | None, session: Any,
    ) -> SSLObject:  # fmt: skip
        """The SSLObject under an SSLSocket of this context (_ssl's ``_wrap_socket``); the watch is
        given the peer's address as soon as the socket is connected (a client wrapped before
        connect() learns it at the first trace written)."""
        peer = None
        if watch.current() is not None:
            peer = watch.socket_peer(sock) or watch.later_peer(sock)
        return SSLObject(self, incoming, outgoing, server_side, server_hostname, session, peer)

    def client_config(self, named: bool = True) -> ClientConfig:
        """The config of a client connection; ``named``: it has a server_hostname. Without one the
        chain is checked but no name, as OpenSSL does when _ssl.c set it none (wrap_bio takes that
        even with check_hostname on)."""
        verify = self._verify_mode != ssl.CERT_NONE
        store = self._trust_store() if verify else None
        check_name = self._check_hostname and named
        chain = self._completed(self._chain) if self._chain is not None else None
        inputs = (
            store, self._tls_min(), self._tls_max(), self._alpn,
            self._options & (ssl.OP_NO_TICKET | _OP_LEGACY_SERVER_CONNECT), chain, self.post_handshake_auth,
            check_name, self._profile, self._tls12_suites, self._groups, tuple(self._crls), self._revocation(),
        )  # fmt: skip
        built: ClientConfig | None = self._reused("client", inputs)
        if built is not None:
            return built
        kwargs: dict[str, Any] = self._suite_kwargs()
        if self._crls or self._revocation() == "hard":
            kwargs["crls"] = tuple(self._crls)
            kwargs["revocation"] = self._revocation()
        config = ClientConfig(
            trust_store=store,
            tls_min=self._tls_min(), tls_max=self._tls_max(), alpn=self._alpn,
            session_tickets=not self.options & ssl.OP_NO_TICKET, certificate=chain,
            post_handshake_auth=bool(self.post_handshake_auth),  # (False: not offered, certificate or not)
            dangerous=Dangerous(skip_server_verification=not verify, skip_server_name_check=not check_name),
            legacy_server_connect=bool(self._options & _OP_LEGACY_SERVER_CONNECT), profile=self._profile,
            dhe_custom_groups=True,  # OpenSSL takes a server's own DHE group (>= 2048 bits); glasstls a safe prime
            **kwargs,
        )  # fmt: skip
        self._built["client"] = (inputs, config)
        return config

    def _reused(self, side: str, inputs: tuple[Any, ...]) -> Any:
        """The config last built for ``side``, if it was built from equal ``inputs`` (a tuple
        compares its items by identity first: the trust store, which has no other equality)."""
        last = self._built.get(side)
        return last[1] if last is not None and last[0] == inputs else None

    def server_chains(self) -> tuple[CertifiedKey, ...]:
        """The chains load_cert_chain gave, one per kind of key as OpenSSL keeps them (an ECDSA and
        an RSA one: the server serves the one the client can use), each completed from the verify
        store if loaded alone (autochain.py); what an sni_callback switching to this context serves."""
        return tuple(self._completed(c) for c in self._chains.values())

    def _completed(self, certified: CertifiedKey) -> CertifiedKey:
        return certified if len(certified.chain) != 1 else self._autochains.completed(certified, self._trust_store())

    def server_config(self, server_name_callback: Callable[[str | None], Any] | None = None) -> ServerConfig:
        auth = {ssl.CERT_NONE: "none", ssl.CERT_OPTIONAL: "optional"}.get(self._verify_mode, "required")
        roots = self._trust_store() if auth != "none" else None
        if self.post_handshake_auth and self._verify_mode != ssl.CERT_NONE:
            auth = "none"  # as OpenSSL's SSL_VERIFY_POST_HANDSHAKE: asked for later, verify_client_post_handshake()
        # (A callback is the SSLObject's own: a config made with one serves that connection alone.)
        inputs = (
            auth, roots, self._tls_min(), self._tls_max(), self._alpn, self._options & ssl.OP_NO_TICKET,
            self.num_tickets, self.server_chains(), self._profile, self._tls12_suites, self._groups, tuple(self._crls),
            self._revocation(),
        )  # fmt: skip
        built: ServerConfig | None = self._reused("server", inputs) if server_name_callback is None else None
        if built is not None:
            return built
        config = ServerConfig(
            **self._suite_kwargs(), server_name_callback=server_name_callback,
            certificates=self.server_chains(), tls_min=self._tls_min(),
            tls_max=self._tls_max(), alpn=self._alpn,
            alpn_required=False,  # no overlap: no ALPN, as _ssl.c's select callback answers (NOACK)
            session_tickets=not self.options & ssl.OP_NO_TICKET,
            tls13_tickets=0 if self.options & ssl.OP_NO_TICKET else min(self.num_tickets, 8),
            client_auth=auth, client_trust_store=roots, client_crls=tuple(self._crls),
            client_revocation=self._revocation(),
            session_cache=self._session_cache, ticket_keys=self._ticket_keys, profile=self._profile,
        )  # fmt: skip
        if server_name_callback is None:
            self._built["server"] = (inputs, config)
        return config

    def switched_from(self, first: ServerConfig) -> ServerConfig:
        """What a handshake begun with ``first`` is served with once an sni_callback switches it to this
        context, as OpenSSL's SSL_set_SSL_CTX switches an SSL: this context's chains, ALPN protocols,
        and CAs and CRLs for client certificates; the first's versions, verify mode, suites, session
        cache and ticket keys (the SSL's own, or its session context's) stay."""
        roots = self._trust_store() if first.client_trust_store is not None else None
        # (Not kept for the next: ``first`` is the connection's own, made with its callback; 23 µs.)
        return replace(first, certificates=self.server_chains(), alpn=self._alpn, client_trust_store=roots,
                       client_crls=tuple(self._crls))  # fmt: skip

    def _revocation(self) -> str:
        """Hard with VERIFY_CRL_CHECK_LEAF (or _CHAIN, which includes it): a certificate without a
        current CRL of its issuer fails, as OpenSSL's "unable to get certificate CRL" (verify code 3),
        CRLs loaded or not; soft otherwise (loaded CRLs still refuse a revoked certificate)."""
        return "hard" if self._verify_flags & ssl.VERIFY_CRL_CHECK_LEAF else "soft"

    def _trust_store(self) -> TrustStore:
        """The CAs loaded. With none, OpenSSL still handshakes and fails the peer's chain
        (unable to get local issuer certificate); a glasstls TrustStore cannot be empty, so
        it holds one anchor whose key nobody has (_no_anchor), and the chain fails alike."""
        partial = bool(self._verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN)
        hashed = self._capath_certificates() if self._capaths else ()
        if self._store is None or self._store_partial != partial or hashed != self._store_capath:
            anchors = self._anchors(partial, [*self._roots, *hashed])
            self._store = TrustStore.from_certificates(anchors or [_no_anchor()], "SSLContext")
            self._store_partial, self._store_capath = partial, hashed
        return self._store

    def _anchors(self, partial: bool, loaded: list[x509.Certificate]) -> list[x509.Certificate]:
        """The CAs loaded that OpenSSL takes as trust anchors. Without VERIFY_X509_PARTIAL_CHAIN a
        chain must end at a self-signed certificate, so an end-entity certificate loaded as a CA
        (a server's own, "pinned") is no anchor: OpenSSL fails its chain (unable to get local
        issuer certificate) where glasstls would trust it as loaded. Such a certificate can issue
        nothing, so leaving it out changes no other chain. (A loaded intermediate CA OpenSSL would
        not take as an anchor either; glasstls still does: see docs/design/ssl-compat.md.)"""
        if partial:
            return loaded
        return [c for c in loaded if is_ca(c) or c.issuer == c.subject]

    def _suite_kwargs(self) -> dict[str, Any]:
        # The suites always (in OpenSSL's TLS 1.3 order: _suites); the groups only once set_ecdh_curve or
        # OPENSSL_CONF chose them, so that the config's profile decides them as usual; the same for the schemes.
        kwargs: dict[str, Any] = {"cipher_suites": self._suites()}
        if self._groups:
            kwargs["groups"] = self._groups
        allowed = profile_named(self._profile).signature_schemes
        schemes = tuple(s for s in self._schemes if s in allowed)
        if schemes:  # OPENSSL_CONF's, within the profile's
            kwargs["signature_schemes"] = schemes
        return kwargs

    def _tls_min(self) -> ProtocolVersion:
        """The floor: TLS 1.2 for any older or MINIMUM_SUPPORTED setting (glasstls has no TLS 1.0/1.1)."""
        low = _VERSIONS.get(self._minimum_version, ProtocolVersion.TLSv1_2)
        if self.options & ssl.OP_NO_TLSv1_2:
            low = ProtocolVersion.TLSv1_3
        return low

    def _tls_max(self) -> ProtocolVersion:
        """The ceiling; one below TLS 1.2 stays itself, so that the config refuses the range, as
        OpenSSL's handshake fails with NO_PROTOCOLS_AVAILABLE."""
        high = _VERSIONS.get(self._maximum_version, ProtocolVersion.TLSv1_3)
        if self._maximum_version in _OLD:
            high = ProtocolVersion(int(self._maximum_version))
        if self.options & ssl.OP_NO_TLSv1_3 or self._only_tls12:
            high = ProtocolVersion.TLSv1_2
        return high

    def _suites(self) -> tuple[CipherSuite, ...]:
        """The profile's TLS 1.3 suites in OpenSSL's default order (a server prefers AES-256-GCM, as
        Python's ssl does: its contexts set OP_CIPHER_SERVER_PREFERENCE), then the TLS 1.2 ones:
        the profile's, or set_ciphers's (as OpenSSL, set_ciphers leaves TLS 1.3's alone)."""
        suites = profile_named(self._profile).cipher_suites
        tls13 = self._tls13_suites
        if tls13 is None:
            tls13 = tuple(sorted((s for s in suites if s in TLS13_SUITES), key=openssl_tls13_rank))
        tls12 = self._tls12_suites
        if tls12 is None:
            tls12 = tuple(s for s in suites if s not in TLS13_SUITES)
        return (*tls13, *tls12)


def create_default_context(
    purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None, capath: str | None = None,
    cadata: str | bytes | None = None,
) -> SSLContext:  # fmt: skip
    """As ``ssl.create_default_context``: a client context verifying against the given or the
    system CAs, or (``Purpose.CLIENT_AUTH``) a server context."""
    if purpose == ssl.Purpose.SERVER_AUTH:
        ctx = SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        ctx = SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    elif ctx.verify_mode != ssl.CERT_NONE:
        ctx.load_default_certs(purpose)
    return ctx


@functools.lru_cache(maxsize=16)
def _parsed_bundle(
    path: str, mtime_ns: int, size: int, lenient: bool = False
) -> tuple[tuple[x509.CertificateRevocationList, ...], tuple[x509.Certificate, ...]]:
    """A CA file's CRLs and certificates, parsed once while it is unchanged: a program makes a
    context per connection (urllib, smtplib), each loading the same bundle of a hundred roots."""
    holder = SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    holder._load_pem(Path(path).read_bytes(), path, lenient)
    return tuple(holder._crls), tuple(holder._roots)


def _stamp(path: str) -> tuple[str, int, int]:
    """A file or folder as a cache key: its absolute path, modification time and size."""
    stat = os.stat(path)
    return os.path.abspath(path), stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=1)
def _no_anchor() -> x509.Certificate:
    """A self-signed CA whose private key is dropped at once: it can issue nothing."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "glasstls.compat: no CA loaded in this SSLContext")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def _checked_version(value: ssl.TLSVersion) -> ssl.TLSVersion:
    """Any TLSVersion is taken and read back, as the stdlib does; a floor below TLS 1.2 is TLS 1.2
    in effect (_tls_min), a ceiling below it leaves no version (RFC 8996 deprecates 1.0 and 1.1).
    The old ones warn, with the stdlib's DeprecationWarning."""
    version = ssl.TLSVersion(value)
    if version in _OLD:
        warnings.warn(f"ssl.TLSVersion.{version.name} is deprecated", DeprecationWarning, stacklevel=3)
    return version


def _key_kind(chain: CertifiedKey) -> str:
    """OpenSSL's certificate slot for the key (SSL_PKEY_*): a chain loaded for a slot replaces the
    one there, chains for other slots stay. ECDSA keys share one slot whatever their curve."""
    key = chain.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "EC"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA-PSS" if chain.leaf_is_rsassa_pss else "RSA"
    return type(key).__name__  # Ed25519, Ed448, DSA: one slot each


def _key_mismatch(chain_pem: bytes, key_pem: bytes, password: bytes | None) -> bool:
    """Whether the first certificate and the key both load and the key is not the certificate's."""
    try:
        leaf = x509.load_pem_x509_certificate(chain_pem)
        key = serialization.load_pem_private_key(key_pem, password)
    except (ValueError, TypeError):
        return False  # (one of them does not load: PEM_LIB, as before)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(leaf.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki))


def _ssl_error(message: str, reason: str, library: str = "SSL") -> ssl.SSLError:
    err = ssl.SSLError(ssl.SSL_ERROR_SSL, f"[{library}: {reason}] {message}")
    err.reason, err.library = reason, library
    return err
