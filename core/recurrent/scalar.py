"""One recurrent unit, h_t = f(w_rec·h_{t−1} + w_in·x_t + b): the gradient through time, derived and evaluated.

SymPy unrolls the recurrence and differentiates h_T with respect to h_0; by the chain rule the result is
a product of T local factors ∂h_t/∂h_{t−1} = w_rec·f'(z_t). The notes' rule (w_rec > 1 explodes, < 1
vanishes) is this product for a linear unit; with a squashing f each factor is bounded by |w_rec|·γ,
γ = sup f' (1 for tanh, ¼ for sigmoid), so |w_rec| < 1/γ guarantees vanishing, and |w_rec| > 1/γ is
necessary — not sufficient — for explosion (Pascanu, Mikolov & Bengio 2013).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
import torch

from core.chain.activations import Z, activation_expr, derivative_bound, derivative_expr

W_REC, W_IN, B, H0 = sp.symbols("w_rec w_in b h_0", real=True)
MAX_T = 200
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")


def gamma(activation: str) -> float:
    """sup |f'(z)|, derived by SymPy (core.chain.activations): 1 for tanh, ReLU and linear, ¼ for sigmoid."""
    return float(derivative_bound(activation).value)


@dataclass(frozen=True)
class Derivation:
    T: int
    h_T: sp.Expr  # the unrolled recurrence
    derivative: sp.Expr  # SymPy's ∂h_T/∂h_0 of the unrolled expression
    product: sp.Expr  # Π w_rec·f'(z_t), each z_t written out
    agree: bool  # SymPy's derivative equals the product (checked at random points, 30 digits)


@cache
def derive(T: int, activation: str) -> Derivation:
    """Unroll T steps symbolically and let SymPy differentiate; compare with the chain-rule product."""
    if not 1 <= T <= 4:
        raise ValueError("the symbolic unrolling is shown for T = 1 … 4 (the expressions grow quickly)")
    f = sp.Lambda(Z, activation_expr(activation))
    df = sp.Lambda(Z, derivative_expr(activation))
    xs = sp.symbols(f"x_1:{T + 1}", real=True)
    h, zs = H0, []
    for t in range(T):
        z = W_REC * h + W_IN * xs[t] + B
        zs.append(z)
        h = f(z)
    derivative = sp.diff(h, H0)
    product = sp.Mul(*[W_REC * df(z) for z in zs])
    rng = np.random.default_rng(T)
    agree = True
    for _ in range(3):
        point = {s: sp.Float(v, 30) for s, v in zip((W_REC, W_IN, B, H0, *xs), rng.uniform(-1.5, 1.5, 4 + T),
                                                   strict=True)}
        a = sp.N(derivative.subs(point), 30)
        b = sp.N(product.subs(point), 30)
        agree = agree and abs(a - b) <= sp.Float("1e-25") * max(1, abs(b))
    return Derivation(T, h, derivative, product, bool(agree))


@dataclass(frozen=True)
class ScalarChain:
    """The T factors w_rec·f'(z_t) along one input sequence, and their running product (in log₁₀)."""

    activation: str
    w_rec: float
    z: np.ndarray  # (T,) pre-activations
    h: np.ndarray  # (T + 1,) h_0 … h_T
    dphi: np.ndarray  # (T,) f'(z_t)
    factors: np.ndarray  # (T,) w_rec·f'(z_t)
    log10_abs_product: np.ndarray  # (T,) log₁₀|∂h_t/∂h_0| for t = 1 … T (−inf when a factor is 0)
    sign: np.ndarray  # (T,) sign of the product
    gamma: float

    @property
    def bound_log10(self) -> np.ndarray:
        """log₁₀ (|w_rec|·γ)^t: the most any t factors can multiply to."""
        t = np.arange(1, len(self.z) + 1)
        with np.errstate(divide="ignore"):
            return t * math.log10(abs(self.w_rec) * self.gamma) if self.w_rec else np.full(len(t), -np.inf)

    @property
    def notes_log10(self) -> np.ndarray:
        """log₁₀ |w_rec|^t: the notes' rule, which ignores f'."""
        t = np.arange(1, len(self.z) + 1)
        with np.errstate(divide="ignore"):
            return t * math.log10(abs(self.w_rec)) if self.w_rec else np.full(len(t), -np.inf)

    def product(self, t: int) -> float:
        """∂h_t/∂h_0 as a float (may be 0 or ±inf when it leaves float64's range)."""
        with np.errstate(over="ignore"):
            return float(self.sign[t - 1] * 10.0 ** self.log10_abs_product[t - 1])


@cache
def _derivative_fn(activation: str):
    return sp.lambdify(Z, derivative_expr(activation), modules=[{"Heaviside": lambda x, h0=0: np.heaviside(x, h0)},
                                                                "numpy"])


def _phi(activation: str, z: np.ndarray) -> np.ndarray:
    if activation == "tanh":
        return np.tanh(z)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "relu":
        return np.maximum(z, 0.0)
    return z


def scalar_chain(w_rec: float, T: int, activation: str = "tanh", x: float = 0.0, w_in: float = 1.0, b: float = 0.0,
                 h0: float = 0.5) -> ScalarChain:
    """Run the unit forward T steps with constant input x and evaluate every factor w_rec·f'(z_t)."""
    if activation not in RNN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(RNN_ACTIVATIONS)}")
    if not 1 <= T <= MAX_T:
        raise ValueError(f"T must be between 1 and {MAX_T}")
    values = (w_rec, x, w_in, b, h0)
    if not all(math.isfinite(v) for v in values):
        raise ValueError("every value must be a finite number")
    h = np.empty(T + 1)
    z = np.empty(T)
    h[0] = h0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            z[t] = w_rec * h[t] + w_in * x + b
            h[t + 1] = _phi(activation, z[t])
        dphi = np.broadcast_to(np.asarray(_derivative_fn(activation)(z), dtype=float), z.shape).copy()
        factors = w_rec * dphi
        with np.errstate(divide="ignore"):
            log10_abs = np.cumsum(np.log10(np.abs(factors)))
    sign = np.cumprod(np.sign(factors))
    return ScalarChain(activation, w_rec, z, h, dphi, factors, log10_abs, sign, gamma(activation))


def measured_by_autograd(w_rec: float, T: int, activation: str = "tanh", x: float = 0.0, w_in: float = 1.0,
                         b: float = 0.0, h0: float = 0.5) -> np.ndarray:
    """∂h_t/∂h_0 for t = 1 … T measured by torch's forward-mode autograd in float64 (no formula used)."""
    import torch.autograd.forward_ad as fwAD

    f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda v: v}[activation]
    out = np.empty(T)
    with fwAD.dual_level():
        h = fwAD.make_dual(torch.tensor(h0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
        for t in range(T):
            h = f(w_rec * h + w_in * x + b)
            out[t] = float(fwAD.unpack_dual(h).tangent)
    return out
