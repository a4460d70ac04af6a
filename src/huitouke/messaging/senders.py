"""Channels sent by an app above messaging (WeCom's 群发): each registers its sender here.

Messaging owns the outbox, the caps and the fallbacks; how a WeCom message is addressed and sent
lives in huitouke.wecom, which sits above messaging in the layer order (docs/architecture.md).
WecomConfig.ready() registers it (the SMS and email transports are in messaging.transports); without the app the channel is simply not set up and nobody
has an address on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q


@dataclass(frozen=True)
class Sender:
    """What messaging needs from a channel another app sends."""

    is_set_up: Callable[[int], bool]  # organisation id → can it send on this channel
    recipient_for: Callable[[Any], str]  # customer → her address ('' when none)
    linked: Callable[[], Q]  # a Customer filter: those with an address on this channel
    # (message, customer, now, *, claim, finish, admit, failed) → the outcome, as outbox steps
    send: Callable[..., str]


_SENDERS: dict[str, Sender] = {}


def register(channel: str, sender: Sender) -> None:
    """Called once per channel from the sending app's ready()."""
    # Keyed by the plain value: a TextChoices member hashes by its name, not its value.
    _SENDERS[str(channel)] = sender


def sender_for(channel: str) -> Sender | None:
    return _SENDERS.get(str(channel))
