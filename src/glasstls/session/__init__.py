"""What outlives a connection: the resumable ``SessionState`` (``state``), the
server's session-ID cache (``cache``), the keys that seal session tickets
(``tickets``) and the client's memory of sessions (``store``).
"""
