"""The network picture (core/charts/network.py): its rows, its culprit, its inf/NaN marks and its rendering.

Most tests feed plain arrays, so that every expected number is written by hand; a few train small real runs
to check that the picture reads a Run the way the lab records it. Rendering goes through vl-convert (Vega's own
renderer, no browser): the SVG it draws says which colour and which line width each weight really got.
"""

from __future__ import annotations

import ast
import math
import re
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import vl_convert as vlc

from core.charts.network import (
    DATASETS,
    EDGES,
    NODES,
    NOTES,
    culprit_layer,
    is_unit_level,
    network_frames,
    network_picture,
    network_spec,
    network_template,
    picture_for_run,
)
from core.training.config import TrainConfig
from core.training.diagnosis import diagnose
from core.training.trainer import Run

ROOT = Path(__file__).resolve().parents[1]


def norms(grads: list[np.ndarray]) -> np.ndarray:
    return np.array([float(np.linalg.norm(g)) for g in grads])


def small_net(seed: int = 0) -> tuple[list[int], list[np.ndarray]]:
    """A 3-4-3-1 net's weight gradients (out × in), magnitudes spread over six decades."""
    rng = np.random.default_rng(seed)
    sizes = [3, 4, 3, 1]
    grads = [rng.normal(size=(b, a)) * 10.0 ** rng.uniform(-3, 3, size=(b, a)) for a, b in pairwise(sizes)]
    return sizes, grads


def lines_of(svg: str) -> list[dict]:
    """Every rule Vega drew: its tooltip text, stroke colour (r, g, b) and width."""
    out = []
    for tag in re.findall(r"<line [^>]*>", svg):
        label = re.search(r'aria-label="([^"]*)"', tag)
        rgb = re.search(r'stroke="rgb\((\d+), (\d+), (\d+)\)"', tag)
        width = re.search(r'stroke-width="([\d.]+)"', tag)
        if label and rgb and width:
            out.append({"label": label.group(1), "rgb": tuple(int(c) for c in rgb.groups()), "width": float(width.group(1))})
    return out


def lightness(rgb: tuple[int, int, int]) -> float:
    """Relative luminance (WCAG) of an sRGB colour."""
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


# ------------------------------------------------------------------------------------------------ views


def test_unit_level_has_one_edge_per_weight_and_one_dot_per_neuron():
    sizes, grads = small_net()
    data = network_frames(norms(grads), [1.0, 0.5], sizes, step=4, weight_grads=grads)
    assert data.unit_level
    edges, nodes = data.frames[EDGES], data.frames[NODES]
    assert len(edges) == sum(g.size for g in grads) == 3 * 4 + 4 * 3 + 3 * 1
    assert len(nodes) == sum(sizes)
    # every weight once, with its own gradient
    expected = {f"W_{k}[{i + 1},{j + 1}]": g[i, j] for k, g in enumerate(grads, start=1) for i in range(g.shape[0])
                for j in range(g.shape[1])}
    assert set(edges["name"]) == set(expected)
    for name, log in zip(edges["name"], edges["log10"], strict=True):
        assert log == pytest.approx(math.log10(abs(expected[name])))


def test_layer_level_for_a_50_by_256_net_has_one_node_per_layer_and_one_edge_between_them():
    L = 50
    sizes = [2] + [256] * L + [2]
    data = network_frames(np.linspace(1, 2, L + 1), np.linspace(3, 1, L), sizes, step=9)
    assert not data.unit_level
    assert len(data.frames[NODES]) == L + 2
    assert len(data.frames[EDGES]) == L + 1
    assert list(data.frames[NODES]["units"]) == sizes
    assert len(data.frames[NOTES]) < 40  # O(layers) rows in all, and few labels
    assert list(data.frames) == list(DATASETS)


def test_the_unit_view_needs_the_steps_own_matrices():
    sizes, grads = small_net()
    assert is_unit_level(sizes)
    row = norms(grads)
    assert not network_frames(row, [1.0, 2.0], sizes, step=3).unit_level  # no matrices: one edge per layer
    wrong = [g * 2 for g in grads]  # another step's gradients: their norms are not this row's
    assert not network_frames(row, [1.0, 2.0], sizes, step=3, weight_grads=wrong).unit_level
    assert network_frames(row, [1.0, 2.0], sizes, step=3, weight_grads=grads).unit_level
    big = [2] + [11] * 2 + [1]
    assert not is_unit_level(big) and not is_unit_level([2] + [4] * 9 + [1])


def test_names_are_whole_layer_numbers_and_nothing_is_cut_short():
    L = 100
    data = network_frames(np.ones(L + 1), np.ones(L), [2] + [256] * L + [2], step=1)
    notes = data.frames[NOTES]
    names = [t.split("\n")[0] for t in notes.loc[notes.role == "name", "text"]]
    assert names[0] == "in" and names[-1] == "out"
    numbers = [int(n.removeprefix("h_")) for n in names[1:-1]]
    assert numbers == list(range(10, 100, 10))
    spec = network_template([2] + [256] * L + [2], unit_level=False).to_dict()
    texts = [layer["mark"] for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert texts and all(m["limit"] == 0 for m in texts)  # Vega's default would cut long text with "…"
    legend = spec["layer"][2]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0 and legend["titleLimit"] == 0


# ------------------------------------------------------------------------------------------------ magnitudes


def test_colour_and_thickness_follow_the_gradient_as_drawn():
    """Rendered by Vega: the larger |∂L/∂w|, the darker (light theme) or brighter (dark theme) and thicker the line."""
    sizes, grads = small_net(1)
    for theme, darker_is_larger in (("light", True), ("dark", False)):
        chart = network_picture(norms(grads), [2.0, 1.0], sizes, step=2, weight_grads=grads, theme=theme)
        drawn = [d for d in lines_of(vlc.vegalite_to_svg(chart.to_dict())) if "∂L/∂w =" in d["label"]]
        assert len(drawn) == sum(g.size for g in grads)
        by_name = {f"W_{k}[{i + 1},{j + 1}]": abs(g[i, j]) for k, g in enumerate(grads, start=1)
                   for i in range(g.shape[0]) for j in range(g.shape[1])}
        drawn.sort(key=lambda d: by_name[re.search(r"tip: (W_\d+\[\d+,\d+\])", d["label"]).group(1)])
        light = [lightness(d["rgb"]) for d in drawn]
        widths = [d["width"] for d in drawn]
        assert all(b >= a for a, b in pairwise(widths))
        assert widths[-1] > 3 * widths[0]
        # monotone up to the rounding of colours to 8 bits per channel
        assert all((b <= a + 2e-3) if darker_is_larger else (b >= a - 2e-3) for a, b in pairwise(light))
        # light theme: the faintest line still keeps 3:1 contrast on white (luminance ≤ 0.3), so the spread is less
        assert (light[0] - light[-1] > 0.2) if darker_is_larger else (light[-1] - light[0] > 0.3)


def test_layer_view_orders_edges_and_blocks_by_their_norms():
    L = 6
    gw = np.array([1e-4, 1e-2, 1.0, 10.0, 1e3, 1e5, 1e6])
    gh = np.array([1e3, 1e2, 10.0, 1.0, 0.1, 0.01])
    data = network_frames(gw, gh, [2] + [32] * L + [2], step=1)
    edges, nodes = data.frames[EDGES], data.frames[NODES]
    assert np.all(np.diff(edges["log10"]) > 0)
    assert np.all(np.diff(edges["t1"] - edges["t0"]) > 0)  # thickness grows with ‖∂L/∂W_l‖
    assert list(nodes["log10"][1:-1]) == pytest.approx(np.log10(gh))
    svg = vlc.vegalite_to_svg(network_picture(gw, gh, [2] + [32] * L + [2], step=1).to_dict())
    fills = {}
    for tag in re.findall(r"<path [^>]*>", svg):
        label, fill = re.search(r'aria-label="([^"]*)"', tag), re.search(r'fill="rgb\((\d+), (\d+), (\d+)\)"', tag)
        edge = label and re.search(r"tip: (W_\d+) ", label.group(1))
        if edge and fill:
            fills[edge.group(1)] = lightness(tuple(int(c) for c in fill.groups()))
    shades = [fills[f"W_{k}"] for k in range(1, L + 2)]
    assert all(b < a for a, b in pairwise(shades))  # light theme: larger is darker


# ------------------------------------------------------------------------------------------------ culprit


def test_culprit_is_the_layer_that_multiplies_the_signal_most():
    # f_k = ‖∂L/∂h_{k−1}‖ / ‖∂L/∂h_k‖: f_2 = 100/90, f_3 = 90/80, f_4 = 80/1 = 80 → layer 4
    c = culprit_layer(np.ones(5), [100.0, 90.0, 80.0, 1.0])
    assert (c.layer, c.reason) == (4, "grows") and c.factor == pytest.approx(80.0)
    assert "×80" in c.headline and "‖∂L/∂h_3‖ = 80" in c.detail and "×100 in all" in c.detail


def test_culprit_of_a_vanishing_signal_and_of_a_signal_that_stops():
    # f_2 = 0.1, f_3 = 1e−3, f_4 = 0.1 → layer 3 shrinks most
    c = culprit_layer(np.ones(5), [1e-5, 1e-4, 1e-1, 1.0])
    assert (c.layer, c.reason) == (3, "shrinks") and c.factor == pytest.approx(1e-3)
    # nothing reaches h_2 (f_2 undefined); h_2 gets exactly 0 from h_3 = 5: nothing gets back through layer 3
    c = culprit_layer(np.ones(5), [0.0, 0.0, 5.0, 6.0])
    assert (c.layer, c.factor) == (3, 0.0) and "nothing gets back through layer 3" in c.headline


def test_no_culprit_in_a_healthy_or_too_shallow_net():
    assert culprit_layer(np.ones(5), [1.3, 1.2, 1.1, 1.0]) is None
    assert culprit_layer(np.ones(2), [1e9]) is None  # one hidden layer: no growth with depth to measure
    data = network_frames(np.ones(5), [1.3, 1.2, 1.1, 1.0], [2, 8, 8, 8, 8, 1], step=12)
    assert data.culprit is None and "no culprit" in data.caption and "×1.08" in data.caption
    assert not data.frames[NODES]["culprit"].any() and "band" not in set(data.frames[NOTES]["role"])


def test_culprit_where_a_value_first_became_non_finite():
    # the backward pass computes ∂L/∂h_4 first: the deepest non-finite norm came first
    c = culprit_layer(np.ones(5), [np.nan, np.nan, np.inf, 2.0])
    assert (c.layer, c.reason) == (3, "non-finite") and "inf" in c.headline
    c = culprit_layer([1.0, np.nan, 1.0], [1.0, 1.0])
    assert c.layer == 2 and "NaN" in c.headline
    record = SimpleNamespace(step=7, stage="forward", tensor="h_2", layer=2, kind="inf")
    c = culprit_layer(np.full(5, np.nan), np.full(4, np.nan), step=7, nonfinite=record)
    assert c.layer == 2 and "h_2 became inf" in c.headline and "forward pass" in c.headline
    assert culprit_layer(np.ones(5), [1.3, 1.2, 1.1, 1.0], step=6, nonfinite=record) is None  # not this step
    loss = SimpleNamespace(step=3, stage="loss", tensor="L", layer=None, kind="inf")
    data = network_frames(np.full(3, np.nan), np.full(2, np.nan), [2, 4, 4, 1], step=3, nonfinite=loss)
    assert data.culprit is None and "the loss itself became inf" in data.caption


def test_culprit_is_marked_in_the_picture():
    data = network_frames(np.ones(5), [100.0, 90.0, 80.0, 1.0], [2, 16, 16, 16, 16, 1], step=5)
    nodes, edges, notes = (data.frames[n] for n in DATASETS)
    assert list(nodes.loc[nodes.culprit, "name"]) == ["h_4"]
    assert list(edges.loc[edges.culprit, "name"]) == ["W_4"]
    band = notes[notes.role == "band"].iloc[0]
    assert band.x < 4 < band.x2 and band.x > 3  # from just right of h_3 to just right of h_4: W_4 and h_4
    assert "×80" in band.tip
    assert "culprit: layer 4" in data.caption and "culprit: layer 4" in set(notes["text"])


def test_culprit_agrees_with_the_diagnosis_on_real_runs():
    """Exploding runs get a growing culprit, healthy ones none, at the step the diagnosis reads (step 1)."""
    common = dict(dataset="spirals", n_samples=64, batch_size=64, optimizer="sgd", seed=1)
    exploding = Run(TrainConfig(depth=10, width=16, activation="relu", init="normal", init_scale=0.6, lr=1e-5, **common))
    healthy = Run(TrainConfig(depth=6, width=16, activation="relu", init="he_normal", lr=1e-3, **common))
    for run, verdict in ((exploding, "exploding"), (healthy, "healthy")):
        run.run(1)
        h = run.history.arrays()
        assert diagnose(h, lr=run.config.lr, activation="relu").verdict == verdict
        c = culprit_layer(h["grad_w"][0], h["grad_h"][0], step=1)
        assert (c is not None and c.reason == "grows") if verdict == "exploding" else c is None


# ------------------------------------------------------------------------------------------------ inf, NaN, 0


def test_inf_nan_and_zero_get_explicit_marks():
    L = 4
    gw = np.array([1.0, np.inf, np.nan, 0.0, 2.0])
    gh = np.array([np.nan, 3.0, 0.0, np.inf])
    data = network_frames(gw, gh, [2] + [8] * L + [1], step=3)
    edges, nodes, notes = data.frames[EDGES], data.frames[NODES], data.frames[NOTES]
    assert list(edges["status"]) == ["finite", "inf", "NaN", "zero", "finite"]
    assert list(nodes["status"]) == ["none", "NaN", "finite", "zero", "inf", "none"]
    assert "‖∂L/∂W_2‖ = inf" in edges["tip"][1] and "‖∂L/∂W_3‖ = NaN" in edges["tip"][2]
    words = list(notes.loc[notes.ink == "bad", "text"])
    assert words.count("inf") == 2 and words.count("NaN") == 2  # on the blocks and on the edges
    chart = network_picture(gw, gh, [2] + [8] * L + [1], step=3)
    spec = chart.to_dict()
    dashed = [layer for layer in spec["layer"] if "strokeDash" in layer["mark"]
              and "inf" in str(layer.get("transform")) and layer["mark"].get("color", layer["mark"].get("stroke"))]
    assert len(dashed) == 2  # non-finite edges and blocks: dashed, in the "bad" colour
    assert all(value is None or not isinstance(value, float) or math.isfinite(value)
               for rows in spec["datasets"].values() for row in rows for value in row.values())
    svg = vlc.vegalite_to_svg(spec)
    assert re.search(r'<line [^>]*tip: W_2 [^>]*stroke="#C00000"[^>]*stroke-dasharray', svg)
    assert re.search(r'<line [^>]*tip: W_3 [^>]*stroke="#C00000"[^>]*stroke-dasharray', svg)
    assert re.search(r'<line [^>]*tip: W_4 [^>]*stroke-dasharray="1,3"', svg)  # exactly 0: dotted


def test_a_unit_view_with_inf_and_nan_weights():
    sizes, grads = small_net(2)
    grads[1][0, 0], grads[1][1, 2], grads[2][0, 1] = np.inf, np.nan, 0.0
    with np.errstate(invalid="ignore"):
        row = norms(grads)
    data = network_frames(row, [1.0, 1.0], sizes, step=8, weight_grads=grads)
    assert data.unit_level
    status = dict(zip(data.frames[EDGES]["name"], data.frames[EDGES]["status"], strict=True))
    assert (status["W_2[1,1]"], status["W_2[2,3]"], status["W_3[1,2]"]) == ("inf", "NaN", "zero")
    svg = vlc.vegalite_to_svg(network_picture(row, [1.0, 1.0], sizes, step=8, weight_grads=grads).to_dict())
    assert re.search(r'<line [^>]*W_2\[1,1\]: ∂L/∂w = inf[^>]*stroke-dasharray="6,4"', svg)


# ------------------------------------------------------------------------------------------------ specs


@pytest.mark.parametrize("depth", [1, 6, 20, 50, 100])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_spec_validates_for_every_depth(depth: int, theme: str):
    rng = np.random.default_rng(depth)
    gw = 10.0 ** rng.uniform(-8, 8, depth + 1)
    gh = 10.0 ** rng.uniform(-8, 8, depth)
    gw[depth // 2] = np.inf
    gh[-1] = 0.0
    chart = network_picture(gw, gh, [2] + [256] * depth + [2], step=depth, theme=theme)
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert set(spec["datasets"]) == set(DATASETS)
    assert vlc.vegalite_to_svg(spec).startswith("<svg")


def test_all_non_finite_steps_still_render():
    spec = network_picture(np.full(4, np.nan), np.full(3, np.nan), [2, 32, 32, 32, 2], step=5).to_dict()
    shown = re.sub(r'aria-label="[^"]*"', "", vlc.vegalite_to_svg(spec))  # what is drawn, not what is read aloud
    assert "Infinity" not in shown  # an empty colour scale would label its legend ±Infinity
    assert shown.count('stroke-dasharray="6,4"') == 4  # every edge: dashed


def test_spec_is_the_same_at_every_step_and_names_its_datasets():
    sizes = (2, 32, 32, 32, 2)
    first = network_frames([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0], sizes, step=1)
    later = network_frames([1e9, np.inf, 3.0, 4.0], [5.0, 0.0, 7.0], sizes, step=2)
    assert first.unit_level == later.unit_level
    spec = network_spec(sizes, first.unit_level)
    assert spec is network_spec(sizes, later.unit_level)  # built once, cached
    assert "datasets" not in spec
    used = set(re.findall(r"'name': '(network_\w+)'", str(spec)))
    assert used == set(DATASETS)
    for data in (first, later):  # every field the spec encodes is in the frames
        for name, frame in data.frames.items():
            assert {"tip"} <= set(frame.columns), name


def test_core_has_no_streamlit():
    tree = ast.parse((ROOT / "core" / "charts" / "network.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "streamlit" not in imported and "torch" not in imported


# ------------------------------------------------------------------------------------------------ runs


def test_picture_of_a_real_run_unit_level_only_at_its_latest_step():
    run = Run(TrainConfig(depth=2, width=4, activation="tanh", dataset="regression", n_samples=32, batch_size=32,
                          lr=0.1, seed=2))
    assert picture_for_run(run) is None
    run.run(3)
    latest = picture_for_run(run).to_dict()
    earlier = picture_for_run(run, step=1).to_dict()
    assert len(latest["datasets"][EDGES]) == 2 * 4 + 4 * 4 + 4 * 1  # every weight at the latest step
    assert len(earlier["datasets"][EDGES]) == 3  # one edge per layer: per-weight gradients are not kept
    h = run.history.arrays()
    drawn = {row["name"]: row["log10"] for row in earlier["datasets"][EDGES]}
    assert drawn == pytest.approx({f"W_{k}": math.log10(h["grad_w"][0, k - 1]) for k in (1, 2, 3)})
    notes = earlier["datasets"][NOTES]
    assert any("latest step only" in row["text"] for row in notes if row["role"] == "caption")


def test_picture_of_a_run_that_overflowed_names_the_record():
    """The lab's "ReLU → NaN" scenario: the recorder's NonFinite (a forward-pass h_l) is the culprit, in words."""
    run = Run(TrainConfig(depth=10, width=32, activation="relu", init="normal", init_scale=0.5, dataset="spirals",
                          n_samples=256, batch_size=64, lr=0.01, optimizer="sgd"))
    run.run(40)
    nf = run.nonfinite
    assert nf is not None and nf.layer is not None and nf.step == run.steps_done
    spec = picture_for_run(run, theme="dark").to_dict()
    notes = {row["role"]: row for row in spec["datasets"][NOTES]}
    assert notes["culprit"]["text"] == f"culprit: layer {nf.layer}"
    assert f"{nf.tensor} became {nf.kind}" in notes["caption"]["text"]
    assert [row["name"] for row in spec["datasets"][NODES] if row["culprit"]] == [f"h_{nf.layer}"]
    # the step before it is finite: its culprit comes from the growth of the signal, as in the diagnosis
    h = run.history.arrays()
    before = culprit_layer(h["grad_w"][-2], h["grad_h"][-2], step=nf.step - 1, nonfinite=nf)
    assert before is not None and before.reason == "grows"


def test_the_page_caption_separates_the_headline_from_its_numbers():
    """QA: the Network tab read '…nothing gets back through layer 3‖∂L/∂h_2‖ = 0…' (lines joined by a newline that
    st.caption does not show)."""
    data = network_frames(np.ones(5), [0.0, 0.0, 5.0, 6.0], [2, 8, 8, 8, 8, 1], step=4)
    assert data.culprit is not None and "\n" not in data.caption
    assert f"{data.culprit.headline} — {data.culprit.detail}" in data.caption
