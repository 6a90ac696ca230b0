"""No import cycles in ``src/glasstls``: dependencies point one way, downward (DESIGN.md, Layers).

The graph is read from the source with ``ast`` (tests/import_graph.py), imports inside
functions included, so a cycle cannot hide behind a late import.
"""

from __future__ import annotations

import subprocess

import pytest

import import_graph


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph.build(import_graph.files_now())
    assert "glasstls.handshake.base" in graph and "glasstls.connection" in graph  # the walk saw the package
    found = [" → ".join(cycle) for cycle in import_graph.cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_function_level_imports_count() -> None:
    files = {
        "glasstls/__init__.py": "",
        "glasstls/a.py": "from . import b\n",
        "glasstls/b.py": "def late():\n    from .a import thing\n",
        "glasstls/c/__init__.py": "from ..a import x\n",
    }
    graph = import_graph.build(files)
    assert graph["glasstls.b"] == {"glasstls.a"} and graph["glasstls.c"] == {"glasstls.a"}
    assert import_graph.cycles(graph) == [["glasstls.a", "glasstls.b", "glasstls.a"]]


def test_the_generated_note_is_current() -> None:
    note = import_graph.OUT.read_text(encoding="utf-8")
    base = note.split("--base ", 1)[1].split("`", 1)[0]
    try:
        current = import_graph.note(base)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"no git history with {base} here")
    assert note == current, "regenerate: python tests/import_graph.py --base " + base
