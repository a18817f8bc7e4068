"""One-click training-lab scenarios: each is a config, a number of steps, and what it should show.

A scenario's story is computed, never typed: `story` derives its numbers from the config (He's σ for this
width, the ratio of the initial scale to it), and `tell(run)` adds what the run actually measured, quoting
the very numbers the lab shows beside it (the diagnosis at the latest step, the gradient-norm metric).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.numbers import sig
from core.training.config import TrainConfig
from core.training.diagnosis import Diagnosis, diagnose_run, weight_scale


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    label: str  # short, for a button
    config: TrainConfig
    steps: int  # trained at once when the scenario is opened
    expect: str  # the diagnosis verdict it demonstrates
    intro: Callable[[TrainConfig], str]  # the story from the config alone
    measured: Callable[[object, Diagnosis], str]  # what the run showed (run, its diagnosis at the latest step)
    track: tuple[int, int, int] = (0, 0, 0)

    @property
    def story(self) -> str:
        """The story before any training: every number computed from the config."""
        return self.intro(self.config)

    def tell(self, run, step: int | None = None) -> str:
        """The story with what this run measured up to `step` (default: its latest), in the lab's own formats:
        the lab passes the inspected step, so the story and the diagnosis beside it describe the same steps."""
        if run.steps_done == 0:
            return self.story + " Press **Step** or **Run** to measure it."
        return f"{self.story} **Measured in this run:** {self.measured(run, diagnose_run(run, step=step))}"


def _g(x: float) -> str:
    return sig(x, 3)  # the diagnosis's format, so that the story quotes the same digits


def _metric(x: float) -> str:
    return sig(x, 4)  # the lab's metrics' format (4 significant digits)


def _exponent(x: float) -> str:
    """10⁻⁴ for 0.0001, else the number: a learning rate in a sentence."""
    e = math.log10(x)
    return f"10{str(int(e)).translate(str.maketrans('0123456789-', '⁰¹²³⁴⁵⁶⁷⁸⁹⁻'))}" if e == int(e) and e < -2 \
        else sig(x, 3)


def _scale(c: TrainConfig) -> tuple[float, float, float]:
    sigma, standard, _ = weight_scale(c)
    return sigma, standard, sigma / standard


def _loss_sentence(run, d: Diagnosis) -> str:
    steps = d.step
    if run.nonfinite is not None:
        return f"at step {run.nonfinite.step} a value became {run.nonfinite.kind}"
    base = f", a constant guess scores {_g(d.baseline.value)}" if d.baseline is not None else ""
    return (f"the loss went from {_g(d.start_loss)} at step 1 to {_g(d.final_loss)} over the last "
            f"{max(1, steps // 5)} of {steps} steps{base}")


# ---------------------------------------------------------------- the stories

def _notes_intro(c: TrainConfig) -> str:
    w = c.init_scale
    return (f"Every weight is {sig(w, 4)}, as in the notes, and each neuron is one sigmoid. The notes' bound "
            f"σ'(z)·w ≤ ¼·{sig(w, 4)} = {sig(w / 4, 4)} per layer assumes z = 0; here z = {sig(w, 4)}·x is far "
            "from 0 for any input that is not tiny, the sigmoids saturate (σ'(z) ≈ 0) and the gradient vanishes "
            "instead of exploding. The chain-rule page shows the configuration in which the bound really happens.")


def _notes_measured(run, d: Diagnosis) -> str:
    sat = run.history.arrays()["saturation"][d.step - 1]
    layer = int(np.argmax(sat))
    return (f"at step {d.gain_step}, ‖∂L/∂h₁‖ / ‖∂L/∂h_{run.n_hidden}‖ = {_g(d.depth_gain)}, and {sat[layer]:.0%} of "
            f"layer {layer + 1}'s units are saturated at step {d.step}; {_loss_sentence(run, d)}.")


def _relu_big_intro(c: TrainConfig) -> str:
    sigma, he, r = _scale(c)
    return (f"{c.depth} ReLU layers with weights N(0, {sig(sigma, 3)}²). He initialisation would use σ = "
            f"√(2/{c.width}) = {sig(he, 3)}; with {sig(sigma, 3)} each layer multiplies the back-propagated signal by "
            f"about {sig(sigma, 3)}/{sig(he, 3)} = {sig(r, 3)}, {c.depth - 1} times between layer {c.depth} and "
            f"layer 1. The learning rate is only {_exponent(c.lr)}: raise it ten-fold and watch what happens.")


def _relu_big_measured(run, d: Diagnosis) -> str:
    g = run.history.arrays()["grad_norm"]
    return (f"at step {d.gain_step} the gradient reaching layer 1 is ×{_g(d.depth_gain)} the one at layer "
            f"{run.n_hidden} (step 1: ×{_g(d.first_gain)}), and the global gradient norm ‖∂L/∂W‖ is "
            f"{_metric(g[-1])} at step {len(g)}; {_loss_sentence(run, d)}.")


def _relu_nan_intro(c: TrainConfig) -> str:
    sigma, he, r = _scale(c)
    return (f"{c.depth} ReLU layers with weights N(0, {sig(sigma, 3)}²), {sig(r, 3)} times He's σ = √(2/{c.width}) "
            f"= {sig(he, 3)}: each layer multiplies the back-propagated signal by about {sig(r, 3)}. With learning "
            f"rate {sig(c.lr, 3)} the first updates are enormous, the loss shoots up and the numbers can overflow "
            "to inf and NaN. This is the remedies lab's default baseline.")


def _relu_nan_measured(run, d: Diagnosis) -> str:
    return (f"at step 1, ‖∂L/∂h₁‖ / ‖∂L/∂h_{run.n_hidden}‖ = {_g(d.first_gain)}; at step {d.gain_step}, "
            f"{_g(d.depth_gain)}; {_loss_sentence(run, d)}.")


def _sigmoid_intro(c: TrainConfig) -> str:
    return (f"σ'(z) ≤ ¼, and with PyTorch's default weights (|w| ≤ 1/√{c.width} = {sig(1 / math.sqrt(c.width), 3)}) "
            f"each of the {c.depth} layers multiplies the back-propagated signal by much less than 1: almost "
            "nothing reaches the input.")


def _gain_measured(run, d: Diagnosis) -> str:
    """The measured gain of the back-propagated signal through depth, and the loss."""
    return (f"at step {d.gain_step}, ‖∂L/∂h₁‖ / ‖∂L/∂h_{run.n_hidden}‖ = {_g(d.depth_gain)}; "
            f"{_loss_sentence(run, d)}.")


def _deep_plain_intro(c: TrainConfig) -> str:
    n = c.width
    factor = math.sqrt(n / (3 * n))  # mean field near 0: each layer scales the signal by √(n·Var(w)), tanh' ≈ 1
    return (f"{c.depth} {c.activation} layers with PyTorch's default weights, Var(w) = 1/(3·{n}): near z = 0 each "
            f"layer multiplies the back-propagated signal by about √({n}·1/{3 * n}) = {sig(factor, 3)}, so across "
            f"{c.depth - 1} layers it shrinks to about {sig(factor ** (c.depth - 1), 3)} of its size and almost "
            "nothing reaches layer 1. The next scenario is the very same network, the same initial W_l, with "
            "residual connections.")


def _deep_residual_intro(c: TrainConfig) -> str:
    return (f"The same {c.depth} layers and the same initial W_l, now with h_(l+1) = h_l + {c.activation}(W_l h_l + "
            f"b_l) (a trained projection carries the inputs into the {c.width}-unit stream). Each layer's Jacobian "
            "becomes I + diag(φ'(z_l))·W_l: the identity carries the gradient back to layer 1 although every W_l is "
            "small. Compare ‖∂L/∂h_l‖ with the plain net's. Residuals are no cure for large weights: with ReLU and He "
            "initialisation the stream's variance doubles at every layer, and the gradient explodes.")


def _he_intro(c: TrainConfig) -> str:
    return (f"He et al. (2015) chose Var(w) = 2/fan_in (here σ = √(2/{c.width}) = {sig(math.sqrt(2 / c.width), 3)}) "
            "so that a ReLU layer keeps the signal's size: the gradient norms should stay within a small factor "
            "across layers and the loss should go down.")


def _big_lr_intro(c: TrainConfig) -> str:
    return (f"A shallow {c.activation} net ({c.depth} hidden layers) whose gradients are ordinary, trained with "
            f"learning rate {sig(c.lr, 3)}: each step overshoots the minimum. The loss jumps around or rises, but "
            "the back-propagated signal does not grow with depth. The cure is a smaller learning rate, not "
            "clipping or initialisation.")


def _big_lr_measured(run, d: Diagnosis) -> str:
    return (f"each step changes the weights by {_g(d.update_ratio)} times their size (median over {d.step} steps), "
            f"while ‖∂L/∂h₁‖ / ‖∂L/∂h_{run.n_hidden}‖ is at most {_g(d.max_gain)} (step {d.max_gain_step}); "
            f"{_loss_sentence(run, d)}.")

SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario(
        "notes", "The notes' example: w = 500, sigmoid", "Notes: w = 500",
        TrainConfig(depth=3, width=1, activation="sigmoid", init="constant", init_scale=500.0, bias_init=0.0,
                    dataset="regression", n_samples=64, batch_size=64, lr=0.01, optimizer="sgd"),
        steps=20, expect="vanishing",
        intro=_notes_intro, measured=_notes_measured),
    Scenario(
        "relu_big_init", "Deep ReLU net, initialisation too large", "ReLU, init too large",
        TrainConfig(depth=20, width=32, activation="relu", init="normal", init_scale=0.4, dataset="spirals",
                    n_samples=256, batch_size=64, lr=1e-4, optimizer="sgd"),
        steps=20, expect="exploding",
        intro=_relu_big_intro, measured=_relu_big_measured),
    Scenario(
        "relu_nan", "Deep ReLU net that explodes into NaN", "ReLU → NaN",
        TrainConfig(depth=10, width=32, activation="relu", init="normal", init_scale=0.5, dataset="spirals",
                    n_samples=256, batch_size=64, lr=0.01, optimizer="sgd"),
        steps=20, expect="exploding",
        intro=_relu_nan_intro, measured=_relu_nan_measured),
    Scenario(
        "sigmoid_default", "Deep sigmoid net, PyTorch default init", "Deep sigmoid",
        TrainConfig(depth=20, width=32, activation="sigmoid", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.1, optimizer="sgd"),
        steps=20, expect="vanishing",
        intro=_sigmoid_intro, measured=_gain_measured),
    Scenario(
        "deep_plain", "A 50-layer tanh net, plain (compare: with residual connections)", "50 layers, plain",
        TrainConfig(depth=50, width=32, activation="tanh", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.01, optimizer="sgd"),
        steps=100, expect="vanishing",
        intro=_deep_plain_intro, measured=_gain_measured),
    Scenario(
        "deep_residual", "The same 50-layer tanh net with residual connections", "50 layers + residual",
        TrainConfig(depth=50, width=32, activation="tanh", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.01, optimizer="sgd", residual=True),
        steps=100, expect="healthy",
        intro=_deep_residual_intro, measured=_gain_measured),
    Scenario(
        "he_relu", "Healthy: He-initialised ReLU net", "Healthy He-ReLU",
        TrainConfig(depth=6, width=32, activation="relu", init="he_normal", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.05, optimizer="sgd"),
        steps=100, expect="healthy",
        intro=_he_intro, measured=_gain_measured),
    Scenario(
        "big_lr", "Learning rate too large (not an exploding gradient)", "LR too large",
        TrainConfig(depth=2, width=16, activation="tanh", init="xavier_normal", dataset="regression",
                    n_samples=256, batch_size=64, lr=3.0, optimizer="sgd"),
        steps=30, expect="diverging",
        intro=_big_lr_intro, measured=_big_lr_measured),
)}
