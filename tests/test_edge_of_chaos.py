"""Edge of chaos against direct computations: mean-field χ, the tanh critical point, the cliff's wall, butterflies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.chaos.butterfly import butterfly, lyapunov_fit
from core.chaos.cliff import B0_DEFAULT, LR_DEFAULT, bistable_band, descend, extent, final_state, loss, sigmoid, wall_position
from core.chaos.mean_field import chi, dphi, fixed_point_q, measured_factor, phase_diagram, phi, sigma_w_of
from core.training.config import ConfigError, TrainConfig
from core.training.scenarios import SCENARIOS

# ---------------------------------------------------------------- mean field


@pytest.mark.parametrize("activation,sigma_w,sigma_b", [("tanh", 0.8, 0.1), ("tanh", 1.5, 0.3), ("tanh", 2.5, 0.5),
                                                        ("relu", 1.3, 0.1), ("relu", 1.5, 0.0),
                                                        ("sigmoid", 3.0, 0.2)])
def test_chi_predicts_the_per_layer_factor_of_a_real_deep_network(activation, sigma_w, sigma_b):
    predicted = math.sqrt(float(chi(activation, sigma_w, sigma_b)))
    measured = measured_factor(activation, sigma_w, sigma_b, depth=30, width=512, batch=8)
    assert measured == pytest.approx(predicted, rel=0.02)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_fixed_point_and_chi_against_monte_carlo(activation):
    rng = np.random.default_rng(0)
    z = rng.standard_normal(2_000_000)
    for sw, sb in ((0.7, 0.2), (1.8, 0.5), (3.0, 1.0)):
        q = float(fixed_point_q(activation, sw, sb))
        assert q == pytest.approx(sw**2 * np.mean(phi(activation, math.sqrt(q) * z) ** 2) + sb**2, rel=2e-3)
        assert float(chi(activation, sw, sb)) == pytest.approx(sw**2 * np.mean(dphi(activation, math.sqrt(q) * z) ** 2),
                                                               rel=3e-3)


def test_tanh_critical_point_at_zero_bias_is_sigma_w_one():
    assert float(chi("tanh", 1.0, 0.0)) == pytest.approx(1.0, abs=1e-9)
    assert float(chi("tanh", 0.99, 0.0)) < 1 < float(chi("tanh", 1.01, 0.0))
    diagram = phase_diagram("tanh")
    step = diagram.sigma_w[1] - diagram.sigma_w[0]
    assert abs(diagram.critical_sigma_w()[0] - 1.0) <= step
    crit = diagram.critical_sigma_w()
    assert np.all(np.diff(crit[np.isfinite(crit)]) >= 0)  # biases push the edge to larger σ_w


def test_relu_chi_is_half_sigma_w_squared_whatever_the_bias():
    for sb in (0.0, 0.5, 2.0):
        assert float(chi("relu", 1.7, sb)) == pytest.approx(1.7**2 / 2, rel=1e-12)
    crit = phase_diagram("relu").critical_sigma_w()
    assert np.allclose(crit[np.isfinite(crit)], math.sqrt(2), atol=0.07)


def test_the_labs_network_is_placed_by_its_initialisation():
    assert sigma_w_of(TrainConfig(init="he_normal", activation="relu")) == (pytest.approx(math.sqrt(2)), 0.0)
    assert sigma_w_of(TrainConfig(init="xavier_normal")) == (1.0, 0.0)
    assert sigma_w_of(TrainConfig(init="normal", init_scale=0.5, width=16))[0] == pytest.approx(2.0)
    assert sigma_w_of(TrainConfig(init="constant", init_scale=500.0)) is None


# ---------------------------------------------------------------- the cliff


def test_the_wall_is_where_the_direct_computation_jumps():
    b = np.linspace(-4.0, 0.0, 40_001)
    values = loss(5.0, b)
    k = int(np.argmax(np.abs(np.diff(values))))
    wall = wall_position(5.0)
    assert b[k] <= wall <= b[k + 1] or abs(b[k] - wall) <= 2e-4
    assert abs(values[k + 1] - values[k]) > 0.3  # a wall, not a slope: E jumps by most of its range [0, 0.49]
    lo, hi = bistable_band(5.0)
    assert lo < wall < hi
    for edge in (lo, hi):  # the folds: a fixed point x with w·σ'(x) = 1
        x = np.linspace(-6, 6, 200_001)
        residual = np.abs(x - (5.0 * sigmoid(x) + edge))
        x_fold = x[np.argmin(residual)]
        assert 5.0 * sigmoid(x_fold) * (1 - sigmoid(x_fold)) == pytest.approx(1.0, abs=1e-3)


def test_no_wall_without_bistability():
    assert wall_position(3.0) is None and bistable_band(3.0) is None
    values = loss(3.0, np.linspace(-4, 0, 4001))
    assert np.max(np.abs(np.diff(values))) < 0.1


def test_descent_gradient_matches_finite_differences_and_clipping_bounds_the_step():
    d = descend(3.0, -1.0, 0.01, 1)
    h = 1e-6
    g_b = (loss(3.0, -1.0 + h) - loss(3.0, -1.0 - h)) / (2 * h)
    g_w = (loss(3.0 + h, -1.0) - loss(3.0 - h, -1.0)) / (2 * h)
    assert d.grad_norm[0] == pytest.approx(math.hypot(g_w, g_b), rel=1e-6)
    plain = descend(5.0, B0_DEFAULT, LR_DEFAULT, 30)
    clipped = descend(5.0, B0_DEFAULT, LR_DEFAULT, 30, clip_norm=1.0)
    steps = np.hypot(np.diff(clipped.w), np.diff(clipped.b))
    assert steps.max() <= LR_DEFAULT * (1 + 1e-9)
    assert np.hypot(np.diff(plain.w), np.diff(plain.b)).max() > 50 * steps.max()  # thrown off the wall
    assert clipped.loss[-1] < plain.loss[-1]  # here the catapult lands on the plateau E ≈ (1 − 0.7)²
    assert final_state(5.0, -3.1).shape == ()


def test_cliff_surface_is_fast_enough_to_be_a_grid_computation():
    w = np.linspace(1, 8, 100)
    b = np.linspace(-5, 1, 100)
    surface = loss(w[None, :], b[:, None])
    assert surface.shape == (100, 100) and np.isfinite(surface).all()
    for i, j in ((0, 0), (37, 52), (99, 99)):
        assert surface[i, j] == pytest.approx(float(loss(w[j], b[i])), rel=1e-12)


# ---------------------------------------------------------------- butterflies


def test_lyapunov_fit_recovers_a_known_exponent():
    k = np.arange(100)
    lam, (first, last) = lyapunov_fit(1e-10 * np.exp(0.3 * k), scale=1.0)
    assert lam == pytest.approx(0.3, rel=1e-9)
    assert last == int(np.ceil(np.log(1e-2 / 1e-10) / 0.3))  # the fit stops at 1 % of the weights' norm


def test_two_runs_start_eps_apart_and_stable_training_stays_together():
    r = butterfly(SCENARIOS["he_relu"].config, 1e-9, 60)
    assert r.distance[0] == pytest.approx(1e-9, rel=1e-6)
    assert abs(r.lyapunov) < 0.01 and r.stopped_at is None
    again = butterfly(SCENARIOS["he_relu"].config, 1e-9, 60)
    np.testing.assert_array_equal(r.distance, again.distance)


def test_exploding_training_flies_apart():
    r = butterfly(SCENARIOS["relu_nan"].config, 1e-8, 50)
    assert r.lyapunov > 1 and r.stopped_at is not None
    assert np.nanmax(r.distance[np.isfinite(r.distance)]) > 1e6


def test_input_perturbation_leaves_the_weights_equal_at_first():
    r = butterfly(SCENARIOS["he_relu"].config, 1e-6, 20, perturb="inputs")
    assert r.distance[0] == 0 and r.distance[-1] > 0


@pytest.mark.parametrize("bad", [dict(eps=0.0), dict(eps=1.0), dict(steps=0), dict(perturb="labels")])
def test_butterfly_inputs_are_checked(bad):
    args = dict(eps=1e-6, steps=5, perturb="weights") | bad
    with pytest.raises(ConfigError):
        butterfly(TrainConfig(), **args)


def _published_error_by_hand(w: float, b: float) -> float:
    """Pascanu et al.'s error, in plain Python floats: x_t = w·σ(x_{t−1}) + b from x_0 = 0.5, E = (σ(x_50) − 0.7)²."""
    x = 0.5
    for _ in range(50):
        x = w / (1 + math.exp(-x)) + b
    return (1 / (1 + math.exp(-x)) - 0.7) ** 2


def test_the_error_is_the_published_one_left_and_right_of_the_wall():
    wall = wall_position(5.0)
    assert wall == pytest.approx(0.5 - 5 / (1 + math.exp(-0.5)), rel=1e-15)  # b* = x₀ − w·σ(x₀) = −2.6123
    for db in (-1e-3, -1e-2, 1e-3, 1e-2):
        assert float(loss(5.0, wall + db)) == pytest.approx(_published_error_by_hand(5.0, wall + db), rel=1e-9)
    # left of the wall the unit falls to the low fixed point (σ(x) ≈ 0.115), right of it to the high one (≈ 0.8)
    assert float(loss(5.0, wall - 1e-3)) == pytest.approx(0.3416, abs=1e-4)
    assert float(loss(5.0, wall + 1e-3)) == pytest.approx(0.01005, abs=1e-5)
    assert float(loss(5.0, 50.0)) == pytest.approx(0.09, rel=1e-9)  # σ(x₅₀) → 1: the plateau (1 − 0.7)²


def test_both_descent_paths_lie_inside_the_drawn_surface():
    from core.charts.chaos import cliff_surface_chart

    paths = [("no clipping", descend(5.0, B0_DEFAULT, LR_DEFAULT, 30)),
             ("clipped", descend(5.0, B0_DEFAULT, LR_DEFAULT, 30, clip_norm=1.0))]
    assert paths[0][1].w.max() > 8 or paths[0][1].b.max() > 1  # the catapult leaves the default window …
    w_lo, w_hi, b_lo, b_hi = extent([d for _, d in paths])
    w, b = np.linspace(w_lo, w_hi, 20), np.linspace(b_lo, b_hi, 20)
    spec = cliff_surface_chart(w, b, loss(w[None, :], b[:, None]), paths).to_dict()
    x_domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y_domain = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    drawn = [row for name, rows in spec["datasets"].items() for row in rows if "path" in row]
    assert len(drawn) == sum(len(d.w) for _, d in paths)  # … and every point is drawn
    for _, d in paths:
        assert x_domain[0] <= d.w.min() and d.w.max() <= x_domain[1]
        assert y_domain[0] <= d.b.min() and d.b.max() <= y_domain[1]
