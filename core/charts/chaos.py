"""Charts for the edge of chaos: the butterfly effect, the order-to-chaos phase diagram, and the cliff."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.style import INK, ON_MAP
from core.charts.template import POWER_OF_TEN_LABEL, log_axis, step_axis, wrapped
from core.charts.training import BAD, SERIES
from core.numbers import sig


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.abs(np.asarray(values, dtype=float)))
    return out


def butterfly_chart(results: list[tuple[str, object]]) -> alt.LayerChart:
    """log₁₀ ‖θ_A − θ_B‖ against the step for each configuration, with the fitted e^{λk} line; the step where a
    run became non-finite is marked with a red triangle (the distance is no longer a number there)."""
    labels = [label for label, _ in results]
    frames, fits, stops = [], [], []
    for label, r in results:
        k = np.arange(len(r.distance))
        logd = _log10(r.distance)
        frames.append(pd.DataFrame({"step": k, "log10": logd, "distance": r.distance, "run": label}))
        if np.isfinite(r.lyapunov):
            a, b = r.fit
            anchor = logd[a] if np.isfinite(logd[a]) else np.nan
            ks = np.array([a, b])
            fits.append(pd.DataFrame({"step": ks, "log10": anchor + r.lyapunov * (ks - a) / np.log(10), "run": label}))
        if r.stopped_at is not None:
            stops.append({"step": r.stopped_at, "run": label})
    df = pd.concat(frames, ignore_index=True)
    finite = df[np.isfinite(df["log10"])]
    colour = alt.Color("run:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=SERIES[: len(labels)]),
                       legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
    line = alt.Chart(finite).mark_line(strokeWidth=2.5).encode(
        x=alt.X("step:Q", axis=step_axis("training step k")), y=alt.Y("log10:Q", axis=log_axis("‖θ_A − θ_B‖ (log scale)")),
        color=colour,
        tooltip=["run:N", "step:Q", alt.Tooltip("distance:Q", format=".3e")])
    layers = [line]
    if fits:
        layers.append(alt.Chart(pd.concat(fits, ignore_index=True)).mark_line(strokeDash=[5, 4], strokeWidth=1.5)
                      .encode(x="step:Q", y="log10:Q", color=colour))
    if stops:
        top = float(finite["log10"].max()) + 0.5 if len(finite) else 0.0
        layers.append(alt.Chart(pd.DataFrame(stops).assign(top=top)).mark_point(
            shape="triangle-down", size=150, filled=True, color=BAD).encode(
            x="step:Q", y="top:Q", tooltip=["run:N", alt.Tooltip("step:Q", title="inf/NaN at step")]))
    return alt.layer(*layers).properties(
        height=380, title=alt.Title("Distance between the two trainings", subtitle="dashed: the ε·exp(λk) fit"))


def loss_gap_chart(results: list[tuple[str, object]]) -> alt.Chart:
    labels = [label for label, _ in results]
    frames = [pd.DataFrame({"step": np.arange(1, len(r.loss_a) + 1), "log10": _log10(r.loss_diff),
                            "gap": r.loss_diff, "run": label}) for label, r in results]
    df = pd.concat(frames, ignore_index=True)
    df = df[np.isfinite(df["log10"])]
    colour = alt.Color("run:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=SERIES[: len(labels)]),
                       legend=None)
    return alt.Chart(df).mark_line().encode(
        x=alt.X("step:Q", axis=step_axis("training step k")), y=alt.Y("log10:Q", axis=log_axis("|L_A − L_B| (log scale)")),
        color=colour,
        tooltip=["run:N", "step:Q", alt.Tooltip("gap:Q", format=".3e")]).properties(
        height=260, title="Difference of the two losses")


def phase_chart(diagram, marker: tuple[float, float, str] | None = None) -> alt.LayerChart:
    """The (σ_w, σ_b) plane coloured by log₁₀ χ (blue: ordered, vanishing; red: chaotic, exploding), the χ = 1 line."""
    sw, sb = np.meshgrid(diagram.sigma_w, diagram.sigma_b)
    logc = _log10(diagram.chi)
    df = pd.DataFrame({"sigma_w": sw.ravel(), "sigma_b": sb.ravel(), "log10chi": np.clip(logc.ravel(), -1, 1),
                       "chi": diagram.chi.ravel()})
    dw = float(diagram.sigma_w[1] - diagram.sigma_w[0])
    db = float(diagram.sigma_b[1] - diagram.sigma_b[0])
    df = df.assign(w2=df.sigma_w + dw, b2=df.sigma_b + db, w1=df.sigma_w, b1=df.sigma_b)
    heat = alt.Chart(df).mark_rect().encode(
        x=alt.X("w1:Q", title="σ_w (weights N(0, σ_w²/n))", axis=alt.Axis(grid=False),
                scale=alt.Scale(domain=[0, float(df.w2.max())], nice=False)),
        x2="w2:Q",
        y=alt.Y("b1:Q", title="σ_b (biases N(0, σ_b²))", axis=alt.Axis(grid=False), scale=alt.Scale(domain=[0, float(df.b2.max())], nice=False)),
        y2="b2:Q",
        color=alt.Color("log10chi:Q", title="χ", scale=alt.Scale(scheme="redblue", reverse=True, domain=[-1, 1]),
                        legend=alt.Legend(orient="right", gradientLength=220, values=[-1, 0, 1],
                                          labelExpr=f"(datum.value <= -1 ? '≤ ' : datum.value >= 1 ? '≥ ' : '') + "
                                                    f"(datum.value == 0 ? '1' : ({POWER_OF_TEN_LABEL}))")),
        tooltip=[alt.Tooltip("sigma_w:Q", title="σ_w", format=".3f"), alt.Tooltip("sigma_b:Q", title="σ_b", format=".3f"),
                 alt.Tooltip("chi:Q", title="χ", format=".4g")])
    layers = [heat]
    crit = diagram.critical_sigma_w()
    ok = np.isfinite(crit)
    if ok.any():
        line = pd.DataFrame({"sigma_w": crit[ok], "sigma_b": diagram.sigma_b[ok] + db / 2})
        layers.append(alt.Chart(line).mark_line(color=ON_MAP["ink"], strokeWidth=3).encode(
            x="sigma_w:Q", y="sigma_b:Q", order="sigma_b:Q"))
    if marker is not None:
        w, b, label = marker
        point = pd.DataFrame({"sigma_w": [w], "sigma_b": [b], "label": [label]})
        layers.append(alt.Chart(point).mark_point(shape="diamond", size=260, filled=True, color=ON_MAP["marker"],
                                                  stroke=ON_MAP["ink"], strokeWidth=1.5).encode(
            x="sigma_w:Q", y="sigma_b:Q", tooltip=["label:N", "sigma_w:Q", "sigma_b:Q"]))
        # Black on a white halo: readable on the red and blue cells and in the dark theme alike.
        for halo in (True, False):
            layers.append(alt.Chart(point).mark_text(
                align="left", dx=12, fontSize=13, fontWeight="bold", color=ON_MAP["ink"],
                **({"stroke": ON_MAP["halo"], "strokeWidth": 4, "strokeJoin": "round"} if halo else {})).encode(
                x="sigma_w:Q", y="sigma_b:Q", text="label:N"))
    return alt.layer(*layers).properties(
        height=420, title=alt.Title(f"Order and chaos for {diagram.activation}",
                                    subtitle="blue: ordered, χ < 1 · red: chaotic, χ > 1 · black line: χ = 1"),
    ).configure_axis(grid=False)  # a colour map: no gridlines through its cells


def cliff_curve_chart(b: np.ndarray, loss: np.ndarray, wall: float | None, band) -> alt.LayerChart:
    df = pd.DataFrame({"b": b, "loss": loss})
    line = alt.Chart(df).mark_line(color=SERIES[0], strokeWidth=2).encode(
        x=alt.X("b:Q", title="bias b"), y=alt.Y("loss:Q", title="E = (σ(x₅₀) − 0.7)²"),
        tooltip=[alt.Tooltip("b:Q", format=".4f"), alt.Tooltip("loss:Q", format=".4g")])
    layers = []
    if band is not None:
        layers.append(alt.Chart(pd.DataFrame({"lo": [band[0]], "hi": [band[1]]})).mark_rect(
            color=INK.guide, opacity=0.15).encode(x="lo:Q", x2="hi:Q"))
    layers.append(line)
    if wall is not None:
        rule = pd.DataFrame({"b": [wall], "label": [f"wall b* = {sig(wall, 4)}"]})
        layers.append(alt.Chart(rule).mark_rule(color=BAD, strokeDash=[6, 3]).encode(x="b:Q"))
        layers.append(alt.Chart(rule).mark_text(color=BAD, align="left", dx=5, dy=10, fontSize=13).encode(
            x="b:Q", y=alt.value(0), text="label:N"))
    return alt.layer(*layers).properties(
        height=300, title=alt.Title("Error after 50 steps against the bias", subtitle="grey band: two stable states"))


def cliff_surface_chart(w: np.ndarray, b: np.ndarray, surface: np.ndarray, paths: list[tuple[str, object]]
                        ) -> alt.LayerChart:
    ww, bb = np.meshgrid(w, b)
    dw, db = float(w[1] - w[0]), float(b[1] - b[0])
    df = pd.DataFrame({"w1": ww.ravel(), "b1": bb.ravel(), "loss": surface.ravel()})
    df = df.assign(w2=df.w1 + dw, b2=df.b1 + db, log10=np.clip(_log10(df.loss.to_numpy()), -4, 2))
    heat = alt.Chart(df).mark_rect().encode(
        x=alt.X("w1:Q", title="recurrent weight w", axis=alt.Axis(grid=False),
                scale=alt.Scale(domain=[float(w[0]), float(w[-1] + dw)], nice=False)),
        x2="w2:Q",
        y=alt.Y("b1:Q", title="bias b", axis=alt.Axis(grid=False),
                scale=alt.Scale(domain=[float(b[0]), float(b[-1] + db)], nice=False)), y2="b2:Q",
        color=alt.Color("log10:Q", title="E", scale=alt.Scale(scheme="viridis"),
                        legend=alt.Legend(tickMinStep=1, labelExpr=POWER_OF_TEN_LABEL)),
        tooltip=[alt.Tooltip("w1:Q", title="w", format=".3f"), alt.Tooltip("b1:Q", title="b", format=".3f"),
                 alt.Tooltip("loss:Q", format=".4g")])
    labels = [label for label, _ in paths]
    frames = [pd.DataFrame({"w": d.w, "b": d.b, "k": np.arange(len(d.w)), "path": label, "loss": d.loss})
              for label, d in paths]
    layers = [heat]
    if frames:
        pdf = pd.concat(frames, ignore_index=True)
        inside = pdf[np.isfinite(pdf.w) & np.isfinite(pdf.b)]
        colour = alt.Color("path:N", title=None, sort=labels,
                           scale=alt.Scale(domain=labels, range=[INK.text, INK.categorical[4]][: len(labels)]),
                           legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
        layers.append(alt.Chart(inside).mark_line(point=True, strokeWidth=2).encode(
            x="w:Q", y="b:Q", order="k:Q", color=colour, detail="path:N",
            tooltip=["path:N", "k:Q", alt.Tooltip("w:Q", format=".3f"), alt.Tooltip("b:Q", format=".3f"),
                     alt.Tooltip("loss:Q", format=".4g")]))
    return alt.layer(*layers).properties(
        height=440, title=wrapped("The error E over (w, b), and gradient descent from one start")
    ).configure_axis(grid=False)  # a colour map: no gridlines through its cells


def residual_gain_chart(gains) -> alt.LayerChart:
    """log₁₀ of the gain ‖∂L/∂h_1‖ / ‖∂L/∂h_L‖ against the depth L, with and without the identity path (the same
    weights), the mean-field prediction (√χ)^(L−1) for the plain net, and the χ = 1 line (gain 1 at every depth).
    A gain that is not a positive finite float64 has no logarithm and is left out (the caller says so)."""
    series = [("plain net (measured)", gains.plain), ("residual net (measured)", gains.residual),
              ("plain net, mean field (√χ)^(L−1)", gains.predicted_plain)]
    frames = [pd.DataFrame({"depth": gains.depths, "log10gain": _log10(values), "gain": values, "series": name})
              for name, values in series]
    df = pd.concat(frames, ignore_index=True)
    df = df[np.isfinite(df.log10gain) & (df.gain > 0)]
    names = [name for name, _ in series]
    colors = [SERIES[0], SERIES[1], SERIES[5]]  # plain blue, residual vermillion, theory sky blue
    lines = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("depth:Q", axis=step_axis("depth L (hidden layers)")),
        y=alt.Y("log10gain:Q", axis=log_axis("‖∂L/∂h₁‖ / ‖∂L/∂h_L‖ (log scale)")),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=names, range=colors),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
        strokeDash=alt.condition(alt.datum.series == names[2], alt.value([6, 4]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("depth:Q", title="L"), alt.Tooltip("gain:Q", format=".4g")])
    edge = alt.Chart(pd.DataFrame({"y": [0.0], "label": ["χ = 1: gain 1 at every depth"]}))
    rule = edge.mark_rule(color=INK.text, strokeWidth=2).encode(y="y:Q")
    text = edge.mark_text(align="left", dx=4, dy=-8, fontSize=12).encode(y="y:Q", x=alt.value(4), text="label:N")
    return alt.layer(lines, rule, text).properties(
        height=360, title=alt.Title("Gain back to layer 1", anchor="start", limit=0,
                                    subtitle=f"{gains.activation}, σ_w = {gains.sigma_w:g}, σ_b = {gains.sigma_b:g}"))
