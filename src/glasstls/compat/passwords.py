"""``load_cert_chain(password=…)`` as _ssl.c reads it (Modules/_ssl.c, _pwinfo_set and
_password_callback), so that a program's calls behave the same:

* a str (UTF-8), bytes or bytearray, or a callable returning one; anything else is TypeError;
* more than PEM_BUFSIZE (1024) bytes is ValueError;
* the callable is called only if the key is encrypted (OpenSSL asks for the password then), and a
  password given for a key that is not encrypted is ignored, as OpenSSL ignores it: a program
  passing its configured password whatever the key is still loads its key.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PEM_BUFSIZE = 1024  # OpenSSL's buffer for a PEM password
# PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", or OpenSSL's traditional "Proc-Type: 4,ENCRYPTED" header.
_ENCRYPTED = re.compile(rb"-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED")

Password = str | bytes | bytearray | Callable[[], str | bytes | bytearray] | None


def key_password(password: Password, key_pem: bytes) -> bytes | None:
    """The password to decrypt ``key_pem`` with, or None when it needs none."""
    if password is None:
        return None
    if callable(password):
        if not _ENCRYPTED.search(key_pem):
            return None
        return _checked(password(), "password callback must return a string")
    given = _checked(password, "password should be a string or callable")
    return given if _ENCRYPTED.search(key_pem) else None


def _checked(value: object, wrong_type: str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(wrong_type)
    if len(value) > PEM_BUFSIZE:
        raise ValueError(f"password cannot be longer than {PEM_BUFSIZE} bytes")
    return bytes(value)
