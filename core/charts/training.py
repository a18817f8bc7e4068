"""Altair charts of a training run: pure functions, history in, `alt.Chart` out.

Magnitudes go on log₁₀ axes. Vega-Lite silently drops NaN and cannot place inf on a log scale, so
every non-finite value is drawn explicitly: a red triangle at the top edge of the plot with a
tooltip saying "inf" or "NaN". Long runs are thinned to at most `MAX_POINTS` steps for display
(every k-th step, always keeping the first, the last and the first non-finite one); the full
history stays in the run.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from core.training.recorder import hist_labels

MAX_POINTS = 400
BAD = "#CC0000"
ZERO = "#BBBBBB"
REFERENCE = "#009E73"
KINDS = ("‖∂L/∂W_l‖ weight gradient", "‖∂L/∂h_l‖ back-propagated signal")
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def shown_steps(n: int, keep: tuple[int, ...] = (), max_points: int = MAX_POINTS) -> np.ndarray:
    """0-based indices of the steps to draw: all of them, or every k-th plus the ones in `keep`."""
    if n <= max_points:
        return np.arange(n)
    stride = math.ceil(n / max_points)
    idx = set(range(0, n, stride)) | {n - 1} | {k for k in keep if 0 <= k < n}
    return np.array(sorted(idx))


def _status(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), "NaN", np.where(np.isinf(values), "inf", "finite"))


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.log10(np.abs(values))
    return np.where(np.isfinite(out), out, np.nan)


def _top(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) + 0.5 if len(finite) else 1.0


def _nonfinite_marks(df: pd.DataFrame, x: str, y_top: float, colour: str | None = None) -> alt.Chart:
    bad = df[df["status"] != "finite"].assign(top=y_top)
    enc = dict(x=f"{x}:Q", y=alt.Y("top:Q"), tooltip=[f"{x}:Q", "status:N"] + (["layer:N"] if "layer" in df and x != "layer" else []))
    return alt.Chart(bad).mark_point(shape="triangle-down", size=140, filled=True, color=BAD).encode(**enc)


def loss_chart(loss: np.ndarray, nonfinite_step: int | None, current: int | None = None) -> alt.LayerChart:
    """Loss per step on a log scale; the first non-finite step marked as divergence."""
    keep = tuple(k for k in (nonfinite_step - 1 if nonfinite_step else None,) if k is not None)
    idx = shown_steps(len(loss), keep)
    values = loss[idx]
    df = pd.DataFrame({"step": idx + 1, "loss": values, "log10": _log10(values), "status": _status(values)})
    top = _top(df["log10"].to_numpy())
    line = alt.Chart(df[df.status == "finite"]).mark_line(point=len(df) < 60, color=OKABE_ITO[0]).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("log10:Q", title="log₁₀ loss", scale=alt.Scale(zero=False)),
        tooltip=["step:Q", alt.Tooltip("loss:Q", format=".4g")])
    layers = [line, _nonfinite_marks(df, "step", top)]
    if nonfinite_step:
        marker = pd.DataFrame({"step": [nonfinite_step], "label": [f"diverged at step {nonfinite_step}"]})
        layers.append(alt.Chart(marker).mark_rule(color=BAD, strokeDash=[6, 3]).encode(x="step:Q"))
        layers.append(alt.Chart(marker).mark_text(color=BAD, align="right", dx=-4, dy=8, fontSize=13).encode(
            x="step:Q", y=alt.value(0), text="label:N"))
    if current:
        layers.append(_current_rule(current))
    return alt.layer(*layers).properties(height=320, title="Loss (log scale)")


def _current_rule(step: int) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"step": [step]})).mark_rule(color="#888888", strokeWidth=1).encode(x="step:Q")


def heatmap(values: np.ndarray, which: str, nonfinite_step: int | None = None) -> alt.LayerChart:
    """Layer × step heat map of log₁₀ of a per-layer norm; inf/NaN cells in black.

    Cells are rectangles on quantitative axes (x from a shown step to the next one, y = layer ± ½), which
    size reliably inside Streamlit's container-width layout (a 100-value band scale did not).
    """
    steps, layers = values.shape
    idx = shown_steps(steps, (nonfinite_step - 1,) if nonfinite_step else (), max_points=150)
    ends = np.append(idx[1:], idx[-1] + 1)  # each cell spans to the next shown step
    sub = values[idx]
    df = pd.DataFrame({
        "step": np.repeat(idx + 1, layers), "x0": np.repeat(idx + 0.5, layers), "x1": np.repeat(ends + 0.5, layers),
        "layer": np.tile(np.arange(1, layers + 1), len(idx)), "value": sub.reshape(-1)})
    df["y0"], df["y1"] = df["layer"] - 0.5, df["layer"] + 0.5
    df["log10"] = _log10(df["value"].to_numpy())
    df["status"] = _status(df["value"].to_numpy())
    finite = df[(df.status == "finite") & (df.value != 0)]
    zero = df[(df.status == "finite") & (df.value == 0)]
    lo, hi = (float(finite.log10.min()), float(finite.log10.max())) if len(finite) else (0.0, 1.0)
    mid = 0.0 if lo < 0 < hi else (lo + hi) / 2
    x = alt.X("x0:Q", title="step", scale=alt.Scale(domain=[0.5, float(ends[-1]) + 0.5], nice=False, zero=False))
    y = alt.Y("y0:Q", title="layer",  # a long rotated title would squeeze the rows: Vega fits it into the height
              scale=alt.Scale(domain=[layers + 0.5, 0.5], nice=False, zero=False),
              axis=alt.Axis(values=list(range(1, layers + 1)) if layers <= 25 else alt.Undefined, tickMinStep=1))
    cells = alt.Chart(finite).mark_rect().encode(
        x=x, x2="x1:Q", y=y, y2="y1:Q",
        color=alt.Color("log10:Q", title=f"log₁₀ {which}",
                        scale=alt.Scale(scheme="redblue", reverse=True, domainMid=mid),
                        legend=alt.Legend(gradientLength=int(min(100, 18 * layers)))),
        tooltip=["step:Q", "layer:Q", alt.Tooltip("value:Q", format=".3e")])
    bad = alt.Chart(df[df.status != "finite"]).mark_rect(color="#000000").encode(
        x=x, x2="x1:Q", y=y, y2="y1:Q", tooltip=["step:Q", "layer:Q", "status:N"])
    zeros = alt.Chart(zero.assign(what="exactly 0")).mark_rect(color=ZERO).encode(
        x=x, x2="x1:Q", y=y, y2="y1:Q", tooltip=["step:Q", "layer:Q", "what:N"])
    # Streamlit fits title, axes and legend into `height`: leave room for them beyond the rows.
    return alt.layer(cells, zeros, bad).properties(
        height=130 + 18 * layers,
        title=alt.Title(f"{which} by layer and step", subtitle="layer 1 is next to the input · black: inf or NaN · "
                        "grey: exactly 0 (no gradient at all)"))


def _tick_steps(steps: np.ndarray) -> np.ndarray:
    if len(steps) <= 12:
        return steps
    return steps[:: math.ceil(len(steps) / 12)]


def gradient_flow(grad_w: np.ndarray, grad_h: np.ndarray, step: int) -> alt.LayerChart:
    """At one step: ‖∂L/∂W_l‖ and ‖∂L/∂h_l‖ for every layer (the gradient flow), log scale."""
    rows = [{"layer": i + 1, "kind": KINDS[0], "value": v} for i, v in enumerate(grad_w)]
    rows += [{"layer": i + 1, "kind": KINDS[1], "value": v} for i, v in enumerate(grad_h)]
    df = pd.DataFrame(rows)
    df["log10"] = _log10(df["value"].to_numpy())
    df["status"] = _status(df["value"].to_numpy())
    top = _top(df["log10"].to_numpy())
    colour = alt.Color("kind:N", title=None, scale=alt.Scale(domain=list(KINDS), range=OKABE_ITO[:2]),
                       legend=alt.Legend(orient="top", labelLimit=300, direction="vertical"))
    line = alt.Chart(df[df.status == "finite"]).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        x=alt.X("layer:Q", title="layer (1 = next to the input; ✚ = exactly 0)", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("log10:Q", title="log₁₀ norm", scale=alt.Scale(zero=False)), color=colour,
        tooltip=["layer:Q", "kind:N", alt.Tooltip("value:Q", format=".3e")])
    zero = df[(df.status == "finite") & (df.value == 0)]
    layers = [line, _nonfinite_marks(df, "layer", top)]
    if len(zero):  # log 0 = −∞: drawn below the lowest finite value, labelled in the tooltip
        finite_logs = df["log10"].to_numpy()[np.isfinite(df["log10"].to_numpy())]
        bottom = float(finite_logs.min()) - 1 if len(finite_logs) else 0.0
        layers.append(alt.Chart(zero.assign(bottom=bottom, what="exactly 0")).mark_point(
            shape="cross", color="#000000", size=110, filled=True).encode(
            x="layer:Q", y=alt.Y("bottom:Q"), tooltip=["layer:Q", "kind:N", "what:N"]))
    return alt.layer(*layers).properties(height=320, title=f"Gradient flow at step {step}")


def per_layer_lines(values: np.ndarray, title: str, y_title: str, current: int | None = None,
                    band: tuple[float, float] | None = None) -> alt.LayerChart:
    """One line per layer over the steps, log scale, optionally with a shaded reference band."""
    steps, layers = values.shape
    idx = shown_steps(steps)
    df = pd.DataFrame({"step": np.repeat(idx + 1, layers), "layer": np.tile(np.arange(1, layers + 1), len(idx)),
                       "value": values[idx].reshape(-1)})
    df["log10"] = _log10(df["value"].to_numpy())
    df["status"] = _status(df["value"].to_numpy())
    top = _top(df["log10"].to_numpy())
    line = alt.Chart(df[df.status == "finite"]).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("log10:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("layer:Q", title="layer", scale=alt.Scale(scheme="viridis", domain=[1, max(layers, 2)]),
                        legend=alt.Legend(gradientLength=120, tickMinStep=1)),
        detail="layer:N",
        tooltip=["step:Q", "layer:Q", alt.Tooltip("value:Q", format=".3e")])
    layers = []
    if band is not None:
        b = pd.DataFrame({"lo": [math.log10(band[0])], "hi": [math.log10(band[1])],
                          "label": [f"typical {band[0]:g} … {band[1]:g}"]})
        layers.append(alt.Chart(b).mark_rect(color=REFERENCE, opacity=0.15).encode(y="lo:Q", y2="hi:Q"))
        layers.append(alt.Chart(b).mark_text(color=REFERENCE, align="left", dx=4, dy=-6, fontSize=12).encode(
            y="hi:Q", x=alt.value(0), text="label:N"))
    layers += [line, _nonfinite_marks(df, "step", top)]
    if current:
        layers.append(_current_rule(current))
    return alt.layer(*layers).properties(height=280, title=title)


def histogram_chart(hist: np.ndarray, step: int) -> alt.Chart:
    """Per-layer histogram of |∂L/∂w| by decade at one step: layers × decade bins, colour = share of weights."""
    labels = hist_labels()
    layers, bins = hist.shape
    df = pd.DataFrame({"layer": np.repeat(np.arange(1, layers + 1), bins), "bin": np.tile(labels, layers),
                       "order": np.tile(np.arange(bins), layers), "share": hist.reshape(-1).astype(float)})
    df = df[df.share > 0]
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("bin:N", sort=labels, title="|∂L/∂w| (decade; binned by the float's power of two)",
                scale=alt.Scale(domain=labels), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("layer:O", title="layer"),
        color=alt.Color("share:Q", title="share of the layer's weights", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format=".0%", gradientLength=int(min(100, 18 * layers)))),
        tooltip=["layer:Q", "bin:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=200 + 18 * layers, title=f"Histogram of weight gradients at step {step}")


def network_chart(grads: list[np.ndarray], max_layers: int = 7, max_units: int = 8) -> alt.LayerChart | None:
    """Small networks only: neurons as dots, every weight as an edge coloured by log₁₀|∂L/∂w|."""
    if len(grads) > max_layers or any(max(g.shape) > max_units for g in grads[:-1]) or grads[0].shape[1] > max_units:
        return None
    sizes = [grads[0].shape[1]] + [g.shape[0] for g in grads]
    pos = {(layer, j): (layer, (j - (n - 1) / 2)) for layer, n in enumerate(sizes) for j in range(n)}
    edges = []
    for k, g in enumerate(grads):
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                (x1, y1), (x2, y2) = pos[(k, j)], pos[(k + 1, i)]
                v = float(g[i, j])
                edges.append({"x": x1, "y": y1, "x2": x2, "y2": y2, "weight": f"W_{k + 1}[{i + 1},{j + 1}]",
                              "grad": v, "log10": math.log10(abs(v)) if v != 0 and math.isfinite(v) else None,
                              "status": "finite" if math.isfinite(v) else ("NaN" if math.isnan(v) else "inf")})
    df = pd.DataFrame(edges)
    nodes = pd.DataFrame([{"x": x, "y": y, "name": "input" if layer == 0 else (
        "output" if layer == len(sizes) - 1 else f"h_{layer}")} for (layer, _), (x, y) in pos.items()])
    rule = alt.Chart(df[df.status == "finite"]).mark_rule(strokeWidth=2.5).encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None), x2="x2:Q", y2="y2:Q",
        color=alt.Color("log10:Q", title="log₁₀|∂L/∂w|", scale=alt.Scale(scheme="inferno", reverse=True),
                        legend=alt.Legend(gradientLength=150)),
        tooltip=["weight:N", alt.Tooltip("grad:Q", format=".3e")])
    bad = alt.Chart(df[df.status != "finite"]).mark_rule(strokeWidth=3, color=BAD, strokeDash=[4, 2]).encode(
        x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q", tooltip=["weight:N", "status:N"])
    dots = alt.Chart(nodes).mark_circle(size=260, color="#333333", opacity=1).encode(
        x="x:Q", y="y:Q", tooltip=["name:N"])
    return alt.layer(rule, bad, dots).properties(height=260, title="The network, edges coloured by |∂L/∂w| "
                                                 "(latest step)")


def all_charts(run, step: int | None = None) -> dict[str, alt.TopLevelMixin]:
    """Every chart of the lab for a run at a step (1-based; default the latest)."""
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        return {}
    step = n if step is None else max(1, min(step, n))
    nf = run.nonfinite.step if run.nonfinite is not None else None
    return {
        "loss": loss_chart(h["loss"], nf, step),
        "heat_w": heatmap(h["grad_w"], "‖∂L/∂W_l‖", nf),
        "flow": gradient_flow(h["grad_w"][step - 1], h["grad_h"][step - 1], step),
        "weights": per_layer_lines(h["weight"], "Weight norms ‖W_l‖", "log₁₀ ‖W_l‖", step),
        "ratio": per_layer_lines(h["update_ratio"], "Update-to-weight ratio ‖ΔW_l‖/‖W_l‖", "log₁₀ ratio", step,
                                 band=(1e-4, 1e-2)),
        "hist": histogram_chart(h["hist"][step - 1], step),
    }


def live_charts(run) -> dict[str, alt.TopLevelMixin]:
    """The three charts redrawn while training plays: loss, gradient flow and the gradient heat map."""
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        return {}
    nf = run.nonfinite.step if run.nonfinite is not None else None
    return {
        "loss": loss_chart(h["loss"], nf),
        "flow": gradient_flow(h["grad_w"][-1], h["grad_h"][-1], n),
        "heat_w": heatmap(h["grad_w"], "‖∂L/∂W_l‖", nf),
    }
