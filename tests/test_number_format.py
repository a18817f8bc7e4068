"""One human number format: no `4.92e+15`, `1e-08` or `10^-19.4` anywhere a person reads (exports keep theirs).

Every page is opened through AppTest — every scenario of the lab, every tab, the remedies' comparison and
ranking, every lecture scene — and its visible text (markdown, captions, alerts, metrics, tables, LaTeX)
is scanned for machine-formatted floats.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.numbers import sig, times_ten
from core.training.scenarios import SCENARIOS
from tests.test_lab_page import button, opened

E_FLOAT = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+")  # 4.92e+15, 1e-08, 1.0e+00
CARET = re.compile(r"10\^[-+(]?\d")  # 10^-19.4 (LaTeX's 10^{…} is typeset, not read as text)


def visible_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    parts += [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for frame in [*at.dataframe, *at.table]:
        value = frame.value
        if isinstance(value, pd.DataFrame):
            parts += [str(v) for col in value.columns if value[col].dtype == object for v in value[col]]
            parts += [str(c) for c in value.columns]
    return "\n".join(str(p) for p in parts)


def machine_floats(text: str) -> list[str]:
    return E_FLOAT.findall(text) + [m.group(0) for m in CARET.finditer(text)]


def assert_human(at, where: str) -> None:
    assert not at.exception, (where, at.exception)
    found = machine_floats(visible_text(at))
    assert not found, f"{where}: {found}"


def test_the_formatter_never_writes_e_notation():
    for x in (4.92e15, 1e-8, -3.3e-300, 6.38e8, 0.693147, 52926.9, 1e308, 2.2e-308, 7e-5):
        assert not machine_floats(sig(x)), sig(x)
    assert sig(4.92e15) == "4.92 × 10¹⁵" and sig(1e-8) == "1 × 10⁻⁸" and sig(52926.9) == "52,900"
    assert times_ten(-19.4) == "4.0 × 10⁻²⁰"


@pytest.mark.parametrize("page", ["streamlit_app.py", "pages/1_Chain_rule.py", "pages/4_Through_time.py",
                                  "pages/5_Edge_of_chaos.py"])
def test_every_page_and_tab_reads_as_human_numbers(page):
    at = opened(page)
    assert_human(at, page)


def test_the_lecture_scenes_read_as_human_numbers():
    at = opened("pages/6_Lecture.py")
    for k in range(7):
        assert_human(at, f"lecture scene {k + 1}")
        if k < 6:
            button(at, "Next").click().run()


def test_the_chain_page_with_tanh_weights_100():
    at = opened("pages/1_Chain_rule.py")
    at.query_params.update({"mode": "From weights", "act": "tanh", "weights": "100", "x": "1"})
    at.switch_page("pages/1_Chain_rule.py").run()
    assert_human(at, "chain, tanh weights 100")
    text = visible_text(at)
    assert "float64 loses this gradient" in text and "does not move at all" not in text


def test_trained_edge_and_through_time_panels_read_as_human_numbers():
    at = opened("pages/5_Edge_of_chaos.py")
    at.slider(key="edge_steps").set_value(10).run()
    next(b for b in at.button if b.key == "edge_go").click().run()
    assert_human(at, "edge of chaos: butterflies trained")
    assert "ε = 1 × 10⁻⁸" in visible_text(at)
    at = opened("pages/4_Through_time.py")
    next(b for b in at.button if b.key == "tt_step").click().run()
    assert_human(at, "through time: one step of RNN and LSTM")


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_every_lab_scenario_reads_as_human_numbers(key):
    from tests.test_lab_page import open_tab, pick_scenario
    from ui.lab import DETAIL_TABS

    at = pick_scenario(opened("pages/2_Training_lab.py"), key)
    for tab in DETAIL_TABS:
        assert_human(open_tab(at, tab), f"lab scenario {key}, tab {tab}")


def test_the_remedies_comparison_and_ranking_read_as_human_numbers():
    at = opened("pages/3_Remedies.py")
    at.slider[0].set_value(20).run()
    button(at, "Compare").click().run()
    assert_human(at, "remedies: compare")
    button(at, "Which fix works?").click().run()
    assert_human(at, "remedies: ranking")
