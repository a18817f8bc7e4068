"""Activation functions as SymPy expressions, their derivatives, and the derived bound on φ'(z).

The bound is solved, not typed in: for sigmoid SymPy solves σ''(z) = 0 (z = 0), evaluates
σ'(0) = 1/4 and checks the limits at ±∞; likewise tanh (bound 1). ReLU's derivative is a
step (0 or 1) and its output is unbounded; linear has derivative 1 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

Z = sp.Symbol("z", real=True)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LABELS = {"sigmoid": "sigmoid σ", "tanh": "tanh", "relu": "ReLU", "linear": "linear"}


def activation_expr(name: str) -> sp.Expr:
    """φ(z) as a SymPy expression of the real symbol z."""
    if name == "sigmoid":
        return 1 / (1 + sp.exp(-Z))
    if name == "tanh":
        return sp.tanh(Z)
    if name == "relu":
        return sp.Max(0, Z)
    if name == "linear":
        return Z
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def step_as_torch(expr: sp.Expr) -> sp.Expr:
    """Take the ReLU step Heaviside(z) as 0 at z = 0, which is what torch's relu backward uses."""
    return expr.replace(sp.Heaviside, lambda arg, *rest: sp.Heaviside(arg, 0))


@cache
def derivative_expr(name: str) -> sp.Expr:
    """φ'(z) by SymPy differentiation (ReLU's step taken as 0 at z = 0, as in torch)."""
    return step_as_torch(sp.diff(activation_expr(name), Z))


@cache
def stable_derivative_expr(name: str) -> sp.Expr:
    """φ'(z) in a form that cannot cancel, for evaluating at any z: sech²(z) for tanh (never 1 − tanh²(z), which
    is 1 − 1 = 0 at 50 digits for |z| ≳ 58) and σ(z)·σ(−z) = 1/((1 + e^{−z})(1 + e^{z})) for sigmoid; a product
    of positive terms keeps its relative precision at every z. SymPy confirms it equals `derivative_expr`."""
    d = derivative_expr(name)
    stable = {"tanh": sp.sech(Z) ** 2, "sigmoid": 1 / ((1 + sp.exp(-Z)) * (1 + sp.exp(Z)))}.get(name)
    if stable is None:
        return d
    if sp.simplify((d - stable).rewrite(sp.exp)) != 0:  # pragma: no cover - a SymPy regression
        raise AssertionError(f"{name}: the stable form of φ' is not φ'")
    return stable


@cache
def derivative_in_own_terms(name: str, as_function: bool = False) -> sp.Expr | None:
    """φ' written through φ itself (σ' = σ(1−σ), tanh' = 1 − tanh²), verified by SymPy; None for others.

    With `as_function`, φ appears as an undefined function σ(z) / tanh(z) so the LaTeX reads naturally.
    """
    phi = activation_expr(name)
    candidates = {"sigmoid": phi * (1 - phi), "tanh": 1 - phi**2}
    candidate = candidates.get(name)
    if candidate is None:
        return None
    if sp.simplify(derivative_expr(name) - candidate) != 0:  # pragma: no cover - a SymPy regression
        raise AssertionError(f"{name}: derivative identity failed")
    if as_function:
        return candidate.subs(phi, sp.Function("sigma" if name == "sigmoid" else "tanh")(Z))
    return candidate


@dataclass(frozen=True)
class Bound:
    """sup_z |φ'(z)|, where it is attained, and how SymPy found it."""

    activation: str
    value: sp.Expr  # e.g. Rational(1, 4)
    at: tuple[sp.Expr, ...]  # the z where the maximum is attained (empty if everywhere/half-line)
    critical_points: tuple[sp.Expr, ...]
    limits: tuple[sp.Expr, sp.Expr]  # φ'(−∞), φ'(+∞)
    output_bounded: bool
    how: str  # one sentence for the page


@cache
def derivative_bound(name: str) -> Bound:
    """Derive sup |φ'(z)| with SymPy (critical points of φ' and its limits at ±∞)."""
    phi = activation_expr(name)
    d = derivative_expr(name)
    lim_lo, lim_hi = sp.limit(d, Z, -sp.oo), sp.limit(d, Z, sp.oo)
    out_lo, out_hi = sp.limit(phi, Z, -sp.oo), sp.limit(phi, Z, sp.oo)
    bounded = bool(out_lo.is_finite and out_hi.is_finite)
    if name in ("sigmoid", "tanh"):
        crit = tuple(sp.solve(sp.diff(d, Z), Z))
        values = [sp.simplify(d.subs(Z, c)) for c in crit] + [lim_lo, lim_hi]
        best = max(values, key=lambda v: float(abs(v)))
        at = tuple(c for c in crit if sp.simplify(d.subs(Z, c) - best) == 0)
        how = (f"SymPy solves φ''(z) = 0 → z = {', '.join(map(str, crit))}; φ' there is {best}, "
               f"and φ' → {lim_lo} as z → ±∞, so max φ'(z) = {best}.")
        return Bound(name, best, at, crit, (lim_lo, lim_hi), bounded, how)
    # Piecewise-constant derivatives: the bound is the largest value φ' takes.
    samples = {sp.simplify(d.subs(Z, v)) for v in (-1, 0, 1)} | {lim_lo, lim_hi}
    best = max(samples, key=lambda v: float(abs(v)))
    if name == "relu":
        how = "φ'(z) is a step: 0 for z < 0 and 1 for z > 0, so |φ'| ≤ 1; but φ(z) = max(0, z) is unbounded above."
    else:
        how = "φ'(z) = 1 everywhere: the factor is exactly w, with no damping at all."
    return Bound(name, best, (), (), (lim_lo, lim_hi), bounded, how)
