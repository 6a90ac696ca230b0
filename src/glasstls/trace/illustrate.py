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

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..enums import ContentType, ExtensionType, ProtocolVersion
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
from .fields import Field, content_tree, field_tree

_esc = html.escape


class Illustration(Observer):
    """Collects one connection's trace events and renders them as an illustrated HTML page."""

    def __init__(self, wants_secrets: bool = True, title: str = "") -> None:
        self.wants_secrets = wants_secrets
        self.title = title
        self.events: list[TraceEvent] = []

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)

    def add(self, events: Iterable[TraceEvent] | Any) -> None:
        """Add events from elsewhere, e.g. the other side's ``EventList`` (or its ``.events``)."""
        self.events.extend(getattr(events, "events", events))

    def render(self) -> str:
        """The page, as one string of HTML."""
        return _Page(self.events, self.title).render()

    def write_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.render(), encoding="utf-8")
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
    def __init__(self, events: list[TraceEvent], title: str) -> None:
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
        self.suite = suite.name if suite is not None else ""
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
        return chosen.value if chosen is not None and chosen.value is not None else sh.legacy_version

    def _ext(self, msg: Any, ext_type: int) -> Any:
        ext = msg.ext(ext_type) if msg is not None and hasattr(msg, "ext") else None
        return ext.value if ext is not None else None

    def summary(self) -> list[tuple[str, str]]:
        ch, sh = self._find("ClientHello"), self._find("ServerHello")
        rows = [("Outcome", self._outcome()), ("Seen from", f"the {self.side}")]
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
            rows.append(("Server signature", scheme.name))
        sni = self._ext(ch, ExtensionType.server_name)
        rows.append(("Server name (SNI)", sni if isinstance(sni, str) else "(none)"))
        alpn = self._ext(self._find("EncryptedExtensions") or sh, ExtensionType.application_layer_protocol_negotiation)
        rows.append(("ALPN", alpn[0].decode("ascii", "replace") if alpn else "(none)"))
        for who in ("server", "client"):
            cert = self._certificate(who)
            if cert:
                rows.append((f"{who.capitalize()} certificate", cert))
        if sh is not None:
            rows.append(("Resumed session", "yes: no certificate, no key exchange" if self.resumed else "no"))
        if not self.v13 and sh is not None:
            ems = sh.ext(ExtensionType.extended_master_secret) is not None
            rows.append(("Extended master secret", "yes (RFC 7627)" if ems else "no"))
        records = [e for e in self.events if isinstance(e, RecordTrace)]
        for d, label in (("out", f"{self.side} → {self.peer}"), ("in", f"{self.peer} → {self.side}")):
            mine = [e for e in records if e.direction == d]
            rows.append(
                (f"Records {label}", f"{len(mine)} ({sum(len(e.header) + len(e.payload) for e in mine)} bytes)")
            )
        return rows

    def _outcome(self) -> str:
        for e in self.events + self.others:
            if isinstance(e, AlertTrace) and e.level == 2:  # fatal (RFC 8446, Section 6.2)
                verb = "sent" if e.direction == "out" else "received"
                return f"failed: the {e.side} {verb} a fatal {e.description.name} alert"
        finished = {who for who, msg in self.messages if msg.name == "Finished"}
        return "handshake complete" if finished == {"client", "server"} else "handshake not finished"

    def _key_exchange(self) -> str:
        if self.v13:
            sh = self._find("ServerHello")
            share = self._ext(sh, ExtensionType.key_share)
            return f"{share.group.name} (ephemeral, forward secret)" if share is not None else ""
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
            return ""
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
            f"{_esc(e.level.name)} {_esc(e.description.name)}{reason}</li>"
        )

    def _flow(self) -> str:
        rows = []
        numbers = {id(rec): n for n, rec in self._numbered()[:_MAX_RECORDS]}
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
        if rec.plaintext is not None and self.v13 and ctype == ContentType.handshake:
            return f"[{text}]" if self.epochs.get(id(rec), "").startswith("application") else f"{{{text}}}"
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
                if numbers[id(e)] <= _MAX_RECORDS:
                    out.append(self._record(numbers[id(e)], e))
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
                    f"<b>{_esc(e.level.name)} {_esc(e.description.name)}</b>{reason}</div>"
                )
        if steps:
            out.append(f'<div class="steps">{"".join(steps)}</div>')
        if len(numbers) > _MAX_RECORDS:
            out.append(f'<p class="empty">{len(numbers) - _MAX_RECORDS} more records are not shown.</p>')
        if not out:
            out.append('<p class="empty">No events were recorded.</p>')
        return f'<section class="timeline"><h2>Record by record</h2>{"".join(out)}</section>'

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


_MAX_HIDDEN = 8192  # bytes of one field's folded middle kept in the page
_MAX_RECORDS = 300  # record cards on one page; a long transfer is summarised after that


def _other(side: str) -> str:
    return "server" if side == "client" else "client"


# Nodes whose explanation also serves the fields inside them that have none of their own.
_INHERIT = {"Extension", "extension_data", "KeyShareEntry", "CertificateEntry", "ServerName", "PskIdentity", "Alert"}

_STRUCTS = {"Extension", "KeyShareEntry", "ServerName", "PskIdentity", "CertificateEntry", "Alert", "TLSInnerPlaintext"}


def _safe(fn: Any) -> Any:
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


def _category(name: str, parent: str) -> str:
    if parent == "TLSInnerPlaintext" and name == "type":
        return "c-inner"
    if name == "length" or name.endswith(" length"):
        return "c-len"
    for cat, names in _CATEGORIES:
        if name in names:
            return cat
    return "c-data" if parent in ("Extension", "extension_data") else "c-ext"


_CATEGORIES = [
    ("c-hdr", {"type", "legacy_record_version", "msg_type"}),
    ("c-ver", {"legacy_version", "selected_version", "ProtocolVersion"}),
    ("c-rnd", {"random"}),
    ("c-sid", {"legacy_session_id", "legacy_session_id_echo", "ticket", "identity", "ticket_nonce", "PskBinderEntry"}),
    ("c-suite", {"cipher_suite", "compression_method", "legacy_compression_method"}),
    ("c-ext", {"extension_type"}),
    (
        "c-key",
        {
            "key_exchange",
            "public",
            "ecdh_Yc",
            "dh_Yc",
            "dh_p",
            "dh_g",
            "dh_Ys",
            "EncryptedPreMasterSecret",
            "exchange_keys",
            "group",
            "named_curve",
            "NamedGroup",
            "selected_group",
            "curve_type",
        },
    ),
    ("c-cert", {"cert_data", "ASN.1Cert", "OCSPResponse", "DistinguishedName"}),
    ("c-sig", {"algorithm", "signature", "SignatureScheme"}),
    ("c-fin", {"verify_data"}),
    ("c-enc", {"encrypted_content", "encrypted_content_mac_padding", "encrypted_record", "fragment"}),
    ("c-tag", {"auth_tag", "explicit_nonce", "iv"}),
    ("c-inner", {"zeros", "padding"}),
    ("c-app", {"application_data"}),
    ("c-alert", {"level", "description"}),
    ("c-bad", {"undecodable", "message fragment"}),
]


# -- what each field is for ---------------------------------------------------------------------
# Keys: "Message/field@13", "Message/field", "parent/field", "field@12", "field@ecdhe", "field".
# Sentences are ours; the RFC sections say where the rules are.

_WHY = {
    # records (RFC 8446, Section 5.1; RFC 5246, Section 6.2)
    "record/type": "The record's content type: handshake (22), alert (21), change_cipher_spec (20) or "
    "application_data (23). TLS 1.3 labels every encrypted record application_data and hides the real type inside.",
    "legacy_record_version": "The record-layer version. It negotiates nothing: 0x0301 in a first ClientHello for old "
    "middleboxes, 0x0303 everywhere else.",
    "record/length": "Length of the payload that follows; at most 16384 bytes of plaintext (RFC 8446, Section 5.1).",
    "fragment": "The record's payload: one or more handshake messages (or pieces of one), an alert, a "
    "change_cipher_spec or application data.",
    "encrypted_record": "The encrypted TLSInnerPlaintext followed by the AEAD tag (RFC 8446, Section 5.2).",
    "encrypted_content": "The content, encrypted with the sender's traffic key. Only a holder of the keys derived in "
    "this handshake can read it.",
    "encrypted_content_mac_padding": "CBC mode (RFC 5246, Section 6.2.3.2): the content, its HMAC and the padding, "
    "encrypted together (MAC-then-encrypt).",
    "auth_tag": "The AEAD authentication tag: proof that the ciphertext and the record header were not changed. "
    "A wrong tag ends the connection with bad_record_mac.",
    "explicit_nonce": "TLS 1.2 AES-GCM/CCM: the 8 bytes of the nonce sent in the clear; the other 4 come from the key "
    "block (RFC 5288, Section 3).",
    "iv": "The random initialisation vector of this CBC record (RFC 5246, Section 6.2.3.2).",
    # TLSInnerPlaintext (RFC 8446, Section 5.2)
    "TLSInnerPlaintext": "What the AEAD protects: the content, then the real content type, then optional zeros.",
    "TLSInnerPlaintext/type": "The real content type, hidden inside the encryption so an observer cannot tell "
    "handshake messages, alerts and data apart.",
    "zeros": "Padding: zeros that hide the real length of the content.",
    "content": "The content of the record.",
    "plaintext": "The decrypted content of the record.",
    "application_data": "Application data: the bytes the application sent (an HTTP request, say). On the wire they "
    "are ciphertext; decrypted here with the traffic keys.",
    "message fragment": "Part of a handshake message that does not fit in this record: messages may span records "
    "(RFC 8446, Section 5.1).",
    "undecodable": "Bytes that do not hold what the layout says at this point.",
    # alerts and change_cipher_spec
    "Alert": "An alert: a warning or a fatal error, or close_notify, the orderly end of the connection "
    "(RFC 8446, Section 6).",
    "level": "warning (1) or fatal (2). In TLS 1.3 the description alone decides, except for close_notify.",
    "description": "What happened: close_notify, or the error that ends the connection.",
    "ChangeCipherSpec@12": "From the next record on, this side encrypts with the keys just derived "
    "(RFC 5246, Section 7.1).",
    "ChangeCipherSpec@13": "A dummy record sent only so middleboxes that expect TLS 1.2 see a familiar flow; the peer "
    "drops it (RFC 8446, Appendix D.4).",
    "ChangeCipherSpec/type": "Always the single byte 1.",
    # handshake messages
    "msg_type": "The handshake message type.",
    "length": "Length in bytes of what follows in this structure.",
    "ClientHello@13": "The client opens the handshake: the versions, cipher suites, groups and signature schemes it "
    "supports, the server name it wants, its random, and already a key share, so the server can answer with "
    "its own and both can encrypt after one round trip.",
    "ClientHello@12": "The client opens the handshake: the versions, cipher suites and extensions it supports and the "
    "client random, the first of the three randoms the keys are made from.",
    "ServerHello@13": "The server chooses the version, the cipher suite and a key share. With both shares each side "
    "now computes the same shared secret: everything after this message is encrypted.",
    "ServerHello@12": "The server chooses the version and cipher suite and sends the server random, the second of the "
    "three randoms, and a session ID to resume with later.",
    "HelloRetryRequest": "The server asks the client to try again with a key share for another group "
    "(RFC 8446, Section 4.1.4).",
    "EncryptedExtensions": "The extensions that do not shape the key exchange (ALPN, server name acknowledgement, "
    "record size limit), already encrypted (RFC 8446, Section 4.3.1).",
    "CertificateRequest": "The server asks the client for a certificate: client authentication.",
    "Certificate": "The sender's certificate chain: its identity and public key, signed by a certificate authority "
    "the peer is to check up to a trusted root, with the host name and the validity dates.",
    "CertificateVerify": "A signature over the whole handshake so far with the certificate's private key: proves the "
    "sender holds that key and that the handshake is this one (RFC 8446, Section 4.4.3).",
    "Finished@13": "An HMAC over the whole transcript with a key from the handshake secret: proves both sides saw "
    "the same messages, so a tampered offer or a downgrade is caught (RFC 8446, Section 4.4.4).",
    "Finished@12": "The first message under the new keys: 12 bytes of PRF over the master secret and all handshake "
    "messages. If an attacker changed anything (a downgrade, say), the values differ (RFC 5246, Section 7.4.9).",
    "ServerKeyExchange": "The server's ephemeral Diffie-Hellman public value, signed with its certificate's key over "
    "both randoms: the signature is what stops an attacker from substituting its own value.",
    "ServerHelloDone": "The server's flight is over; the client's turn (RFC 5246, Section 7.4.5).",
    "ClientKeyExchange@ecdhe": "The client's ephemeral ECDH public key. Both sides now compute the pre-master secret "
    "and, with the two randoms, the master secret.",
    "ClientKeyExchange@dhe": "The client's ephemeral DH public value. Both sides now compute the pre-master secret "
    "and, with the two randoms, the master secret.",
    "ClientKeyExchange@rsa": "The pre-master secret, the third random, encrypted with the server's RSA key: client "
    "random, server random and pre-master secret make the master secret. No forward secrecy.",
    "NewSessionTicket@12": "A session ticket: the session state sealed under a key only the server knows. The client "
    "keeps it and presents it later to skip the full handshake (RFC 5077).",
    "NewSessionTicket@13": "A ticket for resumption: a later connection can present it as a pre-shared key "
    "(RFC 8446, Section 4.6.1).",
    "KeyUpdate": "The sender switches to the next generation of traffic keys (RFC 8446, Section 4.6.3).",
    "CertificateStatus": "A stapled OCSP response: the CA's signed statement that the certificate is not revoked.",
    "EndOfEarlyData": "The end of the 0-RTT data.",
    # ClientHello / ServerHello fields
    "legacy_version@13": "Frozen at TLS 1.2 (0x0303) so old middleboxes pass the message; the real version is "
    "negotiated in supported_versions.",
    "legacy_version@12": "The highest version the client supports (ClientHello) or the one the server chose.",
    "ClientHello/random@12": "The client random: 32 fresh random bytes, one of the three values the master secret is "
    "made from, so every connection gets fresh keys.",
    "ServerHello/random@12": "The server random: 32 fresh random bytes, the second of the three values the master "
    "secret is made from. Its last 8 bytes would carry a sentinel if a TLS 1.3 server were pushed down to 1.2.",
    "random": "32 fresh random bytes. They enter the transcript, so every handshake's keys differ even with the "
    "same key shares. A server's random can carry a downgrade sentinel in its last 8 bytes.",
    "legacy_session_id@13": "A meaningless 32-byte value in TLS 1.3, sent for middlebox compatibility mode; the "
    "server echoes it (RFC 8446, Appendix D.4).",
    "legacy_session_id@12": "The ID of a cached session the client would like to resume (empty for a fresh start).",
    "legacy_session_id_echo@13": "The client's legacy_session_id, echoed.",
    "legacy_session_id_echo@12": "The session ID: the client's own when the server resumes that session, a new one "
    "otherwise (empty if the server will not cache it).",
    "cipher_suites": "The cipher suites the client offers, in its order of preference.",
    "ClientHello/cipher_suite": "One offered cipher suite. TLS 1.3 suites name an AEAD and a hash; TLS 1.2 suites "
    "also the key exchange and the authentication.",
    "ServerHello/cipher_suite": "The cipher suite the server chose from the client's list.",
    "legacy_compression_methods": "Compression is gone from TLS (it leaked secrets: CRIME); only null (0).",
    "compression_method": "null (0): no compression.",
    "legacy_compression_method": "null (0): no compression.",
    "extensions": "Extensions: how everything newer than the base protocol is negotiated.",
    "extension_type": "Which extension this is (IANA TLS ExtensionType registry).",
    # Certificate, CertificateVerify, Finished
    "certificate_request_context": "Empty in a server's Certificate; echoes the CertificateRequest's context in "
    "a client's.",
    "certificate_list": "The chain: the end-entity certificate first, then the intermediates towards a root the "
    "peer trusts.",
    "CertificateEntry": "One certificate of the chain and its extensions.",
    "cert_data": "One X.509 certificate in DER: subject, public key, issuer, validity and the issuer's signature.",
    "ASN.1Cert": "One X.509 certificate in DER: subject, public key, issuer, validity and the issuer's signature.",
    "algorithm": "The signature scheme: algorithm and hash.",
    "CertificateVerify/signature": "The signature over a context string and the transcript hash, made with the "
    "certificate's private key.",
    "ServerKeyExchange/signature": "The signature over client random, server random and the parameters above, made "
    "with the certificate's private key.",
    "verify_data": "The Finished value the peer recomputes from its own transcript and keys; a mismatch is "
    "decrypt_error.",
    # TLS 1.2 key exchange
    "curve_type": "named_curve (3): the curve is named, not spelled out (RFC 8422, Section 5.4).",
    "named_curve": "The elliptic curve of the exchange.",
    "public": "The server's ephemeral ECDH public key, thrown away after the handshake: forward secrecy.",
    "dh_p": "The DH prime modulus.",
    "dh_g": "The DH generator.",
    "dh_Ys": "The server's ephemeral DH public value, g^x mod p.",
    "ecdh_Yc": "The client's ephemeral ECDH public key.",
    "dh_Yc": "The client's ephemeral DH public value.",
    "EncryptedPreMasterSecret": "48 bytes (the client's version and 46 random bytes) encrypted with the server's RSA "
    "public key; only the private key's owner can recover it.",
    "exchange_keys": "The client's key exchange value; the cipher suite says whether RSA-encrypted or DH.",
    # tickets and requests
    "ticket": "Opaque to the client: the server's sealed session state, handed back to resume.",
    "ticket_lifetime": "How long, in seconds, the ticket may be used.",
    "ticket_lifetime_hint": "How long, in seconds, the server suggests keeping the ticket.",
    "ticket_age_add": "A random value added to the ticket's age so a resumption attempt does not reveal it.",
    "ticket_nonce": "Makes each ticket's pre-shared key unique.",
    "certificate_types": "The kinds of client certificate the server accepts.",
    "supported_signature_algorithms": "Signature schemes the sender accepts.",
    "certificate_authorities": "The CAs whose certificates the server accepts; empty means any.",
    # inside extensions
    "ServerName": "One name entry.",
    "HostName": "The DNS name, in ASCII.",
    "name_type": "host_name (0), the only type defined.",
    "NamedGroup": "A key exchange group: an elliptic curve, a finite-field group or a post-quantum hybrid.",
    "KeyShareEntry": "A group and the sender's ephemeral public key for it.",
    "group": "The group of this key share.",
    "key_exchange": "The ephemeral public key for that group (x25519: 32 bytes; X25519MLKEM768: an ML-KEM "
    "encapsulation key or ciphertext and an X25519 key).",
    "selected_group": "The group the server wants a key share for.",
    "SignatureScheme": "A signature scheme the sender accepts.",
    "ProtocolVersion": "A version the client supports.",
    "selected_version": "The version the server chose.",
    "ProtocolName": "An application protocol name, e.g. h2 or http/1.1.",
    "PskKeyExchangeMode": "psk_dhe_ke: a resumption also does a fresh (EC)DHE exchange, keeping forward secrecy.",
    "RecordSizeLimit": "The largest record the sender will accept (RFC 8449).",
    "ECPointFormat": "uncompressed (0), the only format in use.",
    "renegotiated_connection": "Empty in a first handshake (RFC 5746, Section 3.2).",
    "padding": "Zeros that make the ClientHello longer, to get past buggy middleboxes (RFC 7685).",
}

_EXT_WHY = {
    "server_name": "SNI: the host name the client wants, so a server with many sites can pick the certificate. "
    "It travels in the clear (RFC 6066, Section 3).",
    "server_name@EncryptedExtensions": "Empty: the server acknowledges the name the client sent.",
    "server_name@ServerHello": "Empty: the server acknowledges the name the client sent.",
    "supported_groups": "The key exchange groups the client supports, in order of preference (RFC 8446, 4.2.7).",
    "key_share": "The client's ephemeral public keys, sent at once so the server can finish the exchange in one "
    "round trip (RFC 8446, Section 4.2.8).",
    "key_share@ServerHello": "The server's ephemeral public key for the chosen group. Combined with the client's it "
    "gives the shared secret, which only the two of them know.",
    "key_share@HelloRetryRequest": "The group the server wants a key share for.",
    "supported_versions": "The TLS versions the client supports; this, not legacy_version, negotiates TLS 1.3.",
    "supported_versions@ServerHello": "The version the server chose: its presence makes this a TLS 1.3 handshake.",
    "signature_algorithms": "The signature schemes the client accepts in CertificateVerify and ServerKeyExchange.",
    "signature_algorithms_cert": "The signature schemes the client accepts in certificates.",
    "application_layer_protocol_negotiation": "ALPN: the application protocols offered (h2, http/1.1); the server "
    "picks one (RFC 7301).",
    "psk_key_exchange_modes": "How a pre-shared key may be used for resumption (RFC 8446, Section 4.2.9).",
    "record_size_limit": "The largest record the sender accepts (RFC 8449).",
    "extended_master_secret": "The master secret is bound to the hash of the whole handshake, not just the randoms, "
    "which defeats the triple-handshake attack (RFC 7627).",
    "renegotiation_info": "Secure renegotiation (RFC 5746); empty in a first handshake.",
    "session_ticket": "Session tickets (RFC 5077): empty to say the client takes one, or a ticket to resume with.",
    "ec_point_formats": "Elliptic curve point formats (RFC 8422); only uncompressed is used.",
    "pre_shared_key": "A pre-shared key, usually a ticket from an earlier connection, offered for resumption.",
    "early_data": "0-RTT: application data sent with the first flight.",
    "cookie": "A cookie from a HelloRetryRequest, echoed back.",
    "padding": "Zeros that lengthen the ClientHello past sizes buggy middleboxes choke on (RFC 7685).",
    "status_request": "Asks the server to staple an OCSP response for its certificate (RFC 6066, Section 8).",
    "encrypt_then_mac": "CBC suites MAC the ciphertext instead of the plaintext (RFC 7366).",
    "post_handshake_auth": "The client accepts a CertificateRequest after the handshake.",
    "certificate_authorities": "The CAs the sender trusts.",
    "compress_certificate": "Certificate compression algorithms (RFC 8879).",
    "max_fragment_length": "A smaller maximum record size (RFC 6066, Section 4).",
    "signed_certificate_timestamp": "Certificate Transparency timestamps (RFC 6962).",
    "encrypted_client_hello": "Encrypted ClientHello: the real ClientHello, encrypted to the server's ECH key.",
}

_GREASE_WHY = "GREASE (RFC 8701): a reserved value with no meaning, sent so servers keep tolerating unknown ones."


def explain(name: str, parent: str, msg: str, v13: bool, *, ext: str = "", kx: str | None = None) -> str:
    """The purpose of field ``name`` (inside ``parent``, in message ``msg``), in a sentence or two."""
    v = "@13" if v13 else "@12"
    if name == "Extension" and ext:
        if ext.startswith("GREASE"):
            return _GREASE_WHY
        return _EXT_WHY.get(f"{ext}@{msg}") or _EXT_WHY.get(ext) or f"The {ext} extension."
    keys = [f"{msg}/{name}{v}", f"{msg}/{name}", f"{parent}/{name}{v}", f"{parent}/{name}", f"{name}{v}"]
    keys += [f"{name}@{kx}", name] if kx else [name]
    for key in keys:
        if key in _WHY:
            return _WHY[key]
    if name.endswith(" length"):
        return f"Length in bytes of the {name.removesuffix(' length')} that follows."
    return ""


# RFC names and formulas of the secrets, and their NSS key log labels.
_SECRETS = {
    "early_secret": ("RFC 8446, Section 7.1: HKDF-Extract(0, PSK)", ""),
    "client_early_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Early Secret, "c e traffic", ClientHello)',
        "CLIENT_EARLY_TRAFFIC_SECRET",
    ),
    "early_exporter_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Early Secret, "e exp master", ClientHello)',
        "EARLY_EXPORTER_SECRET",
    ),
    "handshake_secret": (
        'RFC 8446, Section 7.1: HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE shared secret): '
        "the key exchange's shared secret enters the schedule",
        "",
    ),
    "client_handshake_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Handshake Secret, "c hs traffic", ClientHello…ServerHello): '
        "protects the client's encrypted handshake messages",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    ),
    "server_handshake_traffic_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Handshake Secret, "s hs traffic", ClientHello…ServerHello): '
        "protects the server's EncryptedExtensions to Finished",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    ),
    "master_secret@13": ('RFC 8446, Section 7.1: HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0)', ""),
    "master_secret@12": (
        'RFC 5246, Section 8.1: PRF(pre_master_secret, "master secret", client_random + server_random), 48 bytes: '
        "the three randoms become one secret, and the key block of both directions is expanded from it",
        "CLIENT_RANDOM",
    ),
    "master_secret@12ems": (
        'RFC 7627, Section 4: PRF(pre_master_secret, "extended master secret", session_hash), 48 bytes: the '
        "pre-master secret with the hash of the handshake so far, which holds both randoms; the key block of both "
        "directions is expanded from it",
        "CLIENT_RANDOM",
    ),
    "client_application_traffic_secret_0": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "c ap traffic", ClientHello…server Finished)',
        "CLIENT_TRAFFIC_SECRET_0",
    ),
    "server_application_traffic_secret_0": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "s ap traffic", ClientHello…server Finished)',
        "SERVER_TRAFFIC_SECRET_0",
    ),
    "exporter_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "exp master", ClientHello…server Finished): '
        "for keying material exporters (RFC 5705)",
        "EXPORTER_SECRET",
    ),
    "resumption_master_secret": (
        'RFC 8446, Section 7.1: Derive-Secret(Master Secret, "res master", ClientHello…client Finished): '
        "the pre-shared keys of this connection's tickets derive from it",
        "",
    ),
}


def secret_info(label: str, v13: bool, ems: bool = False) -> tuple[str, str]:
    """(what the RFC says the secret is, its NSS key log label or "")."""
    version = "13" if v13 else "12ems" if ems else "12"
    found = _SECRETS.get(f"{label}@{version}") or _SECRETS.get(label)
    return found if found else ("a secret of the key schedule", "")


LEGEND = [
    ("c-hdr", "record / message header"),
    ("c-len", "length"),
    ("c-ver", "version"),
    ("c-rnd", "random"),
    ("c-sid", "session ID, ticket"),
    ("c-suite", "cipher suite, compression"),
    ("c-ext", "extension type"),
    ("c-data", "extension data"),
    ("c-key", "key exchange"),
    ("c-cert", "certificate"),
    ("c-sig", "signature"),
    ("c-fin", "Finished"),
    ("c-enc", "ciphertext"),
    ("c-tag", "AEAD tag, nonce"),
    ("c-inner", "inner type, padding"),
    ("c-app", "application data"),
    ("c-alert", "alert"),
    ("c-bad", "fragment, undecodable"),
]

CSS = """
:root{--c2s:#2563eb;--s2c:#c2410c;--ink:#1f2328;--mute:#6b7280;--line:#e5e7eb;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "DejaVu Sans",system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:20px 20px 180px}
h1{font-size:24px;margin:0 0 6px}
h2{font-size:15px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}
header .intro{margin:0 0 10px;color:#374151;max-width:960px}
.warn{background:#fff4e5;border:1px solid #f5b971;border-radius:6px;padding:6px 10px;margin:0 0 12px;color:#7a4100}
.top{display:grid;grid-template-columns:minmax(0,1.1fr) minmax(0,1fr);gap:14px}
section.summary,section.checks,section.flow,section.legend{background:#fff;border:1px solid var(--line);
border-radius:8px;padding:12px 14px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}
dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}
.checks ul{margin:0;padding-left:0;list-style:none}.checks li{margin:2px 0;overflow-wrap:anywhere}
.checks i{color:var(--mute);font-style:normal}
.ok{color:#15803d}.bad{color:#b91c1c}
section.flow,section.legend{margin-top:14px}
.fl-head{display:grid;grid-template-columns:1fr 1fr;font-weight:bold;color:var(--mute);padding:0 4px}
.fl-head span:last-child{text-align:right}
a.fl{display:grid;grid-template-columns:3em 1fr;align-items:center;text-decoration:none;color:var(--ink);
margin:2px 0;padding:1px 4px;border-radius:4px}
a.fl:hover{background:#eef2ff}
.fl-n{color:var(--mute);font-size:12px}
.fl-k{text-align:center;color:#0f766e;font-size:11.5px;margin:0 10%;border-top:1px dashed #99f6e4;line-height:1.6}
.fl-e{font-size:11px;color:#fff;background:#57534e;border-radius:6px;padding:0 5px;vertical-align:1px}
.fl-m{position:relative;padding:1px 26px 3px;border-bottom:2px solid;font-size:13px}
a.c2s .fl-m{border-color:var(--c2s);margin-right:8%}
a.s2c .fl-m{border-color:var(--s2c);margin-left:8%;text-align:right}
a.c2s .fl-m:after{content:"";position:absolute;right:-2px;bottom:-6px;border:5px solid transparent;
border-left:9px solid var(--c2s)}
a.s2c .fl-m:before{content:"";position:absolute;left:-2px;bottom:-6px;border:5px solid transparent;
border-right:9px solid var(--s2c)}
.lg{display:inline-flex;align-items:center;margin:2px 12px 2px 0;font-size:13px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px;
border:1px solid rgba(0,0,0,.15)}
.timeline{margin-top:18px}
article.record{background:#fff;border:1px solid var(--line);border-left:5px solid;border-radius:8px;
margin:12px 0;padding:10px 14px}
article.c2s{border-left-color:var(--c2s);margin-right:3%}
article.s2c{border-left-color:var(--s2c);margin-left:3%}
.rh{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.rn{font-weight:bold;color:var(--mute)}
.dir{font-weight:bold;font-size:13px;padding:1px 8px;border-radius:10px;color:#fff}
.c2s .dir{background:var(--c2s)}.s2c .dir{background:var(--s2c)}
.rt{font-size:17px;font-weight:bold}
.rm{color:var(--mute);font-size:12.5px;margin:2px 0 6px}
.intro-r p{margin:2px 0;color:#374151;font-size:13px}
.blk{margin-top:8px;border-top:1px dashed var(--line);padding-top:6px}
.blk.dec{background:#fbfcf4}
.bh{font-weight:bold;font-size:13px;margin-bottom:4px}.bh span{font-weight:normal;color:var(--mute)}
.cols{display:grid;grid-template-columns:50ch minmax(0,1fr);gap:16px;align-items:start}
.hex{font:12.5px/1.75 "DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;width:50ch;word-spacing:0}
.f{border-radius:3px;padding:1px 0;box-decoration-break:clone;-webkit-box-decoration-break:clone;cursor:pointer}
.f .mid{display:none}.f.open .mid{display:inline}.f.open .ell{display:none}
.ell{white-space:nowrap;color:#1e3a8a;text-decoration:underline dotted;cursor:pointer}
.f.alt{filter:brightness(.9)}
.hl{outline:2px solid #111;outline-offset:0;position:relative;z-index:1}
.row.hl{background:#fff6c2;outline:none}
.tree{font-size:12.5px;max-height:560px;overflow:auto;border-left:1px solid var(--line);padding-left:10px}
.tree details>summary{list-style:none;cursor:pointer}
.tree details>summary::-webkit-details-marker{display:none}
.tree details>summary .row:before{content:"▸";color:var(--mute);display:inline-block;width:12px}
.tree details[open]>summary .row:before{content:"▾"}
.kids{margin-left:14px;border-left:1px dotted #d1d5db;padding-left:6px}
.row{padding:0 4px;border-radius:3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.row:hover{background:#f3f4f6}
.nm{font-weight:bold}.val{color:#374151;font-family:"DejaVu Sans Mono",monospace;font-size:12px}
.note{color:#b45309;margin-left:6px;font-style:italic}
.steps{margin:8px 6%;padding:6px 12px;border-left:3px solid #a78bfa;background:#f5f3ff;border-radius:6px;
font-size:13px}
.step{margin:3px 0;overflow-wrap:anywhere}
.badge{display:inline-block;min-width:54px;font-size:11px;text-transform:uppercase;letter-spacing:.04em;
text-align:center;border-radius:8px;padding:0 6px;margin-right:8px;color:#fff;background:#6b7280}
.secret .badge{background:#7c3aed}.keys .badge{background:#0f766e}.ok .badge{background:#15803d}
.bad .badge{background:#b91c1c}.st{color:var(--mute)}
.sf{color:#4b5563;margin:1px 0 1px 66px;font-size:12.5px}
.sv,.kl{font:12px "DejaVu Sans Mono",monospace;margin-left:66px;color:#3730a3;overflow-wrap:anywhere}
.kl{color:var(--mute)}
#inspector{position:fixed;right:16px;bottom:16px;width:440px;max-height:45vh;overflow:auto;background:#111827;
color:#f9fafb;border-radius:10px;padding:10px 14px;font-size:13px;box-shadow:0 6px 24px rgba(0,0,0,.3);opacity:.95}
#inspector.pinned{outline:3px solid #facc15}
#inspector.idle{width:auto;padding:6px 12px}#inspector.idle .i-why{display:none}
.i-path{font-weight:bold;overflow-wrap:anywhere}.i-value{font-family:"DejaVu Sans Mono",monospace;
color:#fde68a;overflow-wrap:anywhere}.i-range{color:#9ca3af;font-size:12px}.i-note{color:#fdba74}
.c-hdr{background:#cbd5e1}.c-len{background:#e5e7eb}.c-ver{background:#bfdbfe}.c-rnd{background:#fde68a}
.c-sid{background:#fed7aa}.c-suite{background:#bbf7d0}.c-ext{background:#ddd6fe}.c-data{background:#ede9fe}
.c-key{background:#fbcfe8}.c-cert{background:#99f6e4}.c-sig{background:#fecaca}.c-fin{background:#fcd34d}
.c-enc{background:#57534e;color:#fafaf9}.c-tag{background:#d6c3a5}.c-inner{background:#a5f3fc}.c-app{background:#d9f99d}
.c-alert{background:#fca5a5}
.c-bad{background:repeating-linear-gradient(45deg,#fee2e2,#fee2e2 4px,#fecaca 4px,#fecaca 8px)}
.empty{color:var(--mute)}
@media (max-width:900px){.cols,.top{grid-template-columns:1fr}.hex{width:auto}}
"""

SCRIPT = """
(function () {
  var W = JSON.parse(document.getElementById('why').textContent);
  var panel = document.getElementById('inspector');
  var pinned = null, current = null;
  function part(cls, text) { panel.querySelector(cls).textContent = text || ''; }
  function show(id) {
    if (current === id) { return; }
    var row = document.getElementById('t-' + id);
    if (!row) { return; }
    current = id;
    panel.classList.remove('idle');
    document.querySelectorAll('.hl').forEach(function (e) { e.classList.remove('hl'); });
    document.querySelectorAll('[data-a~="' + id + '"]').forEach(function (e) { e.classList.add('hl'); });
    row.classList.add('hl');
    part('.i-path', row.dataset.p);
    part('.i-value', row.dataset.v);
    part('.i-range', row.dataset.r);
    part('.i-why', W[+row.dataset.w] || '');
    part('.i-note', row.dataset.n);
  }
  document.addEventListener('mouseover', function (ev) {
    var t = ev.target.closest ? ev.target.closest('[data-f]') : null;
    if (t && !pinned) { show(t.dataset.f); }
  });
  document.addEventListener('click', function (ev) {
    var ell = ev.target.closest ? ev.target.closest('.ell') : null;
    if (ell) { ell.parentNode.classList.add('open'); return; }
    var t = ev.target.closest ? ev.target.closest('[data-f]') : null;
    if (!t) { pinned = null; panel.classList.remove('pinned'); return; }
    var id = t.dataset.f;
    pinned = pinned === id ? null : id;
    current = null;
    show(id);
    panel.classList.toggle('pinned', !!pinned);
    if (t.classList.contains('f')) {
      var row = document.getElementById('t-' + id);
      for (var d = row.parentElement; d; d = d.parentElement) { if (d.tagName === 'DETAILS') { d.open = true; } }
      row.scrollIntoView({block: 'nearest'});
    }
  });
  document.documentElement.setAttribute('data-ready', '1');
})();
"""
