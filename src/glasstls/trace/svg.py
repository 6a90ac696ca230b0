"""SVG drawing primitives the diagrams share (the sequence diagram, the state machines): text,
its width, a document, an arrowhead and a brace. Plain SVG written as strings: no assets, no scripts."""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..text import printable

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def text_width(text: str, size: float) -> float:
    """A generous estimate of the width of sans-serif ``text`` at ``size`` px."""
    return len(text) * size * 0.55


def xml_text(text: str) -> str:
    """Text for SVG: escaped for XML, and without the control characters XML 1.0 does not allow at all."""
    return escape(printable(text, escape_backslash=False), {'"': "&quot;"})


def svg_text(x: float, y: float, text: str, size: float = 12, anchor: str = "middle", **attrs: str) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{xml_text(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{xml_text(text)}</text>'


def svg_document(width: float, height: float, body: list[str], title: str, defs: str = "") -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
            f"<title>{xml_text(title)}</title>",
            f"<defs>{defs}</defs>" if defs else "",
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
            "",
        ]
    )


def arrow_marker(marker_id: str, color: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
    )


def brace_path(x: float, y1: float, y2: float, direction: int, width: float = 10) -> str:
    """A curly brace from y1 to y2 at x, its tip ``width`` to the left (-1) or right (+1)."""
    d, half = direction, width / 2
    r = min(6.0, (y2 - y1) / 4)
    ym = (y1 + y2) / 2
    xs, xt = x + d * half, x + d * width
    return (
        f"M{x:.1f},{y1:.1f} Q{xs:.1f},{y1:.1f} {xs:.1f},{y1 + r:.1f} L{xs:.1f},{ym - r:.1f} "
        f"Q{xs:.1f},{ym:.1f} {xt:.1f},{ym:.1f} Q{xs:.1f},{ym:.1f} {xs:.1f},{ym + r:.1f} "
        f"L{xs:.1f},{y2 - r:.1f} Q{xs:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
    )
