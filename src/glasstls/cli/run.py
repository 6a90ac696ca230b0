"""``glasstls run [options] -- COMMAND …``: run an unmodified Python program over glasstls, and see
every TLS connection it makes.

    glasstls run --trace -- python -c "import urllib.request; urllib.request.urlopen('https://…')"
    glasstls run --explain --keylog keys.txt -- pip download --index-url https://127.0.0.1:8443/simple/ pkg

The program starts with glasstls's start-up hook first on its PYTHONPATH (compat/runhook): every
``ssl.SSLContext`` it makes is a glasstls one (``inject_into_ssl``), with the options given here.
Each connection's trace is one block, headed by its number, its role, the peer's host and port and
the server name. ``python`` or ``python3`` as COMMAND means the Python glasstls runs on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..compat import runhook
from ..compat.watch import TRACE_FORMATS
from ..errors import ConfigError
from .common import check_output_file, trace_mode
from .diagram import make_folder

_PYTHONS = ("python", "python3", f"python3.{sys.version_info.minor}")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a Python program with glasstls as its ssl module, and show each TLS connection it makes",
        description="Run COMMAND (a Python program, unmodified) with every ssl.SSLContext it makes replaced by "
        "glasstls's, and show each of its TLS connections as the options say.",
    )
    p.add_argument(
        "--trace", nargs="?", const="text", default=None, metavar="FORMAT",
        help=f"print each connection's trace: {', '.join(TRACE_FORMATS)} (as --trace=FORMAT; default text)",
    )  # fmt: skip
    p.add_argument("--explain", action="store_true", help="explain each step in plain words (implies --trace)")
    p.add_argument("--show-secrets", action="store_true", help="show secrets and keys in the trace (dangerous)")
    p.add_argument("--keylog", metavar="FILE", help="append every connection's secrets to FILE (NSS key log)")
    p.add_argument("--illustrate", metavar="DIR", help="write an illustrated page per connection into DIR")
    p.add_argument("--diagram", metavar="DIR", help="write a sequence diagram (SVG) per connection into DIR")
    p.add_argument("--output", metavar="FILE", help="append the traces to FILE instead of the program's stderr")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the program and its arguments")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if args.trace is not None and args.trace not in TRACE_FORMATS:  # ``--trace python app.py``: the program's
        command, args.trace = [args.trace, *command], "text"
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise ConfigError("glasstls run: name the program to run after --, e.g. glasstls run --trace -- python app.py")
    if command[0] in _PYTHONS:
        command[0] = sys.executable
    ignored = _hook_ignored(command)
    if ignored:
        print(
            f"glasstls run: python {ignored} ignores PYTHONPATH, where glasstls's start-up hook is: the program "
            "runs on OpenSSL, untraced (leave the option out to run it over glasstls)",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["GLASSTLS_RUN"] = json.dumps(_options(args))
    hook = str(Path(runhook.__file__).parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (hook, env.get("PYTHONPATH", "")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # The program takes this process's place (as env, nohup or ddtrace-run do): a signal sent to
        # `glasstls run` (kill, a supervisor, docker stop) reaches it, and its exit status is ours.
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        print(f"glasstls run: command not found: {command[0]}", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"glasstls run: cannot execute {command[0]}: permission denied", file=sys.stderr)
        return 126
    except OSError as exc:  # not an executable this system can run (ENOEXEC …)
        print(f"glasstls run: cannot execute {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 126


def _hook_ignored(command: list[str]) -> str:
    """The option of a Python command line that keeps the start-up hook out (-I, -E: no PYTHONPATH;
    -S: no site, which runs the hook), or ""."""
    if not Path(command[0]).name.startswith("python"):
        return ""
    takes_value = False
    for arg in command[1:]:
        if takes_value:
            takes_value = False
            continue
        if not arg.startswith("-") or arg in ("-", "-c", "-m") or arg.startswith("--"):
            break
        for index, letter in enumerate(arg[1:]):
            if letter in "IES":
                return f"-{letter}"
            if letter in "cm":
                return ""  # -c/-m joined to other flags: the rest is the program
            if letter in "WX":
                takes_value = index == len(arg) - 2  # -W x / -X y take the next word; -Wx its own rest
                break
    return ""


def _options(args: argparse.Namespace) -> dict[str, object]:
    """What the start-up hook passes to inject_into_ssl, and where glasstls and its libraries are."""
    for folder, option in ((args.illustrate, "--illustrate"), (args.diagram, "--diagram")):
        if folder:
            make_folder(folder, option)
    for path, option in ((args.keylog, "--keylog"), (args.output, "--output")):
        # Before the program starts: a path it cannot write made the program run untraced, or fail its
        # own connections (the hook opens the files inside it).
        check_output_file(path, option)
        if path:
            try:
                open(path, "ab").close()  # (only: can it be opened to append?)
            except OSError as exc:
                raise ConfigError(f"{option} {path}: {exc.strerror or exc}") from None
    return {
        "trace": trace_mode(args),
        "explain": bool(args.explain),
        "show_secrets": bool(args.show_secrets),
        "keylog": _absolute(args.keylog),
        "illustrate": _absolute(args.illustrate),
        "diagram": _absolute(args.diagram),
        "output": _absolute(args.output),
        "paths": _import_paths(),
    }


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _import_paths() -> list[str]:
    """The folders glasstls and the libraries it needs are imported from here."""
    import cryptography

    import glasstls

    folders = [str(Path(glasstls.__file__).parent.parent), str(Path(cryptography.__file__).parent.parent)]
    return list(dict.fromkeys(folders))
