"""Charts that overlay several runs (the remedies lab): loss, global gradient norm, gradient flow.

Same conventions as core.charts.training: log₁₀ axes, runs thinned for display, inf/NaN drawn as red
triangles at the top edge instead of being dropped.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.training import BAD, OKABE_ITO, _log10, _status, _top, shown_steps
from core.numbers import sig
from core.training.remedies import VERDICT_ORDER, fmt_g, loss_text, relative_loss


def _variant_colour(labels: list[str]) -> alt.Color:
    return alt.Color("variant:N", title=None, sort=labels,
                     scale=alt.Scale(domain=labels, range=OKABE_ITO[: len(labels)]),
                     legend=alt.Legend(orient="right", labelLimit=260))


def _series(outcomes, field: str) -> pd.DataFrame:
    frames = []
    for o in outcomes:
        values = o.run.history.arrays()[field]
        idx = shown_steps(len(values))
        frames.append(pd.DataFrame({"variant": o.label, "step": idx + 1, "value": values[idx]}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["variant", "step", "value"])
    df["log10"] = _log10(df["value"].to_numpy(dtype=float))
    df["status"] = _status(df["value"].to_numpy(dtype=float))
    df["shown"] = [sig(v, 4) for v in df["value"].to_numpy(dtype=float)]  # tooltips in the app's number format
    return df


def _lines(df: pd.DataFrame, labels: list[str], title: str, y_title: str, dash: str | None = None) -> list:
    top = _top(df["log10"].to_numpy())
    enc = dict(x=alt.X("step:Q", title="step"), y=alt.Y("log10:Q", title=y_title, scale=alt.Scale(zero=False)),
               color=_variant_colour(labels), tooltip=["variant:N", "step:Q", alt.Tooltip("shown:N", title="value")])
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=None, legend=alt.Legend(orient="right", labelLimit=260))
        enc["detail"] = "variant:N"
    line = alt.Chart(df[df.status == "finite"]).mark_line().encode(**enc)
    bad = alt.Chart(df[df.status != "finite"].assign(top=top)).mark_point(
        shape="triangle-down", size=150, filled=True, color=BAD).encode(
        x="step:Q", y="top:Q", tooltip=["variant:N", "step:Q", "status:N"])
    return [line, bad]


def loss_overlay(outcomes) -> alt.LayerChart:
    labels = [o.label for o in outcomes]
    return alt.layer(*_lines(_series(outcomes, "loss"), labels, "", "log₁₀ loss")).properties(
        height=300, title="Loss (log scale)")


def grad_norm_overlay(outcomes) -> alt.LayerChart:
    """Global gradient norm; with clipping, before (dashed) and after (solid)."""
    labels = [o.label for o in outcomes]
    before = _series(outcomes, "grad_total_raw").assign(which="before clipping")
    after = _series(outcomes, "grad_total").assign(which="used for the step (after clipping)")
    df = pd.concat([before, after], ignore_index=True)
    return alt.layer(*_lines(df, labels, "", "log₁₀ ‖∂L/∂θ‖", dash="which")).properties(
        height=300, title="Global gradient norm ‖∂L/∂θ‖ (all parameters), before and after clipping")


def flow_overlay(outcomes, field: str = "grad_h") -> alt.LayerChart:
    """Per-layer gradient norms at the last recorded step of each run."""
    labels = [o.label for o in outcomes]
    rows = []
    for o in outcomes:
        h = o.run.history.arrays()[field]
        if len(h):
            rows += [{"variant": o.label, "layer": i + 1, "value": float(v)} for i, v in enumerate(h[-1])]
    df = pd.DataFrame(rows if rows else {"variant": [], "layer": [], "value": []})
    df["log10"] = _log10(df["value"].to_numpy(dtype=float))
    df["status"] = _status(df["value"].to_numpy(dtype=float))
    df["shown"] = [sig(v, 4) for v in df["value"].to_numpy(dtype=float)]
    top = _top(df["log10"].to_numpy())
    name = "‖∂L/∂h_l‖ (back-propagated signal)" if field == "grad_h" else "‖∂L/∂W_l‖ (weight gradient)"
    line = alt.Chart(df[df.status == "finite"]).mark_line(point=True).encode(
        x=alt.X("layer:Q", title="layer (1 = next to the input)", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("log10:Q", title=f"log₁₀ {name}", scale=alt.Scale(zero=False)), color=_variant_colour(labels),
        tooltip=["variant:N", "layer:Q", alt.Tooltip("shown:N", title="value")])
    bad = alt.Chart(df[df.status != "finite"].assign(top=top)).mark_point(
        shape="triangle-down", size=150, filled=True, color=BAD).encode(x="layer:Q", y="top:Q",
                                                                        tooltip=["variant:N", "layer:Q", "status:N"])
    return alt.layer(line, bad).properties(height=300, title=f"{name} by layer at each run's last step")


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


VERDICT_COLOURS = ("#009E73", "#56B4E9", "#CC79A7", "#D55E00")  # Okabe–Ito: cures, helps, vanishing, fails
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
    rules = alt.Chart(lines).mark_rule(strokeDash=[5, 3], color="black").encode(x="at:Q", tooltip=["what:N"])
    return alt.layer(bars, labels, rules).properties(
        height=alt.Step(BAR_HEIGHT),  # per remedy, whatever the number of remedies
        title=alt.Title("Final loss ÷ a constant guess's", anchor="start", limit=0))


BAR_HEIGHT = 26  # px per remedy: room for its label and its bar
