"""Imported by Python at start-up in a program ``glasstls run`` started (see __init__.py).

Reads the options from the GLASSTLS_RUN environment variable (JSON), makes glasstls importable
(its folders are appended to sys.path, after the program's own), calls
``glasstls.inject_into_ssl`` with them, then runs the sitecustomize this one hides, if any.
A Python that cannot load glasstls runs the program untraced and says so once.
"""

from __future__ import annotations

import json
import os
import runpy
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _inject() -> None:
    raw = os.environ.get("GLASSTLS_RUN")
    if not raw:
        return
    try:
        options = json.loads(raw)
        for path in options.pop("paths", []):
            if path not in sys.path:
                sys.path.append(path)
        output = options.pop("output", None)
        import glasstls

        stream = open(output, "a", encoding="utf-8") if output else None  # noqa: SIM115  # open for the process
        glasstls.inject_into_ssl(output=stream, **options)
    except Exception as exc:  # never stop the program: it runs untraced
        sys.stderr.write(
            f"glasstls run: glasstls cannot load in {sys.executable} ({type(exc).__name__}: {exc}); "
            "this program's TLS is not traced\n"
        )


def _chain() -> None:
    """The sitecustomize this one hides (Debian ships one), run as Python would have."""
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        candidate = os.path.join(folder, "sitecustomize.py")
        if folder != _HERE and os.path.isfile(candidate):
            runpy.run_path(candidate, run_name="sitecustomize")
            return


_inject()
_chain()
