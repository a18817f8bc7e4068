"""The notes' chain w¹₁₁ → o₁₁ → o₂₁ → o₃₁ (ŷ) → L, derived with SymPy and evaluated.

Neuron k computes o_k1 = φ(z_k1) with z_k1 = wᵏ₁₁·o_(k−1)1 + b_k1 and o_01 = x; the loss is
L = ½(ŷ − y)². The chain rule gives ∂L/∂w¹₁₁ as a product of depth + 1 local factors:

    ∂L/∂ŷ · ∂o_n/∂o_(n−1) ··· ∂o_2/∂o_1 · ∂o_1/∂w¹₁₁,   with ∂o_k/∂o_(k−1) = φ'(z_k)·w_k.

Two ways in: `given_chain` takes the factors as numbers (the notes' 150, 100, 125, 50);
`network_chain` computes them from weights, biases and an input. Values stay exact
(SymPy Rationals) whenever they can, and otherwise carry 50 significant digits, so a
gradient of 10⁻⁴⁰⁰ that float64 would round to 0 is still shown correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import sympy as sp

from core.chain.activations import ACTIVATIONS, Z, activation_expr, derivative_bound, derivative_expr, stable_derivative_expr, step_as_torch
from core.chain.ledger import Update
from core.numbers import fmt, log10_abs, to_fraction

PRECISION = 50  # significant digits carried when a value is not exact
MAX_DEPTH = 30
LIMITS = {  # magnitude limits of what a learner may type (the messages quote them)
    "factor": Fraction(10) ** 308,
    "weight": Fraction(10) ** 6,
    "bias": Fraction(10) ** 9,
    "input": Fraction(10) ** 6,
    "target": Fraction(10) ** 6,
    "learning rate": Fraction(10),
}

NOTES_FACTORS = (150, 100, 125, 50)  # ∂L/∂o31, ∂o31/∂o21, ∂o21/∂o11, ∂o11/∂w11 from the notes
NOTES_W_OLD = 500
NOTES_LR = Fraction(1, 100)


class ChainError(ValueError):
    """A chain configuration that cannot be evaluated; the message is meant for the screen."""


def sym(value: object) -> sp.Expr:
    """A SymPy number from a Fraction/int (exact) or an existing SymPy number."""
    if isinstance(value, sp.Basic):
        return value
    frac = to_fraction(value)
    return sp.Rational(frac.numerator, frac.denominator)


def settle(value: sp.Expr) -> sp.Expr:
    """Keep exact values exact; evaluate anything else (e.g. 1/(1+e⁻³)) to PRECISION digits.

    Numbers only, through `sym`: a string is refused, never parsed or evaluated.
    """
    value = sym(value)
    if value.is_Rational:
        return value
    return value.evalf(PRECISION)


# ---------------------------------------------------------------- labels

def o_name(k: int) -> str:
    """LaTeX name of neuron k's output in the notes' style: o_{11}, o_{21}, …, o_{10,1}."""
    return f"o_{{{k}1}}" if k < 10 else f"o_{{{k},1}}"


_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def o_text(k: int) -> str:
    """Plain-text name of neuron k's output: o₁₁, o₂₁, …, o₉₁, then o₁₀,₁ (never o101, which reads as neuron 101)."""
    return "o" + (f"{k}1" if k < 10 else f"{k},1").translate(_SUBSCRIPT)


def w_name(k: int) -> str:
    return f"w^{{{k}}}_{{11}}"


def factor_labels(depth: int) -> list[str]:
    """LaTeX of the depth + 1 chain-rule factors, outermost (the loss) first."""
    labels = [rf"\frac{{\partial L}}{{\partial {o_name(depth)}}}"]
    labels += [rf"\frac{{\partial {o_name(k)}}}{{\partial {o_name(k - 1)}}}" for k in range(depth, 1, -1)]
    labels.append(rf"\frac{{\partial {o_name(1)}}}{{\partial {w_name(1)}}}")
    return labels


def factor_names(depth: int) -> list[str]:
    """Plain-text names of the factors, e.g. 'dL/do31', 'do31/do21', …, 'do11/dw11'."""
    def o(k: int) -> str:
        return f"o{k}1" if k < 10 else f"o{k},1"
    names = [f"dL/d{o(depth)}"] + [f"d{o(k)}/d{o(k - 1)}" for k in range(depth, 1, -1)]
    return names + [f"d{o(1)}/dw11"]


def shown_factor_labels(depth: int) -> list[str]:
    """The factors' LaTeX as a formula shows them: deep chains elided in the middle (⋯)."""
    labels = factor_labels(depth)
    return labels[:3] + [r"\cdots"] + labels[-3:] if len(labels) > 7 else labels


def chain_rule_latex(depth: int) -> str:
    """∂L/∂w¹₁₁ = ∂L/∂o_n · … · ∂o_1/∂w¹₁₁, written out (elided in the middle for deep chains)."""
    labels = shown_factor_labels(depth)
    return rf"\frac{{\partial L}}{{\partial {w_name(1)}}} = " + r" \times ".join(labels)


# ---------------------------------------------------------------- symbolic derivation

@dataclass(frozen=True)
class LocalDerivation:
    """SymPy's derivative of one neuron with respect to its input, and the same in φ' form."""

    raw: sp.Expr  # what sp.diff returns for ∂φ(w·o + b)/∂o
    factored: sp.Expr  # φ'(z)·w
    agree: bool  # SymPy confirms raw − factored simplifies to 0
    weight_raw: sp.Expr  # ∂φ(w·x + b)/∂w
    weight_factored: sp.Expr  # φ'(z)·x


@cache
def local_derivation(activation: str) -> LocalDerivation:
    """Differentiate φ(w·o + b) with SymPy, with respect to o and with respect to w."""
    o, w, b, x = sp.symbols("o w b x", real=True)
    phi = activation_expr(activation)
    dphi = derivative_expr(activation)
    raw = step_as_torch(sp.diff(phi.subs(Z, w * o + b), o))
    factored = dphi.subs(Z, w * o + b) * w
    raw_w = step_as_torch(sp.diff(phi.subs(Z, w * x + b), w))
    factored_w = dphi.subs(Z, w * x + b) * x
    agree = sp.simplify(raw - factored) == 0 and sp.simplify(raw_w - factored_w) == 0
    return LocalDerivation(raw, factored, bool(agree), raw_w, factored_w)


def composite_loss(depth: int, activation: str) -> tuple[sp.Expr, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...],
                                                        sp.Symbol, sp.Symbol]:
    """L(w¹₁₁, …) = ½(φ(w_n·φ(…φ(w_1·x + b_1)…) + b_n) − y)² as one SymPy expression."""
    ws = sp.symbols(f"w1:{depth + 1}", real=True)
    bs = sp.symbols(f"b1:{depth + 1}", real=True)
    x, y = sp.symbols("x y", real=True)
    phi = activation_expr(activation)
    o = x
    for k in range(depth):
        o = phi.subs(Z, ws[k] * o + bs[k])
    return sp.Rational(1, 2) * (o - y) ** 2, ws, bs, x, y


# ---------------------------------------------------------------- evaluated chains

@dataclass(frozen=True)
class Layer:
    """Neuron k of the chain, evaluated at the learner's numbers."""

    k: int
    w: sp.Expr
    b: sp.Expr
    z: sp.Expr
    o: sp.Expr
    dphi: sp.Expr  # the actual φ'(z) at this z
    bound: sp.Expr  # max φ'(z) (at z = 0 for sigmoid/tanh)

    @property
    def factor(self) -> sp.Expr:
        """∂o_k/∂o_(k−1) = φ'(z_k)·w_k (for k = 1 the factor that uses x is separate)."""
        return self.dphi * self.w

    @property
    def bound_factor(self) -> sp.Expr:
        """What the notes use: the bound γ times the weight, e.g. 0.25·500 = 125."""
        return self.bound * abs(self.w)


@dataclass(frozen=True)
class Factor:
    """One local derivative of the chain with its value and, when computed, its formula."""

    latex: str  # ∂o_21/∂o_11
    name: str  # do21/do11
    value: sp.Expr
    formula: str = ""  # LaTeX of how the value arises, e.g. σ'(z_21)·w²₁₁ = 0.25·500
    bound: sp.Expr | None = None  # γ·|w| (None for the loss factor)

    @property
    def magnitude_above_one(self) -> bool:
        return bool(abs(self.value) > 1)


@dataclass(frozen=True)
class Chain:
    """A fully evaluated chain: the factors, their product ∂L/∂w¹₁₁ and the update of w¹₁₁."""

    depth: int
    factors: tuple[Factor, ...]
    update: Update
    activation: str | None = None  # None when the factors were given as numbers
    layers: tuple[Layer, ...] = ()
    x: sp.Expr | None = None
    y: sp.Expr | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def gradient(self) -> sp.Expr:
        return self.update.grad

    @property
    def y_hat(self) -> sp.Expr | None:
        return self.layers[-1].o if self.layers else None

    @property
    def loss(self) -> sp.Expr | None:
        if not self.layers or self.y is None:
            return None
        return settle(sp.Rational(1, 2) * (self.y_hat - self.y) ** 2)

    def running_products(self) -> list[sp.Expr]:
        """Product of the factors from the loss inward: after 1, 2, … factors."""
        out, acc = [], sp.Integer(1)
        for f in self.factors:
            acc = settle(acc * f.value)
            out.append(acc)
        return out

    def biggest_culprit(self) -> int:
        """Index of the factor with the largest |value| (the one that inflates the product most)."""
        return max(range(len(self.factors)), key=lambda i: log10_abs(self.factors[i].value))


def _check_depth(depth: int) -> None:
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise ChainError(f"Depth must be a whole number from 1 to {MAX_DEPTH} (got {depth!r}).")


def _check_range(value: Fraction | sp.Expr, kind: str, positive: bool = False) -> None:
    frac = to_fraction(value)
    limit = LIMITS[kind]
    if abs(frac) > limit:
        raise ChainError(f"The {kind} {fmt(frac)} is out of range: keep it within ±{fmt(limit)}.")
    if positive and frac <= 0:
        raise ChainError(f"The {kind} must be greater than 0 (got {fmt(frac)}).")


def given_chain(factors: tuple[object, ...], w_old: object, lr: object) -> Chain:
    """The notes' way: the local factors are given as numbers; multiply them and update w¹₁₁."""
    depth = len(factors) - 1
    _check_depth(depth)
    for value in factors:
        _check_range(value, "factor")
    _check_range(w_old, "factor")
    _check_range(lr, "learning rate", positive=True)
    values = [sym(v) for v in factors]
    grad = sp.Integer(1)
    for v in values:
        grad *= v
    chain_factors = tuple(Factor(lat, name, v) for lat, name, v in zip(factor_labels(depth), factor_names(depth), values, strict=True))
    return Chain(depth, chain_factors, Update(sym(w_old), sym(lr), grad))


def notes_chain() -> Chain:
    """The worked example exactly as in the notes: 150 · 100 · 125 · 50, w = 500, α = 0.01."""
    return given_chain(NOTES_FACTORS, NOTES_W_OLD, NOTES_LR)


@dataclass(frozen=True)
class Network:
    """A chain of single neurons computed from numbers: the 'computed from weights' mode."""

    activation: str = "sigmoid"
    weights: tuple[Fraction, ...] = (Fraction(500),) * 3
    biases: tuple[Fraction, ...] = (Fraction(0),) * 3
    x: Fraction = Fraction(1)
    y: Fraction = Fraction(0)
    lr: Fraction = Fraction(1, 100)
    centred: bool = False  # biases chosen as b_k = −w_k·o_(k−1) so that every z_k = 0

    @property
    def depth(self) -> int:
        return len(self.weights)

    def extended(self, depth: int) -> Network:
        """The same network made deeper (or shallower) by repeating the last weight and bias."""
        ws = tuple(self.weights[:depth]) + (self.weights[-1],) * max(0, depth - len(self.weights))
        bs = tuple(self.biases[:depth]) + (self.biases[-1],) * max(0, depth - len(self.biases))
        return Network(self.activation, ws, bs, self.x, self.y, self.lr, self.centred)


def validate(net: Network) -> None:
    """Raise ChainError with a clear message if any number is out of range."""
    if net.activation not in ACTIVATIONS:
        raise ChainError(f"Unknown activation {net.activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    _check_depth(net.depth)
    if len(net.biases) != net.depth:
        raise ChainError(f"{net.depth} weights but {len(net.biases)} biases: give one bias per layer.")
    for w in net.weights:
        _check_range(w, "weight")
    for b in net.biases:
        _check_range(b, "bias")
    _check_range(net.x, "input")
    _check_range(net.y, "target")
    _check_range(net.lr, "learning rate", positive=True)


def forward(net: Network) -> tuple[Layer, ...]:
    """Evaluate every neuron, keeping values exact where possible (e.g. σ(0) = 1/2)."""
    validate(net)
    phi, dphi = activation_expr(net.activation), stable_derivative_expr(net.activation)  # φ' that cannot cancel
    gamma = derivative_bound(net.activation).value
    layers, o = [], sym(net.x)
    for k, (w, b) in enumerate(zip(net.weights, net.biases, strict=True), start=1):
        w = sym(w)
        b = settle(-w * o) if net.centred else sym(b)
        z = settle(w * o + b)
        o_next = settle(phi.subs(Z, z))
        layers.append(Layer(k, w, b, z, o_next, settle(dphi.subs(Z, z)), gamma))
        o = o_next
    return tuple(layers)


def network_chain(net: Network) -> Chain:
    """Compute every factor from the network's numbers, multiply, and update w¹₁₁."""
    layers = forward(net)
    depth = len(layers)
    x, y = sym(net.x), sym(net.y)
    y_hat = layers[-1].o
    labels, names = factor_labels(depth), factor_names(depth)
    phi_sym = {"sigmoid": r"\sigma'", "tanh": r"\tanh'", "relu": r"\mathrm{ReLU}'", "linear": r"\mathrm{id}'"}
    p = phi_sym[net.activation]
    from core.numbers import fmt_latex, format_value

    def rel(*values: sp.Expr) -> str:  # = only when every number that follows is shown exactly
        return "=" if all(format_value(v).exact for v in values) else r"\approx"

    factors = [Factor(labels[0], names[0], settle(y_hat - y),
                      rf"\hat y - y {rel(y_hat, y)} {fmt_latex(y_hat)} - {_paren(fmt_latex(y))}")]
    for i, k in enumerate(range(depth, 1, -1), start=1):
        layer = layers[k - 1]
        formula = (rf"{p}(z_{{{k}1}})\,{w_name(k)} {rel(layer.z, layer.w)} {p}({fmt_latex(layer.z)}) \times "
                   rf"{_paren(fmt_latex(layer.w))} {rel(layer.dphi, layer.w)} {fmt_latex(layer.dphi)} \times "
                   rf"{_paren(fmt_latex(layer.w))}")
        factors.append(Factor(labels[i], names[i], settle(layer.factor), formula, settle(layer.bound_factor)))
    first = layers[0]
    formula = (rf"{p}(z_{{11}})\,x {rel(first.z, x)} {p}({fmt_latex(first.z)}) \times {_paren(fmt_latex(x))}"
               rf" {rel(first.dphi, x)} {fmt_latex(first.dphi)} \times {_paren(fmt_latex(x))}")
    factors.append(Factor(labels[-1], names[-1], settle(first.dphi * x), formula, settle(first.bound * abs(x))))
    grad = sp.Integer(1)
    for f in factors:
        grad = settle(grad * f.value)
    update = Update(sym(net.weights[0]), sym(net.lr), grad)
    return Chain(depth, tuple(factors), update, net.activation, layers, x, y)


def _paren(latex: str) -> str:
    return f"\\left({latex}\\right)" if latex.startswith("-") else latex


def notes_network() -> Network:
    """A real sigmoid chain in which the notes' numbers really happen.

    Every bias centres its neuron at z = 0, where σ'(0) = 1/4 is the bound, so the factors are
    ¼·w exactly: w²₁₁ = 500 gives 125, w³₁₁ = 400 gives 100, x = 200 gives ∂o11/∂w11 = ¼·200 = 50,
    and the target y = ½ − 150 makes ∂L/∂ŷ = ŷ − y = 150. With w¹₁₁ = 500 and α = 0.01 the
    update is 500 − 0.01·93,750,000 = −937,000, as in the notes.
    """
    return Network("sigmoid", (Fraction(500), Fraction(500), Fraction(400)), (Fraction(0),) * 3,
                   Fraction(200), Fraction(1, 2) - 150, NOTES_LR, centred=True)


@dataclass(frozen=True)
class DepthPoint:
    """|∂L/∂w¹₁₁| of the chain cut at one depth: actual, and with every φ' at its bound."""

    depth: int
    log10_actual: float  # −inf when the gradient is exactly 0
    log10_bound: float
    gradient: sp.Expr


def depth_sweep(net: Network, max_depth: int = MAX_DEPTH) -> list[DepthPoint]:
    """|∂L/∂w¹₁₁| for depths 1..max_depth, repeating the last weight and bias to go deeper.

    One forward pass of the deepest chain serves every depth: the chain of depth d is its
    first d neurons. The bound replaces each φ'(z) by its maximum (¼ for sigmoid).
    """
    layers = forward(net.extended(max_depth))
    x, y = sym(net.x), sym(net.y)
    points = []
    inner_actual = settle(layers[0].dphi * x)  # ∂o_1/∂w_1
    inner_bound = settle(layers[0].bound * abs(x))
    for d in range(1, max_depth + 1):
        if d > 1:
            inner_actual = settle(inner_actual * layers[d - 1].factor)
            inner_bound = settle(inner_bound * layers[d - 1].bound_factor)
        loss_factor = settle(layers[d - 1].o - y)
        grad = settle(loss_factor * inner_actual)
        bound = settle(abs(loss_factor) * inner_bound)
        points.append(DepthPoint(d, log10_abs(grad), log10_abs(bound), grad))
    return points


def parse_per_layer(values: list[Fraction], depth: int) -> tuple[tuple[Fraction, ...], str | None]:
    """Expand a list of per-layer values to `depth` entries: the last value repeats.

    Returns the values and, when some were given beyond the depth, a note saying they are unused.
    """
    if not values:
        raise ChainError("Give at least one value.")
    used = tuple(values[:depth]) + (values[-1],) * max(0, depth - len(values))
    note = None
    if len(values) > depth:
        note = f"Using the first {depth} of the {len(values)} values given (the chain has {depth} layers)."
    return used, note
