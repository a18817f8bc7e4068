"""The weight-update ledger: w_new = w_old − lr · ∂L/∂w with the real numbers, exactly.

With exact inputs (Fractions / SymPy Rationals) every line is exact; with a gradient that
involves e^z the ledger carries 50 significant digits and marks the results as rounded (≈).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import sympy as sp

from core.numbers import fmt, fmt_latex, format_value


def _is_exact(value: sp.Expr) -> bool:
    """A SymPy Rational/Integer, an int or a Fraction; a type test only: a string is never parsed."""
    return isinstance(value, (sp.Rational, int, Fraction))


@dataclass(frozen=True)
class Update:
    """One gradient-descent step on one weight."""

    w_old: sp.Expr
    lr: sp.Expr
    grad: sp.Expr

    @cached_property  # computed once: with 10⁻¹²⁰⁰⁰⁰-sized exact values each product costs a big gcd
    def step(self) -> sp.Expr:
        """lr · ∂L/∂w, the amount subtracted from the weight."""
        return self.lr * self.grad

    @cached_property
    def w_new(self) -> sp.Expr:
        return self.w_old - self.step

    @property
    def exact(self) -> bool:
        return _is_exact(self.w_old) and _is_exact(self.lr) and _is_exact(self.grad)

    @property
    def overshoot(self) -> bool:
        """The step is larger than the weight itself: |lr·g| > |w_old|."""
        return bool(abs(self.step) > abs(self.w_old))

    @property
    def sign_flip(self) -> bool:
        """The weight changes sign (a positive weight becomes negative or vice versa)."""
        return bool(self.w_old * self.w_new < 0)

    @property
    def relative_change(self) -> sp.Expr | None:
        """|lr·g| / |w_old| (None when w_old = 0)."""
        return None if self.w_old == 0 else abs(self.step) / abs(self.w_old)

    def _relation(self, *values: sp.Expr) -> str:
        """'=' when the update is exact and every number on the line is shown in full, else '≈'."""
        return "=" if self.exact and all(format_value(v).exact for v in values) else "≈"

    def equation_text(self) -> str:
        """One line of plain text, e.g. '500 − 0.01·93,750,000 = −937,000' (≈ when a number is rounded)."""
        eq = self._relation(self.w_old, self.lr, self.grad, self.w_new)
        grad = fmt(self.grad).removeprefix("≈ ")
        grad = f"({grad})" if grad.startswith("−") else grad
        lr = fmt(self.lr).removeprefix("≈ ")
        return f"{fmt(self.w_old).removeprefix('≈ ')} − {lr}·{grad} {eq} {fmt(self.w_new).removeprefix('≈ ')}"

    def latex_lines(self, weight: str = "w") -> list[str]:
        """The update written out in LaTeX, one aligned step per line; a line whose numbers are rounded is
        joined by ≈, never by =."""
        def rel(*values: sp.Expr) -> str:
            return "=" if self._relation(*values) == "=" else r"\approx"
        g = fmt_latex(self.grad)
        g = f"\\left({g}\\right)" if g.startswith("-") else g
        step = fmt_latex(self.step)
        step_term = f"\\left({step}\\right)" if step.startswith("-") else step
        return [
            f"{weight}_{{\\text{{new}}}} = {weight}_{{\\text{{old}}}} - \\alpha\\,\\frac{{\\partial L}}{{\\partial {weight}}}",
            f"{rel(self.w_old, self.lr, self.grad)} {fmt_latex(self.w_old)} - {fmt_latex(self.lr)} \\times {g}",
            f"{rel(self.w_old, self.step)} {fmt_latex(self.w_old)} - {step_term}",
            f"{rel(self.w_new)} {fmt_latex(self.w_new)}",
        ]

    def rows(self) -> list[tuple[str, str]]:
        """(quantity, value) pairs for a table."""
        return [
            ("w_old", fmt(self.w_old)),
            ("learning rate α", fmt(self.lr)),
            ("∂L/∂w", fmt(self.grad)),
            ("α · ∂L/∂w", fmt(self.step)),
            ("w_new = w_old − α · ∂L/∂w", fmt(self.w_new)),
        ]

    def verdict(self) -> str:
        """A sentence about the size of the step, saying what really happens to the weight."""
        rel = self.relative_change
        if self.overshoot and self.sign_flip:
            return (f"Overshoot: the step {fmt(self.step)} is larger than the weight itself, so the weight jumps "
                    f"past zero and flips sign ({fmt(self.w_old)} → {fmt(self.w_new)}).")
        if self.overshoot:
            grows = abs(self.w_new) > abs(self.w_old)
            return (f"Overshoot: the step {fmt(self.step)} is larger than the weight {fmt(self.w_old)} itself and "
                    + ("points away from zero: the weight grows from " if grows else "the weight moves from ")
                    + f"{fmt(self.w_old)} to {fmt(self.w_new)}.")
        if self.sign_flip:
            return f"Sign flip: the weight changes sign ({fmt(self.w_old)} → {fmt(self.w_new)})."
        if rel is not None and rel != 0 and rel < sp.Rational(1, 10**9):
            return (f"The step changes the weight by {format_value(rel).text.removeprefix('≈ ')} times its "
                    "size: the weight is effectively frozen — the gradient has vanished.")
        if self.step == 0:
            return "The gradient is zero: the weight does not move at all."
        return "A moderate step: the weight moves without overshooting."
