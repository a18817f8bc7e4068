"""Step-by-step training: a `Run` owns its data, network, optimiser and random generator.

Two sessions with the same config and seed get the same numbers even when they train at the same
moment: the weights, the data and the batch order all come from the run's own generators, never
from the process-wide seed. Each `step()` is one real torch update; `core.recorder` records it
(per-layer gradient norms of both kinds, weight norms, update ratios, saturation, histograms, the
tracked weight's ledger, and the first Inf/NaN). `reset()` rewinds to the very same initial state.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core.config import MAX_STEPS, ConfigError, TrainConfig
from core.data import Dataset, make_dataset
from core.network import MLP, build
from core.recorder import History, NonFinite, Recorder


@dataclass
class Edit:
    step: int  # applied before this step (0-based count of steps done)
    layer: int
    row: int
    col: int
    value: float


@dataclass
class StepInfo:
    step: int  # 1-based number of the update just done
    loss: float
    nonfinite: NonFinite | None = None


@dataclass
class _State:
    params: list[torch.Tensor]
    generator: torch.Tensor
    order: torch.Tensor | None
    cursor: int
    optimizer: dict = field(default_factory=dict)


class Run:
    """One training run: `step()`, `run(n)`, `reset()`, `set_weight(...)`, and its `history`."""

    def __init__(self, config: TrainConfig, csv_bytes: bytes | None = None,
                 track: tuple[int, int, int] = (0, 0, 0), dataset: Dataset | None = None):
        self.config = config.validated()
        self.csv_bytes = csv_bytes
        self.dataset = dataset if dataset is not None else make_dataset(self.config, csv_bytes)
        if self.config.batch_size > self.dataset.n:
            raise ConfigError(f"batch_size ({self.config.batch_size}) exceeds the {self.dataset.n} rows of data.")
        self.dtype = getattr(torch, self.config.dtype)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.model: MLP = build(self.config, self.dataset.n_features, self.dataset.n_outputs, self.generator)
        self.x = torch.as_tensor(self.dataset.x, dtype=self.dtype)
        self.y = (torch.as_tensor(self.dataset.y) if self.dataset.task == "classification"
                  else torch.as_tensor(self.dataset.y, dtype=self.dtype))
        self.loss_name = self.config.loss if self.config.loss != "auto" else (
            "cross_entropy" if self.dataset.task == "classification" else "mse")
        if self.loss_name == "cross_entropy" and self.dataset.task != "classification":
            raise ConfigError("Cross-entropy needs class labels; this dataset is a regression task: use MSE.")
        self.params = list(self.model.parameters())
        self.weights = self.model.weights
        self.n_layers = len(self.weights)
        self.n_hidden = self.n_layers - 1
        self._order: torch.Tensor | None = None
        self._cursor = 0
        self.optimizer = self._make_optimizer()
        self._initial = self._snapshot()
        self.track = self._check_track(track)
        self.edits: list[Edit] = []
        self._reset_records()

    # ------------------------------------------------------------------ state

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        # foreach=True: torch's multi-tensor implementation (one call for all parameters instead of a Python
        # loop over them); on CPU torch defaults to the loop. Same arithmetic, fewer dispatches.
        if c.optimizer == "sgd":
            return torch.optim.SGD(self.params, lr=c.lr, foreach=True)
        if c.optimizer == "momentum":
            return torch.optim.SGD(self.params, lr=c.lr, momentum=c.momentum, foreach=True)
        return torch.optim.Adam(self.params, lr=c.lr, foreach=True)

    def _snapshot(self) -> _State:
        return _State([p.detach().clone() for p in self.params], self.generator.get_state(),
                      None if self._order is None else self._order.clone(), self._cursor,
                      copy.deepcopy(self.optimizer.state_dict()))

    def _restore(self, state: _State) -> None:
        with torch.no_grad():
            for p, saved in zip(self.params, state.params, strict=True):
                p.copy_(saved)
                p.grad = None
        self.generator.set_state(state.generator)
        self._order = None if state.order is None else state.order.clone()
        self._cursor = state.cursor
        self.optimizer = self._make_optimizer()
        self.optimizer.load_state_dict(copy.deepcopy(state.optimizer))

    def _reset_records(self) -> None:
        self.recorder = Recorder(self.weights, self.n_hidden, self.config.activation, self.dtype, MAX_STEPS)
        self.initial_weight_norms = np.array([float(torch.linalg.vector_norm(w.detach(), dtype=torch.float64))
                                              for w in self.weights])

    @property
    def history(self) -> History:
        """Everything recorded so far (pending steps are reduced first)."""
        self.recorder.flush()
        return self.recorder.history

    @property
    def nonfinite(self) -> NonFinite | None:
        self.recorder.flush()
        return self.recorder.nonfinite

    def reset(self) -> None:
        """Rewind to the very same initial weights, data order and optimiser state; forget the history."""
        self._restore(self._initial)
        self.edits = []
        self._reset_records()

    @property
    def steps_done(self) -> int:
        return self.recorder.steps

    @property
    def stopped(self) -> bool:
        return self.nonfinite is not None

    # ------------------------------------------------------------------ weights

    def layer_shape(self, layer: int) -> tuple[int, int]:
        return tuple(self.weights[layer].shape)  # type: ignore[return-value]

    def _check_track(self, track: tuple[int, int, int]) -> tuple[int, int, int]:
        layer, row, col = (int(v) for v in track)
        if not 0 <= layer < self.n_layers:
            raise ConfigError(f"Layer {layer + 1} does not exist: the network has {self.n_layers} weight layers.")
        rows, cols = self.layer_shape(layer)
        if not (0 <= row < rows and 0 <= col < cols):
            raise ConfigError(f"W_{layer + 1} is {rows} × {cols}: row {row + 1}, column {col + 1} is outside it.")
        return layer, row, col

    def weight_value(self, layer: int, row: int, col: int) -> float:
        return float(self.weights[layer].detach()[row, col])

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """Set one weight by hand (the notes' "suppose I initialise it as 500") and keep training from there."""
        self._check_track((layer, row, col))
        if not math.isfinite(value) or abs(value) > 1e6:
            raise ConfigError("A weight must be a finite number between −1,000,000 and 1,000,000.")
        self.recorder.flush()
        with torch.no_grad():
            self.weights[layer][row, col] = value
        self.recorder.begin()
        self.edits.append(Edit(self.steps_done, layer, row, col, float(value)))

    def retrack(self, track: tuple[int, int, int]) -> None:
        """Follow another weight in the ledger: replay the run from the start (it is deterministic)."""
        track = self._check_track(track)
        if track == self.track:
            return
        replay = Run(self.config, self.csv_bytes, track, dataset=self.dataset)
        replay.replay(self.edits, self.steps_done)
        self.history.set_column("tracked", replay.history.arrays()["tracked"])
        self.track = track

    def replay(self, edits: list[Edit], steps: int) -> None:
        pending = sorted(edits, key=lambda e: e.step)
        for i in range(steps):
            for e in [e for e in pending if e.step == i]:
                self.set_weight(e.layer, e.row, e.col, e.value)
            if self.step().nonfinite is not None:
                break
        for e in [e for e in pending if e.step >= steps]:
            self.set_weight(e.layer, e.row, e.col, e.value)

    # ------------------------------------------------------------------ training

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n, b = self.dataset.n, self.config.batch_size
        if b >= n:
            return self.x, self.y
        if self._order is None or self._cursor + b > n:
            self._order = torch.randperm(n, generator=self.generator)
            self._cursor = 0
        idx = self._order[self._cursor: self._cursor + b]
        self._cursor += b
        return self.x[idx], self.y[idx]

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "cross_entropy":
            return nn.functional.cross_entropy(out, y)
        return nn.functional.mse_loss(out, y)

    def step(self) -> StepInfo:
        """One real update, recorded. A run that already hit Inf/NaN does not step again."""
        if self.recorder.nonfinite is not None:
            return StepInfo(self.steps_done, math.nan, self.recorder.nonfinite)
        if self.steps_done >= MAX_STEPS:
            raise ConfigError(f"A run records at most {MAX_STEPS:,} steps; press Reset to start again.")
        xb, yb = self._next_batch()
        out, hidden = self.model(xb)
        loss = self._loss(out, yb)
        grads = torch.autograd.grad(loss, self.params + hidden)  # ∂L/∂θ and ∂L/∂h_l in one backward pass
        n_params = len(self.params)
        for p, g in zip(self.params, grads[:n_params], strict=True):
            p.grad = g
        layer, row, col = self.track
        tracked_weight = self.recorder.w_flat[layer].reshape(self.weights[layer].shape)
        w_old = float(tracked_weight[row, col])
        self.optimizer.step()
        w_grads = grads[0:n_params:2]
        tracked = (w_old, float(w_grads[layer].numpy()[row, col]), float(tracked_weight[row, col]))
        loss_value = loss.item()
        self.recorder.add(loss_value, tracked, w_grads, grads[n_params:], hidden, out, loss)
        return StepInfo(self.steps_done, loss_value, self.recorder.nonfinite)

    def run(self, n: int, on_progress=None) -> StepInfo | None:
        """Up to n steps; stops early at the first non-finite step. `on_progress(done, n)` after each step."""
        if not 1 <= n <= MAX_STEPS:
            raise ConfigError(f"Run between 1 and {MAX_STEPS:,} steps at a time.")
        n = min(n, MAX_STEPS - self.steps_done)
        if n <= 0:
            raise ConfigError(f"This run has recorded the maximum of {MAX_STEPS:,} steps; press Reset to start again.")
        info = None
        for i in range(n):
            info = self.step()
            if on_progress is not None:
                on_progress(i + 1, n)
            if info.nonfinite is not None:
                break
        self.recorder.flush()
        return StepInfo(self.steps_done, info.loss, self.nonfinite) if info else None
