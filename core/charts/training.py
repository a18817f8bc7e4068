"""Charts of a training run: pure functions, history in, a chart out.

Magnitudes go on log₁₀ axes labelled 10ᵏ. Vega-Lite silently drops NaN and cannot place inf on a log scale,
so every non-finite value is drawn explicitly: a red triangle at the top edge of the plot with a tooltip
saying "inf" or "NaN". The lab's charts are redrawn on every step, so each is a cached spec on named
datasets (`core.charts.template`) filled with compact data. Long runs are shown in at most `MAX_POINTS`
buckets of consecutive steps, each keeping its largest and smallest value (a spike or a NaN is never thinned
away); the full history stays in the run.
"""

from __future__ import annotations

import math
from functools import cache

import altair as alt
import numpy as np
import pandas as pd

from core.charts.style import INK
from core.charts.template import POWER_OF_TEN_LABEL, Filled, log10_or_nan, log_axis, power_of_ten, spec_of, step_axis
from core.training.recorder import hist_labels

MAX_POINTS = 400
BAD = INK.bad
ZERO = INK.zero
REFERENCE = INK.reference
KINDS = ("‖∂L/∂W_l‖ weight gradient", "‖∂L/∂h_l‖ back-propagated signal")
KIND_SHORT = ("‖∂L/∂W_l‖", "‖∂L/∂h_l‖")
SERIES = list(INK.categorical)  # colour-blind-safe series colours (Okabe–Ito hues), ≥ 3:1 in either theme
#: the heat map's colour scale spans 10⁻ᴴ … 10ᴴ, the same in every run, with 1 (= 10⁰) in the middle
HEAT_DECADES = 8


def shown_steps(n: int, keep: tuple[int, ...] = (), max_points: int = MAX_POINTS) -> np.ndarray:
    """0-based indices of the steps to draw: all of them, or every k-th plus the ones in `keep`."""
    if n <= max_points:
        return np.arange(n)
    stride = math.ceil(n / max_points)
    idx = set(range(0, n, stride)) | {n - 1} | {k for k in keep if 0 <= k < n}
    return np.array(sorted(idx))


def _status(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), "NaN", np.where(np.isinf(values), "inf", "finite"))


def _top(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) + 0.5 if len(finite) else 1.0


# ---------------------------------------------------------------- thinning that keeps spikes and NaN


def buckets(n: int, max_points: int = MAX_POINTS) -> int:
    """How many consecutive steps share one bucket when n steps are shown in at most `max_points` buckets."""
    return max(1, math.ceil(n / max_points))


def extreme_steps(values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """For (T,) or (T, L) values: the 0-based steps of each bucket's largest and smallest finite value, per
    column (a bucket with no finite value keeps its first step, which is then drawn as inf or NaN).

    Returns (steps, columns), each of shape (2·buckets, L): every row pair is one bucket's max and min.
    """
    v = values.reshape(len(values), -1)
    T, L = v.shape
    k = buckets(T, max_points)
    if k == 1:
        steps = np.repeat(np.arange(T)[:, None], L, axis=1)
        return steps, np.broadcast_to(np.arange(L), (T, L))
    B = math.ceil(T / k)
    pad = B * k - T
    finite = np.isfinite(v)
    hi = np.pad(np.where(finite, v, -np.inf), ((0, pad), (0, 0)), constant_values=-np.inf).reshape(B, k, L)
    lo = np.pad(np.where(finite, v, np.inf), ((0, pad), (0, 0)), constant_values=np.inf).reshape(B, k, L)
    base = (np.arange(B) * k)[:, None]
    at_max = np.minimum(base + hi.argmax(axis=1), T - 1)
    at_min = np.minimum(base + lo.argmin(axis=1), T - 1)
    steps = np.stack([at_max, at_min], axis=1).reshape(2 * B, L)
    return steps, np.broadcast_to(np.arange(L), steps.shape)


# ---------------------------------------------------------------- the lab's charts (cached specs + data)

FINITE = "datum.status == 'finite'"
NOT_FINITE = "datum.status != 'finite'"


def _marker_layers(data: str, x: str, extra_tooltip: tuple = ()) -> list[alt.Chart]:
    """Red triangles at the top edge for the rows of `data` that are inf or NaN."""
    return [alt.Chart(alt.Data(name=data)).transform_joinaggregate(top="max(log10)").transform_filter(
        NOT_FINITE).transform_calculate(y="isValid(datum.top) ? datum.top + 0.5 : 1").mark_point(
        shape="triangle-down", size=140, filled=True, color=BAD).encode(
        x=f"{x}:Q", y="y:Q", tooltip=[f"{x}:Q", *extra_tooltip, alt.Tooltip("status:N", title="value")])]


def _current_layer(data: str = "current") -> alt.Chart:
    return alt.Chart(alt.Data(name=data)).mark_rule(color=INK.guide, strokeWidth=1.5, strokeDash=[2, 2]).encode(
        x="step:Q", tooltip=[alt.Tooltip("step:Q", title="inspected step")])


@cache
def loss_spec(height: int) -> dict:
    line = alt.Chart(alt.Data(name="loss")).transform_filter(FINITE).mark_line(color=SERIES[0]).encode(
        x=alt.X("step:Q", axis=step_axis(), scale=alt.Scale(zero=False, nice=False)),
        y=alt.Y("log10:Q", axis=log_axis("loss (log scale)"), scale=alt.Scale(zero=False)),
        tooltip=["step:Q", alt.Tooltip("loss:Q", format=".4~g")])
    diverged = alt.Chart(alt.Data(name="diverged"))
    layers = [line, *_marker_layers("loss", "step"), _current_layer(),
              diverged.mark_rule(color=BAD, strokeDash=[6, 3]).encode(x="step:Q"),
              # above the plot (in the gap below the title), where the loss line cannot cover it
              diverged.mark_text(color=BAD, align="right", baseline="bottom", dx=4, fontSize=12).encode(
                  x="step:Q", y=alt.value(-6), text="label:N")]
    return spec_of(alt.layer(*layers).properties(height=height, title="Loss"))


def loss_data(loss: np.ndarray, nonfinite_step: int | None, current: int | None) -> dict[str, pd.DataFrame]:
    steps, _ = extreme_steps(loss)
    idx = np.unique(np.concatenate([steps[:, 0], [] if nonfinite_step is None else [nonfinite_step - 1]])).astype(int)
    values = loss[idx]
    return {
        "loss": pd.DataFrame({"step": idx + 1, "loss": values, "log10": log10_or_nan(values), "status": _status(values)}),
        "diverged": pd.DataFrame({"step": [nonfinite_step], "label": [f"diverged at step {nonfinite_step}"]}
                                 if nonfinite_step else {"step": [], "label": []}),
        "current": pd.DataFrame({"step": [current] if current else []}),
    }


def loss_chart(loss: np.ndarray, nonfinite_step: int | None, current: int | None = None,
               height: int = 260) -> Filled:
    """Loss per step on a log scale; the first non-finite step marked as divergence, the inspected one dashed."""
    return Filled(loss_spec(height), loss_data(loss, nonfinite_step, current))


@cache
def flow_spec(height: int) -> dict:
    # no legend: the caption under the chart names both colours, and a legend below the plot took a third of its
    # height (in lecture mode, with larger text, most of it: the lines were drawn flat)
    colour = alt.Color("kind:N", title=None, scale=alt.Scale(domain=list(KINDS), range=SERIES[:2]), legend=None)
    base = alt.Chart(alt.Data(name="flow"))
    line = base.transform_filter(FINITE + " && datum.value != 0").mark_line(point=alt.OverlayMarkDef(size=50)).encode(
        x=alt.X("layer:Q", axis=step_axis("layer (✚ = exactly 0)"),
                scale=alt.Scale(nice=False)),
        y=alt.Y("log10:Q", axis=log_axis("norm (log scale)"), scale=alt.Scale(zero=False)), color=colour,
        tooltip=["layer:Q", "kind:N", alt.Tooltip("value:Q", format=".3e")])
    zeros = base.transform_joinaggregate(bottom="min(log10)").transform_filter(
        FINITE + " && datum.value == 0").transform_calculate(y="isValid(datum.bottom) ? datum.bottom - 1 : -1").mark_point(
        shape="cross", size=110, filled=True, color=ZERO).encode(
        x="layer:Q", y="y:Q", tooltip=["layer:Q", "kind:N", alt.Tooltip("what:N", title="value")])
    # the inspected step, above the plot's top-right corner (in the gap below the title): never over the lines
    label = alt.Chart(alt.Data(name="flow_step")).mark_text(align="right", baseline="bottom", fontSize=12,
                                                             color=INK.muted).encode(
        x=alt.value("width"), y=alt.value(-6), text="label:N")
    return spec_of(alt.layer(line, zeros, *_marker_layers("flow", "layer", ("kind:N",)), label).properties(
        height=height, title="Gradient flow by layer"))


def flow_data(grad_w: np.ndarray, grad_h: np.ndarray, step: int) -> dict[str, pd.DataFrame]:
    layers = np.concatenate([np.arange(1, len(grad_w) + 1), np.arange(1, len(grad_h) + 1)])
    kinds = [KINDS[0]] * len(grad_w) + [KINDS[1]] * len(grad_h)
    values = np.concatenate([grad_w, grad_h]).astype(float)
    return {"flow": pd.DataFrame({"layer": layers, "kind": kinds, "value": values, "log10": log10_or_nan(values),
                                  "status": _status(values), "what": "exactly 0"}),
            "flow_step": pd.DataFrame({"label": [f"step {step}"]})}


def gradient_flow(grad_w: np.ndarray, grad_h: np.ndarray, step: int, height: int = 260) -> Filled:
    """At one step: ‖∂L/∂W_l‖ and ‖∂L/∂h_l‖ for every layer (the gradient flow), log scale."""
    return Filled(flow_spec(height), flow_data(grad_w, grad_h, step))


@cache
def heatmap_spec(which: str, layers: int, height: int) -> dict:
    base = alt.Chart(alt.Data(name="heat"))
    x = alt.X("x0:Q", axis=step_axis(grid=False), scale=alt.Scale(nice=False, zero=False))
    y = alt.Y("y0:Q", title="layer", scale=alt.Scale(domain=[layers + 0.5, 0.5], nice=False, zero=False),
              # explicit ticks: Vega finds none on this reversed domain once tickMinStep applies
              axis=alt.Axis(values=list(range(1, layers + 1, math.ceil(layers / 12))), tickMinStep=1, format="d",
                            grid=False))
    enc = dict(x=x, x2="x1:Q", y=y, y2="y1:Q")
    tip = [alt.Tooltip("steps:N", title="step(s)"), "layer:Q"]
    d = HEAT_DECADES
    ends = f"datum.value <= {-d} ? '≤ ' : datum.value >= {d} ? '≥ ' : ''"
    cells = base.transform_filter(FINITE + " && datum.value > 0").mark_rect(clip=True).encode(
        **enc, color=alt.Color("log10:Q", title="norm",
                               scale=alt.Scale(domain=[-d, -d / 2, 0, d / 2, d], range=list(INK.heat), clamp=True,
                                               interpolate="rgb"),
                               legend=alt.Legend(gradientLength=max(40, min(height - 110, 160)), values=[-d, 0, d],
                                                 labelExpr=f"({ends}) + (datum.value == 0 ? '1' : ({POWER_OF_TEN_LABEL}))")),
        tooltip=[*tip, alt.Tooltip("value:Q", format=".3e", title=which)])
    zeros = base.transform_filter(FINITE + " && datum.value == 0").mark_rect(color=ZERO, clip=True).encode(
        **enc, tooltip=[*tip, alt.Tooltip("status:N", title="value")])
    bad = base.transform_filter(NOT_FINITE).mark_rect(color=INK.nonfinite, clip=True).encode(
        **enc, tooltip=[*tip, alt.Tooltip("status:N", title="value")])
    return spec_of(alt.layer(cells, zeros, bad, _current_layer()).properties(
        height=height, title=f"{which} by layer and step"))


def heatmap_data(values: np.ndarray, current: int | None = None, max_points: int = 150) -> dict[str, pd.DataFrame]:
    """One cell per bucket of steps and layer, holding the bucket's largest value (a non-finite one wins)."""
    T, L = values.shape
    k = buckets(T, max_points)
    B = math.ceil(T / k)
    pad = B * k - T
    v = np.pad(values.astype(float), ((0, pad), (0, 0)), constant_values=np.nan).reshape(B, k, L)
    real = np.pad(np.ones((T, L), bool), ((0, pad), (0, 0))).reshape(B, k, L)
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        top = np.where(finite, np.abs(v), -1.0).max(axis=1)
    bad_cell = (~finite & real).any(axis=1)
    first_bad = np.where(bad_cell, np.argmax(~finite & real, axis=1), 0)
    bad_value = np.take_along_axis(v, first_bad[:, None, :], axis=1)[:, 0, :]
    cell = np.where(bad_cell, bad_value, top)
    start = np.arange(B) * k
    end = np.minimum(start + k, T)
    x0 = np.repeat(start + 0.5, L)
    steps = [f"{a + 1}" if b - a == 1 else f"{a + 1}–{b} (largest)" for a, b in zip(start, end, strict=True)]
    flat = cell.reshape(-1)
    # each cell reaches under its right and lower neighbours (drawn after it; the plot clips the last ones), so no
    # anti-aliased seam of background shows between cells
    df = pd.DataFrame({"x0": x0, "x1": np.repeat(end + 0.5 + 0.15 * k, L), "layer": np.tile(np.arange(1, L + 1), B),
                       "steps": np.repeat(steps, L), "value": flat, "log10": log10_or_nan(flat), "status": _status(flat)})
    df["y0"], df["y1"] = df["layer"] - 0.5, df["layer"] + 0.65
    return {"heat": df, "current": pd.DataFrame({"step": [current] if current else []})}


def heatmap(values: np.ndarray, which: str, current: int | None = None, height: int | None = None) -> Filled:
    """Layer × step heat map of log₁₀ of a per-layer norm, coloured around 1 (= 10⁰) the same in every run."""
    layers = values.shape[1]
    height = height or int(min(320, 110 + 12 * layers))
    return Filled(heatmap_spec(which, layers, height), heatmap_data(values, current))


@cache
def lines_spec(title: str, y_title: str, layers: int, band: tuple[float, float] | None, height: int) -> dict:
    line = alt.Chart(alt.Data(name="lines")).transform_filter(FINITE).mark_line().encode(
        x=alt.X("step:Q", axis=step_axis(), scale=alt.Scale(zero=False, nice=False)),
        y=alt.Y("log10:Q", axis=log_axis(y_title), scale=alt.Scale(zero=False)),
        color=alt.Color("layer:Q", title="layer", scale=alt.Scale(range=list(INK.layers), interpolate="rgb",
                                                                  domain=[1, max(layers, 2)]),
                        legend=alt.Legend(gradientLength=120, tickMinStep=1, format="d")),
        detail="layer:N", tooltip=["step:Q", "layer:Q", alt.Tooltip("value:Q", format=".3e")])
    layered = []
    heading = alt.Title(title)
    if band is not None:  # explained in the subtitle, where no line can cover the words
        lo, hi = round(math.log10(band[0])), round(math.log10(band[1]))
        b = pd.DataFrame({"lo": [lo], "hi": [hi]})
        layered.append(alt.Chart(b).mark_rect(color=REFERENCE, opacity=0.2).encode(y="lo:Q", y2="hi:Q"))
        heading = alt.Title(title, subtitle=f"shaded: the usual range {power_of_ten(lo)} … {power_of_ten(hi)}")
    layered += [line, *_marker_layers("lines", "step", ("layer:Q",)), _current_layer()]
    return spec_of(alt.layer(*layered).properties(height=height, title=heading))


def lines_data(values: np.ndarray, current: int | None) -> dict[str, pd.DataFrame]:
    steps, cols = extreme_steps(values)
    order = np.lexsort((steps.reshape(-1), cols.reshape(-1)))
    s, c = steps.reshape(-1)[order], cols.reshape(-1)[order]
    keep = np.ones(len(s), bool)
    keep[1:] = (s[1:] != s[:-1]) | (c[1:] != c[:-1])  # a bucket whose max and min are one step: once
    s, c = s[keep], c[keep]
    v = values[s, c].astype(float)
    return {"lines": pd.DataFrame({"step": s + 1, "layer": c + 1, "value": v, "log10": log10_or_nan(v), "status": _status(v)}),
            "current": pd.DataFrame({"step": [current] if current else []})}


def per_layer_lines(values: np.ndarray, title: str, y_title: str, current: int | None = None,
                    band: tuple[float, float] | None = None, height: int = 280) -> Filled:
    """One line per layer over the steps, log scale, optionally with a shaded reference band."""
    return Filled(lines_spec(title, y_title, values.shape[1], band, height), lines_data(values, current))


@cache
def hist_spec(layers: int) -> dict:
    labels = hist_labels()
    return spec_of(alt.Chart(alt.Data(name="hist")).mark_rect().encode(
        x=alt.X("bin:N", sort=labels, title="|∂L/∂w| (decade; binned by the float's power of two)",
                scale=alt.Scale(domain=labels), axis=alt.Axis(labelAngle=-45, labelLimit=0)),
        y=alt.Y("layer:O", title="layer"),
        color=alt.Color("share:Q", title="share of the layer's weights", scale=alt.Scale(range=list(INK.share), interpolate="rgb"),
                        legend=alt.Legend(format=".0%", gradientLength=int(min(100, 18 * layers)))),
        tooltip=["layer:Q", "bin:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=200 + 18 * min(layers, 30), title="Histogram of weight gradients at the inspected step"))


def histogram_chart(hist: np.ndarray, step: int) -> Filled:
    """Per-layer histogram of |∂L/∂w| by decade at one step: layers × decade bins, colour = share of weights
    (empty bins are left blank)."""
    labels = hist_labels()
    layers, bins = hist.shape
    df = pd.DataFrame({"layer": np.repeat(np.arange(1, layers + 1), bins), "bin": np.tile(labels, layers),
                       "share": hist.reshape(-1).astype(float)})
    return Filled(hist_spec(layers), {"hist": df[df.share > 0]})


def _nf(run) -> int | None:
    return run.nonfinite.step if run.nonfinite is not None else None


def main_charts(run, step: int | None = None, heat: str = "grad_w", height: int = 240) -> dict[str, Filled]:
    """The charts always in view: loss, gradient flow at the inspected step, and the heat map."""
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        return {}
    step = n if step is None else max(1, min(step, n))
    values, which = (h["grad_w"], KIND_SHORT[0]) if heat == "grad_w" else (h["grad_h"], KIND_SHORT[1])
    return {
        "loss": loss_chart(h["loss"], _nf(run), step, height),
        "flow": gradient_flow(h["grad_w"][step - 1], h["grad_h"][step - 1], step, height),
        "heat": heatmap(values, which, step, height) if values.shape[1] else None,
    }


def detail_chart(run, name: str, step: int) -> Filled:
    """One chart of the lab's detail tabs: weights, ratio or hist."""
    h = run.history.arrays()
    if name == "weights":
        return per_layer_lines(h["weight"], "Weight norms ‖W_l‖", "‖W_l‖ (log scale)", step)
    if name == "ratio":
        return per_layer_lines(h["update_ratio"], "Update-to-weight ratio ‖ΔW_l‖/‖W_l‖", "ratio (log scale)", step,
                               band=(1e-4, 1e-2))
    if name == "hist":
        return histogram_chart(h["hist"][step - 1], step)
    raise ValueError(name)


def all_charts(run, step: int | None = None) -> dict[str, Filled]:
    """Every chart of the lab for a run at a step (1-based; default the latest)."""
    main = main_charts(run, step)
    if not main:
        return {}
    step = step or run.steps_done
    return {"loss": main["loss"], "flow": main["flow"], "heat_w": main["heat"],
            **{name: detail_chart(run, name, step) for name in ("weights", "ratio", "hist")}}


@cache
def surface_spec(kind: str, task: str, n_classes: int, height: int) -> dict:
    """The map's spec: one per kind of map (plane or slice) and task."""
    if task == "classification" and n_classes == 2:
        scale = alt.Scale(domain=[0, 1], scheme="blueorange")
        title = "P(class 2)"
    elif task == "classification":
        scale = alt.Scale(domain=list(range(n_classes)), range=SERIES[:n_classes], type="ordinal")
        title = "class"
    else:
        scale = alt.Scale(scheme="viridis")
        title = "output"
    from core.charts.template import TIMES_TEN_LABEL  # a regression output can be ±10²⁰: write it × 10ⁿ

    numeric = {"labelExpr": TIMES_TEN_LABEL} if title == "output" else {}
    colour = alt.Color("value:Q" if scale.type != "ordinal" else "value:O", title=title, scale=scale,
                       legend=alt.Legend(gradientLength=max(40, height - 90), **numeric))
    points = alt.Chart(alt.Data(name="points")).mark_circle(size=28, opacity=0.95, stroke=INK.halo,
                                                            strokeWidth=0.6)
    if kind == "plane":
        enc = dict(x=alt.X("x0:Q", title="input 1", axis=alt.Axis(grid=False), scale=alt.Scale(nice=False, zero=False)),
                   x2="x1:Q",
                   y=alt.Y("y0:Q", title="input 2", axis=alt.Axis(grid=False), scale=alt.Scale(nice=False, zero=False)),
                   y2="y1:Q")
        cells = alt.Chart(alt.Data(name="cells"))
        layers = [cells.transform_filter(FINITE).mark_rect(opacity=0.85).encode(
                      **enc, color=colour, tooltip=[alt.Tooltip("value:Q", format=".3~g", title=title)]),
                  cells.transform_filter(NOT_FINITE).mark_rect(color=INK.nonfinite).encode(
                      **enc, tooltip=[alt.Tooltip("status:N", title="output")]),
                  points.encode(x="px:Q", y="py:Q", color=colour, tooltip=[alt.Tooltip("value:Q", title="target")])]
    else:
        line = alt.Chart(alt.Data(name="cells")).transform_filter(FINITE).mark_line(color=SERIES[1]).encode(
            x=alt.X("x0:Q", title="input 1 (the others at their mean)", scale=alt.Scale(nice=False, zero=False)),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(**numeric)), tooltip=["x0:Q", alt.Tooltip("value:Q", format=".3~g")])
        layers = [line, points.encode(x="px:Q", y="value:Q", color=alt.value(SERIES[0]),
                                      tooltip=[alt.Tooltip("value:Q", title="target")])]
    return spec_of(alt.layer(*layers).resolve_scale(color="shared").properties(
        height=height, title="What the network computes now").configure_axis(grid=kind != "plane"))


def surface_data(s) -> dict[str, pd.DataFrame]:
    """Cells (x0, x1, y0, y1, value, status) and the data points (px, py, value) of a `Surface`."""
    xs = s.xs
    dx = (xs[1] - xs[0]) / 2 if len(xs) > 1 else 0.5
    if s.kind == "plane":
        ys = s.ys
        dy = (ys[1] - ys[0]) / 2 if len(ys) > 1 else 0.5
        gx, gy = np.meshgrid(xs, ys)
        v = s.values.reshape(-1)
        cells = pd.DataFrame({"x0": gx.reshape(-1) - dx, "x1": gx.reshape(-1) + dx, "y0": gy.reshape(-1) - dy,
                              "y1": gy.reshape(-1) + dy, "value": v, "status": _status(v)})
        points = pd.DataFrame({"px": s.points_x[:, 0], "py": s.points_x[:, 1], "value": s.points_y.astype(float)})
    else:
        cells = pd.DataFrame({"x0": xs, "value": s.values, "status": _status(s.values)})
        points = pd.DataFrame({"px": s.points_x, "py": s.points_y.astype(float), "value": s.points_y.astype(float)})
    return {"cells": cells, "points": points}


def surface_chart(s, height: int = 260) -> Filled:
    """The model's output over the input plane with the data on it (or a slice along input 1)."""
    return Filled(surface_spec(s.kind, s.task, s.n_classes, height), surface_data(s))
