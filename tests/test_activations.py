"""SymPy-derived derivatives and bounds of the activations."""

import sympy as sp

from core.chain.activations import ACTIVATIONS, Z, activation_expr, derivative_bound, derivative_expr, derivative_in_own_terms


def test_sigmoid_bound_is_derived_as_one_quarter_at_zero():
    bound = derivative_bound("sigmoid")
    assert bound.value == sp.Rational(1, 4)
    assert bound.critical_points == (0,)
    assert bound.at == (0,)
    assert bound.limits == (0, 0)
    assert bound.output_bounded


def test_sigmoid_derivative_identity():
    s = activation_expr("sigmoid")
    assert sp.simplify(derivative_expr("sigmoid") - s * (1 - s)) == 0
    assert derivative_in_own_terms("sigmoid") is not None


def test_tanh_bound_is_one():
    bound = derivative_bound("tanh")
    assert bound.value == 1 and bound.at == (0,)
    assert sp.simplify(derivative_expr("tanh") - (1 - sp.tanh(Z) ** 2)) == 0


def test_relu_derivative_is_a_step_and_output_unbounded():
    d = derivative_expr("relu")
    assert [d.subs(Z, v) for v in (-3, 0, 2)] == [0, 0, 1]  # 0 at z = 0, as torch
    bound = derivative_bound("relu")
    assert bound.value == 1 and not bound.output_bounded


def test_linear_derivative_is_one():
    assert derivative_expr("linear") == 1
    assert derivative_bound("linear").value == 1


def test_bounds_hold_numerically():
    for name in ACTIVATIONS:
        f = sp.lambdify(Z, derivative_expr(name), modules=[{"Heaviside": lambda x, h=0: float(x > 0)}, "math"])
        top = float(derivative_bound(name).value)
        assert all(abs(f(z / 10)) <= top + 1e-15 for z in range(-100, 101))
