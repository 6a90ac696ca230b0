"""``glasstls dissect CAPTURE``: the trace of every TLS connection in a packet capture.

Reads a pcap or pcapng file written by tcpdump, tshark or Wireshark, puts the
TCP streams back together and prints, for each connection that carries TLS,
the same trace ``glasstls client --trace`` and ``glasstls server --trace``
print live: by default both sides' views, the client's and the server's,
one after the other for each record. With ``--keylog FILE`` (the NSS key log
format, as written by ``--keylog``, SSLKEYLOGFILE, OpenSSL, browsers) the
protected records the key log has keys for are decrypted: the handshake
messages TLS 1.3 encrypts, TLS 1.2's Finished, and the application data,
which is shown after its record. Without keys they are shown as encrypted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ..enums import ContentType, ProtocolVersion
from ..observe import MessageTrace, RecordTrace, TraceEvent
from ..text import exception_text, printable
from ..trace.headlines import record_headline
from ..trace.pcap import Dissection, NoteTrace, NSSKeyLog, TLSStream, dissect
from ..wire.handshake import ServerHello

if TYPE_CHECKING:
    from ..trace.text import TextTrace

DATA_PREVIEW = 256  # bytes of application data shown in the text trace (all of it with --trace=full)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dissect", help="the TLS trace of a packet capture (pcap, pcapng), decrypted with a key log")
    p.add_argument("capture", metavar="CAPTURE", help="a pcap or pcapng file (tcpdump -w, tshark -w, Wireshark)")
    p.add_argument("--keylog", metavar="FILE", help="NSS key log (SSLKEYLOGFILE format) to decrypt with")
    p.add_argument(
        "--trace",
        nargs="?",
        const="text",
        default="text",
        choices=("text", "full", "json"),
        help="text (default), full (every field, with hex) or json (JSON Lines)",
    )
    p.add_argument(
        "--side",
        choices=("both", "client", "server"),
        default="both",
        help="whose view to show: both (default), or the client's or server's only",
    )
    p.add_argument("--connection", type=int, metavar="N", help="only the Nth TCP connection of the capture")
    p.add_argument("--explain", action="store_true", help="explain each step in plain words")
    p.add_argument(
        "--show-secrets", action="store_true", help="show the key log's secrets and the keys derived from them"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    keylog = None
    if args.keylog:
        try:
            keylog = NSSKeyLog.load(args.keylog)
        except OSError as exc:
            print(f"glasstls: cannot read the key log: {exc}", file=sys.stderr)
            return 2
    try:
        result = dissect(args.capture, keylog, view=args.side, wants_secrets=args.show_secrets)
    except OSError as exc:
        print(f"glasstls: cannot read the capture: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"glasstls: {args.capture}: {exc}", file=sys.stderr)
        return 2
    streams = [s for s in result.streams if args.connection in (None, s.number)]
    if args.connection is not None and not 1 <= args.connection <= result.connections:
        print(f"glasstls: --connection {args.connection}: the capture has {result.connections} TCP connection(s), "
              "numbered from 1", file=sys.stderr)  # fmt: skip
        return 2
    out = sys.stdout
    try:
        if args.trace == "json":
            _json(out, result, streams, args)
        else:
            _text(out, result, streams, args)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep the interpreter's final flush from
        # failing too (the recipe of https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return 0


# -- text --------------------------------------------------------------------------------------


def _renderer(out: TextIO, args: argparse.Namespace) -> TextTrace:
    from ..trace.text import TextTrace

    return TextTrace(out, full=args.trace == "full", explain=args.explain, show_secrets=args.show_secrets)


def _text(out: TextIO, result: Dissection, streams: list[TLSStream], args: argparse.Namespace) -> None:
    full = args.trace == "full"
    for stream in streams:
        out.write(f"== {stream.summary()}\n")
        render = _renderer(out, args)  # a fresh one per connection: its context follows one handshake
        names = _EncryptedNames(stream.version == ProtocolVersion.TLSv1_3)
        for index, event in enumerate(stream.events):
            if isinstance(event, NoteTrace):
                # A capture's bytes are a peer's: a note quoting them prints no raw control character.
                out.write(f"{event.side:<6} ~ {printable(event.text, escape_backslash=False)}\n")
                continue
            names.see(event)
            if index in stream.encrypted and isinstance(event, RecordTrace):
                mark = ">" if event.direction == "out" else "<"
                out.write(f"{event.side:<6} {mark} record {record_headline(event)} [encrypted{names.what(event)}]\n")
                continue
            try:
                render(event)
            except OSError:
                raise
            except Exception as exc:  # a renderer's failure must not end the dissection
                out.write(f"{event.side:<6} ? {event.kind} event not rendered ({exception_text(exc)})\n")
            _application_data(out, event, full, both=args.side == "both")
        out.write("\n")
    _summary(out, result, streams)
    out.flush()


_OPENS_IT = "; --keylog FILE opens it"


class _EncryptedNames:
    """What an encrypted record is when no key log opens it, from where it stands in the
    connection: the first one each side sends in a stage of the handshake is named (in both
    sides' views); the rest, application data or post-handshake messages alike, are not."""

    def __init__(self, tls13: bool) -> None:
        self.tls13 = tls13
        self.server_hello = False  # a ServerHello (not a HelloRetryRequest) went by
        self.flight_seen = False  # TLS 1.3: an encrypted record of the server's after it
        self.named: set[tuple[str, str, str]] = set()  # (sender, viewer, stage)

    def see(self, event: TraceEvent) -> None:
        if isinstance(event, MessageTrace) and type(event.message) is ServerHello:
            self.server_hello = True

    def what(self, record: RecordTrace) -> str:
        sender = record.side if record.direction == "out" else _OTHER[record.side]
        stage, words = self._stage(record, sender)
        if not words or (sender, record.side, stage) in self.named:
            return ""
        self.named.add((sender, record.side, stage))
        return f": {words}{_OPENS_IT}"

    def _stage(self, record: RecordTrace, sender: str) -> tuple[str, str]:
        if not self.tls13:
            # TLS 1.2: the first handshake record after ChangeCipherSpec is the Finished.
            if record.content_type != ContentType.handshake:
                return "", ""
            return "finished", "the Finished, Wireshark's Encrypted Handshake Message"
        # TLS 1.3 hides every record's type behind application_data (RFC 8446, Section 5.2), so
        # Wireshark calls them all Application Data; where they stand tells more.
        if sender == "client" and not self.server_hello:
            return "early", "0-RTT early data, under the client's early traffic keys (RFC 8446, Section 2.3)"
        if sender == "server":
            self.flight_seen = True
            return "flight", (
                "the server's encrypted handshake begins: EncryptedExtensions, then Certificate and "
                "CertificateVerify unless it resumes, then Finished (RFC 8446, Section 2; Wireshark "
                "says Application Data)"
            )
        if self.flight_seen:
            return "finished", (
                "the client's encrypted handshake begins: EndOfEarlyData if its 0-RTT data was "
                "accepted, Certificate and CertificateVerify if it was asked for them, then Finished"
            )
        return "", ""


_OTHER = {"client": "server", "server": "client"}


def _application_data(out: TextIO, event: TraceEvent, full: bool, both: bool) -> None:
    """Decrypted application data under its record (with both views, under the sender's, so it is shown once)."""
    if not (
        isinstance(event, RecordTrace)
        and (event.direction == "out" or not both)
        and event.inner_type == ContentType.application_data
        and event.plaintext
    ):
        return
    data = event.plaintext
    indent = " " * 9
    if full:
        from ..trace.text import hexdump

        for line in hexdump(data, indent + "  "):
            out.write(line + "\n")
        return
    shown = data[:DATA_PREVIEW]
    more = f" … ({len(data)} bytes)" if len(data) > len(shown) else ""
    out.write(f"{indent}data: {_printable(shown)}{more}\n")


def _printable(data: bytes) -> str:
    """Text as text, other bytes as escapes: the way a terminal can show any payload safely."""
    return "".join(chr(b) if 32 <= b < 127 else {10: "\\n", 13: "\\r", 9: "\\t"}.get(b, f"\\x{b:02x}") for b in data)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _summary(out: TextIO, result: Dissection, streams: list[TLSStream]) -> None:
    decrypted = sum(s.decrypted_records for s in streams)
    encrypted = sum(s.encrypted_records for s in streams)
    out.write(
        f"{_n(result.segments, 'TCP segment')}, {_n(result.connections, 'TCP connection')},"
        f" {len(result.streams)} with TLS ({len(streams)} shown);"
        f" {_n(decrypted, 'protected record')} decrypted, {encrypted} left encrypted\n"
    )
    for text in result.notes:
        out.write(f"note: {text}\n")


# -- JSON Lines --------------------------------------------------------------------------------


def _json(out: TextIO, result: Dissection, streams: list[TLSStream], args: argparse.Namespace) -> None:
    from ..trace.jsonl import JsonLinesTrace

    for stream in streams:
        header = {
            "kind": "connection",
            "connection": stream.number,
            "client": f"{stream.client[0]}:{stream.client[1]}",
            "server": f"{stream.server[0]}:{stream.server[1]}",
            "version": str(stream.version) if stream.version is not None else None,
            "cipher_suite": str(stream.cipher_suite) if stream.cipher_suite is not None else None,
            "decrypted_records": stream.decrypted_records,
            "encrypted_records": stream.encrypted_records,
        }
        out.write(json.dumps(header) + "\n")
        render = JsonLinesTrace(out, show_secrets=args.show_secrets, include_data=True)
        for event in stream.events:
            if isinstance(event, NoteTrace):
                out.write(json.dumps({"kind": "note", "side": event.side, "text": event.text}) + "\n")
                continue
            try:
                render(event)
            except OSError:
                raise
            except Exception as exc:
                out.write(json.dumps({"kind": event.kind, "side": event.side, "error": str(exc)}) + "\n")
    for text in result.notes:
        out.write(json.dumps({"kind": "note", "side": "capture", "text": text}) + "\n")
    out.flush()
