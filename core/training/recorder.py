"""What a training run records per step and per layer, computed in batches so that it costs little.

Per step the recorder measures ‖∂L/∂h_l‖ and the saturation of each hidden layer, and copies the
weight gradients and the weights into preallocated rows. Every few steps, or whenever the history is
read, `flush` reduces the pending rows at once. The history holds, per step and layer:

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

HIST_LO, HIST_HI = -10, 10  # decades of |∂L/∂w| from 1e-10 to 1e10, plus one bin below and one above
HIST_BINS = HIST_HI - HIST_LO + 2
SATURATION = 0.99  # |tanh| > 0.99 or sigmoid outside (0.01, 0.99): the derivative is below ≈ 0.02
PENDING_BYTES = 8_000_000  # memory the pending steps may hold before a flush


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


def hist_labels() -> list[str]:
    """Labels of the histogram bins, e.g. '< 1e-10', '1e-3 … 1e-2', '≥ 1e10, inf, NaN'."""
    labels = [f"< 1e{HIST_LO}"]
    labels += [f"1e{k} … 1e{k + 1}" for k in range(HIST_LO, HIST_HI)]
    return labels + [f"≥ 1e{HIST_HI}, inf, NaN"]


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

    Every numpy or torch call costs microseconds of dispatch whatever the size of its data, and the tensors of
    a step are small, so `add` makes few calls: one `torch._foreach_copy_` of the weight gradients and one
    `np.concatenate` of the weights into preallocated pending rows, and for the hidden layers a stack and one
    reduction each (while h_l and ∂L/∂h_l are still in the cache). Everything that needs the weight rows
    (norms, update ratios, histograms) waits for `flush`, which reduces all pending steps at once.
    """

    def __init__(self, weights: list[torch.Tensor], n_hidden: int, activation: str, dtype: torch.dtype,
                 max_steps: int, others: list[torch.Tensor] = (), weights_are_parameters: bool = True):
        """`weights`: the weight matrices W_l whose gradients and values are recorded (shared memory: they are
        read after every step). `others`: the other trained parameters (biases, batch-norm γ and β, weight
        norm's g and v), whose gradients only enter the global gradient norm. With weight normalisation the
        W_l are not parameters themselves, so `weights_are_parameters` is False and only `others` count."""
        self.activation = activation
        self.n_layers, self.n_hidden = len(weights), n_hidden
        self.sizes = np.array([w.numel() for w in weights])
        self.n_weights = int(self.sizes.sum())
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.w_flat = [w.detach().numpy().reshape(-1) for w in weights]  # share memory with the parameters
        np_dtype = np.float64 if dtype == torch.float64 else np.float32
        per_step = np.dtype(np_dtype).itemsize * 2 * self.n_weights
        self.capacity = cap = int(max(1, min(32, PENDING_BYTES // max(per_step, 1))))
        self.grads = np.empty((cap, self.n_weights), dtype=np_dtype)
        self.snap = np.empty((cap + 1, self.n_weights), dtype=np_dtype)  # row 0: before the 1st pending step
        grads = torch.from_numpy(self.grads)
        # add() copies step k's gradients into these views of grads[k], one per weight matrix
        self._grad_rows = [[grads[k, s: s + n].view(w.shape) for s, n, w in zip(self.starts, self.sizes, weights, strict=True)]
                           for k in range(cap)]
        self.n_other = sum(t.numel() for t in others)
        self.weights_are_parameters = weights_are_parameters
        self.other_grads = np.empty((cap, self.n_other), dtype=np_dtype)
        other = torch.from_numpy(self.other_grads)
        starts = np.concatenate([[0], np.cumsum([t.numel() for t in others])]).astype(int)
        self._other_rows = [[other[k, a: a + t.numel()].view(t.shape) for a, t in zip(starts, others, strict=False)]
                            for k in range(cap)]
        # per step: loss, tracked w_old, ∂L/∂w, w_new, global gradient norm before clipping (NaN: not clipped)
        self.small = np.empty((cap, 5))
        self.h_norms = np.empty((cap, n_hidden))  # ‖∂L/∂h_l‖ per step
        self.hidden_shape: tuple[int, ...] | None = None  # (batch, width) of every h_l; buffers follow it
        self.pending = 0
        self.last_tensors: tuple = ()
        self.history = History(self.n_layers, n_hidden, max_steps)
        bits, bias = (52, 1023) if dtype == torch.float64 else (23, 127)
        self.int_type = np.int64 if dtype == torch.float64 else np.int32
        self.bits, self.mask, self.n_exp = bits, 2 * bias + 1, 2 * bias + 2
        self.offsets = (np.arange(cap)[:, None] * (self.n_layers * self.n_exp)
                        + np.repeat(np.arange(self.n_layers) * self.n_exp, self.sizes)[None, :]).astype(self.int_type)
        # Binary exponent e covers [2^(e−bias), 2^(e−bias+1)); its decade is floor((e − bias)·log₁₀2).
        decade = np.floor((np.arange(self.n_exp) - bias) * math.log10(2)).astype(np.int64)
        bins = np.clip(decade - (HIST_LO - 1), 0, HIST_BINS - 1)
        bins[0], bins[-1] = 0, HIST_BINS - 1  # zeros and subnormals; inf and NaN
        self.bin_starts = np.searchsorted(bins, np.arange(HIST_BINS))  # bins never decreases with e
        self.nonfinite: NonFinite | None = None
        self.begin()

    def _hidden_buffers(self, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        """Scratch tensors for the stacked h_l and ∂L/∂h_l of one step, and the per-step saturation data.

        ReLU and leaky ReLU keep each unit's maximum over the batch (its count of dead units is taken at flush);
        tanh and sigmoid keep the count of saturated values.
        """
        L = self.n_hidden
        self.hidden_shape = shape
        self._stacked = torch.empty((L, *shape), dtype=dtype)
        self._stacked_flat = self._stacked.view(L, -1)
        if self.activation in ("relu", "leaky_relu"):
            self._unit_max = torch.empty((self.capacity, L, shape[-1]), dtype=dtype)
        else:
            self._sat_counts = torch.zeros((self.capacity, L), dtype=torch.int64)

    @property
    def steps(self) -> int:
        return self.history.n + self.pending

    def begin(self) -> None:
        """Take the current weights as 'before the next step' (after a flush, an edit or a reset)."""
        np.concatenate(self.w_flat, out=self.snap[0])

    def add(self, loss_value: float, tracked: tuple[float, float, float], w_grads, h_grads, hidden, out, loss,
            other_grads=(), norm_before_clipping: float = math.nan, units=None) -> None:
        """Store one step (after the optimiser's update); flush at once if the loss stopped being finite.

        The gradients are those the optimiser used (after any clipping); `norm_before_clipping` is the global
        norm before it, or NaN when nothing was clipped. `units`: the activations φ(z_l) whose saturation or
        death is counted, when they are not the hidden outputs h_l themselves (residual connections, post-norm)."""
        k = self.pending
        torch._foreach_copy_(self._grad_rows[k], w_grads)
        if self.n_other:
            torch._foreach_copy_(self._other_rows[k], other_grads)
        np.concatenate(self.w_flat, out=self.snap[k + 1])
        self.small[k] = (loss_value, *tracked, norm_before_clipping)
        if self.n_hidden:
            self._hidden_step(k, h_grads, hidden if units is None else units)
        self.last_tensors = (w_grads, h_grads, hidden, out, loss)
        self.pending += 1
        # A non-finite weight or gradient reaches the loss at the latest one step later; the flush then
        # finds the first step whose norms are not finite.
        if not math.isfinite(loss_value) or self.pending == self.capacity:
            self.flush()

    def _hidden_step(self, k: int, h_grads, hidden) -> None:
        """‖∂L/∂h_l‖ and the saturation data of step k: a stack, then one reduction over all hidden layers."""
        with torch.no_grad():
            if tuple(hidden[0].shape) != self.hidden_shape:  # the first step
                self._hidden_buffers(tuple(hidden[0].shape), hidden[0].dtype)
            stacked = self._stacked
            torch.stack(h_grads, out=stacked)
            norms = torch.linalg.vector_norm(self._stacked_flat, dim=1).numpy()
            if not np.isfinite(norms).all():  # a sum of squares overflowed (or a value is inf/NaN): redo exactly
                norms = _row_norms(self._stacked_flat.numpy())
            self.h_norms[k] = norms
            if self.activation == "linear":
                return
            torch.stack(hidden, out=stacked)
            if self.activation in ("relu", "leaky_relu"):
                torch.amax(stacked, dim=1, out=self._unit_max[k])
            elif self.activation == "tanh":
                torch.sum(stacked.abs_() > SATURATION, dim=(1, 2), out=self._sat_counts[k])
            else:  # sigmoid
                torch.sum(stacked.sub_(0.5).abs_() > SATURATION - 0.5, dim=(1, 2), out=self._sat_counts[k])

    def _saturation(self, p: int) -> np.ndarray:
        """(p, L) fraction of saturated (sigmoid, tanh) or dead (ReLU) units in each hidden layer."""
        if self.activation == "relu":  # dead: 0 for every sample in the batch (outputs are ≥ 0, so: max 0)
            return (self._unit_max[:p] == 0).sum(dim=2).numpy() / self.hidden_shape[-1]
        if self.activation == "leaky_relu":  # dead: on the negative side for every sample in the batch
            return (self._unit_max[:p] <= 0).sum(dim=2).numpy() / self.hidden_shape[-1]
        if self.activation in ("tanh", "sigmoid"):
            return self._sat_counts[:p].numpy() / math.prod(self.hidden_shape)
        return np.zeros((p, self.n_hidden))

    def flush(self) -> None:
        """Reduce the pending steps into history rows."""
        p = self.pending
        if p == 0:
            return
        L1, L = self.n_layers, self.n_hidden
        with np.errstate(all="ignore"):
            w_norms = self._layer_norms(self.snap[: p + 1])  # (p + 1, L1): before step 1, after each step
            grad_w = self._layer_norms(self.grads[:p])
            delta = self._layer_norms(self.snap[1: p + 1] - self.snap[:p])
            ratio = delta / w_norms[:p]
            grad_norm = _row_norms(grad_w)
            parts = [grad_norm[:, None]] if self.weights_are_parameters else []
            if self.n_other:
                parts.append(_row_norms(self.other_grads[:p])[:, None])
            total = _row_norms(np.concatenate(parts, axis=1)) if parts else np.zeros(p)
        small = self.small[:p]
        total_raw = np.where(np.isnan(small[:, 4]), total, small[:, 4])
        saturation = self._saturation(p) if L else np.zeros((p, 0))
        rows = np.concatenate([small[:, :1], grad_norm[:, None], grad_w, self.h_norms[:p], w_norms[1:], ratio,
                               saturation, small[:, 1:4], total_raw[:, None], total[:, None]], axis=1)
        first = self.history.n
        self.history.extend(rows, self._histograms(p))
        checked = rows[:, : 2 + L1 + L + L1]  # loss, norms of gradients and weights
        if self.nonfinite is None and not np.isfinite(checked).all():
            k = int(np.flatnonzero(~np.isfinite(checked).all(axis=1))[0])
            if k == p - 1:  # the step just taken: find the tensor
                self.nonfinite = self._locate(first + k + 1, *self.last_tensors, self.snap[k + 1])
            else:  # an earlier step of the batch: its norms say where
                self.nonfinite = self._from_norms(first + k + 1, rows[k])
        self.snap[0] = self.snap[p]
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
        """(steps, all weights) → (steps, layers) Euclidean norms, exact wherever every element is finite."""
        out = np.empty((rows.shape[0], self.n_layers))
        for k, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True)):
            block = rows[:, start: start + size]
            out[:, k] = np.einsum("ij,ij->i", block, block)
        np.sqrt(out, out=out)
        for k in np.flatnonzero(~np.isfinite(out).all(axis=0)):  # overflow in the sum of squares, or inf/NaN
            out[:, k] = _row_norms(rows[:, self.starts[k]: self.starts[k] + self.sizes[k]])
        return out

    def _histograms(self, p: int) -> np.ndarray:
        """Fraction of each layer's weights per decade of |∂L/∂w|, read from the floats' binary exponents.

        A bit shift and one bincount replace a log10 of every element; a value is binned by its power of
        two, so bin edges are exact to within a factor of 2. Zeros fall in the lowest bin, inf and NaN in
        the highest.
        """
        exponent = np.right_shift(self.grads[:p].view(self.int_type), self.bits)
        np.bitwise_and(exponent, self.mask, out=exponent)
        np.add(exponent, self.offsets[:p], out=exponent)
        counts = np.bincount(exponent.reshape(-1), minlength=p * self.n_layers * self.n_exp)
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
