"""The architectural remedies (residual connections, layer norm pre and post) against hand computations, and
ranked by the same rules as every other remedy."""

from __future__ import annotations

import pytest
import torch

from core.training.config import TrainConfig
from core.training.remedies import CURES, FAILS, REMEDIES, classify, rank_single_remedies, with_remedies
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run

SMALL = TrainConfig(depth=3, width=6, activation="tanh", dataset="regression", n_samples=32, batch_size=32,
                    lr=0.1, dtype="float64", seed=5, init="normal", init_scale=1.5)
EXPLODING = SCENARIOS["relu_nan"].config
NEW = ("residual", "layernorm_pre", "layernorm_post")


def _layer_norm(u: torch.Tensor) -> torch.Tensor:
    mu = u.mean(dim=1, keepdim=True)
    var = ((u - mu) ** 2).mean(dim=1, keepdim=True)
    return (u - mu) / torch.sqrt(var + 1e-5)  # γ = 1, β = 0 at initialisation


def _hand_forward(params: dict[str, torch.Tensor], x: torch.Tensor, residual: bool, norm: str) -> torch.Tensor:
    """The network written out in plain torch: z = W h + b, LN by its formula, tanh, the skip, the read-out."""
    h = x
    for l in range(3):
        z = h @ params[f"layers.{l}.weight"].T + params[f"layers.{l}.bias"]
        if norm == "pre":
            z = _layer_norm(z)
        a = torch.tanh(z)
        if residual:
            a = a + (h @ params["shortcut.weight"].T if l == 0 else h)
        if norm == "post":
            a = _layer_norm(a)
        h = a
    return h @ params["layers.3.weight"].T + params["layers.3.bias"]


@pytest.mark.parametrize("key", NEW)
def test_first_step_matches_the_network_written_out_by_hand(key):
    config = with_remedies(SMALL, (key,))
    run = Run(config)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in run.model.named_parameters()}
    params = {k: v for k, v in params.items() if not k.startswith("layer_norms")}  # γ, β: 1 and 0, left out
    loss = torch.nn.functional.mse_loss(_hand_forward(params, run.x, config.residual, config.layernorm), run.y)
    weights = [params[f"layers.{l}.weight"] for l in range(4)]
    grads = torch.autograd.grad(loss, weights)
    run.step()
    h = run.history.arrays()
    assert h["loss"][0] == pytest.approx(float(loss.detach()), rel=1e-12)
    for l, g in enumerate(grads):
        assert h["grad_w"][0, l] == pytest.approx(float(torch.linalg.vector_norm(g)), rel=1e-10)


def test_variants_start_from_the_baseline_weights():
    base = Run(EXPLODING)
    for key in NEW:
        variant = Run(with_remedies(EXPLODING, (key,)))
        assert all(torch.equal(a, b) for a, b in zip(base.weights, variant.weights, strict=True)), key


def test_the_new_remedies_are_ranked_by_the_same_rules_against_the_net_that_explodes_into_nan():
    base, rows = rank_single_remedies(EXPLODING, 60)
    kinds = {o.remedies[0]: kind for o, kind, _ in rows}
    assert set(NEW) <= set(kinds)
    for o, kind, _ in rows:  # one rule for every remedy
        assert kind == classify(o, base)
    residual = next((o, why) for o, _, why in rows if o.remedies == ("residual",))
    # large weights and no normalisation: the identity path does not stop the explosion
    assert kinds["residual"] == FAILS and residual[0].diverged_at is not None
    assert "diverged" in residual[1]
    assert kinds["layernorm_pre"] == CURES


def test_residuals_stop_the_deep_net_from_vanishing():
    base, rows = rank_single_remedies(SCENARIOS["sigmoid_default"].config.with_(depth=12), 40)
    assert base.diagnosis.verdict == "vanishing"
    residual = next(o for o, _, _ in rows if o.remedies == ("residual",))
    h = residual.run.history.arrays()
    assert 0.1 < h["grad_h"][0, 0] / h["grad_h"][0, -1]  # the signal reaches layer 1
    assert residual.diagnosis.verdict != "vanishing"


def test_applies_only_where_it_changes_something():
    assert not REMEDIES["residual"].applies_to(EXPLODING.with_(residual=True))
    assert not REMEDIES["layernorm_pre"].applies_to(EXPLODING.with_(batchnorm=True))  # one normalisation or the other
    assert REMEDIES["layernorm_post"].applies_to(EXPLODING.with_(layernorm="pre"))
