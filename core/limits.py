"""What one visitor may ask of a shared server: a cap on the work of one request and on its wall time.

Work is counted as hidden layers × units × steps (× runs): the default network (6 × 16) may train every
one of its 10,000 steps at once, the largest (50 × 256) about 2,000 per request. A request that is still
running after `MAX_SECONDS` stops where it is, keeps what it recorded, and says so.
"""

from __future__ import annotations

import time

from core.config import ConfigError

WORK_LIMIT = 50 * 256 * 2_000  # layer-units × steps per request
MAX_SECONDS = 60.0


def check_work(depth: int, width: int, steps: int, runs: int = 1) -> None:
    work = depth * width * steps * runs
    if work > WORK_LIMIT:
        allowed = max(1, WORK_LIMIT // max(1, depth * width * runs))
        raise ConfigError(f"{steps:,} steps{f' × {runs} runs' if runs > 1 else ''} of a {depth} × {width} network is "
                          f"more than one request may ask of a shared server; at this size train at most "
                          f"{allowed:,} steps at a time.")


class Deadline:
    """`expired` turns true `seconds` after creation (a cap on one request's wall time)."""

    def __init__(self, seconds: float = MAX_SECONDS):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.end

    def message(self, done: int, asked: int) -> str:
        return (f"Stopped after {done:,} of {asked:,} steps: one request may run for at most {self.seconds:g} s on "
                "a shared server. What was trained is kept; press the button again to continue.")
