"""The orchestrator's view of its child processes: start, ask, read /proc, stop.

Each child (a server under test, or the load generator) is a Python process in
a session of its own, so that a Ctrl-C at the terminal reaches the orchestrator
alone, which then stops every child itself (:meth:`Children.__exit__`). The
children also stop at the end of their stdin, so none outlives an orchestrator
that was killed outright. Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STOP_GRACE = 8.0  # for a child to stop by itself before it is terminated, then killed
_TICKS = os.sysconf("SC_CLK_TCK")


class ChildError(RuntimeError):
    """A child failed, exited or did not answer in time."""


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS, in KiB) from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ChildError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (/proc/PID/stat fields 14 and 15, in clock ticks)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Child:
    """One child process speaking JSON lines: commands on its stdin, answers on its stdout."""

    def __init__(
        self, name: str, script: str, args: list[str], env: dict[str, str], log: Path, prefix: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.log = log
        with open(log, "wb") as stderr:  # the child's own messages, shown when it fails
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, str(HERE / script), *args],  # prefix: valgrind … (load_profile.py)
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=HERE,
                start_new_session=True,
            )
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return ("\n  " + "\n  ".join(lines[-15:])) if lines else ""

    def read(self, timeout: float) -> dict[str, Any]:
        """The child's next JSON line, within ``timeout`` seconds."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildError(f"{self.name} did not answer within {timeout:g} s{self._tail()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    code = self.proc.wait(timeout=STOP_GRACE)
                    raise ChildError(f"{self.name} exited with status {code}{self._tail()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer = json.loads(line)
        if "error" in answer:
            raise ChildError(f"{self.name}: {answer['error']}{self._tail()}")
        return answer

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise ChildError(f"{self.name} is gone (status {self.proc.poll()}){self._tail()}") from None

    def ask(self, command: dict[str, Any] | str, bound: float) -> dict[str, Any]:
        """Send a command (a JSON object; the child bounds its work by ``bound``) and read the answer."""
        if isinstance(command, dict):
            command = json.dumps({**command, "bound": bound})
        self.send(command)
        return self.read(bound + 10.0)  # the child's own bound first, then ours

    def stop(self) -> None:
        """Ask politely (``stop``, then the end of stdin), then terminate, then kill; never wait unbounded."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write(b"stop\n")  # type: ignore[union-attr]
                self.proc.stdin.close()  # type: ignore[union-attr]
            for action in (None, self.proc.terminate, self.proc.kill):
                if action is not None:
                    with contextlib.suppress(ProcessLookupError):
                        action()
                try:
                    self.proc.wait(timeout=STOP_GRACE if action is None else 3.0)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Children:
    """Every child started in a ``with`` block, stopped at its end however it ends (Ctrl-C included)."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.children: list[Child] = []

    def start(self, name: str, script: str, *args: str, prefix: tuple[str, ...] = ()) -> Child:
        log = self.directory / f"{name.replace(' ', '-')}-{len(self.children)}.log"
        child = Child(name, script, list(args), self.env, log, prefix)
        self.children.append(child)
        return child

    def stop(self, child: Child) -> None:
        child.stop()
        self.children.remove(child)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
