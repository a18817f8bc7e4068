"""Gradients through time against closed forms and hand computations: scalar unit, matrix W_rec, RNN vs LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

from core.recurrent.matrix import W_INITS, gradient_through_time, init_w_rec, spectrum
from core.recurrent.scalar import H0, RNN_ACTIVATIONS, W_REC, derive, gamma, measured_by_autograd, scalar_chain
from core.recurrent.sequence import SeqConfig, SeqConfigError, SeqRun, make_batch

# ---------------------------------------------------------------- one recurrent unit


@pytest.mark.parametrize("activation", RNN_ACTIVATIONS)
@pytest.mark.parametrize("w_rec", [-2.5, 0.7, 1.5, 3.0])
def test_measured_gradient_through_time_equals_the_closed_form_product(activation, w_rec):
    args = dict(x=0.3, w_in=0.8, b=-0.1, h0=0.4)
    chain = scalar_chain(w_rec, 200, activation, **args)
    measured = measured_by_autograd(w_rec, 200, activation, **args)
    for t in (1, 2, 10, 100, 200):
        expected = chain.product(t)
        if expected == 0:
            assert measured[t - 1] == 0
        else:
            assert measured[t - 1] == pytest.approx(expected, rel=1e-11)


def test_the_product_is_w_rec_times_f_prime_at_each_step_by_hand():
    w, x, h = 1.3, 0.2, 0.5
    chain = scalar_chain(w, 3, "tanh", x=x, h0=h)
    product = 1.0
    for _ in range(3):
        z = w * h + x
        h = math.tanh(z)
        product *= w * (1 - h * h)
    assert chain.product(3) == pytest.approx(product, rel=1e-13)


@pytest.mark.parametrize("activation", RNN_ACTIVATIONS)
def test_sympy_derivative_of_the_unrolled_recurrence_is_the_chain_product(activation):
    for T in (1, 2, 3):
        assert derive(T, activation).agree
    linear = derive(3, "linear")
    assert sp.simplify(linear.derivative - W_REC**3) == 0  # the notes' rule, exactly, for a linear unit
    assert linear.h_T.has(H0)


def test_gamma_is_the_derived_bound_of_f_prime():
    assert gamma("tanh") == 1 and gamma("sigmoid") == 0.25 and gamma("relu") == 1 and gamma("linear") == 1


def test_the_notes_rule_holds_for_a_linear_unit_and_fails_for_a_saturating_one():
    linear = scalar_chain(1.5, 50, "linear")
    assert linear.log10_abs_product[-1] == pytest.approx(50 * math.log10(1.5), rel=1e-12)
    tanh = scalar_chain(1.5, 50, "tanh")  # h settles at tanh(1.5 h*) ≈ 0.86, where f' ≈ 0.26
    assert tanh.notes_log10[-1] > 8 and tanh.log10_abs_product[-1] < -10


def test_the_product_never_exceeds_the_bound():
    rng = np.random.default_rng(0)
    for _ in range(200):
        activation = RNN_ACTIVATIONS[rng.integers(len(RNN_ACTIVATIONS))]
        w, x, b, h0 = rng.uniform(-4, 4), rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-1, 1)
        chain = scalar_chain(w, 100, activation, x=x, b=b, h0=h0)
        ok = np.isneginf(chain.log10_abs_product) | (chain.log10_abs_product <= chain.bound_log10 + 1e-9)
        assert ok.all()


def test_a_dead_relu_step_makes_the_product_exactly_zero():
    chain = scalar_chain(2.0, 20, "relu", x=-1.0, h0=0.1)  # z_1 = 0.2 − 1 < 0
    assert chain.product(5) == 0 and np.isneginf(chain.log10_abs_product[-1])


@pytest.mark.parametrize("bad", [dict(T=0), dict(T=201), dict(w_rec=math.nan), dict(activation="gelu")])
def test_scalar_inputs_out_of_range_are_refused(bad):
    args = dict(w_rec=1.0, T=10, activation="tanh") | bad
    with pytest.raises(ValueError):
        scalar_chain(**args)


# ---------------------------------------------------------------- a matrix W_rec


@pytest.mark.parametrize("scheme", W_INITS)
@pytest.mark.parametrize("activation", RNN_ACTIVATIONS)
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_the_singular_value_bound_holds(scheme, activation, scale):
    result = gradient_through_time(init_w_rec(32, scheme, scale, seed=3), activation, 60, seed=3)
    assert (result.grad_norm <= result.bound * (1 + 1e-9) + 1e-300).all()
    s = result.spectrum
    assert s.spectral_radius <= s.sigma_max * (1 + 1e-12)
    if s.sigma_max < 1 / s.gamma:  # the sufficient condition: geometric decay at rate γ·σ_max
        assert result.grad_norm[-1] <= (s.gamma * s.sigma_max) ** 60 * (1 + 1e-9)


def test_spectrum_agrees_with_torch_linear_algebra():
    w = init_w_rec(48, "normal", 1.3, seed=1)
    s = spectrum(w, "sigmoid")
    assert s.sigma_max == pytest.approx(float(torch.linalg.svdvals(w)[0]), rel=1e-12)
    assert s.spectral_radius == pytest.approx(float(torch.linalg.eigvals(w).abs().max()), rel=1e-10)
    assert s.threshold == 4.0
    assert init_w_rec(64, "normal", 1.0, seed=2).std().item() == pytest.approx(1 / 8, rel=0.05)


def test_measured_gradient_equals_the_product_of_jacobians_by_hand():
    w = init_w_rec(6, "normal", 1.2, seed=4)
    result = gradient_through_time(w, "tanh", 5, seed=4)
    g = torch.Generator().manual_seed(5)  # the same draws gradient_through_time makes (seed + 1)
    u = torch.randn(6, 4, generator=g, dtype=torch.float64) / 2.0
    xs = torch.randn(5, 4, generator=g, dtype=torch.float64)
    v = torch.randn(6, generator=g, dtype=torch.float64)
    v = v / torch.linalg.vector_norm(v)
    h, jacobians = torch.zeros(6, dtype=torch.float64), []
    for t in range(5):
        h = torch.tanh(w @ h + u @ xs[t])
        jacobians.append(torch.diag(1 - h**2) @ w)  # ∂h_t/∂h_{t−1}
    grad = v
    for k, jac in enumerate(reversed(jacobians), start=1):
        grad = jac.T @ grad
        assert result.grad_norm[k] == pytest.approx(float(torch.linalg.vector_norm(grad)), rel=1e-12)


def test_an_orthogonal_linear_recurrence_keeps_the_gradient_size_exactly():
    result = gradient_through_time(init_w_rec(64, "orthogonal", 1.0), "linear", 150)
    np.testing.assert_allclose(result.grad_norm, 1.0, rtol=1e-10)


# ---------------------------------------------------------------- RNN vs LSTM


def test_adding_problem_batches_are_what_they_claim():
    x, y = make_batch("adding", 40, 64, torch.Generator().manual_seed(0))
    assert x.shape == (64, 40, 2) and y.shape == (64, 1)
    markers = x[:, :, 1]
    assert (markers.sum(dim=1) == 2).all()
    assert (markers[:, :20].sum(dim=1) == 1).all() and (markers[:, 20:].sum(dim=1) == 1).all()
    torch.testing.assert_close(y[:, 0], (x[:, :, 0] * markers).sum(dim=1))
    x, y = make_batch("first_token", 10, 8, torch.Generator().manual_seed(0))
    assert torch.equal(x[:, 0].argmax(dim=1), y)


def test_runs_are_reproducible_and_rnn_and_lstm_see_the_same_batches():
    cfg = SeqConfig(seq_len=12, hidden=8, batch_size=4, seed=9)
    a, b = SeqRun("rnn", cfg), SeqRun("rnn", cfg)
    a.run(5)
    b.run(5)
    assert a.losses == b.losses
    lstm = SeqRun("lstm", cfg)
    lstm.run(5)
    assert torch.equal(lstm.data_generator.get_state(), a.data_generator.get_state())


def test_forget_gate_bias_control():
    H = 16
    run = SeqRun("lstm", SeqConfig(hidden=H, forget_bias=2.0))
    core = run.model.core
    assert (core.bias_ih_l0[H: 2 * H] == 2.0).all() and (core.bias_hh_l0[H: 2 * H] == 0).all()
    default = SeqRun("lstm", SeqConfig(hidden=H)).model.core
    assert default.bias_ih_l0.abs().max() <= 1 / math.sqrt(H)  # PyTorch: U(±1/√H), no special forget bias


def test_clipping_is_shared_and_bounds_the_step():
    run = SeqRun("rnn", SeqConfig(seq_len=20, hidden=16, clip_norm=1e-3))
    run.run(5)
    assert max(run.norms_after) <= 1e-3 * (1 + 1e-6)
    assert min(run.norms_before) > 1e-3
    free = SeqRun("rnn", SeqConfig(seq_len=20, hidden=16))
    free.step()
    assert run.norms_before[0] == pytest.approx(free.norms_before[0], rel=1e-6)  # same first gradient


def test_the_lstm_learns_the_adding_problem_the_rnn_does_not():
    cfg = SeqConfig(seq_len=30, hidden=32)
    rnn, lstm = SeqRun("rnn", cfg), SeqRun("lstm", cfg)
    rnn.run(400)
    lstm.run(400)
    chance = rnn.chance_loss()
    assert np.mean(lstm.losses[-40:]) < 0.5 * chance
    assert np.mean(rnn.losses[-40:]) > 0.8 * chance
    # and the reason: gradient that reaches the first time step
    assert lstm.grad_c[0] > 1e3 * rnn.grad_h[0]


@pytest.mark.parametrize("bad", [dict(seq_len=1), dict(hidden=0), dict(lr=0.0), dict(task="copy"),
                                 dict(forget_bias=math.inf), dict(batch_size=1.5)])
def test_bad_recurrent_configs_are_refused(bad):
    with pytest.raises(SeqConfigError):
        SeqConfig(**bad).validated()
