"""What a caller allows one long computation: wall time, work, memory and a fair turn at the CPU, all optional.

The library has no hidden limits: a notebook or a test passes none and trains as long as it asks. The app's
shared server passes its own (`core.app.limits.SERVER`):

- `Deadline`: the wall time of one request (and `portion` of what is left, so two models or two pairs share it);
- `Allowance`: a total over many requests (Play's training time per session);
- `Budget.check_memory`: bytes one request may use at its peak and one session may keep (see
  `core.training.memory` for how they are counted);
- `MemoryPool`: what all sessions' runs keep together;
- `Cores`: a server-wide pool of turns at the CPU, one per core, that long computations hold only for a slice
  of about 50 ms at a time, first come first served, so that a short Step never waits behind a long Run.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from core.training.config import ConfigError


def _mb(n: float) -> str:
    """Bytes in words: '1.5 GB', '160 MB', '820 kB'."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


class Deadline:
    """`expired` turns true `seconds` after creation; with `seconds=None` it never does.

    `cpu=True` counts this thread's CPU time instead of the wall clock: a Play tick trains for so much of the
    processor's work whether it has the core alone or shares it with a class playing at once (on the wall clock,
    thirty sessions' ticks would each train one step and spend the rest of their time drawing)."""

    def __init__(self, seconds: float | None = None, end: float | None = None, cpu: bool = False):
        self.seconds = seconds
        self.clock = time.thread_time if cpu else time.monotonic
        self.end = end if end is not None else None if seconds is None else self.clock() + seconds

    @property
    def expired(self) -> bool:
        return self.end is not None and self.clock() > self.end

    def portion(self, parts: int) -> Deadline:
        """A deadline for 1/`parts` of the time left (the next of `parts` jobs gets its fair share; the last gets
        all that is left). Its `seconds` stays the whole request's, which is what its messages name."""
        if self.end is None:
            return self
        now = self.clock()
        return Deadline(self.seconds, now + max(0.0, self.end - now) / max(1, parts), self.clock is time.thread_time)

    def message(self, done: int, asked: int) -> str:
        return (f"Stopped after {done:,} of {asked:,} steps: one request may run for at most {self.seconds:g} s on "
                "a shared server. What was trained is kept; press the button again to continue.")


class Allowance:
    """A total of seconds spent over many requests (e.g. Play's training per session); `None`: no total."""

    def __init__(self, seconds: float | None = None):
        self.seconds, self.spent = seconds, 0.0

    @property
    def left(self) -> float:
        return float("inf") if self.seconds is None else max(0.0, self.seconds - self.spent)

    @property
    def exhausted(self) -> bool:
        return self.left <= 0.0

    def spend(self, seconds: float) -> None:
        self.spent += max(0.0, seconds)


class Cores:
    """A server-wide pool of `slots` turns at the CPU (one per core), granted first come, first served.

    A computation takes a turn per slice of `slice_seconds` and queues again when the slice is used up. It is short
    work (a Step, a Run of the default network) while it asks for at most `short_work` floating-point operations
    and has not used up a slice; short work goes ahead of long work, and at most `long_slots` long computations hold
    a turn at once. So a short Step never waits behind a long
    Run: with two cores, long Runs take turns on one and the other is kept for the Steps of a class. A thread that
    holds a turn already (a replay inside a run) does not queue again.
    """

    def __init__(self, slots: int = 2, slice_seconds: float = 0.05, long_slots: int | None = None,
                 short_work: float = 2e8):
        self.slots, self.slice_seconds, self.short_work = slots, slice_seconds, short_work
        self.long_slots = max(1, slots - 1) if long_slots is None else long_slots
        self._cond = threading.Condition()
        self._free, self._long_busy = slots, 0
        self._short: deque[object] = deque()
        self._long: deque[object] = deque()
        self._local = threading.local()
        self.granted = 0  # turns handed out (for benchmarks)

    def _acquire(self, long: bool) -> None:
        with self._cond:
            me = object()
            queue = self._long if long else self._short
            queue.append(me)
            while not (queue[0] is me and self._free > 0
                       and (not long or (self._long_busy < self.long_slots and not self._short))):
                self._cond.wait()
            queue.popleft()
            self._free -= 1
            self._long_busy += long
            self.granted += 1
            self._cond.notify_all()  # the next in line may take another free slot

    def _release(self, long: bool) -> None:
        with self._cond:
            self._free += 1
            self._long_busy -= long
            self._cond.notify_all()

    @contextmanager
    def turns(self, work: float = 0.0) -> Iterator[Callable[[], None]]:
        """`with cores.turns(work) as turn:` then call `turn()` before every small piece of work (a training step);
        `work`: the floating-point operations the whole computation asks for, as far as the caller can tell."""
        if getattr(self._local, "holding", False):  # nested: the outer computation's turns cover this one
            yield lambda: None
            return
        held: list = []  # (since when, long work) while a turn is held

        def turn() -> None:
            now = time.perf_counter()
            if held and now - held[0][0] < self.slice_seconds:
                return
            long = bool(held) or work > self.short_work  # one that has used up a slice is long from now on
            if held:  # the slice is used up: queue again, as long work now
                self._release(held.pop()[1])
            self._acquire(long)
            held.append((time.perf_counter(), long))

        self._local.holding = True
        try:
            yield turn
        finally:
            self._local.holding = False
            if held:
                self._release(held.pop()[1])


class MemoryPool:
    """What all sessions' runs keep together, counted per owner (a run). An owner that is garbage-collected (its
    session ended, or it was replaced) stops counting."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._held: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def held(self, but: object = None) -> int:
        with self._lock:
            return sum(v for k, v in list(self._held.items()) if k is not but)

    def claim(self, owner: object, kept: int, lower: str) -> None:
        """Count `kept` bytes for `owner` (replacing its earlier claim), or refuse when all owners together would
        keep more than the capacity."""
        with self._lock:
            others = sum(v for k, v in list(self._held.items()) if k is not owner)
            if others + kept > self.capacity:
                raise ConfigError(f"The server keeps {_mb(others)} for other visitors' runs; this run's {_mb(kept)} "
                                  f"would take it past the {_mb(self.capacity)} all sessions may keep together: "
                                  f"{lower}, or try again when other sessions have ended.")
            self._held[owner] = kept


@contextmanager
def _no_turns() -> Iterator[Callable[[], None]]:
    yield lambda: None


@dataclass(frozen=True)
class Budget:
    """`seconds`: wall time of one call; `work`: hidden layers × units × steps (× runs) one call may ask for;
    `request_bytes`: the memory one call may use at its peak; `session_bytes`: what one session may keep between
    calls; `cores`: the server's turns at the CPU; `pool`: what all sessions may keep together. None: no limit."""

    seconds: float | None = None
    work: int | None = None
    request_bytes: int | None = None
    session_bytes: int | None = None
    cores: Cores | None = field(default=None, compare=False)
    pool: MemoryPool | None = field(default=None, compare=False)

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

    def check_memory(self, peak: int, kept: int, lower_peak: Callable[[], str], lower_kept: Callable[[], str]) -> None:
        """Refuse, before any work, a call whose peak (bytes used while it computes) or kept bytes (what the
        session holds afterwards) exceed the budget. `lower_peak()` and `lower_kept()` end the refusal's sentence:
        what to lower and by how much."""
        if self.request_bytes is not None and peak > self.request_bytes:
            raise ConfigError(f"This needs about {_mb(peak)} of memory while it computes, more than the "
                              f"{_mb(self.request_bytes)} one request may use on a shared server: {lower_peak()}.")
        if self.session_bytes is not None and kept > self.session_bytes:
            raise ConfigError(f"This would keep about {_mb(kept)} in memory, more than the {_mb(self.session_bytes)} "
                              f"one session may keep on a shared server: {lower_kept()}.")

    def claim(self, owner: object, kept: int, lower: str) -> None:
        """Count what `owner` keeps against the whole server's memory (see `MemoryPool`); no pool: nothing."""
        if self.pool is not None:
            self.pool.claim(owner, kept, lower)

    def deadline(self) -> Deadline:
        return Deadline(self.seconds)

    def turns(self, work: float = 0.0):
        """Turns at the server's cores (see `Cores.turns`); without cores, `turn()` does nothing."""
        return self.cores.turns(work) if self.cores is not None else _no_turns()


UNLIMITED = Budget()
