"""Lecture mode, the lecture path, predict-then-reveal, and exports that read back to the same numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.app import export
from core.app.lecture import SCENES
from core.training.config import TrainConfig
from core.training.trainer import Run
from tests.test_deep_links import open_with
from tests.test_lab_page import all_text, button, opened

# ---------------------------------------------------------------- exports


def run_with_history() -> Run:
    run = Run(TrainConfig(depth=3, width=4, seed=2))
    run.run(6)
    return run


def test_history_csv_and_json_read_back_to_the_same_numbers():
    run = run_with_history()
    h = run.history.arrays()
    rows = export.history_rows(h)
    assert len(rows) == 6 * 4  # one row per step × weight layer
    for source in (export.from_csv(export.to_csv(rows)), export.from_json(export.to_json(rows, run.config.to_dict()))):
        assert source == rows
        grad_w = np.array([r["grad_w"] for r in source]).reshape(6, 4)
        np.testing.assert_array_equal(grad_w, h["grad_w"])
        assert [r["grad_h"] for r in source if r["layer"] == 4] == [None] * 6  # the read-out has no ∂L/∂h
    assert json.loads(export.to_json(rows, run.config.to_dict()))["config"]["depth"] == 3


def test_non_finite_values_survive_the_round_trip():
    run = Run(TrainConfig(depth=2, width=4, lr=10.0, init="normal", init_scale=1e4, dataset="regression",
                          n_samples=32, batch_size=32))
    run.run(20)
    rows = export.history_rows(run.history.arrays())
    assert any(not math.isfinite(r["loss"]) for r in rows)
    for back in (export.from_csv(export.to_csv(rows)), export.from_json(export.to_json(rows))):
        for a, b in zip(rows, back, strict=True):
            for key in a:
                assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key])  # NaN equals NaN here


def test_chart_exports_are_real_png_and_svg():
    from core.charts.training import all_charts

    run = run_with_history()
    chart = all_charts(run)["loss"]
    spec = export.chart_spec(chart)
    assert export.chart_png(spec, scale=1).startswith(b"\x89PNG")
    assert export.chart_svg(spec).lstrip().startswith("<svg")


def test_big_grid_charts_export_despite_altairs_row_cap():
    from core.chaos.mean_field import phase_diagram
    from core.charts.chaos import phase_chart

    spec = export.chart_spec(phase_chart(phase_diagram("relu", 80, 80)))  # 6,400 cells > 5,000
    assert export.chart_svg(spec).lstrip().startswith("<svg")


def test_latex_document_holds_the_equations():
    doc = export.latex_document("The update ledger", [r"w_{new} = 500 - 0.01 \cdot 93750000"], "500 − 0.01·93,750,000")
    assert doc.startswith(r"\documentclass{article}") and r"\end{document}" in doc
    assert r"w_{new} = 500 - 0.01 \cdot 93750000" in doc and "% 500 − 0.01·93,750,000" in doc


# ---------------------------------------------------------------- lecture path and lecture mode


def test_every_scene_computes_its_result_live():
    results = [scene.result().text for scene in SCENES]
    assert "−937,000" in results[0]
    assert "vanishes" in results[1]
    assert "5,470 times" in results[2]  # ‖∂L/∂h₁‖/‖∂L/∂h₂₀‖ = 5,466.4 at 3 significant digits
    assert results[3].startswith("**exploding**")
    assert "He init" in results[4] and "healthy" in results[4]
    assert "vanishes" in results[5] and "1.000 (the edge)" in results[6]


def test_lecture_page_moves_between_scenes_and_links_to_each_view():
    at = opened("pages/6_Lecture.py")
    assert any("The worked example" in t.value for t in at.title)
    assert "−937,000" in all_text(at)
    button(at, "Next").click().run()
    assert any("Saturation" in t.value for t in at.title)
    assert at.query_params["lec_scene"] == "2"
    button(at, "Previous").click().run()
    assert any("The worked example" in t.value for t in at.title)


def test_predict_then_reveal_hides_the_result_until_revealed():
    at = open_with("pages/6_Lecture.py", shared={"lecture": "1", "predict": "1"})
    text = all_text(at)
    assert "Predict first" in text and "−937,000" not in text
    button(at, "Reveal").click().run()
    assert "−937,000" in all_text(at)


def download_labels_in_every_lab_tab(at) -> set[str]:
    from ui.lab import DETAIL_TABS

    labels = set()
    for tab in DETAIL_TABS:
        at.session_state["lab_tab"] = tab
        at.run()
        assert not at.exception
        labels |= {b.proto.label for b in at.get("download_button")}
    return labels


def test_lecture_mode_collapses_exports_and_shortens_charts():
    at = open_with("pages/2_Training_lab.py", shared={"lecture": "1"})
    button(at, "Run").click().run()
    assert not at.exception
    assert not download_labels_in_every_lab_tab(at)  # no export clutter on the projector
    normal = opened("pages/2_Training_lab.py")
    button(normal, "Run").click().run()
    labels = download_labels_in_every_lab_tab(normal)
    assert {"History as CSV", "History as JSON", "Ledger as LaTeX", "PNG", "SVG"} <= labels


@pytest.mark.parametrize("page", ["pages/1_Chain_rule.py", "pages/3_Remedies.py", "pages/4_Through_time.py",
                                  "pages/5_Edge_of_chaos.py", "pages/6_Lecture.py"])
def test_every_page_runs_in_lecture_mode(page):
    at = open_with(page, shared={"lecture": "1", "predict": "1"})
    assert at.toggle(key="lecture").value is True
