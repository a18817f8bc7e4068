"""The cliff of Pascanu, Mikolov & Bengio (2013), section 2.3: one recurrent sigmoid unit
x_t = w·σ(x_{t−1}) + b, x_0 = 0.5, trained so that x_50 = 0.7 (L = (x_50 − 0.7)²).

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

X0, TARGET, T_STEPS, W_DEFAULT = 0.5, 0.7, 50, 5.0


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
    return (final_state(w, b, T) - TARGET) ** 2


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
        value = (x - TARGET) ** 2
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
