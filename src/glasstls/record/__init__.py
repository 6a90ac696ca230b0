"""The record layer (RFC 8446, Section 5; RFC 5246, Section 6): framing and
reassembly (``layer``), and one direction's protection per key epoch: TLS 1.3
(``protection``) and TLS 1.2 AEAD and CBC (``protection12``).
"""
