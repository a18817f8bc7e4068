"""The butterfly effect in training: two copies of a network whose start differs by ε, trained side by side.

The notes compare exploding gradients with chaos: small changes in initial weights or inputs lead to wildly
different training. Here the two runs share data, batch order and seed; only the initial weights (or the
inputs) differ, by ε along a random direction. Their parameter distance d_k after k steps grows roughly
like ε·e^{λk} while it is small; λ, fitted to ln d_k, is a finite-time Lyapunov exponent per step
(λ > 0: nearby trainings separate; λ ≤ 0: they stay together). Runs are in float64 so that ε down to
10⁻¹² is not lost to rounding (float32 keeps only about 7 digits).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from core.budget import UNLIMITED, Budget, Deadline
from core.numbers import sig
from core.training.config import ConfigError, TrainConfig
from core.training.data import make_dataset
from core.training.trainer import Run

EPS_RANGE = (1e-12, 1e-1)
MAX_BUTTERFLY_STEPS = 2000
SATURATION = 1e-2  # the fit stops once d_k reaches this fraction of ‖θ‖ (no longer a small perturbation)


@dataclass(frozen=True)
class Butterfly:
    eps: float
    perturb: str  # "weights" or "inputs"
    distance: np.ndarray  # (K + 1,) ‖θ_A − θ_B‖ before step 1 and after each step
    loss_a: np.ndarray  # (K,)
    loss_b: np.ndarray
    lyapunov: float  # λ per step (NaN if too few points)
    fit: tuple[int, int]  # steps used for the fit (inclusive)
    stopped_at: int | None  # first step where either run became non-finite
    cut: str | None = None  # set when the caller's time limit stopped the pair: how far it got and what to do

    @property
    def loss_diff(self) -> np.ndarray:
        return np.abs(self.loss_a - self.loss_b)

    @property
    def doubling_steps(self) -> float:
        return math.log(2) / self.lyapunov if self.lyapunov > 0 else math.inf


def _distance(a: Run, b: Run) -> float:
    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.cat([(p - q).flatten() for p, q in zip(a.params, b.params,
                                                                                          strict=True)])))


def _param_norm(run: Run) -> float:
    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.cat([p.flatten() for p in run.params])))


def lyapunov_fit(distance: np.ndarray, scale: float) -> tuple[float, tuple[int, int]]:
    """Least-squares slope of ln d_k over the steps where 0 < d_k < SATURATION·scale (finite)."""
    k = np.arange(len(distance))
    ok = np.isfinite(distance) & (distance > 0)
    big = np.flatnonzero(ok & (distance >= SATURATION * scale))
    end = int(big[0]) if len(big) else len(distance) - 1
    use = ok & (k <= end)
    if use.sum() < 5:
        return math.nan, (0, end)
    slope = np.polyfit(k[use], np.log(distance[use]), 1)[0]
    first = int(k[use][0])
    return float(slope), (first, end)


def butterfly(config: TrainConfig, eps: float, steps: int, perturb: str = "weights", seed: int = 1,
              on_progress: Callable[[int, int], None] | None = None, budget: Budget = UNLIMITED,
              deadline: Deadline | None = None) -> Butterfly:
    """Two copies of `config` (in float64), the second moved by ε, trained side by side for up to `steps` steps
    within the caller's `budget` (work, memory, turns at the CPU) and `deadline` (by default the budget's own;
    pass a portion of one to share it between pairs)."""
    if not (EPS_RANGE[0] <= eps <= EPS_RANGE[1]):
        raise ConfigError(f"ε must be between {sig(EPS_RANGE[0])} and {sig(EPS_RANGE[1])}.")
    if not 1 <= steps <= MAX_BUTTERFLY_STEPS:
        raise ConfigError(f"Train between 1 and {MAX_BUTTERFLY_STEPS:,} steps.")
    if perturb not in ("weights", "inputs"):
        raise ConfigError("perturb the weights or the inputs")
    config = replace(config, dtype="float64").validated()
    budget.check_work(config.depth, config.width, steps, 2)
    a = Run(config)
    if perturb == "weights":
        b = Run(config, dataset=a.dataset)
        b.perturb(eps, seed)
    else:
        data = make_dataset(config)
        g = np.random.default_rng(seed)
        d = g.standard_normal(data.x.shape)
        b = Run(config, dataset=replace(data, x=data.x + eps * d / np.linalg.norm(d)))
    for run in (a, b):
        run.check_budget(steps, budget)  # each copy's memory (both are alive together: twice the session's share)
    distance, loss_a, loss_b, stopped, cut = [_distance(a, b)], [], [], None, None
    deadline = deadline or budget.deadline()
    with budget.turns(2 * a.work(steps)) as turn:
        for k in range(steps):
            if k and deadline.expired:
                cut = (f"stopped after {k:,} of {steps:,} steps: its share of the {deadline.seconds:g} s one request "
                       f"may run on a shared server; ask for at most {k:,} steps to see it finish")
                break
            turn()
            ia, ib = a.step(), b.step()
            loss_a.append(ia.loss)
            loss_b.append(ib.loss)
            distance.append(_distance(a, b))
            if on_progress is not None:
                on_progress(k + 1, steps)
            if ia.nonfinite is not None or ib.nonfinite is not None:
                stopped = k + 1
                break
    distance = np.array(distance)
    lam, fit = lyapunov_fit(distance, _param_norm(a) if math.isfinite(_param_norm(a)) else 1.0)
    return Butterfly(eps, perturb, distance, np.array(loss_a), np.array(loss_b), lam, fit, stopped, cut)
