"""Channel transports: plain classes that send one message and classify failures."""

from huitouke.messaging.transports.base import (
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
    Transport,
)

__all__ = [
    "PermanentSendError",
    "SendError",
    "SendResult",
    "TransientSendError",
    "Transport",
]
