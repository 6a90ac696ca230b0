"""How much of a connection the illustrated page keeps and shows (illustrate.py's bounds).

A page keeps a side's first ``MAX_RECORDS`` records within ``MAX_RECORD_BYTES``, then counts the
rest (:class:`Cut`), and shows at most ``MAX_FIELDS`` entries of a list and ``MAX_ROWS`` fields in
all (:func:`pruned`); what is left out is said, with the limit that left it out, so a peer cannot
make a page, or the server that writes it, as large as it likes.
"""

from __future__ import annotations

from typing import Protocol

from ..observe import AlertTrace, MessageTrace, RecordTrace, TraceEvent, VerificationTrace
from .fields import Field


class PageLimits(Protocol):
    """The limits a Cut reads at each event (Illustration's, which a caller may change)."""

    MAX_RECORDS: int
    MAX_RECORD_BYTES: int
    MAX_AFTER: int


class Cut:
    """Where each side's events stop being kept (Illustration's limits), and what was left out after."""

    def __init__(self) -> None:
        self.records: dict[str, list[int]] = {}  # side -> records kept, their bytes
        self.stopped: set[str] = set()  # sides past a limit
        self.limit: dict[str, tuple[str, int]] = {}  # side -> the limit hit: its name, its value
        self.after: dict[str, int] = {}  # side -> messages, alerts and checks kept since
        self.omitted: dict[tuple[str, str], list[int]] = {}  # (side, direction) -> records, bytes not kept
        self.events: dict[str, int] = {}  # side -> other events not kept

    def keeps(self, event: TraceEvent, page: PageLimits) -> bool:
        if event.side not in self.stopped and (not isinstance(event, RecordTrace) or self._fits(event, page)):
            return True
        return self._past(event, page)

    def _fits(self, rec: RecordTrace, page: PageLimits) -> bool:
        """Whether the side's limits leave room for the record (counted then); if not, the side stops here."""
        kept = self.records.setdefault(rec.side, [0, 0])
        size = len(rec.header) + len(rec.payload) + len(rec.plaintext or b"")
        if kept[0] >= page.MAX_RECORDS:
            self.limit[rec.side] = ("MAX_RECORDS", page.MAX_RECORDS)
        elif kept[0] and kept[1] + size > page.MAX_RECORD_BYTES:
            self.limit[rec.side] = ("MAX_RECORD_BYTES", page.MAX_RECORD_BYTES)
        else:
            kept[0] += 1
            kept[1] += size
            return True
        self.stopped.add(rec.side)
        return False

    def _past(self, event: TraceEvent, page: PageLimits) -> bool:
        """After a side stopped: its records counted, a few of its messages, alerts and checks kept."""
        side = event.side
        if isinstance(event, RecordTrace):
            tally = self.omitted.setdefault((side, event.direction), [0, 0])
            tally[0] += 1
            tally[1] += len(event.header) + len(event.payload)
            return False
        after = self.after.get(side, 0)
        if isinstance(event, MessageTrace | AlertTrace | VerificationTrace) and after < page.MAX_AFTER:
            self.after[side] = after + 1
            return True
        self.events[side] = self.events.get(side, 0) + 1
        return False


def pruned(node: Field, room: list[int], max_fields: int) -> Field:
    """``node`` as the page shows it: at most MAX_FIELDS entries of each list and, across the page, MAX_ROWS
    fields (``room`` holds how many are left); the entries left out become one field that covers their bytes
    and says how many they are and which limit left them out."""
    room[0] -= 1
    if not node.children:
        return node
    kept: list[Field] = []
    entries = 0
    for child in node.children:
        entries += not _is_length(child)
        limit = "MAX_FIELDS" if entries > max_fields else "MAX_ROWS" if room[0] <= 0 else ""
        if limit:
            cut = len(kept)
            while cut and kept[cut - 1].name.endswith(" length"):  # an entry's own length goes with it
                cut -= 1
            kept[cut:] = [_left_out(node.children[cut:], limit, max_fields)]
            break
        kept.append(pruned(child, room, max_fields))
    return Field(node.name, node.start, node.end, node.value, kept, node.note)


def _is_length(f: Field) -> bool:
    return f.name == "length" or f.name.endswith(" length")


def _left_out(rest: list[Field], limit: str, max_fields: int) -> Field:
    entries = [f for f in rest if not _is_length(f)] or rest
    names = dict.fromkeys(f.name for f in entries)
    what = next(iter(names)) if len(names) == 1 else "field"
    shown = f"{max_fields} entries of a list" if limit == "MAX_FIELDS" else "no more fields"
    return Field(
        "…",
        rest[0].start,
        rest[-1].end,
        f"{len(entries)} more {what}{'' if len(entries) == 1 else 's'} not shown",
        note=f"the page shows {shown} (Illustration.{limit}); their bytes are here, folded",
    )
