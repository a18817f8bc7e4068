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
from core.numbers import FLOAT64_MAX, FLOAT64_TINY, ROUNDED_DIGITS, as_float64, fmt, log10_abs, sig

LOG10_FLOAT64_MAX = log10_abs(FLOAT64_MAX)
LOG10_FLOAT64_TINY = log10_abs(FLOAT64_TINY)

TOLERANCE = 1e-9


@dataclass(frozen=True)
class AutogradCheck:
    torch_value: float  # w¹₁₁.grad from loss.backward() in float64
    sympy_value: float  # the SymPy product rounded to float64 (may be ±inf or 0)
    relative_error: float | None  # None when float64 cannot represent the true value
    status: str  # "agree", "overflow", "underflow", "float64 loses this", "disagree"
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
        if net.activation == "tanh" and o > 1 - 1e-7:  # noqa: SIM114
            return True
    return False


def check_against_autograd(net: Network) -> AutogradCheck:
    """Compare the SymPy gradient with torch's; explain float64 limits when they bite. "agree" only when float64
    holds the exact value to 10⁻⁹: never when float64 gives 0 (or a wrong number) for a gradient that is not."""
    exact = network_chain(net).gradient
    magnitude = log10_abs(exact)
    reference = as_float64(exact)
    exact_text = fmt(exact).removeprefix("≈ ")
    got = torch_gradient(net)
    got_text = sig(got, 6)
    if magnitude > LOG10_FLOAT64_MAX:
        return AutogradCheck(got, reference, None, "overflow",
                             f"The true gradient ({exact_text}) is beyond float64's largest number (1.8 × 10³⁰⁸): "
                             f"torch gets {got_text}, SymPy keeps the exact value.")
    if -math.inf < magnitude < LOG10_FLOAT64_TINY:
        return AutogradCheck(got, reference, None, "underflow",
                             f"The true gradient ({exact_text}) is below float64's smallest normal number "
                             f"(2.2 × 10⁻³⁰⁸): torch gets {got_text} — float64 loses this gradient (it has vanished "
                             "to zero, or to a few bits); SymPy keeps the tiny value.")
    if not math.isfinite(got):
        return AutogradCheck(got, reference, None, "overflow",
                             f"torch's float64 arithmetic overflowed on the way (an intermediate exceeded 1.8 × 10³⁰⁸) "
                             f"and returned {got_text}; the exact gradient is finite ({exact_text}).")
    denom = max(abs(reference), abs(got))
    rel = 0.0 if denom == 0 else abs(reference - got) / denom
    if got == 0 and exact != 0:
        return AutogradCheck(got, reference, rel, "float64 loses this",
                             f"torch's float64 autograd returns exactly 0, but the true gradient is {exact_text} "
                             f"(float64 could even hold it as {sig(reference, ROUNDED_DIGITS)}): float64 loses this gradient. "
                             + _why(net))
    if rel < TOLERANCE:
        return AutogradCheck(got, reference, rel, "agree",
                             f"SymPy and torch autograd (float64) agree: relative difference {sig(rel, 2)} < "
                             f"{sig(TOLERANCE)}.")
    if _saturated_in_float64(net):
        return AutogradCheck(got, reference, rel, "float64 loses this",
                             f"torch's float64 gives {got_text} where the true gradient is {exact_text} (a relative "
                             f"difference of {sig(rel, 2)}): float64 loses digits here. " + _why(net))
    return AutogradCheck(got, reference, rel, "disagree",
                         f"SymPy ({exact_text}) and torch ({got_text}) disagree by a relative {sig(rel, 2)}: this is a "
                         "bug, please report it.")


def _why(net: Network) -> str:
    if net.activation == "tanh":
        return ("tanh(z) rounds to ±1 in float64 for |z| ≳ 19, so autograd's 1 − tanh(z)² cancels; the exact value "
                "is computed as sech²(z), which cannot cancel.")
    if net.activation == "sigmoid":
        return ("σ(z) rounds to within 10⁻⁷ of 0 or 1 in float64, so autograd's σ(z)(1 − σ(z)) loses digits; the "
                "exact value is computed as σ(z)·σ(−z), which cannot cancel.")
    return "An intermediate value lost its digits in float64."
