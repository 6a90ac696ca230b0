"""Drivers of the sans-I/O Connection: blocking sockets (``blocking``: ``connect``,
``accept``, ``TLSSocket``) and asyncio (``aio``: ``open_connection``; ``aio_server``:
``start_server``, ``TLSServer``). They own time (deadlines) and buffers; every TLS
decision is the Connection's (docs/design/serving.md).
"""
