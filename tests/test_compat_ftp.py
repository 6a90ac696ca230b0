"""ftplib's ``FTP_TLS`` (RFC 4217) over ``glasstls.compat.SSLContext``, against a small FTPS
server on 127.0.0.1 whose TLS is the stdlib's; every case also runs with ``ssl.SSLContext``.

ftplib decides by ``isinstance(sock, ssl.SSLSocket)`` whether ``auth()`` may run, whether
``login()`` secures the control connection first, whether ``ccc()`` may drop TLS, and whether a
data connection ends with ``unwrap()`` (close_notify, so that the server can tell a whole
transfer from a truncated one, RFC 4217 12.6): glasstls's SSLSocket must be one.
"""

from __future__ import annotations

import ftplib
import io
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

import glasstls.compat
from pairs import default_ca, server_identity

pytestmark = pytest.mark.timeout(60)
WAIT = 10.0
PAYLOAD = bytes(range(256)) * 40  # 10 KiB: several records each way
CONTEXTS: dict[str, Any] = {"stdlib": ssl.SSLContext, "glasstls": glasstls.compat.SSLContext}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("ftps")
    root, chain, key = directory / "root.pem", directory / "chain.pem", directory / "key.pem"
    root.write_bytes(default_ca().root_pem())
    server_identity("localhost", "127.0.0.1").write(chain, key)
    return root, chain, key


class FTPSServer:
    """One control connection of explicit FTPS (AUTH TLS, PBSZ/PROT, PASV, RETR, STOR, CCC),
    in a thread; ``log`` says how each step went, in particular how each data connection ended."""

    def __init__(self, chain: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(chain), str(key))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.log: list[str] = []
        self.stored = b""
        self._data: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        control, _ = self.listener.accept()
        control.settimeout(WAIT)
        self._control: socket.socket = control
        self._say("220 ready")
        try:
            self._commands()
        except Exception as exc:  # the test reads the log: an error there fails it
            self.log.append(f"server error {exc!r}")
        finally:
            self._control.close()
            self.listener.close()

    def _say(self, line: str) -> None:
        self._control.sendall(line.encode() + b"\r\n")

    def _commands(self) -> None:
        prot = "C"
        while line := self._read_line():
            verb, _, arg = line.partition(" ")
            self.log.append(verb if verb not in ("USER", "PASS") else verb + " (sent over TLS: "
                            + str(isinstance(self._control, ssl.SSLSocket)) + ")")  # fmt: skip
            if verb == "AUTH":
                self._say("234 go ahead")
                self._control = self.context.wrap_socket(self._control, server_side=True)
            elif verb == "PROT":
                prot = arg
                self._say("200 ok")
            elif verb == "PASV":
                self._data = socket.create_server(("127.0.0.1", 0))
                self._data.settimeout(WAIT)
                port = self._data.getsockname()[1]
                self._say(f"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255})")
            elif verb in ("RETR", "STOR"):
                self._transfer(verb, prot == "P")
            elif verb == "CCC":
                self._say("200 TLS dropped")
                self._control = self._control.unwrap()  # type: ignore[attr-defined]  # close_notify both ways
                self.log.append("CCC unwrapped")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:  # USER asks for PASS; PASS, PBSZ, TYPE: accepted
                self._say("331 password please" if verb == "USER" else "230 ok" if verb == "PASS" else "200 ok")

    def _read_line(self) -> str:
        line = b""
        while not line.endswith(b"\r\n"):
            byte = self._control.recv(1)
            if not byte:
                return ""
            line += byte
        return line.decode().strip()

    def _transfer(self, verb: str, protected: bool) -> None:
        assert self._data is not None
        self._say("150 opening data connection")
        plain, _ = self._data.accept()
        plain.settimeout(WAIT)
        data: Any = (
            self.context.wrap_socket(plain, server_side=True, suppress_ragged_eofs=False) if protected else plain
        )
        try:
            if verb == "RETR":
                data.sendall(PAYLOAD)
            else:
                self.stored = b"".join(iter(lambda: data.recv(65536), b""))  # b'' at close_notify
            if protected:
                data.unwrap()  # ours, then the client's close_notify: an EOF without it raises
            self.log.append(f"{verb} data ended with close_notify")
        except ssl.SSLError as exc:
            self.log.append(f"{verb} data truncated: {exc.reason}")
        finally:
            data.close()
            self._data.close()
        self._say("226 done")

    def join(self) -> None:
        self._thread.join(WAIT)


@pytest.mark.parametrize("explicit_auth", [True, False], ids=["auth", "login-secures"])
@pytest.mark.parametrize("kind", CONTEXTS)
def test_ftp_tls_session(pki: tuple[Path, Path, Path], kind: str, explicit_auth: bool) -> None:
    root, chain, key = pki
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(root))
    server = FTPSServer(chain, key)
    ftp = ftplib.FTP_TLS(context=context, timeout=WAIT)
    ftp.connect("127.0.0.1", server.port)
    ftp.host = "localhost"  # the name in the certificate, for the data connections too
    if explicit_auth:
        ftp.auth()
        with pytest.raises(ValueError, match="Already using TLS"):
            ftp.auth()
    ftp.login("user", "secret")  # login() runs auth() first unless the control socket is an SSLSocket
    assert isinstance(ftp.sock, ssl.SSLSocket)
    assert isinstance(ftp.sock, glasstls.compat.sslsocket.SSLSocket) == (kind == "glasstls")
    ftp.prot_p()
    received = bytearray()
    ftp.retrbinary("RETR file", received.extend)
    ftp.storbinary("STOR file", io.BytesIO(PAYLOAD))
    ftp.ccc()
    assert ftp.sock._sslobj is None  # the same socket object, now plain, as the stdlib's unwrap()
    ftp.quit()
    server.join()
    assert bytes(received) == PAYLOAD and server.stored == PAYLOAD
    assert server.log == [
        "AUTH", "USER (sent over TLS: True)", "PASS (sent over TLS: True)", "PBSZ", "PROT", "TYPE", "PASV",
        "RETR", "RETR data ended with close_notify", "TYPE", "PASV", "STOR", "STOR data ended with close_notify",
        "CCC", "CCC unwrapped", "QUIT",
    ]  # fmt: skip
