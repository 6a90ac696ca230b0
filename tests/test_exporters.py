"""Exporters (RFC 8446, Section 7.5; RFC 5705) and the tls-exporter channel binding (RFC 9266):
both ends derive the same bytes, bound to the connection, and nothing before the handshake."""

from __future__ import annotations

import socket
import threading

import pytest

import glasstls
from glasstls import ProtocolVersion
from glasstls.errors import NotNegotiatedError
from pairs import connected_pair, make_pair, server_identity

VERSIONS = {"TLSv1.3": ProtocolVersion.TLSv1_3, "TLSv1.2": ProtocolVersion.TLSv1_2}


def _pair(version: str):  # type: ignore[no-untyped-def]
    v = VERSIONS[version]
    return connected_pair(client_kw={"tls_max": v}, server_kw={"tls_max": v})


@pytest.mark.parametrize("version", VERSIONS)
def test_both_ends_export_the_same_bytes(version: str) -> None:
    pair = _pair(version)
    assert pair.client.parameters is not None and pair.client.parameters.version == version
    for label, context, length in (("EXPORTER-test", b"ctx", 32), (b"EXPORTER-other", None, 64), ("x", b"", 1)):
        mine = pair.client.export_keying_material(label, context, length)
        assert mine == pair.server.export_keying_material(label, context, length)
        assert len(mine) == length
    assert pair.client.channel_binding() == pair.server.channel_binding()
    assert len(pair.client.channel_binding()) == 32


@pytest.mark.parametrize("version", VERSIONS)
def test_exports_differ_by_label_context_and_connection(version: str) -> None:
    pair, other = _pair(version), _pair(version)
    base = pair.client.export_keying_material("EXPORTER-a", b"c", 32)
    assert pair.client.export_keying_material("EXPORTER-b", b"c", 32) != base
    assert pair.client.export_keying_material("EXPORTER-a", b"d", 32) != base
    assert other.client.export_keying_material("EXPORTER-a", b"c", 32) != base
    assert pair.client.channel_binding() != other.client.channel_binding()


def test_no_context_and_empty_context_differ_only_in_tls12() -> None:
    """RFC 5705, Section 4 mixes the context's length in when there is one; RFC 8446,
    Section 7.5 treats no context as the empty one."""
    tls13, tls12 = _pair("TLSv1.3"), _pair("TLSv1.2")
    assert tls13.client.export_keying_material("L", None) == tls13.client.export_keying_material("L", b"")
    assert tls12.client.export_keying_material("L", None) != tls12.client.export_keying_material("L", b"")


def test_a_key_update_leaves_the_exporter_alone() -> None:
    pair = _pair("TLSv1.3")
    before = pair.client.export_keying_material("EXPORTER-k", b"", 32)
    pair.client.update_keys(request_peer=True)
    pair.to_server()
    pair.to_client()
    assert pair.client.export_keying_material("EXPORTER-k", b"", 32) == before
    assert pair.server.export_keying_material("EXPORTER-k", b"", 32) == before


def test_nothing_is_exported_before_the_handshake_or_with_bad_arguments() -> None:
    pair = make_pair()
    with pytest.raises(NotNegotiatedError, match="once the handshake completed"):
        pair.client.export_keying_material("EXPORTER-x")
    with pytest.raises(NotNegotiatedError):
        pair.server.channel_binding()
    done = _pair("TLSv1.3")
    with pytest.raises(ValueError, match="not ASCII"):
        done.client.export_keying_material("EXPORTER-ü")
    with pytest.raises(ValueError, match=r"not a whole number in 1\.\.8160"):
        done.client.export_keying_material("EXPORTER-x", length=0)
    with pytest.raises(ValueError, match=r"not a whole number in 1\.\.8160"):
        done.client.export_keying_material("EXPORTER-x", length=8161)
    with pytest.raises(ValueError, match="tls-unique"):
        done.client.channel_binding("tls-unique")
    tls12 = _pair("TLSv1.2")
    with pytest.raises(ValueError, match="collides"):
        tls12.client.export_keying_material("key expansion")  # RFC 5705, Section 4: not a PRF label


def test_tls_exporter_refuses_a_tls12_connection_without_extended_master_secret() -> None:
    """RFC 9266, Section 4.2: a tlslite-ng client that does not offer EMS gets a connection
    that exports, but no tls-exporter binding."""
    tlslite_api = pytest.importorskip("tlslite.api")
    identity = server_identity("localhost")
    config = glasstls.ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    result: dict[str, object] = {}

    def serve() -> None:
        sock, _ = listener.accept()
        with sock:
            sock.settimeout(20)
            tls = glasstls.accept(sock, config)
            result["ems"] = tls.parameters.extended_master_secret  # type: ignore[union-attr]
            result["export"] = tls.export_keying_material("EXPORTER-test", None, 16)  # tlslite: no context
            try:
                tls.channel_binding()
            except NotNegotiatedError as exc:
                result["binding"] = str(exc)
            tls.sendall(b"done\n")
            tls.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings = tlslite_api.HandshakeSettings()
    settings.useExtendedMasterSecret = False
    settings.requireExtendedMasterSecret = False
    settings.maxVersion = (3, 3)
    with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=20) as raw:
        client = tlslite_api.TLSConnection(raw)
        client.handshakeClientCert(settings=settings)
        client.read(max=5)
        theirs = client.keyingMaterialExporter(bytearray(b"EXPORTER-test"), 16)
        client.close()
    thread.join(20)
    listener.close()
    assert result["ems"] is False
    assert bytes(theirs) == result["export"]
    assert "extended master secret" in str(result["binding"])
