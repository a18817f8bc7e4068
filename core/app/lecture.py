"""The notes' story as a lecture: seven scenes, each with a live result and the exact view to open.

Every number a scene shows is computed when the scene is shown, by the same code and chart builders as the pages;
a scene's result is plain values (text, the key number, a self-contained Vega-Lite spec), so the app can cache it
and the hand-out can draw it as SVG.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from core.charts.style import INK
from core.numbers import fmt, sig, times_ten

SLIDE_CHART_HEIGHT = 270  # a slide's chart beside its story on a 1280 × 720 projector


@dataclass(frozen=True)
class Result:
    text: str  # markdown, every number in it computed
    metric: str  # the key number's label …
    value: str  # … and the key number, shown large
    chart: dict | None = None  # a self-contained Vega-Lite spec (data inline)


@dataclass(frozen=True)
class Scene:
    title: str
    story: str
    question: str  # asked before the result is revealed ("predict, then reveal")
    page: str
    query: dict[str, str]  # the view "Open this view" lands on: its settings, its tab and its trained steps
    result: Callable[[], Result]
    more: tuple[tuple[str, str, dict[str, str]], ...] = field(default=())  # further views: (label, page, query)


def _spec(chart, height: int = SLIDE_CHART_HEIGHT) -> dict:
    """A chart (Altair, or a cached spec with its data: `Filled`) as one self-contained Vega-Lite dict."""
    from core.app.export import chart_spec
    from core.charts.template import Filled

    spec = chart.to_dict() if isinstance(chart, Filled) else chart_spec(chart)
    return spec | {"height": height} if isinstance(spec.get("height"), int | float) else spec


def _legend_inside(spec: dict, corner: str, y_domain: tuple[float, float]) -> dict:
    """The spec with its colour legend drawn inside the plot, in room made below the curves by a wider y range
    (a slide has no room under the plot for a three-line legend)."""
    for layer in spec.get("layer", []):
        encoding = layer.get("encoding", {})
        colour = encoding.get("color")
        if isinstance(colour, dict) and isinstance(colour.get("legend"), dict):
            colour["legend"] = colour["legend"] | {"orient": corner, "fillColor": INK.halo, "padding": 4}
        if isinstance(encoding.get("y"), dict):
            encoding["y"]["scale"] = encoding["y"].get("scale", {}) | {"domain": list(y_domain)}
    return spec


def _room_below(chain) -> tuple[float, float]:
    """The y range of the through-time product chart with its lower part left free for the legend."""
    import numpy as np

    curves = np.concatenate([chain.log10_abs_product, chain.bound_log10, chain.notes_log10])
    curves = curves[np.isfinite(curves)]
    lo, hi = float(curves.min()), float(curves.max())
    return (math.floor(lo - 2.2 * (hi - lo)), math.ceil(hi))


def _lab_view(key: str, tab: str) -> dict[str, str]:
    """The training lab's link for a scenario: every setting of its config, its steps trained, one detail tab."""
    from core.app.page_views import LAB
    from core.training.scenarios import SCENARIOS

    scenario = SCENARIOS[key]
    values: dict[str, object] = {}
    for name, value in scenario.config.to_dict().items():
        param = LAB.params.get(f"lab_{name}")
        if param is not None:
            values[param.param] = f"{value:g}" if param.kind == "text_float" else value
    return LAB.encode(values | {"lab_steps": scenario.steps, "lab_tab": tab})


def _worked_example() -> Result:
    from core.chain.products import given_chain
    from core.charts.chain import factor_chart

    chain = given_chain((150, 100, 125, 50), 500, Fraction("0.01"))
    return Result(f"`{chain.update.equation_text()}`", "w after one update", fmt(chain.update.w_new),
                  _spec(factor_chart(chain)))


def _saturation() -> Result:
    from core.chain.products import Network, network_chain
    from core.charts.chain import factor_chart

    chain = network_chain(Network())
    first = chain.layers[0]
    return Result(f"With w = 500 the real sigmoid chain gives ∂L/∂w {_equals(chain.gradient)}: the neurons saturate "
                  f"(σ'(z₁₁) {_equals(first.dphi)} where the bound is {fmt(first.bound)}) and the gradient "
                  "**vanishes**.", "∂L/∂w, the real chain", times_ten(float(sp.log(sp.Abs(chain.gradient), 10))),
                  _spec(factor_chart(chain)))


def _equals(value) -> str:
    text = fmt(value)
    return text if text.startswith("≈") else f"= {text}"


def _exploding() -> Result:
    from core.charts.training import gradient_flow
    from core.training.scenarios import SCENARIOS
    from core.training.trainer import Run

    run = Run(SCENARIOS["relu_big_init"].config)
    run.step()
    h = run.history.arrays()
    ratio = h["grad_h"][0, 0] / h["grad_h"][0, -1]
    per_layer = ratio ** (1 / (h["grad_h"].shape[1] - 1))
    return Result(f"At the very first step ‖∂L/∂h₁‖ is {sig(ratio)} times ‖∂L/∂h₂₀‖: ×{sig(per_layer)} per layer.",
                  "‖∂L/∂h₁‖ / ‖∂L/∂h₂₀‖ at step 1", sig(ratio),
                  _spec(gradient_flow(h["grad_w"][0], h["grad_h"][0], 1, SLIDE_CHART_HEIGHT)))


def _diagnosis() -> Result:
    from core.charts.training import heatmap
    from core.training.diagnosis import diagnose_run
    from core.training.scenarios import SCENARIOS
    from core.training.trainer import Run

    run = Run(SCENARIOS["relu_nan"].config)
    run.run(20)
    d = diagnose_run(run)
    where = f" {run.nonfinite.explain().split('. ')[0]}." if run.nonfinite else ""
    h = run.history.arrays()
    metric, value = (("first inf/NaN", f"step {run.nonfinite.step}") if run.nonfinite else
                     ("largest ‖∂L/∂W‖", sig(float(max(h["grad_norm"])))))
    return Result(f"**{d.verdict}** — {d.headline}{where}", metric, value,
                  _spec(heatmap(h["grad_w"], "‖∂L/∂W_l‖", None, SLIDE_CHART_HEIGHT)))


def _remedies() -> Result:
    from core.charts.remedies import loss_overlay
    from core.training.remedies import compare
    from core.training.scenarios import SCENARIOS

    outcomes = compare(SCENARIOS["relu_nan"].config, [("clipping at 1", ("clip_norm",)), ("He init", ("he",))], 100)
    parts = []
    for o in outcomes:
        end = f"diverged at step {o.diverged_at}" if o.diverged_at else f"loss {sig(o.final_loss)}"
        parts.append(f"{o.label}: {end}, {o.diagnosis.verdict}")
    b = outcomes[0].diagnosis.baseline
    best = min((o for o in outcomes if not o.diverged_at and math.isfinite(o.final_loss)),
               key=lambda o: o.final_loss, default=None)
    metric, value = ((f"loss after 100 steps, {best.label}", sig(best.final_loss)) if best is not None
                     else ("every variant", "diverged"))
    return Result("; ".join(parts) + (f" (a constant guess scores {sig(b.value)})." if b is not None else "."),
                  metric, value, _spec(loss_overlay(outcomes)))


def _through_time() -> Result:
    from core.charts.recurrent import scalar_product_chart
    from core.recurrent.scalar import scalar_chain

    c = scalar_chain(1.5, 50, "tanh")
    return Result(f"w_rec = 1.5, 50 steps: the notes' rule predicts 1.5⁵⁰ ≈ {sig(1.5 ** 50)}; the tanh unit gives "
                  f"|∂h₅₀/∂h₀| ≈ {times_ten(c.log10_abs_product[-1])} — it vanishes, because each factor is "
                  "w_rec·f'(z_t).", "|∂h₅₀/∂h₀|, tanh, w_rec = 1.5", times_ten(c.log10_abs_product[-1]),
                  _legend_inside(_spec(scalar_product_chart(c)), "bottom-left", _room_below(c)))


def _edge() -> Result:
    from core.chaos.mean_field import chi, phase_diagram
    from core.charts.chaos import phase_chart

    edge = float(chi("tanh", 1.0, 0.0))
    return Result(f"tanh, σ_b = 0: χ(σ_w = 0.9) = {float(chi('tanh', 0.9, 0.0)):.3f} (ordered), "
                  f"χ(1.0) = {edge:.3f} (the edge), χ(1.5) = {float(chi('tanh', 1.5, 0.0)):.3f} "
                  f"(chaotic); ReLU's edge is σ_w = √2 ≈ {math.sqrt(2):.3f}, He's initialisation.",
                  "χ at σ_w = 1, σ_b = 0 (tanh)", f"{edge:.3f}",
                  _spec(phase_chart(phase_diagram("tanh", 40, 40), (1.0, 0.0, "the edge"))))  # the page's grid, coarser


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
          _lab_view("relu_big_init", "Network"), _exploding),
    Scene("The diagnosis", "The notes' symptoms: weights that grow, a poor or rising loss, NaN, gradient norms above "
          "1 step after step. Ten ReLU layers initialised too large "
          f"({_init_ratio('relu_nan')}), and learning rate 0.01.",
          "which verdict, and at which step does it break?", "pages/2_Training_lab.py",
          _lab_view("relu_nan", "Scenario & diagnosis"), _diagnosis),
    Scene("The remedies", "Clipping caps the step; He initialisation fixes the cause. The same exploding net, the "
          "same data and seed, 100 steps each.", "which one trains, and which one is healthy?",
          "pages/3_Remedies.py",
          {"rem_baseline": "relu_nan", "rem_steps": "100", "rem_v0": "clip_norm", "rem_v1": "he", "rem_v2": "",
           "rem_v3": "", "rem_compared": "1"}, _remedies),
    Scene("RNN vs LSTM", "A recurrent net multiplies by W_rec once per time step. The notes' rule says W_rec > 1 "
          "explodes; the chain rule says the factor is W_rec·f'(z), and LSTMs carry the error additively.",
          "explode or vanish, for w_rec = 1.5 and tanh?", "pages/4_Through_time.py",
          {"tt_w_rec": "1.5", "tt_act": "tanh"}, _through_time,
          (("RNN vs LSTM, trained", "pages/4_Through_time.py", {"tt_tab": "③ RNN vs LSTM", "tt_trained": "400"}),)),
    Scene("The edge of chaos", "Mean-field theory splits random deep nets into an ordered phase (gradients vanish) "
          "and a chaotic one (they explode); between them, χ = 1, training works best.",
          "for tanh without biases, where is the edge?", "pages/5_Edge_of_chaos.py",
          {"edge_act": "tanh", "edge_sw": "1.0", "edge_sb": "0.0", "edge_tab": "② Order and chaos"}, _edge),
)
