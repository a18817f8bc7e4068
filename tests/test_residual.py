"""Residual connections and layer normalisation in the lab's MLP, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.training.config import ConfigError, TrainConfig
from core.training.inspect_run import path_chain, stream_rms
from core.training.network import build
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run


def _model(**changes):
    config = TrainConfig(dtype="float64", **changes)
    return config, build(config, 2, 2, torch.Generator().manual_seed(config.seed))


def _phi_prime(activation: str, z: torch.Tensor) -> torch.Tensor:
    """φ'(z) by hand: sech² for tanh (no 1 − tanh² cancellation), the step for ReLU."""
    if activation == "tanh":
        return 1 / torch.cosh(z) ** 2
    return (z > 0).to(z.dtype)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_residual_jacobian_is_identity_plus_diag_phi_prime_times_w(activation):
    config, model = _model(depth=4, width=6, activation=activation, init="normal", init_scale=0.7, bias_init=0.1,
                           residual=True)
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, hidden = model(x)
    for l in range(1, 4):  # h_{l+1} = h_l + φ(W h_l + b) for the hidden layers after the input layer
        layer = model.layers[l]
        for sample in range(3):
            rows = [torch.autograd.grad(hidden[l][sample, i], hidden[l - 1], retain_graph=True)[0][sample]
                    for i in range(6)]
            autograd_jacobian = torch.stack(rows)
            h = hidden[l - 1][sample].detach()
            z = layer.weight.detach() @ h + layer.bias.detach()
            by_hand = torch.eye(6, dtype=torch.float64) + torch.diag(_phi_prime(activation, z)) @ layer.weight.detach()
            if activation == "relu":
                assert torch.equal(autograd_jacobian, by_hand)
            else:
                torch.testing.assert_close(autograd_jacobian, by_hand, rtol=1e-14, atol=1e-15)


def test_input_layer_uses_a_projection_where_the_widths_differ():
    _, model = _model(depth=3, width=5, activation="tanh", residual=True)
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, hidden = model(x)
    layer, p = model.layers[0], model.shortcut.weight
    expected = x @ p.T + torch.tanh(x @ layer.weight.T + layer.bias)
    torch.testing.assert_close(hidden[0], expected, rtol=0, atol=0)
    _, same_width = _model(depth=2, width=2, activation="tanh", residual=True)
    assert same_width.shortcut is None  # 2 inputs, 2 units: the identity itself


def test_residual_net_starts_from_the_plain_nets_weights():
    plain, residual = SCENARIOS["deep_plain"].config, SCENARIOS["deep_residual"].config
    assert residual == plain.with_(residual=True)
    a, b = Run(plain), Run(residual)
    assert all(torch.equal(u, v) for u, v in zip(a.model.weights, b.model.weights, strict=True))
    assert all(torch.equal(u.bias, v.bias) for u, v in zip(a.model.layers, b.model.layers, strict=True))


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("where", ["pre", "post"])
def test_layer_norm_output_has_zero_mean_and_unit_variance_per_sample(residual, where):
    _, model = _model(depth=3, width=16, activation="relu", init="normal", init_scale=3.0, layernorm=where,
                      residual=residual)
    outputs = []
    for norm in model.layer_norms:
        norm.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach()))
    model(torch.randn(8, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 100)
    assert len(outputs) == 3
    for out in outputs:  # γ = 1, β = 0 at initialisation: (u − μ)/√(σ² + ε), σ² the biased variance
        np.testing.assert_allclose(out.mean(dim=1).numpy(), 0.0, atol=1e-12)
        np.testing.assert_allclose(out.var(dim=1, unbiased=False).numpy(), 1.0, rtol=1e-4)


def test_layer_norm_equals_the_formula_by_hand():
    _, model = _model(depth=2, width=5, activation="tanh", layernorm="post")
    u = torch.tensor([[1.0, 2.0, 4.0, -1.0, 0.5]], dtype=torch.float64)
    mu = u.mean()
    var = ((u - mu) ** 2).mean()
    torch.testing.assert_close(model.layer_norms[0](u), (u - mu) / torch.sqrt(var + 1e-5), rtol=1e-15, atol=1e-15)


def test_post_norm_fixes_the_hidden_outputs_and_pre_norm_lets_the_stream_grow():
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    _, post = _model(depth=40, width=32, activation="relu", init="he_normal", residual=True, layernorm="post")
    np.testing.assert_allclose(stream_rms(post, x), 1.0, rtol=1e-4)
    _, bare = _model(depth=40, width=32, activation="relu", init="he_normal", residual=True)
    sizes = stream_rms(bare, x)
    assert sizes[-1] / sizes[0] > 1e4  # ReLU + He: each layer roughly doubles the stream's variance


def test_depth_up_to_100_only_with_residual_connections():
    TrainConfig(depth=100, residual=True).validated()
    with pytest.raises(ConfigError, match="100 with residual connections"):
        TrainConfig(depth=80).validated()
    with pytest.raises(ConfigError, match="outside"):
        TrainConfig(depth=101, residual=True).validated()


def test_bad_architecture_settings_get_a_sentence():
    with pytest.raises(ConfigError, match="layernorm must be one of"):
        TrainConfig(layernorm="sometimes").validated()
    with pytest.raises(ConfigError, match="not both"):
        TrainConfig(layernorm="pre", batchnorm=True).validated()
    with pytest.raises(ConfigError, match="at least 2 units"):
        TrainConfig(layernorm="post", width=1).validated()
    with pytest.raises(ConfigError, match="residual"):
        TrainConfig.from_dict({"residual": "maybe"})
    assert TrainConfig.from_dict({"residual": "1", "layernorm": "post", "depth": "90"}).depth == 90


def test_dead_units_are_counted_on_phi_of_z_not_on_the_residual_stream():
    config = TrainConfig(depth=5, width=8, activation="relu", init="normal", init_scale=0.6, bias_init=-0.3,
                         residual=True, dataset="spirals", n_samples=64, batch_size=64)
    run = Run(config)
    _, hidden, units = run.model.trace(run.x)
    dead = np.array([float((u.amax(dim=0) == 0).float().mean()) for u in units])
    run.step()
    np.testing.assert_allclose(run.history.arrays()["saturation"][0], dead)
    # ‖∂L/∂h_l‖ is the gradient with respect to the stream h_l (both paths), not to φ(z_l)
    out, hidden, _ = run.model.trace(run.x)
    run.model.zero_grad()
    grads = torch.autograd.grad(torch.nn.functional.cross_entropy(out, run.y), hidden)
    assert math.isfinite(float(torch.linalg.vector_norm(grads[0])))


def test_a_residual_layer_normalised_run_trains_records_and_resets():
    config = TrainConfig(depth=60, width=16, activation="relu", init="he_normal", residual=True, layernorm="pre",
                         weightnorm=True, lr=0.01)
    run = Run(config)
    run.run(5)
    h = run.history.arrays()
    assert h["grad_h"].shape == (5, 60) and h["grad_w"].shape == (5, 61)
    assert np.isfinite(h["loss"]).all()
    first = h["loss"].copy()
    run.reset()
    run.run(5)
    np.testing.assert_array_equal(run.history.arrays()["loss"], first)


def test_plain_configs_keep_the_plain_forward_pass():
    _, model = _model(depth=3, width=4)
    assert model.shortcut is None and model.layer_norms is None and not model.residual
    x = torch.randn(2, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    _, hidden, units = model.trace(x)
    assert units is hidden


def test_the_path_chain_explains_why_it_is_not_shown_for_residual_or_layer_norm():
    for changes in ({"residual": True}, {"layernorm": "pre"}):
        run = Run(TrainConfig(depth=3, width=4, **changes))
        with pytest.raises(ValueError, match="residual|layer normalisation"):
            path_chain(run.model, run.x, run.y, run.loss_name, (0, 0, 0, 0, 0))


def test_deep_scenario_pair_vanishes_plain_and_trains_with_residuals():
    runs = {}
    for key in ("deep_plain", "deep_residual"):
        runs[key] = Run(SCENARIOS[key].config)
        runs[key].run(SCENARIOS[key].steps)
    plain, residual = (runs[k].history.arrays() for k in ("deep_plain", "deep_residual"))
    plain_gain = plain["grad_h"][0, 0] / plain["grad_h"][0, -1]
    residual_gain = residual["grad_h"][0, 0] / residual["grad_h"][0, -1]
    assert plain_gain < 1e-6 < 1e-2 < residual_gain  # the identity path carries the signal to layer 1
    assert residual["loss"][-10:].mean() < plain["loss"][-10:].mean()
