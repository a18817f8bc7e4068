"""Memory and fair sharing on a shared server, each number measured in this one run.

    python benchmarks/bench_memory.py

1. For a few networks, the estimate of `core.training.memory` beside the measured growth of a fresh process's
   resident size at a step's peak (VmHWM after clearing it) and what it keeps after glibc's malloc_trim.
2. The issue's link (50 × 256, 5,000 samples in one batch): refused by the server's budget before any work; and
   what the same network does at the batch size the refusal suggests.
3. Freed memory back to the system: resident size after a large run is dropped, before and after `give_back()`.
4. Fair sharing: one session's Step latency (median, p95) while 2 or 6 other sessions' threads run long Runs, without
   and with the server's turns at the cores (`core.app.limits.CORES`). In-process threads, one torch thread each.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = r"""
import gc, json, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from core.training.config import TrainConfig
from core.training.memory import give_back
from core.training.trainer import Run

def rss():
    f = dict(l.split(":", 1) for l in Path("/proc/self/status").read_text().splitlines() if ":" in l)
    return int(f["VmRSS"].split()[0]) * 1024, int(f["VmHWM"].split()[0]) * 1024

warm = Run(TrainConfig(depth=2, width=8, n_samples=64, batch_size=64)); warm.run(3); del warm
config = TrainConfig(**json.loads(sys.argv[1]))
gc.collect(); give_back()
before, _ = rss()
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from the current size
run = Run(config)
run.run(int(sys.argv[2]))
after, peak = rss()
gc.collect(); give_back()
kept, _ = rss()
fp = run.footprint(run.steps_done)
print(json.dumps({"peak": peak - before, "kept": kept - before, "est_peak": fp.peak, "est_kept": fp.kept,
                  "resident_after_run": after - before}))
"""


def measure(config: dict, steps: int = 3) -> dict:
    """Run `config` for `steps` steps in a fresh Python and return measured and estimated bytes."""
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(config), str(steps)], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


CONFIGS = [
    {"depth": 50, "width": 256, "n_samples": 2000, "batch_size": 2000},
    {"depth": 10, "width": 256, "n_samples": 2000, "batch_size": 2000, "dtype": "float64"},
    {"depth": 20, "width": 128, "n_samples": 1000, "batch_size": 1000, "activation": "relu", "residual": True,
     "layernorm": "pre"},
    {"depth": 20, "width": 128, "n_samples": 1000, "batch_size": 1000, "batchnorm": True, "optimizer": "adam"},
    {"depth": 50, "width": 256, "n_samples": 256, "batch_size": 64},
]


def estimates() -> None:
    print("1. estimate vs measured (MB; peak = resident growth at a step's peak, kept = after malloc_trim)")
    print(f"   {'network':<58} {'peak':>7} {'est.':>7} {'ratio':>6} {'kept':>7} {'est.':>7}")
    for config in CONFIGS:
        m = measure(config)
        name = ", ".join(f"{k}={v}" for k, v in config.items())
        print(f"   {name[:58]:<58} {m['peak'] / 1e6:7.0f} {m['est_peak'] / 1e6:7.0f} "
              f"{m['est_peak'] / m['peak']:6.2f} {m['kept'] / 1e6:7.0f} {m['est_kept'] / 1e6:7.0f}")


def adversarial() -> None:
    from core.app.limits import REQUEST_BYTES, SERVER, SESSION_BYTES
    from core.training.config import ConfigError, TrainConfig
    from core.training.trainer import Run

    config = TrainConfig(depth=50, width=256, n_samples=5000, batch_size=5000)
    run = Run(config)
    print(f"\n2. the issue's link, caps: {REQUEST_BYTES / 1e6:.0f} MB per request, {SESSION_BYTES / 1e6:.0f} MB per "
          "session")
    print(f"   estimated peak of one Step (its tensors and what the run keeps): {run.footprint(1).peak / 1e6:,.0f} MB")
    try:
        run.run(1, budget=SERVER)
    except ConfigError as err:
        print(f"   Step refused: {err}")
        batch = int(str(err).split("at most ")[-1].rstrip(".").replace(",", ""))
        m = measure({"depth": 50, "width": 256, "n_samples": 5000, "batch_size": batch}, 3)
        print(f"   at batch {batch}: measured peak {m['peak'] / 1e6:.0f} MB (estimate {m['est_peak'] / 1e6:.0f} MB), "
              f"kept {m['kept'] / 1e6:.0f} MB")


def resident() -> int:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024


def give_back_measured() -> None:
    from core.training.config import TrainConfig
    from core.training.memory import give_back
    from core.training.trainer import Run

    gc.collect()
    give_back()
    start = resident()
    runs = [Run(TrainConfig(depth=20, width=128, n_samples=256, batch_size=256, seed=s)) for s in range(6)]
    for run in runs:
        run.run(20)
    grown = resident()
    del runs, run
    gc.collect()
    dropped = resident()
    give_back()
    trimmed = resident()
    print(f"\n3. six 20 × 128 runs (20 steps each), then dropped: resident +{(grown - start) / 1e6:.0f} MB while alive, "
          f"+{(dropped - start) / 1e6:.0f} MB after they are dropped, +{(trimmed - start) / 1e6:.0f} MB after "
          "give_back()")


def fair_sharing(rounds: int = 60, sessions: int = 6) -> None:
    import torch

    from core.app.limits import CORES
    from core.budget import Budget
    from core.training.config import TrainConfig
    from core.training.trainer import Run

    def latencies(budget: Budget) -> tuple[list[float], float]:
        stop, done = threading.Event(), [0]

        def long_run() -> None:
            torch.set_num_threads(1)
            big = Run(TrainConfig(depth=30, width=256, n_samples=512, batch_size=128, activation="relu",
                                  init="he_normal", lr=1e-4))
            while not stop.is_set() and not big.stopped:
                before = big.steps_done
                big.run(5, budget=budget)
                done[0] += big.steps_done - before

        others = [threading.Thread(target=long_run) for _ in range(sessions)]  # long Runs: every core busy
        for t in others:
            t.start()
        time.sleep(1.0)
        torch.set_num_threads(1)
        small = Run(TrainConfig())
        small.run(5)
        out, start, first = [], time.perf_counter(), done[0]
        for _ in range(rounds):
            t0 = time.perf_counter()
            small.run(1, budget=budget)
            out.append(time.perf_counter() - t0)
            time.sleep(0.05)
        rate = (done[0] - first) / (time.perf_counter() - start)
        stop.set()
        for t in others:
            t.join()
        return out, rate

    alone = Run(TrainConfig())
    alone.run(5)  # warm: the first steps allocate the recorder's buffers
    t0 = time.perf_counter()
    for _ in range(rounds):
        alone.run(1)
    print(f"\n4. one Step of the default network, alone: {(time.perf_counter() - t0) / rounds * 1e3:.1f} ms")
    for name, budget in (("no turns (before)", Budget()), ("turns at 2 cores, 50 ms slices, long work on one "
                                                          "(after)", Budget(cores=CORES))):
        lat, rate = latencies(budget)
        lat.sort()
        print(f"   while {sessions} sessions run 30 × 256 networks (batch 128), {name}: Step median {statistics.median(lat) * 1e3:.0f} ms, "
              f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1e3:.0f} ms; the long Runs: {rate:.1f} steps/s together")


if __name__ == "__main__":
    estimates()
    adversarial()
    give_back_measured()
    fair_sharing(sessions=2)
    fair_sharing(sessions=6)
