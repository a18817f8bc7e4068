"""The training lab's core against hand-written computations: records, histograms, Inf/NaN, verdicts, limits.

Every expected number here is computed independently of the production code: plain torch forward and
backward passes written out layer by layer, a manual SGD update, numpy statistics, and the published
variances of the initialisation schemes. The runs are small so that the whole file takes seconds.
"""

from __future__ import annotations

import copy
import math
import threading

import numpy as np
import pytest
import torch

from core.budget import Budget
from core.numbers import power_of_ten
from core.training.config import LIMITS, MAX_STEPS, ConfigError, TrainConfig
from core.training.data import make_dataset, parse_csv
from core.training.diagnosis import diagnose
from core.training.inspect_run import exact_decimal, ledger_at, path_chain
from core.training.network import build
from core.training.recorder import HIST_BINS, HIST_HI, HIST_LO, Recorder, hist_labels
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run

SMALL = TrainConfig(depth=3, width=4, activation="tanh", dataset="regression", n_samples=32, batch_size=32, lr=0.1,
                    dtype="float64", seed=3)
PHI = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda t: t}


def hand_forward(weights, biases, x, activation):
    """h_l = φ(h_{l−1} W_lᵀ + b_l) for the hidden layers, then a linear read-out; written out, not model.forward."""
    h, hidden = x, []
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        h = PHI[activation](h @ w.T + b)
        hidden.append(h)
    return h @ weights[-1].T + biases[-1], hidden


def parameters_of(model):
    """Detached leaf copies of every W_l and b_l of a (deep-copied) model."""
    ws = [layer.weight.detach().clone().requires_grad_(True) for layer in model.layers]
    bs = [layer.bias.detach().clone().requires_grad_(True) for layer in model.layers]
    return ws, bs


def norm(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t.detach().double()))


def all_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def arrays(run: Run) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in run.history.arrays().items()}


# ---------------------------------------------------------------- 1. records against a hand computation


def test_records_match_a_hand_written_torch_computation():
    """Three full-batch float64 SGD steps redone by hand: the loss, ‖∂L/∂W_l‖, ‖∂L/∂h_l‖, ‖W_l‖ after the update,
    ‖ΔW_l‖/‖W_l‖ and the tracked (w_old, ∂L/∂w, w_new) must all agree to float64 rounding, step after step."""
    track = (1, 2, 3)
    run = Run(SMALL, track=track)
    ws, bs = parameters_of(copy.deepcopy(run.model))
    x, y, lr = run.x.clone(), run.y.clone(), SMALL.lr
    expected = []
    for _ in range(3):
        out, hidden = hand_forward(ws, bs, x, "tanh")
        loss = ((out - y) ** 2).mean()
        grads = torch.autograd.grad(loss, ws + bs + hidden)
        gw, gb, gh = grads[:4], grads[4:8], grads[8:]
        new_ws = [(w - lr * g).detach().requires_grad_(True) for w, g in zip(ws, gw, strict=True)]
        new_bs = [(b - lr * g).detach().requires_grad_(True) for b, g in zip(bs, gb, strict=True)]
        layer, r, c = track
        expected.append({
            "loss": loss.item(),
            "grad_w": [norm(g) for g in gw],
            "grad_h": [norm(g) for g in gh],
            "weight": [norm(w) for w in new_ws],
            "update_ratio": [norm(n - w) / norm(w) for n, w in zip(new_ws, ws, strict=True)],
            "tracked": [ws[layer][r, c].item(), gw[layer][r, c].item(), new_ws[layer][r, c].item()],
            "grad_norm": math.sqrt(sum(norm(g) ** 2 for g in gw)),
        })
        ws, bs = new_ws, new_bs
    for _ in range(3):
        run.step()
    h = run.history.arrays()
    assert len(h["loss"]) == 3
    for t, e in enumerate(expected):
        assert h["loss"][t] == pytest.approx(e["loss"], rel=1e-9)
        assert h["grad_norm"][t] == pytest.approx(e["grad_norm"], rel=1e-9)
        for name in ("grad_w", "grad_h", "weight", "update_ratio", "tracked"):
            assert h[name][t] == pytest.approx(e[name], rel=1e-9), (t, name)
    # the recorded weights after the last step are the run's real weights
    assert [norm(w) for w in run.weights] == pytest.approx(expected[-1]["weight"], rel=1e-12)


@pytest.mark.parametrize(("activation", "extra", "low", "high"), [
    ("tanh", {"init": "constant", "init_scale": 50.0}, 0.8, 1.0),
    ("sigmoid", {"init": "constant", "init_scale": 50.0}, 0.5, 1.0),
    ("tanh", {}, 0.0, 0.2),
])
def test_saturation_is_the_fraction_of_flat_units(activation, extra, low, high):
    """Saturation of layer l = fraction of h_l with |tanh| > 0.99 (sigmoid outside (0.01, 0.99)), counted by hand.
    With every weight 50 most units are saturated (tanh: all of them after the first layer); Xavier tanh has few."""
    run = Run(SMALL.with_(activation=activation, **extra))
    ws, bs = parameters_of(run.model)
    _, hidden = hand_forward(ws, bs, run.x, activation)
    flat = [((h - 0.5).abs() > 0.49 if activation == "sigmoid" else h.abs() > 0.99).double().mean().item() for h in hidden]
    run.step()
    sat = run.history.arrays()["saturation"][0]
    assert sat == pytest.approx(flat, abs=1e-12)
    assert low <= sat.min() and sat.max() <= high
    if activation == "tanh" and extra:
        assert np.all(sat[1:] == 1.0)


def test_relu_with_very_negative_biases_is_all_dead_and_has_zero_gradients():
    """bias −100: every pre-activation is negative, every ReLU outputs 0 for every sample: saturation (dead) = 1,
    and every weight gradient is exactly 0, which the histogram puts entirely in its lowest bin."""
    run = Run(SMALL.with_(activation="relu", bias_init=-100.0))
    run.step()
    h = run.history.arrays()
    assert np.array_equal(h["saturation"][0], np.ones(SMALL.depth))
    assert np.array_equal(h["grad_w"][0], np.zeros(SMALL.depth + 1))
    assert np.all(h["hist"][0, :, 0] == 1) and np.all(h["hist"][0, :, 1:] == 0)


# ---------------------------------------------------------------- 2. histograms


def test_histogram_rows_are_fractions_within_the_factor_two_bounds():
    """Each layer's histogram sums to 1; and since a value is binned by its power of two, the cumulative fraction
    up to the edge 10^k lies between the exact fraction of |g| < 10^k and that of |g|/2 < 10^k (hand gradients)."""
    run = Run(SMALL.with_(width=8, init_scale=3.0))
    ws, bs = parameters_of(copy.deepcopy(run.model))
    out, _ = hand_forward(ws, bs, run.x, "tanh")
    grads = torch.autograd.grad(((out - run.y) ** 2).mean(), ws)
    run.step()
    hist = run.history.arrays()["hist"][0].astype(np.float64)  # (layers, bins)
    assert hist.shape == (SMALL.depth + 1, HIST_BINS)
    assert hist.sum(axis=1) == pytest.approx(np.ones(SMALL.depth + 1), abs=2e-3)
    edges = 10.0 ** np.arange(HIST_LO, HIST_HI + 1)  # the upper edges of bins 0 … HIST_BINS − 2
    assert (hist.sum(axis=0) > 0).sum() >= 3  # gradients of several sizes: the check is not about one bin
    for layer, g in enumerate(grads):
        a = g.detach().abs().numpy().ravel()
        cumulative = np.cumsum(hist[layer])[: len(edges)]
        below = (a[:, None] < edges[None, :]).mean(axis=0)
        below_half = (a[:, None] / 2 < edges[None, :]).mean(axis=0)
        assert np.all(cumulative >= below - 3e-3) and np.all(cumulative <= below_half + 3e-3), layer


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_histogram_bins_powers_of_two_into_their_decades(dtype):
    """Gradients that are exact powers of two sit inside one decade, so each must land in the bin whose label names
    that decade (labels from hist_labels(): '< 10⁻¹⁰', '10⁻⁷ … 10⁻⁶', '≥ 10¹⁰, inf, NaN'); 0 goes to the lowest."""
    values = [0.0, 2.0**-40, 2.0**-30, 2.0**-20, -0.5, 8.0, 2.0**30, -(2.0**40)]
    labels = hist_labels()

    def label_of(v: float) -> str:
        if v == 0 or abs(v) < 10.0**HIST_LO:
            return labels[0]
        k = math.floor(math.log10(abs(v)))
        return labels[-1] if k >= HIST_HI else f"{power_of_ten(k)} … {power_of_ten(k + 1)}"

    weight = torch.zeros(2, 4, dtype=dtype)
    recorder = Recorder([weight], 0, "linear", dtype, 10)
    grad = torch.tensor(values, dtype=dtype).reshape(2, 4)
    loss = torch.tensor(1.0, dtype=dtype)
    recorder.add(1.0, (0.0, 0.0, 0.0), [grad], [], [], loss.reshape(1, 1), loss)
    recorder.flush()
    hist = recorder.history.arrays()["hist"][0, 0].astype(np.float64)
    expected = np.zeros(HIST_BINS)
    for v in values:
        expected[labels.index(label_of(v))] += 1 / len(values)
    assert hist == pytest.approx(expected, abs=1e-3)
    assert expected[0] == pytest.approx(2 / 8) and expected[-1] == pytest.approx(1 / 8)


# ---------------------------------------------------------------- 3. first non-finite value


def test_overflow_in_the_first_forward_pass_stops_the_run():
    """50 ReLU layers with every weight 10⁶ overflow float32 in the forward pass of step 1: reported as 'forward',
    'inf', at step 1, and the run refuses to take more steps."""
    run = Run(TrainConfig(activation="relu", init="constant", init_scale=1e6, depth=50, lr=10, dataset="regression",
                          n_samples=32, batch_size=32))
    ws, bs = parameters_of(run.model)  # before the step: the hand forward pass names the first layer that is inf
    _, hidden = hand_forward(ws, bs, run.x, "relu")
    first_inf = next(k for k, h in enumerate(hidden, start=1) if torch.isinf(h).any())
    info = run.run(5)
    nf = run.nonfinite
    assert nf is not None and (nf.step, nf.stage, nf.kind) == (1, "forward", "inf")
    assert info.nonfinite == nf and run.steps_done == 1 and run.stopped
    assert nf.tensor == f"h_{first_inf}" and nf.layer == first_inf
    run.step()
    run.step()
    assert run.steps_done == 1 and len(run.history.arrays()["loss"]) == 1


def first_nonfinite_row(h: dict) -> int:
    """1-based first step whose loss, gradient norms or weight norms are not all finite."""
    rows = np.column_stack([h["loss"], h["grad_norm"], h["grad_w"], h["grad_h"], h["weight"]])
    return int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0]) + 1


def test_divergence_over_several_steps_is_reported_at_the_first_non_finite_record():
    """A shallow linear float32 net with learning rate 1 on inputs ×10 diverges for a few steps before overflowing:
    the reported step is the first recorded step with a non-finite loss or norm, every earlier step is finite."""
    run = Run(TrainConfig(depth=1, width=8, activation="linear", lr=1.0, input_scale=10.0, dataset="regression",
                          n_samples=64, batch_size=64))
    run.run(200)
    h = run.history.arrays()
    nf = run.nonfinite
    assert nf is not None and nf.step > 2  # it took several steps
    assert nf.step == first_nonfinite_row(h)
    assert np.isfinite(h["loss"][: nf.step - 1]).all()
    assert h["loss"][nf.step - 2] > 1e3 * h["loss"][0]  # it really diverged before overflowing
    steps = run.steps_done
    run.step()
    assert run.steps_done == steps


def test_overflow_in_the_weight_update_is_reported_as_update():
    """A ReLU net whose read-out weights are set to 0: the output is the bias (finite loss, zero ∂L/∂h), but the read-out
    gradient ∂L/∂W_out = mean(2·err·h) with h ≈ 10³⁸ is finite while lr·∂L/∂W_out overflows float32: stage 'update'."""
    depth = 5
    run = Run(TrainConfig(depth=depth, width=4, activation="relu", init="constant", init_scale=8e5, input_scale=1e6,
                          dataset="regression", n_samples=16, batch_size=16, lr=10))
    for j in range(4):
        run.set_weight(depth, 0, j, 0.0)
    ws, bs = parameters_of(run.model)
    out, hidden = hand_forward(ws, bs, run.x, "relu")
    grad = torch.autograd.grad(((out - run.y) ** 2).mean(), ws[-1])[0]
    assert torch.isfinite(hidden[-1]).all() and torch.isfinite(grad).all()
    assert torch.isinf(ws[-1].detach() - 10 * grad).any()  # the hand update overflows
    run.step()
    nf = run.nonfinite
    assert nf is not None and (nf.step, nf.stage, nf.tensor, nf.layer, nf.kind) == (1, "update", f"W_{depth + 1}", depth + 1, "inf")
    h = run.history.arrays()
    assert np.isfinite(h["loss"][0]) and np.isinf(h["weight"][0, -1]) and first_nonfinite_row(h) == 1
    run.step()
    assert run.steps_done == 1


def test_float64_nonfinite_step_names_a_tensor_that_really_is_not_finite():
    """Redo full-batch float64 SGD by hand and find the first step where any value (h, ŷ, L, ∂L/∂h, ∂L/∂θ, new θ)
    is inf or NaN: the run must report that step, not an earlier one whose values were all finite."""
    cfg = TrainConfig(depth=1, width=8, activation="linear", lr=1.0, input_scale=100.0, dataset="regression",
                      n_samples=64, batch_size=64, dtype="float64")
    run = Run(cfg)
    ws, bs = parameters_of(copy.deepcopy(run.model))
    first_bad = None
    for step in range(1, 50):
        out, hidden = hand_forward(ws, bs, run.x, "linear")
        loss = ((out - run.y) ** 2).mean()
        grads = torch.autograd.grad(loss, ws + bs + hidden)
        ws = [(w - g).detach().requires_grad_(True) for w, g in zip(ws, grads[:2], strict=True)]
        bs = [(b - g).detach().requires_grad_(True) for b, g in zip(bs, grads[2:4], strict=True)]
        values = [*hidden, out, loss, *grads, *ws, *bs]
        if not all(bool(torch.isfinite(v).all()) for v in values):
            first_bad = step
            break
    assert first_bad is not None
    run.run(50)
    assert run.nonfinite is not None
    assert run.nonfinite.step == first_bad, run.nonfinite


# ---------------------------------------------------------------- 4. scenarios


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_scenario_shows_its_expected_verdict(key):
    """Every one-click scenario, trained for its own number of steps, is diagnosed as it says it demonstrates."""
    s = SCENARIOS[key]
    run = Run(s.config, track=s.track)
    run.run(s.steps)
    d = diagnose(run.history.arrays(), lr=s.config.lr, activation=s.config.activation, nonfinite=run.nonfinite)
    assert d.verdict == s.expect, d.headline


# ---------------------------------------------------------------- 5. reproducibility

REPRO = TrainConfig(depth=3, width=8, activation="tanh", dataset="spirals", n_samples=64, batch_size=16, lr=0.1, seed=11)


def test_same_seed_same_numbers_other_seed_other_numbers():
    """Minibatch training (random batch order) from the same config twice gives bit-identical histories; another
    seed gives different ones (different data, weights and batch order)."""
    first, second, other = Run(REPRO), Run(REPRO), Run(REPRO.with_(seed=12))
    for r in (first, second, other):
        r.run(30)
    assert all_equal(arrays(first), arrays(second))
    assert not np.array_equal(arrays(first)["loss"], arrays(other)["loss"])
    assert not np.array_equal(first.x.numpy(), other.x.numpy())


def test_reset_rewinds_to_the_same_initial_state():
    """After reset() the run repeats its first 30 steps exactly (weights, data order and history forgotten), even after
    a hand edit that is forgotten too."""
    run = Run(REPRO)
    run.run(30)
    before = arrays(run)
    run.set_weight(0, 0, 0, 5.0)
    run.run(7)
    run.reset()
    assert run.steps_done == 0 and run.edits == [] and len(run.history.arrays()["loss"]) == 0
    run.run(30)
    assert all_equal(arrays(run), before)


def test_runs_in_parallel_threads_match_a_run_trained_alone():
    """Two runs built and trained at the same moment in two threads, while a third thread keeps reseeding torch's global
    generator, give the very numbers of a run trained alone: nothing depends on process-wide random state."""
    alone = Run(REPRO)
    alone.run(200)
    expected = arrays(alone)
    results: dict[int, dict] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def train(k: int) -> None:
        try:
            run = Run(REPRO)
            for _ in range(200):
                run.step()
            results[k] = arrays(run)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def reseed() -> None:
        i = 0
        while not stop.is_set():
            torch.manual_seed(i)
            np.random.seed(i)
            i += 1

    noise = threading.Thread(target=reseed)
    workers = [threading.Thread(target=train, args=(k,)) for k in range(2)]
    noise.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    noise.join()
    assert not errors, errors
    assert all_equal(results[0], expected) and all_equal(results[1], expected)


# ---------------------------------------------------------------- 6. editing a weight, re-tracking


def test_set_weight_is_used_by_the_next_step():
    """W₁[1, 1] = 500 set by hand after 3 steps is the w_old of step 4 in the ledger and changes training from there."""
    run, untouched = Run(REPRO), Run(REPRO)
    run.run(3)
    untouched.run(3)
    run.set_weight(0, 0, 0, 500.0)
    assert run.weight_value(0, 0, 0) == 500.0
    run.step()
    untouched.step()
    tracked = run.history.arrays()["tracked"]
    assert tracked[3, 0] == 500.0
    assert tracked[3, 2] == pytest.approx(500.0 - REPRO.lr * tracked[3, 1], rel=1e-6)
    assert run.history.arrays()["loss"][3] != untouched.history.arrays()["loss"][3]
    with pytest.raises(ConfigError):
        run.set_weight(0, 0, 0, math.inf)
    with pytest.raises(ConfigError):
        run.set_weight(0, 99, 0, 1.0)


def test_retrack_equals_tracking_from_the_start():
    """Switching the followed weight after training (with an edit in the middle) gives the same ledger column as a run that
    followed that weight from the start with the same edit at the same step; the other records are untouched."""
    target = (1, 2, 5)

    def train(run: Run) -> Run:
        run.run(4)
        run.set_weight(1, 2, 5, -3.0)
        run.set_weight(0, 1, 1, 2.5)
        run.run(6)
        return run

    run = train(Run(REPRO))
    reference = train(Run(REPRO, track=target))
    before = arrays(run)
    assert not np.array_equal(before["tracked"], arrays(reference)["tracked"])
    run.retrack(target)
    after = arrays(run)
    assert run.track == target
    assert np.array_equal(after["tracked"], arrays(reference)["tracked"])
    assert after["tracked"][4, 0] == -3.0
    for name in ("loss", "grad_w", "weight", "hist"):
        assert np.array_equal(after[name], before[name])


# ---------------------------------------------------------------- 7. limits and bad input


@pytest.mark.parametrize("changes", [
    {"depth": 51}, {"depth": 0}, {"width": 0}, {"width": 257}, {"lr": 0.0}, {"lr": 11.0}, {"lr": math.nan},
    {"activation": "swish"}, {"init": "lecun"}, {"dtype": "float16"}, {"n_samples": 32, "batch_size": 64},
    {"depth": 2.5}, {"depth": "3"}, {"init_scale": math.inf},
])
def test_bad_configs_are_refused_with_config_error(changes):
    """Every value outside LIMITS or the allowed choices raises ConfigError (a sentence), not a crash later."""
    with pytest.raises(ConfigError):
        TrainConfig(dataset="regression", **changes).validated()


def test_limit_edges_are_accepted():
    """The ends of the ranges themselves are allowed (so the refusals above are not off by one)."""
    for name, value in (("depth", 50), ("depth", 1), ("width", 256), ("width", 1), ("lr", 10.0), ("lr", 1e-6)):
        assert LIMITS[name][0] <= value <= LIMITS[name][1]
        TrainConfig(dataset="regression", **{name: value}).validated()
    TrainConfig(dataset="regression", n_samples=32, batch_size=32).validated()


def test_step_counts_outside_the_limits_are_refused():
    run = Run(SMALL)
    for n in (0, -1, MAX_STEPS + 1):
        with pytest.raises(ConfigError):
            run.run(n)
    assert run.steps_done == 0
    assert run.run(1).step == 1


def test_from_dict_converts_and_refuses():
    """from_dict reads URL-style strings; an unreadable number is a ConfigError naming the field."""
    cfg = TrainConfig.from_dict({"depth": "4", "lr": "0.5", "activation": "relu", "dataset": "moons", "unknown": "x"})
    assert (cfg.depth, cfg.lr, cfg.activation, cfg.dataset) == (4, 0.5, "relu", "moons")
    with pytest.raises(ConfigError, match="depth"):
        TrainConfig.from_dict({"depth": "abc"})
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"depth": "60"})


@pytest.mark.parametrize("raw", ["inf", "1e400"])
def test_from_dict_refuses_infinite_whole_numbers(raw):
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"depth": raw})


@pytest.mark.parametrize("init", ["xavier_normal", "xavier_uniform"])
def test_negative_gain_is_refused_or_trained(init):
    """init_scale is allowed in −1e6 … 1e6; a negative Xavier gain must either train or raise ConfigError, not a
    RuntimeError from torch ('normal expects std >= 0.0' / 'uniform_ expects … from=1 > to=-1')."""
    try:
        run = Run(SMALL.with_(init=init, init_scale=-1.0))
    except ConfigError:
        return
    assert np.isfinite(run.run(1).loss)


VALID_CSV = b"x1,x2,label\n0.5,1.0,3\n-1.5,2.0,7\n0.25,0.0,3\n1.0,-1.0,7\n2.0,2.0,5\n"


def test_parse_csv_reads_a_valid_file_with_a_header():
    """Header skipped, last column the target: whole numbers → class indices 0…k−1 in sorted order; floats → regression."""
    x, y, task = parse_csv(VALID_CSV)
    assert task == "classification"
    assert x.tolist() == [[0.5, 1.0], [-1.5, 2.0], [0.25, 0.0], [1.0, -1.0], [2.0, 2.0]]
    assert y.tolist() == [0, 2, 0, 2, 1] and y.dtype == np.int64
    x, y, task = parse_csv(b"1,2,0.5\n3,4,1.25\n5,6,-2.75\n7,8,0.0\n")
    assert task == "regression" and y.shape == (4, 1) and y[:, 0].tolist() == [0.5, 1.25, -2.75, 0.0]
    assert x.shape == (4, 2)


@pytest.mark.parametrize("data", [
    b"a,b\n1,2\n3,x\n5,6\n7,8\n",  # a non-numeric cell
    b"1,2\n3,4\n5\n6,7\n8,9\n",  # a ragged row
    b"1,2\n3,inf\n5,6\n7,8\n",  # inf
    b"1,2\n3,nan\n5,6\n7,8\n",  # NaN
    b"1,2\n" * 300_000,  # 1.2 MB: too many bytes
    b"1,2\n3,4\n",  # too few rows
    b"",  # empty
    b"\xff\xfe1,2\n",  # not UTF-8
])
def test_parse_csv_rejects_bad_files(data):
    with pytest.raises(ConfigError):
        parse_csv(data)


def test_csv_dataset_needs_bytes_and_trains_with_them():
    cfg = TrainConfig(dataset="csv", batch_size=4, n_samples=16, depth=2, width=4)
    with pytest.raises(ConfigError):
        make_dataset(cfg)
    data = make_dataset(cfg.with_(input_scale=2.0), VALID_CSV)
    assert data.task == "classification" and data.n_outputs == 3 and data.x[1].tolist() == [-3.0, 4.0]
    run = Run(cfg, csv_bytes=VALID_CSV)
    assert run.loss_name == "cross_entropy" and np.isfinite(run.run(3).loss)
    with pytest.raises(ConfigError):
        Run(cfg.with_(batch_size=6), csv_bytes=VALID_CSV)  # 6 > the 5 rows


# ---------------------------------------------------------------- 8. path chain


def single_sample_gradient(run: Run, sample: int) -> torch.Tensor:
    """∂L/∂W₁ by autograd for the loss of one sample (MSE or cross-entropy, as the run)."""
    ws, bs = parameters_of(copy.deepcopy(run.model))
    out, _ = hand_forward(ws, bs, run.x[sample: sample + 1], run.config.activation)
    target = run.y[sample: sample + 1]
    if run.loss_name == "cross_entropy":
        loss = -torch.log_softmax(out, dim=1)[0, target[0]]
    else:
        loss = ((out - target) ** 2).mean()
    return torch.autograd.grad(loss, ws[0])[0]


def test_path_chain_of_a_single_path_is_the_gradient():
    """Width 1: one path from x_i to the output, so the product of its factors is ∂L/∂W₁[0, i] (autograd, one sample)."""
    run = Run(SMALL.with_(width=1, activation="sigmoid", init="normal", init_scale=1.5, seed=5))
    run.run(2)
    for i, sample in ((0, 0), (1, 7)):
        chain = path_chain(run.model, run.x, run.y, run.loss_name, (i, 0, 0, 0, 0), sample)
        product = math.prod(f.value for f in chain.factors)
        assert product == pytest.approx(single_sample_gradient(run, sample)[0, i].item(), rel=1e-9)
        assert chain.running[-1] == pytest.approx(product, rel=1e-12)
        assert len(chain.factors) == 2 * SMALL.depth + 2


def test_path_chain_terms_sum_to_the_gradient():
    """Width 3, cross-entropy: ∂L/∂W₁[j₁, i] is the sum over every path i → j₁ → j₂ → k of the product of its factors."""
    run = Run(TrainConfig(depth=2, width=3, activation="tanh", dataset="moons", n_samples=32, batch_size=32, lr=0.5,
                          dtype="float64", seed=2))
    run.run(3)
    grad = single_sample_gradient(run, 4)
    for i, j1 in ((0, 0), (1, 2)):
        total = sum(math.prod(f.value for f in path_chain(run.model, run.x, run.y, run.loss_name, (i, j1, j2, k), 4).factors)
                    for j2 in range(3) for k in range(2))
        assert total == pytest.approx(grad[j1, i].item(), rel=1e-9)


# ---------------------------------------------------------------- 9. ledger


def test_ledger_exact_update_matches_the_stored_new_weight():
    """For plain SGD in float64, the exact w_old − lr·∂L/∂w of the ledger rounds to what torch stored (≤ 1e-12 rel)."""
    run = Run(SMALL, track=(2, 1, 3))
    run.run(5)
    tracked = run.history.arrays()["tracked"]
    for step in range(1, 6):
        entry = ledger_at(tracked, step, SMALL.lr, "sgd", "float64", run.track)
        assert entry.finite and entry.update is not None
        assert float(entry.update.w_old) == tracked[step - 1, 0]
        assert float(entry.update.grad) == tracked[step - 1, 1]
        assert float(entry.update.w_new) == pytest.approx(entry.stored_new, rel=1e-12, abs=1e-300)
        assert entry.stored_new == tracked[step - 1, 2]
        assert entry.weight == "W₃[2, 4]"
    assert exact_decimal(0.1, "float32") == exact_decimal(0.1, "float64")  # shortest decimals: both are 1/10
    assert tracked[1, 0] != tracked[0, 0]  # the weight really moved


# ---------------------------------------------------------------- 10. initialisation


def built(init: str, activation: str = "tanh", scale: float = 1.0, n_in: int = 64, width: int = 256):
    cfg = TrainConfig(depth=1, width=width, activation=activation, init=init, init_scale=scale, bias_init=0.25,
                      dataset="regression", dtype="float64")
    return build(cfg, n_in, width, torch.Generator().manual_seed(1234))


@pytest.mark.parametrize(("init", "scale", "variance"), [
    ("xavier_normal", 1.0, lambda fi, fo: 2 / (fi + fo)),
    ("xavier_normal", 2.0, lambda fi, fo: 4 * 2 / (fi + fo)),
    ("xavier_uniform", 1.0, lambda fi, fo: 2 / (fi + fo)),
    ("he_normal", 1.0, lambda fi, fo: 2 / fi),
    ("he_uniform", 1.0, lambda fi, fo: 2 / fi),
    ("default", 1.0, lambda fi, fo: 1 / (3 * fi)),
    ("normal", 0.3, lambda fi, fo: 0.09),
    ("uniform", 0.3, lambda fi, fo: 0.09 / 3),
])
def test_initial_variances_match_the_published_ones(init, scale, variance):
    """Var(w) of a 256 × 64 and a 256 × 256 layer: Glorot 2/(fan_in+fan_out)·gain², He 2/fan_in, PyTorch's default
    1/(3·fan_in), N(0, σ²) σ², U(−a, a) a²/3 — within 10% (the estimates' own error is under 2%); mean ≈ 0."""
    model = built(init, scale=scale)
    for layer in list(model.layers)[:2]:
        w = layer.weight.detach().numpy()
        fan_out, fan_in = w.shape
        assert w.var() == pytest.approx(variance(fan_in, fan_out), rel=0.1), (init, w.shape)
        assert abs(w.mean()) < 0.05 * math.sqrt(variance(fan_in, fan_out))
    biases = model.layers[0].bias.detach().numpy()
    if init == "default":  # U(±1/√fan_in)
        assert np.abs(biases).max() <= 1 / math.sqrt(64) and biases.std() > 0
    else:
        assert np.all(biases == 0.25)


def test_orthogonal_and_constant_initialisation():
    """Orthogonal (gain 1) gives W Wᵀ = I for a square layer; gain 2 gives 4·I; constant gives one value everywhere."""
    square = built("orthogonal").layers[1].weight.detach()
    assert torch.allclose(square @ square.T, torch.eye(256, dtype=torch.float64), atol=1e-10)
    scaled = built("orthogonal", scale=2.0).layers[1].weight.detach()
    assert torch.allclose(scaled @ scaled.T, 4 * torch.eye(256, dtype=torch.float64), atol=1e-9)
    for layer in built("constant", scale=-0.7, width=8).layers:
        assert torch.all(layer.weight == -0.7)


def test_initialisation_comes_from_the_run_generator_only():
    """Same generator seed → same weights whatever the global torch seed; another seed → other weights."""
    torch.manual_seed(1)
    a = built("xavier_normal", width=16).layers[0].weight.detach().clone()
    torch.manual_seed(2)
    b = built("xavier_normal", width=16).layers[0].weight.detach().clone()
    cfg = TrainConfig(depth=1, width=16, init="xavier_normal", dataset="regression", dtype="float64")
    c = build(cfg, 64, 16, torch.Generator().manual_seed(99)).layers[0].weight.detach()
    assert torch.equal(a, b) and not torch.equal(a, c)


# ---------------------------------------------------------------- limits for a shared server


def test_too_much_work_in_one_request_is_refused_with_the_allowed_amount():
    from core.app.limits import SERVER, WORK_LIMIT

    run = Run(TrainConfig(depth=50, width=256, n_samples=64, batch_size=64))
    with pytest.raises(ConfigError, match="at most 2,000 steps"):
        run.run(2_001, budget=SERVER)
    assert 50 * 256 * 2_000 == WORK_LIMIT


def test_a_request_stops_at_the_wall_time_cap_and_keeps_what_it_trained():
    run = Run(SMALL)
    info = run.run(5_000, budget=Budget(seconds=0.05))
    assert info.cut_short is not None and "at most 0.05 s" in info.cut_short
    assert 0 < run.steps_done < 5_000 and len(run.history.arrays()["loss"]) == run.steps_done


def test_headless_training_has_no_hidden_wall_clock(monkeypatch):
    """A notebook or a test passes no budget and gets every step it asked for, however slow the machine; the
    server's budget (passed by the UI) still cuts the same request short."""
    from core import budget
    from core.app.limits import SERVER

    clock = iter(range(0, 10**9, 1_000))  # every reading of the clock is 1,000 s after the last: a very busy machine
    monkeypatch.setattr(budget.time, "monotonic", lambda: next(clock))
    assert Run(SMALL).run(30).cut_short is None
    run = Run(SMALL)
    assert "at most 60 s" in run.run(30, budget=SERVER).cut_short and run.steps_done < 30


# ---------------------------------------------------------------- recording in batches


@pytest.mark.parametrize("config", [
    SMALL,
    TrainConfig(depth=4, width=8, activation="relu", optimizer="momentum", batchnorm=True, clip_norm=0.5, n_samples=64,
                batch_size=16, seed=5),
    TrainConfig(depth=3, width=8, activation="sigmoid", weightnorm=True, optimizer="adam", clip_value=0.1, n_samples=64,
                batch_size=16),
    TrainConfig(depth=2, width=256, activation="leaky_relu", n_samples=2048, batch_size=2048),  # h_l: 2 MB a step
    TrainConfig(depth=1, width=8, activation="linear", lr=1.0, input_scale=10.0, dataset="regression", n_samples=64,
                batch_size=64),  # diverges to inf
], ids=["tanh-float64", "relu-batchnorm-momentum-clip", "sigmoid-weightnorm-adam", "wide-batch", "diverging"])
def test_records_do_not_depend_on_how_many_steps_wait_for_a_flush(config, monkeypatch):
    """The recorder reduces pending steps in batches; flushing after every step (no pending memory at all) must give
    the same records (bit-identical in float64), the same first inf/NaN, and the same ledger. A wide batch holds
    holds as many steps as a narrow one: its h_l and ∂L/∂h_l are reduced in the step that made them, layer by layer
    when stacking them would take more than the scratch budget."""
    from core.training import recorder

    steps = 25 if config.width < 256 else 3
    batched = Run(config, track=(1, 0, 0))
    batched.run(steps)
    held = batched.recorder.capacity
    monkeypatch.setattr(recorder, "PENDING_BYTES", 1)
    one_by_one = Run(config, track=(1, 0, 0))
    one_by_one.run(steps)
    assert one_by_one.recorder.capacity == 1
    a, b = arrays(batched), arrays(one_by_one)
    if config.dtype == "float64":
        assert all_equal(a, b)
    else:  # numpy's float32 einsum may sum a row in another order when it holds another number of rows
        assert a.keys() == b.keys()
        for name in a:  # (a float32 sum of 65,536 squares differs by a few ulps × √n in another order)
            np.testing.assert_allclose(a[name].astype(np.float64), b[name].astype(np.float64), rtol=1e-5, err_msg=name)
    assert batched.nonfinite == one_by_one.nonfinite and batched.steps_done == one_by_one.steps_done
    assert held > 1
    # 2 × 2 hidden layers × 2048 × 256 floats = 8.4 MB a step: too much to stack, reduced layer by layer
    if batched.nonfinite is None:  # (run() releases the scratch at its end: a step in progress has it again)
        batched.step()
        assert (batched.recorder._scratch is None) == (config.width == 256)
    pending_hidden = batched.recorder._hnorm.nbytes + batched.recorder._sat.nbytes if config.depth > 1 else 0
    assert pending_hidden <= held * config.depth * (8 + 8 * config.width)  # no batch × width tensor is held


def test_hidden_gradient_norms_past_the_float32_sum_of_squares_are_exact():
    """‖∂L/∂h‖ of values 3e19 (finite in float32, but their squares overflow float32's sum) is recorded exactly, as
    computed in float64 by hand, and is not mistaken for an inf; a ReLU layer's zero column counts as dead."""
    weight = torch.zeros(2, 4)
    recorder = Recorder([torch.zeros(2, 3), weight], 1, "relu", torch.float32, 10)
    h_grad = torch.full((5, 2), 3e19)
    hidden = torch.tensor([[0.0, 1.0]] * 5)
    loss = torch.tensor(1.0)
    recorder.add(1.0, (0.0, 0.0, 0.0), [torch.zeros(2, 3), torch.zeros(2, 4)], [h_grad], [hidden],
                 loss.reshape(1, 1), loss)
    recorder.flush()
    h = recorder.history.arrays()
    assert h["grad_h"][0, 0] == pytest.approx(math.sqrt(10) * float(np.float32(3e19)), rel=1e-12)
    assert h["saturation"][0, 0] == 0.5
    assert recorder.nonfinite is None


def test_the_ledger_follows_the_new_weight_for_the_steps_after_a_retrack():
    """Retracking replays the past; the steps taken afterwards must also record the newly followed weight, so the whole
    column equals that of a run which followed it from the start."""
    target = (2, 3, 1)
    run = Run(REPRO)
    run.run(5)
    run.retrack(target)
    run.run(7)
    reference = Run(REPRO, track=target)
    reference.run(12)
    assert np.array_equal(arrays(run)["tracked"], arrays(reference)["tracked"])


def test_path_chain_names_a_culprit_only_when_a_factor_amplifies():
    """QA: 'Biggest culprit: φ'(z₆[1]) = 1' while another factor was 0; 'Biggest culprit: ∂L/∂ŷ₁ = NaN'."""
    from core.training.inspect_run import PathChain, PathFactor

    def chain(*values):
        return PathChain((0,), tuple(PathFactor(f"f{i}", v) for i, v in enumerate(values)), (), 0)

    killed = chain(0.5, 1.0, 0.0)
    assert killed.culprit is None and killed.summary == "f2 = 0 kills the whole product"
    assert chain(0.5, 1.0, 0.9).culprit is None and "no culprit" in chain(0.5, 1.0, 0.9).summary
    assert chain(0.5, -3.0, 2.0).culprit == 1 and chain(0.5, -3.0, 2.0).summary == "biggest culprit: f1 = −3 (|f| > 1)"
    nan = chain(math.nan, 3.0)
    assert nan.culprit is None and "f0 is not finite (NaN)" in nan.summary and "culprit" not in nan.summary
    assert "biggest amplifier is f0 = 4" in chain(4.0, 0.0).summary


def test_histogram_labels_write_powers_of_ten_with_superscripts():
    """QA: the lab's Histograms tab read '< 1e-10', '1e-10 … 1e-9', '≥ 1e10, inf, NaN'."""
    labels = hist_labels()
    assert labels[0] == "< 10⁻¹⁰" and labels[1] == "10⁻¹⁰ … 10⁻⁹" and labels[-1] == "≥ 10¹⁰, inf, NaN"
    assert len(labels) == HIST_BINS and not any("e" in label.replace("inf", "") for label in labels)


def test_the_output_maps_legend_writes_huge_outputs_times_ten_to_the_n():
    """QA: for 'LR too large' the legend of 'What the network computes' read −300,000,000,000,000,000,000 and squeezed
    the map; rendered by Vega (vl-convert), its labels are now d.dd × 10ⁿ."""
    import json
    import re

    import vl_convert as vlc

    from core.charts.training import surface_chart
    from core.training.surface import surface

    run = Run(SCENARIOS["big_lr"].config)
    run.run(SCENARIOS["big_lr"].steps)
    chart = surface_chart(surface(run))
    svg = vlc.vegalite_to_svg(json.loads(json.dumps(chart.to_dict())))
    labels = re.findall(r">([^<]*)</text>", svg)
    numbers = [t for t in labels if re.search(r"\d", t)]
    assert numbers and not [t for t in numbers if len(t) > 14], numbers
    assert not [t for t in numbers if re.search(r"\d,\d{3},\d{3},\d{3}", t)], numbers


def test_times_ten_labels_in_vega():
    import re

    import vl_convert as vlc

    from core.charts.template import TIMES_TEN_LABEL

    spec = {"data": {"values": [{"v": -3e20, "x": 0}, {"v": 5e19, "x": 1}]}, "mark": "point",
            "encoding": {"x": {"field": "x", "type": "quantitative"},
                         "y": {"field": "v", "type": "quantitative", "axis": {"labelExpr": TIMES_TEN_LABEL}}}}
    labels = set(re.findall(r">([^<]*)</text>", vlc.vegalite_to_svg(spec)))
    assert "−3 × 10²⁰" in labels and "5 × 10¹⁹" in labels
