"""What the network computes: its output over the input plane (two inputs) or along one input (a slice).

The lab draws this beside the gradients, as TensorFlow Playground does, so that a student sees learning
stop when the gradient explodes: the map freezes, or turns into NaN. The model is evaluated as it is now
(after the latest step), in evaluation mode (batch norm uses its running statistics) and without
gradients; the training state is left exactly as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

MAC_BUDGET = 50_000_000  # multiply-adds one map may cost: the grid gets coarser for large networks
MAX_SIDE, MIN_SIDE = 40, 10
MAX_POINTS = 400  # data points drawn on the map


@dataclass(frozen=True)
class Surface:
    """The model's output on a grid, with (a sample of) the data on top.

    kind "plane": `values` is (side, side) over `xs` × `ys` (features 1 and 2); kind "slice": `values` is
    (side,) along feature 1 with every other feature at its mean. For two classes a value is the
    probability of the second class; for more classes, the predicted class; for regression, the prediction.
    """

    kind: str
    task: str
    n_classes: int
    xs: np.ndarray
    ys: np.ndarray | None
    values: np.ndarray
    points_x: np.ndarray  # (n, 2) for a plane, (n,) for a slice
    points_y: np.ndarray  # labels or targets

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.values).all())


def grid_side(n_params: int, budget: int = MAC_BUDGET) -> int:
    """Points per side of the grid so that side² forward passes cost about `budget` multiply-adds."""
    return int(min(MAX_SIDE, max(MIN_SIDE, math.isqrt(max(1, budget // max(1, n_params))))))


def cost(run) -> int:
    """Multiply-adds of one map of this run's network (its weights × the grid's points)."""
    n_params = sum(p.numel() for p in run.model.parameters())
    side = grid_side(n_params)
    return n_params * (side * side if run.dataset.n_features >= 2 else side)


def _outputs(run, x: np.ndarray) -> np.ndarray:
    model = run.model
    was_training = model.training
    model.train(False)  # torch's evaluation mode (batch norm uses its running statistics)
    try:
        with torch.no_grad():
            out, _ = model(torch.as_tensor(x, dtype=run.dtype))
    finally:
        model.train(was_training)
    out = out.double().numpy()
    if run.dataset.task != "classification":
        return out[:, 0]
    if out.shape[1] == 2:
        with np.errstate(over="ignore", invalid="ignore"):
            return 1.0 / (1.0 + np.exp(out[:, 0] - out[:, 1]))  # softmax's second entry, NaN stays NaN
    bad = ~np.isfinite(out).all(axis=1)
    return np.where(bad, np.nan, np.argmax(np.where(np.isfinite(out), out, -np.inf), axis=1).astype(float))


def surface(run) -> Surface:
    """The map of `run`'s model now (see the module docstring)."""
    data = run.dataset
    x = data.x
    n_params = sum(p.numel() for p in run.model.parameters())
    side = grid_side(n_params)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = np.where(hi > lo, 0.05 * (hi - lo), 1.0)
    lo, hi = lo - pad, hi + pad
    sample = np.linspace(0, data.n - 1, min(data.n, MAX_POINTS)).astype(int)
    y = data.y[:, 0] if data.y.ndim == 2 else data.y
    classes = data.n_outputs if data.task == "classification" else 0
    xs = np.linspace(lo[0], hi[0], side)
    if data.n_features >= 2:
        ys = np.linspace(lo[1], hi[1], side)
        grid = np.tile(x.mean(axis=0), (side * side, 1))
        gx, gy = np.meshgrid(xs, ys)
        grid[:, 0], grid[:, 1] = gx.reshape(-1), gy.reshape(-1)
        values = _outputs(run, grid).reshape(side, side)
        return Surface("plane", data.task, classes, xs, ys, values, x[sample, :2], y[sample])
    grid = np.tile(x.mean(axis=0), (side, 1))
    grid[:, 0] = xs
    return Surface("slice", data.task, classes, xs, None, _outputs(run, grid), x[sample, 0], y[sample])
