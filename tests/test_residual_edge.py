"""Residual networks on the Edge of chaos page: the gain of ‖∂L/∂h‖ through depth with and without the identity
path, against an independent computation (the product of the layers' Jacobians written out by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.chaos.residual import draw, first_layers, gain, gains_through_depth
from tests.test_deep_links import open_with
from tests.test_lab_page import all_text

PAGE = "pages/5_Edge_of_chaos.py"


def _hand_gain(draws, activation: str, identity: bool, alpha: float) -> float:
    """v·J_{L−1}⋯J_1 per sample, with J_l = diag(φ'(z_l))·W_l or I + α·diag(φ'(z_l))·W_l built by hand."""
    dphi = {"relu": lambda z: (z > 0).double(), "tanh": lambda z: 1 / torch.cosh(z) ** 2}[activation]
    phi = {"relu": torch.relu, "tanh": torch.tanh}[activation]
    firsts = []
    for sample in range(draws.h0.shape[0]):
        h, jacobians = draws.h0[sample], []
        for w, b in zip(draws.weights, draws.biases, strict=True):
            z = w @ h + b
            branch = torch.diag(dphi(z)) @ w
            jacobians.append(torch.eye(len(h), dtype=torch.float64) + alpha * branch if identity else branch)
            h = h + alpha * phi(z) if identity else phi(z)
        g = draws.v[sample]
        for jac in reversed(jacobians[1:]):  # ∂L/∂h_1 = v · J_L ⋯ J_2 (h_l is layer l's output)
            g = g @ jac
        firsts.append(g)
    return float(torch.linalg.vector_norm(torch.stack(firsts)) / torch.linalg.vector_norm(draws.v))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("identity", [False, True])
def test_the_gain_equals_the_product_of_the_jacobians_by_hand(activation, identity):
    draws = draw(activation, 1.7, 0.3, depth=6, width=8, batch=3, seed=11)
    alpha = 1 / math.sqrt(6)
    measured, _ = gain(draws, activation, identity, alpha)
    assert measured == pytest.approx(_hand_gain(draws, activation, identity, alpha), rel=1e-12)


def test_both_networks_share_their_weights_and_shallower_ones_are_the_first_layers():
    deep = draw("relu", 2.0, 0.0, depth=7, width=5, batch=2, seed=3)
    shallow = draw("relu", 2.0, 0.0, depth=3, width=5, batch=2, seed=3)
    cut = first_layers(deep, 3)
    assert all(torch.equal(a, b) for a, b in zip(cut.weights, shallow.weights, strict=True))
    assert torch.equal(cut.h0, shallow.h0) and torch.equal(cut.v, shallow.v)


def test_relu_width_256_reproduces_the_orientation_numbers():
    """ReLU branches N(0, σ_w²/n) scaled by 1/√L, width 256: about 1.6, 3.5, 14 at 10, 50, 100 layers for σ_w² = 2
    and 5.8, 126, 4,800 for σ_w² = 8, where the plain net grows like 2^L (the issue's orientation)."""
    two = gains_through_depth("relu", math.sqrt(2), 0.0)
    eight = gains_through_depth("relu", math.sqrt(8), 0.0)
    at = {int(d): k for k, d in enumerate(two.depths)}
    for gains, expected in ((two, (1.6, 3.5, 14)), (eight, (5.8, 126, 4800))):
        measured = [gains.residual[at[d]] for d in (10, 50, 100)]
        for m, e in zip(measured, expected, strict=True):
            assert e / 2 < m < e * 2
    # the plain net follows mean field: (√χ)^(L−1) with χ = σ_w²/2 = 4, i.e. 2^(L−1)
    for d in (10, 50, 100):
        assert 0.5 < eight.plain[at[d]] / 2.0 ** (d - 1) < 2
        assert eight.predicted_plain[at[d]] == pytest.approx(2.0 ** (d - 1), rel=1e-9)
    assert eight.residual[at[100]] < 1e-20 * eight.plain[at[100]]  # the identity path tames the product
    assert two.residual_stream[at[100]] > 100  # … while the unnormalised stream still grows with depth


def test_unscaled_branches_explode_even_at_the_edge_of_chaos():
    gains = gains_through_depth("relu", math.sqrt(2), 0.0, "one", depths=(10, 30))
    assert np.all(np.abs(np.log10(gains.plain)) < 0.5)  # χ = 1: the plain net keeps the gradient's size
    assert gains.residual[1] > 1e4


def test_the_page_shows_the_measurement_and_says_what_it_means():
    at = open_with(PAGE, edge_act="relu", edge_sw="2.8")
    text = all_text(at)
    assert "| L | plain | residual |" in text and "1/√L" in text
    assert "closer to the χ = 1 line than the plain net" in text
    at.segmented_control(key="edge_res_scale").set_value("one").run()
    assert not at.exception
    assert at.query_params["edge_res_scale"] == "one"
    assert "α = 1" in all_text(at)
