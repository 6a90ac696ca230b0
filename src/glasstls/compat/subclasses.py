"""The classes ``SSLContext.sslsocket_class`` and ``sslobject_class`` may name (settable on the class
or on one context since Python 3.7): glasstls's ``SSLSocket``/``SSLObject``, a subclass of them, or
a subclass of the stdlib's own ``ssl.SSLSocket``/``ssl.SSLObject``.

truststore (pip >= 24.2 uses it) sets ``sslobject_class`` and ``sslsocket_class`` to subclasses of
the stdlib's classes whose ``do_handshake`` verifies the peer's chain after the handshake; on
macOS and Windows that is the only verification, the context's own being turned off. Such a
subclass cannot run over OpenSSL here (its methods reach an ``_ssl._SSLSocket`` glasstls does
not make), and leaving it out would skip what it verifies. So it runs over glasstls's class: a
class of the same name is made with the subclass first and glasstls's class after it in the MRO
(before ``ssl.SSLSocket``/``ssl.SSLObject``), so that every method the subclass defines runs, and
each ``super()`` call it makes reaches glasstls's. ``isinstance(obj, TheSubclass)`` holds;
``type(obj) is TheSubclass`` does not. What such a subclass reads of OpenSSL that glasstls's
classes do not have raises AttributeError: it fails, it is never skipped.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

_lock = threading.Lock()
_MADE = "_glasstls_runs_as"  # kept on the subclass itself: a cache elsewhere would keep it alive


def usable_class(cls: Any, ours: type, attribute: str) -> Any:
    """``cls`` if it is ``ours`` or a subclass; for a subclass of the stdlib's class ``ours``
    stands in for, the class that runs it over ``ours`` (made once per subclass)."""
    if isinstance(cls, type) and issubclass(cls, ours):
        return cls
    stdlib = ssl.SSLSocket if issubclass(ours, ssl.SSLSocket) else ssl.SSLObject
    if not (isinstance(cls, type) and issubclass(cls, stdlib)):
        raise TypeError(f"SSLContext.{attribute} must be a subclass of ssl.{stdlib.__name__}, not {cls!r}")
    with _lock:  # (truststore makes its subclasses per context: one class made for each, freed with it)
        made = vars(cls).get(_MADE)
        if made is None:
            namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
            made = type(cls.__name__, (cls, ours), namespace)
            setattr(cls, _MADE, made)
        return made
