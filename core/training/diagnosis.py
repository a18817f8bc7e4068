"""Diagnose a run: exploding, vanishing, diverging because of the learning rate, or healthy.

The symptoms are the notes' list (weights unexpectedly large, poor or rising loss, NaN loss, a
gradient norm persistently above 1.0) plus the vanishing ones, each reported with its evidence:
which layer, which step, which number. Exploding gradients are told apart from a learning rate that
is simply too large: the first grows through the depth of the network (the back-propagated signal
‖∂L/∂h_l‖ gets larger layer after layer towards the input), the second is a step too long on a
perfectly ordinary gradient (the update ‖ΔW‖/‖W‖ is large while the signal does not grow with depth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.numbers import fmt

DEPTH_GAIN_EXPLODING = 100.0  # ‖∂L/∂h_1‖ / ‖∂L/∂h_L‖ at the start: the signal grows ×100 on its way back
DEPTH_GAIN_VANISHING = 0.01  # … or shrinks ×100
WEIGHT_GROWTH = 10.0  # ‖W_l‖ grew ten-fold during training
BIG_UPDATE = 0.1  # ‖ΔW‖/‖W‖ per step; the usual healthy range is around 1e-3
PERSISTENT = 0.9  # fraction of steps above the threshold that counts as "persistently"
SATURATED = 0.5  # half the units saturated or dead


@dataclass(frozen=True)
class Symptom:
    name: str
    present: bool
    evidence: str


@dataclass(frozen=True)
class Diagnosis:
    verdict: str  # "exploding", "vanishing", "diverging", "healthy", "not enough steps"
    headline: str
    symptoms: tuple[Symptom, ...] = field(default=())

    @property
    def present(self) -> list[Symptom]:
        return [s for s in self.symptoms if s.present]


def _first_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[0]) if len(finite) else math.nan


def _g(x: float) -> str:
    """A number for a sentence: 3 significant digits, ∞ and NaN spelled out."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return fmt(float(f"{x:.3g}")) if abs(x) < 1e15 else f"{x:.2e}"


def diagnose(history: dict[str, np.ndarray], *, lr: float, activation: str, nonfinite=None,
             threshold: float = 1.0) -> Diagnosis:
    """A verdict with evidence for the recorded steps (`Run.history.arrays()`)."""
    loss = history["loss"]
    steps = len(loss)
    if steps == 0:
        return Diagnosis("not enough steps", "Train at least one step to get a diagnosis.")
    grad_norm, grad_h, grad_w = history["grad_norm"], history["grad_h"], history["grad_w"]
    weight, ratio, saturation = history["weight"], history["update_ratio"], history["saturation"]
    symptoms: list[Symptom] = []

    # The back-propagated signal from the last hidden layer to the first, at the first step.
    depth_gain = math.nan
    if grad_h.shape[1] >= 2 and np.isfinite(grad_h[0]).all():
        last, first_layer = grad_h[0, -1], grad_h[0, 0]
        depth_gain = first_layer / last if last > 0 else (math.inf if first_layer > 0 else math.nan)
    L = grad_h.shape[1]
    per_layer = depth_gain ** (1 / (L - 1)) if L >= 2 and depth_gain > 0 and math.isfinite(depth_gain) else math.nan
    grows = depth_gain >= DEPTH_GAIN_EXPLODING
    shrinks = depth_gain <= DEPTH_GAIN_VANISHING
    if L < 2:
        gain_text = "needs at least 2 hidden layers"
    elif depth_gain == 0:
        gain_text = f"at step 1, ‖∂L/∂h₁‖ is exactly 0 while ‖∂L/∂h_{L}‖ = {_g(grad_h[0, -1])}: nothing reaches layer 1"
    else:
        gain_text = (f"at step 1, ‖∂L/∂h₁‖ / ‖∂L/∂h_{L}‖ = {_g(depth_gain)}: a factor ≈ {_g(per_layer)} per layer on "
                     "the way back to the input")
    symptoms.append(Symptom("back-propagated signal grows with depth", bool(grows), gain_text))

    # Seeds symptom: the gradient norm persistently above the threshold.
    above = np.mean(~(grad_norm <= threshold)) if steps else 0.0  # NaN and inf count as above
    persistent = steps >= 5 and above >= PERSISTENT
    finite_rows = np.flatnonzero(np.isfinite(grad_w).all(axis=1))
    if len(finite_rows):
        row = grad_w[finite_rows[-1]]
        top = int(np.argmax(row))
        share = f"; it is dominated by ‖∂L/∂W_{top + 1}‖ = {_g(row[top])}"
    else:
        share = ""
    symptoms.append(Symptom(
        f"gradient norm persistently above {_g(threshold)}", bool(persistent),
        f"the global ‖∂L/∂W‖ > {_g(threshold)} in {above:.0%} of {steps} steps{share}"
        + ("" if steps >= 5 else " (needs at least 5 steps to call it persistent)")))

    # Weights becoming unexpectedly large.
    finite_w = np.flatnonzero(np.isfinite(weight).all(axis=1))
    if np.any(~np.isfinite(weight[-1])):
        big_weights = True
        bad_step = int(np.flatnonzero(~np.isfinite(weight).all(axis=1))[0]) + 1
        weights_text = f"the weights became inf or NaN at step {bad_step}"
    elif len(finite_w) and np.all(weight[0] > 0):
        growth = weight[finite_w[-1]] / weight[0]
        worst = int(np.argmax(growth))
        big_weights = bool(growth[worst] >= WEIGHT_GROWTH)
        weights_text = (f"‖W_{worst + 1}‖ went from {_g(weight[0, worst])} to {_g(weight[-1, worst])} "
                        f"(×{_g(growth[worst])}) over {steps} steps")
    else:
        big_weights, weights_text = False, "no finite weight norms recorded"
    symptoms.append(Symptom("weights become unexpectedly large", big_weights, weights_text))

    # NaN loss, or a loss that rises.
    nan_loss = nonfinite is not None or not math.isfinite(loss[-1])
    start = _first_finite(loss)
    finite = loss[np.isfinite(loss)]
    best = float(finite.min()) if len(finite) else math.nan
    window = loss[-max(1, steps // 5):]
    end = float(np.mean(window)) if np.isfinite(window).all() else math.inf
    rising = steps >= 3 and (nan_loss or end > 1.5 * start or end > 3 * best + 1e-12)
    symptoms.append(Symptom("NaN or inf in training", bool(nonfinite is not None or nan_loss),
                            nonfinite.explain() if nonfinite is not None else "every recorded value is finite"))
    symptoms.append(Symptom("loss rising or poor", bool(rising),
                            f"loss {_g(start)} at step 1, {_g(best)} at best, {_g(end)} over the last "
                            f"{len(window)} steps"))

    # Learning rate: the size of each step relative to the weights.
    finite_ratio = ratio[np.isfinite(ratio).all(axis=1)]
    med_ratio = float(np.median(finite_ratio.max(axis=1))) if len(finite_ratio) else math.nan
    big_steps = med_ratio >= BIG_UPDATE
    symptoms.append(Symptom(
        "updates too large for the weights", bool(big_steps),
        f"median over steps of the largest ‖ΔW_l‖/‖W_l‖ = {_g(med_ratio)} with learning rate {_g(lr)} (≈ 10⁻³ is typical)"))

    # Vanishing: tiny signal at the first layer, or saturated / dead units.
    first_w, last_w = _first_finite(grad_w[:, 0]), _first_finite(grad_w[:, -1])
    tiny = bool(shrinks or (np.isfinite(grad_norm).all() and np.nanmax(grad_norm) < 1e-7))
    symptoms.append(Symptom(
        "gradient vanishes towards the input", tiny,
        f"at step 1, ‖∂L/∂h₁‖ / ‖∂L/∂h_{L}‖ = {_g(depth_gain)}; ‖∂L/∂W₁‖ = {_g(first_w)} vs "
        f"‖∂L/∂W_{grad_w.shape[1]}‖ = {_g(last_w)}"))
    sat_now = saturation[-1] if saturation.shape[1] else np.zeros(0)
    kind = "dead" if activation in ("relu", "leaky_relu") else "saturated"
    sat_layer = int(np.argmax(sat_now)) if len(sat_now) else 0
    saturated = bool(len(sat_now) and sat_now[sat_layer] >= SATURATED and activation != "linear")
    symptoms.append(Symptom(
        f"units {kind}", saturated,
        f"{sat_now[sat_layer]:.0%} of layer {sat_layer + 1}'s units are {kind} at the last step"
        if len(sat_now) else "no hidden layers"))

    if nonfinite is not None and nonfinite.step == 1 and nonfinite.stage != "update":
        return Diagnosis("exploding", f"Exploding: the very first forward/backward pass overflowed ({nonfinite.tensor} "
                         f"became {nonfinite.kind}) before any update — the signal grows layer by layer with these "
                         "weights and inputs, whatever the learning rate.", tuple(symptoms))
    if grows:
        return Diagnosis("exploding", f"Exploding gradients: at step 1 layer 1 receives ×{_g(depth_gain)} the "
                         f"back-propagated signal of layer {L} (×{_g(per_layer)} per layer).", tuple(symptoms))
    if (rising or nan_loss) and big_steps:
        return Diagnosis("diverging", "Diverging because the learning rate is too large: each step changes the "
                         f"weights by {_g(med_ratio)} of their size while the gradient does not grow with depth "
                         "— a smaller learning rate, not a deeper fix, is what this needs.", tuple(symptoms))
    if tiny or saturated:
        return Diagnosis("vanishing", "Vanishing gradients: the signal that reaches the first layers is too small "
                         "to train them." + (f" {sat_now[sat_layer]:.0%} of layer {sat_layer + 1}'s units are {kind}."
                                             if saturated else ""), tuple(symptoms))
    if (persistent and big_weights) or nan_loss:
        return Diagnosis("exploding", "Exploding gradients: the gradient norm stays above the threshold and the "
                         "weights keep growing, although the steps are not large for the weights.", tuple(symptoms))
    if rising:
        return Diagnosis("diverging", "The loss is rising although neither the gradients nor the steps look "
                         "extreme: try a smaller learning rate.", tuple(symptoms))
    return Diagnosis("healthy", "Healthy: gradients of a similar size in every layer and a loss that goes down.",
                     tuple(symptoms))
