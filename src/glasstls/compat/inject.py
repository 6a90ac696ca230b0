"""``inject_into_ssl()``: every ``ssl.SSLContext`` made afterwards in this process is glasstls's.

The mechanism is truststore's: the ``ssl`` module's ``SSLContext`` name is rebound, so
``ssl.SSLContext(...)``, ``ssl.create_default_context()`` and everything built on them
(http.client, urllib, smtplib, asyncio, aiohttp, httpx, …) make glasstls contexts. Modules that
copied the name at import (``from ssl import SSLContext``: urllib3, pip's vendored urllib3) are
rebound too, and requests' preloaded context and aiohttp's default ones are rebuilt. ``extract_from_ssl()`` undoes every
rebinding. Contexts made before the injection stay what they are, and keep working: the stdlib's
property setters name the module's ``SSLContext`` (``super(SSLContext, SSLContext).options``),
so for the time of the injection the original class gets setters that name it instead
(:func:`_setters_naming_the_original`).

The watch options (trace, explain, key log, pages, diagrams) apply to every compat connection
of the process from then on: ``glasstls run`` injects with them into a program it starts.
"""

from __future__ import annotations

import ssl
import sys
import threading
import types
from typing import Any, TextIO

from . import watch as watching
from .context import SSLContext

_ORIGINAL: Any = ssl.SSLContext
_rebound: list[tuple[Any, str, Any]] = []  # (module, attribute, original value)
_lock = threading.Lock()


def inject_into_ssl(
    *, trace: str | None = None, explain: bool = False, show_secrets: bool = False, keylog: str | None = None,
    illustrate: str | None = None, diagram: str | None = None, output: TextIO | None = None,
) -> None:  # fmt: skip
    """Make glasstls the TLS of every ``ssl.SSLContext`` created from now on in this process.

    ``trace`` ("text", "full" or "json"), ``explain``, ``show_secrets``, ``keylog`` (a file),
    ``illustrate`` and ``diagram`` (folders: one page or SVG per connection) show every
    connection; trace blocks go to ``output`` (default stderr), one block per connection.
    Calling it again changes the options.
    """
    watching.start(
        watching.Watch(
            trace=trace,
            explain=explain,
            show_secrets=show_secrets,
            keylog=keylog,
            illustrate=illustrate,
            diagram=diagram,
            output=output,
        )
    )
    with _lock:
        if not _rebound:
            _setters_naming_the_original()
            _rebind(ssl, "SSLContext", SSLContext)
        _rebind_copies()


def extract_from_ssl() -> None:
    """Undo :func:`inject_into_ssl`: the stdlib's ``SSLContext`` again everywhere it was rebound."""
    with _lock:
        while _rebound:
            module, name, original = _rebound.pop()
            setattr(module, name, original)
    watching.stop()


def is_injected() -> bool:
    return vars(ssl)["SSLContext"] is SSLContext


def _rebind(module: Any, name: str, value: Any) -> None:
    _rebound.append((module, name, getattr(module, name)))
    setattr(module, name, value)


def _setters_naming_the_original() -> None:
    """ssl.py's setters (options, verify_mode, verify_flags, minimum_version, maximum_version,
    _msg_callback) call ``super(SSLContext, SSLContext).X.__set__`` with the module-global name,
    which the injection rebinds to glasstls's class: the setter would then find itself again, and
    recurse without end, for a context made before the injection and for truststore, whose
    context sets its own through ``super(<ssl.SSLContext at its import>, …)`` (pip >= 24.2). The
    original class gets, until extract_from_ssl(), properties whose setters run the same code with
    ``SSLContext`` naming the original class."""
    for name, prop in list(vars(_ORIGINAL).items()):
        if isinstance(prop, property) and prop.fset is not None and "SSLContext" in prop.fset.__code__.co_names:
            _rebind(_ORIGINAL, name, _naming_the_original(name, prop))


def _naming_the_original(name: str, prop: property) -> property:
    """``prop`` with its setter's code run where ``SSLContext`` is the original class. On a glasstls
    context (reached as ``super(<glasstls's class>, …).X``: truststore's ``_original_super_SSLContext``)
    the property is glasstls's own, so that what is set takes effect (the OpenSSL context
    underneath a glasstls one is never used)."""
    setter = prop.fset
    assert setter is not None
    namespace = dict(setter.__globals__, SSLContext=_ORIGINAL)
    rebuilt = types.FunctionType(setter.__code__, namespace, setter.__name__, setter.__defaults__, setter.__closure__)
    ours = vars(SSLContext).get(name)
    original_get = prop.fget

    def get(self: Any) -> Any:
        if isinstance(self, SSLContext) and isinstance(ours, property):
            return ours.__get__(self)
        return original_get(self) if original_get is not None else None

    def set_(self: Any, value: Any) -> None:
        if isinstance(self, SSLContext) and isinstance(ours, property):
            ours.__set__(self, value)
        else:
            rebuilt(self, value)

    return property(get, set_, prop.fdel, prop.__doc__)


def _rebind_copies() -> None:
    """Modules already imported that hold the stdlib's class under their own name, and the contexts
    requests (>= 2.32) and aiohttp made at their import, which would keep OpenSSL for every request."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or module is ssl:
            continue
        for name in ("SSLContext", "_SSLContext"):
            if namespace.get(name) is _ORIGINAL:
                _rebind(module, name, SSLContext)
        preloaded = namespace.get("_preloaded_ssl_context")
        if _openssl(preloaded):
            _rebind(module, "_preloaded_ssl_context", _like_requests(namespace))
        _rebuild_aiohttps(module, namespace)


def _openssl(value: Any) -> bool:
    return isinstance(value, _ORIGINAL) and not isinstance(value, SSLContext)


def _rebuild_aiohttps(module: Any, namespace: dict[str, Any]) -> None:
    """aiohttp.connector's contexts made at its import (aiohttp >= 3.9.4), used for every request
    with ``ssl=True`` (the default) or ``ssl=False``: made again by aiohttp's own function, which now
    makes glasstls's."""
    make = namespace.get("_make_ssl_context")
    if not callable(make):
        return
    for name, verified in (("_SSL_CONTEXT_VERIFIED", True), ("_SSL_CONTEXT_UNVERIFIED", False)):
        if _openssl(namespace.get(name)):
            _rebind(module, name, make(verified))


def _like_requests(namespace: dict[str, Any]) -> SSLContext:
    """What requests.adapters preloads: a client context trusting requests' CA bundle."""
    ctx = SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bundle = namespace.get("DEFAULT_CA_BUNDLE_PATH")
    if bundle:
        ctx.load_verify_locations(cafile=bundle)
    else:
        ctx.load_default_certs()
    return ctx
