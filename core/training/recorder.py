"""What a training run records per step and per layer, computed in batches so that it costs little.

Per step the recorder only copies: the parameter gradients, the weights, and the stacked h_l and ∂L/∂h_l,
into preallocated rows. Every few steps, or whenever the history is read, `flush` reduces the pending rows
at once. The history holds, per step and layer:

- ‖∂L/∂W_l‖ and ‖∂L/∂h_l‖, in float64 (float32's own sum of squares overflows past ≈1.8e19);
- ‖W_l‖ after the update and the update-to-weight ratio ‖ΔW_l‖/‖W_l‖ with the real ΔW of the optimiser;
- the fraction of saturated (sigmoid, tanh) or dead (ReLU) units in each hidden layer;
- a histogram of |∂L/∂w| per layer by decade;
- where a value first became inf or NaN.

Doing the reductions for many steps at once replaces hundreds of tiny numpy/torch calls per step by a
few large ones (see benchmarks/bench_training.py for the measured cost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.numbers import power_of_ten

HIST_LO, HIST_HI = -10, 10  # decades of |∂L/∂w| from 1e-10 to 1e10, plus one bin below and one above
HIST_BINS = HIST_HI - HIST_LO + 2
SATURATION = 0.99  # |tanh| > 0.99 or sigmoid outside (0.01, 0.99): the derivative is below ≈ 0.02
PENDING_BYTES = 8_000_000  # memory the pending steps may hold before a flush
SCRATCH_BYTES = 4_000_000  # hidden layers up to this size are stacked and reduced in one call per step


def _row_norms(block: np.ndarray) -> np.ndarray:
    """(steps, n) → (steps,) Euclidean norms in float64, exact for every row whose elements are finite.

    A plain sum of squares overflows past ≈1.8e19 in float32 and ≈1.3e154 in float64 although the norm
    itself is representable; such rows are computed as max|x| · ‖x / max|x|‖ instead. A row holding inf or
    NaN gets inf or NaN.
    """
    b = block.astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.sqrt(np.einsum("ij,ij->i", b, b))
        over = np.isinf(out) & np.isfinite(b).all(axis=1)
        if over.any():
            sub = b[over]
            scaled = sub / np.abs(sub).max(axis=1, keepdims=True)
            out[over] = np.abs(sub).max(axis=1) * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    return out


def _one_block(arrays: list[np.ndarray]) -> np.ndarray | None:
    """One array viewing all of `arrays` when they are contiguous pieces of one buffer, in order; else None."""
    first = arrays[0]
    at = first.__array_interface__["data"][0]
    for a in arrays:
        if not a.flags.c_contiguous or a.__array_interface__["data"][0] != at or a.dtype != first.dtype:
            return None
        at += a.nbytes
    if first.base is None:
        return None
    total = sum(a.size for a in arrays)
    return np.lib.stride_tricks.as_strided(first, shape=(total,), strides=(first.itemsize,), writeable=False)


def hist_labels() -> list[str]:
    """Labels of the histogram bins, e.g. '< 10⁻¹⁰', '10⁻³ … 10⁻²', '≥ 10¹⁰, inf, NaN' (× 10ⁿ, never e-notation)."""
    labels = [f"< {power_of_ten(HIST_LO)}"]
    labels += [f"{power_of_ten(k)} … {power_of_ten(k + 1)}" for k in range(HIST_LO, HIST_HI)]
    return labels + [f"≥ {power_of_ten(HIST_HI)}, inf, NaN"]


@dataclass(frozen=True)
class NonFinite:
    """Where a value first stopped being a finite number."""

    step: int  # 1-based step number
    stage: str  # "forward", "loss", "backward", "update"
    tensor: str  # e.g. "h_3", "∂L/∂W_2", "W_1"
    layer: int | None  # 1-based layer, None for the loss
    kind: str  # "inf" or "NaN"

    def explain(self) -> str:
        where = {
            "forward": f"in the forward pass, in {self.tensor} (the output of layer {self.layer})",
            "loss": "in the loss itself",
            "backward": f"in the backward pass, in {self.tensor}",
            "update": f"in the weight update: {self.tensor} after the step",
        }[self.stage]
        return (f"Step {self.step}: a value became {self.kind} {where}. Floating-point numbers end at about "
                "3.4 × 10³⁸ (float32) or 1.8 × 10³⁰⁸ (float64); past that arithmetic gives inf, and inf − inf "
                "or 0 · inf gives NaN, which then spreads to every number it touches. Training stopped here: "
                "every later step would only propagate NaN.")


class History:
    """Per-step records in preallocated arrays (grown by doubling up to `max_steps`)."""

    FIELDS = ("loss", "grad_norm", "grad_w", "grad_h", "weight", "update_ratio", "saturation", "tracked",
              "grad_total_raw", "grad_total")

    def __init__(self, n_layers: int, n_hidden: int, max_steps: int):
        self.n, self.n_layers, self.n_hidden, self.max_steps = 0, n_layers, n_hidden, max_steps
        widths = {"loss": 1, "grad_norm": 1, "grad_w": n_layers, "grad_h": n_hidden, "weight": n_layers,
                  "update_ratio": n_layers, "saturation": n_hidden, "tracked": 3,
                  "grad_total_raw": 1, "grad_total": 1}
        self._slices, start = {}, 0
        for name in self.FIELDS:  # every float of a step in one row
            self._slices[name] = slice(start, start + widths[name])
            start += widths[name]
        self.width = start
        self._alloc(256)

    def _alloc(self, capacity: int) -> None:
        rows = np.full((capacity, self.width), np.nan)
        hist = np.zeros((capacity, self.n_layers, HIST_BINS), dtype=np.float16)
        if self.n:
            rows[: self.n], hist[: self.n] = self._rows[: self.n], self._hist[: self.n]
        self._rows, self._hist, self.capacity = rows, hist, capacity

    def extend(self, rows: np.ndarray, hist: np.ndarray) -> None:
        while self.n + len(rows) > self.capacity:
            self._alloc(min(self.capacity * 2, self.max_steps))
        self._rows[self.n: self.n + len(rows)] = rows
        self._hist[self.n: self.n + len(rows)] = hist
        self.n += len(rows)

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        return rows[:, self._slices[name]]

    def arrays(self) -> dict[str, np.ndarray]:
        """Views of the recorded steps: loss (T,), grad_norm (T,), grad_w (T, L+1), grad_h (T, L),
        weight (T, L+1), update_ratio (T, L+1), saturation (T, L), tracked (T, 3), hist (T, L+1, bins),
        grad_total_raw (T,) and grad_total (T,): the global norm of the gradient of every trained parameter
        before and after clipping (equal without clipping)."""
        out = {name: self._rows[: self.n, sl] for name, sl in self._slices.items()}
        for name in ("loss", "grad_norm", "grad_total_raw", "grad_total"):
            out[name] = out[name][:, 0]
        out["hist"] = self._hist[: self.n]
        return out

    def set_column(self, name: str, values: np.ndarray) -> None:
        self._rows[: len(values), self._slices[name]] = values

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes + self._hist.nbytes


class Recorder:
    """Collects steps cheaply and reduces them in batches into a History.

    Every torch or numpy call costs microseconds of dispatch whatever the size of its data, and more inside a
    training step than in a tight loop (the step's own work has pushed the call's code and data out of the
    caches). So `add` makes three calls: one `torch._foreach_copy_` of every parameter gradient, one
    `np.concatenate` of the weights and one `torch.stack` of the h_l and ∂L/∂h_l, each into the pending step's
    row of a preallocated buffer. Everything else (norms, update ratios, saturation, histograms, the tracked
    weight's ledger) waits for `flush`, which reduces all pending steps at once.
    """

    def __init__(self, weights: list[torch.Tensor], n_hidden: int, activation: str, dtype: torch.dtype,
                 max_steps: int, others: list[torch.Tensor] = (), weights_are_parameters: bool = True):
        """`weights`: the weight matrices W_l whose gradients and values are recorded (shared memory: they are
        read after every step). `others`: the other trained parameters (biases, batch-norm γ and β, weight
        norm's g and v), whose gradients only enter the global gradient norm. With weight normalisation the
        W_l are not parameters themselves, so `weights_are_parameters` is False and only `others` count."""
        self.activation = activation
        self.n_layers, self.n_hidden = len(weights), n_hidden
        self.shapes = [tuple(w.shape) for w in weights]
        self.sizes = np.array([w.numel() for w in weights])
        self.n_weights = int(self.sizes.sum())
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self._groups: list[tuple[int, int]] = []  # runs [a, b) of consecutive layers with the same size
        for k, size in enumerate(self.sizes):
            if self._groups and self.sizes[self._groups[-1][0]] == size:
                self._groups[-1] = (self._groups[-1][0], k + 1)
            else:
                self._groups.append((k, k + 1))
        self.w_flat = [w.detach().numpy().reshape(-1) for w in weights]  # share memory with the parameters
        self.w_all = _one_block(self.w_flat)  # when the W_l lie back to back in memory: one view of them all
        self.np_dtype = np_dtype = np.float64 if dtype == torch.float64 else np.float32
        self.n_other = sum(t.numel() for t in others)
        per_step = np.dtype(np_dtype).itemsize * (2 * self.n_weights + self.n_other)
        # each gradient row: step k's weight gradients, then the other parameters' gradients (one copy for all)
        self._flat = [(int(s), int(n), tuple(w.shape)) for s, n, w in zip(self.starts, self.sizes, weights, strict=True)]
        at = self.n_weights
        for t in others:
            self._flat.append((at, t.numel(), tuple(t.shape)))
            at += t.numel()
        self.int_type = torch.int64 if dtype == torch.float64 else torch.int32
        self.snap = np.empty((1, self.n_weights), dtype=np_dtype)
        self._allocate(int(max(1, min(32, PENDING_BYTES // max(per_step, 1)))))
        self.weights_are_parameters = weights_are_parameters
        self._steps: list[tuple[float, float, tuple[float, float, float] | None]] = []  # loss, clip norm, tracked
        self.track_index: int | None = None  # flat index of the weight whose ledger is read from the buffers
        self.hidden_shape: tuple[int, ...] | None = None  # (batch, width) of every h_l; buffers follow it
        self.pending = 0
        self.last_tensors: tuple = ()  # the latest step's tensors until the next flush (to locate a NaN)
        self.last_grads: np.ndarray | None = None  # the latest flushed step's ∂L/∂W, flat
        self.history = History(self.n_layers, n_hidden, max_steps)
        bits, bias = (52, 1023) if dtype == torch.float64 else (23, 127)
        self.bits, self.mask, self.n_exp = bits, 2 * bias + 1, 2 * bias + 2
        # Binary exponent e covers [2^(e−bias), 2^(e−bias+1)); its decade is floor((e − bias)·log₁₀2).
        decade = np.floor((np.arange(self.n_exp) - bias) * math.log10(2)).astype(np.int64)
        bins = np.clip(decade - (HIST_LO - 1), 0, HIST_BINS - 1)
        bins[0], bins[-1] = 0, HIST_BINS - 1  # zeros and subnormals; inf and NaN
        self.bin_starts = np.searchsorted(bins, np.arange(HIST_BINS))  # bins never decreases with e
        self.nonfinite: NonFinite | None = None
        self.begin()

    def _allocate(self, cap: int) -> None:
        """Buffers for `cap` pending steps: gradient rows, weight snapshots (row 0 is kept) and histogram keys."""
        self.capacity = cap
        self.grads = np.empty((cap, self.n_weights + self.n_other), dtype=self.np_dtype)
        before = self.snap[0].copy()
        self.snap = np.empty((cap + 1, self.n_weights), dtype=self.np_dtype)  # row 0: before the 1st pending step
        self.snap[0] = before
        grads = torch.from_numpy(self.grads)
        # add() copies step k's gradients into these views of grads[k], one per parameter
        self._grad_rows = [[grads[k, s: s + n].view(shape) for s, n, shape in self._flat] for k in range(cap)]
        n_exp = 2 * (1023 if self.np_dtype == np.float64 else 127) + 2
        offsets = (np.arange(cap)[:, None] * (self.n_layers * n_exp)
                   + np.repeat(np.arange(self.n_layers) * n_exp, self.sizes)[None, :])
        self._offsets = torch.from_numpy(offsets.astype(np.int64 if self.np_dtype == np.float64 else np.int32))

    def _snapshot(self, row: int) -> None:
        """Copy the current weights into snap[row]: one memory copy when they lie back to back."""
        if self.w_all is not None:
            self.snap[row] = self.w_all
        else:
            np.concatenate(self.w_flat, out=self.snap[row])

    def last_weight_grads(self) -> list[np.ndarray] | None:
        """∂L/∂W_l of the latest step (after clipping), one array per layer, or None before the first step."""
        self.flush()
        if self.last_grads is None:
            return None
        return [self.last_grads[s: s + n].reshape(shape) for s, n, shape in self._flat[: self.n_layers]]

    def follow(self, layer: int, row: int, col: int) -> None:
        """Record the ledger (w_old, ∂L/∂w, w_new) of W_layer[row, col], read from the buffers at flush."""
        self.track_index = int(self.starts[layer]) + row * self.shapes[layer][1] + col

    def _hidden_buffers(self, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        """Pending per-step reductions of the h_l and ∂L/∂h_l, whose shape (batch, width) is known at the first step.

        Unlike the weights and their gradients, the hidden tensors are reduced at once, in the step that made them,
        while they are still in the cache: per step the pending rows keep only ‖∂L/∂h_l‖ (float64) and what the
        saturation needs (each unit's maximum over the batch for ReLU, the count of saturated values for tanh
        and sigmoid), not the (batch × width) tensors themselves. Small layers are stacked into one scratch
        tensor first (one reduction for all layers); layers too large for that are reduced one by one, so no
        buffer ever grows with batch × width × depth."""
        if self.pending:
            self.flush()
        L, cap = self.n_hidden, self.capacity
        self.hidden_shape = tuple(shape)
        self._exact_h: list[tuple[int, int, float]] = []
        self._hnorm = torch.empty((cap, L), dtype=dtype)  # in the data's own precision, as torch computes it
        self._hnorm_np = self._hnorm.numpy()
        self._sat_kind = {"relu": "max", "leaky_relu": "max", "tanh": "count", "sigmoid": "count"}.get(self.activation)
        width = shape[-1] if shape else 1
        self._sat = (torch.empty((cap, L, width), dtype=dtype) if self._sat_kind == "max"
                     else torch.zeros((cap, L), dtype=torch.int64))
        scratch_bytes = 2 * L * math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        self._scratch = None
        if scratch_bytes <= SCRATCH_BYTES and len(shape) == 2:
            self._scratch = torch.empty((2 * L, *shape), dtype=dtype)
            self._scratch_g = self._scratch[:L].view(L, -1)
            self._scratch_h = self._scratch[L:]

    @property
    def steps(self) -> int:
        return self.history.n + self.pending

    def begin(self) -> None:
        """Take the current weights as 'before the next step' (after a flush, an edit or a reset)."""
        self._snapshot(0)

    def add(self, loss_value: float, tracked: tuple[float, float, float] | None, w_grads, h_grads, hidden, out,
            loss, other_grads=(), norm_before_clipping: float = math.nan, units=None,
            flat_grads: np.ndarray | None = None) -> None:
        """Store one step (after the optimiser's update); flush at once if the loss stopped being finite.

        The gradients are those the optimiser used (after any clipping): `flat_grads`, every parameter's gradient
        in one array (the W_l first, then `other_grads`' parameters), or else `w_grads` and `other_grads`, copied
        one by one. `norm_before_clipping` is the global norm before clipping, or NaN when nothing was clipped.
        `tracked` is (w_old, ∂L/∂w, w_new) of the followed weight, or None to read it from the recorded rows (see
        `follow`). `units`: the activations φ(z_l) whose saturation or death is counted, when they are not the
        hidden outputs h_l themselves (residual connections, post-norm)."""
        if self.n_hidden and hidden[0].shape != self.hidden_shape:  # known at the first step
            self._hidden_buffers(tuple(hidden[0].shape), hidden[0].dtype)
        k = self.pending
        if flat_grads is not None:
            self.grads[k] = flat_grads
        else:
            torch._foreach_copy_(self._grad_rows[k], [*w_grads, *other_grads])
        self._snapshot(k + 1)
        if self.n_hidden:
            self._reduce_hidden(k, h_grads, hidden if units is None else units)
        self._steps.append((loss_value, norm_before_clipping, tracked))
        self.last_tensors = (w_grads, h_grads, hidden, out, loss)
        self.pending += 1
        # A non-finite weight or gradient reaches the loss at the latest one step later; the flush then
        # finds the first step whose norms are not finite.
        if not math.isfinite(loss_value) or self.pending >= self.capacity:
            self.flush()

    def _reduce_hidden(self, k: int, h_grads, units) -> None:
        """Step k's ‖∂L/∂h_l‖ and saturation data into the pending rows (see `_hidden_buffers`)."""
        with torch.no_grad():
            if self._scratch is not None:
                torch.stack([*h_grads, *units], out=self._scratch)
                torch.linalg.vector_norm(self._scratch_g, dim=1, out=self._hnorm[k])
                acts = self._scratch_h
                if self._sat_kind == "max":
                    torch.amax(acts, dim=1, out=self._sat[k])
                elif self._sat_kind == "count":
                    torch.sum(self._saturated(acts), dim=(1, 2), out=self._sat[k])
            else:
                torch.stack(torch._foreach_norm(list(h_grads), 2), out=self._hnorm[k])
                for layer, act in enumerate(units):
                    if self._sat_kind == "max":
                        torch.amax(act.reshape(-1, act.shape[-1]), dim=0, out=self._sat[k, layer])
                    elif self._sat_kind == "count":
                        self._sat[k, layer] = int(self._saturated(act).sum())
            if not np.isfinite(self._hnorm_np[k]).all():
                # a sum of squares overflowed (float32 past ‖·‖ ≈ 1.8 × 10¹⁹), or a value is inf or NaN: redo
                # exactly, in float64 with scaling
                for layer in np.flatnonzero(~np.isfinite(self._hnorm_np[k])):
                    exact = _row_norms(h_grads[layer].detach().reshape(1, -1).numpy())[0]
                    self._exact_h.append((k, int(layer), float(exact)))

    def _saturated(self, acts: torch.Tensor) -> torch.Tensor:
        """Which values are saturated: |tanh| > 0.99, or a sigmoid outside (0.01, 0.99)."""
        if self.activation == "tanh":
            return acts.abs() > SATURATION
        return (acts - 0.5).abs_() > SATURATION - 0.5

    def release(self) -> None:
        """Drop, after a flush, what only a step in progress needs: the scratch the h_l and ∂L/∂h_l are stacked
        into and the last step's tensors (the weight gradients stay: they are the parameters' .grad). The next
        step allocates the scratch again."""
        self.flush()
        self.hidden_shape, self._scratch = None, None
        self.last_tensors = ()

    def _hidden_rows(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """(p, L) ‖∂L/∂h_l‖ and (p, L) fraction of saturated (sigmoid, tanh) or dead (ReLU) units per layer.

        ReLU: a unit is dead when it outputs 0 for every sample of the batch (its maximum is 0); leaky ReLU:
        when it is on the negative side for every sample. tanh: |h| > 0.99; sigmoid: h outside (0.01, 0.99).
        """
        norms = self._hnorm_np[:p].astype(np.float64)
        for k, layer, exact in self._exact_h:  # norms the pending row's precision cannot hold
            norms[k, layer] = exact
        self._exact_h.clear()
        with torch.no_grad():
            if self.activation == "relu":  # outputs are ≥ 0, so dead means: maximum over the batch is 0
                saturation = (self._sat[:p] == 0).sum(dim=2).numpy() / self.hidden_shape[-1]
            elif self.activation == "leaky_relu":
                saturation = (self._sat[:p] <= 0).sum(dim=2).numpy() / self.hidden_shape[-1]
            elif self._sat_kind == "count":
                saturation = self._sat[:p].numpy() / math.prod(self.hidden_shape)
            else:
                saturation = np.zeros((p, self.n_hidden))
        return norms, saturation

    def _tracked(self, p: int) -> np.ndarray:
        """(p, 3) ledger of the followed weight: w before each step, ∂L/∂w (after clipping), w after it."""
        given = [t for _, _, t in self._steps]
        if all(t is not None for t in given):
            return np.array(given, dtype=np.float64).reshape(p, 3)
        i = self.track_index if self.track_index is not None else 0
        out = np.empty((p, 3))
        out[:, 0], out[:, 1], out[:, 2] = self.snap[:p, i], self.grads[:p, i], self.snap[1: p + 1, i]
        for k, t in enumerate(given):
            if t is not None:
                out[k] = t
        return out

    def flush(self) -> None:
        """Reduce the pending steps into history rows."""
        p = self.pending
        if p == 0:
            return
        L1, L = self.n_layers, self.n_hidden
        weight_grads = self.grads[:p, : self.n_weights]
        with np.errstate(all="ignore"):
            w_norms = self._layer_norms(self.snap[: p + 1])  # (p + 1, L1): before step 1, after each step
            grad_w = self._layer_norms(weight_grads)
            delta = self._layer_norms(self.snap[1: p + 1] - self.snap[:p])
            ratio = delta / w_norms[:p]
            grad_norm = _row_norms(grad_w)
            parts = [grad_norm[:, None]] if self.weights_are_parameters else []
            if self.n_other:
                parts.append(_row_norms(self.grads[:p, self.n_weights:])[:, None])
            total = _row_norms(np.concatenate(parts, axis=1)) if parts else np.zeros(p)
        small = np.array([(loss, before) for loss, before, _ in self._steps], dtype=np.float64).reshape(p, 2)
        total_raw = np.where(np.isnan(small[:, 1]), total, small[:, 1])
        h_norms, saturation = self._hidden_rows(p) if L else (np.zeros((p, 0)), np.zeros((p, 0)))
        rows = np.concatenate([small[:, :1], grad_norm[:, None], grad_w, h_norms, w_norms[1:], ratio,
                               saturation, self._tracked(p), total_raw[:, None], total[:, None]], axis=1)
        first = self.history.n
        self.history.extend(rows, self._histograms(p))
        checked = rows[:, : 2 + L1 + L + L1]  # loss, norms of gradients and weights
        if self.nonfinite is None and not np.isfinite(checked).all():
            k = int(np.flatnonzero(~np.isfinite(checked).all(axis=1))[0])
            if k == p - 1 and self.last_tensors:  # the step just taken: find the tensor
                self.nonfinite = self._locate(first + k + 1, *self.last_tensors, self.snap[k + 1])
            else:  # an earlier step of the batch: its norms say where
                self.nonfinite = self._from_norms(first + k + 1, rows[k])
        self.snap[0] = self.snap[p]
        self.last_grads = self.grads[p - 1, : self.n_weights].copy()
        self.last_tensors = ()  # the step's activations and ∂L/∂h are not kept between requests
        self._steps.clear()
        self.pending = 0

    def _from_norms(self, step: int, row: np.ndarray) -> NonFinite | None:
        history = self.history
        for name, stage, label in (("grad_h", "backward", "∂L/∂h_{}"), ("grad_w", "backward", "∂L/∂W_{}"),
                                   ("weight", "update", "W_{}")):
            values = row[history._slices[name]]
            bad = np.flatnonzero(~np.isfinite(values))
            if len(bad):
                k = int(bad[-1] if name != "weight" else bad[0]) + 1
                return NonFinite(step, stage, label.format(k), k, "NaN" if np.isnan(values[k - 1]) else "inf")
        return None

    def _layer_norms(self, rows: np.ndarray) -> np.ndarray:
        """(steps, all weights) → (steps, layers) Euclidean norms, exact wherever every element is finite.

        Consecutive layers of one size (the hidden-to-hidden matrices) are reduced by a single einsum over a
        (steps, layers, size) view: the same sums as one einsum per layer, in fewer calls."""
        out = np.empty((rows.shape[0], self.n_layers))
        for a, b in self._groups:
            size = int(self.sizes[a])
            block = rows[:, self.starts[a]: self.starts[a] + size * (b - a)].reshape(rows.shape[0], b - a, size)
            out[:, a:b] = np.einsum("ijk,ijk->ij", block, block)
        np.sqrt(out, out=out)
        for k in np.flatnonzero(~np.isfinite(out).all(axis=0)):  # overflow in the sum of squares, or inf/NaN
            out[:, k] = _row_norms(rows[:, self.starts[k]: self.starts[k] + self.sizes[k]])
        return out

    def _histograms(self, p: int) -> np.ndarray:
        """Fraction of each layer's weights per decade of |∂L/∂w|, read from the floats' binary exponents.

        A bit shift and one bincount replace a log10 of every element; a value is binned by its power of
        two, so bin edges are exact to within a factor of 2. Zeros fall in the lowest bin, inf and NaN in
        the highest. torch's shift and its bincount of int32/int64 take the integers as they are (numpy's
        bincount first converts them to int64), which makes this twice as fast as in numpy.
        """
        bits = torch.from_numpy(self.grads[:p, : self.n_weights]).view(self.int_type)
        exponent = torch.bitwise_right_shift(bits, self.bits)
        exponent.bitwise_and_(self.mask).add_(self._offsets[:p])
        counts = torch.bincount(exponent.reshape(-1), minlength=p * self.n_layers * self.n_exp).numpy()
        per_decade = np.add.reduceat(counts.reshape(p, self.n_layers, self.n_exp), self.bin_starts, axis=2)
        return (per_decade / self.sizes[None, :, None]).astype(np.float16)

    def _locate(self, step: int, w_grads, h_grads, hidden, out, loss, weights_after: np.ndarray) -> NonFinite | None:
        """Walk the step in the order it was computed and name the first non-finite tensor."""

        def bad(t) -> str | None:
            t = torch.as_tensor(t)
            if torch.isnan(t).any():
                return "NaN"
            return None if torch.isfinite(t).all() else "inf"

        for k, h in enumerate(hidden, start=1):
            if kind := bad(h):
                return NonFinite(step, "forward", f"h_{k}", k, kind)
        if kind := bad(out):
            return NonFinite(step, "forward", "the network output ŷ", self.n_layers, kind)
        if kind := bad(loss):
            return NonFinite(step, "loss", "L", None, kind)
        for k in range(len(h_grads), 0, -1):
            if kind := bad(h_grads[k - 1]):
                return NonFinite(step, "backward", f"∂L/∂h_{k}", k, kind)
        for k in range(self.n_layers, 0, -1):
            if kind := bad(w_grads[k - 1]):
                return NonFinite(step, "backward", f"∂L/∂W_{k}", k, kind)
        for k in range(self.n_layers):
            start = self.starts[k]
            if kind := bad(weights_after[start: start + self.sizes[k]]):
                return NonFinite(step, "update", f"W_{k + 1}", k + 1, kind)
        return None  # every element finite; only a float64 norm overflowed (values beyond ≈ 1e154)
