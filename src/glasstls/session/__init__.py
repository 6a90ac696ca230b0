"""What outlives a connection: the resumable ``SessionState`` (``state``), the
server's session-ID cache (``cache``), the keys that seal session tickets
(``tickets``), the client's memory of sessions (``store``) and the 0-RTT
anti-replay memory (``replay``), and the state a stateless server hands the client in
a HelloRetryRequest cookie (``cookie``).
"""
