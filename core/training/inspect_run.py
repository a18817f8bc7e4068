"""Look inside a run: the update ledger of one weight at one step, and the notes' chain along a path.

The ledger uses the step's recorded numbers: the weight before the step, the learning rate and
∂L/∂w, written as the shortest decimals that round-trip to the stored floats, so that
`w_old − lr·∂L/∂w` is computed exactly. What torch stored as the new weight is shown next to it: it
differs from the exact result by float rounding (float32 keeps about 7 significant digits), and for
momentum or Adam by the optimiser's own rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import sympy as sp
import torch

from core.chain.ledger import Update
from core.numbers import sig


def exact_decimal(value: float, dtype: str = "float32") -> Fraction:
    """The shortest decimal that rounds to this float (e.g. float32 0.1 → 1/10, not 0.100000001490116…)."""
    text = str(np.float32(value)) if dtype == "float32" else repr(float(value))
    return Fraction(Decimal(text))


@dataclass(frozen=True)
class LedgerEntry:
    step: int
    weight: str  # e.g. "W₂[3, 1]"
    update: Update | None  # the plain-SGD arithmetic, exact; None if a value is not finite
    stored_new: float  # what torch actually stored after the step
    optimizer: str
    finite: bool

    dtype: str = "float32"

    def stored_text(self) -> str:
        """What torch stored, as the shortest decimal of its float type."""
        return str(np.float32(self.stored_new)) if self.dtype == "float32" else repr(self.stored_new)

    def stored_differs(self) -> bool:
        """Does the stored float differ from the exact result rounded to the same float type?"""
        if self.update is None:
            return False
        exact = float(self.update.w_new)
        if self.dtype == "float32":
            return bool(np.float32(exact) != np.float32(self.stored_new))
        return exact != self.stored_new


def subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def weight_label(layer: int, row: int, col: int) -> str:
    """0-based indices → 'W₂[3, 1]' (1-based, as on screen)."""
    return f"W{subscript(layer + 1)}[{row + 1}, {col + 1}]"


def ledger_at(tracked: np.ndarray, step: int, lr: float, optimizer: str, dtype: str, track: tuple[int, int, int]
              ) -> LedgerEntry:
    """The ledger of the tracked weight at a recorded step (1-based). `tracked` is history['tracked']."""
    w_old, grad, w_new = (float(v) for v in tracked[step - 1])
    finite = all(math.isfinite(v) for v in (w_old, grad, w_new))
    update = None
    if math.isfinite(w_old) and math.isfinite(grad):
        update = Update(sp.Rational(exact_decimal(w_old, dtype)), sp.Rational(exact_decimal(lr, "float64")),
                        sp.Rational(exact_decimal(grad, dtype)))
    return LedgerEntry(step, weight_label(*track), update, w_new, optimizer, finite, dtype)


@dataclass(frozen=True)
class PathFactor:
    name: str  # e.g. "φ'(z₂[3])·W₃[1, 3]"
    value: float


@dataclass(frozen=True)
class PathChain:
    """One path's term of ∂L/∂w for one sample: the notes' chain of local factors, live."""

    path: tuple[int, ...]  # unit index per layer: input feature, hidden units…, output unit
    factors: tuple[PathFactor, ...]  # from the loss inwards, as in the notes
    running: tuple[float, ...]
    sample: int

    @property
    def culprit(self) -> int | None:
        """The factor that amplifies most (|f| > 1, finite); None when no factor amplifies or one is not finite
        (then `summary` says what happened instead)."""
        if any(not math.isfinite(f.value) for f in self.factors):
            return None
        mags = [abs(f.value) for f in self.factors]
        i = int(np.argmax(mags)) if mags else 0
        return i if mags and mags[i] > 1 else None

    @property
    def summary(self) -> str:
        """One sentence about the chain that is true of its factors: a non-finite factor, a factor of 0 that kills the
        product, the biggest amplifier (|f| > 1), or that no factor amplifies."""
        bad = next((f for f in self.factors if not math.isfinite(f.value)), None)
        if bad is not None:
            return (f"{bad.name} is not finite ({'NaN' if math.isnan(bad.value) else 'inf'}): the weights at this step "
                    "have already overflowed, so no factor can be blamed here")
        zero = next((f for f in self.factors if f.value == 0), None)
        culprit = self.culprit
        if zero is not None:
            text = f"{zero.name} = 0 kills the whole product"
            return text + (f"; the biggest amplifier is {self.factors[culprit].name} = "
                           f"{sig(self.factors[culprit].value, 4)}" if culprit is not None else "")
        if culprit is not None:
            return f"biggest culprit: {self.factors[culprit].name} = {sig(self.factors[culprit].value, 4)} (|f| > 1)"
        return "no culprit: no factor amplifies (every |f| ≤ 1)"


def path_chain(model, x: torch.Tensor, y: torch.Tensor, loss_name: str, path: tuple[int, ...],
               sample: int = 0) -> PathChain:
    """The chain along `path` for one training sample at the current weights.

    For the weight W₁[j₁, i] the gradient is a sum over all paths from unit j₁ to the output; one
    path contributes ∂L/∂ŷ_k · W_out[k, j_L]·φ'(z_L[j_L]) · … · W₂[j₂, j₁]·φ'(z₁[j₁]) · x_i — the notes'
    product of local factors, each of which can be larger or smaller than 1.
    """
    if getattr(model, "norms", None) is not None:
        raise ValueError("with batch normalisation a unit's factor depends on the whole batch, not on one sample's "
                         "path: the path chain is shown for networks without batch norm")
    if getattr(model, "residual", False):
        raise ValueError("with residual connections every layer also passes its input straight on, so the gradient "
                         "is a sum over paths that skip any subset of layers (∂h_{l+1}/∂h_l = I + diag(φ'(z_l))·W_l); "
                         "the single-path chain is shown for plain networks")
    if getattr(model, "layer_norms", None) is not None:
        raise ValueError("with layer normalisation a unit's factor depends on every unit of its layer (the layer's "
                         "mean and spread), not on one path: the path chain is shown for networks without it")
    layers = list(model.layers)
    n_hidden = len(layers) - 1
    if len(path) != n_hidden + 2:
        raise ValueError(f"a path needs {n_hidden + 2} unit indices (input, {n_hidden} hidden, output)")
    with torch.enable_grad():
        xs = x[sample: sample + 1].detach().to(torch.float64)
        h = xs
        zs = []
        for layer in layers[:-1]:
            z = (h @ layer.weight.detach().double().T + layer.bias.detach().double()).requires_grad_(True)
            zs.append(z)
            h = model._phi(z)
        out = h @ layers[-1].weight.detach().double().T + layers[-1].bias.detach().double()
        out.retain_grad()
        target = y[sample: sample + 1]
        if loss_name == "cross_entropy":
            loss = torch.nn.functional.cross_entropy(out, target)
        else:
            loss = torch.nn.functional.mse_loss(out, target.double())
        loss.backward()
    dphis = []
    for z in zs:
        zz = z.detach().clone().requires_grad_(True)
        model._phi(zz).sum().backward()
        dphis.append(zz.grad[0])
    factors = []
    k_out = path[-1]
    factors.append(PathFactor(f"∂L/∂ŷ{subscript(k_out + 1)}", float(out.grad[0, k_out])))
    for layer in range(n_hidden, 0, -1):  # hidden layer `layer` (1-based), unit path[layer]
        nxt, unit = path[layer + 1], path[layer]
        w = float(layers[layer].weight.detach()[nxt, unit])
        dphi = float(dphis[layer - 1][unit])
        factors.append(PathFactor(f"W{subscript(layer + 1)}[{nxt + 1}, {unit + 1}]", w))
        factors.append(PathFactor(f"φ'(z{subscript(layer)}[{unit + 1}])", dphi))
    factors.append(PathFactor(f"x{subscript(path[0] + 1)} (∂z₁/∂W₁)", float(xs[0, path[0]])))
    running, acc = [], 1.0
    for f in factors:
        acc *= f.value
        running.append(acc)
    return PathChain(tuple(path), tuple(factors), tuple(running), sample)


def stream_rms(model, x: torch.Tensor) -> np.ndarray:
    """Root-mean-square size of each hidden output h_l over the samples x, at the current weights (float64).

    In a residual network without normalisation h_l is a running sum, h_L = P x + Σ_l φ(z_l), so its size grows
    with depth; batch or layer norm, or a bounded plain layer, keep it in place."""
    with torch.no_grad():
        _, hidden = model(x)
        return np.array([float(torch.linalg.vector_norm(h, dtype=torch.float64)) / math.sqrt(max(h.numel(), 1))
                         for h in hidden])
