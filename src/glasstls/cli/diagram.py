"""``glasstls diagram --states``: the handshake state machines, drawn from the
transition tables the state classes declare (see glasstls.trace.statemachine).

    glasstls diagram --states                         # all four, into docs/states/
    glasstls diagram --states --role client --version 1.3 -o /tmp/states

Each graph is written as ``{role}-{version}.mmd`` (Mermaid stateDiagram-v2)
and ``{role}-{version}.svg``. The sequence diagram of a live connection is
``glasstls client/server … --diagram FILE.svg``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError
from ..text import exception_text
from ..trace import statemachine
from ..trace.diagram import SequenceDiagram


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("diagram", help="draw the handshake state machines from the code's transition tables")
    p.add_argument("--states", action="store_true", help="draw the state machines (the only kind so far)")
    p.add_argument("--role", choices=statemachine.ROLES, help="only this role (default: both)")
    p.add_argument("--version", choices=statemachine.VERSIONS, help="only this TLS version (default: both)")
    p.add_argument("-o", "--output", default="docs/states", metavar="DIR", help="folder to write to (docs/states)")
    p.add_argument("--format", choices=("svg", "mmd", "both"), default="both", help="what to write (default both)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.states:
        print("glasstls diagram: say what to draw: --states", file=sys.stderr)
        return 2
    roles = (args.role,) if args.role else statemachine.ROLES
    versions = (args.version,) if args.version else statemachine.VERSIONS
    suffixes = {"svg": (".svg",), "mmd": (".mmd",), "both": (".mmd", ".svg")}[args.format]
    out = make_folder(args.output, "-o")
    for graph in statemachine.all_graphs(roles, versions):
        for suffix in suffixes:
            path = graph.write(out / f"{graph.role}-{graph.version}{suffix}")
            print(f"{path}  ({len(graph.nodes)} states, {len(graph.edges)} transitions)")
    return 0


def make_folder(path: str, option: str) -> Path:
    """The output folder ``path``, made if missing; a file in the way is the user's to fix, not a traceback."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        try:
            in_the_way = folder.exists() and not folder.is_dir()
        except OSError:  # (a parent it may not look into: say why mkdir failed)
            in_the_way = False
        what = "is a file, not a folder" if in_the_way else f"cannot be made: {exc.strerror or exc}"
        raise ConfigError(f"{option} {path} {what}") from None
    return folder


# -- ``--diagram FILE`` of glasstls client and glasstls server --------------------------------------

DIAGRAM_HELP = "write the connection's sequence diagram to FILE: SVG, or Mermaid text for .mmd"


def new_sequence_diagram(path: str | None) -> SequenceDiagram | None:
    """The observer for ``--diagram FILE`` (None without it); a bad suffix fails before connecting."""
    if not path:
        return None
    if Path(path).suffix.lower() not in (".svg", ".mmd", ".mermaid"):
        raise ConfigError(f"--diagram {path}: name a .svg or .mmd (Mermaid) file")
    return SequenceDiagram()


def save_sequence_diagram(
    diagram: SequenceDiagram | None, path: str | None, number: int | None = None, quiet: bool = False
) -> None:
    """Write the diagram; a server's connection ``number`` goes into the name: FILE-<number>.svg."""
    if diagram is None or not path or not diagram.events:
        return
    target = Path(path)
    if number is not None:
        target = target.with_name(f"{target.stem}-{number}{target.suffix}")
    try:
        written = diagram.write(target)
    except OSError as exc:
        print(f"glasstls: cannot write the diagram {target}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return
    except Exception as exc:  # a server draws one per connection: a drawing that fails must not end it
        print(f"glasstls: cannot draw the diagram {target}: {exception_text(exc)}", file=sys.stderr, flush=True)
        return
    if not quiet:
        print(f"* Sequence diagram: {written}", file=sys.stderr, flush=True)
