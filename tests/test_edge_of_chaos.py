"""Edge of chaos against direct computations: mean-field χ, the tanh critical point, the cliff's wall, butterflies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.chaos.butterfly import butterfly, lyapunov_fit
from core.chaos.cliff import bistable_band, descend, final_state, loss, sigmoid, wall_position
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
    assert abs(values[k + 1] - values[k]) > 5  # a wall, not a slope
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
    plain = descend(5.0, -3.1, 0.05, 30)
    clipped = descend(5.0, -3.1, 0.05, 30, clip_norm=1.0)
    steps = np.hypot(np.diff(clipped.w), np.diff(clipped.b))
    assert steps.max() <= 0.05 * (1 + 1e-9)
    assert np.hypot(np.diff(plain.w), np.diff(plain.b)).max() > 100 * steps.max()  # thrown off the wall
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
