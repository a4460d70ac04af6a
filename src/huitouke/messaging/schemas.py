"""API schemas of messages and opt-outs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from huitouke.messaging.models import Channel, MessageStatus, OptOutChannel
from huitouke.schemas import ObjectId, Text


class MessageFilter(Schema):
    status: MessageStatus | None = None
    channel: Channel | None = None
    customer_id: ObjectId | None = None
    rule_id: ObjectId | None = None


class MessageOut(Schema):
    id: int
    customer_id: int
    channel: str
    subject: str
    body: str
    status: str
    reason: str
    error: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    provider_message_id: str
    rule_id: int | None
    cost: Decimal
    created_at: datetime


class OptOutIn(Schema):
    channel: OptOutChannel
    note: Text = Field("", max_length=200)


class OptOutOut(Schema):
    id: int
    customer_id: int
    channel: str
    source: str
    note: str
    at: datetime
