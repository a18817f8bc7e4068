"""The network picture: every layer of the net, drawn with the gradient that flows through it, at one step.

Two views of the same recorded numbers:

- **unit level** (small nets, and only when the step's weight-gradient matrices are at hand, i.e. for the
  latest step): every neuron a dot, every weight an edge coloured and thickened by log₁₀|∂L/∂w| of that
  weight; each column labelled with its layer's ‖∂L/∂W_l‖ (top) and ‖∂L/∂h_l‖ (bottom).
- **layer level** (any size: 1 to 100+ hidden layers, widths up to 256): one block per layer (input,
  h₁ … h_L, output), its height growing as √units, filled by ‖∂L/∂h_l‖ (the back-propagated signal); one
  edge between consecutive layers, coloured and thickened by ‖∂L/∂W_l‖ (the weight gradient). O(layers) rows.

Edges and blocks share one log₁₀ colour scale (a viridis ramp, colour-blind safe) and one legend. The culprit layer
(`culprit_layer`) is shaded with a dashed outline and explained in a caption and its tooltip. Vega-Lite drops
NaN silently, so inf and NaN are drawn explicitly (dashed red edges and outlines, labelled "inf"/"NaN"); an
exactly-zero gradient, which has no logarithm, is drawn dotted grey.

The spec is a constant template over the named datasets `DATASETS`: `network_spec`/`network_template` depend
only on the layer sizes, the view, the theme and the width (and are cached), while `network_frames` gives one
step's rows. A front end can therefore keep the spec and swap the data; `network_picture` joins both into one
self-contained Altair chart (for exports and tests). No Streamlit here.
"""

from __future__ import annotations

import functools
import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import altair as alt
import numpy as np
import pandas as pd

from core.charts.style import DARK, LIGHT
from core.charts.template import POWER_OF_TEN_LABEL, log10_or_nan
from core.numbers import sig
from core.training.diagnosis import DEPTH_GAIN_EXPLODING, DEPTH_GAIN_VANISHING

NODES, EDGES, NOTES = "network_nodes", "network_edges", "network_notes"
DATASETS = (NODES, EDGES, NOTES)
MAX_UNIT_WIDTH = 10  # unit level only if every layer, input and output included, has at most this many units …
MAX_UNIT_HIDDEN = 8  # … and there are at most this many hidden layers
LAYER_GAIN = 10.0  # one layer alone multiplying (or dividing) the back-propagated signal by 10 names a culprit
WIDTH = 700  # default drawing width in pixels (a front end may stretch the chart to its container)

# Pixel rows of the drawing, from the top: the caption (up to CAPTION_LINES lines), the culprit's label,
# the weight-gradient labels (unit level), the network, the layer names, the signal labels (unit level).
LINE = 17
CAPTION_LINES = 3
CULPRIT_ROW = CAPTION_LINES * LINE + 12
TOP_UNIT, TOP_LAYER = CULPRIT_ROW + 44, CULPRIT_ROW + 26
BOTTOM_UNIT, BOTTOM_LAYER = 50, 46
LAYER_DRAWING = 190  # pixels for the blocks of the layer-level view …
LAYER_Y = (-1.05, 1.4)  # … which span y = −1 … 1 (the widest layer), with room above for "inf"/"NaN"

# Colour-blind safe: a viridis ramp for magnitudes, cut to the part with 3:1 contrast on the background
# (`core.charts.style`), the Okabe–Ito reddish purple for the culprit, red *with a dash pattern* for inf/NaN (the
# dashes carry the meaning, not the hue).
THEMES: dict[str, dict[str, Any]] = {
    # light background: the larger the gradient, the darker (and thicker) the line
    "light": {"ink": "#31333F", "muted": "#5E6270", "zero": LIGHT.zero, "bad": "#C00000", "culprit": "#CC79A7",
              "ramp": tuple(reversed(LIGHT.layers)), "node": "#31333F"},
    # dark background: the larger the gradient, the brighter (and thicker) the line
    "dark": {"ink": "#FAFAFA", "muted": "#C3C6CF", "zero": "#80838D", "bad": "#FF6B6B", "culprit": "#E7A3CB",
             "ramp": DARK.layers, "node": "#E6E6EA"},
}


class NonFiniteLike(Protocol):
    """What the picture reads from `core.training.recorder.NonFinite` (where a value first became inf/NaN)."""

    step: int
    stage: str
    tensor: str
    layer: int | None
    kind: str


@dataclass(frozen=True)
class Culprit:
    """The layer to blame at one step, and why.

    `layer` is k in 1 … L+1: the k-th linear layer, i.e. the weights W_k between h_{k−1} and h_k (h₀ is the
    input) together with its output h_k; k = L+1 is the read-out layer that produces ŷ.
    """

    layer: int
    reason: str  # "non-finite", "grows" or "shrinks"
    factor: float  # f_k = ‖∂L/∂h_{k−1}‖ / ‖∂L/∂h_k‖ for "grows"/"shrinks"; NaN for "non-finite"
    headline: str  # what happens at this layer, in a few words
    detail: str  # the numbers behind it

    @property
    def why(self) -> str:
        """One sentence for a tooltip."""
        return f"{self.headline}: {self.detail}."


@dataclass(frozen=True)
class NetworkData:
    """One step's rows, keyed by dataset name (`DATASETS`), and what they show."""

    frames: dict[str, pd.DataFrame]
    unit_level: bool
    culprit: Culprit | None
    caption: str


# ------------------------------------------------------------------------------------------------ numbers


def _num(x: float) -> str:
    """A magnitude for a label: the app's one human format (3 significant digits, × 10ⁿ when far from 1);
    inf and NaN spelled out."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "−inf"
    return sig(x, 3, plain_range=(-3, 4))


def _status(values: np.ndarray) -> np.ndarray:
    """'finite', 'zero' (exactly 0: no logarithm), 'inf' or 'NaN' per value."""
    return np.where(np.isnan(values), "NaN", np.where(np.isinf(values), "inf",
                                                      np.where(values == 0, "zero", "finite")))


def _name(k: int, n_hidden: int) -> str:
    """Node k of the picture: the input (0), h_1 … h_L, the output (L+1)."""
    return "input" if k == 0 else ("output ŷ" if k == n_hidden + 1 else f"h_{k}")


# ------------------------------------------------------------------------------------------------ culprit


def culprit_layer(grad_w: Sequence[float], grad_h: Sequence[float], *, step: int | None = None,
                  nonfinite: NonFiniteLike | None = None) -> Culprit | None:
    """The layer to blame at one step, from that step's recorded norms, or None when no layer stands out.

    `grad_w` holds ‖∂L/∂W_k‖ for k = 1 … L+1 and `grad_h` holds ‖∂L/∂h_l‖ for l = 1 … L (one row of
    `run.history.arrays()`). In order:

    1. Where a value first became inf or NaN. The recorder's `NonFinite`, if it is for this step, says where
       (it names the forward-pass tensor when the overflow began there; when it was the loss itself, no layer
       is blamed and None is returned). Without it, as the recorder does: the first non-finite norm the
       backward pass produced, i.e. the deepest non-finite ∂L/∂h_l, else the deepest non-finite ∂L/∂W_k.
    2. Otherwise the diagnosis's notion, the growth of the back-propagated signal with depth, taken layer by
       layer. Going back through layer k (its W_k and φ'(z_k)) the signal is multiplied by
       f_k = ‖∂L/∂h_{k−1}‖ / ‖∂L/∂h_k‖, k = 2 … L (the input's and the output's gradients are not recorded).
       If the signal explodes — ×`DEPTH_GAIN_EXPLODING` or more from h_L back to h_1 (the diagnosis's
       threshold), or ×`LAYER_GAIN` in one layer — the culprit is the layer with the largest f_k; if it
       vanishes (÷100 over the depth, or ÷10 in one layer) the layer with the smallest. When both happen the
       more extreme factor wins; f_k = 0 (nothing at all gets back through layer k) is the most extreme.
    """
    gw = np.asarray(grad_w, dtype=np.float64).reshape(-1)
    gh = np.asarray(grad_h, dtype=np.float64).reshape(-1)
    n_hidden = len(gh)
    if nonfinite is not None and (step is None or nonfinite.step == step):
        if nonfinite.layer is None:
            return None
        stage = {"forward": "forward pass", "backward": "backward pass", "update": "weight update"}.get(
            nonfinite.stage, nonfinite.stage)
        return Culprit(int(nonfinite.layer), "non-finite", math.nan,
                       f"{nonfinite.tensor} became {nonfinite.kind} here first, in the {stage}",
                       "every number computed from it afterwards is inf or NaN too")
    for values, label in ((gh, "∂L/∂h_{}"), (gw, "∂L/∂W_{}")):
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):  # the backward pass runs from the output down: the deepest index was computed first
            k = int(bad[-1]) + 1
            kind = "NaN" if np.isnan(values[k - 1]) else "inf"
            return Culprit(k, "non-finite", math.nan, f"‖{label.format(k)}‖ is {kind}",
                           "the first non-finite norm of the backward pass, which runs from the output to the input")
    if n_hidden < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(gh[1:] > 0, gh[:-1] / gh[1:], np.nan)  # factors[i] = f_{i+2}; NaN: nothing reached h_{i+2}
    known = np.flatnonzero(~np.isnan(factors))
    if not len(known):
        return None
    with np.errstate(divide="ignore"):
        logs = np.log10(factors[known])
    total = gh[0] / gh[-1] if gh[-1] > 0 else math.nan
    explodes = total >= DEPTH_GAIN_EXPLODING or logs.max() >= math.log10(LAYER_GAIN)
    vanishes = total <= DEPTH_GAIN_VANISHING or logs.min() <= -math.log10(LAYER_GAIN)
    if not (explodes or vanishes):
        return None
    score = np.where(logs > 0, logs if explodes else -np.inf, -logs if vanishes else -np.inf)
    i = int(known[int(np.argmax(score))])
    k, f = i + 2, float(factors[i])
    if f == 0:
        headline = f"nothing gets back through layer {k}"
        detail = f"‖∂L/∂h_{k - 1}‖ = 0 while ‖∂L/∂h_{k}‖ = {_num(gh[i + 1])}"
    else:
        headline = f"the back-propagated signal {'grows' if f > 1 else 'shrinks'} ×{_num(f)} through it, the most of any layer"
        detail = f"‖∂L/∂h_{k - 1}‖ = {_num(gh[i])} from ‖∂L/∂h_{k}‖ = {_num(gh[i + 1])}"
    if math.isfinite(total) and total > 0:
        detail += f"; h_{n_hidden} → h_1: ×{_num(total)} in all, ≈ ×{_num(total ** (1 / (n_hidden - 1)))} per layer"
    return Culprit(k, "grows" if f > 1 else "shrinks", f, headline, detail)


def _caption(gh: np.ndarray, step: int, culprit: Culprit | None, nonfinite: NonFiniteLike | None) -> str:
    """The picture's caption: the step and the culprit with its numbers, or why none is named."""
    if culprit is not None:
        return f"Step {step} · culprit: layer {culprit.layer} — {culprit.headline}\n{culprit.detail}"
    if nonfinite is not None and nonfinite.step == step:  # the loss itself overflowed
        return (f"Step {step} · no layer to blame: the loss itself became {nonfinite.kind} first\n"
                "every h_l and the output ŷ were still finite; the loss computed from ŷ was not")
    if len(gh) < 2:
        return f"Step {step} · no culprit named\nthe growth of ∂L/∂h with depth needs at least 2 hidden layers"
    if not (gh > 0).any():
        return f"Step {step} · no culprit named\n∂L/∂h is exactly 0 in every hidden layer: no signal reaches them"
    with np.errstate(divide="ignore", invalid="ignore"):
        f = gh[:-1] / gh[1:]
    f = f[np.isfinite(f) & (f > 0)]
    spread = f"between ×{_num(float(f.min()))} and ×{_num(float(f.max()))} per layer" if len(f) else "nowhere measurably"
    return (f"Step {step} · no culprit: no layer makes the back-propagated signal explode or vanish\n"
            f"going back, ‖∂L/∂h_l‖ changes {spread}")


# ------------------------------------------------------------------------------------------------ data


def is_unit_level(sizes: Sequence[int], *, max_units: int = MAX_UNIT_WIDTH, max_hidden: int = MAX_UNIT_HIDDEN) -> bool:
    """Whether a net with these layer sizes ([n_in, width_1 … width_L, n_out]) is drawn unit by unit."""
    return len(sizes) - 2 <= max_hidden and max(sizes) <= max_units


def _matches(weight_grads: Sequence[np.ndarray], grad_w: np.ndarray, sizes: Sequence[int]) -> bool:
    """Whether the matrices have the net's shapes and are the gradients whose norms the row records."""
    if len(weight_grads) != len(sizes) - 1:
        return False
    if any(tuple(np.shape(g)) != (b, a) for g, a, b in zip(weight_grads, sizes[:-1], sizes[1:], strict=True)):
        return False
    with np.errstate(all="ignore"):
        norms = np.array([float(np.linalg.norm(np.asarray(g, dtype=np.float64))) for g in weight_grads])
    finite = np.isfinite(norms) & np.isfinite(grad_w)
    return bool((_status(norms) == _status(grad_w)).all() and np.allclose(norms[finite], grad_w[finite], rtol=1e-4, atol=0))


def network_frames(grad_w: Sequence[float], grad_h: Sequence[float], sizes: Sequence[int], *, step: int,
                   weight_grads: Sequence[np.ndarray] | None = None, nonfinite: NonFiniteLike | None = None,
                   width: int = WIDTH, max_units: int = MAX_UNIT_WIDTH, max_hidden: int = MAX_UNIT_HIDDEN) -> NetworkData:
    """One step's rows for the picture.

    `grad_w` (L+1,) and `grad_h` (L,): the step's row of `run.history.arrays()["grad_w"]` and `["grad_h"]`.
    `sizes`: [n_in, width_1, …, width_L, n_out]. `weight_grads`: the step's ∂L/∂W_k matrices (out × in), which
    a run keeps for its latest step only (`run.last_weight_grads`). The unit-level view is chosen when they are
    given, the net is small (`is_unit_level`) and their norms are the row's; otherwise the layer-level view.
    `nonfinite`: the run's `NonFinite` record, if any (used when it is for this step). `width`: the drawing's
    width in pixels, for wrapping the caption.
    """
    gw = np.asarray(grad_w, dtype=np.float64).reshape(-1)
    gh = np.asarray(grad_h, dtype=np.float64).reshape(-1)
    sizes = [int(s) for s in sizes]
    L = len(sizes) - 2
    if L < 0 or len(gw) != L + 1 or len(gh) != L or min(sizes) < 1:
        raise ValueError(f"layer sizes {sizes} need {max(L, 0) + 1} weight-gradient norms and {max(L, 0)} signal "
                         f"norms; got {len(gw)} and {len(gh)}")
    small = is_unit_level(sizes, max_units=max_units, max_hidden=max_hidden)
    unit = weight_grads is not None and small and _matches(weight_grads, gw, sizes)
    culprit = culprit_layer(gw, gh, step=step, nonfinite=nonfinite)
    caption = _caption(gh, step, culprit, nonfinite)
    if small and not unit:
        caption += "\n(each weight's own gradient is kept for the latest step only: here one edge per layer)"
    if unit:
        nodes, edges, rows = _unit_rows(gw, gh, sizes, [np.asarray(g) for g in weight_grads])
    else:
        nodes, edges, rows = _layer_rows(gw, gh, sizes, width)
    chars = max(40, int(width / 6.6))
    lines = [part for line in caption.split("\n") for part in textwrap.wrap(line, chars)]
    rows.append(("caption", math.nan, math.nan, math.nan, "\n".join(lines), "ink", caption.replace("\n", "; ")))
    if culprit is not None:
        k = culprit.layer
        lo, hi = k - 1 + _pad(L, unit, width), k + _pad(L, unit, width)
        anchor = "right" if k > 0.8 * (L + 1) and L >= 4 else ("left" if k <= 1 and L >= 4 else "center")
        label_x = {"right": hi, "left": lo, "center": (lo + hi) / 2}[anchor]
        rows.append(("band", lo, hi, math.nan, "", "culprit", culprit.why))
        rows.append(("culprit", label_x, math.nan, math.nan, f"culprit: layer {k}", "culprit", culprit.why))
        anchors = {len(rows) - 1: anchor}
    else:
        anchors = {}
    notes = pd.DataFrame(rows, columns=["role", "x", "x2", "y", "text", "ink", "tip"])
    notes["anchor"] = [anchors.get(i, "center") for i in range(len(notes))]
    nodes["culprit"] = nodes["layer"] == (culprit.layer if culprit else -1)
    edges["culprit"] = edges["layer"] == (culprit.layer if culprit else -1)
    # The drawing wraps the caption's lines itself; the page's one-line caption joins them with a visible
    # separator (Markdown would run "…through layer 3" and "‖∂L/∂h_2‖ = 0…" together).
    return NetworkData({NODES: nodes, EDGES: edges, NOTES: notes}, bool(unit), culprit, caption.replace("\n", " — "))


def _thickness(logs: np.ndarray, thinnest: float, thickest: float) -> np.ndarray:
    """Line widths in pixels, growing linearly with log₁₀ of the gradient from the step's smallest to its largest
    (the middle width when all are equal); NaN where there is no logarithm (0, inf, NaN)."""
    finite = logs[np.isfinite(logs)]
    if not len(finite):
        return np.full(len(logs), np.nan)
    lo, hi = float(finite.min()), float(finite.max())
    frac = (logs - lo) / (hi - lo) if hi > lo else np.where(np.isfinite(logs), 0.5, np.nan)
    return thinnest + (thickest - thinnest) * frac


def _half_block(n_hidden: int, width: int) -> float:
    """Half the width of a layer's block, in layer spacings: narrower when there are many layers, and never wider
    than 44 pixels in all."""
    return min(0.28 if n_hidden <= 20 else 0.17, 22 / (width / (n_hidden + 2.1)))


def _pad(n_hidden: int, unit: bool, width: int) -> float:
    """The culprit band runs from just right of node k−1 to just right of node k (edge W_k and node k)."""
    return 0.13 if unit else _half_block(n_hidden, width) + 0.05


def _layer_rows(gw: np.ndarray, gh: np.ndarray, sizes: list[int],
                width: int) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple]]:
    """One block per layer (height ∝ √units) and one edge per weight matrix: O(layers) rows."""
    L = len(sizes) - 2
    k = np.arange(L + 2)
    units = np.array(sizes)
    half = 0.1 + 0.9 * np.sqrt(units / units.max())  # block half-height; the tallest spans y = −1 … 1
    hw = _half_block(L, width)
    signal = np.concatenate([[np.nan], gh, [np.nan]])
    status = _status(signal)
    status[[0, -1]] = "none"  # ∂L/∂h is recorded for the hidden layers only
    names = [_name(i, L) for i in k]
    tips = [f"{names[i]} · {units[i]} unit{'s' if units[i] != 1 else ''} · "
            + (f"‖∂L/∂h_{i}‖ = {_num(signal[i])} (back-propagated signal)" if 0 < i <= L
               else "∂L/∂h is recorded for the hidden layers only") for i in k]
    nodes = pd.DataFrame({"layer": k, "x": k - hw, "x2": k + hw, "y": -half, "y2": half, "name": names,
                          "units": units, "log10": log10_or_nan(signal), "status": status, "tip": tips})
    ke = np.arange(1, L + 2)
    edge_status = _status(gw)
    edge_tips = [f"W_{i} ({names[i - 1]} → {names[i]}, {sizes[i]} × {sizes[i - 1]} weights) · ‖∂L/∂W_{i}‖ = "
                 f"{_num(v)} (weight gradient)" for i, v in zip(ke, gw, strict=True)]
    logs = log10_or_nan(gw)
    half_thick = _thickness(logs, 2.0, 12.0) / 2 / (LAYER_DRAWING / (LAYER_Y[1] - LAYER_Y[0]))  # pixels → y units
    edges = pd.DataFrame({"layer": ke, "x": ke - 1.0, "y": 0.0, "x2": ke * 1.0, "y2": 0.0, "t0": -half_thick,
                          "t1": half_thick, "name": [f"W_{i}" for i in ke], "log10": logs, "status": edge_status,
                          "tip": edge_tips})
    # Names and widths of every layer when they fit, else of every s-th (s a round number), always the input and
    # the output; "inf"/"NaN" on every non-finite block and edge.
    stride = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 10**9) if (L + 1) / s <= 11)
    shown = [i for i in k if i in (0, L + 1) or (i % stride == 0 and L + 1 - i >= max(stride / 2, 1))]
    rows: list[tuple] = [("name", float(i), math.nan, math.nan,
                          f"{names[i] if 0 < i <= L else ('in' if i == 0 else 'out')}\n{units[i]}", "muted", tips[i])
                         for i in shown]
    spacing = width / (L + 2.1)  # pixels from one layer to the next
    if spacing >= 28:  # where the words fit (the dashes and the tooltips say it everywhere)
        rows += [("data", float(i), math.nan, 1.22, status[i], "bad", tips[i]) for i in k if status[i] in ("inf", "NaN")]
    if spacing * (1 - 2 * hw) >= 32:
        rows += [("data", i - 0.5, math.nan, 0.3, edge_status[i - 1], "bad", edge_tips[i - 1])
                 for i in ke if edge_status[i - 1] in ("inf", "NaN")]
    return nodes, edges, rows


def _unit_rows(gw: np.ndarray, gh: np.ndarray, sizes: list[int],
               grads: list[np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple]]:
    """Every unit a dot, every weight an edge (sorted by |∂L/∂w|, so the largest are drawn on top)."""
    L = len(sizes) - 2
    ys = [(n - 1) / 2 - np.arange(n) for n in sizes]  # unit 1 at the top
    names = [_name(i, L) for i in range(L + 2)]
    node_layer = np.repeat(np.arange(L + 2), sizes)
    node_unit = np.concatenate([np.arange(1, n + 1) for n in sizes])
    nodes = pd.DataFrame({"layer": node_layer, "x": node_layer.astype(float), "y": np.concatenate(ys),
                          "tip": [f"{names[i]}, unit {u}" for i, u in zip(node_layer, node_unit, strict=True)]})
    layer, x, y, y2, label, value = [], [], [], [], [], []
    for k, g in enumerate(grads, start=1):
        out_n, in_n = g.shape
        i, j = np.divmod(np.arange(out_n * in_n), in_n)  # row i: a unit of h_k; column j: a unit of h_{k−1}
        layer.append(np.full(out_n * in_n, k))
        x.append(np.full(out_n * in_n, k - 1.0))
        y.append(ys[k - 1][j])
        y2.append(ys[k][i])
        label += [f"W_{k}[{a + 1},{b + 1}]" for a, b in zip(i, j, strict=True)]
        value.append(g.reshape(-1).astype(np.float64))
    v = np.concatenate(value)
    logs = log10_or_nan(v)
    order = np.argsort(np.where(np.isnan(logs), -np.inf, logs), kind="stable")
    edges = pd.DataFrame({"layer": np.concatenate(layer), "x": np.concatenate(x), "y": np.concatenate(y),
                          "x2": np.concatenate(x) + 1, "y2": np.concatenate(y2), "name": label, "log10": logs,
                          "thick": _thickness(logs, 0.8, 5.0),
                          "status": _status(v),
                          "tip": [f"{n}: ∂L/∂w = {_num(w)}" for n, w in zip(label, v, strict=True)]}).iloc[order]
    rows: list[tuple] = []
    for i in range(L + 2):
        tip = f"{names[i]} · {sizes[i]} unit{'s' if sizes[i] != 1 else ''}"
        if 0 < i <= L:
            tip += f" · ‖∂L/∂h_{i}‖ = {_num(gh[i - 1])} (back-propagated signal)"
            rows.append(("signal", float(i), math.nan, math.nan, f"‖∂L/∂h‖ {_num(gh[i - 1])}",
                         "muted" if math.isfinite(gh[i - 1]) else "bad", tip))
        rows.append(("name", float(i), math.nan, math.nan, names[i], "muted", tip))
    for k in range(1, L + 2):
        rows.append(("weights", k - 0.5, math.nan, math.nan, f"‖∂L/∂W_{k}‖ {_num(gw[k - 1])}",
                     "muted" if math.isfinite(gw[k - 1]) else "bad",
                     f"W_{k}: ‖∂L/∂W_{k}‖ = {_num(gw[k - 1])} (weight gradient of its {sizes[k] * sizes[k - 1]} weights)"))
    return nodes, edges.reset_index(drop=True), rows


# ------------------------------------------------------------------------------------------------ chart


def _height(sizes: Sequence[int], unit_level: bool) -> int:
    if unit_level:
        return TOP_UNIT + BOTTOM_UNIT + max(110, 40 * max(sizes))
    return TOP_LAYER + BOTTOM_LAYER + LAYER_DRAWING


def _above_bottom(pixels: int) -> dict:
    """A y position `pixels` above the bottom of the plot, whatever height a front end gives it (Streamlit fits
    title, legend and plot into the chart's height, so the plot is shorter than `height`)."""
    return alt.value(alt.expr(f"height - {pixels}"))


def network_template(sizes: Sequence[int], *, unit_level: bool, theme: str = "light", width: int = WIDTH) -> alt.LayerChart:
    """The picture's chart over the named datasets `DATASETS`, without data: the same for every step of a net.

    Depends on the layer sizes, the view, the theme ("light" or "dark": text and line colours) and the width
    only. Built once per combination and cached (building costs tens of milliseconds); Altair's methods return
    copies, so the cached chart is never changed by `.properties(...)` and the like.
    """
    return _template(tuple(int(s) for s in sizes), bool(unit_level), theme, int(width))


def network_spec(sizes: Sequence[int], unit_level: bool, theme: str = "light", width: int = WIDTH) -> dict[str, Any]:
    """The template as a validated Vega-Lite dict, built once per net, view, theme and width (cached: treat it as
    read-only, or copy it first).

    A front end adds `{"datasets": network_frames(...).frames}` to a shallow copy and hands it to the browser
    (e.g. `st.vega_lite_chart`): the spec stays identical from step to step and only the data change.
    """
    return _spec(tuple(int(s) for s in sizes), bool(unit_level), theme, int(width))


@functools.lru_cache(maxsize=32)
def _spec(sizes: tuple[int, ...], unit_level: bool, theme: str, width: int) -> dict[str, Any]:
    return _template(sizes, unit_level, theme, width).to_dict()


@functools.lru_cache(maxsize=32)
def _template(sizes: tuple[int, ...], unit_level: bool, theme: str, width: int) -> alt.LayerChart:
    t = THEMES[theme]
    L = len(sizes) - 2
    height = _height(sizes, unit_level)
    if unit_level:
        m = max(sizes)
        y_domain, y_range = [-(m - 1) / 2 - 0.45, (m - 1) / 2 + 0.45], [alt.expr(f"height - {BOTTOM_UNIT}"), TOP_UNIT]
    else:
        y_domain, y_range = list(LAYER_Y), [alt.expr(f"height - {BOTTOM_LAYER}"), TOP_LAYER]
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[-0.55, L + 1.55], nice=False, zero=False))
    y_scale = alt.Scale(domain=y_domain, range=y_range, nice=False, zero=False)
    y = alt.Y("y:Q", axis=None, scale=y_scale)
    title = (["|∂L/∂w|", "of each weight"] if unit_level
             else ["gradient norm", "edges: ‖∂L/∂W_l‖", "blocks: ‖∂L/∂h_l‖"])
    has_domain = "isFinite(domain('color')[0])"  # Vega names the shared colour scale "color"
    colour = alt.Color("log10:Q", title=title,
                       scale=alt.Scale(range=list(t["ramp"]), interpolate="rgb", zero=False, nice=False),
                       legend=alt.Legend(gradientLength=130, labelColor=t["ink"], titleColor=t["ink"], titleLimit=0,
                                         labelLimit=0, tickMinStep=1, titleFontWeight="normal", type="gradient",
                                         # nothing finite to show (a step of only inf/NaN/0): no bar, no labels
                                         gradientOpacity=alt.expr(f"{has_domain} ? 1 : 0"),
                                         labelExpr=f"{has_domain} ? ({POWER_OF_TEN_LABEL}) : ''"))
    tip = alt.Tooltip("tip:N", title="")
    edges, notes, nodes = (alt.Chart(alt.Data(name=name)) for name in (EDGES, NOTES, NODES))
    finite, zero = alt.datum.status == "finite", alt.datum.status == "zero"
    bad = (alt.datum.status == "inf") | (alt.datum.status == "NaN")
    segment = dict(x=x, y=y, x2="x2:Q", y2="y2:Q", tooltip=tip)
    layers: list[alt.Chart] = [
        notes.transform_filter(alt.datum.role == "band").mark_rect(
            color=t["culprit"], opacity=0.16, stroke=t["culprit"], strokeWidth=2, strokeDash=[6, 3], strokeOpacity=1,
        ).encode(x=x, x2="x2:Q", y=alt.value(CULPRIT_ROW - 10), y2=_above_bottom(2), tooltip=tip),
        edges.transform_filter(zero).mark_rule(color=t["zero"], strokeWidth=1.5, strokeDash=[1, 3]).encode(**segment),
        # Thickness is computed with the data (`thick`, `t0`/`t1`) so that no size scale joins the colour legend.
        # In the layer view the edges are thin rectangles: filled like the blocks, they share one gradient legend
        # with them (a legend for both a stroke and a fill colour would be drawn as dots).
        edges.transform_filter(finite).mark_rule(strokeCap="round").encode(
            color=colour, size=alt.Size("thick:Q", scale=None), **segment) if unit_level else
        edges.transform_filter(finite).mark_rect().encode(
            x=x, x2="x2:Q", y=alt.Y("t0:Q", scale=y_scale, axis=None), y2="t1:Q", color=colour, tooltip=tip),
        edges.transform_filter(bad).mark_rule(color=t["bad"], strokeWidth=2.5 if unit_level else 5,
                                              strokeDash=[6, 4]).encode(**segment),
    ]
    if unit_level:
        dot = 200 if max(sizes) <= 6 else 120
        layers += [
            nodes.mark_circle(size=dot, color=t["node"], opacity=1).encode(x=x, y=y, tooltip=tip),
            nodes.transform_filter(alt.datum.culprit).mark_point(
                size=dot * 2.4, color=t["culprit"], strokeWidth=3, filled=False, opacity=1).encode(x=x, y=y, tooltip=tip),
        ]
    else:
        block = dict(x=x, x2="x2:Q", y=y, y2="y2:Q", tooltip=tip)
        thin = 0.6 if L > 20 else 1.0
        layers += [
            nodes.transform_filter(finite).mark_rect(stroke=t["ink"], strokeWidth=thin).encode(color=colour, **block),
            nodes.transform_filter(zero).mark_rect(color=t["zero"], stroke=t["ink"], strokeWidth=thin).encode(**block),
            nodes.transform_filter(alt.datum.status == "none").mark_rect(
                fillOpacity=0, stroke=t["ink"], strokeWidth=1.5).encode(**block),
            nodes.transform_filter(bad).mark_rect(fill=t["bad"], fillOpacity=0.15, stroke=t["bad"], strokeWidth=2.5,
                                                  strokeDash=[4, 3]).encode(**block),
            nodes.transform_filter(alt.datum.culprit).mark_rect(
                fillOpacity=0, stroke=t["culprit"], strokeWidth=3.5 if L <= 40 else 2.5).encode(**block),
        ]
    # Text colours by the row's `ink`, as a mark expression: a colour *channel* here would be a second (nominal)
    # colour scale, and the edges and blocks could no longer share one log₁₀ scale and one legend.
    ink = alt.expr(f"datum.ink === 'bad' ? '{t['bad']}' : datum.ink === 'culprit' ? '{t['culprit']}' : "
                   f"datum.ink === 'muted' ? '{t['muted']}' : '{t['ink']}'")
    text = dict(text="text:N", tooltip=tip)
    small = 12 if unit_level or L <= 30 else 11
    rows = [("data", y, small, "normal")]
    if unit_level:
        rows += [("name", _above_bottom(BOTTOM_UNIT - 18), 12, "normal"),
                 ("signal", _above_bottom(BOTTOM_UNIT - 36), 12, "normal"),
                 ("weights", alt.value(TOP_UNIT - 22), 12, "normal")]
    else:
        rows += [("name", _above_bottom(BOTTOM_LAYER - 14), small, "normal")]
    rows += [("culprit", alt.value(CULPRIT_ROW + 4), 13, "bold")]
    for role, y_pos, size, weight in rows:
        layers.append(notes.transform_filter(alt.datum.role == role).mark_text(
            fontSize=size, fontWeight=weight, baseline="middle", limit=0, color=ink, align=alt.expr("datum.anchor"),
            lineBreak="\n",
        ).encode(x=x, y=y_pos, **text))
    layers.append(notes.transform_filter(alt.datum.role == "caption").mark_text(
        fontSize=13, align="left", baseline="top", limit=0, color=ink, lineBreak="\n", lineHeight=LINE,
    ).encode(x=alt.value(0), y=alt.value(0), **text))
    if unit_level:
        subtitle = ["edges: each weight's ∂L/∂w at the latest step — colour and thickness by |∂L/∂w|",
                    "labels: ‖∂L/∂W_l‖ weight gradient (top) · ‖∂L/∂h_l‖ back-propagated signal (bottom)",
                    "dashed red: inf or NaN · dotted grey: exactly 0 · shaded: the culprit layer (hover for why)"]
    else:
        subtitle = ["edges: ‖∂L/∂W_l‖, the weight gradient (colour, thickness) · blocks: ‖∂L/∂h_l‖, the signal",
                    "back-propagated to the layer (colour); block height ∝ √units · dashed red: inf or NaN",
                    "grey: exactly 0 · shaded: the culprit layer (hover for why)"]
    return alt.layer(*layers).properties(
        width=width, height=height,
        title=alt.Title("The network and the gradient through it", subtitle=subtitle, anchor="start", color=t["ink"],
                        subtitleColor=t["muted"], fontSize=15, subtitleFontSize=12, limit=0, subtitleLineHeight=16,
                        offset=10),
    ).configure_view(stroke=None)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts of plain Python values, NaN and ±inf as null: no encoded number is ever non-finite
    (the marks that encode numbers are filtered to finite rows; `status` and `tip` carry inf and NaN as text)."""
    return json.loads(frame.to_json(orient="records", double_precision=15))


def network_picture(grad_w: Sequence[float], grad_h: Sequence[float], sizes: Sequence[int], *, step: int,
                    weight_grads: Sequence[np.ndarray] | None = None, nonfinite: NonFiniteLike | None = None,
                    theme: str = "light", width: int = WIDTH) -> alt.LayerChart:
    """The picture at one step as one self-contained Altair chart (the template with that step's datasets).

    Arguments as in `network_frames`; `theme` is "light" or "dark".
    """
    data = network_frames(grad_w, grad_h, sizes, step=step, weight_grads=weight_grads, nonfinite=nonfinite, width=width)
    chart = network_template(sizes, unit_level=data.unit_level, theme=theme, width=width)
    return chart.properties(datasets={name: _records(frame) for name, frame in data.frames.items()})


def picture_for_run(run, step: int | None = None, *, theme: str = "light", width: int = WIDTH) -> alt.LayerChart | None:
    """`network_picture` of a `core.training.trainer.Run` at a 1-based step (default the latest); None before step 1.

    Each weight's gradient is passed only for the latest step, the one it belongs to.
    """
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        return None
    step = n if step is None else max(1, min(int(step), n))
    sizes = [int(run.weights[0].shape[1])] + [int(w.shape[0]) for w in run.weights]
    grads = run.last_weight_grads if step == n else None
    return network_picture(h["grad_w"][step - 1], h["grad_h"][step - 1], sizes, step=step, weight_grads=grads,
                           nonfinite=run.nonfinite, theme=theme, width=width)
