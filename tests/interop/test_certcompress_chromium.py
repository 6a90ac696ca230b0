"""Headless Chromium against ``glasstls server --www``: a brotli-compressed certificate (RFC 8879).

Chromium (BoringSSL) offers compress_certificate with brotli alone; the glasstls server, in its
default configuration, sends its Certificate as a brotli CompressedCertificate. Checked from
both sides: glasstls's JSON trace (a CompressedCertificate sent, its algorithm read from the
message's raw bytes) and Chromium, which loaded the page (so it decompressed the chain and
found the leaf key its allow-list names) and whose NetLog shows a full handshake.

The Chromium run and its fixtures are those of test_interop_chromium_hybrid.py.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from test_interop_chromium_hybrid import (
    CHROMIUM,
    chromium_major,  # noqa: F401 - a fixture
    leaf_spki,  # noqa: F401 - a fixture
    run_chromium,
    www_server,
)

from glasstls.enums import CertificateCompressionAlgorithm, HandshakeType

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package chromium; make test)"),
]


def sent_certificates(output: str) -> list[bytes]:
    """The raw bytes of every Certificate or CompressedCertificate ``glasstls server --trace=json`` sent."""
    out = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        kinds = ("Certificate", "CompressedCertificate")
        if event.get("kind") == "message" and event["direction"] == "out" and event["message"] in kinds:
            out.append(bytes.fromhex(event["raw"]))
    return out


def test_chromium_takes_a_brotli_compressed_certificate(pki, chromium_major, leaf_spki, tmp_path) -> None:  # noqa: F811
    with www_server(pki) as server:
        chromium = run_chromium(f"https://localhost:{server.port}/", server.port, leaf_spki, tmp_path)
        with contextlib.suppress(AssertionError):
            server.wait_for(r"^glasstls: 127\.0\.0\.1:\d+ TLSv1\.3 ")
            time.sleep(0.2)  # let Chromium's other connections print theirs
    output = server.output
    said = (
        f"Chromium {chromium_major} exit {chromium.returncode}; it printed:\n{chromium.dom[-2000:]}\n"
        f"{chromium.stderr[-2000:]}\nglasstls server said:\n{output[-6000:]}"
    )
    assert chromium.returncode == 0, said
    assert "glasstls server: the TLS connection you made" in chromium.dom, said
    assert "Protocol version:  TLSv1.3" in chromium.dom, said

    sent = sent_certificates(output)
    assert sent, f"no full handshake among Chromium's connections\n{said}"
    for raw in sent:
        # RFC 8879, Section 4: msg_type 25, then the algorithm (2 bytes) and uncompressed_length (3 bytes).
        assert raw[0] == HandshakeType.compressed_certificate, said
        assert int.from_bytes(raw[4:6], "big") == CertificateCompressionAlgorithm.brotli, said
        assert int.from_bytes(raw[6:9], "big") > len(raw) - 12, said  # it did get smaller
    done = [c for c in chromium.connections if c.ssl_info is not None]
    assert any(c.handshake.full and not c.ssl_info["is_resumed"] for c in done if c.ssl_info), said
