"""The ``ssl``-compatible face of glasstls (issue 13): ``SSLContext``,
``create_default_context`` and ``SSLObject`` (``wrap_bio``), so code written for the
stdlib's ``ssl`` (asyncio's ``ssl=``, for one) runs over glasstls.

What is and is not implemented: docs/design/ssl-compat.md.
"""

from .context import SSLContext, create_default_context
from .sslobject import SSLObject

__all__ = ["SSLContext", "SSLObject", "create_default_context"]
