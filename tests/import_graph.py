"""The import graph of ``src/glasstls``, read from the source (no module is imported).

Every ``import`` and ``from … import`` counts, at module level or inside a
function, under ``if TYPE_CHECKING`` or not: an import hidden in a function is
still a dependency, only a later one. Importing ``a.b.c`` also runs the
``__init__`` of ``a`` and ``a.b``; those implicit edges are left out (every
module would otherwise depend on the package root), only what the source names.

Used by ``tests/test_import_graph.py`` (no cycles) and, run as a script, writes
``docs/design/handshake-imports.md``: the graph of ``handshake/`` as Mermaid,
now and at a base commit read with ``git show``::

    python tests/import_graph.py --base 470ea8b
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "glasstls"
SRC = ROOT / "src"
OUT = ROOT / "docs" / "design" / "handshake-imports.md"

Graph = dict[str, set[str]]


def module_name(path: str) -> str:
    """``glasstls/handshake/client13.py`` → ``glasstls.handshake.client13`` (``__init__`` → the package)."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, is_package: bool, source: str, known: set[str]) -> set[str]:
    """The glasstls modules ``source`` imports, resolved against the ``known`` module names."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_deepest_known(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(package, node.module, node.level)
            for alias in node.names:
                # ``from . import negotiation`` names a module; ``from .base import State`` a name in one.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else _deepest_known(base, known))
    return {m for m in found if m in known and m != module}


def _resolve(package: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{name}" if name else base


def _deepest_known(name: str, known: set[str]) -> str:
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def build(files: dict[str, str]) -> Graph:
    """The graph from ``{path relative to src: source}``."""
    names = {path: module_name(path) for path in files}
    known = set(names.values())
    return {
        names[path]: imports_of(names[path], path.endswith("__init__.py"), source, known)
        for path, source in files.items()
    }


def files_now(root: Path = SRC) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted((root / PACKAGE).rglob("*.py"))
    }


def files_at(commit: str) -> dict[str, str]:
    """The package's sources at ``commit``, read with ``git show`` (the work tree is not touched)."""
    listing = _git("ls-tree", "-r", "--name-only", commit, f"src/{PACKAGE}")
    paths = [p for p in listing.splitlines() if p.endswith(".py")]
    return {p.removeprefix("src/"): _git("show", f"{commit}:{p}") for p in paths}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def cycles(graph: Graph) -> list[list[str]]:
    """Every elementary cycle, as a path that starts and ends at its smallest module.

    Searched only inside strongly connected components (none, when all is well),
    so the enumeration stays small.
    """
    found = []
    for component in _components(graph):
        members = set(component)
        for start in component:
            found += _cycles_from(graph, start, {m for m in members if m >= start})
    return sorted(found)


def _cycles_from(graph: Graph, start: str, allowed: set[str]) -> list[list[str]]:
    out: list[list[str]] = []
    path = [start]

    def walk(node: str) -> None:
        for child in sorted(graph.get(node, ())):
            if child == start:
                out.append([*path, start])
            elif child in allowed and child not in path:
                path.append(child)
                walk(child)
                path.pop()

    walk(start)
    return out


def _components(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph is small, but recursion limits are not worth the risk)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def subgraph(graph: Graph, prefix: str) -> Graph:
    """The modules under ``prefix`` and the edges between them."""
    inside = {m for m in graph if m == prefix or m.startswith(prefix + ".")}
    return {m: {d for d in graph[m] if d in inside} for m in sorted(inside)}


def to_mermaid(graph: Graph, prefix: str, highlight: Iterable[tuple[str, str]] = ()) -> str:
    """A Mermaid flowchart, a node per module (named without ``prefix``), an arrow per import; the
    edges of a cycle are drawn thick."""
    short: Callable[[str], str] = lambda m: m.removeprefix(prefix + ".") or "__init__"  # noqa: E731
    hot = set(highlight)
    lines = ["flowchart TD"]
    for module in sorted(graph):
        if graph[module] or any(module in deps for deps in graph.values()):
            lines.append(f"    {short(module)}")
    for module in sorted(graph):
        for dep in sorted(graph[module]):
            arrow = "==>" if (module, dep) in hot else "-->"
            lines.append(f"    {short(module)} {arrow} {short(dep)}")
    return "\n".join(lines)


def cycle_edges(cycle_list: list[list[str]]) -> set[tuple[str, str]]:
    return {(c[i], c[i + 1]) for c in cycle_list for i in range(len(c) - 1)}


def note(base: str) -> str:
    prefix = f"{PACKAGE}.handshake"
    before, after = build(files_at(base)), build(files_now())
    sections = [
        "# Imports inside `handshake/`",
        "",
        "Generated by `python tests/import_graph.py --base " + base + "` from the source (module-level and",
        "function-level imports alike, read with `ast`); do not edit by hand.",
        "`tests/test_import_graph.py` fails on any import cycle in `src/glasstls`.",
        "An arrow `a --> b` means `a` imports `b`; thick arrows belong to a cycle.",
    ]
    for title, graph in ((f"Before ({base})", before), ("After (this tree)", after)):
        found = [c for c in cycles(graph) if all(m.startswith(prefix) for m in c)]
        sub = subgraph(graph, prefix)
        sections += ["", f"## {title}", ""]
        sections.append(f"{len(sub)} modules, {sum(len(d) for d in sub.values())} imports between them, ")
        sections[-1] += f"{len(found)} cycle(s)" + (":" if found else ".")
        if found:
            sections.append("")
            sections += [f"- {' → '.join(m.removeprefix(prefix + '.') for m in c)}" for c in found]
        sections += ["", "```mermaid", to_mermaid(sub, prefix, cycle_edges(found)), "```"]
    return "\n".join(sections) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to draw as 'before'")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    args.output.write_text(note(args.base), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
