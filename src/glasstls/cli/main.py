"""``glasstls``: the command line (client, server, demo).

Other tools drive glasstls through these names and options; keep them stable.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from . import ca, client, demo, diagram, dissect, server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glasstls", description="A TLS stack in which every step can be seen.")
    sub = parser.add_subparsers(dest="command", required=True)
    server.add_parser(sub)
    client.add_parser(sub)
    demo.add_parser(sub)
    dissect.add_parser(sub)
    diagram.add_parser(sub)
    ca.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"glasstls: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
