"""Altair chart builders: pure functions from computed values to `alt.Chart` (no Streamlit here).

Magnitudes are plotted as log10|value| so that numbers far outside float64 (10⁻⁶⁰⁰, 10⁹⁰⁰⁰)
still plot; exact zeros, which have no logarithm, are drawn as explicit marks, never dropped.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from core.chain.products import Chain, DepthPoint
from core.charts.style import INK
from core.charts.template import log_axis, step_axis, wrapped
from core.numbers import fmt, log10_abs, times_ten

# Okabe–Ito hues (distinguishable with the common colour-vision deficiencies), in the theme's shades
AMPLIFY = INK.categorical[1]  # vermillion: |factor| > 1
SHRINK = INK.categorical[0]  # blue: |factor| ≤ 1
BOUND = INK.categorical[4]  # orange: the z = 0 bound
NEUTRAL = INK.guide
FLOAT64_LOG10_MAX = math.log10(1.7976931348623157e308)
FLOAT64_LOG10_TINY = math.log10(2.2250738585072014e-308)


def _float_limit_rules(lo: float, hi: float) -> list[alt.Chart]:
    """Horizontal rules where float64 overflows / underflows, if the data reaches them."""
    rows = []
    if hi > FLOAT64_LOG10_MAX - 20:
        rows.append({"y": FLOAT64_LOG10_MAX, "label": "float64 overflows above (∞)"})
    if lo < FLOAT64_LOG10_TINY + 20:
        rows.append({"y": FLOAT64_LOG10_TINY, "label": "float64 rounds to 0 below"})
    if not rows:
        return []
    df = pd.DataFrame(rows)
    rule = alt.Chart(df).mark_rule(strokeDash=[6, 3], color=NEUTRAL).encode(y="y:Q")
    text = alt.Chart(df).mark_text(align="left", dx=4, dy=-6, color=NEUTRAL, fontSize=12).encode(
        y="y:Q", text="label:N", x=alt.value(4))
    return [rule, text]


def depth_chart(points: list[DepthPoint], activation: str, weight_text: str, current_depth: int) -> alt.LayerChart:
    """|∂L/∂w¹₁₁| against depth on a log scale: the actual value and the bound with φ' at its maximum."""
    finite = [p.log10_actual for p in points if math.isfinite(p.log10_actual)] + [p.log10_bound for p in points
                                                                                    if math.isfinite(p.log10_bound)]
    floor = (min(finite) if finite else 0.0) - 2
    rows = []
    for p in points:
        rows.append({"depth": p.depth, "series": "actual", "log10": p.log10_actual
                     if math.isfinite(p.log10_actual) else floor, "zero": not math.isfinite(p.log10_actual),
                     "value": fmt(p.gradient)})
        rows.append({"depth": p.depth, "series": "bound (φ' at max)", "log10": p.log10_bound
                     if math.isfinite(p.log10_bound) else floor, "zero": not math.isfinite(p.log10_bound),
                     "value": times_ten(p.log10_bound) if math.isfinite(p.log10_bound) else "0"})
    df = pd.DataFrame(rows)
    colour = alt.Color("series:N", title=None, scale=alt.Scale(
        domain=["actual", "bound (φ' at max)"], range=[AMPLIFY, BOUND]),
        legend=alt.Legend(orient="top", labelLimit=0))
    base = alt.Chart(df).encode(
        x=alt.X("depth:Q", axis=step_axis("depth of the chain (layers)"), scale=alt.Scale(domain=[1, len(points)])),
        y=alt.Y("log10:Q", axis=log_axis("|∂L/∂w¹₁₁| (log scale)")),
        color=colour,
        strokeDash=alt.StrokeDash("series:N", legend=None, scale=alt.Scale(
            domain=["actual", "bound (φ' at max)"], range=[[1, 0], [6, 4]])),
        tooltip=[alt.Tooltip("depth:Q"), alt.Tooltip("series:N"), alt.Tooltip("value:N", title="|∂L/∂w|")],
    )
    lines = base.transform_filter("!datum.zero").mark_line(point=True, strokeWidth=3)
    zeros = base.transform_filter("datum.zero").mark_point(shape="triangle-down", size=120, filled=True)
    one = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=NEUTRAL).encode(y="y:Q")
    here = alt.Chart(pd.DataFrame({"depth": [current_depth]})).mark_rule(color=NEUTRAL, strokeDash=[2, 2]).encode(
        x="depth:Q")
    lo = min(df["log10"]) if len(df) else 0
    hi = max(df["log10"]) if len(df) else 0
    layers = [one, here, lines, zeros, *_float_limit_rules(lo, hi)]
    return alt.layer(*layers).properties(
        height=320, title=wrapped(f"|∂L/∂w¹₁₁| vs depth: {activation}, w = {weight_text} (▼ = exactly 0)"))


def factor_chart(chain: Chain) -> alt.LayerChart:
    """Each factor's log10|value| as a bar (vermillion if it amplifies) and the running product as a line."""
    rows = []
    running = chain.running_products()
    for i, (f, prod) in enumerate(zip(chain.factors, running, strict=True)):
        lf = log10_abs(f.value)
        lp = log10_abs(prod)
        rows.append({"i": i, "factor": f.name, "log10_factor": lf if math.isfinite(lf) else None,
                     "log10_running": lp if math.isfinite(lp) else None,
                     "kind": "amplifies (|factor| > 1)" if f.magnitude_above_one else "shrinks (|factor| ≤ 1)",
                     "value": fmt(f.value), "running": fmt(prod)})
    df = pd.DataFrame(rows)
    order = list(df["factor"])
    x = alt.X("factor:N", sort=order, title="chain-rule factor (from the loss inward)", axis=alt.Axis(labelAngle=-30))
    bars = alt.Chart(df).mark_bar(opacity=0.85).encode(
        x=x, y=alt.Y("log10_factor:Q", axis=log_axis("|value| (log scale)")),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(
            domain=["amplifies (|factor| > 1)", "shrinks (|factor| ≤ 1)"], range=[AMPLIFY, SHRINK]),
            legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("factor:N"), alt.Tooltip("value:N", title="factor"),
                 alt.Tooltip("running:N", title="running product")],
    )
    line = alt.Chart(df).mark_line(point=True, color=NEUTRAL, strokeWidth=2).encode(
        x=x, y="log10_running:Q",
        tooltip=[alt.Tooltip("factor:N"), alt.Tooltip("running:N", title="running product")])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=NEUTRAL).encode(y="y:Q")
    return alt.layer(bars, zero, line).properties(
        height=300, title="Factors (bars) and running product (line)")
