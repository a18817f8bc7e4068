"""Charts of gradients through time: the scalar product against T, ‖∂L/∂h‖ against the lag, RNN vs LSTM.

Every magnitude is on a log₁₀ axis; a product that is exactly 0 (a dead ReLU step) has no logarithm and
is drawn as a grey cross at the bottom edge, never dropped.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.style import INK
from core.charts.template import log_axis, step_axis, wrapped
from core.charts.training import SERIES, ZERO, shown_steps
from core.numbers import sig


def _lines(df: pd.DataFrame, x: str, x_title: str, y_title: str, title: str, series: list[str],
           dashed: tuple[str, ...] = (), subtitle: str | None = None) -> alt.LayerChart:
    """Long-form df (x, series, log10) → one line per series; −inf (a zero) as crosses at the bottom."""
    finite = df[np.isfinite(df["log10"])]
    zeros = df[np.isneginf(df["log10"])]
    bottom = float(finite["log10"].min()) - 0.5 if len(finite) else -1.0
    colour = alt.Color("series:N", title=None, sort=series, scale=alt.Scale(domain=series, range=SERIES[: len(series)]),
                       legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
    patterns = [[1, 0]] + [[7, 4], [2, 3]][: len(dashed)]
    dash = alt.StrokeDash("series:N", sort=series, legend=None,
                          scale=alt.Scale(domain=[s for s in series if s not in dashed] + list(dashed),
                                          range=[[1, 0]] * (len(series) - len(dashed)) + patterns[1:]))
    line = alt.Chart(finite).mark_line(strokeWidth=2.5).encode(
        x=alt.X(f"{x}:Q", axis=step_axis(x_title)), y=alt.Y("log10:Q", axis=log_axis(y_title), scale=alt.Scale(zero=False)),
        color=colour, strokeDash=dash,
        tooltip=[alt.Tooltip("series:N", title="curve"), f"{x}:Q", alt.Tooltip("value:Q", format=".4g")])
    cross = alt.Chart(zeros.assign(bottom=bottom)).mark_point(shape="cross", size=90, color=ZERO, filled=True).encode(
        x=f"{x}:Q", y="bottom:Q", tooltip=[alt.Tooltip("series:N", title="curve"), f"{x}:Q",
                                          alt.Tooltip("value:Q", title="exactly")])
    heading = alt.Title(wrapped(title), subtitle=subtitle) if subtitle else alt.Title(wrapped(title))
    return alt.layer(line, cross).properties(height=400, title=heading)


def _frame(x: np.ndarray, series: dict[str, np.ndarray], x_name: str) -> pd.DataFrame:
    frames = []
    for name, log10 in series.items():
        with np.errstate(over="ignore"):
            value = np.where(np.isfinite(log10), 10.0 ** np.clip(log10, -300, 300), 0.0)
        frames.append(pd.DataFrame({x_name: x, "series": name, "log10": log10, "value": value}))
    return pd.concat(frames, ignore_index=True)


def scalar_product_chart(chain) -> alt.LayerChart:
    """log₁₀|∂h_T/∂h_0| against T, with the bound (|w_rec|·γ)^T and the notes' rule |w_rec|^T."""
    T = np.arange(1, len(chain.z) + 1)
    names = {"measured: |∂h_T/∂h_0| = |Π w_rec·f'(z_t)|": chain.log10_abs_product,
             f"bound: (|w_rec|·γ)^T, γ = {sig(chain.gamma)}": chain.bound_log10,
             "the notes' rule: |w_rec|^T": chain.notes_log10}
    return _lines(_frame(T, names, "T"), "T", "time steps T", "|∂h_T/∂h_0| (log scale)",
                  "The gradient through time of one recurrent unit", list(names), dashed=tuple(list(names)[1:]))


def factor_chart(chain) -> alt.Chart:
    """Each factor w_rec·f'(z_t) against t, with the line |factor| = 1."""
    t = np.arange(1, len(chain.z) + 1)
    df = pd.DataFrame({"t": t, "factor": chain.factors, "dphi": chain.dphi, "z": chain.z})
    bars = alt.Chart(df).mark_bar(color=SERIES[0]).encode(
        x=alt.X("t:Q", axis=step_axis("time step t")), y=alt.Y("factor:Q", title="w_rec·f'(z_t)"),
        tooltip=["t:Q", alt.Tooltip("z:Q", format=".4g"), alt.Tooltip("dphi:Q", title="f'(z_t)", format=".4g"),
                 alt.Tooltip("factor:Q", format=".4g")])
    ones = alt.Chart(pd.DataFrame({"y": [1.0, -1.0]})).mark_rule(color=INK.guide, strokeDash=[6, 4]).encode(y="y:Q")
    return alt.layer(bars, ones).properties(height=220, title="Each factor w_rec·f'(z_t) (dashed: ±1)")


def lag_chart(result) -> alt.LayerChart:
    """Measured ‖∂L/∂h_{T−k}‖ against the lag k, with Pascanu et al.'s bound."""
    with np.errstate(divide="ignore", over="ignore"):
        names = {"measured ‖∂L/∂h_{T−k}‖ (autograd)": np.log10(result.grad_norm),
                 f"bound ‖∂L/∂h_T‖·(γσ_max)^k with γσ_max = {sig(result.spectrum.gamma * result.spectrum.sigma_max)}":
                     np.log10(result.bound)}
    return _lines(_frame(result.lag, names, "lag"), "lag", "lag k (time steps back from T)", "‖∂L/∂h‖ (log scale)",
                  "Gradient through time of an n-unit recurrent layer", list(names), dashed=(list(names)[1],))


def rnn_lstm_lag_chart(rnn, lstm, first: bool = False) -> alt.LayerChart:
    """‖∂L/∂h_t‖ (and the LSTM's ‖∂L/∂c_t‖) against the lag T − t, at the first or the latest step."""
    series, frames = [], []
    for label, values in (("RNN ‖∂L/∂h_t‖", rnn.first_grad_h if first else rnn.grad_h),
                          ("LSTM ‖∂L/∂h_t‖", lstm.first_grad_h if first else lstm.grad_h),
                          ("LSTM cell state ‖∂L/∂c_t‖", lstm.first_grad_c if first else lstm.grad_c)):
        if values is None:
            continue
        T = len(rnn.grad_h)
        lag = T - 1 - np.arange(len(values))  # h_T (the last) has lag 0
        with np.errstate(divide="ignore"):
            frames.append(_frame(lag, {label: np.log10(values)}, "lag"))
        series.append(label)
    df = pd.concat(frames, ignore_index=True)
    return _lines(df, "lag", "lag T − t (time steps back from the output)", "‖∂L/∂state‖ (log scale)",
                  f"How much gradient reaches each time step ({'first' if first else 'latest'} training step)",
                  series, dashed=("LSTM cell state ‖∂L/∂c_t‖",))


def rnn_lstm_loss_chart(rnn, lstm) -> alt.LayerChart:
    """Training loss of both (thinned for display), with the memoryless baseline."""
    frames = []
    for label, run in (("RNN", rnn), ("LSTM", lstm)):
        loss = np.array(run.losses)
        idx = shown_steps(len(loss))
        with np.errstate(divide="ignore", invalid="ignore"):
            frames.append(pd.DataFrame({"step": idx + 1, "series": label, "log10": np.log10(loss[idx]),
                                        "value": loss[idx]}))
    df = pd.concat(frames, ignore_index=True)
    df["log10"] = df["log10"].where(np.isfinite(df["log10"]) | np.isneginf(df["log10"]), np.nan)
    chance = rnn.chance_loss()
    # the no-memory line is named in the subtitle, where no curve can cover the words
    chart = _lines(df.dropna(subset=["log10"]), "step", "training step", "loss (log scale)", "Training loss",
                   ["RNN", "LSTM"], subtitle=f"dotted: no memory (best constant guess), loss {sig(chance, 3)}")
    line = pd.DataFrame({"y": [np.log10(chance)], "label": ["no memory (best constant guess)"]})
    rule = alt.Chart(line).mark_rule(color=INK.guide, strokeDash=[2, 3], strokeWidth=1.5).encode(
        y="y:Q", tooltip=["label:N"])
    return alt.layer(*chart.layer, rule).properties(height=chart.height, title=chart.title)
