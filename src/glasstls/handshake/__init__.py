"""The handshake: one class per state, per role and version (DESIGN.md, Layers).

Imports point one way (tests/test_import_graph.py; the graph is drawn in
docs/design/handshake-imports.md):

    client.py, server.py      the start of each role and the one dispatch between versions
        │
    client13, server13, post_handshake   TLS 1.3 flights (RFC 8446), then after the handshake
    client12, server12                   TLS 1.2 flights (RFC 5246, RFC 5077)
        │
    hello.py        the ClientHello for every version; the server's choice of version
    peer_auth.py    peer chains parsed and validated; the one signature check
    admission.py    the one "extension offered and allowed" check
    negotiation.py  choices as pure functions (version, suite order, group, scheme, ALPN)
    common12/13, certselect, status      pieces a version's roles share; certificate choice; OCSP and CRLs
        │
    base.py         State, the Context a state acts through, the proof tokens
"""
