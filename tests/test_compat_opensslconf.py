"""OpenSSL's system_default section (OPENSSL_CONF) in glasstls's ssl-compatible context, as Python's ssl has it.

Python's ``ssl`` (OpenSSL) applies the ``system_default`` section of OpenSSL's configuration to every
context it makes, then sets its own minimum version and TLS 1.2 cipher string over it; so a program
whose OPENSSL_CONF (or RHEL's crypto-policies) names TLS 1.3 suites, groups or a highest version gets
them. The same program on ``glasstls.SSLContext`` must too. Each case runs one small client program
twice in a child process under the same OPENSSL_CONF (OpenSSL reads it when ``ssl`` loads), once over
``ssl.SSLContext`` and once over ``glasstls.SSLContext``, against ``openssl s_server -www``, whose page
names the groups the client offered; what each negotiated and offered must be the same, and what
the file asked for. The parser is checked alone on the file syntax OpenSSL reads (config(5)).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glasstls.compat import opensslconf
from glasstls.compat.opensslconf import read_config, system_default_from
from glasstls.enums import CipherSuite, NamedGroup, SignatureScheme
from pairs import default_ca, server_identity

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import OPENSSL, WAIT, PeerProcess, run_s_client, split_pem_chain

pytestmark = pytest.mark.timeout(60)

SRC = str(Path(__file__).resolve().parent.parent / "src")

# The client: one GET to s_server -www through the stack named on its command line; what it
# negotiated, what its context reads, and the page's line naming the groups it offered.
CLIENT = r"""
import json, socket, ssl, sys
stack, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if stack == "glasstls":
    import glasstls
    context = glasstls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
else:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.load_verify_locations(root)
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        page = b""
        while chunk := tls.recv(65536):
            page += chunk
        lines = page.decode(errors="replace").splitlines()
        groups = [line for line in lines if line.startswith(("Supported groups:", "Signature Algorithms:"))]
        print(json.dumps({
            "version": tls.version(), "cipher": tls.cipher()[0], "groups": groups,
            "maximum_version": int(context.maximum_version), "minimum_version": int(context.minimum_version),
            "first_ciphers": [c["name"] for c in context.get_ciphers()][:2],
        }))
"""


def conf_text(**directives: str) -> str:
    lines = "".join(f"{name} = {value}\n" for name, value in directives.items())
    return (
        "openssl_conf = init\n[init]\nssl_conf = ssl_sect\n[ssl_sect]\n"
        f"system_default = system_default_sect\n[system_default_sect]\n{lines}"
    )


# The server: one connection accepted through the stack named on its command line; its port
# first, then the suite and group it negotiated.
SERVER = r"""
import socket, ssl, sys
stack, chain, key = sys.argv[1:4]
if stack == "glasstls":
    import glasstls
    context = glasstls.SSLContext(ssl.PROTOCOL_TLS_SERVER)
else:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(chain, key)
with socket.create_server(("127.0.0.1", 0)) as listener:
    print(listener.getsockname()[1], flush=True)
    listener.settimeout(20)
    raw, _ = listener.accept()
    with context.wrap_socket(raw, server_side=True) as tls:
        print(tls.cipher()[0], flush=True)
        tls.sendall(b"ok\n")
"""


class Files:
    def __init__(self, directory: Path) -> None:
        identity = server_identity("localhost", "127.0.0.1")
        self.root = directory / "root.pem"
        self.root.write_bytes(default_ca().root_pem())
        leaf, rest = split_pem_chain(identity.chain_pem())
        self.leaf, self.intermediates, self.key = directory / "leaf.pem", directory / "rest.pem", directory / "key.pem"
        self.chain = directory / "chain.pem"
        identity.write(self.chain, self.key)
        self.leaf.write_bytes(leaf)
        self.intermediates.write_bytes(rest)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("opensslconf"))


class WWWServer(PeerProcess):
    """``openssl s_server -www`` (its own configuration: none), for two connections."""

    name = "s_server -www"

    def __init__(self, files: Files) -> None:
        super().__init__(
            [
                OPENSSL, "s_server", "-www", "-accept", "127.0.0.1:0", "-naccept", "2",
                "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])


def run_client(stack: str, port: int, files: Files, conf: Path) -> dict[str, Any]:
    env = {**os.environ, "OPENSSL_CONF": str(conf), "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, stack, str(port), str(files.root)],
        env=env, capture_output=True, text=True, timeout=WAIT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{stack}: {done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def both(files: Files, tmp_path: Path, **directives: str) -> tuple[dict[str, Any], dict[str, Any]]:
    conf = tmp_path / "openssl.cnf"
    conf.write_text(conf_text(**directives))
    with WWWServer(files) as server:
        return run_client("ssl", server.port, files, conf), run_client("glasstls", server.port, files, conf)


def test_tls13_suites_groups_and_schemes_reach_both_contexts(files: Files, tmp_path: Path) -> None:
    stdlib, ours = both(
        files, tmp_path, Ciphersuites="TLS_CHACHA20_POLY1305_SHA256", Groups="P-256:X25519",
        SignatureAlgorithms="ECDSA+SHA256:rsa_pss_rsae_sha384:RSA+SHA1",  # (SHA-1: no longer at OpenSSL's level 1)
    )  # fmt: skip
    assert stdlib["version"] == ours["version"] == "TLSv1.3"
    assert stdlib["cipher"] == ours["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"
    assert stdlib["groups"] == ours["groups"] == [
        "Signature Algorithms: ECDSA+SHA256:RSA-PSS+SHA384",
        "Supported groups: secp256r1:x25519",
    ]
    assert stdlib["first_ciphers"][0] == ours["first_ciphers"][0] == "TLS_CHACHA20_POLY1305_SHA256"


def test_max_protocol_reaches_both_and_min_protocol_neither(files: Files, tmp_path: Path) -> None:
    """_ssl.c sets TLS 1.2 as the minimum over the file's; the file's maximum stays."""
    stdlib, ours = both(files, tmp_path, MinProtocol="TLSv1.3", MaxProtocol="TLSv1.2")
    assert stdlib["version"] == ours["version"] == "TLSv1.2"
    assert stdlib["maximum_version"] == ours["maximum_version"] == 0x0303
    assert stdlib["minimum_version"] == ours["minimum_version"] == 0x0303


class ServerProgram(PeerProcess):
    name = "python server"

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^\d+$"))


def test_a_server_context_chooses_among_the_files_suites(files: Files, tmp_path: Path) -> None:
    """OpenSSL's client offers its three TLS 1.3 suites; a server of either stack chooses the file's one
    (a server picks by its own order: glasstls's compat context, as Python's, puts AES-256 first)."""
    conf = tmp_path / "openssl.cnf"
    conf.write_text(conf_text(Ciphersuites="TLS_AES_128_GCM_SHA256"))
    chosen = {}
    for stack in ("ssl", "glasstls"):
        command = [sys.executable, "-c", SERVER, stack, str(files.chain), str(files.key)]
        with ServerProgram(["env", f"OPENSSL_CONF={conf}", f"PYTHONPATH={SRC}", *command]) as server:
            done = run_s_client(["-connect", f"127.0.0.1:{server.port}", "-CAfile", str(files.root), "-quiet"], b"")
            chosen[stack] = server.wait_for(r"^TLS_")
            assert "ok" in done.stdout, done.stderr[-2000:]
    assert chosen == {"ssl": "TLS_AES_128_GCM_SHA256", "glasstls": "TLS_AES_128_GCM_SHA256"}


# -- the file's syntax ------------------------------------------------------------------------


def test_sections_comments_quotes_continuations_and_any_case(tmp_path: Path) -> None:
    conf = tmp_path / "a.cnf"
    conf.write_text(
        "# a comment\nHOME = .\nopenssl_conf = init # where to begin\n"
        "[ init ]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = \"sys\"\n"
        "[sys]\nciphersuites = TLS_AES_256_GCM_SHA384:\\\n  TLS_AES_128_GCM_SHA256\n"
        "CURVES = x25519:?unknown_group:P-384:nonsense\nmaxprotocol = 'TLSv1.3'\n"
        "SignatureAlgorithms = RSA-PSS+SHA256:ecdsa_secp384r1_sha384:DSA+SHA256:ed25519\n"
        "CipherString = DEFAULT # kept, unused\n"
    )
    found = system_default_from(read_config(conf), str(conf))
    assert found.tls13_suites == (CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_AES_128_GCM_SHA256)
    assert found.groups == (NamedGroup.x25519, NamedGroup.secp384r1)
    assert int(found.maximum_version or 0) == 0x0304
    assert found.signature_schemes == (
        SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.ecdsa_secp384r1_sha384, SignatureScheme.ed25519,
    )  # fmt: skip
    assert found.source == str(conf)


def test_includes_of_a_file_and_of_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "10-ssl.conf").write_text("[ssl_sect]\nsystem_default = sys\n")
    (policies / "20-sys.cnf").write_text("[sys]\nGroups = X25519\n")
    (policies / "ignored.txt").write_text("[sys]\nGroups = P-521\n")
    (tmp_path / "init.cnf").write_text("[init]\nssl_conf = ssl_sect\n")
    main = tmp_path / "openssl.cnf"
    main.write_text("openssl_conf = init\n.include init.cnf\n.include = policies\n")  # (as if written here)
    monkeypatch.setenv("OPENSSL_CONF_INCLUDE", str(tmp_path))
    assert system_default_from(read_config(main)).groups == (NamedGroup.x25519,)


def test_an_include_loop_and_a_missing_file_end_quietly(tmp_path: Path) -> None:
    loop = tmp_path / "loop.cnf"
    loop.write_text(f".include {loop}\nopenssl_conf = init\n")
    assert read_config(loop)[""] == {"openssl_conf": "init"}
    assert read_config(tmp_path / "absent.cnf") == {"": {}}
    assert read_config(Path("/dev/zero")) == {"": {}}  # not a regular file: not read (it never ends)
    assert read_config(tmp_path) == {"": {}}  # a directory named as the file


def test_nothing_chosen_leaves_the_defaults(tmp_path: Path) -> None:
    """No system_default, or lists of names glasstls does not implement: the profile's, as if unset."""
    conf = tmp_path / "c.cnf"
    conf.write_text(conf_text(Ciphersuites="TLS_NOT_A_SUITE", Groups="brainpoolP256r1", MaxProtocol="None"))
    found = system_default_from(read_config(conf))
    assert (found.tls13_suites, found.groups) == (None, ())
    assert found.maximum_version == ssl.TLSVersion.MAXIMUM_SUPPORTED  # ("None": no limit)
    plain = tmp_path / "plain.cnf"
    plain.write_text("HOME = .\n[ca]\ndefault_ca = x\n")
    assert system_default_from(read_config(plain)) == opensslconf.SystemDefault()
    # No ssl_conf (Debian's file): nothing, not the lines before the first section read as directives.
    debian = tmp_path / "debian.cnf"
    debian.write_text("openssl_conf = openssl_init\nMaxProtocol = TLSv1.2\n[openssl_init]\nproviders = provider_sect\n")
    assert system_default_from(read_config(debian)) == opensslconf.SystemDefault()


def test_the_file_is_openssl_conf_else_openssls_own_never_the_working_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = tmp_path / "named.cnf"
    named.write_text(conf_text(Groups="X25519"))
    (tmp_path / "openssl.cnf").write_text(conf_text(Groups="P-384"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENSSL_CONF", str(named))
    opensslconf._openssl_cnf.cache_clear()
    assert opensslconf.system_default().groups == (NamedGroup.x25519,)
    monkeypatch.delenv("OPENSSL_CONF")
    unknown = ssl.DefaultVerifyPaths("", "", "", "", "", "")  # a build that names no OpenSSL directory
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: unknown)
    opensslconf._openssl_cnf.cache_clear()
    try:
        assert opensslconf.config_path() is None
        assert opensslconf.system_default() == opensslconf.SystemDefault()
    finally:
        opensslconf._openssl_cnf.cache_clear()


# Both contexts' highest version and first TLS 1.3 suite under the file OPENSSL_CONF names.
CONTEXTS = r"""
import json, ssl, glasstls
print(json.dumps([
    [int(context.maximum_version), context.get_ciphers()[0]["name"]]
    for context in (ssl.create_default_context(), glasstls.create_default_context())
]))
"""


@pytest.mark.parametrize(
    "lines",
    [
        ["TLS.MaxProtocol = TLSv1.2"],  # as crypto-policies write it
        ["TLS.MaxProtocol = TLSv1.2", "DTLS.MaxProtocol = DTLSv1.2"],  # no DTLS version in a TLS context
        ["Foo.Ciphersuites = TLS_CHACHA20_POLY1305_SHA256", "a.b.MaxProtocol = TLSv1.2"],  # after the first dot
        ["MaxProtocol = TLSv1.2", "TLS.MaxProtocol = None"],  # no limit, set again
        ["MaxProtocol = TLSv1.2", "TLS.MaxProtocol = TLSv1.3"],  # the later one
        ["tls.maxprotocol = TLSv1.2", "MaxProtocol = TLSv1.3"],
        ["TLS.MaxProtocol = TLSv1.2", "MaxProtocol = TLSv1.3", "TLS.MaxProtocol = TLSv1.2"],  # set again: moved last
        ["MaxProtocol = TLSv1.2", "TLS.Ciphersuites = TLS_CHACHA20_POLY1305_SHA256", "MaxProtocol = TLSv1.3"],
    ],
)
def test_tls_and_dtls_prefixes_and_the_files_order_as_openssl_applies_them(tmp_path: Path, lines: list[str]) -> None:
    conf = tmp_path / "openssl.cnf"
    conf.write_text(conf_text() + "".join(f"{line}\n" for line in lines))
    env = {**os.environ, "OPENSSL_CONF": str(conf), "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", CONTEXTS], env=env, capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stdlib, ours = json.loads(done.stdout)
    assert ours == stdlib
