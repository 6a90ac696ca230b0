"""One connection's 0-RTT attempt (RFC 8446, Section 4.2.10), as its side sees it: what
the handshake states (``early13``) and the connection share. A leaf module, so that the
handshake context can name it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..crypto.suites import Suite13
from ..enums import AlertDescription
from ..errors import AlertError


@dataclass
class ZeroRtt:
    """One connection's 0-RTT attempt, as its side sees it."""

    limit: int  # max_early_data_size: the ticket's (client), the configuration's (server)
    accepted: bool | None = None  # None: not yet known (client, before EncryptedExtensions)
    count: int = 0  # bytes of early data sent (client) or received (server)
    open: bool = True  # early data may still flow (until the ServerHello or EndOfEarlyData)
    suite: Suite13 | None = None
    secret: bytes = field(default=b"", repr=False)  # client_early_traffic_secret

    def take(self, size: int) -> None:
        """Count ``size`` more bytes of received early data (server)."""
        self.count += size
        if self.count > self.limit:
            # RFC 8446, Section 4.2.10: more than max_early_data_size is unexpected_message.
            raise AlertError(
                AlertDescription.unexpected_message,
                f"client sent more than max_early_data_size ({self.limit} bytes) of early data "
                "(RFC 8446, Section 4.2.10)",
            )
