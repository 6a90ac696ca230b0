"""``glasstls ca``: your own certificate authority in a directory (see glasstls.x509.ca).

    glasstls ca init --name "Example Root" --ocsp-url http://127.0.0.1:8080/
    glasstls ca issue server example.com www.example.com 127.0.0.1 --out example
    glasstls ca issue client alice@example.com --key-type rsa2048
    glasstls ca issue ocsp-responder "Example OCSP"
    glasstls ca sign server www.csr --out www       # a request made elsewhere (openssl req -new): www.pem
    glasstls ca revoke example.pem --reason keyCompromise
    glasstls ca crl --out crl.pem                   # also crl.der
    glasstls ca ocsp example.pem --out example.ocsp.der
    glasstls ca export example.pem example.key --password secret --out example.p12
    glasstls ca list
    glasstls ca init --url http://127.0.0.1:8080    # OCSP, CRL and caIssuers URLs in what it issues
    glasstls ca serve --listen 127.0.0.1:8080       # ... and answer them (glasstls.x509.responder)

Every subcommand takes ``--dir DIR`` (default ./glasstls-ca), before or after its name.
"""

from __future__ import annotations

import argparse
import getpass
import re
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from ..errors import ConfigError
from ..files import read_config_file
from ..text import printable
from ..x509.ca import (
    CA_KEY_TYPES,
    CRL_DAYS,
    DEFAULT_DIR,
    DEFAULT_NAME,
    INTERMEDIATE_DAYS,
    LEAF_DAYS,
    OCSP_DAYS,
    OCSP_HASHES,
    REASONS,
    RESPONDER_DAYS,
    ROOT_DAYS,
    CertificateAuthority,
    serial_hex,
)
from ..x509.ca_files import load_certificates, load_private_key
from ..x509.ca_requests import load_request, requested_names
from ..x509.mint import Identity, certificates_pem, write_private

KINDS = ("server", "client", "ocsp-responder")
REASON_NAMES = {flag: name for name, flag in REASONS.items()}  # ReasonFlags -> "keyCompromise"
# Adds one `glasstls ca` subcommand (with its --dir) and returns its parser.
_Command = Callable[[str, str], argparse.ArgumentParser]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ca", help="your own CA: init, issue, sign, revoke, crl, ocsp, export, list, serve")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"the CA directory (default ./{DEFAULT_DIR})")
    p.set_defaults(run=lambda args: _fail_usage(p))
    commands: argparse._SubParsersAction[argparse.ArgumentParser]
    commands = p.add_subparsers(dest="ca_command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        c = commands.add_parser(name, help=help_text, description=help_text)
        c.add_argument("--dir", default=argparse.SUPPRESS, help=f"the CA directory (default ./{DEFAULT_DIR})")
        return c

    _add_init(command)
    _add_issue(command)
    _add_sign(command)
    _add_revoke(command)
    _add_crl(command)
    _add_ocsp(command)
    _add_export(command)
    _add_list(command)
    _add_serve(command)


def _add_init(command: _Command) -> None:
    c = command("init", "create a root CA and an intermediate CA that issues the leaves")
    c.add_argument("--name", default=DEFAULT_NAME, help=f"the root's common name (default {DEFAULT_NAME!r})")
    c.add_argument("--key-type", choices=CA_KEY_TYPES, default="ecdsa-p256", help="CA key type (ecdsa-p256)")
    c.add_argument("--days", type=int, default=ROOT_DAYS, help=f"root lifetime in days ({ROOT_DAYS})")
    c.add_argument("--intermediate-days", type=int, help=f"intermediate lifetime (default {INTERMEDIATE_DAYS})")
    c.add_argument("--no-intermediate", action="store_true", help="let the root sign the leaves itself")
    c.add_argument("--crl-url", help="CRL Distribution Point URL to put in the intermediate and the leaves")
    c.add_argument("--ocsp-url", help="OCSP responder URL (Authority Information Access) for the same")
    c.add_argument(
        "--url",
        metavar="http://HOST:PORT",
        help="where `glasstls ca serve` will listen: sets the OCSP (/ocsp), CRL (/crl.der) and caIssuers URLs",
    )
    c.set_defaults(run=run_init)


def _add_issue(command: _Command) -> None:
    c = command("issue", "issue a server, client or delegated OCSP responder certificate and its key")
    c.add_argument("kind", choices=KINDS, help="what the certificate is for (its extended key usage)")
    c.add_argument("names", nargs="+", metavar="NAME", help="server: DNS names and IPs; client/responder: one name")
    c.add_argument("--key-type", choices=CA_KEY_TYPES, default="ecdsa-p256", help="key type (ecdsa-p256)")
    c.add_argument("--days", type=int, help=f"lifetime in days ({LEAF_DAYS}; responders {RESPONDER_DAYS})")
    c.add_argument("--out", metavar="PREFIX", help="write PREFIX.pem and PREFIX.key (default: from the first name)")
    c.add_argument("--must-staple", action="store_true", help="server: require a stapled OCSP response (RFC 7633)")
    c.add_argument("--email", help="client: an e-mail address for the SubjectAltName")
    c.add_argument("--force", action="store_true", help="replace an existing PREFIX.key")
    c.set_defaults(run=run_issue)


def _add_sign(command: _Command) -> None:
    c = command("sign", "issue a server or client certificate for the key of a request (CSR) made elsewhere")
    c.add_argument("kind", choices=("server", "client"), help="what the certificate is for (its extended key usage)")
    c.add_argument("request", metavar="REQ.csr", help="the PKCS #10 request, PEM or DER (openssl req -new ...)")
    c.add_argument(
        "names", nargs="*", metavar="NAME", help="the names to certify (default: the request's own, as it asks)"
    )
    c.add_argument("--days", type=int, default=LEAF_DAYS, help=f"lifetime in days ({LEAF_DAYS})")
    c.add_argument("--out", metavar="PREFIX", help="write PREFIX.pem (default: from the first name)")
    c.add_argument("--must-staple", action="store_true", help="server: require a stapled OCSP response (RFC 7633)")
    c.add_argument("--email", help="client: an e-mail address for the SubjectAltName")
    c.add_argument("--force", action="store_true", help="replace an existing PREFIX.pem")
    c.set_defaults(run=run_sign)


def _add_revoke(command: _Command) -> None:
    c = command("revoke", "record that a certificate is revoked; the next CRL and OCSP answers list it")
    c.add_argument("cert", nargs="?", metavar="CERT.pem", help="the certificate (the first one in the file)")
    c.add_argument("--serial", help="or its serial number in hex, as `glasstls ca list` shows it")
    c.add_argument("--reason", choices=tuple(REASONS), default="unspecified", help="why (default unspecified)")
    c.set_defaults(run=run_revoke)


def _add_crl(command: _Command) -> None:
    c = command("crl", "publish a CRL signed by the CA that issues the leaves, as PEM and DER")
    c.add_argument("--days", type=int, default=CRL_DAYS, help=f"until nextUpdate, in days ({CRL_DAYS})")
    c.add_argument("--out", help="the PEM file (default DIR/crl.pem); the DER goes beside it, as .der")
    c.add_argument("--issuer", choices=("intermediate", "root"), help="root: the CRL that can revoke the intermediate")
    c.set_defaults(run=run_crl)


def _add_ocsp(command: _Command) -> None:
    c = command("ocsp", "an OCSP response for a certificate: good, or revoked with reason and time")
    c.add_argument("cert", metavar="CERT.pem", help="the certificate asked about")
    c.add_argument("--responder", metavar="PEM", help="sign as this delegated responder (issue ocsp-responder)")
    c.add_argument("--responder-key", metavar="KEY", help="the responder's key")
    c.add_argument("--days", type=int, default=OCSP_DAYS, help=f"until nextUpdate, in days ({OCSP_DAYS})")
    c.add_argument(
        "--hash",
        choices=tuple(OCSP_HASHES),
        default="sha1",
        help="CertID hash (sha1: OpenSSL looks statuses up by a SHA-1 CertID)",
    )
    c.add_argument("--out", help="the DER response (default: CERT's name with .ocsp.der)")
    c.set_defaults(run=run_ocsp)


def _add_export(command: _Command) -> None:
    c = command("export", "a PKCS#12 bundle (.p12) of a key, its certificate and the chain")
    c.add_argument("cert", metavar="CERT.pem")
    c.add_argument("key", metavar="KEY.pem")
    c.add_argument("--password", help="the bundle's password (visible to other users in ps: prefer --password-file)")
    c.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    c.add_argument("--no-password", action="store_true", help="leave the bundle unencrypted")
    c.add_argument("--out", help="the bundle (default: CERT's name with .p12)")
    c.add_argument("--name", help="the friendly name importers show (default: the certificate's CN)")
    c.add_argument("--include-root", action="store_true", help="put the root in the bundle too")
    c.add_argument("--legacy", action="store_true", help="3DES and SHA-1 MAC, for importers older than ~2018")
    c.add_argument("--force", action="store_true", help="replace an existing bundle")
    c.set_defaults(run=run_export)


def _add_list(command: _Command) -> None:
    c = command("list", "the certificates this CA issued, and whether they are revoked")
    c.set_defaults(run=run_list)


def _add_serve(command: _Command) -> None:
    c = command("serve", "answer OCSP requests and serve the CRL and issuer certificates over HTTP")
    c.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default 127.0.0.1:8080)")
    c.add_argument("--responder", metavar="PEM", help="sign OCSP answers as this delegated responder")
    c.add_argument("--responder-key", metavar="KEY", help="the responder's key")
    c.add_argument("--next-update", default="1d", metavar="DURATION", help="OCSP nextUpdate after thisUpdate (1d)")
    c.add_argument("--crl-days", type=int, default=7, help="CRL nextUpdate after thisUpdate, in days (7)")
    c.add_argument("--max-connections", type=int, default=64, help="connections at once (64)")
    c.set_defaults(run=run_serve)


def _fail_usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _date(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# -- init and issue ---------------------------------------------------------------------------------


def run_init(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.init(
        args.dir,
        name=args.name,
        key_type=args.key_type,
        days=args.days,
        intermediate_days=args.intermediate_days,
        with_intermediate=not args.no_intermediate,
        crl_url=args.crl_url,
        ocsp_url=args.ocsp_url,
        url=args.url,
        now=_now(),
    )
    directory = ca.directory
    print(f"Root CA       {_summary(ca.root.certificate)}")
    print(f"              {directory / 'root.pem'}  {directory / 'root.key'} (0600)")
    if ca.intermediate is not None:
        print(f"Intermediate  {_summary(ca.intermediate.certificate)}")
        print(f"              {directory / 'intermediate.pem'}  {directory / 'intermediate.key'} (0600)")
        print(f"Chain         {directory / 'chain.pem'}  (what a server sends after its own certificate)")
    print(f"State         {directory / 'state.json'}")
    if ca.url is not None:
        print(f"Serve         glasstls ca serve --dir {directory} --listen {ca.url.split('://', 1)[1].split('/')[0]}")
    print(
        f"Trust it:     glasstls client --cacert {directory / 'root.pem'}   (openssl: -CAfile {directory / 'root.pem'})"
    )
    return 0


def run_issue(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    if args.kind != "server" and len(args.names) > 1:
        raise ConfigError(f"a {args.kind} certificate has one name (got {len(args.names)}); quote a name with spaces")
    if args.must_staple and args.kind != "server":
        raise ConfigError("--must-staple is for server certificates")
    if args.email and args.kind != "client":
        raise ConfigError("--email is for client certificates")
    prefix = args.out or default_prefix(args.names[0])
    _check_prefix(prefix, args.force)  # before the CA records a certificate nobody could get the files of
    common = {"key_type": args.key_type, "now": _now()}
    if args.days is not None:
        common["days"] = args.days
    identity: Identity
    if args.kind == "server":
        identity = ca.issue_server(args.names, must_staple=args.must_staple, **common)
    elif args.kind == "client":
        identity = ca.issue_client(args.names[0], email=args.email, **common)
    else:
        identity = ca.issue_ocsp_responder(args.names[0], **common)
    cert_path, key_path = write_identity(identity, prefix, force=args.force)
    cert = identity.certificate
    print(f"Issued {args.kind} certificate {_summary(cert)}")
    print(f"  serial  {serial_hex(cert.serial_number)}")
    print(f"  names   {', '.join(_san_strings(cert)) or '-'}")
    print(f"  files   {cert_path} (certificate + chain)  {key_path} (key, 0600)")
    if args.kind == "ocsp-responder":
        print(f"  use     glasstls ca ocsp CERT.pem --responder {cert_path} --responder-key {key_path}")
    elif args.kind == "server":
        print(f"  serve   glasstls server --cert {cert_path} --key {key_path} …")
    return 0


def run_sign(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    try:
        data = read_config_file(args.request)
    except OSError as exc:
        raise ConfigError(f"cannot read {args.request}: {exc.strerror}") from None
    request = load_request(data, args.request)
    names = args.names or requested_names(request)
    if not names:
        raise ConfigError(f"{args.request} names nothing (no subjectAltName, no common name): give the NAMEs")
    cert_path = Path(f"{args.out or default_prefix(names[0])}.pem")
    if cert_path.exists() and not args.force:
        raise ConfigError(f"{cert_path} exists: choose another --out PREFIX, or pass --force to replace it")
    chain = ca.sign_request(args.kind, request, names, email=args.email, must_staple=args.must_staple,
                            days=args.days, now=_now())  # fmt: skip
    _write(cert_path, certificates_pem(chain))
    cert = chain[0]
    print(f"Signed {args.kind} certificate {_summary(cert)} for the key of {printable(args.request)}")
    print(f"  serial  {serial_hex(cert.serial_number)}")
    print(f"  names   {printable(', '.join(_san_strings(cert))) or '-'}")
    print(f"  file    {cert_path} (certificate + chain; the key stays with whoever made the request)")
    return 0


def write_identity(identity: Identity, prefix: str, *, force: bool = False) -> tuple[Path, Path]:
    """PREFIX.pem (the leaf, then its intermediates) and PREFIX.key (0600); a key is never replaced unless forced."""
    cert_path, key_path = Path(f"{prefix}.pem"), Path(f"{prefix}.key")
    try:
        write_private(key_path, identity.key_pem(), exclusive=not force)
        cert_path.write_bytes(identity.chain_pem())
    except FileExistsError:
        raise ConfigError(f"{key_path} exists: choose another --out PREFIX, or pass --force to replace it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {exc.filename}: {exc.strerror}") from None
    return cert_path, key_path


def _check_prefix(prefix: str, force: bool) -> None:
    key_path = Path(f"{prefix}.key")
    if key_path.exists() and not force:
        raise ConfigError(f"{key_path} exists: choose another --out PREFIX, or pass --force to replace it")
    if not key_path.parent.is_dir():
        raise ConfigError(f"--out {prefix}: there is no folder {key_path.parent}")


def default_prefix(name: str) -> str:
    """A file name from a certificate's first name: "*.example.com" -> "_wildcard.example.com"."""
    stem = re.sub(r"[^A-Za-z0-9._@-]+", "_", name.strip().replace("*", "_wildcard"))
    return stem.strip(".") or "cert"


# -- revoke, crl, ocsp --------------------------------------------------------------------------------


def run_revoke(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    if bool(args.cert) == bool(args.serial):
        raise ConfigError("name the certificate to revoke: CERT.pem or --serial HEX (one of them)")
    cert = load_certificates(args.cert)[0] if args.cert else ca.certificate_by_serial(args.serial)
    revocation = ca.revoke(cert, args.reason, _now())
    print(f"Revoked {printable(revocation.subject) or '(no subject)'}  serial {serial_hex(revocation.serial)}")
    print(f"  reason {revocation.reason}, since {_date(revocation.date)}")
    print(f"  publish it: glasstls ca crl --dir {ca.directory}   and/or   glasstls ca ocsp CERT.pem")
    return 0


def run_crl(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    crl = ca.crl(_now(), args.days, issuer=args.issuer)
    default = "root-crl.pem" if args.issuer == "root" else "crl.pem"
    pem_path = Path(args.out) if args.out else ca.directory / default
    if pem_path.suffix == ".der":
        raise ConfigError(f"--out {pem_path}: name the PEM file (crl.pem); the DER is written beside it as .der")
    der_path = pem_path.with_suffix(".der")
    _write(pem_path, crl.public_bytes(serialization.Encoding.PEM))
    _write(der_path, crl.public_bytes(serialization.Encoding.DER))
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    print(f"CRL #{number} by {printable(crl.issuer.rfc4514_string())}: {len(crl)} revoked")
    for entry in crl:
        print(f"  {serial_hex(entry.serial_number)}  {_date(entry.revocation_date_utc)}  {_crl_reason(entry)}")
    print(f"  thisUpdate {_date(crl.last_update_utc)}, nextUpdate {_date(crl.next_update_utc or crl.last_update_utc)}")
    print(f"  files {pem_path} (PEM)  {der_path} (DER)")
    return 0


def run_ocsp(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    cert = load_certificates(args.cert)[0]
    responder = None
    if bool(args.responder) != bool(args.responder_key):
        raise ConfigError("a delegated responder needs both --responder PEM and --responder-key KEY")
    if args.responder:
        responder = (load_certificates(args.responder)[0], load_private_key(args.responder_key))
    response = ca.ocsp_response(cert, _now(), args.days, responder, hash_algorithm=OCSP_HASHES[args.hash])
    out = Path(args.out) if args.out else Path(args.cert).with_suffix(".ocsp.der")
    _write(out, response.public_bytes(serialization.Encoding.DER))
    status = response.certificate_status.name.lower()
    if response.certificate_status == ocsp.OCSPCertStatus.REVOKED and response.revocation_time_utc is not None:
        reason = REASON_NAMES[response.revocation_reason] if response.revocation_reason else "unspecified"
        status += f" since {_date(response.revocation_time_utc)} ({reason})"
    signer = responder[0] if responder else ca.issuer_of(cert)[1].certificate
    subject = printable(cert.subject.rfc4514_string())
    print(f"OCSP response for serial {serial_hex(cert.serial_number)} ({subject}): {status}")
    print(f"  signed by {printable(signer.subject.rfc4514_string())}; CertID hash {args.hash}")
    next_update = response.next_update_utc or response.this_update_utc
    print(f"  thisUpdate {_date(response.this_update_utc)}, nextUpdate {_date(next_update)}")
    print(f"  file {out}")
    return 0


# -- export and list --------------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    certificates = load_certificates(args.cert)
    key = load_private_key(args.key)
    password = _password(args)
    bundle = ca.export_pkcs12(
        certificates, key, password, friendly_name=args.name, include_root=args.include_root, legacy=args.legacy
    )
    out = Path(args.out) if args.out else Path(args.cert).with_suffix(".p12")
    if out.exists() and not args.force:  # (as issue and sign: a key bundle is not replaced unasked)
        raise ConfigError(f"{out} exists: give --force to replace it, or --out another file")
    try:
        write_private(out, bundle)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    protection = "unencrypted" if not password else ("3DES, SHA-1 MAC" if args.legacy else "AES-256, SHA-256")
    print(f"PKCS#12 bundle {out} (0600, {protection}): key and {printable(certificates[0].subject.rfc4514_string())}")
    print(f"  check it: openssl pkcs12 -info -in {out} -nokeys")
    return 0


def _password(args: argparse.Namespace) -> str | None:
    given = [bool(args.password), bool(args.password_file), args.no_password]
    if sum(given) > 1:
        raise ConfigError("give one of --password, --password-file and --no-password")
    if args.no_password:
        return None
    if args.password:
        return str(args.password)
    if args.password_file:
        try:
            text = Path(args.password_file).read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {args.password_file}: {exc.strerror}") from None
        if not text or not text[0]:
            raise ConfigError(f"the password file {args.password_file} is empty")
        return text[0]
    if not sys.stdin.isatty():
        raise ConfigError("the bundle needs a password: give --password-file FILE, --password P or --no-password")
    first = getpass.getpass("PKCS#12 password: ")
    if not first or first != getpass.getpass("again: "):
        raise ConfigError("the passwords were empty or did not match")
    return first


def run_list(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    revoked = {(serial_hex(r.serial), r.issuer): r for r in ca.revocations}
    now = _now()
    for entry in ca.issued:
        revocation = revoked.get((entry["serial"], entry["issuer"]))
        status = "valid"
        if revocation is not None:
            status = f"revoked {revocation.date:%Y-%m-%d} ({revocation.reason})"
        elif datetime.fromisoformat(entry["not_after"]) < now:
            status = "expired"
        names = printable(", ".join(entry["names"]) or entry["subject"])  # (state.json is a file: anything)
        kind = printable(entry["kind"])
        print(
            f"{printable(entry['serial'])}  {kind:<14} {names:<40} until {printable(entry['not_after'][:10])}  {status}"
        )
    return 0


# -- helpers ----------------------------------------------------------------------------------------


def _summary(cert: x509.Certificate) -> str:
    # (printable: a name may come from a request made elsewhere)
    return f"{printable(cert.subject.rfc4514_string())}, valid until {_date(cert.not_valid_after_utc)}"


def _san_strings(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(entry.value) for entry in san]


def _crl_reason(entry: x509.RevokedCertificate) -> str:
    try:
        return REASON_NAMES.get(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason, "other")
    except x509.ExtensionNotFound:
        return "unspecified"


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


# -- serve ------------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """ "90s", "15m", "12h", "1d" (a bare number is seconds)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(f"--next-update {text!r}: give a duration above 0 such as 90s, 15m, 12h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2) or "s"])


def run_serve(args: argparse.Namespace) -> int:
    from ..x509.responder import CaResponder, HttpServer, listen
    from .common import split_hostport

    if bool(args.responder) != bool(args.responder_key):
        raise ConfigError("a delegated responder needs both --responder PEM and --responder-key KEY")
    if not 1 <= args.crl_days <= 3650 or args.max_connections < 1:
        raise ConfigError("--crl-days must be 1 to 3650 and --max-connections 1 or more")
    responder = None
    if args.responder:
        responder = (load_certificates(args.responder)[0], load_private_key(args.responder_key))
    answers = CaResponder(
        args.dir, responder=responder, ocsp_lifetime=duration(args.next_update), crl_lifetime=timedelta(args.crl_days)
    )
    host, port = split_hostport(args.listen)
    listener = listen(host, port)
    server = HttpServer(answers, listener, log=_log, max_connections=args.max_connections)
    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    bound = listener.getsockname()
    _log(f"glasstls ca serve listening on http://{bound[0]}:{bound[1]} for {answers.ca.directory}")
    if answers.ca.url is None and answers.ca.ocsp_url is None:
        _log("note: this CA's certificates name no OCSP URL (ca init --url): clients will not find this responder")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    _log("glasstls ca serve stopped")
    return 0


def _log(line: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}", file=sys.stderr, flush=True)
