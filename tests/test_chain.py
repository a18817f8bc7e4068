"""The notes' worked example, the generalised chain, and SymPy against torch autograd."""

import random
from fractions import Fraction

import pytest
import sympy as sp

from core.chain import products as ch
from core.chain.autograd_check import check_against_autograd, torch_gradient
from core.numbers import fmt, to_fraction


def test_notes_example_exactly():
    c = ch.notes_chain()
    assert c.gradient == 93_750_000
    assert c.update.step == 937_500
    assert c.update.w_new == -937_000
    assert c.update.equation_text() == "500 − 0.01·93,750,000 = −937,000"
    assert c.update.exact and c.update.overshoot and c.update.sign_flip


def test_notes_factor_is_quarter_times_500():
    bound = ch.derivative_bound("sigmoid").value
    assert bound * 500 == 125


def test_notes_numbers_happen_in_a_real_sigmoid_chain():
    c = ch.network_chain(ch.notes_network())
    assert [f.value for f in c.factors] == [150, 100, 125, 50]
    assert all(layer.z == 0 and layer.dphi == sp.Rational(1, 4) for layer in c.layers)
    assert c.gradient == 93_750_000 and c.update.w_new == -937_000
    assert torch_gradient(ch.notes_network()) == 93_750_000.0


def test_saturated_sigmoid_vanishes_instead():
    c = ch.network_chain(ch.Network())  # w = 500, x = 1, b = 0: z = 500
    first = c.layers[0]
    assert first.z == 500
    # σ'(500) = e^-500 / (1 + e^-500)^2 ≈ 7.1246e-218, far below the bound 1/4
    assert float(to_fraction(first.dphi)) == pytest.approx(7.124576406741286e-218, rel=1e-12)
    assert abs(c.gradient) < sp.Float("1e-600")
    assert not c.update.exact and "frozen" in c.update.verdict()
    assert check_against_autograd(ch.Network()).status == "underflow"


def test_symbolic_chain_rule_equals_direct_differentiation():
    for activation in ("sigmoid", "tanh", "linear"):
        loss, ws, bs, x, y = ch.composite_loss(3, activation)
        direct = sp.diff(loss, ws[0])
        point = {ws[0]: sp.Rational(3, 10), ws[1]: sp.Rational(-7, 5), ws[2]: 2, bs[0]: sp.Rational(1, 10),
                 bs[1]: 0, bs[2]: sp.Rational(-1, 2), x: sp.Rational(3, 2), y: sp.Rational(1, 4)}
        net = ch.Network(activation, (Fraction(3, 10), Fraction(-7, 5), Fraction(2)),
                         (Fraction(1, 10), Fraction(0), Fraction(-1, 2)), Fraction(3, 2), Fraction(1, 4))
        product = ch.network_chain(net).gradient
        assert abs(direct.subs(point).evalf(40) - product) < sp.Float("1e-35")


def test_local_derivation_agrees_with_phi_prime_times_w():
    for activation in ch.ACTIVATIONS:
        assert ch.local_derivation(activation).agree


@pytest.mark.parametrize("seed", range(8))
def test_sympy_agrees_with_torch_autograd(seed):
    rng = random.Random(seed)
    activation = ch.ACTIVATIONS[seed % 4]
    depth = rng.randint(1, 12)
    net = ch.Network(activation,
                     tuple(Fraction(rng.randint(-300, 300), 100) for _ in range(depth)),
                     tuple(Fraction(rng.randint(-100, 100), 100) for _ in range(depth)),
                     Fraction(rng.randint(-200, 200), 100), Fraction(rng.randint(-100, 100), 100))
    check = check_against_autograd(net)
    assert check.status == "agree", check.message
    assert check.relative_error < 1e-9


def test_overflowing_product_stays_exact():
    c = ch.given_chain((Fraction(10) ** 308,) * 4, 500, Fraction(1, 100))
    assert c.gradient == sp.Integer(10) ** 1232
    assert fmt(c.gradient) == "1 × 10¹²³²"
    assert c.update.w_new == 500 - sp.Integer(10) ** 1230


def test_deep_relu_chain_overflow_reported():
    net = ch.Network("relu", (Fraction(10**6),) * 30, (Fraction(0),) * 30, Fraction(10**6), Fraction(0))
    assert check_against_autograd(net).status == "overflow"


def test_depth_sweep_matches_network_chain_at_each_depth():
    net = ch.Network("tanh", (Fraction(3, 2), Fraction(-2)), (Fraction(1, 10), Fraction(0)), Fraction(1), Fraction(0))
    points = ch.depth_sweep(net, max_depth=6)
    for p in points:
        g = ch.network_chain(net.extended(p.depth)).gradient
        assert abs(p.gradient - g) <= abs(g) * sp.Float("1e-40")


def test_depth_sweep_bound_grows_as_quarter_w_per_layer():
    points = ch.depth_sweep(ch.notes_network(), max_depth=5)
    # With every neuron at z = 0 the bound is attained: actual == bound, and each extra layer
    # multiplies by 1/4 * 400 = 100 (the last weight repeats).
    for p in points:
        assert p.log10_actual == pytest.approx(p.log10_bound)
    assert points[4].log10_actual - points[3].log10_actual == pytest.approx(2.0)


def test_dead_relu_gives_exact_zero():
    net = ch.Network("relu", (Fraction(2),), (Fraction(-5),), Fraction(1), Fraction(1))
    c = ch.network_chain(net)
    assert c.gradient == 0 and c.update.w_new == 2
    assert ch.depth_sweep(net, 3)[0].log10_actual == float("-inf")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weights": (Fraction(10**7),), "biases": (Fraction(0),)}, "weight"),
    ({"lr": Fraction(0)}, "learning rate"),
    ({"lr": Fraction(11)}, "learning rate"),
    ({"activation": "swish"}, "Unknown activation"),
    ({"weights": (Fraction(1),) * 31, "biases": (Fraction(0),) * 31}, "Depth"),
    ({"weights": (Fraction(1),) * 2, "biases": (Fraction(0),)}, "biases"),
])
def test_bad_networks_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ch.ChainError, match=message):
        ch.network_chain(ch.Network(**kwargs))


def test_given_chain_limits():
    with pytest.raises(ch.ChainError, match="factor"):
        ch.given_chain((Fraction(10) ** 309, 1), 1, Fraction(1, 100))
    with pytest.raises(ch.ChainError, match="Depth"):
        ch.given_chain((1,), 1, Fraction(1, 100))


def test_per_layer_values_repeat_the_last():
    used, note = ch.parse_per_layer([Fraction(500), Fraction(400)], 4)
    assert used == (500, 400, 400, 400) and note is None
    used, note = ch.parse_per_layer([Fraction(1), Fraction(2), Fraction(3)], 2)
    assert used == (1, 2) and "first 2 of the 3" in note


def test_running_products_and_culprit():
    c = ch.notes_chain()
    assert c.running_products() == [150, 15_000, 1_875_000, 93_750_000]
    assert c.factors[c.biggest_culprit()].name == "dL/do31"


def test_no_text_is_ever_parsed_as_sympy():
    """settle and the ledger take numbers only: text (which SymPy's parser would evaluate) is refused or inert."""
    from core.chain.ledger import Update

    with pytest.raises(TypeError):
        ch.settle("__import__('os').getcwd()")
    assert ch.settle(sp.Rational(3, 4)) == sp.Rational(3, 4)
    assert not Update("1", sp.Rational(1, 100), sp.Integer(5)).exact
    assert Update(sp.Integer(500), sp.Rational(1, 100), sp.Integer(93_750_000)).exact


# ---------------------------------------------------------------- exactness at any z, against mpmath

Z_VALUES = [Fraction(s * m) for s in (1, -1) for m in (Fraction(1, 1000), 1, 19, 58, 100, 500, 10**4, 10**6)]


def _mp_derivative(activation: str, z: Fraction):
    """φ'(z) by an independent route: mpmath at 80 digits, from cosh and exp."""
    import mpmath

    with mpmath.workdps(80):
        zz = mpmath.mpf(z.numerator) / z.denominator
        if activation == "tanh":
            return 1 / mpmath.cosh(zz) ** 2
        if activation == "sigmoid":
            return mpmath.exp(-zz) / (1 + mpmath.exp(-zz)) ** 2
        if activation == "relu":
            return mpmath.mpf(1 if zz > 0 else 0)
        return mpmath.mpf(1)


@pytest.mark.parametrize("activation", ch.ACTIVATIONS)
@pytest.mark.parametrize("z", Z_VALUES, ids=str)
def test_every_factor_agrees_with_mpmath_at_any_z(activation, z):
    """Neuron 2 sits at z (w₂ = 3, input o₁ from neuron 1, bias chosen so that z₂₁ = z): its factor φ'(z)·w₂ and
    φ'(z) itself match mpmath to the 12 digits shown, and are never 0 when the true value is not."""
    import mpmath

    first = ch.forward(ch.Network(activation, (Fraction(1),), (Fraction(0),), Fraction(1, 2), Fraction(0)))[0]
    o1 = to_fraction(first.o) if first.o.is_Rational else None
    net = ch.Network(activation, (Fraction(1), Fraction(3)), (Fraction(0), Fraction(0)), Fraction(1, 2), Fraction(0))
    if o1 is None:  # σ(1/2), tanh(1/2) are irrational: put the unit at z through the input of a one-neuron chain
        net = ch.Network(activation, (Fraction(1),), (z - Fraction(1, 2),), Fraction(1, 2), Fraction(0))
        layer = ch.forward(net)[0]
        factor = ch.network_chain(net).factors[-1].value  # ∂o₁₁/∂w¹₁₁ = φ'(z)·x
        expected_factor = _mp_derivative(activation, z) / 2
    else:
        net = ch.Network(activation, (Fraction(1), Fraction(3)), (Fraction(0), z - 3 * o1), Fraction(1, 2),
                         Fraction(0))
        layer = ch.forward(net)[1]
        factor = ch.network_chain(net).factors[1].value  # ∂o₂₁/∂o₁₁ = φ'(z)·3
        expected_factor = 3 * _mp_derivative(activation, z)
    assert layer.z == z
    expected = _mp_derivative(activation, z)
    for got, want in ((layer.dphi, expected), (factor, expected_factor)):
        if want == 0:
            assert got == 0
            continue
        assert got != 0, f"φ'({z}) shown as 0, true value {mpmath.nstr(want, 5)}"
        shown = fmt(sp.Float(mpmath.nstr(want, 40, min_fixed=1, max_fixed=0), 40)).removeprefix("≈ ")
        assert fmt(got).removeprefix("≈ ") == shown, (fmt(got), want)


def test_tanh_weights_100_the_issue_example():
    """/Chain_rule?mode=From weights&act=tanh&weights=100&x=1: the gradient is ≈ 1.7 × 10⁻²⁵⁵, not 0, and float64
    autograd (which computes 1 − tanh² = 0) is reported as losing it, never as agreeing."""
    net = ch.Network("tanh", (Fraction(100),) * 3, (Fraction(0),) * 3, Fraction(1), Fraction(0))
    c = ch.network_chain(net)
    assert fmt(c.gradient, significant=12).startswith("≈ 1.69625379392 × 10⁻²⁵⁵")
    assert "does not move at all" not in c.update.verdict()
    check = check_against_autograd(net)
    assert check.torch_value == 0.0 and check.status == "float64 loses this"
    assert "agree" not in check.message and "float64 loses this gradient" in check.message
    sech2_500 = ch.forward(ch.Network("tanh", (Fraction(500),), (Fraction(0),), Fraction(1), Fraction(0)))[0].dphi
    assert fmt(sech2_500, significant=12) == "≈ 2.03038355902 × 10⁻⁴³⁴"


def test_a_rounded_result_is_never_written_with_an_equals_sign():
    c = ch.given_chain((Fraction(-3) * 10**100, Fraction(5) * 10**105, Fraction(625) * 10**100, 1), 500,
                       Fraction(1, 100))
    lines = c.update.latex_lines()
    assert fmt(c.update.w_new).startswith("≈")
    assert lines[-1].startswith(r"\approx") and " = " not in c.update.equation_text()


def test_overshoot_away_from_zero_is_called_growth_not_a_jump_past_zero():
    c = ch.given_chain((150, 100, 125, -3), 500, Fraction(1, 100))  # the step −56,250 points away from zero
    verdict = c.update.verdict()
    assert "past zero" not in verdict and "grows from 500 to 56,750" in verdict
