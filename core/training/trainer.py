"""Step-by-step training: a `Run` owns its data, network, optimiser and random generator.

Two sessions with the same config and seed get the same numbers even when they train at the same
moment: the weights, the data and the batch order all come from the run's own generators, never
from the process-wide seed. Each `step()` is one real torch update; `core.training.recorder` records it
(per-layer gradient norms of both kinds, weight norms, update ratios, saturation, histograms, the
tracked weight's ledger, and the first Inf/NaN). `reset()` rewinds to the very same initial state.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from core.budget import UNLIMITED, Budget, Deadline
from core.training.clipping import clip_gradients
from core.training.config import MAX_STEPS, ConfigError, TrainConfig
from core.training.data import Dataset, make_dataset
from core.training.memory import Footprint, footprint, lower_kept, lower_peak
from core.training.network import MLP, build
from core.training.recorder import History, NonFinite, Recorder


@dataclass
class Edit:
    step: int  # applied before this step (0-based count of steps done)
    layer: int
    row: int
    col: int
    value: float


MAX_LINKED_EDITS = 20


def format_edits(edits: list[Edit]) -> str:
    """Hand-set weights as a link writes them: `step:layer.row.col=value` (1-based layer, row and column; the
    edit applies after `step` steps), separated by `;`."""
    return ";".join(f"{e.step}:{e.layer + 1}.{e.row + 1}.{e.col + 1}={e.value!r}" for e in edits)


_EDIT = re.compile(r"([0-9]{1,9}):([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})="
                   r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?)", re.ASCII)


def parse_edits(text: str) -> list[Edit]:
    """The inverse of `format_edits`; anything else is refused with a sentence (nothing is evaluated)."""
    edits = []
    parts = [p for p in text.split(";") if p.strip()]
    if len(parts) > MAX_LINKED_EDITS:
        raise ConfigError(f"a link carries at most {MAX_LINKED_EDITS} hand-set weights")
    for part in parts:
        match = _EDIT.fullmatch(part.strip())  # digits 0–9 only, as every number the app reads
        if match is None:
            raise ConfigError("a hand-set weight is written step:layer.row.col=value")
        step, layer, row, col, value = match.groups()
        edit = Edit(int(step), int(layer) - 1, int(row) - 1, int(col) - 1, float(value) + 0.0)
        if edit.step < 0 or min(edit.layer, edit.row, edit.col) < 0 or not math.isfinite(edit.value):
            raise ConfigError("a hand-set weight needs a step ≥ 0, a layer, row and column ≥ 1 and a finite value")
        edits.append(edit)
    return edits


@dataclass
class StepInfo:
    step: int  # 1-based number of the update just done
    loss: float
    nonfinite: NonFinite | None = None
    cut_short: str | None = None  # set when a run(n) stopped at the wall-time cap


@dataclass
class _State:
    params: dict[str, torch.Tensor]
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
        self.n_layers = len(self.model.layers)
        self._weightnorm = self.config.weightnorm
        if self._weightnorm:
            # W = g·v/‖v‖ is computed from the parameters g and v: the recorder reads copies of the W_l,
            # refreshed after every update, and the gradient is taken with respect to W_l as well.
            self.weights = [torch.empty(w.shape, dtype=w.dtype) for w in self.model.weights]
            self._others = list(range(len(self.params)))
            self._refresh_weights()
        else:
            self.weights = self.model.weights
            position = {id(p): i for i, p in enumerate(self.params)}
            self._weight_idx = [position[id(w)] for w in self.weights]
            self._others = [i for i in range(len(self.params)) if i not in set(self._weight_idx)]
        self.n_hidden = self.n_layers - 1
        self._grad_buffer()
        self._order: torch.Tensor | None = None
        self._cursor = 0
        self.optimizer = self._make_optimizer()
        self._initial = self._snapshot()
        self.track = self._check_track(track)
        self.edits: list[Edit] = []
        self._retrack: tuple[Run, int] | None = None  # a replay that follows another weight: (replay, its target)
        self._reset_records()

    # ------------------------------------------------------------------ state

    def _grad_buffer(self) -> None:
        """Every parameter's `.grad` is a view of one flat tensor (the W_l first, in layer order, then the other
        parameters), which the backward pass accumulates into in place: the recorder copies a step's
        gradients with one memory copy instead of one call per parameter. (With weight normalisation the W_l are
        not parameters, and their gradients are asked of autograd separately: see `_gradients`.)"""
        self._flat_grad = None
        if self._weightnorm:
            return
        # the W_l themselves, back to back in one buffer too: the recorder snapshots them with one copy
        flat_w = torch.empty(sum(w.numel() for w in self.weights), dtype=self.dtype)
        at = 0
        with torch.no_grad():
            for w in self.weights:
                view = flat_w[at: at + w.numel()].view(w.shape)
                view.copy_(w)
                w.data = view
                at += w.numel()
        order = [self.params[i] for i in self._weight_idx] + [self.params[i] for i in self._others]
        self._flat_grad = torch.zeros(sum(p.numel() for p in order), dtype=self.dtype)
        self._flat_grad_np = self._flat_grad.numpy()
        self._grad_views, at = [], 0
        for p in order:
            self._grad_views.append((p, self._flat_grad[at: at + p.numel()].view(p.shape)))
            at += p.numel()
        self._w_grads = [view for _, view in self._grad_views[: self.n_layers]]
        self._point_grads()

    def _point_grads(self) -> None:
        for p, view in self._grad_views:
            p.grad = view

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        # foreach=True: torch's multi-tensor implementation (one call for all parameters instead of a Python
        # loop over them); on CPU torch defaults to the loop. Same arithmetic, fewer dispatches.
        # weight_decay is torch's own: it adds λ·θ to every parameter's gradient inside the optimiser.
        if c.optimizer == "sgd":
            return torch.optim.SGD(self.params, lr=c.lr, weight_decay=c.weight_decay, foreach=True)
        if c.optimizer == "momentum":
            return torch.optim.SGD(self.params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay,
                                   foreach=True)
        return torch.optim.Adam(self.params, lr=c.lr, weight_decay=c.weight_decay, foreach=True)

    def _refresh_weights(self) -> None:
        """With weight normalisation: copy the effective W_l = g·v/‖v‖ into the tensors the recorder reads."""
        if self._weightnorm:
            with torch.no_grad():
                torch._foreach_copy_(self.weights, [layer.weight for layer in self.model.layers])

    def _snapshot(self) -> _State:
        # the state dict holds every parameter and buffer (batch norm's running statistics too)
        return _State({k: v.detach().clone() for k, v in self.model.state_dict().items()},
                      self.generator.get_state(), None if self._order is None else self._order.clone(),
                      self._cursor, copy.deepcopy(self.optimizer.state_dict()))

    def _restore(self, state: _State) -> None:
        with torch.no_grad():
            self.model.load_state_dict(state.params)  # copies in place: the recorder's views stay valid
            for p in self.params:
                p.grad = None
            if self._flat_grad is not None:
                self._point_grads()
        self._refresh_weights()
        self.generator.set_state(state.generator)
        self._order = None if state.order is None else state.order.clone()
        self._cursor = state.cursor
        self.optimizer = self._make_optimizer()
        self.optimizer.load_state_dict(copy.deepcopy(state.optimizer))

    def _reset_records(self) -> None:
        self.recorder = Recorder(self.weights, self.n_hidden, self.config.activation, self.dtype, MAX_STEPS,
                                 [self.params[i] for i in self._others], not self._weightnorm)
        self.recorder.follow(*self.track)
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
        self._retrack = None
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
            if self._weightnorm:  # assigning W runs weight norm's right inverse: g = ‖W‖ per row, v = W
                w = self.model.layers[layer].weight.clone()
                w[row, col] = value
                self.model.layers[layer].weight = w
                self._refresh_weights()
            else:
                self.weights[layer][row, col] = value
        self.recorder.begin()
        self.edits.append(Edit(self.steps_done, layer, row, col, float(value)))

    def perturb(self, eps: float, seed: int) -> None:
        """Move the initial parameters by ε along a random unit direction (over all parameters together), drawn
        from its own generator so that the run's data order is untouched. Reset rewinds to the moved point."""
        if self.steps_done:
            raise ConfigError("Perturb a run before its first step.")
        g = torch.Generator().manual_seed(seed)
        direction = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in self.params]
        norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d) for d in direction])))
        with torch.no_grad():
            for p, d in zip(self.params, direction, strict=True):
                p.add_(d, alpha=eps / norm)
        self._refresh_weights()
        self._initial = self._snapshot()
        self.recorder.begin()

    def retrack(self, track: tuple[int, int, int], budget: Budget = UNLIMITED) -> str | None:
        """Follow another weight in the ledger: replay the run from the start (it is deterministic) within the
        caller's budget. Returns None when the ledger is complete, else a sentence saying how far the replay got;
        `continue_retrack` goes on from there (the ledger of the steps not yet replayed is NaN until then)."""
        track = self._check_track(track)
        if track == self.track:
            return self.continue_retrack(budget) if self._retrack is not None else None
        target = self.steps_done
        if target:
            self.check_budget(target, budget, replay=True)
            self.history.arrays()["tracked"][:] = np.nan  # a view of the history's rows
            self._retrack = (Run(self.config, self.csv_bytes, track, dataset=self.dataset), target)
        self.track = track
        self.recorder.follow(*track)
        return self.continue_retrack(budget) if target else None

    @property
    def ledger_replayed(self) -> int | None:
        """While a retrack is under way: the steps (from the first) whose ledger is replayed; None when complete.
        Steps after the retrack's start are recorded with the new weight anyway."""
        return None if self._retrack is None else self._retrack[0].steps_done

    def ledger_known(self, step: int) -> bool:
        """Whether the tracked weight's ledger at `step` (1-based) is recorded or replayed."""
        if self._retrack is None:
            return True
        replay, target = self._retrack
        return step <= replay.steps_done or step > target

    def continue_retrack(self, budget: Budget = UNLIMITED) -> str | None:
        """Go on with an unfinished retrack; None when the ledger is complete, else how far it got."""
        if self._retrack is None:
            return None
        replay, target = self._retrack
        start = replay.steps_done
        cut = replay.replay(self.edits, target, budget)
        done = replay.steps_done
        self.history.arrays()["tracked"][start:done] = replay.history.arrays()["tracked"][start:done]
        if cut is None or replay.stopped:
            self._retrack = None
            return None
        return (f"The ledger of the weight you follow is replayed for steps 1–{done:,} of {target:,}: one request "
                f"may run for at most {budget.seconds:g} s on a shared server. Continue the replay to go on.")

    def replay(self, edits: list[Edit], steps: int, budget: Budget = UNLIMITED) -> str | None:
        """Train up to `steps` steps (from where the run stands) setting the hand-set `edits` at their steps, within
        the caller's budget. Returns None when done (or stopped by inf/NaN), else a sentence saying how far it got;
        calling it again goes on."""
        pending = sorted(edits, key=lambda e: e.step)
        deadline = budget.deadline()
        first = self.steps_done
        with budget.turns(self.work(steps - first)) as turn:
            while self.steps_done < steps:
                if deadline.expired and self.steps_done > first:
                    return deadline.message(self.steps_done, steps)
                turn()
                for e in [e for e in pending if e.step == self.steps_done]:
                    self.set_weight(e.layer, e.row, e.col, e.value)
                if self.step().nonfinite is not None:
                    break
        if self.steps_done >= steps or self.stopped:
            for e in [e for e in pending if e.step >= steps and e not in self.edits]:
                self.set_weight(e.layer, e.row, e.col, e.value)
        self.release()
        return None

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

    def _penalty(self, weights: list[torch.Tensor]) -> torch.Tensor | None:
        """L1 and L2 regularisation of the weight matrices (not the biases): l1·Σ|w| + (l2/2)·Σw²."""
        c, terms = self.config, []
        if c.l1:
            terms.append(c.l1 * torch.stack(torch._foreach_norm(weights, 1)).sum())
        if c.l2:
            terms.append(0.5 * c.l2 * torch.stack(torch._foreach_norm(weights, 2)).square().sum())
        return sum(terms) if terms else None

    def _gradients(self, xb: torch.Tensor, yb: torch.Tensor):
        """Forward and one backward pass: ∂L/∂θ for every parameter, ∂L/∂W_l and ∂L/∂h_l.

        Returns (out, hidden, data loss, loss that was differentiated, parameter grads, W grads, h grads, units);
        the units φ(z_l) differ from the hidden outputs h_l with residual connections or post-norm."""
        n_params = len(self.params)
        if self._weightnorm:
            with parametrize.cached():  # W_l computed once from g and v, and the very tensor the forward uses
                weights = [layer.weight for layer in self.model.layers]
                out, hidden, units = self.model.trace(xb)
                data_loss = self._loss(out, yb)
                penalty = self._penalty(weights)
                loss = data_loss if penalty is None else data_loss + penalty
                grads = torch.autograd.grad(loss, self.params + weights + hidden)
            w_grads = grads[n_params: n_params + self.n_layers]
            h_grads = grads[n_params + self.n_layers:]
        else:
            out, hidden, units = self.model.trace(xb)
            data_loss = self._loss(out, yb)
            penalty = self._penalty(self.weights)
            loss = data_loss if penalty is None else data_loss + penalty
            grads = torch.autograd.grad(loss, self.params + hidden)  # ∂L/∂θ and ∂L/∂h_l in one backward pass
            w_grads = [grads[i] for i in self._weight_idx]
            h_grads = grads[n_params:]
        return out, hidden, data_loss, loss, grads[:n_params], w_grads, h_grads, units

    def step(self) -> StepInfo:
        """One real update, recorded. A run that already hit Inf/NaN does not step again."""
        if self.recorder.nonfinite is not None:
            return StepInfo(self.steps_done, math.nan, self.recorder.nonfinite)
        if self.steps_done >= MAX_STEPS:
            raise ConfigError(f"A run records at most {MAX_STEPS:,} steps; press Reset to start again.")
        self.recorder.last_tensors = ()  # the previous step's h_l and ∂L/∂h_l: not alive beside this step's
        xb, yb = self._next_batch()
        if self._flat_grad is None:  # weight normalisation: ∂L/∂W_l asked of autograd beside ∂L/∂θ
            out, hidden, data_loss, loss, p_grads, w_grads, h_grads, units = self._gradients(xb, yb)
            for p, g in zip(self.params, p_grads, strict=True):
                p.grad = g
            others, flat = [p_grads[i] for i in self._others], None
        else:
            self._flat_grad.zero_()
            out, hidden, units = self.model.trace(xb)
            data_loss = self._loss(out, yb)
            penalty = self._penalty(self.weights)
            loss = data_loss if penalty is None else data_loss + penalty
            # one backward pass: ∂L/∂θ accumulates into the flat buffer, ∂L/∂h_l into each h_l's .grad
            torch.autograd.backward(loss, inputs=[*self.params, *hidden])
            w_grads, h_grads, others, flat = self._w_grads, [h.grad for h in hidden], (), self._flat_grad_np
        before = clip_gradients(self.params, self.config.clip_norm, self.config.clip_value)
        self.optimizer.step()
        self._refresh_weights()
        loss_value = data_loss.item()  # recorded without the regularisation penalty, comparable across runs
        # the tracked weight's ledger (w_old, ∂L/∂w, w_new) is read from the recorder's rows (see follow())
        self.recorder.add(loss_value, None, w_grads, h_grads, hidden, out, loss, others, before, units=units,
                          flat_grads=flat)
        return StepInfo(self.steps_done, loss_value, self.recorder.nonfinite)

    @property
    def last_weight_grads(self) -> list[np.ndarray] | None:
        """∂L/∂W_l of the last step (after clipping), or None before the first step."""
        return self.recorder.last_weight_grads()

    def footprint(self, steps: int) -> Footprint:
        """The bytes this run uses once `steps` steps are recorded (see core.training.memory)."""
        return footprint(self.config, steps, self.dataset.n_features, self.dataset.n_outputs, self.dataset.n)

    def check_budget(self, n: int, budget: Budget, replay: bool = False) -> None:
        """Refuse, before any work and with what to lower, n more steps (or a replay of n steps beside this run)
        that the budget's work or memory caps do not allow."""
        if not replay:
            budget.check_work(self.config.depth, self.config.width, n)
        shape = {"n_in": self.dataset.n_features, "n_out": self.dataset.n_outputs, "n_samples": self.dataset.n}
        total = self.steps_done + n if not replay else n
        mine = self.footprint(self.steps_done).kept if replay else 0  # a replay is a second run beside this one
        need = self.footprint(total)
        cap = None if budget.session_bytes is None else budget.session_bytes - mine
        budget.check_memory(need.step, need.kept + mine,
                            lambda: lower_peak(self.config, budget.request_bytes or 0, **shape),
                            lambda: lower_kept(self.config, cap or 0, 0 if replay else self.steps_done,
                                               2 if replay else 1, **shape))
        budget.claim(self, need.kept + mine, "lower the width or the depth")

    def work(self, steps: int) -> float:
        """Floating-point operations of `steps` steps, roughly: forward and backward, 6 per weight and sample."""
        return 6.0 * self.recorder.n_weights * min(self.config.batch_size, self.dataset.n) * steps

    def release(self) -> None:
        """Drop what only a step in progress needs (the recorder's stacked buffer, the last step's activations and
        ∂L/∂h_l); called at the end of every run, so that a session keeps only its run between requests."""
        self.recorder.release()

    def run(self, n: int, on_progress=None, budget: Budget = UNLIMITED, seconds: float | None = None
            ) -> StepInfo | None:
        """Up to n steps; stops early at the first non-finite step. `on_progress(done, n)` after each step.

        `budget` is the caller's cap on work, memory and wall time, and its turns at the CPU (the app passes the
        shared server's; none by default). `seconds`: stop, without a word, after this much of this thread's CPU time
        (one Play tick);
        at least one step is always taken.
        """
        if not 1 <= n <= MAX_STEPS:
            raise ConfigError(f"Run between 1 and {MAX_STEPS:,} steps at a time.")
        n = min(n, MAX_STEPS - self.steps_done)
        if n <= 0:
            raise ConfigError(f"This run has recorded the maximum of {MAX_STEPS:,} steps; press Reset to start again.")
        self.check_budget(n if seconds is None else 1, budget)  # a tick takes a few steps, each checked by the next
        deadline = budget.deadline()
        tick = Deadline(seconds, cpu=True)  # this thread's processor time: the same work however busy the server
        info, cut = None, None
        with budget.turns(self.work(n)) as turn:
            for i in range(n):
                turn()
                info = self.step()
                if on_progress is not None:
                    on_progress(i + 1, n)
                if info.nonfinite is not None or tick.expired:
                    break
                if deadline.expired and i + 1 < n:
                    cut = deadline.message(i + 1, n) if seconds is None else None  # a tick's end is no cut
                    break
        self.release()
        return StepInfo(self.steps_done, info.loss, self.nonfinite, cut) if info else None
