"""The remedies against hand-written computations: each remedy changes exactly what it should.

Expected numbers come from plain torch written out here (forward pass, autograd, the clipping and
penalty formulas), never from the production code path under test.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from core.training.config import ConfigError, TrainConfig
from core.training.data import make_dataset
from core.training.remedies import CONTAINS, CURES, FAILS, REMEDIES, compare, rank_single_remedies, with_remedies
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run

# Full batch (batch = all samples) so that the first step's batch is simply run.x, run.y.
SMALL = TrainConfig(depth=3, width=6, activation="tanh", dataset="regression", n_samples=32, batch_size=32,
                    lr=0.1, dtype="float64", seed=5, init="normal", init_scale=1.5)
EXPLODING = SCENARIOS["relu_nan"].config


def hand_gradients(run: Run, extra=None):
    """∂L/∂θ of the first step, from a deep copy of the model: (loss, {name: grad}, {name: param})."""
    model = copy.deepcopy(run.model)
    out, _ = model(run.x)
    loss = torch.nn.functional.mse_loss(out, run.y) if run.loss_name == "mse" else \
        torch.nn.functional.cross_entropy(out, run.y)
    if extra is not None:
        loss = loss + extra(model)
    named = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, list(named.values()))
    return float(loss.detach()), dict(zip(named, grads, strict=True)), named


def global_norm(grads) -> float:
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


# ---------------------------------------------------------------- clipping


def test_clip_by_norm_records_the_norm_before_and_bounds_the_norm_after():
    tau = 0.05
    run = Run(SMALL.with_(clip_norm=tau))
    _, grads, params = hand_gradients(run)
    raw = global_norm(grads.values())
    assert raw > tau  # the test needs a step that really is clipped
    w_before = params["layers.0.weight"].detach().clone()
    run.step()
    h = run.history.arrays()
    assert h["grad_total_raw"][0] == pytest.approx(raw, rel=1e-9)
    assert h["grad_total"][0] == pytest.approx(tau, rel=1e-5)  # torch scales by τ/(‖g‖ + 1e-6)
    scale = tau / (raw + 1e-6)
    expected = w_before - SMALL.lr * scale * grads["layers.0.weight"]
    assert torch.allclose(run.model.layers[0].weight.detach(), expected, rtol=1e-12, atol=1e-14)
    run.run(40)
    h = run.history.arrays()
    assert (h["grad_total"] <= tau * (1 + 1e-6)).all()
    assert (h["grad_total_raw"] >= h["grad_total"] * (1 - 1e-9)).all()


def test_without_clipping_before_and_after_are_the_same_global_norm():
    run = Run(SMALL)
    _, grads, _ = hand_gradients(run)
    run.step()
    h = run.history.arrays()
    assert h["grad_total_raw"][0] == h["grad_total"][0] == pytest.approx(global_norm(grads.values()), rel=1e-9)


def test_clip_by_value_clamps_every_component():
    v = 1e-3
    run = Run(SMALL.with_(clip_value=v))
    _, grads, _ = hand_gradients(run)
    run.step()
    used = run.last_weight_grads
    assert max(float(np.abs(g).max()) for g in used) <= v
    expected = grads["layers.1.weight"].clamp(-v, v).numpy()
    np.testing.assert_array_equal(used[1], expected)
    h = run.history.arrays()
    assert h["grad_total_raw"][0] == pytest.approx(global_norm(grads.values()), rel=1e-9)
    assert h["grad_total"][0] < h["grad_total_raw"][0]


# ---------------------------------------------------------------- regularisation


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalty_gradient_is_data_gradient_plus_the_penalty_term(kind):
    lam = 0.3
    run = Run(SMALL.with_(**{kind: lam}))
    data_loss, grads, params = hand_gradients(run)
    run.step()
    tracked = run.history.arrays()["tracked"][0]  # w_old, ∂L/∂w, w_new of W₁[1, 1]
    w = params["layers.0.weight"][0, 0].detach()
    penalty = lam * torch.sign(w) if kind == "l1" else lam * w
    assert tracked[1] == pytest.approx(float(grads["layers.0.weight"][0, 0] + penalty), rel=1e-9)
    assert run.history.arrays()["loss"][0] == pytest.approx(data_loss, rel=1e-12)  # recorded without the penalty


def test_l2_shrinks_the_weights():
    base, reg = Run(SMALL), Run(SMALL.with_(l2=0.5))
    base.run(100)
    reg.run(100)
    w_base, w_reg = base.history.arrays()["weight"][-1], reg.history.arrays()["weight"][-1]
    assert (w_reg < w_base).all()
    assert w_reg.sum() < 0.7 * w_base.sum()


def test_weight_decay_is_torch_sgd_shrinkage():
    lam = 0.2
    run = Run(SMALL.with_(weight_decay=lam))
    _, grads, params = hand_gradients(run)
    run.step()
    w_old, g, w_new = run.history.arrays()["tracked"][0]
    assert g == pytest.approx(float(grads["layers.0.weight"][0, 0]), rel=1e-12)  # the data gradient
    assert w_new == pytest.approx(w_old - SMALL.lr * (g + lam * w_old), rel=1e-12)


# ---------------------------------------------------------------- normalisation


def pre_activations(model, x):
    """(W h + b, and what enters the activation) for each hidden layer, written out layer by layer."""
    raw, zs, h = [], [], x
    for i, layer in enumerate(list(model.layers)[:-1]):
        z = layer(h)
        raw.append(z)
        if model.norms is not None:
            z = model.norms[i](z)
        zs.append(z)
        h = model._phi(z)
    return raw, zs


def test_batch_norm_standardises_every_hidden_pre_activation():
    plain = Run(EXPLODING)
    normed = Run(EXPLODING.with_(batchnorm=True))
    x = normed.x[:64]
    with torch.no_grad():
        _, z_plain = pre_activations(plain.model, x)
    assert float(z_plain[-1].std()) > 100 * float(z_plain[0].std())  # the exploding forward signal
    for raw, z in zip(*pre_activations(normed.model, x), strict=True):
        mean, var = raw.mean(dim=0), raw.var(dim=0, unbiased=False)
        assert torch.allclose(z, (raw - mean) / torch.sqrt(var + 1e-5), rtol=1e-4, atol=1e-5)  # γ = 1, β = 0
        assert z.mean(dim=0).abs().max() < 1e-5
        assert (z.std(dim=0, unbiased=False) - 1).abs().max() < 0.01


def test_batch_norm_trains_and_reset_restores_its_running_statistics():
    run = Run(EXPLODING.with_(batchnorm=True))
    stats = {k: v.clone() for k, v in run.model.state_dict().items() if "running" in k}
    first = run.run(5)
    loss = run.history.arrays()["loss"].copy()
    assert first.nonfinite is None
    assert any(not torch.equal(v, run.model.state_dict()[k]) for k, v in stats.items())
    run.reset()
    assert all(torch.equal(v, run.model.state_dict()[k]) for k, v in stats.items())
    run.run(5)
    np.testing.assert_array_equal(run.history.arrays()["loss"], loss)


def test_weight_norm_reparametrises_the_same_initial_weights():
    plain, wn = Run(SMALL), Run(SMALL.with_(weightnorm=True))
    names = dict(wn.model.named_parameters())
    g, v = names["layers.0.parametrizations.weight.original0"], names["layers.0.parametrizations.weight.original1"]
    w_plain = plain.model.layers[0].weight.detach()
    assert torch.allclose(g.detach().squeeze(1), torch.linalg.vector_norm(w_plain, dim=1), rtol=1e-12)
    for a, b in zip(plain.weights, wn.weights, strict=True):
        assert torch.allclose(a.detach(), b, rtol=1e-12, atol=1e-15)
    # Same weights, same batch: the recorded ∂L/∂W of the first step is the same; the update is not.
    plain.step()
    wn.step()
    for a, b in zip(plain.last_weight_grads, wn.last_weight_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)
    # After the step the recorded W is g·v/‖v‖ of the trained g and v.
    g, v = g.detach(), v.detach()
    expected = g * v / torch.linalg.vector_norm(v, dim=1, keepdim=True)
    assert torch.allclose(wn.weights[0], expected, rtol=1e-12)
    assert wn.history.arrays()["weight"][0, 0] == pytest.approx(float(torch.linalg.vector_norm(expected)), rel=1e-9)


def test_weight_norm_set_weight_goes_through_the_parametrisation():
    run = Run(SMALL.with_(weightnorm=True))
    run.set_weight(1, 2, 3, 7.5)
    assert float(run.model.layers[1].weight.detach()[2, 3]) == pytest.approx(7.5, rel=1e-12)
    assert run.weight_value(1, 2, 3) == pytest.approx(7.5, rel=1e-12)


def test_input_normalisation_standardises_large_inputs():
    cfg = TrainConfig(dataset="moons", input_scale=1e4, normalize_inputs=True)
    x = make_dataset(cfg).x
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(x.std(axis=0), 1, rtol=1e-9)
    raw = make_dataset(cfg.with_(normalize_inputs=False)).x
    assert np.abs(raw).max() > 1e3


# ---------------------------------------------------------------- comparing and ranking


def test_variants_start_from_the_baseline_weights_where_the_architecture_allows():
    base = Run(EXPLODING)
    for keys in (("clip_norm",), ("l2",), ("batchnorm",), ("weightnorm",), ("smaller_lr",), ("clip_value", "l1")):
        variant = Run(with_remedies(EXPLODING, keys))
        for a, b in zip(base.weights, variant.weights, strict=True):
            assert torch.allclose(a.detach(), b.detach(), rtol=1e-6, atol=1e-7), keys


def test_compare_trains_everything_on_the_same_data_and_reports_progress():
    seen = []
    outcomes = compare(EXPLODING, [("clip", ("clip_norm",)), ("he", ("he",))], 30, lambda d, t: seen.append((d, t)))
    assert [o.label for o in outcomes] == ["baseline", "clip", "he"]
    assert all(np.array_equal(o.run.x, outcomes[0].run.x) for o in outcomes)
    assert seen[-1] == (90, 90)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert outcomes[0].diverged_at is not None  # the default baseline really explodes into NaN
    assert outcomes[1].diverged_at is None and outcomes[2].diverged_at is None


def test_ranking_is_deterministic_and_honest_about_what_does_not_cure():
    base1, rows1 = rank_single_remedies(EXPLODING, 100)
    base2, rows2 = rank_single_remedies(EXPLODING, 100)
    assert [(o.label, kind, why) for o, kind, why in rows1] == [(o.label, kind, why) for o, kind, why in rows2]
    kinds = {o.remedies[0]: kind for o, kind, _ in rows1}
    outcomes = {o.remedies[0]: o for o, _, _ in rows1}
    ln2 = math.log(2)  # spirals: two balanced classes, so a constant guess scores ln 2
    assert base1.baseline_loss == pytest.approx(ln2, rel=1e-12)
    assert kinds["he"] == CURES and outcomes["he"].final_loss < 0.9 * ln2
    # clipping stops the overflow, but after 100 steps its loss is still worse than a constant guess: not a cure,
    # and not "helps" either (the 0.988 case)
    assert outcomes["clip_norm"].diverged_at is None and outcomes["clip_norm"].final_loss > ln2
    assert kinds["clip_norm"] == FAILS
    assert "no better than a constant guess" in next(why for o, _, why in rows1 if o.remedies == ("clip_norm",))
    # Xavier/orthogonal leave the loss at chance: never "cures it"
    for key in ("xavier", "orthogonal"):
        assert outcomes[key].final_loss >= 0.9 * ln2 and kinds[key] != CURES
    # the smaller learning rate trains best of all, and is ranked by that evidence
    assert outcomes["smaller_lr"].final_loss == min(o.final_loss for o in outcomes.values())
    assert rows1[0][0].remedies == ("smaller_lr",) and kinds["smaller_lr"] in (CURES, CONTAINS)
    for o, kind, _ in rows1:
        if kind == CURES:
            assert o.final_loss < 0.9 * ln2 and o.diverged_at is None and o.diagnosis.verdict == "healthy"
    assert "bounded" in kinds  # a ReLU baseline can be given a bounded activation


def test_clipping_does_not_cure_vanishing():
    _, rows = rank_single_remedies(SCENARIOS["sigmoid_default"].config.with_(depth=12), 40)
    row = next((o, kind, why) for o, kind, why in rows if o.remedies == ("clip_norm",))
    assert row[1] == FAILS
    assert "vanishes" in row[2]


def test_remedy_settings_are_used_and_checked():
    assert with_remedies(SMALL, ("clip_norm",), {"clip_norm": 3.0}).clip_norm == 3.0
    assert with_remedies(SMALL, ("smaller_lr",), {"smaller_lr": 100.0}).lr == pytest.approx(SMALL.lr / 100)
    assert with_remedies(EXPLODING, ("fewer_layers",), {"fewer_layers": 5.0}).depth == 2
    for bad in (-1.0, math.inf, math.nan, 1e300, "3"):
        with pytest.raises(ConfigError):
            with_remedies(SMALL, ("clip_norm",), {"clip_norm": bad})
    assert not REMEDIES["bounded"].applies_to(SMALL)  # already tanh: nothing to change
    assert REMEDIES["bounded"].applies_to(EXPLODING)
