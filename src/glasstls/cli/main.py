"""``glasstls``: the command line (client, server, demo, profiles, run and the tools).

Other tools drive glasstls through these names and options; keep them stable.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ConfigError
from ..text import printable
from . import ca, client, demo, diagram, dissect, profiles, run, server
from .common import silence_broken_output
from .hints import with_hint


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glasstls", description="A TLS stack in which every step can be seen.")
    sub = parser.add_subparsers(dest="command", required=True)
    server.add_parser(sub)
    client.add_parser(sub)
    demo.add_parser(sub)
    dissect.add_parser(sub)
    diagram.add_parser(sub)
    ca.add_parser(sub)
    profiles.add_parser(sub)
    run.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:  # the library's words, then the command line's own hint
        # (the message may carry a certificate's subject or a file's name: escaped whole; the hint is ours)
        print(f"glasstls: {with_hint(printable(str(exc), escape_backslash=False), exc.facts)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as dissect does
        silence_broken_output()
        return 0
    except OSError as exc:  # a file or socket the system refused: the user's to fix, not a traceback
        where = f"{printable(str(exc.filename))}: " if exc.filename else ""
        print(f"glasstls: {where}{printable(str(exc.strerror or exc), escape_backslash=False)}", file=sys.stderr)
        return 1
    except (ValueError, UnicodeError, OverflowError) as exc:  # an argument no check caught: one line, not a traceback
        if os.environ.get("GLASSTLS_DEBUG"):
            raise
        text = printable(str(exc) or type(exc).__name__, escape_backslash=False)
        if isinstance(exc, UnicodeEncodeError) and "surrogates" in str(exc):  # (argv's bytes that are not UTF-8)
            bad = exc.object[exc.start : exc.end].encode("utf-8", "surrogateescape")
            text = f"an argument holds bytes that are not UTF-8 ({bad.hex(' ')} in \"{printable(exc.object)}\")"
        print(f"glasstls: {text} (GLASSTLS_DEBUG=1 shows where)", file=sys.stderr)
        return 2
    except Exception as exc:  # (a damaged file's content, a bug): one line; GLASSTLS_DEBUG=1 for the traceback
        if os.environ.get("GLASSTLS_DEBUG"):
            raise
        text = printable(f"{type(exc).__name__}: {exc}", escape_backslash=False)
        print(f"glasstls: unexpected error, {text} (an input no check caught, or a bug in glasstls; "
              "GLASSTLS_DEBUG=1 shows where)", file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":
    sys.exit(main())
