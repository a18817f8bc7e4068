"""Remedies-lab performance target, measured in one run (not a timed test).

    python benchmarks/bench_remedies.py

Target: five runs of 200 steps of the default network (the baseline and four variants) compare in under
5 s, with progress reported while they run. Also printed: the Remedies page's own default (the exploding
baseline, whose runs stop early at NaN) and "Which fix works?" (every remedy alone).
"""

from __future__ import annotations

import time

import torch

from core.training.config import TrainConfig
from core.training.remedies import compare, rank_single_remedies
from core.training.scenarios import SCENARIOS

torch.set_num_threads(1)  # a Community Cloud container
VARIANTS = [("clip", ("clip_norm",)), ("he", ("he",)), ("bn", ("batchnorm",)), ("lr", ("smaller_lr",))]


def timed(label: str, fn) -> None:
    calls = []
    start = time.perf_counter()
    result = fn(lambda done, total: calls.append(done))
    seconds = time.perf_counter() - start
    steps = sum(len(o.run.history.arrays()["loss"]) for o in (result if isinstance(result, list) else
                                                                 [result[0], *(o for o, _, _ in result[1])]))
    print(f"  {label:<72} {seconds:5.2f} s  ({steps:,} steps, {len(calls):,} progress reports)")
    return seconds


def main() -> None:
    print("Remedies lab, 1 thread:")
    default = TrainConfig()
    name = f"default network ({default.depth} × {default.width}), 5 runs × 200 steps"
    cold = timed(f"compare, cold (first in this process): {name}", lambda p: compare(default, VARIANTS, 200, p))
    warm = timed(f"compare, warm: {name}", lambda p: compare(default, VARIANTS, 200, p))
    print(f"  {'target: under 5 s':<72} {'met' if max(cold, warm) < 5 else 'NOT met'}")
    heavy = TrainConfig(depth=10, width=32, activation="relu", init="he_normal")
    timed("compare: 10 × 32 ReLU network, 5 runs × 200 steps", lambda p: compare(heavy, VARIANTS, 200, p))
    page = SCENARIOS["relu_nan"].config
    timed("compare: the page's default baseline and variants, 200 steps", lambda p: compare(page, VARIANTS, 200, p))
    timed("which fix works: every remedy alone, 200 steps", lambda p: rank_single_remedies(page, 200, p))


if __name__ == "__main__":
    main()
