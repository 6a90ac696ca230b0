"""State-machine diagrams drawn from the handshake code's own transition tables.

Every handshake state class declares ``transitions``: the states its ``handle``
(or ``on_change_cipher_spec``) may return, each with the message that causes
it (see :class:`glasstls.handshake.base.State`). This module collects those
tables into one graph per role and version and draws it, as Mermaid
``stateDiagram-v2`` text and as SVG, so the pictures cannot drift from the
code: ``tests/test_state_tables.py`` runs real handshakes and checks every
state change against the tables, and that ``docs/states/`` matches them.

    glasstls diagram --states -o docs/states      # client/server × 1.2/1.3, .mmd and .svg

A state belongs to TLS 1.2 when its module is ``client12``/``server12``, to
TLS 1.3 otherwise. Each role starts in the one state marked ``initial``
(before the version is chosen); the graph of a version holds that state and
every state of the version reachable from it.
"""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..handshake.base import State
from .diagram_render import render_by_suffix
from .svg import MONO, arrow_marker, svg_document, svg_text, text_width

_C = TypeVar("_C")

ROLES = ("client", "server")
VERSIONS = ("1.2", "1.3")
_MODULES = ("client", "client13", "client12", "server", "server13", "server12", "post_handshake")
CCS = "ChangeCipherSpec"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    trigger: str  # message class name, or "ChangeCipherSpec"
    note: str = ""

    @property
    def label(self) -> str:
        trigger = "[ChangeCipherSpec]" if self.trigger == CCS else _display(self.trigger)
        return f"{trigger} ({self.note})" if self.note else trigger


@dataclass(frozen=True)
class Node:
    name: str
    step: str  # "waiting for ServerHello"
    initial: bool
    final: bool  # the handshake is done (application data flows)
    version: str


def _display(name: str) -> str:
    return name[:-2] if name.endswith("12") else name


def state_classes() -> dict[str, type[State[Any]]]:
    """Every concrete handshake state class that has a transition table, or is named in one, by name."""
    for module in _MODULES:
        importlib.import_module(f"glasstls.handshake.{module}")
    found: dict[str, type[State[Any]]] = {}
    targets = {t[1] for cls in _all_subclasses(State) for t in cls.transitions}
    for cls in _all_subclasses(State):
        if "transitions" not in vars(cls) and cls.__name__ not in targets and not cls.initial:
            continue  # an abstract base (State12, Connected13)
        if cls.__name__ in found and found[cls.__name__] is not cls:
            raise ValueError(f"two handshake states are named {cls.__name__}")
        found[cls.__name__] = cls
    return found


def _all_subclasses(cls: type[_C]) -> list[type[_C]]:
    out: list[type[_C]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def version_of(cls: type[State[Any]]) -> str:
    return "1.2" if cls.__module__.rsplit(".", 1)[-1].endswith("12") else "1.3"


def role_of_initial(cls: type[State[Any]]) -> str:
    return "client" if cls.__module__.rsplit(".", 1)[-1].startswith("client") else "server"


def declared_edges(cls: type[State[Any]]) -> list[Edge]:
    out = []
    for entry in cls.transitions:
        if len(entry) not in (2, 3):
            raise ValueError(f"{cls.__name__}.transitions entry {entry!r} is not (trigger, target[, note])")
        out.append(Edge(cls.__name__, entry[1], entry[0], entry[2] if len(entry) == 3 else ""))
    return out


def _final(cls: type[State[Any]]) -> bool:
    try:
        return bool(object.__new__(cls).handshake_done)
    except Exception:  # a property that needs state: not a final state
        return False


@dataclass
class StateGraph:
    role: str
    version: str
    nodes: list[Node]  # in handshake order
    edges: list[Edge]

    @property
    def title(self) -> str:
        return f"TLS {self.version} {self.role} handshake states"

    def to_mermaid(self) -> str:
        return _to_mermaid(self)

    def to_svg(self) -> str:
        return _StateSvg(self).render()

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(render_by_suffix(path, self.to_svg, self.to_mermaid), encoding="utf-8")
        return path


def state_graph(role: str, version: str) -> StateGraph:
    """The states of ``role`` in TLS ``version`` and the transitions between them, from the code."""
    if role not in ROLES or version not in VERSIONS:
        raise ValueError(f"no state graph for role {role!r}, version {version!r}")
    classes = state_classes()
    initial = [c for c in classes.values() if c.initial and role_of_initial(c) == role]
    if len(initial) != 1:
        raise ValueError(f"{role}: expected one initial state, found {[c.__name__ for c in initial]}")
    start = initial[0].__name__
    order, edges, seen = [start], [], {start}
    queue = [start]
    while queue:
        name = queue.pop(0)
        for edge in declared_edges(classes[name]):
            if edge.target not in classes:
                raise ValueError(f"{name} declares a transition to {edge.target}, which is no state")
            if version_of(classes[edge.target]) != version:
                continue
            edges.append(edge)
            if edge.target not in seen:
                seen.add(edge.target)
                order.append(edge.target)
                queue.append(edge.target)
    ranked = _handshake_order(order, edges)
    edges.sort(key=lambda e: (ranked.index(e.source), ranked.index(e.target)))
    nodes = [Node(n, classes[n].step, n == start, _final(classes[n]), version_of(classes[n])) for n in ranked]
    return StateGraph(role, version, nodes, edges)


def _handshake_order(names: list[str], edges: list[Edge]) -> list[str]:
    """Longest path from the start (self-loops aside), ties in discovery order."""
    rank = dict.fromkeys(names, 0)
    for _ in range(len(names)):  # Bellman-Ford style relaxation; a cycle just stops improving
        changed = False
        for e in edges:
            if e.source != e.target and rank[e.target] < rank[e.source] + 1 <= len(names):
                rank[e.target] = rank[e.source] + 1
                changed = True
        if not changed:
            break
    return sorted(names, key=lambda n: (rank[n], names.index(n)))


def all_graphs(roles: tuple[str, ...] = ROLES, versions: tuple[str, ...] = VERSIONS) -> list[StateGraph]:
    return [state_graph(r, v) for r in roles for v in versions]


def write_state_diagrams(
    out_dir: str | Path, roles: tuple[str, ...] = ROLES, versions: tuple[str, ...] = VERSIONS
) -> list[Path]:
    """Write ``{role}-{version}.mmd`` and ``.svg`` for each role and version; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for graph in all_graphs(roles, versions):
        for suffix in (".mmd", ".svg"):
            written.append(graph.write(out / f"{graph.role}-{graph.version}{suffix}"))
    return written


# -- Mermaid -----------------------------------------------------------------------------------


def _mm(text: str) -> str:
    return " ".join(text.replace(";", ",").replace("#", "no.").replace(":", " -").replace('"', "'").split())


def _to_mermaid(g: StateGraph) -> str:
    lines = [
        "---",
        f"title: {g.title}",
        "---",
        "%% Generated by `glasstls diagram --states` from the handshake states' transition tables; do not edit.",
        "stateDiagram-v2",
        "    direction TB",
    ]
    for node in g.nodes:
        lines.append(f'    state "{node.name}<br/><i>{_mm(node.step)}</i>" as {node.name}')
    lines.append(f"    [*] --> {g.nodes[0].name}")
    for e in g.edges:
        trigger = "[ChangeCipherSpec]" if e.trigger == CCS else _display(e.trigger)
        note = "<br/>".join(textwrap.wrap(f"({_mm(e.note)})", 30)) if e.note else ""
        lines.append(f"    {e.source} --> {e.target} : {trigger}{'<br/>' + note if note else ''}")
    finals = [n.name for n in g.nodes if n.final]
    for name in finals:
        lines.append(f"    {name} --> [*] : close_notify<br/>or a fatal alert")
    if finals:
        lines.append("    classDef done fill:#e8f5e9,stroke:#2e7d32")
        lines.append(f"    class {','.join(finals)} done")
    return "\n".join(lines) + "\n"


# -- SVG ---------------------------------------------------------------------------------------
#
# States stacked vertically in handshake order. An edge to the next state is a
# straight arrow down the middle; an edge that skips states runs in a lane to
# the right of the column; a self-loop curls on the left. Labels sit beside
# their arrow, on a white halo.

BOX_H = 46
GAP = 58  # vertical space between two boxes
LABEL = 11  # font size of edge labels
Line = tuple[str, bool]  # a line of an edge label; True for the note's lines (italic)


class _StateSvg:
    def __init__(self, g: StateGraph) -> None:
        self.g = g
        self.index = {n.name: i for i, n in enumerate(g.nodes)}
        self.body: list[str] = []

    def render(self) -> str:
        g = self.g
        box_w = max(max(text_width(n.name, 14), text_width(n.step, 11)) for n in g.nodes) + 36
        loops = [e for e in g.edges if e.source == e.target]
        loop_w = max((self._label_width(self._lines(e)) for e in loops), default=0)
        self.left = 40 + (loop_w + 60 if loops else 0)
        self.box_w = box_w
        self.cx = self.left + box_w / 2
        top = 90
        self.ys = [top + i * (BOX_H + GAP) for i in range(len(g.nodes))]
        grouped = self._group(g.edges)
        lane_right = self._lanes(grouped)
        width = max(lane_right, self.left + box_w + 40) + 30
        height = self.ys[-1] + BOX_H + 70
        body = [
            svg_text(width / 2, 32, g.title, 18, font_weight="bold", fill="#263238"),
            svg_text(
                width / 2,
                54,
                "drawn from the transition tables in glasstls/handshake (glasstls diagram --states)",
                11,
                fill="#78909c",
            ),
        ]
        body += self._start_marker()
        body += self.body
        body += self._boxes()
        return svg_document(width, height, body, g.title, arrow_marker("arrow", "#455a64"))

    # -- edges -----------------------------------------------------------------------------
    def _lines(self, e: Edge) -> list[Line]:
        """The trigger, then the note in italics, wrapped."""
        trigger = "[ChangeCipherSpec]" if e.trigger == CCS else _display(e.trigger)
        return (
            [(trigger, False)] + [(line, True) for line in textwrap.wrap(f"({e.note})", 30)]
            if e.note
            else [(trigger, False)]
        )

    @staticmethod
    def _label_width(lines: list[Line]) -> float:
        return max((text_width(line, LABEL) for line, _ in lines), default=0)

    def _group(self, edges: list[Edge]) -> dict[tuple[str, str], list[Line]]:
        """Edges between the same two states share one arrow and stack their labels."""
        grouped: dict[tuple[str, str], list[Line]] = {}
        for e in edges:
            grouped.setdefault((e.source, e.target), []).extend(self._lines(e))
        return grouped

    def _label(self, x: float, y: float, lines: list[Line], anchor: str = "start") -> None:
        h = 14 * len(lines)
        w = self._label_width(lines)
        left = x if anchor == "start" else (x - w if anchor == "end" else x - w / 2)
        self.body.append(
            f'<rect x="{left - 3:.1f}" y="{y - 11:.1f}" width="{w + 6:.1f}" height="{h + 2}" fill="#ffffff" '
            'fill-opacity="0.92"/>'
        )
        for i, (line, note) in enumerate(lines):
            style = {"font_style": "italic", "fill": "#607d8b"} if note else {"fill": "#263238"}
            self.body.append(svg_text(x, y + 14 * i, line, LABEL, anchor, **style))

    def _lanes(self, grouped: dict[tuple[str, str], list[Line]]) -> float:
        """Draw every edge; returns the right edge of the lanes."""
        right = self.left + self.box_w
        straight = [lines for (s, t), lines in grouped.items() if self.index[t] == self.index[s] + 1]
        first_lane = max([right + 34] + [self.cx + 10 + self._label_width(lines) + 24 for lines in straight])
        skips = []
        for (src, dst), lines in grouped.items():
            i, j = self.index[src], self.index[dst]
            if i == j:
                self._self_loop(i, lines)
            elif j == i + 1:
                self._straight(i, lines)
            else:
                skips.append((i, j, lines))
        placed, lane_w = self._assign_lanes(skips)
        xs, x = [], first_lane
        for w in lane_w:
            xs.append(x)
            x += w + 22
        port_y = self._ports(placed)
        for n, (i, j, lane, lines) in enumerate(placed):
            y1, y2, lx = port_y[(i, n)], port_y[(j, n)], xs[lane]
            bend = 8 if y2 > y1 else -8
            self.body.append(
                f'<path d="M{right:.1f},{y1:.1f} L{lx - 8:.1f},{y1:.1f} Q{lx:.1f},{y1:.1f} {lx:.1f},{y1 + bend:.1f} '
                f'L{lx:.1f},{y2 - bend:.1f} Q{lx:.1f},{y2:.1f} {lx - 8:.1f},{y2:.1f} L{right + 2:.1f},{y2:.1f}" '
                'fill="none" stroke="#455a64" stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
            # The label in the gap between two boxes nearest the middle of the span, beside the lane.
            gap = min(range(min(i, j), max(i, j)), key=lambda k: abs(k + 0.5 - (i + j) / 2))
            ly = self.ys[gap] + BOX_H + GAP / 2 - 7 * (len(lines) - 1) + 4
            self._label(lx + 6, ly, lines)
        return x

    def _assign_lanes(
        self, skips: list[tuple[int, int, list[Line]]]
    ) -> tuple[list[tuple[int, int, int, list[Line]]], list[float]]:
        """Edges that skip states get a vertical lane right of the column; short spans nearest it.

        Two downward edges may share a lane when one ends at the box where the
        other starts: that box's ports put the arriving edge above the leaving one.
        """
        skips.sort(key=lambda s: (abs(s[1] - s[0]), s[0]))
        lanes: list[list[tuple[int, int, bool]]] = []  # (top, bottom, downward) per lane
        lane_w: list[float] = []
        placed = []
        for i, j, lines in skips:
            lo, hi, down = min(i, j), max(i, j), j > i

            def clash(a: int, b: int, other_down: bool, lo: int = lo, hi: int = hi, down: bool = down) -> bool:
                if down and other_down:
                    return lo < b and a < hi
                return lo <= b and a <= hi

            lane = 0
            while lane < len(lanes) and any(clash(*used) for used in lanes[lane]):
                lane += 1
            if lane == len(lanes):
                lanes.append([])
                lane_w.append(0)
            lanes[lane].append((lo, hi, down))
            lane_w[lane] = max(lane_w[lane], self._label_width(lines) + 24)
            placed.append((i, j, lane, lines))
        return placed, lane_w

    def _ports(self, placed: list[tuple[int, int, int, list[Line]]]) -> dict[tuple[int, int], float]:
        """Where each lane edge meets a box: arrivals on top (inner lanes first), departures below
        (outer lanes first), so that no horizontal run crosses another lane's vertical run."""
        users: dict[int, list[tuple[int, int, int]]] = {}
        for n, (i, j, lane, _lines) in enumerate(placed):
            users.setdefault(i, []).append((1, -lane, n))  # leaving
            users.setdefault(j, []).append((0, lane, n))  # arriving
        port_y: dict[tuple[int, int], float] = {}
        for box, ends in users.items():
            ends.sort()
            for k, (_leaving, _lane, n) in enumerate(ends):
                port_y[(box, n)] = self.ys[box] + BOX_H * (k + 1) / (len(ends) + 1)
        return port_y

    def _straight(self, i: int, lines: list[Line]) -> None:
        y1, y2 = self.ys[i] + BOX_H, self.ys[i + 1]
        self.body.append(
            f'<line x1="{self.cx:.1f}" y1="{y1:.1f}" x2="{self.cx:.1f}" y2="{y2 - 2:.1f}" stroke="#455a64" '
            'stroke-width="1.4" marker-end="url(#arrow)"/>'
        )
        self._label(self.cx + 10, (y1 + y2) / 2 - 7 * (len(lines) - 1) + 4, lines)

    def _self_loop(self, i: int, lines: list[Line]) -> None:
        x, y = self.left, self.ys[i]
        self.body.append(
            f'<path d="M{x:.1f},{y + 12:.1f} C{x - 46:.1f},{y + 2:.1f} {x - 46:.1f},{y + BOX_H - 2:.1f} '
            f'{x + 1:.1f},{y + BOX_H - 12:.1f}" fill="none" stroke="#455a64" stroke-width="1.4" '
            'marker-end="url(#arrow)"/>'
        )
        self._label(x - 44, y + BOX_H / 2 - 7 * (len(lines) - 1) + 4, lines, "end")

    # -- states ----------------------------------------------------------------------------
    def _start_marker(self) -> list[str]:
        y = self.ys[0]
        return [
            f'<circle cx="{self.cx:.1f}" cy="{y - 24:.1f}" r="7" fill="#263238"/>',
            f'<line x1="{self.cx:.1f}" y1="{y - 17:.1f}" x2="{self.cx:.1f}" y2="{y - 2:.1f}" stroke="#263238" '
            'stroke-width="1.4" marker-end="url(#arrow)"/>',
        ]

    def _boxes(self) -> list[str]:
        out = []
        for node, y in zip(self.g.nodes, self.ys, strict=True):
            fill, stroke = ("#e8f5e9", "#2e7d32") if node.final else ("#e3f2fd", "#1565c0")
            if node.initial:
                fill = "#fff8e1"
            out.append(
                f'<rect x="{self.left:.1f}" y="{y:.1f}" width="{self.box_w:.1f}" height="{BOX_H}" rx="10" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="{2.4 if node.final else 1.5}"/>'
            )
            out.append(svg_text(self.cx, y + 20, node.name, 14, font_weight="bold", fill="#263238", font_family=MONO))
            out.append(svg_text(self.cx, y + 37, node.step, 11, fill="#546e7a"))
        return out
