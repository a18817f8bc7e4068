"""The cliff of Pascanu, Mikolov & Bengio (2013), section 3: one recurrent sigmoid unit
x_t = w·σ(x_{t−1}) + b, x_0 = 0.5, trained so that its output σ(x_50) = 0.7: the error is
E = (σ(x_50) − 0.7)², as published.

For w = 5 the map has two stable fixed points when b lies in a band (a fold bifurcation on each side, where
w·σ'(x) = 1). Inside the band, x_50 depends on which basin x_0 starts in: the boundary is the unstable fixed
point, so the loss jumps — a wall in the loss surface — where that fixed point passes through x_0, i.e. at
b* = x_0 − w·σ(x_0). The gradient is huge on the wall, and one gradient step there can throw the parameters
far away; clipping the gradient norm bounds that step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.training.clipping import clip_gradients

X0, TARGET, T_STEPS, W_DEFAULT = 0.5, 0.7, 50, 5.0  # the paper's constants
B0_DEFAULT, LR_DEFAULT = -2.63, 0.5  # ours: a start just left of the wall, where one plain step catapults


def sigmoid(x):
    return 0.5 * (1 + np.tanh(np.asarray(x, dtype=float) / 2))


def final_state(w, b, T: int = T_STEPS, x0: float = X0) -> np.ndarray:
    """x_T for broadcast arrays of w and b (vectorised over the whole grid)."""
    w, b = np.broadcast_arrays(np.asarray(w, dtype=float), np.asarray(b, dtype=float))
    x = np.full(w.shape, x0)
    for _ in range(T):
        x = w * sigmoid(x) + b
    return x


def loss(w, b, T: int = T_STEPS) -> np.ndarray:
    """The published error E = (σ(x_T) − 0.7)² (the unit's output after T steps against the target)."""
    return (sigmoid(final_state(w, b, T)) - TARGET) ** 2


def wall_position(w: float, x0: float = X0) -> float | None:
    """b* = x_0 − w·σ(x_0), where the unstable fixed point crosses x_0; None when the map is not bistable
    there (w·σ'(x_0) ≤ 1: x_0 is then not between two basins)."""
    s = float(sigmoid(x0))
    if w * s * (1 - s) <= 1:
        return None
    return x0 - w * s


def bistable_band(w: float) -> tuple[float, float] | None:
    """The b interval with two stable fixed points: between the folds where w·σ'(x) = 1 (needs w > 4)."""
    if w <= 4:
        return None
    root = math.sqrt(1 - 4 / w)
    edges = []
    for s in ((1 + root) / 2, (1 - root) / 2):
        x = math.log(s / (1 - s))
        edges.append(x - w * s)
    return min(edges), max(edges)


@dataclass(frozen=True)
class Descent:
    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray  # before clipping
    clip_norm: float


def descend(w0: float, b0: float, lr: float, steps: int, clip_norm: float = 0.0, train_w: bool = True) -> Descent:
    """Gradient descent on (w, b) with torch autograd through the 50 steps; clipping by torch's clip_grad_norm_."""
    if not (1 <= steps <= 500 and 0 < lr <= 10 and all(math.isfinite(v) for v in (w0, b0, lr, clip_norm))):
        raise ValueError("steps 1 … 500, a learning rate in (0, 10], finite starting values")
    w = torch.tensor(float(w0), dtype=torch.float64, requires_grad=train_w)
    b = torch.tensor(float(b0), dtype=torch.float64, requires_grad=True)
    params = [p for p in (w, b) if p.requires_grad]
    ws, bs, losses, norms = [], [], [], []
    for _ in range(steps + 1):
        x = torch.tensor(X0, dtype=torch.float64)
        for _ in range(T_STEPS):
            x = w * torch.sigmoid(x) + b
        value = (torch.sigmoid(x) - TARGET) ** 2
        ws.append(float(w.detach()))
        bs.append(float(b.detach()))
        losses.append(float(value.detach()))
        grads = torch.autograd.grad(value, params)
        norms.append(math.sqrt(sum(float(g) ** 2 for g in grads)))
        if len(ws) > steps:
            break
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        clip_gradients(params, clip_norm)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return Descent(np.array(ws), np.array(bs), np.array(losses), np.array(norms), clip_norm)


def extent(paths: list[Descent], w_range: tuple[float, float] = (1.0, 8.0), b_range: tuple[float, float] = (-5.0, 1.0),
           margin: float = 0.05) -> tuple[float, float, float, float]:
    """(w_lo, w_hi, b_lo, b_hi): the default window widened so that every point of every path lies inside it,
    with a small margin — the catapult is part of the demonstration and must not leave the chart."""
    ws = [float(v) for p in paths for v in p.w if math.isfinite(v)] + list(w_range)
    bs = [float(v) for p in paths for v in p.b if math.isfinite(v)] + list(b_range)
    w_lo, w_hi, b_lo, b_hi = min(ws), max(ws), min(bs), max(bs)
    dw, db = (w_hi - w_lo) * margin, (b_hi - b_lo) * margin
    lo_w = w_lo - dw if w_lo < w_range[0] else w_lo
    hi_w = w_hi + dw if w_hi > w_range[1] else w_hi
    lo_b = b_lo - db if b_lo < b_range[0] else b_lo
    hi_b = b_hi + db if b_hi > b_range[1] else b_hi
    return lo_w, hi_w, lo_b, hi_b
