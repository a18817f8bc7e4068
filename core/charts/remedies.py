"""Charts that overlay several runs (the remedies lab): loss, global gradient norm, gradient flow.

Same conventions as core.charts.training: log₁₀ axes, runs thinned for display, inf/NaN drawn as red
triangles at the top edge instead of being dropped.
"""

from __future__ import annotations

import math
import textwrap

import altair as alt
import numpy as np
import pandas as pd

from core.charts.style import INK
from core.charts.template import log10_or_nan, log_axis, power_of_ten, step_axis
from core.charts.training import BAD, SERIES, _status, shown_steps
from core.numbers import sig
from core.training.remedies import VERDICT_ORDER, fmt_g, loss_text, relative_loss


def _variant_colour(labels: list[str]) -> alt.Color:
    return alt.Color("variant:N", title=None, sort=labels,
                     scale=alt.Scale(domain=labels, range=SERIES[: len(labels)]),
                     legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))


def _series(outcomes, field: str) -> pd.DataFrame:
    frames = []
    for o in outcomes:
        values = o.run.history.arrays()[field]
        idx = shown_steps(len(values))
        frames.append(pd.DataFrame({"variant": o.label, "step": idx + 1, "value": values[idx]}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["variant", "step", "value"])
    return _annotate(df)


def _annotate(df: pd.DataFrame) -> pd.DataFrame:
    df["log10"] = log10_or_nan(df["value"].to_numpy(dtype=float))
    df["status"] = _status(df["value"].to_numpy(dtype=float))
    df["shown"] = [sig(v, 4) for v in df["value"].to_numpy(dtype=float)]  # tooltips in the app's number format
    return df


OUTLIER_DECADES = 3.0  # runs whose range reaches this many decades beyond all the others' get clipped


def _split(extremes: pd.Series, above: bool) -> list[str]:
    """The runs beyond the widest gap (> OUTLIER_DECADES) between the runs' largest (or smallest) values."""
    ordered = extremes.sort_values(ascending=above)  # the most extreme last
    if len(ordered) < 2:
        return []
    gaps = np.abs(np.diff(ordered.to_numpy()))
    cut = int(np.argmax(gaps))
    return [str(v) for v in ordered.index[cut + 1:]] if gaps[cut] > OUTLIER_DECADES else []


def y_range(df: pd.DataFrame) -> tuple[float, float, list[str], list[str]]:
    """The log₁₀ range to draw: all runs', unless some runs reach more than OUTLIER_DECADES beyond the rest (a
    baseline spiking to 10¹⁶ would flatten the remedies into one line): then the rest's range plus a decade of
    room, and the excursions clipped at the edge and marked. Returns (low, high, the runs clipped above, the runs
    clipped below)."""
    finite = df[df.status == "finite"]
    if finite.empty:
        return -1.0, 1.0, [], []
    hi_by, lo_by = finite.groupby("variant")["log10"].max(), finite.groupby("variant")["log10"].min()
    over, under = _split(hi_by, above=True), _split(lo_by, above=False)
    hi = float(hi_by.drop(over).max()) + 1 if over else float(hi_by.max())
    lo = float(lo_by.drop(under).min()) - 1 if under else float(lo_by.min())
    pad = max(0.1, 0.05 * (hi - lo))
    return lo - (0 if under else pad), hi + (0 if over else pad), over, under


def _beyond(df: pd.DataFrame, runs: list[str], edge: float, above: bool, x: str) -> pd.DataFrame:
    """One row per clipped run: where it is most extreme (`x`: its step or layer), drawn as a triangle at the
    edge of the plot."""
    rows = []
    for run in runs:
        mine = df[(df.variant == run) & (df.status == "finite")]
        at = mine["log10"].idxmax() if above else mine["log10"].idxmin()
        rows.append({"variant": run, x: int(mine.loc[at, x]), "edge": edge, "shown": mine.loc[at, "shown"]})
    return pd.DataFrame(rows, columns=["variant", x, "edge", "shown"])


def _overflow_note(df: pd.DataFrame, over: list[str], under: list[str]) -> list[str]:
    """One line per clipped side: which runs leave the chart and how far they go (their extreme power of ten)."""
    notes = []
    for runs, above in ((over, True), (under, False)):
        parts = []
        for run in runs:
            mine = df[(df.variant == run) & (df.status == "finite")]["log10"]
            k = math.floor(mine.max()) if above else math.ceil(mine.min())
            parts.append(f"{run} {'reaches' if above else 'falls to'} {power_of_ten(k)}")
        if parts:
            line = f"{'▲' if above else '▼'} off the chart ({'top' if above else 'bottom'}): " + "; ".join(parts)
            notes += textwrap.wrap(line, SUBTITLE_CHARS, break_long_words=False)
    return notes


SUBTITLE_CHARS = 100  # the overlays span the main column: ≈ 0.6 em × 13 px per character, 100 fit in 800 px


def _lines(df: pd.DataFrame, labels: list[str], y_title: str, x_title: str = "step", dash: str | None = None,
           x: str = "step", point: bool = False) -> tuple[list, list[str]]:
    lo, hi, over, under = y_range(df)
    enc = dict(x=alt.X(f"{x}:Q", axis=step_axis(x_title), scale=alt.Scale(nice=False, zero=False)),
               y=alt.Y("log10:Q", axis=log_axis(y_title), scale=alt.Scale(domain=[lo, hi], nice=False, zero=False)),
               color=_variant_colour(labels), tooltip=["variant:N", f"{x}:Q", alt.Tooltip("shown:N", title="value")])
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0))
        enc["detail"] = "variant:N"
    line = alt.Chart(df[df.status == "finite"]).mark_line(clip=True, point=point).encode(**enc)
    bad = alt.Chart(df[df.status != "finite"].assign(top=hi)).mark_point(
        shape="triangle-down", size=150, filled=True, color=BAD).encode(
        x=f"{x}:Q", y="top:Q", tooltip=["variant:N", f"{x}:Q", "status:N"])
    layers = [line, bad]
    for runs, edge, shape in ((over, hi, "triangle-up"), (under, lo, "triangle-down")):
        if runs:
            layers.append(alt.Chart(_beyond(df, runs, edge, shape == "triangle-up", x)).mark_point(
                shape=shape, size=170, filled=True, clip=False).encode(
                x=f"{x}:Q", y="edge:Q", color=_variant_colour(labels),
                tooltip=["variant:N", f"{x}:Q", alt.Tooltip("shown:N", title="largest" if edge == hi else "smallest")]))
    return layers, _overflow_note(df, over, under)


def _titled(title: str, notes: list[str]) -> alt.Title:
    return alt.Title(title, subtitle=notes) if notes else alt.Title(title)


def loss_overlay(outcomes) -> alt.LayerChart:
    labels = [o.label for o in outcomes]
    layers, notes = _lines(_series(outcomes, "loss"), labels, "loss (log scale)")
    return alt.layer(*layers).properties(height=300, title=_titled("Loss (log scale)", notes))


def grad_norm_overlay(outcomes) -> alt.LayerChart:
    """Global gradient norm; with clipping, before (dashed) and after (solid)."""
    labels = [o.label for o in outcomes]
    before = _series(outcomes, "grad_total_raw").assign(which="before clipping")
    after = _series(outcomes, "grad_total").assign(which="used for the step (after clipping)")
    df = pd.concat([before, after], ignore_index=True)
    layers, notes = _lines(df, labels, "‖∂L/∂θ‖ (log scale)", dash="which")
    return alt.layer(*layers).properties(
        height=300, title=_titled(["Global gradient norm ‖∂L/∂θ‖ (all parameters),", "before and after clipping"],
                                  notes))


def flow_overlay(outcomes, field: str = "grad_h") -> alt.LayerChart:
    """Per-layer gradient norms at the last recorded step of each run."""
    labels = [o.label for o in outcomes]
    rows = []
    for o in outcomes:
        h = o.run.history.arrays()[field]
        if len(h):
            rows += [{"variant": o.label, "layer": i + 1, "value": float(v)} for i, v in enumerate(h[-1])]
    df = _annotate(pd.DataFrame(rows if rows else {"variant": [], "layer": [], "value": []}))
    name = "‖∂L/∂h_l‖ (back-propagated signal)" if field == "grad_h" else "‖∂L/∂W_l‖ (weight gradient)"
    short = "‖∂L/∂h_l‖ (log scale)" if field == "grad_h" else "‖∂L/∂W_l‖ (log scale)"
    layers, notes = _lines(df, labels, short, "layer (1 = next to the input)", x="layer", point=True)
    return alt.layer(*layers).properties(height=300, title=_titled(f"{name} by layer at each run's last step", notes))


def summary_rows(outcomes) -> list[dict]:
    rows = []
    for o in outcomes:
        rows.append({
            "variant": o.label,
            "first → final loss": loss_text(o),
            "final ÷ no-learning loss": "—" if not np.isfinite(relative_loss(o)) else f"{relative_loss(o):.0%}",
            "max ‖∂L/∂θ‖ before clipping": fmt_g(o.max_grad_norm),
            "diagnosis": o.diagnosis.verdict,
        })
    return rows


VERDICT_COLOURS = tuple(INK.categorical[i] for i in (2, 5, 3, 1))  # cures, helps, vanishing, fails
CAP = 2.0  # bars are drawn up to twice the no-learning loss; beyond that (or diverged) they stop at the edge


def ranking_rows(rows) -> list[dict]:
    """One row per remedy, in ranking order: verdict, final loss against the no-learning baseline, largest
    gradient norm (the table beside the *Which fix works?* button)."""
    table = []
    for o, kind, _ in rows:
        rel = relative_loss(o)
        table.append({
            "remedy": o.label,
            "verdict": kind,
            # one column for the loss and its share of a constant guess's: the table fits beside the controls
            "final loss": "diverged at step " + str(o.diverged_at) if o.diverged_at is not None
            else fmt_g(o.final_loss) + ("" if not np.isfinite(rel) else f" ({rel:.0%})"),
            "largest ‖∂L/∂θ‖": fmt_g(o.max_grad_norm),
        })
    return table


def ranking_chart(rows) -> alt.LayerChart:
    """Final loss ÷ the no-learning loss for every remedy, coloured by verdict, with the line a constant guess
    scores (1) and the line below which a run counts as trained."""
    from core.training.diagnosis import TRAINED

    frame = []
    for i, (o, kind, _) in enumerate(rows):
        rel = relative_loss(o)
        shown = min(rel, CAP) if np.isfinite(rel) else CAP
        text = ("diverged" if o.diverged_at is not None else
                f"{rel:.0%}" if np.isfinite(rel) else "no baseline")
        frame.append({"remedy": o.label, "order": i, "verdict": kind, "relative": shown, "text": text,
                      "final loss": fmt_g(o.final_loss), "largest gradient norm": fmt_g(o.max_grad_norm)})
    df = pd.DataFrame(frame if frame else {"remedy": [], "order": [], "verdict": [], "relative": [], "text": []})
    order = [r["remedy"] for r in frame]
    y = alt.Y("remedy:N", sort=order, title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False))
    x = alt.X("relative:Q", title="final loss ÷ loss of a constant guess (1 = learnt nothing)",
              scale=alt.Scale(domain=[0, CAP]), axis=alt.Axis(format="~%"))
    bars = alt.Chart(df).mark_bar().encode(
        x=x, y=y, color=alt.Color("verdict:N", title=None, scale=alt.Scale(domain=list(VERDICT_ORDER),
                                                                          range=list(VERDICT_COLOURS)),
                                  legend=alt.Legend(orient="bottom", columns=2, labelLimit=0)),
        tooltip=["remedy:N", "verdict:N", "final loss:N", "largest gradient norm:N", alt.Tooltip("text:N",
                                                                                            title="÷ no-learning")])
    labels = alt.Chart(df).mark_text(align="left", dx=4).encode(x="relative:Q", y=y, text="text:N")
    lines = pd.DataFrame({"at": [TRAINED, 1.0], "what": [f"trained: below {TRAINED:.0%}", "a constant guess"]})
    rules = alt.Chart(lines).mark_rule(strokeDash=[5, 3], color=INK.guide).encode(x="at:Q", tooltip=["what:N"])
    return alt.layer(bars, labels, rules).properties(
        height=alt.Step(BAR_HEIGHT),  # per remedy, whatever the number of remedies
        title=alt.Title("Final loss ÷ a constant guess's", anchor="start", limit=0))


BAR_HEIGHT = 26  # px per remedy: room for its label and its bar
