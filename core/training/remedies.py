"""The notes' remedies for exploding gradients, each as a change to a training config, with its formula.

Every remedy uses torch's own machinery (clip_grad_norm_, clip_grad_value_, weight_decay, BatchNorm1d,
LayerNorm, parametrizations.weight_norm, torch.nn.init). `compare` trains a baseline and its variants on identical
data with the same seed — hence the same initial weights wherever the architecture allows — and
`rank_single_remedies` tries every remedy alone against a baseline and ranks them with their evidence,
including the ones that do not help.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.budget import UNLIMITED, Budget
from core.numbers import sig
from core.training.config import ConfigError, TrainConfig
from core.training.diagnosis import TRAINED, Diagnosis, diagnose_run, final_loss
from core.training.memory import lower_kept, lower_peak
from core.training.trainer import Run


@dataclass(frozen=True)
class Setting:
    """The one number a remedy takes (a threshold, a λ, a factor), with its limits."""

    label: str
    default: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Remedy:
    key: str
    title: str
    formula: str  # LaTeX
    explain: str  # two or three sentences
    apply: Callable[[TrainConfig, float | None], TrainConfig]  # (config, setting value or None) → config
    setting: Setting | None = None

    def value(self, settings: dict[str, float] | None) -> float | None:
        """This remedy's setting from `settings`, else its default; refused outside its limits."""
        if self.setting is None:
            return None
        value = (settings or {}).get(self.key, self.setting.default)
        if not (isinstance(value, int | float) and math.isfinite(value) and self.setting.lo <= value <= self.setting.hi):
            raise ConfigError(f"{self.title}: {self.setting.label} must be between {sig(self.setting.lo)} and "
                              f"{sig(self.setting.hi)} (got {value!r}).")
        return float(value)

    def configure(self, config: TrainConfig, settings: dict[str, float] | None = None) -> TrainConfig:
        return self.apply(config, self.value(settings))

    def applies_to(self, config: TrainConfig, settings: dict[str, float] | None = None) -> bool:
        """False when the remedy would change nothing (e.g. 'bounded activation' on a tanh net)."""
        try:
            return self.configure(config, settings).validated() != config
        except ConfigError:
            return False


def _bounded(config: TrainConfig, _: float | None) -> TrainConfig:
    if config.activation in ("tanh", "sigmoid"):
        return config
    return replace(config, activation="tanh", init="xavier_normal", init_scale=1.0)


def _fewer_layers(config: TrainConfig, factor: float | None) -> TrainConfig:
    return replace(config, depth=max(1, int(config.depth // factor)))


REMEDIES: dict[str, Remedy] = {r.key: r for r in (
    Remedy("clip_norm", "Gradient clipping by norm",
           r"g \leftarrow \tau\,\frac{g}{\lVert g\rVert}\ \text{ if } \lVert g\rVert > \tau",
           "Before each step the whole gradient vector (every parameter) is rescaled so that its norm is at most "
           "τ; its direction is kept. torch.nn.utils.clip_grad_norm_ returns the norm before clipping, charted "
           "beside the norm after. It caps the step, not the cause: a vanishing gradient is not helped at all.",
           lambda c, v: replace(c, clip_norm=v), Setting("threshold τ", 1.0, 1e-6, 1e6)),
    Remedy("clip_value", "Gradient clipping by value",
           r"g_i \leftarrow \max(-v, \min(v, g_i))",
           "Every component of the gradient is clamped to [−v, v] (torch.nn.utils.clip_grad_value_). Unlike "
           "clipping by norm this changes the direction of the step when some components are clamped and "
           "others are not.",
           lambda c, v: replace(c, clip_value=v), Setting("limit v", 0.5, 1e-6, 1e6)),
    Remedy("l2", "L2 regularisation (loss penalty)",
           r"L' = L + \tfrac{\lambda}{2}\textstyle\sum w^2",
           "A penalty on the squared weights is added to the loss, so every step also pulls each weight towards 0 "
           "by λ·w. Smaller weights mean smaller local factors φ'(z)·w in the chain rule. The loss charted is "
           "the data loss, without the penalty.",
           lambda c, v: replace(c, l2=v), Setting("λ", 1e-3, 1e-8, 10.0)),
    Remedy("l1", "L1 regularisation (loss penalty)",
           r"L' = L + \lambda\textstyle\sum |w|",
           "A penalty on the absolute weights: every step pulls each weight towards 0 by λ·sign(w), which drives "
           "small weights to exactly 0. The loss charted is the data loss, without the penalty.",
           lambda c, v: replace(c, l1=v), Setting("λ", 1e-4, 1e-8, 10.0)),
    Remedy("weight_decay", "L2 as weight decay",
           r"w \leftarrow w - \alpha\,(\nabla L + \lambda w)",
           "The optimiser adds λ·w to every parameter's gradient (torch's weight_decay argument), so each step "
           "shrinks the weights by α·λ·w. For plain SGD this equals the L2 penalty; for Adam it does not "
           "(AdamW decouples it).",
           lambda c, v: replace(c, weight_decay=v), Setting("λ", 1e-3, 1e-8, 10.0)),
    Remedy("xavier", "Xavier/Glorot initialisation",
           r"\operatorname{Var}(w) = \frac{2}{n_\text{in} + n_\text{out}}",
           "Glorot & Bengio (2010) chose the variance that keeps the signal's size roughly constant forward and "
           "backward through tanh-like layers. It fixes a scale that is wrong from the start.",
           lambda c, _: replace(c, init="xavier_normal", init_scale=1.0)),
    Remedy("he", "He/Kaiming initialisation",
           r"\operatorname{Var}(w) = \frac{2}{n_\text{in}}",
           "He et al. (2015) double Xavier's variance for ReLU, which zeroes half of its inputs: each layer then "
           "keeps the signal's size, so the product over depth neither explodes nor vanishes.",
           lambda c, _: replace(c, init="he_normal", init_scale=1.0)),
    Remedy("orthogonal", "Orthogonal initialisation",
           r"W^\top W = I",
           "An orthogonal matrix preserves the length of every vector it multiplies, so a linear chain of them "
           "has all singular values exactly 1 (Saxe et al. 2014).",
           lambda c, _: replace(c, init="orthogonal", init_scale=1.0)),
    Remedy("batchnorm", "Batch normalisation",
           r"\hat z = \gamma\,\frac{z - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta",
           "Every hidden pre-activation is standardised over the batch before the activation (nn.BatchNorm1d), "
           "which undoes a wrong weight scale layer by layer. It is not a cure-all: at initialisation, deep "
           "batch-normalised nets can themselves have exploding gradients (Yang et al. 2019).",
           lambda c, _: replace(c, batchnorm=True, batch_size=max(c.batch_size, 2))),
    Remedy("layernorm_pre", "Layer normalisation (pre-norm)",
           r"\hat z = \gamma\,\frac{z - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,\quad"
           r"\mu, \sigma^2 \text{ over the units of one sample}",
           "Every hidden pre-activation z_l is standardised across the units of each sample, before the activation "
           "(nn.LayerNorm). Unlike batch norm it needs no batch and acts the same in training and evaluation. "
           "Multiplying W_l by c leaves LN(W_l h) unchanged and divides its Jacobian by c, so a wrong weight scale "
           "cannot compound from layer to layer.",
           lambda c, _: replace(c, layernorm="pre")),
    Remedy("layernorm_post", "Layer normalisation (post-norm)",
           r"h_{l+1} = \operatorname{LN}\big(\varphi(z_l)\big)\ \text{ or, with residuals, }\ "
           r"\operatorname{LN}\big(h_l + \varphi(z_l)\big)",
           "nn.LayerNorm on each layer's output instead of its pre-activation: with residual connections it "
           "normalises the residual stream itself, as the original Transformer did. That fixes the stream's size, "
           "but the identity path then passes through a normalisation at every layer; Xiong et al. (2020) show "
           "that post-norm Transformers have large gradients near the output at initialisation and need a "
           "learning-rate warm-up, while pre-norm ones do not.",
           lambda c, _: replace(c, layernorm="post")),
    Remedy("residual", "Residual connections",
           r"h_{l+1} = h_l + \varphi(W_l h_l + b_l),\quad "
           r"\frac{\partial h_{l+1}}{\partial h_l} = I + \operatorname{diag}(\varphi'(z_l))\,W_l",
           "Each layer adds its input back (He et al. 2016; a trained projection where the widths differ), so "
           "the gradient reaches every layer along the identity path and the product no longer needs every factor "
           "near 1: small weights stop the vanishing. Large weights are not cured: I + diag(φ')W is then no "
           "smaller than diag(φ')W, and without normalisation the stream h_l grows with depth; ResNets pair "
           "residuals with batch norm, Transformers with layer norm.",
           lambda c, _: replace(c, residual=True)),
    Remedy("weightnorm", "Weight normalisation",
           r"w = g\,\frac{v}{\lVert v\rVert}",
           "Each unit's weight vector is split into a length g and a direction v "
           "(nn.utils.parametrizations.weight_norm), which decouples the two and conditions the gradient. The "
           "initial weights are the same; only the trained parameters change.",
           lambda c, _: replace(c, weightnorm=True)),
    Remedy("smaller_lr", "Smaller learning rate",
           r"\alpha \leftarrow \alpha / k",
           "k times smaller steps. This cures divergence caused by too-large steps, and keeps exploded gradients "
           "from wrecking the weights in one step, but the gradients themselves stay as large.",
           lambda c, k: replace(c, lr=max(c.lr / k, 1e-6)), Setting("divide the learning rate by k", 10.0, 1.0, 1e6)),
    Remedy("bounded", "Bounded activation (tanh instead of ReLU)",
           r"\tanh(z) \in (-1, 1)",
           "ReLU's output is unbounded; tanh's stays within (−1, 1), so activations cannot blow up forward (the "
           "weights are re-initialised with Xavier, tanh's scheme). Its derivative is at most 1 and often much "
           "less, which can make gradients vanish instead.",
           _bounded),
    Remedy("fewer_layers", "Fewer layers",
           r"L \leftarrow \lfloor L/k \rfloor",
           "Fewer factors in the chain-rule product: with a factor of 1.5 per layer, 20 layers give 1.5²⁰ ≈ 3,300×, "
           "5 layers give 7.6×. A simpler network may be all the task needs.",
           _fewer_layers, Setting("divide the depth by k", 4.0, 1.0, 50.0)),
    Remedy("normalize_inputs", "Input normalisation",
           r"x \leftarrow \frac{x - \mu}{\sigma}",
           "Every input column is shifted and scaled to mean 0 and standard deviation 1: the fix for the notes' "
           "'large input values', whose size multiplies every first-layer gradient.",
           lambda c, _: replace(c, normalize_inputs=True)),
)}

#: for recurrent nets the notes' remedy is the LSTM: it lives on the Through time page, not here
RECURRENT_REMEDY = ("LSTM instead of a plain RNN",
                    "For recurrent nets the notes recommend LSTMs: the cell state is updated additively, "
                    "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, so the gradient through time is multiplied by the forget gate "
                    "f_t instead of by W_rec·φ' at every step (the constant error carousel).")


@dataclass(frozen=True)
class Outcome:
    """One trained variant: what it was, how it ended, and the evidence."""

    label: str
    remedies: tuple[str, ...]
    run: Run
    diagnosis: Diagnosis
    cut: str | None = None  # set when the caller's time limit stopped the comparison (the same in every outcome)

    @property
    def diverged_at(self) -> int | None:
        nf = self.run.nonfinite
        return nf.step if nf is not None else None

    @property
    def first_loss(self) -> float:
        loss = self.run.history.arrays()["loss"]
        return float(loss[0]) if len(loss) else math.nan

    @property
    def final_loss(self) -> float:
        """The diagnosis's final loss: the mean over the last fifth of the steps (inf if the run diverged)."""
        return final_loss(self.run.history.arrays()["loss"])

    @property
    def baseline_loss(self) -> float:
        """The no-learning loss of this run's task (the best constant prediction), NaN when there is none."""
        b = self.diagnosis.baseline
        return b.value if b is not None else math.nan

    @property
    def trains(self) -> bool:
        """No non-finite value and a final loss clearly below the no-learning baseline."""
        return self.diverged_at is None and not self.diagnosis.poor and math.isfinite(self.final_loss) \
            and math.isfinite(self.baseline_loss)

    @property
    def max_grad_norm(self) -> float:
        """Largest global gradient norm before clipping (what the network produced, not what was applied)."""
        g = self.run.history.arrays()["grad_total_raw"]
        return float(np.max(g)) if len(g) and np.isfinite(g).all() else math.inf


def with_remedies(config: TrainConfig, keys: tuple[str, ...], settings: dict[str, float] | None = None
                  ) -> TrainConfig:
    for key in keys:
        config = REMEDIES[key].configure(config, settings)
    return config.validated()


def compare(baseline: TrainConfig, variants: list[tuple[str, tuple[str, ...]]], steps: int,
            on_progress: Callable[[int, int], None] | None = None, csv_bytes: bytes | None = None,
            settings: dict[str, float] | None = None, budget: Budget = UNLIMITED) -> list[Outcome]:
    """Train the baseline and each variant for `steps` steps on the same data and seed (within the caller's
    `budget` of work, memory and time, none by default).

    The seed fixes the initial weights, so every variant whose architecture matches the baseline's starts
    from the very same W (batch norm adds no random numbers, weight norm reparametrises the same W). The runs take
    their steps in turn, so that a time limit stops every one of them at the same step (each outcome's `cut` says
    where), and a run that overflows stops while the others go on.
    """
    total = steps * (1 + len(variants))
    budget.check_work(baseline.depth, baseline.width, steps, 1 + len(variants))
    labels = ["baseline"] + [label for label, _ in variants]
    keys = [()] + [k for _, k in variants]
    runs = [Run(with_remedies(baseline, k, settings) if k else baseline, csv_bytes) for k in keys]
    need = [run.footprint(steps) for run in runs]
    data = runs[0].dataset
    shape = {"n_in": data.n_features, "n_out": data.n_outputs, "n_samples": data.n}
    budget.check_memory(max(f.step for f in need), sum(f.kept for f in need),
                        lambda: lower_peak(baseline, budget.request_bytes or 0, **shape),
                        lambda: lower_kept(baseline, budget.session_bytes or 0, 0, len(runs), **shape))
    for run, f in zip(runs, need, strict=True):
        budget.claim(run, f.kept, "compare fewer variants or a smaller network")
    deadline, cut = budget.deadline(), None
    with budget.turns(sum(run.work(steps) for run in runs)) as turn:
        for k in range(steps):
            if k and deadline.expired:
                cut = (f"Stopped after {k:,} of {steps:,} steps per run: one request may run for at most "
                       f"{budget.seconds:g} s on a shared server, and the {len(runs)} runs share it. Every run is "
                       f"shown at step {k:,}; ask for at most {k:,} steps, or compare fewer variants, to see them "
                       "finish.")
                break
            for run in runs:
                if not run.stopped:
                    turn()
                    run.step()
            if on_progress is not None:
                on_progress(sum(steps if run.stopped else run.steps_done for run in runs), total)
    for run in runs:
        run.release()
    return [Outcome(label, k, run, diagnose_run(run), cut) for label, k, run in zip(labels, keys, runs, strict=True)]


#: how a remedy fared, best first
CURES, CONTAINS, VANISHES, FAILS = "cures it", "helps, not cured", "trades it for vanishing", "does not help"
VERDICT_ORDER = (CURES, CONTAINS, VANISHES, FAILS)


def classify(outcome: Outcome, base: Outcome) -> str:
    """Cures it: trains (a final loss clearly below the no-learning baseline, nothing non-finite) and the
    diagnosis is healthy. Helps, not cured: it trains, but the diagnosis is still exploding, diverging or
    vanishing. Trades it for vanishing: it does not train and the gradient now vanishes (where the baseline's
    did not). Does not help: diverges, or ends no better than a constant guess."""
    if outcome.trains:
        return CURES if outcome.diagnosis.verdict == "healthy" else CONTAINS
    if outcome.diverged_at is None and outcome.diagnosis.verdict == "vanishing" \
            and base.diagnosis.verdict != "vanishing":
        return VANISHES
    return FAILS


def relative_loss(o: Outcome) -> float:
    """Final loss as a fraction of the no-learning baseline (inf when diverged or when there is no baseline)."""
    b = o.baseline_loss
    return o.final_loss / b if math.isfinite(o.final_loss) and b > 0 else math.inf


def rank_single_remedies(baseline: TrainConfig, steps: int, on_progress: Callable[[int, int], None] | None = None,
                         csv_bytes: bytes | None = None, settings: dict[str, float] | None = None,
                         budget: Budget = UNLIMITED) -> tuple[Outcome, list[tuple[Outcome, str, str]]]:
    """Every applicable remedy alone against the baseline: (baseline outcome, [(outcome, class, evidence)]),
    best first — by class, then by final loss relative to the no-learning baseline, then by the largest gradient
    norm, then by the order of REMEDIES (deterministic)."""
    keys = [k for k, r in REMEDIES.items() if r.applies_to(baseline, settings)]
    outcomes = compare(baseline, [(REMEDIES[k].title, (k,)) for k in keys], steps, on_progress, csv_bytes, settings,
                       budget)
    base = outcomes[0]
    rows = [(o, classify(o, base), i) for i, o in enumerate(outcomes[1:])]
    rows.sort(key=lambda r: (VERDICT_ORDER.index(r[1]), relative_loss(r[0]), r[0].max_grad_norm, r[2]))
    return base, [(o, kind, evidence(o, base, kind)) for o, kind, _ in rows]


def fmt_g(x: float) -> str:
    """A measured number for a table or a sentence (the app's one human format)."""
    return sig(x, 3)


def loss_text(o: Outcome) -> str:
    if o.diverged_at is not None:
        return f"diverged (inf/NaN) at step {o.diverged_at}"
    return f"loss {fmt_g(o.first_loss)} → {fmt_g(o.final_loss)}"


def evidence(outcome: Outcome, base: Outcome, kind: str) -> str:
    """Why this remedy ranks where it does, compared with the baseline and with a constant guess, in numbers."""
    b = outcome.baseline_loss
    parts = [f"{loss_text(outcome)} (baseline: {loss_text(base)})"]
    if math.isfinite(b):
        parts.append(f"a constant guess scores {fmt_g(b)}, and trained means under {fmt_g(TRAINED * b)}")
    parts += [f"largest gradient norm {fmt_g(outcome.max_grad_norm)} (baseline {fmt_g(base.max_grad_norm)})",
              f"diagnosis: {outcome.diagnosis.verdict}"]
    clipped = any(k in ("clip_norm", "clip_value") for k in outcome.remedies)
    verdict = outcome.diagnosis.verdict
    d = outcome.diagnosis
    if kind == CURES:
        parts.append("it trains and the back-propagated signal is healthy")
    elif kind == CONTAINS:
        if verdict == "diverging":
            parts.append("it trains, but the loss is still unstable: the steps are still too large")
        elif verdict == "exploding" and "batchnorm" in outcome.remedies:
            parts.append("it trains, but the gradient explodes: batch norm at initialisation itself makes deep nets' "
                         "gradients explode (Yang et al. 2019)")
        elif verdict == "exploding" and clipped:
            parts.append(f"it trains: the step is tamed, but the back-propagated gradient itself still explodes "
                         f"(×{fmt_g(d.depth_gain)} from the last hidden layer to the first at step {d.gain_step})")
        elif verdict == "exploding":
            parts.append(f"it trains, but the back-propagated signal still grows ×{fmt_g(d.depth_gain)} from the last "
                         f"hidden layer to the first at step {d.gain_step}")
        else:
            parts.append(f"it trains, but the diagnosis is {verdict}")
    elif kind == VANISHES:
        parts.append("it does not train: the gradient now vanishes instead")
    elif outcome.diverged_at is not None:
        parts.append("it still overflows")
    elif verdict == "vanishing":
        parts.append("the gradient still vanishes" + (" (clipping can only shrink a gradient)" if clipped else ""))
    elif verdict == "exploding" and "batchnorm" in outcome.remedies:
        parts.append("batch norm itself makes the gradient explode in this deep net (Yang et al. 2019)")
    else:
        parts.append("no overflow, but the loss is no better than a constant guess" if math.isfinite(b)
                     else "the loss does not improve")
    return "; ".join(parts) + "."
