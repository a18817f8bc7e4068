"""RNN against LSTM (torch's nn.RNN and nn.LSTM) on a long-range memory task, trained step by step.

The task is generated here from the run's own generator. The adding problem (Hochreiter & Schmidhuber
1997): each time step carries a random number in [0, 1] and a marker; exactly two steps are marked, one
in each half of the sequence, and the target is the sum of the two marked numbers. Predicting the mean
(1.0) gives MSE 1/6 ≈ 0.167, so a loss below that needs memory across the sequence. Recall the first
token: a sequence of random symbols, the answer is the first one (chance: cross-entropy ln K).

Each step unrolls the recurrence one time step at a time, calling the same nn.RNN / nn.LSTM module with its
state, so that ∂L/∂h_t (and, for the LSTM, ∂L/∂c_t) is measured by autograd at every time step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from core.budget import UNLIMITED, Budget, Deadline
from core.numbers import sig
from core.training.clipping import clip_gradients
from core.training.config import ConfigError

TASKS = ("adding", "first_token")
TASK_LABELS = {"adding": "adding problem (sum of the two marked numbers)",
               "first_token": "recall the first token (of 4 symbols)"}
N_SYMBOLS = 4
MAX_SEQ_STEPS = 2000  # training steps per run
LIMITS = {"seq_len": (2, 200), "hidden": (1, 128), "batch_size": (1, 256), "lr": (1e-6, 10.0),
          "clip_norm": (0.0, 1e6), "seed": (0, 2**31 - 1), "forget_bias": (-20.0, 20.0)}


class SeqConfigError(ValueError):
    """A recurrent configuration that cannot be trained; the message names the value."""


@dataclass(frozen=True)
class SeqConfig:
    task: str = "adding"
    seq_len: int = 50
    hidden: int = 32
    rnn_activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 32
    seed: int = 0
    forget_bias: float | None = None  # None: PyTorch's default (no special forget-gate bias); else b_f
    clip_norm: float = 0.0  # > 0: clip_grad_norm_ at this threshold (shared with the remedies lab)

    def validated(self) -> SeqConfig:
        if self.task not in TASKS:
            raise SeqConfigError(f"task must be one of {', '.join(TASKS)}")
        if self.rnn_activation not in ("tanh", "relu"):
            raise SeqConfigError("nn.RNN's nonlinearity is tanh or relu")
        if self.optimizer not in ("sgd", "adam"):
            raise SeqConfigError("optimizer must be sgd or adam")
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if name == "forget_bias" and value is None:
                continue
            whole = name in ("seq_len", "hidden", "batch_size", "seed")
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                raise SeqConfigError(f"{name} must be a {'whole ' if whole else ''}number (got {value!r})")
            if not (math.isfinite(value) and lo <= value <= hi):
                raise SeqConfigError(f"{name} = {sig(value)} is outside {sig(lo)} … {sig(hi)}")
        return self

    def with_(self, **changes) -> SeqConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def make_batch(task: str, seq_len: int, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y): x is (batch, seq_len, features); y the targets. Drawn from `generator` only."""
    if task == "adding":
        values = torch.rand(batch, seq_len, generator=generator)
        half = max(1, seq_len // 2)
        first = torch.randint(0, half, (batch,), generator=generator)
        second = torch.randint(half, seq_len, (batch,), generator=generator) if seq_len > half else first
        markers = torch.zeros(batch, seq_len)
        rows = torch.arange(batch)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=2)
        y = (values * markers).sum(dim=1, keepdim=True)
        return x, y
    symbols = torch.randint(0, N_SYMBOLS, (batch, seq_len), generator=generator)
    return nn.functional.one_hot(symbols, N_SYMBOLS).float(), symbols[:, 0]


class SeqModel(nn.Module):
    """nn.RNN or nn.LSTM (one layer) and a linear read-out of the last hidden state."""

    def __init__(self, kind: str, n_in: int, hidden: int, n_out: int, activation: str = "tanh"):
        super().__init__()
        self.kind = kind
        if kind == "rnn":
            self.core = nn.RNN(n_in, hidden, nonlinearity=activation, batch_first=True)
        else:
            self.core = nn.LSTM(n_in, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor):
        """Unrolled one step at a time; returns (output, [h_1 … h_T], [c_1 … c_T] or [])."""
        hs, cs, state = [], [], None
        for t in range(x.shape[1]):
            _, state = self.core(x[:, t: t + 1], state)
            if self.kind == "lstm":
                h, c = state
                hs.append(h)
                cs.append(c)
            else:
                hs.append(state)
        return self.readout(hs[-1][0]), hs, cs


def init_model(model: SeqModel, generator: torch.Generator, forget_bias: float | None) -> None:
    """PyTorch's own init (U(±1/√H) for every weight and bias), drawn from the run's generator.

    With `forget_bias`, the LSTM's forget-gate biases (gate order i, f, g, o) are set so that b_f = value
    (bias_ih_f = value, bias_hh_f = 0), as Gers et al. (2000) and Jozefowicz et al. (2015) recommend (≈1).
    """
    with torch.no_grad():
        for p in model.parameters():
            bound = 1 / math.sqrt(model.core.hidden_size)
            nn.init.uniform_(p, -bound, bound, generator=generator)
        if model.kind == "lstm" and forget_bias is not None:
            H = model.core.hidden_size
            model.core.bias_ih_l0[H: 2 * H] = forget_bias
            model.core.bias_hh_l0[H: 2 * H] = 0.0


class SeqRun:
    """One model (RNN or LSTM) trained on fresh batches of the task, recording what the page charts."""

    def __init__(self, kind: str, config: SeqConfig):
        if kind not in ("rnn", "lstm"):
            raise SeqConfigError("kind must be rnn or lstm")
        self.kind, self.config = kind, config.validated()
        self.generator = torch.Generator().manual_seed(config.seed)
        n_in = 2 if config.task == "adding" else N_SYMBOLS
        n_out = 1 if config.task == "adding" else N_SYMBOLS
        self.model = SeqModel(kind, n_in, config.hidden, n_out, config.rnn_activation)
        init_model(self.model, self.generator, config.forget_bias)
        # Separate generator for the data, so RNN and LSTM with the same seed see the very same batches.
        self.data_generator = torch.Generator().manual_seed(config.seed + 7919)
        self.params = list(self.model.parameters())
        opt = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt(self.params, lr=config.lr, foreach=True)
        self.losses: list[float] = []
        self.norms_before: list[float] = []  # global gradient norm before clipping
        self.norms_after: list[float] = []
        self.grad_h: np.ndarray | None = None  # (T,) ‖∂L/∂h_t‖ of the last step, t = 1 … T
        self.grad_c: np.ndarray | None = None  # LSTM only: ‖∂L/∂c_t‖, t = 1 … T − 1
        self.first_grad_h: np.ndarray | None = None
        self.first_grad_c: np.ndarray | None = None
        self.stopped: str | None = None

    @property
    def steps(self) -> int:
        return len(self.losses)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.config.task == "adding":
            return nn.functional.mse_loss(out, y)
        return nn.functional.cross_entropy(out, y)

    def step(self) -> float:
        """One update on a fresh batch; records loss, gradient norms (before/after clipping) and ‖∂L/∂h_t‖."""
        if self.stopped:
            return math.nan
        if self.steps >= MAX_SEQ_STEPS:
            raise SeqConfigError(f"a run trains at most {MAX_SEQ_STEPS:,} steps; press Reset")
        c = self.config
        x, y = make_batch(c.task, c.seq_len, c.batch_size, self.data_generator)
        out, hs, cs = self.model(x)
        loss = self._loss(out, y)
        # c_T feeds nothing (the read-out uses h_T), so the LSTM's cell-state gradients are taken for c_1 … c_{T−1}
        grads = torch.autograd.grad(loss, self.params + hs + cs[:-1])
        n = len(self.params)
        for p, g in zip(self.params, grads[:n], strict=True):
            p.grad = g
        total = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads[:n]])))
        before = clip_gradients(self.params, c.clip_norm)
        after = total if math.isnan(before) else float(
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad.double()) for p in self.params])))
        self.optimizer.step()
        T = len(hs)
        self.grad_h = np.array([float(torch.linalg.vector_norm(g.double())) for g in grads[n: n + T]])
        self.grad_c = np.array([float(torch.linalg.vector_norm(g.double())) for g in grads[n + T:]]) if cs else None
        if self.first_grad_h is None:
            self.first_grad_h, self.first_grad_c = self.grad_h, self.grad_c
        value = float(loss.detach())
        self.losses.append(value)
        self.norms_before.append(total)
        self.norms_after.append(after)
        if not (math.isfinite(value) and math.isfinite(after)):
            self.stopped = f"step {self.steps}: the loss or the gradient became inf or NaN; training stopped."
        return value

    def run(self, n: int, on_step=None, deadline: Deadline | None = None) -> str | None:
        """Up to n steps; returns a sentence if the caller's `deadline` (none by default) stopped it early."""
        if not 1 <= n <= MAX_SEQ_STEPS:
            raise SeqConfigError(f"run between 1 and {MAX_SEQ_STEPS:,} steps at a time")
        deadline = deadline or Deadline(None)
        for i in range(min(n, MAX_SEQ_STEPS - self.steps)):
            if deadline.expired:
                return deadline.message(i, n)
            self.step()
            if on_step is not None:
                on_step(i + 1, n)
            if self.stopped:
                break
        return None

    def chance_loss(self) -> float:
        """The loss of the best memoryless guess: 1/6 for adding (predict 1), ln K for recall."""
        return 1 / 6 if self.config.task == "adding" else math.log(N_SYMBOLS)


#: numbers alive at a step's peak per time step × sample × unit (measured with the resident size of a process:
#: RNN 4.7–5.8, LSTM 19–23 with its four gates, cell state and their gradients)
STEP_FLOATS = {"rnn": 6, "lstm": 23}


def step_bytes(kind: str, config: SeqConfig) -> int:
    """The memory one training step of an `nn.RNN` or `nn.LSTM` uses at its peak (unrolled through every time step)."""
    return STEP_FLOATS[kind] * config.seq_len * config.batch_size * config.hidden * 4


def train_together(runs: tuple[SeqRun, ...], n: int, on_step=None, budget: Budget = UNLIMITED) -> str | None:
    """Train every run for up to n steps, taking their steps in turn, so that a time limit leaves each model with
    as many steps as the others (a fair share, whatever one step of each costs). `on_step(done, n)` after each
    round. Returns None, or a sentence naming each model's own steps when the caller's budget stopped them. A step
    larger than the budget's memory per request is refused before any work, with the batch size that fits."""
    if not 1 <= n <= MAX_SEQ_STEPS:
        raise SeqConfigError(f"run between 1 and {MAX_SEQ_STEPS:,} steps at a time")
    config = runs[0].config
    heaviest = max(STEP_FLOATS[run.kind] for run in runs)
    fits = (budget.request_bytes or 0) // (heaviest * config.seq_len * config.hidden * 4)
    try:
        budget.check_memory(max(step_bytes(run.kind, config) for run in runs), 0,
                            lambda: (f"lower the batch size from {config.batch_size:,} to at most {fits:,}" if fits
                                     else "lower the sequence length or the hidden size"), str)
    except ConfigError as err:
        raise SeqConfigError(str(err)) from err
    deadline = budget.deadline()
    start = [run.steps for run in runs]
    with budget.turns(float("inf")) as turn:  # recurrent nets: long work
        for i in range(n):
            live = [run for run in runs if not run.stopped and run.steps < MAX_SEQ_STEPS]
            if not live:
                break
            if i and deadline.expired:
                done = ", ".join(f"the {run.kind.upper()} {run.steps - s:,}" for run, s in zip(runs, start, strict=True))
                return (f"Stopped after {i:,} of {n:,} steps ({done} this time): one request may run for at most "
                        f"{deadline.seconds:g} s on a shared server, shared by the models in turn. What was trained is "
                        "kept; train again to continue.")
            for run in live:
                turn()
                run.step()
            if on_step is not None:
                on_step(i + 1, n)
    return None

