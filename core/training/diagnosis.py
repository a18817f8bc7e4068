"""Diagnose a run: exploding, vanishing, diverging because of the learning rate, or healthy.

The symptoms are the notes' list (weights unexpectedly large, poor or rising loss, NaN loss, a
gradient norm persistently above 1.0) plus the vanishing ones, each reported with its evidence:
which layer, which step, which number. Exploding gradients are told apart from a learning rate that
is simply too large: the first grows through the depth of the network (the back-propagated signal
‖∂L/∂h_l‖ gets larger layer after layer towards the input), the second is a step too long on a
perfectly ordinary gradient (the update ‖ΔW‖/‖W‖ is large while the signal does not grow with depth).
"Poor" is judged against the task's no-learning baseline (`core.training.baseline`), "rising" against the
run's own best; a run is never called healthy while its loss is no better than a constant guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.numbers import sig
from core.training.baseline import Baseline

DEPTH_GAIN_EXPLODING = 100.0  # ‖∂L/∂h_1‖ / ‖∂L/∂h_L‖: the signal grows ×100 on its way back
DEPTH_GAIN_VANISHING = 0.01  # … or shrinks ×100
WEIGHT_GROWTH = 10.0  # ‖W_l‖ grew ten-fold during training
BIG_UPDATE = 0.1  # ‖ΔW‖/‖W‖ per step; the usual healthy range is around 1e-3
PERSISTENT = 0.9  # fraction of steps above the threshold that counts as "persistently"
SATURATED = 0.5  # half the units saturated or dead
TRAINED = 0.9  # "clearly below the baseline": the final loss under 90 % of the best constant prediction's
RISING = 1.1  # the final loss 10 % above the run's own best (smoothed over the same window)
FEW_STEPS = 50  # before this many steps a loss at chance is "not yet", not a verdict on a setting
SMALL_UPDATE = 1e-4  # ‖ΔW‖/‖W‖ ten times below the usual 10⁻³: the learning rate is what holds training back
VERDICTS = ("exploding", "diverging", "vanishing", "not learning", "healthy", "not enough steps")


@dataclass(frozen=True)
class Symptom:
    name: str
    present: bool
    evidence: str


@dataclass(frozen=True)
class Diagnosis:
    verdict: str  # one of VERDICTS
    headline: str
    symptoms: tuple[Symptom, ...] = field(default=())
    step: int = 0  # the last step the diagnosis looked at (1-based)
    final_loss: float = math.nan  # mean loss over the last window (inf once non-finite)
    baseline: Baseline | None = None
    depth_gain: float = math.nan  # ‖∂L/∂h₁‖ / ‖∂L/∂h_L‖ at `gain_step`
    gain_step: int = 0
    first_gain: float = math.nan  # … at step 1
    max_gain: float = math.nan  # … its largest value over the steps looked at
    max_gain_step: int = 0
    start_loss: float = math.nan
    update_ratio: float = math.nan  # median over steps of the largest ‖ΔW_l‖/‖W_l‖

    @property
    def present(self) -> list[Symptom]:
        return [s for s in self.symptoms if s.present]

    @property
    def poor(self) -> bool:
        """The loss is not clearly below the no-learning baseline (or is not finite)."""
        return is_poor(self.final_loss, self.baseline)


def is_poor(final: float, baseline: Baseline | None) -> bool:
    """True when `final` is not clearly below the baseline (TRAINED of it) or not finite; without a baseline
    only a non-finite loss is poor."""
    if not math.isfinite(final):
        return True
    return baseline is not None and final >= TRAINED * baseline.value


def window(steps: int) -> int:
    """How many of the last steps the final loss averages over: a fifth of the run, at least 1."""
    return max(1, steps // 5)


def final_loss(loss: np.ndarray) -> float:
    """Mean loss over the last fifth of the steps; inf when any of them is not finite (or there are none)."""
    if len(loss) == 0:
        return math.inf
    tail = loss[-window(len(loss)):]
    return float(np.mean(tail)) if np.isfinite(tail).all() else math.inf


def _first_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[0]) if len(finite) else math.nan


def _g(x: float) -> str:
    """A number for a sentence: 3 significant digits, × 10ⁿ when large or small, ∞ and NaN spelled out."""
    return sig(x, 3)


def _gains(grad_h: np.ndarray) -> np.ndarray:
    """‖∂L/∂h₁‖ / ‖∂L/∂h_L‖ at every step (NaN where not finite or undefined)."""
    if grad_h.shape[1] < 2:
        return np.full(len(grad_h), math.nan)
    first, last = grad_h[:, 0], grad_h[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(last > 0, first / np.where(last > 0, last, 1.0), np.where(first > 0, math.inf, math.nan))
    gain[~(np.isfinite(first) & np.isfinite(last))] = math.nan
    return gain


RECORDED = {"loss": "the loss", "grad_norm": "‖∂L/∂W‖", "grad_w": "‖∂L/∂W_l‖", "grad_h": "‖∂L/∂h_l‖",
            "weight": "‖W_l‖", "update_ratio": "‖ΔW_l‖/‖W_l‖"}


def _finite_text(h: dict[str, np.ndarray]) -> str:
    """Whether every recorded value is finite, and if not which records are not (from which step)."""
    bad = []
    for key, name in RECORDED.items():
        values = h.get(key)
        if values is None or not len(values):
            continue
        rows = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if rows.any():
            bad.append(f"{name} from step {int(np.flatnonzero(rows)[0]) + 1}")
    if not bad:
        return "every recorded value is finite"
    return "the loss stays finite, but these records are inf or NaN: " + ", ".join(bad)


def _times(a: float, b: float) -> float:
    """a / b for a sentence (inf when b is 0)."""
    return a / b if b else (math.inf if a else math.nan)


def _best_smoothed(loss: np.ndarray, w: int) -> float:
    """The lowest mean over `w` consecutive finite losses (the run's own best, as smooth as its final loss)."""
    finite = loss[np.isfinite(loss)]
    if len(finite) < w:
        return float(np.min(finite)) if len(finite) else math.nan
    sums = np.cumsum(np.concatenate(([0.0], finite.astype(np.float64))))
    return float(((sums[w:] - sums[:-w]) / w).min())  # every window's mean, in O(steps)


def diagnose(history: dict[str, np.ndarray], *, lr: float, activation: str, nonfinite=None,
             threshold: float = 1.0, baseline: Baseline | None = None, step: int | None = None) -> Diagnosis:
    """A verdict with evidence for the recorded steps (`Run.history.arrays()`) up to `step` (default: the latest).

    `baseline` is the task's no-learning loss (`core.training.baseline.of_run`); without it "poor" cannot be
    judged and only a rising or non-finite loss counts.
    """
    total = len(history["loss"])
    steps = total if step is None else max(0, min(int(step), total))
    if steps == 0:
        return Diagnosis("not enough steps", "Train at least one step to get a diagnosis.", baseline=baseline)
    h = {k: v[:steps] for k, v in history.items() if isinstance(v, np.ndarray) and len(v) == total}
    if nonfinite is not None and nonfinite.step > steps:
        nonfinite = None  # it happened after the inspected step
    loss = h["loss"]
    grad_norm, grad_h, grad_w = h["grad_norm"], h["grad_h"], h["grad_w"]
    weight, ratio, saturation = h["weight"], h["update_ratio"], h["saturation"]
    symptoms: list[Symptom] = []
    L = grad_h.shape[1]

    # The back-propagated signal from the last hidden layer to the first, at the inspected step (or the last
    # step where it is finite), with its largest value over the run for context.
    gains = _gains(grad_h)
    known = np.flatnonzero(~np.isnan(gains))
    gain_step = int(known[-1]) + 1 if len(known) else 0
    depth_gain = float(gains[gain_step - 1]) if gain_step else math.nan
    per_layer = (depth_gain ** (1 / (L - 1)) if L >= 2 and depth_gain > 0 and math.isfinite(depth_gain)
                 else math.nan)
    first_gain = float(gains[0])
    max_gain_step = int(known[np.argmax(gains[known])]) + 1 if len(known) else 0
    max_gain = float(gains[max_gain_step - 1]) if max_gain_step else math.nan
    # Every back-propagated gradient exactly 0 at the inspected step (no ratio exists, and nothing trains the hidden
    # layers): e.g. every unit saturated so hard that φ'(z) rounds to 0.
    silent = bool(L >= 2 and np.isfinite(grad_h[-1]).all() and not np.any(grad_h[-1]))
    grows = bool(depth_gain >= DEPTH_GAIN_EXPLODING)
    shrinks = bool(depth_gain <= DEPTH_GAIN_VANISHING)
    where = f"at step {gain_step}" + ("" if gain_step == steps else f" (the last step with finite values; "
                                      f"step {steps} is inspected)")
    if L < 2:
        gain_text = "needs at least 2 hidden layers"
    elif not gain_step and silent:
        gain_text = (f"at step {steps}, ‖∂L/∂h₁‖ and ‖∂L/∂h_{L}‖ are both exactly 0: no back-propagated signal gets "
                     f"back even to layer {L}, so there is no ratio to take")
    elif not gain_step:
        gain_text = ("no step has a finite ‖∂L/∂h₁‖ / ‖∂L/∂h_" + str(L) + "‖" if np.isfinite(grad_h).any() else
                     "no step has finite back-propagated gradients")
    elif depth_gain == 0:
        gain_text = f"{where}, ‖∂L/∂h₁‖ is exactly 0 while ‖∂L/∂h_{L}‖ = {_g(grad_h[gain_step - 1, -1])}: " \
                    "nothing reaches layer 1"
    else:
        gain_text = (f"{where}, ‖∂L/∂h₁‖ / ‖∂L/∂h_{L}‖ = {_g(depth_gain)}: a factor of about {_g(per_layer)} per "
                     "layer on the way back to the input")
        if len(known) > 1:
            gain_text += (f" (step 1: {_g(first_gain)}; largest over steps 1–{steps}: {_g(max_gain)} at step "
                          f"{max_gain_step})")
    symptoms.append(Symptom("back-propagated signal grows with depth", grows, gain_text))

    # Seeds symptom: the gradient norm persistently above the threshold.
    above = float(np.mean(~(grad_norm <= threshold)))  # NaN and inf count as above
    persistent = steps >= 5 and above >= PERSISTENT
    finite_rows = np.flatnonzero(np.isfinite(grad_w).all(axis=1))
    if len(finite_rows):
        row = grad_w[finite_rows[-1]]
        top_layer = int(np.argmax(row))
        share = f"; at step {finite_rows[-1] + 1} it is dominated by ‖∂L/∂W_{top_layer + 1}‖ = {_g(row[top_layer])}"
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

    # NaN loss; a loss that rises against the run's own best; a loss no better than a constant guess.
    nan_loss = nonfinite is not None or not math.isfinite(loss[-1])
    start = _first_finite(loss)
    w = window(steps)
    end = final_loss(loss)
    best = _best_smoothed(loss, w)  # the best mean of `w` consecutive losses: what "rising" compares against
    latest = float(loss[-1])
    finite_at = np.flatnonzero(np.isfinite(loss))
    lowest_at = int(finite_at[np.argmin(loss[finite_at])]) + 1 if len(finite_at) else 0
    lowest = float(loss[lowest_at - 1]) if lowest_at else math.nan  # the true minimum: ≤ every loss shown
    rising = bool(steps >= 3 and (nan_loss or (math.isfinite(best) and end > RISING * best and end - best > 1e-12)))
    poor = is_poor(end, baseline)
    symptoms.append(Symptom("NaN or inf in training", bool(nan_loss),
                            nonfinite.explain() if nonfinite is not None else
                            ("the loss is not finite" if nan_loss else _finite_text(h))))
    over = f"the last {w} steps" if w > 1 else "the last step"
    best_words = f"the best mean over {w} consecutive steps" if w > 1 else "its lowest"
    loss_text = (f"loss {_g(start)} at step 1, {_g(lowest)} at its lowest (step {lowest_at}), {_g(latest)} at step "
                 f"{steps}; mean {_g(end)} over {over}" if lowest_at else f"the loss is not finite at any of the {steps} steps")
    if baseline is not None:
        verdict_word = "not clearly below it" if poor else "clearly below it"
        loss_text += (f"; a constant guess scores {baseline.how}, and the loss is {verdict_word} (under "
                      f"{TRAINED:.0%} of it, {_g(TRAINED * baseline.value)}, counts as trained)")
    if rising and math.isfinite(end):
        loss_text += f"; rising: that is {_g(_times(end, best))} times {best_words} ({_g(best)})"
    symptoms.append(Symptom("loss rising or poor", bool(rising or poor), loss_text))

    # Learning rate: the size of each step relative to the weights.
    finite_ratio = ratio[np.isfinite(ratio).all(axis=1)]
    med_ratio = float(np.median(finite_ratio.max(axis=1))) if len(finite_ratio) else math.nan
    big_steps = bool(med_ratio >= BIG_UPDATE)
    symptoms.append(Symptom(
        "updates too large for the weights", big_steps,
        f"median over steps of the largest ‖ΔW_l‖/‖W_l‖ = {_g(med_ratio)} with learning rate {_g(lr)} "
        "(about 10⁻³ is typical)"))

    # Vanishing: tiny signal at the first layer, or saturated / dead units.
    first_w, last_w = _first_finite(grad_w[:, 0]), _first_finite(grad_w[:, -1])
    tiny = bool(shrinks or silent or (np.isfinite(grad_norm).all() and np.nanmax(grad_norm) < 1e-7))
    ratio_text = (f"{where}, ‖∂L/∂h₁‖ / ‖∂L/∂h_{L}‖ = {_g(depth_gain)}" if gain_step else gain_text)
    symptoms.append(Symptom(
        "gradient vanishes towards the input", tiny,
        f"{ratio_text}; at step 1, ‖∂L/∂W₁‖ = {_g(first_w)} vs ‖∂L/∂W_{grad_w.shape[1]}‖ = {_g(last_w)}"))
    sat_now = saturation[-1] if saturation.shape[1] else np.zeros(0)
    kind = "dead" if activation in ("relu", "leaky_relu") else "saturated"
    sat_layer = int(np.argmax(sat_now)) if len(sat_now) else 0
    saturated = bool(len(sat_now) and sat_now[sat_layer] >= SATURATED and activation != "linear")
    symptoms.append(Symptom(
        f"units {kind}", saturated,
        f"{sat_now[sat_layer]:.0%} of layer {sat_layer + 1}'s units are {kind} at step {steps}"
        if len(sat_now) else "no hidden layers"))

    def verdict(name: str, headline: str) -> Diagnosis:
        return Diagnosis(name, headline, tuple(symptoms), steps, end, baseline, depth_gain, gain_step, first_gain,
                         max_gain, max_gain_step, start, med_ratio)

    if nonfinite is not None and nonfinite.step == 1 and nonfinite.stage != "update":
        return verdict("exploding", f"Exploding: at step 1 the very first forward/backward pass overflowed "
                       f"({nonfinite.tensor} became {nonfinite.kind}) before any update — the signal grows layer by "
                       "layer with these weights and inputs, whatever the learning rate.")
    if grows:
        return verdict("exploding", f"Exploding gradients: at step {gain_step} layer 1 receives ×{_g(depth_gain)} "
                       f"the back-propagated signal of layer {L} (×{_g(per_layer)} per layer).")
    if (rising or nan_loss) and big_steps:
        return verdict("diverging", "Diverging because the learning rate is too large: each step changes the "
                       f"weights by {_g(med_ratio)} times their size (median over {steps} steps) while the "
                       f"back-propagated signal does not grow with depth (at most ×{_g(max_gain)} from "
                       f"layer {L} to layer 1 in any step) — a smaller learning rate, not a deeper fix, is what this "
                       "needs." if L >= 2 and len(known) else
                       "Diverging because the learning rate is too large: each step changes the weights by "
                       f"{_g(med_ratio)} times their size (median over {steps} steps) — a smaller learning rate "
                       "is what this needs.")
    # Saturated or dead units only make a vanishing verdict when the signal that reaches layer 1 is smaller than the
    # one at the last layer (or, with no such ratio, when the run does not train): a net whose gradient grows towards
    # the input is not starved, however many of one layer's units are saturated.
    starved = saturated and (bool(depth_gain < 1) or (math.isnan(depth_gain) and poor))
    if nan_loss:  # an overflow is never "vanishing", even where a dead layer passes no gradient back
        return verdict("exploding", f"Exploding gradients: the numbers became inf or NaN by step {steps}.")
    if tiny or starved:
        return verdict("vanishing", f"Vanishing gradients: by step {steps} the signal that reaches the first "
                       "layers is too small to train them" + (f" (×{_g(depth_gain)} from layer {L} to layer 1 at step {gain_step})"
                                          if shrinks else f" (every ‖∂L/∂h_l‖ is exactly 0 at step {steps})"
                                          if silent else "") + "."
                       + (f" {sat_now[sat_layer]:.0%} of layer {sat_layer + 1}'s units are {kind} at step {steps}."
                          if starved else ""))
    if persistent and big_weights:
        return verdict("exploding", f"Exploding gradients: by step {steps} the gradient norm has stayed above "
                       f"{_g(threshold)} and the weights keep growing, although the steps are not large for the weights.")
    if rising:
        return verdict("diverging", f"The loss is rising by step {steps} (mean over {over}: {_g(end)}, "
                       f"{_g(_times(end, best))} times {best_words}, {_g(best)}) although neither the gradients nor "
                       "the steps look extreme: try a smaller learning rate.")
    if poor:
        return verdict("not learning", f"Not learning (yet): after {steps} step{'s' if steps > 1 else ''} the "
                       f"loss {_g(end)} is no better "
                       f"than a constant guess ({baseline.how if baseline else '—'}), although the gradients "
                       f"look ordinary; each step changes the weights by {_g(med_ratio)} times their size.")
    loss_part = (f"a loss of {_g(latest)} at step {steps} (mean {_g(end)} over {over}"
                 + (f", {_g(end / baseline.value * 100)}% of a constant guess's {_g(baseline.value)})."
                    if baseline is not None and baseline.value > 0 else ")."))
    units = (f" {sat_now[sat_layer]:.0%} of layer {sat_layer + 1}'s units are {kind}, yet the signal reaches layer 1 "
             "and the loss goes down." if saturated else "")
    return verdict("healthy", f"Healthy at step {steps}: {_gain_words(depth_gain, gain_step, L)}, and {loss_part}"
                   + units)


def _gain_words(gain: float, step: int, layers: int) -> str:
    """What ‖∂L/∂h₁‖ / ‖∂L/∂h_L‖ says in words that are true of the number (for a run that is neither exploding
    nor vanishing, so the ratio lies between DEPTH_GAIN_VANISHING and DEPTH_GAIN_EXPLODING)."""
    if layers < 2 or not step or not math.isfinite(gain) or gain <= 0:
        return "no gradient grows or vanishes"
    ratio = f"‖∂L/∂h₁‖ / ‖∂L/∂h_{layers}‖ = {_g(gain)} at step {step}"
    if 0.5 <= gain <= 2:
        return f"gradients of a similar size in every layer ({ratio})"
    if gain > 1:
        return (f"the back-propagated signal grows ×{_g(gain)} from layer {layers} to layer 1, below the "
                f"×{_g(DEPTH_GAIN_EXPLODING)} that this diagnosis calls exploding ({ratio})")
    return (f"the back-propagated signal shrinks to ×{_g(gain)} from layer {layers} to layer 1, above the "
            f"×{_g(DEPTH_GAIN_VANISHING)} that this diagnosis calls vanishing ({ratio})")


def diagnose_run(run, *, threshold: float = 1.0, step: int | None = None) -> Diagnosis:
    """`diagnose` for a `core.training.trainer.Run`, judged against its own data's no-learning baseline."""
    from core.training.baseline import of_run

    return diagnose(run.history.arrays(), lr=run.config.lr, activation=run.config.activation,
                    nonfinite=run.nonfinite, threshold=threshold, baseline=of_run(run), step=step)


# ---------------------------------------------------------------- the likely cause among the settings

RELU_LIKE = ("relu", "leaky_relu")


@dataclass(frozen=True)
class Cause:
    """The setting most likely behind a verdict, in a sentence, and the remedies to try (keys of
    `core.training.remedies.REMEDIES`, best first)."""

    setting: str
    text: str
    remedies: tuple[str, ...] = ()


def weight_scale(config) -> tuple[float, float, str]:
    """(σ of a hidden weight as initialised, the σ the activation's standard scheme uses, that scheme's name).

    Hidden layers are width × width, so fan_in = fan_out = width: He uses σ = √(2/width) for ReLU,
    Xavier/Glorot √(1/width) for the others. A constant c acts like σ = |c| (every product adds up).
    """
    n = config.width
    s = abs(config.init_scale)
    sigma = {
        "constant": s, "normal": s, "uniform": s / math.sqrt(3), "default": 1 / math.sqrt(3 * n),
        "xavier_uniform": s / math.sqrt(n), "xavier_normal": s / math.sqrt(n),
        "he_normal": s * math.sqrt(2 / n), "he_uniform": s * math.sqrt(2 / n), "orthogonal": s / math.sqrt(n),
    }[config.init]
    if config.activation in RELU_LIKE:
        return sigma, math.sqrt(2 / n), f"He's √(2/{n})"
    return sigma, math.sqrt(1 / n), f"Xavier's √(1/{n})"


def likely_cause(config, diagnosis: Diagnosis) -> Cause | None:
    """Which of the settings (initial scale against He/Xavier, activation, depth, learning rate, input scale) most
    likely produced this verdict, and what to try; None for a healthy run."""
    verdict = diagnosis.verdict
    sigma, standard, scheme = weight_scale(config)
    r = sigma / standard if standard > 0 else math.inf
    scale_fix = ("he",) if config.activation in RELU_LIKE else ("xavier", "orthogonal")
    scale_text = (f"the initial weights have σ ≈ {_g(sigma)} where {scheme} = {_g(standard)}: {_g(r)} times the "
                  "scale that keeps the signal's size from layer to layer")
    if verdict == "exploding":
        if config.input_scale >= 10 and not config.normalize_inputs:
            return Cause("input scale", f"Every input is multiplied by {_g(config.input_scale)}, and the first layer's "
                         "gradient is proportional to its input.", ("normalize_inputs", "clip_norm"))
        if r >= 1.2:
            return Cause("initial scale", f"Initial scale: {scale_text}, so each of the {config.depth} layers "
                         "multiplies the back-propagated signal by roughly that factor.", (*scale_fix, "clip_norm"))
        if config.activation in RELU_LIKE and config.depth >= 10:
            return Cause("depth", f"Depth: {config.depth} unbounded {config.activation} layers multiply the signal "
                         "again and again.", ("fewer_layers", "bounded", "clip_norm"))
        return Cause("learning rate", f"The gradient grows with depth ({config.depth} layers) and the learning rate "
                     f"{_g(config.lr)} turns it into large steps.", ("clip_norm", "smaller_lr"))
    if verdict == "diverging":
        return Cause("learning rate", f"Learning rate {_g(config.lr)}: the steps are too long for this loss surface, "
                     "while the back-propagated signal itself is ordinary.", ("smaller_lr",))
    if verdict == "vanishing":
        if config.activation in ("sigmoid", "tanh") and r >= 1.5:
            return Cause("initial scale", f"Initial scale: {scale_text}; z = w·x lands far from 0, where "
                         f"{config.activation}' is almost 0 (saturation).", (*scale_fix, "batchnorm"))
        if config.activation == "sigmoid":
            return Cause("activation", f"Activation: σ'(z) ≤ ¼, so each of the {config.depth} sigmoid layers shrinks "
                         f"the back-propagated signal about four-fold unless its weights make up for it (here {scale_text}"
                         ").", ("fewer_layers", "batchnorm", *scale_fix))
        if r <= 0.8:
            return Cause("initial scale", f"Initial scale: {scale_text}, so each layer shrinks the signal.",
                         (*scale_fix, "batchnorm"))
        return Cause("depth", f"Depth: {config.depth} layers, each a factor below 1.", ("fewer_layers", "batchnorm"))
    if verdict == "not learning":
        if diagnosis.step < FEW_STEPS:
            return Cause("training time", f"Only {diagnosis.step} step{'s' if diagnosis.step > 1 else ''} so far: "
                         "nothing is exploding or vanishing, the network simply has not learnt yet. Train longer "
                         "before judging.", ())
        if diagnosis.update_ratio < SMALL_UPDATE:
            return Cause("learning rate", f"Learning rate {_g(config.lr)} with {config.optimizer}: each step changes "
                         f"the weights by only {_g(diagnosis.update_ratio)} times their size (about 10⁻³ is "
                         "typical). Raise the learning rate or train longer; nothing here is exploding.", ())
        return Cause("capacity or data", f"After {diagnosis.step} steps of ordinary size "
                     f"({_g(diagnosis.update_ratio)} times the weights) the loss is still at the level of a constant "
                     "guess: the network may be too small for this task, or the inputs carry little signal. Nothing "
                     "here is exploding.", ())
    return None
