"""Exponential back-off with jitter for targets that keep failing."""

from __future__ import annotations

import random
from datetime import timedelta

BASE = timedelta(minutes=5)
CAP = timedelta(hours=24)


def backoff_delay(consecutive_errors: int, rng: random.Random | None = None) -> timedelta:
    """Wait 5 min, 10, 20 … up to a day, with ±20 % jitter so failing feeds do not retry in step."""
    steps = max(0, consecutive_errors - 1)
    delay = min(BASE * (2 ** min(steps, 20)), CAP)
    jitter: float = rng.uniform(0.8, 1.2) if rng is not None else random.uniform(0.8, 1.2)
    jittered: timedelta = delay * jitter
    return min(jittered, CAP)
