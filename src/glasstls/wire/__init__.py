"""The bytes on the wire: the codec of the TLS presentation language (``codec``),
the layouts that describe each message once for the parser, the encoder and the
trace (``layout``), extensions (``extensions``) and handshake messages of TLS 1.3
(``handshake``) and TLS 1.2 (``handshake12``). Parsing is strict: a block is
consumed exactly or it is decode_error; every message keeps the raw bytes it
arrived as.
"""
