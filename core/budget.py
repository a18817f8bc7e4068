"""What a caller allows one long computation: a wall-clock limit and a cap on work, both optional.

The library has no hidden limits: a notebook or a test passes none and trains as long as it asks. The app's
shared server passes its own (`core.app.limits.SERVER`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.training.config import ConfigError


class Deadline:
    """`expired` turns true `seconds` after creation; with `seconds=None` it never does."""

    def __init__(self, seconds: float | None = None):
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return self.end is not None and time.monotonic() > self.end

    def message(self, done: int, asked: int) -> str:
        return (f"Stopped after {done:,} of {asked:,} steps: one request may run for at most {self.seconds:g} s on "
                "a shared server. What was trained is kept; press the button again to continue.")


@dataclass(frozen=True)
class Budget:
    """`seconds`: wall time of one call; `work`: hidden layers × units × steps (× runs) one call may ask for."""

    seconds: float | None = None
    work: int | None = None

    def steps_allowed(self, depth: int, width: int, runs: int = 1) -> int | None:
        """The most steps one call may train at this size (None: no limit)."""
        return None if self.work is None else max(1, self.work // max(1, depth * width * runs))

    def check_work(self, depth: int, width: int, steps: int, runs: int = 1) -> None:
        """Refuse, with the amount that is allowed, a call that asks for more work than the budget."""
        if self.work is None or depth * width * steps * runs <= self.work:
            return
        allowed = self.steps_allowed(depth, width, runs)
        raise ConfigError(f"{steps:,} steps{f' × {runs} runs' if runs > 1 else ''} of a {depth} × {width} network is "
                          f"more than one request may ask of a shared server; at this size train at most "
                          f"{allowed:,} steps at a time.")

    def deadline(self) -> Deadline:
        return Deadline(self.seconds)


UNLIMITED = Budget()
