"""What the visibility observers keep of a long or hostile connection is bounded, and says what it left out.

``glasstls server --diagram`` and ``--illustrate`` attach a :class:`SequenceDiagram` and an
:class:`Illustration` to every connection, for as long as it lasts: a peer that streams
megabytes, or sends thousands of one-byte records, must not make them grow with it. Each
test runs real glasstls connections (in memory, or ``glasstls server`` on 127.0.0.1),
counts what the observers kept, and reads the note in the output that names the limit.
"""

from __future__ import annotations

import gc
import html
import re
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import glasstls
from glasstls.enums import NamedGroup
from glasstls.observe import EventList, RecordTrace
from glasstls.trace import Tee
from glasstls.trace.diagram import DataRun, Omitted, SequenceDiagram
from glasstls.trace.illustrate import Illustration
from glasstls.wire.extensions import Extension
from pairs import Pair, make_pair, transfer
from serving_helpers import WAIT, CLIServer, make_pki

SVG = "{http://www.w3.org/2000/svg}"
MAX_EVENTS, LAST_ALERTS = SequenceDiagram.MAX_EVENTS, SequenceDiagram.MAX_LAST_ALERTS


def ping_pong(pair: Pair, rounds: int, size: int = 1) -> None:
    """``rounds`` times: the client sends one record of ``size`` bytes, the server one back; then both close."""
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    for i in range(rounds):
        pair.client.send(bytes([i & 0xFF]) * size)
        pair.to_server()
        pair.server.send(bytes([i & 0xFF]) * size)
        pair.to_client()
    pair.client.close()
    pair.to_server()
    pair.server.close()
    pair.to_client()


def stream(pair: Pair, records: int, size: int) -> None:
    """The client sends ``records`` records of ``size`` bytes in one direction, then both close."""
    pair.handshake()
    for _ in range(records):
        pair.client.send(b"x" * size)
    pair.to_server()
    pair.client.close()
    pair.to_server()
    pair.server.close()
    pair.to_client()


def mermaid_notes(text: str) -> list[str]:
    return re.findall(r"Note over C,S: (.*)", text)


# -- the sequence diagram ------------------------------------------------------------------------------------


def test_a_diagram_of_thousands_of_records_keeps_a_bounded_number_of_events() -> None:
    client, server = SequenceDiagram(), SequenceDiagram()
    ping_pong(make_pair(client_observer=client, server_observer=server), 2000)
    for d in (client, server):
        kept = d.events
        assert len(kept) <= MAX_EVENTS + 1 + LAST_ALERTS
        assert not any(isinstance(e, RecordTrace) and e.payload for e in kept)  # no record's bytes are kept
        assert d.omitted is not None
        # Every data record is either drawn (in a run) or counted as left out: 2000 each way.
        drawn = sum(s.count for s in d.steps() if s.kind == "data")
        assert drawn + d.omitted.tally["records"] == 4000
        note = (
            f"{d.omitted.tally['records']} more records not shown: the diagram draws {MAX_EVENTS} events of a "
            f"connection (SequenceDiagram.MAX_EVENTS), then only its last {LAST_ALERTS} alerts."
        )
        assert note in mermaid_notes(d.to_mermaid())
        assert d.to_mermaid().rstrip().splitlines()[-1].endswith("close_notify)]")  # how it ended is still drawn
        assert "SequenceDiagram.MAX_EVENTS" in d.to_svg()


def test_records_in_a_row_are_one_run_however_many() -> None:
    server = SequenceDiagram()
    stream(make_pair(server_observer=server), 5000, 1)
    runs = [e for e in server.events if isinstance(e, DataRun)]
    assert [r.tally for r in runs] == [[5000, 5000]]
    assert server.omitted is None and not any(isinstance(e, Omitted) for e in server.events)
    assert "C->>S: [Application Data] ×5000" in server.to_mermaid()
    assert "[Application Data] ×5000  (5000 bytes)" in server.to_svg()


def test_megabytes_streamed_through_both_observers_leave_them_a_bounded_size() -> None:
    """8 MB from the client, the server's diagram and page watching: they hold what they show, no more."""
    diagram, page = SequenceDiagram(), Illustration()
    pair = make_pair(server_observer=Tee(diagram, page))
    pair.handshake()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(512):
            pair.client.send(b"y" * 16384)
            transfer(pair.client, pair.server)  # the events it returns, with the data, are dropped at once
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < Illustration.MAX_RECORD_BYTES + (256 << 10), held
    assert [e.tally for e in diagram.events if isinstance(e, DataRun)] == [[512, 512 * 16384]]
    assert page.cut.limit["server"] == ("MAX_RECORD_BYTES", Illustration.MAX_RECORD_BYTES)


# -- the illustrated page ---------------------------------------------------------------------------------------


def record_cards(page: str) -> list[str]:
    return re.findall(r'<article class="record [^"]*" id="record-(\d+)"', page)


def summary(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))


def test_a_page_of_thousands_of_records_shows_the_first_and_counts_the_rest() -> None:
    page, log = Illustration(), EventList()
    ping_pong(make_pair(client_observer=Tee(page, log)), 1000)
    records = Illustration.MAX_RECORDS
    assert sum(isinstance(e, RecordTrace) for e in page.events) == records
    assert len(page.events) < records * 4  # the events among the records shown, and few after
    html = page.render()
    assert record_cards(html) == [str(n) for n in range(1, records + 1)]
    # The summary counts every record each way, shown or not, as the full log of the connection does.
    rows = summary(html)
    every = {d: [e for e in log.events if isinstance(e, RecordTrace) and e.direction == d] for d in ("out", "in")}
    for d, label in (("out", "client → server"), ("in", "server → client")):
        size = sum(len(e.header) + len(e.payload) for e in every[d])
        assert rows[f"Records {label}"] == f"{len(every[d])} ({size} bytes)"
    left_out = len(every["out"]) + len(every["in"]) - records
    note = re.search(r'<p class="empty omitted">(.*?)</p>', html)
    assert note is not None
    assert note.group(1).startswith(f"{left_out} more records (")
    assert note.group(1).endswith(": the page shows a side&#x27;s first 300 records (Illustration.MAX_RECORDS).")


def test_a_page_of_large_records_stops_at_its_byte_limit() -> None:
    page = Illustration()
    stream(make_pair(server_observer=page), 200, 16384)
    kept = [e for e in page.events if isinstance(e, RecordTrace)]
    size = sum(len(e.header) + len(e.payload) + len(e.plaintext or b"") for e in kept)
    assert Illustration.MAX_RECORD_BYTES - 2 * 16384 - 300 < size <= Illustration.MAX_RECORD_BYTES
    html = page.render()
    assert len(record_cards(html)) == len(kept) < 40
    assert "(Illustration.MAX_RECORD_BYTES)." in html
    assert f"records up to {Illustration.MAX_RECORD_BYTES} bytes" in html
    assert int(summary(html)["Records client → server"].split()[0]) > 200
    assert len(html) < 8 * Illustration.MAX_RECORD_BYTES


# -- glasstls server --diagram --illustrate, on 127.0.0.1 ---------------------------------------------------------


def test_the_server_writes_bounded_pictures_of_a_long_connection(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    svg, html = tmp_path / "d.svg", tmp_path / "p.html"
    with CLIServer(pki, "--diagram", str(svg), "--illustrate", str(html), "--max-connections", "1") as server:
        config = pki.client_config()
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT) as tls:
            for i in range(600):  # one-byte records, each echoed before the next: a run each
                tls.sendall(bytes([65 + i % 26]))
                assert tls.recv() == bytes([65 + i % 26])
        server.wait_for(r"connection 1 illustrated in .*p-1\.html")
    texts = " ".join("".join(t.itertext()) for t in ET.parse(tmp_path / "d-1.svg").iter(f"{SVG}text"))
    assert re.search(r"\d+ more records not shown: the diagram draws 250 events of a connection", texts), texts
    page = (tmp_path / "p-1.html").read_text(encoding="utf-8")
    assert len(record_cards(page)) == Illustration.MAX_RECORDS
    assert "(Illustration.MAX_RECORDS)." in page


def test_observers_on_one_connection_together() -> None:
    """The server's own combination (Tee): each bounded on its own terms."""
    diagram, page = SequenceDiagram(), Illustration()
    ping_pong(make_pair(server_observer=Tee(diagram, page)), 600)
    assert diagram.omitted is not None and len(diagram.events) <= MAX_EVENTS + 1 + LAST_ALERTS
    assert sum(isinstance(e, RecordTrace) for e in page.events) == Illustration.MAX_RECORDS


# -- the fields shown of one message, and of one page -------------------------------------------------------------


def left_out(page: str) -> list[tuple[str, str]]:
    """(value, note) of each field that stands for the entries the page does not show."""
    found = re.findall(r'<span class="nm">…</span> <span class="val">(.*?)</span><span class="note">(.*?)</span>', page)
    return [(html.unescape(value), html.unescape(note)) for value, note in found]


def test_a_hello_of_thousands_of_entries_is_shown_in_part() -> None:
    """A 60 KB ClientHello (3000 ALPN names, 11000 empty extensions): the page shows 64 of each, then says how
    many more; the bytes are all there, folded. It was a page of 17 MB."""
    extra = tuple(Extension(0x1000 + i, b"") for i in range(11000))
    sent: list[Any] = []

    def bigger(msg: Any) -> bytes | None:
        if msg.name != "ClientHello":
            return None
        sent.append(msg.with_extensions(msg.extensions + extra))
        return cast(bytes, sent[0].encode())

    page = Illustration()
    names = tuple(f"p{i}" for i in range(3000))
    make_pair(
        client_alter=bigger, server_observer=page, client_kw={"alpn": names, "groups": (NamedGroup.x25519,)}
    ).handshake()
    hello = sent[0]
    assert len(hello.encode()) > 60000
    html_page = page.render()
    assert len(html_page) < 600_000
    note = "the page shows 64 entries of a list (Illustration.MAX_FIELDS); their bytes are here, folded"
    assert (f"{len(hello.extensions) - 64} more Extensions not shown", note) in left_out(html_page)
    assert ("2936 more ProtocolNames not shown", note) in left_out(html_page)
    assert "p63" in html_page and ">p64<" not in html_page


def test_a_page_shows_a_bounded_number_of_fields() -> None:
    page = Illustration()
    ping_pong(make_pair(client_observer=page), 1000)
    html_page = page.render()
    rows = html_page.count('<div class="row"')
    assert Illustration.MAX_ROWS < rows < Illustration.MAX_ROWS + 2 * Illustration.MAX_RECORDS
    note = "the page shows no more fields (Illustration.MAX_ROWS); their bytes are here, folded"
    assert any(n == note for _, n in left_out(html_page))
