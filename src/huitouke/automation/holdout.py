"""Holdout assignment: a fixed, reproducible share of each rule's customers gets nothing."""

from __future__ import annotations

import hashlib
from decimal import Decimal

_SCALE = 2**64


def holdout_draw(rule_id: int, customer_id: int) -> float:
    """A uniform number in [0, 1) fixed by the rule and the customer (SHA-256 of both ids)."""
    digest = hashlib.sha256(f"holdout:{rule_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_holdout(rule_id: int, customer_id: int, share: Decimal | float) -> bool:
    """Whether this customer is held out of this rule: her draw falls below the share."""
    return holdout_draw(rule_id, customer_id) < float(share)
