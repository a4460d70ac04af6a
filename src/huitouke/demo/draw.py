"""Weighted draws from a seeded `random.Random` (cumulative weights computed once)."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def cum(weights: Sequence[float]) -> list[float]:
    """Cumulative weights for `pick`."""
    return list(itertools.accumulate(weights))


def pick(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One item drawn with the weights behind `cum_weights` (one random number per draw)."""
    return items[bisect.bisect_right(cum_weights, rng.random() * cum_weights[-1])]
