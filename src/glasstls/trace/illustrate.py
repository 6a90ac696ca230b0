"""The illustrated connection: one self-contained HTML page, every byte explained.

What tls13.xargs.org does for one fixed handshake, for any live connection,
TLS 1.2 and 1.3. Attach an :class:`Illustration` as a connection's observer
(it asks for secrets), optionally :meth:`~Illustration.add` the other side's
events, then :meth:`~Illustration.write_html`. The page shows, in order:

* the negotiated summary and the verification results;
* every record as it went over the wire, its bytes coloured by field (from
  :func:`glasstls.trace.fields.field_tree`), with the decrypted content of a
  protected record and its own field tree beside the ciphertext;
* between the records, what happened in between: the secrets derived (with
  their RFC names and, the observer being allowed, their values and NSS key
  log lines), the keys installed, the state changes, checks and alerts.

Hovering a byte or a row of a field tree names the field, its value and its
purpose; a click pins it. Inline CSS and JavaScript only: no external
assets, it works offline and from ``file://``.

Records are shown from one side (the client's when its events are there);
the other side's checks and alerts are listed in the summary.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ..enums import (
    AlertDescription,
    AlertLevel,
    CertificateCompressionAlgorithm,
    CipherSuite,
    ContentType,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from ..observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    Observer,
    RecordTrace,
    SecretTrace,
    StateTrace,
    TraceEvent,
    VerificationTrace,
)
from ..text import exception_text, printable
from .describe import certificate_info, enum_name, inflated_certificate
from .fields import Field, content_tree, field_tree
from .hybrid import hybrid
from .illustrate_assets import CSS, LEGEND, SCRIPT, _category, explain, secret_info
from .illustrate_bounds import Cut, pruned

_T = TypeVar("_T")

# The explanation texts, colours, CSS and script live in .illustrate_assets; re-exported here.
__all__ = ["CSS", "LEGEND", "SCRIPT", "Illustration", "explain", "secret_info"]


def _esc(text: str) -> str:
    """HTML-escaped, and no control or bidi character from a peer's name can reach the page."""
    return html.escape(printable(text, escape_backslash=False))


class Illustration(Observer):
    """Collects one connection's trace events and renders them as an illustrated HTML page.

    What it keeps of each side is bounded, whatever the peer sends: its first :attr:`MAX_RECORDS`
    records, as long as their bytes stay within :attr:`MAX_RECORD_BYTES`, with the events among them.
    After that, the side's records are only counted (the page says how many it does not show) and of
    its other events only the first :attr:`MAX_AFTER` messages, alerts and checks are kept, for the
    summary; key changes, secrets and state changes are counted too.
    """

    MAX_RECORDS = 300  # record cards of one side on a page
    MAX_RECORD_BYTES = 1 << 20  # their bytes (header, payload and plaintext): some 30 full records of data
    MAX_AFTER = 32  # messages, alerts and checks of a side kept after its last record shown
    MAX_FIELDS = 64  # entries shown of one list (extensions, cipher suites, ALPN names, certificates)
    MAX_ROWS = 3000  # fields shown on a page (a handshake's page has some 300)

    def __init__(self, wants_secrets: bool = False, title: str = "") -> None:
        # Secret values only when asked for (--show-secrets): a page is a file people pass around.
        self.wants_secrets = wants_secrets
        self.title = title
        self.events: list[TraceEvent] = []
        self.cut = Cut()

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, SecretTrace) and event.secret is not None and not self.wants_secrets:
            event = dataclasses.replace(event, secret=None)  # (events added from a log that kept them)
        if self.cut.keeps(event, self):
            self.events.append(event)

    def add(self, events: Iterable[TraceEvent] | Any) -> None:
        """Add events from elsewhere, e.g. the other side's ``EventList`` (or its ``.events``)."""
        for event in getattr(events, "events", events):
            self(event)

    def render(self) -> str:
        """The page, as one string of HTML; never raises (a server writes one per connection and goes on)."""
        try:
            return _Page(self.events, self.title, self.cut).render()
        except Exception as exc:
            return _failed_page(self.title, exception_text(exc))

    def write_html(self, path: str | Path) -> Path:
        """Write the page; one that shows secret values is made readable by its owner alone (0600), as a
        key log is."""
        path = Path(path)
        text = self.render()
        if not any(isinstance(e, SecretTrace) and e.secret for e in self.events):
            path.write_text(text, encoding="utf-8")
            return path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # (a page written before, under the umask, is made private too)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        return path


# -- reading the events ------------------------------------------------------------------------


class _Stream:
    """One direction of records: its keys so far and the handshake message being reassembled."""

    def __init__(self) -> None:
        self.suite = ""
        self.epoch = ""
        self.buffer = b""
        self.first_record = 0

    def reassemble(self, data: bytes, record_no: int) -> tuple[int, list[tuple[bytes, int]]]:
        """Bytes at the start of ``data`` that finish an earlier message, and the messages completed."""
        done: list[tuple[bytes, int]] = []
        cont = 0
        if self.buffer:
            joined = self.buffer + data
            total = 4 + int.from_bytes(joined[1:4], "big") if len(joined) >= 4 else len(joined) + 1
            cont = min(total - len(self.buffer), len(data))
            if len(self.buffer) + cont == total:
                done.append((joined[:total], self.first_record))
                self.buffer = b""
            else:
                self.buffer = joined[: len(self.buffer) + cont]
        pos = cont
        while pos < len(data):
            if len(data) - pos < 4 or 4 + int.from_bytes(data[pos + 1 : pos + 4], "big") > len(data) - pos:
                self.buffer, self.first_record = data[pos:], record_no
                break
            pos += 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
        return cont, done


class _Page:
    def __init__(self, events: list[TraceEvent], title: str, cut: Cut | None = None) -> None:
        self.cut = cut or Cut()
        sides = [e.side for e in events]
        self.side = "client" if "client" in sides else (sides[0] if sides else "client")
        self.peer = "server" if self.side == "client" else "client"
        self.events = [e for e in events if e.side == self.side]
        self.others = [e for e in events if e.side != self.side]
        self.title = title
        traced = [e for e in self.events if isinstance(e, MessageTrace)] or [
            e for e in self.others if isinstance(e, MessageTrace)
        ]
        self.messages = [(e.side if e.direction == "out" else _other(e.side), e.message) for e in traced]
        self.version = self._version()
        self.v13 = self.version is not None and self.version >= ProtocolVersion.TLSv1_3
        suite = self._message("ServerHello", "cipher_suite")
        self.suite = enum_name(suite, CipherSuite) if suite is not None else ""
        sh = self._find("ServerHello")
        self.resumed = sh is not None and (
            self._ext(sh, ExtensionType.pre_shared_key) is not None if self.v13 else not self._certificate("server")
        )
        self.ems = bool(sh is not None and not self.v13 and sh.ext(ExtensionType.extended_master_secret))
        self.kx = None if self.v13 else "ecdhe" if "ECDHE" in self.suite else "dhe" if "DHE" in self.suite else "rsa"
        self.why: dict[str, int] = {}
        self.streams = {"out": _Stream(), "in": _Stream()}
        self.ext_context: dict[str, str] = {}
        self.inherited: dict[str, str] = {}
        self.room = [Illustration.MAX_ROWS]  # field rows the page may still show (illustrate_bounds.pruned)
        # The epoch each record was protected under, for the RFC's {handshake} and [application] notation.
        self.epochs: dict[int, str] = {}
        epochs = {"out": "", "in": ""}
        for e in self.events:
            if isinstance(e, KeysTrace):
                epochs["out" if e.direction == "write" else "in"] = e.epoch
            elif isinstance(e, RecordTrace):
                self.epochs[id(e)] = epochs[e.direction]

    # -- what was negotiated ---------------------------------------------------------------------
    def _find(self, name: str, sender: str | None = None) -> Any:
        for who, msg in self.messages:
            if msg.name.removesuffix("12") == name and sender in (None, who):
                return msg
        return None

    def _message(self, name: str, attr: str) -> Any:
        msg = self._find(name)
        return getattr(msg, attr, None) if msg is not None else None

    def _version(self) -> int | None:
        sh = self._find("ServerHello")
        if sh is None:
            return None
        chosen = sh.ext(ExtensionType.supported_versions)
        version = chosen.value if chosen is not None and chosen.value is not None else sh.legacy_version
        # A version is a 16-bit code point; anything else (a message built wrongly) is no version at all.
        return int(version) if isinstance(version, int) and 0 <= version <= 0xFFFF else None

    def _ext(self, msg: Any, ext_type: int) -> Any:
        ext = msg.ext(ext_type) if msg is not None and hasattr(msg, "ext") else None
        return ext.value if ext is not None else None

    def summary(self) -> list[tuple[str, str]]:
        ch, sh = self._find("ClientHello"), self._find("ServerHello")
        rows = [("Outcome", self._outcome()), ("Seen from", f"the {self.side}")]
        failed = sh is not None and self._failed()
        if failed:
            rows.append(("Negotiated", "nothing: the handshake failed; what the server's answer chose is marked so"))
        mark = " (server's choice)" if failed else ""
        rows += [(name + mark, value) for name, value in self._choices(sh)]
        # The SNI is the client's: escaped (printable), then HTML-escaped with the rest.
        sni = self._ext(ch, ExtensionType.server_name)
        rows.append(("Server name (SNI)", printable(sni) if isinstance(sni, str) else "(none)"))
        for who in ("server", "client"):
            cert = self._certificate(who)
            if cert:
                rows.append((f"{who.capitalize()} certificate", cert))
        # TLS 1.2 resumption is read from what did not come (no Certificate): not when the handshake stopped early.
        if sh is not None and not (failed and not self.v13):
            rows.append(("Resumed session" + mark, self._resumption()))
        rows += self._tls13_extras(ch)
        records = [e for e in self.events if isinstance(e, RecordTrace)]
        for d, label in (("out", f"{self.side} → {self.peer}"), ("in", f"{self.peer} → {self.side}")):
            mine = [e for e in records if e.direction == d]
            count, size = self.cut.omitted.get((self.side, d), (0, 0))  # counted after a limit, not kept
            count, size = count + len(mine), size + sum(len(e.header) + len(e.payload) for e in mine)
            rows.append((f"Records {label}", f"{count} ({size} bytes)"))
        return rows

    def _choices(self, sh: Any) -> list[tuple[str, str]]:
        """What the server's answer chose: the version, suite, key exchange, signature, ALPN protocol."""
        rows = []
        if self.version is not None:
            rows.append(("Version", ProtocolVersion(self.version).label))
        if self.suite:
            rows.append(("Cipher suite", self.suite))
        group = self._key_exchange()
        if group:
            rows.append(("Key exchange", group))
        scheme = self._message("CertificateVerify", "algorithm") if self.v13 else None
        ske = self._find("ServerKeyExchange")
        if ske is not None:
            scheme = _safe(lambda: (ske.ecdhe() if self.kx == "ecdhe" else ske.dhe()).algorithm)
        if scheme is not None:
            rows.append(("Server signature", enum_name(scheme, SignatureScheme)))
        # The ALPN name is the peer's: escaped (printable), then HTML-escaped with the rest.
        alpn = self._ext(self._find("EncryptedExtensions") or sh, ExtensionType.application_layer_protocol_negotiation)
        rows.append(("ALPN", printable(alpn[0]) if alpn else "(none)"))
        if not self.v13 and sh is not None:
            ems = sh.ext(ExtensionType.extended_master_secret) is not None
            rows.append(("Extended master secret", "yes (RFC 7627)" if ems else "no"))
        return rows

    def _failed(self) -> bool:
        """A fatal alert ended the handshake before both Finished messages: nothing was negotiated."""
        finished = {who for who, msg in self.messages if msg.name == "Finished"}
        fatal = any(isinstance(e, AlertTrace) and e.level == 2 for e in self.events + self.others)
        return fatal and finished != {"client", "server"}

    def _resumption(self) -> str:
        if not self.resumed:
            return "no"
        if not self.v13:
            return "yes: no certificate, no key exchange"
        sh = self._find("ServerHello")
        if self._ext(sh, ExtensionType.key_share) is not None:
            return "yes: a pre-shared key (psk_dhe_ke, with a fresh key exchange), no certificate"
        return "yes: a pre-shared key alone (psk_ke, no fresh key exchange), no certificate"

    def _tls13_extras(self, ch: Any) -> list[tuple[str, str]]:
        """HelloRetryRequest, 0-RTT and tickets, when the connection had them (RFC 8446)."""
        rows = []
        hrr = self._find("HelloRetryRequest")
        if hrr is not None:
            group = self._ext(hrr, ExtensionType.key_share)
            asks = [f"a key share for {enum_name(group, NamedGroup)}"] if group is not None else []
            if self._ext(hrr, ExtensionType.cookie) is not None:
                asks.append("its cookie back (the server kept no state)")
            rows.append(("HelloRetryRequest", "asked for " + " and ".join(asks) if asks else "yes"))
        if ch is not None and self._ext(ch, ExtensionType.early_data) is not None:
            ee = self._find("EncryptedExtensions")
            if hrr is not None or (ee is not None and self._ext(ee, ExtensionType.early_data) is None):
                early = "offered, rejected: the server skipped it"
            elif ee is not None:
                early = "offered and accepted"
            else:
                early = "offered"
            rows.append(("0-RTT early data", early))
        tickets = [msg for _, msg in self.messages if msg.name == "NewSessionTicket"]
        if tickets:
            first = tickets[0]
            early_ext = next((e for e in first.extensions if e.type == ExtensionType.early_data), None)
            early_size = f", 0-RTT up to {early_ext.value} bytes" if early_ext is not None else ""
            lifetime = f"lifetime {first.ticket_lifetime} s{early_size}"
            rows.append(("Tickets", f"{len(tickets)} NewSessionTicket{'s' if len(tickets) > 1 else ''} ({lifetime})"))
        return rows

    def _outcome(self) -> str:
        for e in self.events + self.others:
            if isinstance(e, AlertTrace) and e.level == 2:  # fatal (RFC 8446, Section 6.2)
                verb = "sent" if e.direction == "out" else "received"
                return f"failed: the {e.side} {verb} a fatal {enum_name(e.description, AlertDescription)} alert"
        finished = {who for who, msg in self.messages if msg.name == "Finished"}
        return "handshake complete" if finished == {"client", "server"} else "handshake not finished"

    def _key_exchange(self) -> str:
        if self.v13:
            sh = self._find("ServerHello")
            share = self._ext(sh, ExtensionType.key_share)
            if share is None:
                return "none: the keys come from the pre-shared key alone (psk_ke)" if self.resumed else ""
            group = enum_name(getattr(share, "group", share), NamedGroup)
            pq = hybrid(getattr(share, "group", None))
            if pq is not None:
                return f"{group}: hybrid post-quantum ({pq.components}; ephemeral, forward secret)"
            return f"{group} (ephemeral, forward secret)"
        ske = self._find("ServerKeyExchange")
        if self.kx == "rsa":
            return "RSA key transport: the client encrypts the pre-master secret (no forward secrecy)"
        if ske is None:
            return ""
        if self.kx == "ecdhe":
            return _safe(lambda: f"ECDHE over {ske.ecdhe().group.name} (ephemeral, forward secret)") or "ECDHE"
        return _safe(lambda: f"DHE with a {len(ske.dhe().p) * 8}-bit prime (ephemeral, forward secret)") or "DHE"

    def _certificate(self, who: str) -> str:
        msg = self._find("Certificate", who)
        if msg is None:
            compressed = self._find("CompressedCertificate", who)
            if compressed is None:
                return ""
            size = len(compressed.compressed_certificate_message)
            algorithm = enum_name(compressed.algorithm, CertificateCompressionAlgorithm)
            how = f"sent compressed ({algorithm}, {compressed.uncompressed_length} bytes in {size}; RFC 8879)"
            inner = inflated_certificate(compressed)
            if inner is None or not inner.entries:
                return how
            info = certificate_info(inner.entries[0].cert_data)
            return f"{info.get('subject', info.get('error', ''))}, {how}"
        ders = [e.cert_data for e in msg.entries] if hasattr(msg, "entries") else list(msg.certificates)
        if not ders:
            return "(none sent)"
        tree = field_tree(msg.raw, "handshake", self.version)
        leaf = next((f for _, f in tree.walk() if f.name in ("cert_data", "ASN.1Cert")), None)
        return leaf.value if leaf is not None else ""

    # -- the page -----------------------------------------------------------------------------------
    def render(self) -> str:
        body = [self._header(), self._flow(), self._legend(), self._timeline()]
        why = json.dumps(list(self.why), ensure_ascii=False).replace("</", "<\\/")
        title = _esc(self.title or self._title())
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{CSS}</style></head><body>"
            f"<main>{''.join(body)}</main>"
            '<aside id="inspector" class="idle"><div class="i-path">Hover over any byte or field</div>'
            '<div class="i-value"></div><div class="i-range"></div><div class="i-why">'
            "Its name, value and purpose show here; click to pin, click again to release.</div>"
            '<div class="i-note"></div></aside>'
            f'<script type="application/json" id="why">{why}</script><script>{SCRIPT}</script>'
            "</body></html>\n"
        )

    def _title(self) -> str:
        version = ProtocolVersion(self.version).label.replace("TLSv", "TLS ") if self.version is not None else "TLS"
        return f"glasstls: an illustrated {version} connection"

    def _header(self) -> str:
        rows = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in self.summary())
        checks = [e for e in self.events + self.others if isinstance(e, VerificationTrace | AlertTrace)]
        items = "".join(self._check_item(e) for e in checks) or "<li>none</li>"
        secrets = any(isinstance(e, SecretTrace) and e.secret for e in self.events)
        warn = (
            '<p class="warn">This page shows the connection\'s secrets. Anyone who has it can decrypt a capture '
            "of this connection: keep it private.</p>"
            if secrets
            else ""
        )
        intro = (
            "Every record of one live connection, byte by byte. Hover over a byte to see which field it "
            "belongs to, what it holds and why it is there; click to pin. Between the records: the secrets "
            "and keys as they are derived, the state changes and the checks."
        )
        return (
            f'<header><h1>{_esc(self.title or self._title())}</h1><p class="intro">{intro}</p>{warn}'
            f'<div class="top"><section class="summary"><h2>Negotiated</h2><dl>{rows}</dl></section>'
            f'<section class="checks"><h2>Checks and alerts</h2><ul>{items}</ul></section></div></header>'
        )

    def _check_item(self, e: TraceEvent) -> str:
        if isinstance(e, VerificationTrace):
            mark = '<b class="ok">✓</b>' if e.ok else '<b class="bad">✗</b>'
            return f"<li>{mark} <i>{_esc(e.side)}</i> {_esc(e.subject)}: {_esc(e.detail)}</li>"
        assert isinstance(e, AlertTrace)
        verb = "sent" if e.direction == "out" else "received"
        reason = f": {_esc(e.reason)}" if e.reason else ""
        return (
            f'<li><b class="bad">!</b> <i>{_esc(e.side)}</i> {verb} alert '
            f"{_esc(enum_name(e.level, AlertLevel))} {_esc(enum_name(e.description, AlertDescription))}{reason}</li>"
        )

    def _flow(self) -> str:
        rows = []
        numbers = {id(rec): n for n, rec in self._numbered()}
        for e in self.events:
            if isinstance(e, KeysTrace):  # where each side changes keys, between the arrows
                verb = "encrypts" if e.direction == "write" else "decrypts"
                rows.append(f'<div class="fl-k">{_esc(self.side)} now {verb} with {_esc(e.epoch)} keys</div>')
            if not isinstance(e, RecordTrace) or id(e) not in numbers:
                continue
            c2s = (e.direction == "out") == (self.side == "client")
            lock = ' <span class="fl-e">encrypted</span>' if e.plaintext is not None else ""
            rows.append(
                f'<a class="fl {"c2s" if c2s else "s2c"}" href="#record-{numbers[id(e)]}">'
                f'<span class="fl-n">#{numbers[id(e)]}</span>'
                f'<span class="fl-m">{_esc(self._record_title(e))}{lock}</span></a>'
            )
        return (
            '<section class="flow"><h2>The flow</h2><div class="fl-head"><span>client</span><span>server</span>'
            f"</div>{''.join(rows)}</section>"
        )

    def _legend(self) -> str:
        items = "".join(f'<span class="lg"><span class="sw {c}"></span>{_esc(label)}</span>' for c, label in LEGEND)
        return f'<section class="legend"><h2>Colours</h2>{items}</section>'

    def _numbered(self) -> list[tuple[int, RecordTrace]]:
        records = [e for e in self.events if isinstance(e, RecordTrace)]
        return list(enumerate(records, 1))

    def _record_title(self, rec: RecordTrace) -> str:
        ctype = rec.inner_type if rec.plaintext is not None and rec.inner_type is not None else rec.content_type
        data = rec.plaintext if rec.plaintext is not None else rec.payload
        if ctype == ContentType.handshake:
            names = [c.name for c in content_tree(data, ctype, self.version).children]
            text = ", ".join("(continued)" if n == "message fragment" else n for n in names) or "handshake"
        elif ctype == ContentType.alert:
            text = "Alert " + (content_tree(data, ctype).value or "")
        elif ctype == ContentType.change_cipher_spec:
            text = "ChangeCipherSpec"
        elif ctype == ContentType.application_data:
            text = f"application data ({len(data)} bytes)"
        else:
            text = ContentType(ctype).name
        epoch = self.epochs.get(id(rec), "")
        if rec.plaintext is not None and self.v13 and epoch.startswith("early"):
            return f"({text})"  # 0-RTT, in RFC 8446's notation (Section 2.3)
        if rec.plaintext is not None and self.v13 and ctype == ContentType.handshake:
            return f"[{text}]" if epoch.startswith("application") else f"{{{text}}}"
        return text

    # -- the timeline ------------------------------------------------------------------------------
    def _timeline(self) -> str:
        out: list[str] = []
        steps: list[str] = []
        numbers = {id(rec): n for n, rec in self._numbered()}
        for e in self.events:
            if isinstance(e, RecordTrace):
                if steps:
                    out.append(f'<div class="steps">{"".join(steps)}</div>')
                    steps = []
                out.append(self._safe_record(numbers[id(e)], e))
            elif isinstance(e, KeysTrace):
                stream = self.streams["out" if e.direction == "write" else "in"]
                stream.suite, stream.epoch = e.suite, e.epoch
                steps.append(self._keys_step(e))
            elif isinstance(e, SecretTrace):
                steps.append(self._secret_step(e))
            elif isinstance(e, StateTrace):
                steps.append(
                    f'<div class="step st"><span class="badge">state</span>{_esc(e.old)} → <b>{_esc(e.new)}</b></div>'
                )
            elif isinstance(e, VerificationTrace):
                cls, mark = ("ok", "✓ check") if e.ok else ("bad", "✗ check")
                steps.append(
                    f'<div class="step {cls}"><span class="badge">{mark}</span><b>{_esc(e.subject)}</b>: '
                    f"{_esc(e.detail)}</div>"
                )
            elif isinstance(e, AlertTrace):
                verb = "sends" if e.direction == "out" else "receives"
                reason = f" ({_esc(e.reason)})" if e.reason else ""
                steps.append(
                    f'<div class="step bad"><span class="badge">alert</span>the {_esc(self.side)} {verb} '
                    f"<b>{_esc(enum_name(e.level, AlertLevel))} {_esc(enum_name(e.description, AlertDescription))}</b>"
                    f"{reason}</div>"
                )
        if steps:
            out.append(f'<div class="steps">{"".join(steps)}</div>')
        if self.side in self.cut.limit:
            out.append(f'<p class="empty omitted">{_esc(self._not_shown())}</p>')
        if not out:
            out.append('<p class="empty">No events were recorded.</p>')
        return f'<section class="timeline"><h2>Record by record</h2>{"".join(out)}</section>'

    def _not_shown(self) -> str:
        """What the page leaves out of a long connection, and the limit that made it stop."""
        records = [self.cut.omitted.get((self.side, d), [0, 0]) for d in ("out", "in")]
        count, size = sum(r[0] for r in records), sum(r[1] for r in records)
        others = self.cut.events.get(self.side, 0)
        nor = f", nor {others} other events (key changes, secrets, state changes)" if others else ""
        limit, value = self.cut.limit[self.side]
        why = f"first {value} records" if limit == "MAX_RECORDS" else f"records up to {value} bytes"
        shows = f"the page shows a side's {why} (Illustration.{limit})"
        return f"{count} more records ({size} bytes) are not shown{nor}: {shows}."

    def _safe_record(self, n: int, rec: RecordTrace) -> str:
        """The record's card; one that cannot be drawn says why, and the page goes on."""
        try:
            return self._record(n, rec)
        except Exception as exc:
            return (
                f'<article class="record" id="record-{n}" data-record="{n}"><div class="rh">'
                f'<span class="rn">#{n}</span><span class="rt">this record cannot be shown: '
                f"{_esc(exception_text(exc))}</span></div></article>"
            )

    def _keys_step(self, e: KeysTrace) -> str:
        who = self.side if e.direction == "write" else self.peer
        verb = "encrypts what it sends" if e.direction == "write" else "decrypts what it receives"
        whose = "" if who in e.epoch else f" of the {_esc(who)}"
        return (
            f'<div class="step keys"><span class="badge">keys</span>The {_esc(self.side)} now {verb} with the '
            f"<b>{_esc(e.epoch)}</b> keys{whose} ({_esc(e.suite)}).</div>"
        )

    def _secret_step(self, e: SecretTrace) -> str:
        formula, keylog = secret_info(e.label, self.v13, self.ems)
        if self.resumed and not self.v13 and e.label == "master_secret":
            formula = (
                "The master secret of the earlier session, restored from the ticket or the session cache: no new "
                "key exchange. The two fresh randoms still give this connection its own key block "
                "(RFC 5246, Section 6.3)."
            )
        value = '<div class="kl">value not recorded (the observer did not ask for secrets)</div>'
        if e.secret is not None:
            value = f'<div class="sv">{_esc(e.secret.hex())}</div>'
            if keylog:
                value += (
                    f'<div class="kl" title="the NSS key log line (SSLKEYLOGFILE) for this secret">'
                    f"{_esc(keylog)} {_esc(e.client_random.hex())} {_esc(e.secret.hex())}</div>"
                )
        return (
            f'<div class="step secret"><span class="badge">secret</span><b>{_esc(e.label)}</b>'
            f'<div class="sf">{_esc(formula)}</div>{value}</div>'
        )

    def _record(self, n: int, rec: RecordTrace) -> str:
        c2s = (rec.direction == "out") == (self.side == "client")
        sender, receiver = ("client", "server") if c2s else ("server", "client")
        raw = rec.header + rec.payload
        stream = self.streams[rec.direction]
        wire = field_tree(raw, "record", self.version)
        blocks: list[str] = []
        completed: list[tuple[bytes, int]] = []
        title = self._record_title(rec)
        if rec.plaintext is None:
            if len(wire.children) > 3 and rec.content_type in (20, 21, 22):
                payload = wire.children[3]
                cont = 0
                if rec.content_type == ContentType.handshake:
                    cont, completed = stream.reassemble(rec.payload, n)
                tree = content_tree(rec.payload, rec.content_type, self.version, continued=cont, key_exchange=self.kx)
                node = tree.shifted(5)
                node.name, node.note = payload.name, payload.note or node.note
                wire.children[3] = node
            meta = "in the clear"
            blocks.append(self._block(f"r{n}w", raw, wire, "On the wire", "bytes exactly as sent"))
        else:
            if len(wire.children) > 3:
                wire.children[3] = _cipher_parts(wire.children[3], stream.suite, self.v13)
            epoch = stream.epoch if sender in stream.epoch else f"{sender}'s {stream.epoch}"
            keys = f"the {epoch} keys" if stream.epoch else "the negotiated keys"
            meta = f"encrypted with {keys} ({stream.suite or 'unknown suite'})"
            blocks.append(self._block(f"r{n}w", raw, wire, "On the wire (encrypted)", "ciphertext as sent"))
            inner_type = rec.inner_type if rec.inner_type is not None else rec.content_type
            cont = 0
            if inner_type == ContentType.handshake:
                cont, completed = stream.reassemble(rec.plaintext, n)
            if self.v13:
                padding = max(len(rec.payload) - _tag_length(stream.suite) - 1 - len(rec.plaintext), 0)
                inner = rec.plaintext + bytes([inner_type]) + bytes(padding)
                tree = field_tree(inner, "inner", self.version, continued=cont, key_exchange=self.kx)
                label = "Decrypted: the TLSInnerPlaintext"
            else:
                inner = rec.plaintext
                tree = content_tree(
                    inner, inner_type, self.version, continued=cont, key_exchange=self.kx, name="plaintext"
                )
                label = "Decrypted: the plaintext"
            blocks.append(self._block(f"r{n}d", inner, tree, label, f"opened with {keys}", "dec"))
        for i, (msg, first) in enumerate(completed):
            mtree = field_tree(msg, "handshake", self.version, key_exchange=self.kx)
            label = f"Reassembled {mtree.name} (records #{first} to #{n})"
            blocks.append(self._block(f"r{n}m{i}", msg, mtree, label, "one message that spanned records", "dec"))
        cls = "c2s" if c2s else "s2c"
        size = f"{len(raw)} bytes: 5 of header, {len(rec.payload)} of payload"
        return (
            f'<article class="record {cls}" id="record-{n}" data-record="{n}">'
            f'<div class="rh"><span class="rn">#{n}</span><span class="dir">{sender} → {receiver}</span>'
            f'<span class="rt">{_esc(title)}</span></div>'
            f'<div class="rm">{_esc(ContentType(rec.content_type).name)} record · {_esc(size)} · {_esc(meta)}</div>'
            f"{self._intro(wire, rec)}{''.join(blocks)}</article>"
        )

    def _intro(self, wire: Field, rec: RecordTrace) -> str:
        """The purpose of what the record carries, in a sentence or two per message."""
        ctype = rec.inner_type if rec.plaintext is not None and rec.inner_type is not None else rec.content_type
        names: list[str] = []
        if ctype == ContentType.handshake:
            data = rec.plaintext if rec.plaintext is not None else rec.payload
            names = [c.name for c in content_tree(data, ctype, self.version).children]
        else:
            names = [{20: "ChangeCipherSpec", 21: "Alert", 23: "application_data"}.get(int(ctype), "")]
        parts = []
        for name in dict.fromkeys(names):
            text = explain(name, "", "", self.v13, kx=self.kx)
            if text:
                parts.append(f"<p><b>{_esc(name)}</b>: {_esc(text)}</p>")
        return f'<div class="intro-r">{"".join(parts)}</div>' if parts else ""

    # -- one block: hex on the left, the field tree on the right ------------------------------------
    def _block(self, uid: str, raw: bytes, tree: Field, title: str, sub: str, cls: str = "") -> str:
        tree = pruned(tree, self.room, Illustration.MAX_FIELDS)
        ids = {id(node): f"{uid}-{i}" for i, (_, node) in enumerate(tree.walk())}
        hexes = self._hex(raw, tree, ids)
        rows = self._tree(tree, ids, [], 0)
        return (
            f'<div class="blk {cls}"><div class="bh">{_esc(title)} <span>{_esc(sub)} · {len(raw)} bytes</span></div>'
            f'<div class="cols"><div class="hex">{hexes}</div><div class="tree">{rows}</div></div></div>'
        )

    def _hex(self, raw: bytes, tree: Field, ids: dict[int, str]) -> str:
        out: list[str] = []
        last_cat, alt = "", False

        def walk(node: Field, ancestors: list[str], parent: str) -> None:
            nonlocal last_cat, alt
            chain = [*ancestors, ids[id(node)]]
            if node.children:
                for child in node.children:
                    walk(child, chain, node.name)
                return
            cat = _category(node.name, parent)
            alt = (not alt) if cat == last_cat else False
            last_cat = cat
            data = raw[node.start : node.end]
            if len(data) > 64:
                # Long values fold; the middle (up to _MAX_HIDDEN bytes of it) unfolds on a click.
                middle = data[32:-8]
                cut = f" [{len(middle) - _MAX_HIDDEN} bytes not shown] " if len(middle) > _MAX_HIDDEN else " "
                body = (
                    f'{_bytes(data[:32])} <span class="mid">{_bytes(middle[:_MAX_HIDDEN])}{cut}</span>'
                    f'<span class="ell" title="show all {len(data)} bytes">[+{len(middle)} bytes]</span> '
                    f"{_bytes(data[-8:])}"
                )
            else:
                body = _bytes(data)
            out.append(
                f'<span class="f {cat}{" alt" if alt else ""}" data-f="{ids[id(node)]}" '
                f'data-a="{" ".join(chain)}">{body}</span> '
            )

        walk(tree, [], "")
        return "".join(out)

    def _tree(self, node: Field, ids: dict[int, str], path: list[str], depth: int) -> str:
        nid = ids[id(node)]
        parent = path[-1] if path else ""
        msg = next((p for p in reversed(path) if p[:1].isupper() and p not in _STRUCTS), "")
        ext = node.value.split(":")[0] if node.name == "Extension" else self.ext_context.get(nid, "")
        text = explain(node.name, parent, msg, self.v13, ext=ext, kx=self.kx) or self.inherited.get(nid, "")
        why = self.why.setdefault(text, len(self.why)) if text else -1
        full = " › ".join([*path, node.name])
        cat = _category(node.name, parent) if not node.children else ""
        swatch = f'<span class="sw {cat}"></span>' if cat else ""
        note = f'<span class="note">{_esc(node.note)}</span>' if node.note else ""
        rng = f"{node.start}–{node.end - 1}" if node.size > 1 else f"{node.start}" if node.size else "empty"
        row = (
            f'<div class="row" id="t-{nid}" data-f="{nid}" data-p="{_esc(full)}" data-v="{_esc(node.value)}" '
            f'data-r="bytes {rng} ({node.size})" data-w="{why}" data-n="{_esc(node.note)}">{swatch}'
            f'<span class="nm">{_esc(node.name)}</span> <span class="val">{_esc(node.value)}</span>{note}</div>'
        )
        if not node.children:
            return row
        for child in node.children:
            self.ext_context[ids[id(child)]] = ext
            if text and node.name in _INHERIT:
                self.inherited[ids[id(child)]] = text
        children = "".join(self._tree(c, ids, [*path, node.name], depth + 1) for c in node.children)
        is_open = (
            depth < 3 or node.name in ("extensions", "content", "plaintext") or node.children[0].name == "msg_type"
        )
        return (
            f'<details{" open" if is_open else ""}><summary>{row}</summary><div class="kids">{children}</div></details>'
        )


# -- helpers -------------------------------------------------------------------------------------


def _failed_page(title: str, why: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title or 'glasstls')}</title></head><body><main>"
        f"<p>This connection cannot be illustrated: {_esc(why)}</p></main></body></html>\n"
    )


_MAX_HIDDEN = 8192  # bytes of one field's folded middle kept in the page


def _other(side: str) -> str:
    return "server" if side == "client" else "client"


# Nodes whose explanation also serves the fields inside them that have none of their own.
_INHERIT = {"Extension", "extension_data", "KeyShareEntry", "CertificateEntry", "ServerName", "PskIdentity", "Alert"}

_STRUCTS = {"Extension", "KeyShareEntry", "ServerName", "PskIdentity", "CertificateEntry", "Alert", "TLSInnerPlaintext"}


def _safe(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except Exception:
        return None


def _bytes(data: bytes) -> str:
    return data.hex(" ")


def _tag_length(suite: str) -> int:
    return 8 if suite.endswith("CCM_8_SHA256") or "CCM_8" in suite else 16


def _cipher_parts(payload: Field, suite: str, v13: bool) -> Field:
    """The ciphertext split as the AEAD (or CBC) construction lays it out (RFC 8446, Section 5.2; RFC 5246, 6.2.3)."""
    start, end, size = payload.start, payload.end, payload.size
    tag = _tag_length(suite)
    parts: list[tuple[str, int]] = []
    if v13:
        parts = [("encrypted_content", size - tag), ("auth_tag", tag)]
    elif "GCM" in suite or "CCM" in suite:
        parts = [("explicit_nonce", 8), ("encrypted_content", size - 8 - tag), ("auth_tag", tag)]
    elif "CHACHA20" in suite:
        parts = [("encrypted_content", size - tag), ("auth_tag", tag)]
    elif "CBC" in suite:
        parts = [("iv", 16), ("encrypted_content_mac_padding", size - 16)]
    if not parts or any(n <= 0 for _, n in parts):
        return payload
    children, pos = [], start
    for name, n in parts:
        children.append(Field(name, pos, pos + n, f"{n} bytes"))
        pos += n
    assert pos == end
    return Field(payload.name, start, end, payload.value, children, payload.note)
