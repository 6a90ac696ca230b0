"""Read the hex blocks of RFC 8448 (and RFC 5869 Appendix A) out of the RFC text.

RFC 8448 lays each trace out as steps and labelled blocks:

       {client}  construct a ClientHello handshake message:

          ClientHello (196 octets):  01 00 00 c0 03 03 cb 34 ec b1 e7 81 63
             ba 1c 38 ...

A step line is indented 3 (its label may wrap onto lines indented 6 that
follow it directly), a block line 6, and a block's continuation lines 9. Page
breaks (a form feed, the "Thomson ... [Page N]" footer and the "RFC 8448 ...
January 2019" header) can fall inside a block; they are dropped before parsing.
Every block's octet count is checked against the bytes read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RFC_DIR = Path(__file__).resolve().parents[2] / "shared" / "rfc"

_PAGE_LINE = re.compile(r"^(?:\f|.*\[Page \d+\]\s*$|RFC \d+\s{2,}.*\s{2,}\w+ \d{4}\s*$)")
_STEP = re.compile(r"^ {3}(\{(?:client|server)\}.*)$")
_BLOCK = re.compile(r"^ {6}(\S.*?)(?: \((\d+) octets\))?:\s+(.*)$")
_HEX = re.compile(r"^(?:[0-9a-f]{2}(?: [0-9a-f]{2})*)?$")


def rfc_path(name: str) -> Path:
    return RFC_DIR / name


def page_lines(text: str) -> list[str]:
    """The RFC's lines without page footers, page headers and form feeds."""
    return [line for line in text.splitlines() if not _PAGE_LINE.match(line)]


def _norm(label: str) -> str:
    return " ".join(label.split()).rstrip(":")


def _hex(text: str, what: str) -> bytes:
    text = text.strip()
    if text == "(empty)":
        return b""
    if not _HEX.match(text):
        raise ValueError(f"{what}: not a hex block: {text!r}")
    return bytes.fromhex(text)


@dataclass
class Step:
    """One "{client}/{server}  does something" paragraph and its blocks, in order."""

    label: str
    blocks: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # blocks that are not hex, e.g. "salt: 0 (...)"

    def __getitem__(self, name: str) -> bytes:
        return self.blocks[name]


class Trace:
    """The steps of one RFC 8448 section, found by label."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    def all(self, label: str) -> list[Step]:
        wanted = _norm(label)
        return [s for s in self.steps if s.label == wanted]

    def step(self, label: str, index: int = 0) -> Step:
        """The ``index``-th step with this label (e.g. the second "{client}  send handshake record")."""
        found = self.all(label)
        if len(found) <= index:
            raise KeyError(f"RFC 8448 trace has {len(found)} step(s) labelled {label!r}, wanted #{index}")
        return found[index]

    def block(self, label: str, name: str, index: int = 0) -> bytes:
        step = self.step(label, index)
        if name not in step.blocks:
            raise KeyError(f"step {label!r} has no block {name!r}; it has {list(step.blocks)}")
        return step.blocks[name]


def parse_steps(lines: list[str]) -> Trace:
    steps: list[Step] = []
    step: Step | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _STEP.match(line)
        if m:
            label = [m.group(1)]
            i += 1
            while i < len(lines) and lines[i].strip() and not _BLOCK.match(lines[i]):
                label.append(lines[i].strip())  # a wrapped step label
                i += 1
            step = Step(_norm(" ".join(label)))
            steps.append(step)
            continue
        m = _BLOCK.match(line)
        if m and step is not None:
            name, octets, first = m.group(1), m.group(2), m.group(3)
            parts = [first]
            i += 1
            # Continuation lines are indented 9; blank lines (left by a page break) may sit between them.
            while i < len(lines):
                nxt = lines[i]
                if not nxt.strip():
                    i += 1
                    continue
                if nxt.startswith(" " * 9) and _HEX.match(nxt.strip()):
                    parts.append(nxt.strip())
                    i += 1
                    continue
                break
            text = " ".join(parts)
            if octets is None:
                step.notes[name] = text
                continue
            value = _hex(text, f"{step.label} / {name}")
            if len(value) != int(octets):
                raise ValueError(f"{step.label} / {name}: {len(value)} bytes read, the RFC says {octets}")
            if name in step.blocks:
                raise ValueError(f"{step.label}: block {name!r} appears twice")
            step.blocks[name] = value
            continue
        i += 1
    return Trace(steps)


def section_lines(lines: list[str], start: str, end: str) -> list[str]:
    """Lines from the section heading ``start`` up to (not including) ``end``."""
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if i > first and line.startswith(end))
    return lines[first:last]


def load_rfc8448_section(number: int, title: str, next_heading: str) -> Trace:
    lines = page_lines(rfc_path("rfc8448.txt").read_text())
    return parse_steps(section_lines(lines, f"{number}.  {title}", next_heading))


def rfc8448_private_key_numbers() -> dict[str, int]:
    """RFC 8448, Section 2: the server's RSA key ("modulus (public)", "prime1", ...)."""
    lines = section_lines(page_lines(rfc_path("rfc8448.txt").read_text()), "2.  Private Keys", "3.  ")
    values: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        m = re.match(r"^ {3}(\w[\w ()]*?):\s+((?:[0-9a-f]{2} ?)+)$", line)
        if m:
            current = values.setdefault(m.group(1), [])
            current.append(m.group(2))
        elif current is not None and line.startswith(" " * 6) and _HEX.match(line.strip()):
            current.append(line.strip())
        elif line.strip():
            current = None
    return {name: int.from_bytes(bytes.fromhex(" ".join(parts)), "big") for name, parts in values.items()}


def rfc5869_test_cases() -> dict[int, dict[str, bytes | int | str]]:
    """RFC 5869, Appendix A: {case number: {"Hash", "IKM", "salt", "info", "L", "PRK", "OKM"}}."""
    lines = page_lines(rfc_path("rfc5869.txt").read_text())
    cases: dict[int, dict[str, bytes | int | str]] = {}
    case: dict[str, bytes | int | str] | None = None
    name = ""
    for line in lines:
        m = re.match(r"^A\.(\d+)\.\s+Test Case (\d+)", line)
        if m:
            case = cases.setdefault(int(m.group(2)), {})
            continue
        if case is None:
            continue
        m = re.match(r"^ {3}(\w+)\s*= (.*)$", line)
        if m:
            name, value = m.group(1), m.group(2)
            case[name] = value.strip()
            continue
        if name and line.startswith(" " * 10) and line.strip():
            case[name] = f"{case[name]}{line.strip()}"
        else:
            name = ""
    out: dict[int, dict[str, bytes | int | str]] = {}
    for number, raw in cases.items():
        parsed: dict[str, bytes | int | str] = {}
        for key, value in raw.items():
            assert isinstance(value, str)
            if key == "Hash":
                parsed[key] = value
            elif key == "L":
                parsed[key] = int(value)
            elif value.startswith("not provided"):
                parsed[key] = b""  # Test Case 7: HKDF-Extract then uses HashLen zeros (RFC 5869, Section 2.2)
            else:
                m = re.match(r"^(?:0x([0-9a-f]*))?\s*\((\d+) octets\)$", value)
                if not m:
                    raise ValueError(f"RFC 5869 test case {number}, {key}: cannot read {value!r}")
                data = bytes.fromhex(m.group(1) or "")
                if len(data) != int(m.group(2)):
                    raise ValueError(f"RFC 5869 test case {number}, {key}: {len(data)} bytes, not {m.group(2)}")
                parsed[key] = data
        out[number] = parsed
    return out
