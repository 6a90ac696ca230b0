"""How a sequence diagram's steps are drawn: Mermaid ``sequenceDiagram`` text and plain SVG.

diagram.py turns a connection's trace into :class:`Step` rows (which arrows, in what order, under
which keys); this module draws rows, whoever made them. A peer's text in a row (SNI, ALPN, an
alert's reason) is made inert for each output here: entity codes in Mermaid, escaped XML in SVG.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..text import printable
from .svg import MONO, arrow_marker, brace_path, svg_document, svg_text, text_width

# -- the steps of a diagram -------------------------------------------------------------

PLAIN, HANDSHAKE, APPLICATION, EARLY, TLS12 = "plain", "handshake", "application", "early", "tls12"


@dataclass
class Step:
    """One row of the diagram.

    ``kind``: "message", "ccs", "alert", "data" (arrows between the lifelines);
    "keys", "state" (notes on the traced side's lifeline); "note" (across both).
    """

    kind: str
    sender: str | None = None  # "client" or "server"; for notes, the lifeline they sit on
    name: str = ""  # a message's class name ("Certificate12"), or the note's heading
    label: str = ""  # what the diagram shows ("{Certificate}")
    detail: str = ""  # a short second line
    protection: str = PLAIN
    style: str = ""  # "hrr", "resumption", "failure", "dummy", "early"
    count: int = 1  # records merged into one "data" step
    size: int = 0
    number: int = 0  # arrows are numbered in order


def render_by_suffix(path: Path, svg: Callable[[], str], mermaid: Callable[[], str]) -> str:
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return svg()
    if suffix in (".mmd", ".mermaid"):
        return mermaid()
    raise ValueError(f"{path}: a diagram is written as .svg or .mmd (Mermaid), not {suffix or 'no suffix'}")



# -- Mermaid --------------------------------------------------------------------------------


# What Mermaid reads in the text of a message or note before it draws it, and a peer's name (SNI, ALPN,
# an alert's reason quoting either) may hold. Each such character is written as Mermaid's entity code
# "#<decimal>;", which Mermaid decodes only when it draws the text, after every pass below has run:
#   %      "%%{init: {...}}%%" anywhere in the file is a directive: it sets the diagram's config (theme,
#          themeCSS, sequence options) and is removed from the text; "%%" also starts a comment.
#   # ;    "#" starts an entity code or a comment, ";" ends a statement.
#   < > &  HTML in a label (Mermaid rewrites "<tag a="b">" before parsing), the peer's own entities.
#   " `    quoted and Markdown strings; $ KaTeX ("$$...$$" is typeset in sequence diagrams).
#   \      Mermaid's own escapes.
#   ﬂ ¶    Mermaid's private markers for entity codes, decoded in a later pass ("ﬂ°lt¶ß" is "&lt;").
# Braces, brackets and parentheses stay: with no "%" they begin nothing in a message's text, and they
# are the RFC's notation in the labels ("{Finished}").
_MM_ENTITIES = {ord(ch): f"#{ord(ch)};" for ch in "%#;<>&\"`$\\\ufb02\u00b6"}


def _mm(text: str) -> str:
    """Text inert on one Mermaid line: every character Mermaid would read becomes an entity code."""
    text = printable(text, escape_backslash=False)  # no control character from a peer's name
    text = " ".join(text.split()).translate(_MM_ENTITIES)
    # Mermaid's entity pass first strips the last ";" of a line matching "style.*:\S*#.*;" (or classDef),
    # which would leave a bare "#" that comments out the rest of the line.
    return text.replace("style", "#115;tyle").replace("classDef", "#99;lassDef")


def _yaml(text: str) -> str:
    """A YAML double-quoted scalar (JSON is one) for the front matter's title."""
    return json.dumps(printable(text, escape_backslash=False)).replace("<", "\\u003c").replace(">", "\\u003e")


_RECT = {
    HANDSHAKE: "rgb(225, 236, 252)",
    TLS12: "rgb(225, 236, 252)",
    APPLICATION: "rgb(226, 243, 228)",
    EARLY: "rgb(240, 230, 250)",
}


def to_mermaid(steps: list[Step], heading: str, side: str) -> str:
    ids = {"client": "C", "server": "S"}
    lines = [
        "---",
        f"title: {_yaml(heading)}",
        "config:",
        "  sequence:",
        "    wrap: true",
        "    actorMargin: 320",
        "---",
        "sequenceDiagram",
        "    autonumber",
        f"    participant C as Client{' (traced here)' if side == 'client' else ''}",
        f"    participant S as Server{' (traced here)' if side == 'server' else ''}",
    ]
    open_rect: tuple[str, str] | None = None
    for step in steps:
        run = (step.sender or "", step.protection) if step.kind == "message" and step.protection != PLAIN else None
        if open_rect is not None and run != open_rect and step.kind != "state":
            lines.append("    end")
            open_rect = None
        if run is not None and open_rect is None:
            lines.append(f"    rect {_RECT[step.protection]}")
            open_rect = run
        indent = "        " if open_rect is not None else "    "
        lines.extend(indent + line for line in _mermaid_step(step, ids))
    if open_rect is not None:
        lines.append("    end")
    return "\n".join(lines) + "\n"


def _mermaid_step(step: Step, ids: dict[str, str]) -> list[str]:
    if step.kind in ("message", "ccs", "alert", "data"):
        src = ids[step.sender or "client"]
        dst = "S" if src == "C" else "C"
        arrow = {"message": "->>", "ccs": "-->>", "alert": "-x", "data": "->>"}[step.kind]
        if step.kind == "alert" and step.style == "closure":
            arrow = "-)"
        text = step.label
        if step.kind == "data" and step.count > 1:
            text += f" ×{step.count}"
        if step.detail:
            text += f" · {step.detail}"
        return [f"{src}{arrow}{dst}: {_mm(text)}"]
    if step.kind == "keys":
        where = "left of C" if step.sender == "client" else "right of S"
        return [f"Note {where}: {_mm('keys switch, ' + step.label)}"]
    if step.kind == "state":
        where = "left of C" if step.sender == "client" else "right of S"
        return [f"Note {where}: {_mm(step.label)}"]
    if step.kind == "note":
        return [f"Note over C,S: {_mm(step.label)}"]
    return []


# -- SVG --------------------------------------------------------------------------------------

COLORS = {
    PLAIN: "#37474f",
    HANDSHAKE: "#1565c0",
    TLS12: "#1565c0",
    APPLICATION: "#2e7d32",
    EARLY: "#7b1fa2",
    "hrr": "#e65100",
    "alert": "#c62828",
    "dummy": "#90a4ae",
    "closure": "#546e7a",
}
NOTE_COLORS = {  # fill, stroke
    "hrr": ("#fff3e0", "#e65100"),
    "early": ("#f3e5f5", "#7b1fa2"),
    "resumption": ("#e3f2fd", "#1565c0"),
    "failure": ("#ffebee", "#c62828"),
    "keys": ("#fff8d6", "#c9a227"),
    "": ("#f5f5f5", "#9e9e9e"),
}


class SequenceSvg:
    WIDTH = 980
    CLIENT_X = 290
    SERVER_X = 690
    TOP = 120

    def __init__(self, steps: list[Step], heading: str, side: str) -> None:
        self.steps = steps
        self.heading = heading
        self.side = side
        self.body: list[str] = []
        self.markers: dict[str, str] = {}
        self.rows: list[tuple[Step, float, float]] = []  # step, top, arrow y

    def x_of(self, who: str | None) -> float:
        return self.CLIENT_X if who == "client" else self.SERVER_X

    def marker(self, color: str) -> str:
        marker_id = "arrow-" + color.lstrip("#")
        self.markers.setdefault(marker_id, arrow_marker(marker_id, color))
        return marker_id

    def render(self) -> str:
        y: float = self.TOP
        rows_svg: list[str] = []
        for step in self.steps:
            y = self._row(step, y, rows_svg)
        bottom = y + 16
        legend = self._legend(bottom + 18)
        height = bottom + 30 + 18 * len(legend)
        body = [
            svg_text(self.WIDTH / 2, 30, self.heading, 17, font_weight="bold", fill="#263238"),
            *self._participants(bottom),
            *self._braces(),
            *rows_svg,
            *legend,
        ]
        return svg_document(self.WIDTH, height, body, self.heading, "".join(self.markers.values()))

    def _participants(self, bottom: float) -> list[str]:
        out = []
        for who, x in (("client", self.CLIENT_X), ("server", self.SERVER_X)):
            traced = who == self.side
            out.append(
                f'<line x1="{x}" y1="96" x2="{x}" y2="{bottom:.1f}" stroke="#90a4ae" stroke-width="1.5" '
                'stroke-dasharray="5,4"/>'
            )
            out.append(
                f'<rect x="{x - 70}" y="56" width="140" height="40" rx="6" fill="{"#263238" if traced else "#eceff1"}" '
                'stroke="#263238" stroke-width="1.5"/>'
            )
            out.append(
                svg_text(x, 81, who.capitalize(), 15, font_weight="bold", fill="#ffffff" if traced else "#263238")
            )
            if traced:
                out.append(svg_text(x, 110, "(traced here)", 11, fill="#607d8b"))
        return out

    def _row(self, step: Step, y: float, out: list[str]) -> float:
        if step.kind in ("message", "ccs", "alert", "data"):
            return self._arrow(step, y, out)
        if step.kind == "keys":
            return self._side_note(step, y, out, "keys switch · " + step.label, step.detail, "keys")
        if step.kind == "state":
            x = self.x_of(step.sender)
            anchor, dx = ("end", -10) if step.sender == "client" else ("start", 10)
            out.append(svg_text(x + dx, y + 12, step.label, 10, anchor, fill="#78909c", font_family=MONO))
            return y + 18
        return self._wide_note(step, y, out)

    def _arrow(self, step: Step, y: float, out: list[str]) -> float:
        x1, x2 = self.x_of(step.sender), self.x_of("server" if step.sender == "client" else "client")
        if step.kind == "alert":
            color = COLORS["closure" if step.style == "closure" else "alert"]
        elif step.style in ("hrr", "dummy"):
            color = COLORS[step.style]
        elif step.kind == "ccs":
            color = COLORS[PLAIN]
        else:
            color = COLORS[step.protection]
        label = f"{step.number}. {step.label}"
        if step.kind == "data":
            label += f" ×{step.count}" if step.count > 1 else ""
            label += f"  ({step.size} bytes)"
        ay = y + 22
        dash = ' stroke-dasharray="6,4"' if step.kind in ("ccs", "data") else ""
        width = "2.2" if step.kind == "alert" else "1.6"
        x2_end = x2 + (6 if x2 < x1 else -6)
        out.append(
            f'<line x1="{x1}" y1="{ay:.1f}" x2="{x2_end}" y2="{ay:.1f}" stroke="{color}" stroke-width="{width}"'
            f'{dash} marker-end="url(#{self.marker(color)})"/>'
        )
        mid = (x1 + x2) / 2
        weight = "normal" if step.kind == "ccs" else "bold"
        out.append(svg_text(mid, ay - 6, label, 13, fill=color, font_weight=weight, font_family=MONO))
        self.rows.append((step, y + 8, ay))
        if step.detail:
            for i, line in enumerate(textwrap.wrap(step.detail, 62)[:3]):
                out.append(svg_text(mid, ay + 15 + 13 * i, line, 11, fill=color if step.kind == "alert" else "#607d8b"))
            return y + 30 + 13 * min(3, len(textwrap.wrap(step.detail, 62)))
        return y + 34

    def _side_note(self, step: Step, y: float, out: list[str], text: str, sub: str, style: str) -> float:
        fill, stroke = NOTE_COLORS[style]
        x = self.x_of(step.sender)
        w = max(text_width(text, 11), text_width(sub, 10)) + 20
        h = 32 if sub else 20
        # On the traced side's lifeline, leaning outwards so arrows stay clear.
        left = x - w + 40 if step.sender == "client" else x - 40
        out.append(
            f'<rect x="{left:.1f}" y="{y + 4:.1f}" width="{w:.1f}" height="{h}" rx="4" fill="{fill}" '
            f'stroke="{stroke}"/>'
        )
        out.append(svg_text(left + w / 2, y + 18, text, 11, fill="#5d4300"))
        if sub:
            out.append(svg_text(left + w / 2, y + 31, sub, 10, fill="#7a6a2a", font_family=MONO))
        return y + h + 10

    def _wide_note(self, step: Step, y: float, out: list[str]) -> float:
        fill, stroke = NOTE_COLORS.get(step.style, NOTE_COLORS[""])
        left, right = self.CLIENT_X - 60, self.SERVER_X + 60
        lines = textwrap.wrap(step.label, int((right - left - 20) / (12 * 0.56)))
        h = 12 + 16 * len(lines)
        out.append(
            f'<rect x="{left}" y="{y + 4:.1f}" width="{right - left}" height="{h}" rx="5" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/>'
        )
        for i, line in enumerate(lines):
            out.append(svg_text(left + 10, y + 20 + 16 * i, line, 12, "start", fill="#263238"))
        return y + h + 12

    def _braces(self) -> list[str]:
        """A brace beside the sender's lifeline for each run of encrypted messages."""
        out: list[str] = []
        runs: list[list[tuple[Step, float, float]]] = []
        last: Step | None = None
        for row in self.rows:
            step = row[0]
            same = (
                last is not None
                and step.kind == "message"
                and last.kind == "message"
                and step.sender == last.sender
                and step.protection == last.protection
                and self.steps.index(step) - self.steps.index(last) <= 2
            )
            if step.kind == "message" and step.protection != PLAIN:
                if same:
                    runs[-1].append(row)
                else:
                    runs.append([row])
            last = step
        for run in runs:
            step = run[0][0]
            y1, y2 = run[0][2] - 16, run[-1][2] + 6
            client = step.sender == "client"
            x = self.x_of(step.sender) + (-90 if client else 90)
            color = COLORS[step.protection]
            out.append(
                f'<path d="{brace_path(x, y1, y2, -1 if client else 1)}" fill="none" stroke="{color}" '
                'stroke-width="1.6"/>'
            )
            words = {
                HANDSHAKE: "handshake keys",
                TLS12: "negotiated keys",
                APPLICATION: "application keys",
                EARLY: "early (0-RTT) keys",
            }[step.protection]
            tx, anchor = (x - 16, "end") if client else (x + 16, "start")
            ym = (y1 + y2) / 2
            out.append(svg_text(tx, ym - 2, "encrypted", 11, anchor, fill=color, font_style="italic"))
            out.append(svg_text(tx, ym + 12, words, 11, anchor, fill=color, font_style="italic"))
        return out

    def _legend(self, y: float) -> list[str]:
        seen = {s.protection for s in self.steps if s.kind in ("message", "data", "alert")}
        items = []
        if seen & {HANDSHAKE, TLS12}:
            items.append("{…}  sent encrypted: TLS 1.3 handshake traffic keys, or TLS 1.2 keys after ChangeCipherSpec")
        if APPLICATION in seen:
            items.append("[…]  application data, or TLS 1.3 messages under application traffic keys")
        if EARLY in seen:
            items.append("(…)  0-RTT data under early keys")
        if any(s.kind == "ccs" and s.style != "dummy" for s in self.steps):
            items.append("[ChangeCipherSpec]  a one-byte record of its own protocol: from here on, encrypted")
        if any(s.kind == "ccs" and s.style == "dummy" for s in self.steps):
            items.append("ChangeCipherSpec (grey)  TLS 1.3 middlebox compatibility, ignored (RFC 8446, Appendix D.4)")
        return [svg_text(40, y + 18 * i, text, 11, "start", fill="#546e7a") for i, text in enumerate(items)]
