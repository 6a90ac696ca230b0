"""Certificates and peers for the tests that hold glasstls.compat against the stdlib's ``ssl``:
the same code runs with ``ssl.SSLContext`` and ``glasstls.compat.SSLContext`` (``kind``) against
a real peer on 127.0.0.1, a thread whose TLS is the stdlib's unless a test says otherwise."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import glasstls.compat

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import WAIT, ServerThread

CONTEXTS: dict[str, Any] = {"stdlib": ssl.SSLContext, "glasstls": glasstls.compat.SSLContext}
VERSIONS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}
NOW = datetime.datetime.now(datetime.UTC)


class Issued:
    """A certificate, its key, and where both are written as PEM."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert, self.key = cert, key

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def name(common: str, *more: x509.NameAttribute) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common), *more])


def issue(
    subject: x509.Name, issuer: Issued | None = None, *, ca: bool = False, hosts: Sequence[str] = (),
    extensions: Sequence[x509.ExtensionType] = (),
) -> Issued:  # fmt: skip
    """A certificate for ``subject`` signed by ``issuer`` (None: self-signed), valid now."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
        .issuer_name(issuer.cert.subject if issuer else subject).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(NOW + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer.key if issuer else key).public_key()),
                       critical=False)
    )  # fmt: skip
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class Pki:
    """A root CA, and files of a server chain (leaf, then more) with its key, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = issue(name("compat test root"), ca=True)
        self.root_file = self.write("root.pem", self.root.pem())

    def write(self, filename: str, data: bytes) -> Path:
        path = self.directory / filename
        path.write_bytes(data)
        return path

    def server_files(self, label: str, leaf: Issued, *more: Issued) -> tuple[Path, Path]:
        chain = self.write(f"{label}-chain.pem", leaf.pem() + b"".join(c.pem() for c in more))
        return chain, self.write(f"{label}-key.pem", leaf.key_pem())


def client_context(kind: str, cafile: Path | None, version: str = "TLSv1.3") -> Any:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    if cafile is not None:
        context.load_verify_locations(str(cafile))
    context.maximum_version = VERSIONS[version]
    return context


def server_context(chain: Path, key: Path, kind: str = "stdlib", version: str = "TLSv1.3") -> Any:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain), str(key))
    context.maximum_version = VERSIONS[version]
    return context


def tls_server(context: Any, handler: Callable[[Any], Any], connections: int = 1) -> ServerThread:
    """A server thread that wraps each of its ``connections`` with ``context``, runs ``handler`` on
    each and returns the list of what it returned (an exception raised: in the list, not raised)."""

    def serve(sock: socket.socket) -> list[Any]:
        results = [_one(context, sock, handler)]
        for _ in range(connections - 1):
            more, _ = server.listener.accept()
            with more:
                more.settimeout(WAIT)
                results.append(_one(context, more, handler))
        return results

    server = ServerThread(serve)
    server.listener = server._listener  # type: ignore[attr-defined]  # (the further accepts)
    return server


def _one(context: Any, sock: socket.socket, handler: Callable[[Any], Any]) -> Any:
    try:
        with context.wrap_socket(sock, server_side=True) as tls:
            return handler(tls)
    except (OSError, ssl.SSLError) as exc:  # a client that refused the handshake, as some tests want
        return exc


def connect(context: Any, port: int, server_hostname: str | None = "localhost", **kwargs: Any) -> Any:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return context.wrap_socket(sock, server_hostname=server_hostname, **kwargs)


def verify_failure(context: Any, port: int, server_hostname: str = "localhost") -> ssl.SSLCertVerificationError:
    """The error a handshake to ``port`` fails with (the test fails if it does not)."""
    try:
        connect(context, port, server_hostname).close()
    except ssl.SSLCertVerificationError as exc:
        return exc
    raise AssertionError("the handshake succeeded")
