"""The notes' story as a lecture: seven scenes, each with a live result and the exact view to open.

Every number a scene shows is computed when the scene is shown, by the same code as the pages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from core.numbers import fmt, sig, times_ten


@dataclass(frozen=True)
class Scene:
    title: str
    story: str
    question: str  # asked before the result is revealed ("predict, then reveal")
    page: str
    query: dict[str, str]
    result: Callable[[], str]


def _worked_example() -> str:
    from core.chain.products import given_chain

    return f"`{given_chain((150, 100, 125, 50), 500, Fraction('0.01')).update.equation_text()}`"


def _saturation() -> str:
    from core.chain.products import Network, network_chain

    chain = network_chain(Network())
    value = fmt(chain.gradient)
    value = value if value.startswith("≈") else f"= {value}"
    return (f"With w = 500 the real sigmoid chain gives ∂L/∂w {value}: the neurons saturate "
            "(σ'(z) ≈ 0) and the gradient **vanishes**.")


def _exploding() -> str:
    from core.training.scenarios import SCENARIOS
    from core.training.trainer import Run

    run = Run(SCENARIOS["relu_big_init"].config)
    run.step()
    h = run.history.arrays()["grad_h"]
    return (f"At the very first step ‖∂L/∂h₁‖ is {sig(h[0, 0] / h[0, -1])} times ‖∂L/∂h₂₀‖: "
            f"×{sig((h[0, 0] / h[0, -1]) ** (1 / (h.shape[1] - 1)))} per layer.")


def _diagnosis() -> str:
    from core.training.diagnosis import diagnose_run
    from core.training.scenarios import SCENARIOS
    from core.training.trainer import Run

    run = Run(SCENARIOS["relu_nan"].config)
    run.run(20)
    d = diagnose_run(run)
    where = f" {run.nonfinite.explain().split('. ')[0]}." if run.nonfinite else ""
    return f"**{d.verdict}** — {d.headline}{where}"


def _remedies() -> str:
    from core.training.remedies import compare
    from core.training.scenarios import SCENARIOS

    outcomes = compare(SCENARIOS["relu_nan"].config, [("clipping at 1", ("clip_norm",)), ("He init", ("he",))], 100)
    parts = []
    for o in outcomes:
        end = f"diverged at step {o.diverged_at}" if o.diverged_at else f"loss {sig(o.final_loss)}"
        parts.append(f"{o.label}: {end}, {o.diagnosis.verdict}")
    b = outcomes[0].diagnosis.baseline
    return "; ".join(parts) + (f" (a constant guess scores {sig(b.value)})." if b is not None else ".")


def _through_time() -> str:
    from core.recurrent.scalar import scalar_chain

    c = scalar_chain(1.5, 50, "tanh")
    return (f"w_rec = 1.5, 50 steps: the notes' rule predicts 1.5⁵⁰ ≈ {sig(1.5 ** 50)}; the tanh unit gives "
            f"|∂h₅₀/∂h₀| ≈ {times_ten(c.log10_abs_product[-1])} — it vanishes, because each factor is w_rec·f'(z_t).")


def _edge() -> str:
    from core.chaos.mean_field import chi

    return (f"tanh, σ_b = 0: χ(σ_w = 0.9) = {float(chi('tanh', 0.9, 0.0)):.3f} (ordered), "
            f"χ(1.0) = {float(chi('tanh', 1.0, 0.0)):.3f} (the edge), χ(1.5) = {float(chi('tanh', 1.5, 0.0)):.3f} "
            f"(chaotic); ReLU's edge is σ_w = √2 ≈ {math.sqrt(2):.3f}, He's initialisation.")


def _init_ratio(key: str) -> str:
    """'σ = 0.4 where He uses 0.25 … about 1.6', computed from a scenario's config."""
    from core.training.diagnosis import weight_scale
    from core.training.scenarios import SCENARIOS

    c = SCENARIOS[key].config
    sigma, he, _ = weight_scale(c)
    return f"σ = {sig(sigma)} where He uses {sig(he)}: each layer multiplies the back-propagated signal by about " \
           f"{sig(sigma / he)}"


SCENES: tuple[Scene, ...] = (
    Scene("The worked example", "One weight initialised at 500, a chain of four local factors and a learning rate "
          "of 0.01: the chain rule multiplies the factors, and one update throws the weight far past zero.",
          "what is w after one step?", "pages/1_Chain_rule.py", {"mode": "Notes' factors"}, _worked_example),
    Scene("Saturation: what w = 500 really does", "The notes' factor σ'(z)·w = ¼·500 = 125 is the bound at z = 0. "
          "A real sigmoid neuron with w = 500 sits far from z = 0, where σ'(z) is almost exactly 0.",
          "does the gradient explode or vanish?", "pages/1_Chain_rule.py",
          {"mode": "From weights", "act": "sigmoid", "weights": "500", "biases": "0"}, _saturation),
    Scene("An exploding deep net", "Twenty ReLU layers initialised a little too large "
          f"({_init_ratio('relu_big_init')}).",
          "how much larger is the gradient at layer 1 than at layer 20?", "pages/2_Training_lab.py",
          {"lab_depth": "20", "lab_width": "32", "lab_activation": "relu", "lab_init": "normal",
           "lab_init_scale": "0.4", "lab_lr": "0.0001"}, _exploding),
    Scene("The diagnosis", "The notes' symptoms: weights that grow, a poor or rising loss, NaN, gradient norms above "
          "1 step after step. Ten ReLU layers initialised too large "
          f"({_init_ratio('relu_nan')}), and learning rate 0.01.",
          "which verdict, and at which step does it break?", "pages/2_Training_lab.py",
          {"lab_depth": "10", "lab_width": "32", "lab_activation": "relu", "lab_init": "normal",
           "lab_init_scale": "0.5", "lab_lr": "0.01"}, _diagnosis),
    Scene("The remedies", "Clipping caps the step; He initialisation fixes the cause. The same exploding net, the "
          "same data and seed, 100 steps each.", "which one trains, and which one is healthy?",
          "pages/3_Remedies.py", {"rem_baseline": "relu_nan"}, _remedies),
    Scene("RNN vs LSTM", "A recurrent net multiplies by W_rec once per time step. The notes' rule says W_rec > 1 "
          "explodes; the chain rule says the factor is W_rec·f'(z), and LSTMs carry the error additively.",
          "explode or vanish, for w_rec = 1.5 and tanh?", "pages/4_Through_time.py",
          {"tt_w_rec": "1.5", "tt_act": "tanh"}, _through_time),
    Scene("The edge of chaos", "Mean-field theory splits random deep nets into an ordered phase (gradients vanish) "
          "and a chaotic one (they explode); between them, χ = 1, training works best.",
          "for tanh without biases, where is the edge?", "pages/5_Edge_of_chaos.py",
          {"edge_act": "tanh", "edge_sw": "1.0", "edge_sb": "0.0"}, _edge),
)
