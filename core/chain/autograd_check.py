"""Check the SymPy chain-rule product against torch autograd on the same chain in float64.

The SymPy value is exact or carries 50 digits; torch works in float64, so the two agree to
about 1e-15 unless float64 itself fails: beyond ±1.8e308 it overflows to inf, below 2.2e-308
it underflows to 0, and where σ(z) rounds to 1 its derivative σ(1 − σ) loses its digits.
The check says which of these happened instead of calling it a disagreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.chain.products import Network, forward, network_chain
from core.numbers import FLOAT64_MAX, FLOAT64_TINY, as_float64, log10_abs

LOG10_FLOAT64_MAX = log10_abs(FLOAT64_MAX)
LOG10_FLOAT64_TINY = log10_abs(FLOAT64_TINY)

TOLERANCE = 1e-9


@dataclass(frozen=True)
class AutogradCheck:
    torch_value: float  # w¹₁₁.grad from loss.backward() in float64
    sympy_value: float  # the SymPy product rounded to float64 (may be ±inf or 0)
    relative_error: float | None  # None when float64 cannot represent the true value
    status: str  # "agree", "overflow", "underflow", "saturated", "disagree"
    message: str

    @property
    def ok(self) -> bool:
        """True unless the two genuinely disagree (a float64 limit is not a disagreement)."""
        return self.status != "disagree"


def torch_gradient(net: Network) -> float:
    """∂L/∂w¹₁₁ by torch autograd: the same chain, built from float64 tensors."""
    import torch

    layers = forward(net)  # the biases actually used (centred ones are computed there)
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda t: t}[net.activation]
    dtype = torch.float64
    w1 = torch.tensor(as_float64(net.weights[0]), dtype=dtype, requires_grad=True)
    o = torch.tensor(as_float64(net.x), dtype=dtype)
    for k, layer in enumerate(layers):
        w = w1 if k == 0 else torch.tensor(as_float64(layer.w), dtype=dtype)
        b = torch.tensor(as_float64(layer.b), dtype=dtype)
        o = act(w * o + b)
    loss = 0.5 * (o - as_float64(net.y)) ** 2
    loss.backward()
    return float(w1.grad)


def _saturated_in_float64(net: Network) -> bool:
    """Does float64 round some σ(z) or tanh(z) so close to its limit that φ' loses digits?"""
    if net.activation not in ("sigmoid", "tanh"):
        return False
    for layer in forward(net):
        o = abs(as_float64(layer.o))
        if net.activation == "sigmoid" and (o < 1e-7 or o > 1 - 1e-7):
            return True
        if net.activation == "tanh" and o > 1 - 1e-7:
            return True
    return False


def check_against_autograd(net: Network) -> AutogradCheck:
    """Compare the SymPy gradient with torch's; explain float64 limits when they bite."""
    exact = network_chain(net).gradient
    magnitude = log10_abs(exact)
    reference = as_float64(exact)
    got = torch_gradient(net)
    if magnitude > LOG10_FLOAT64_MAX:
        return AutogradCheck(got, reference, None, "overflow",
                             f"The true gradient is beyond float64's largest number (1.8 × 10³⁰⁸): torch gets {got}, "
                             "SymPy keeps the exact value.")
    if -math.inf < magnitude < LOG10_FLOAT64_TINY:
        return AutogradCheck(got, reference, None, "underflow",
                             f"The true gradient is below float64's smallest normal number (2.2 × 10⁻³⁰⁸): torch gets "
                             f"{got:.3g}, SymPy keeps the tiny value — in float64 this gradient has vanished to zero.")
    if not math.isfinite(got):
        return AutogradCheck(got, reference, None, "overflow",
                             f"torch's float64 arithmetic overflowed on the way (an intermediate exceeded 1.8 × 10³⁰⁸) "
                             f"and returned {got}; the exact gradient is finite.")
    denom = max(abs(reference), abs(got))
    rel = 0.0 if denom == 0 else abs(reference - got) / denom
    if rel < TOLERANCE:
        return AutogradCheck(got, reference, rel, "agree",
                             f"SymPy and torch autograd (float64) agree: relative difference {rel:.1e} < {TOLERANCE:g}.")
    if _saturated_in_float64(net):
        return AutogradCheck(got, reference, rel, "saturated",
                             f"torch differs by a relative {rel:.1e}: in float64 some σ(z) rounds to within 10⁻⁷ of 0 or 1, "
                             "so autograd's σ(z)(1 − σ(z)) loses digits (catastrophic cancellation). The 50-digit SymPy "
                             "value is the accurate one; either way the gradient through a saturated unit is tiny.")
    return AutogradCheck(got, reference, rel, "disagree",
                         f"SymPy and torch disagree by a relative {rel:.1e}: this is a bug, please report it.")
