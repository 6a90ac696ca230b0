"""The ``ssl``-compatible face of glasstls (issue 13): ``SSLContext``,
``create_default_context``, ``SSLObject`` (``wrap_bio``) and ``SSLSocket`` (``wrap_socket``),
so code written for the stdlib's ``ssl`` runs over glasstls; ``inject_into_ssl()`` makes
every ``ssl.SSLContext`` of the process a glasstls one (``glasstls run`` uses it).

What is and is not implemented: docs/design/ssl-compat.md.
"""

from .context import SSLContext, create_default_context
from .inject import extract_from_ssl, inject_into_ssl
from .sslobject import SSLObject

__all__ = ["SSLContext", "SSLObject", "create_default_context", "extract_from_ssl", "inject_into_ssl"]
