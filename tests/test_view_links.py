"""Issue 19: links restore the exact view (tabs, the lab's trained run, its step, weight and norm), refuse garbage
with a notice shown as literal text, and the lecture's hand-out is one self-contained file."""

from __future__ import annotations

import re

from core.app.lecture import SCENES
from core.app.page_views import EDGE_TABS, LAB_TABS, TT_TABS
from tests.test_deep_links import open_with
from tests.test_lab_page import all_text


def notices(at) -> str:
    return all_text(at) + "\n".join(c.value for c in at.code)


def test_a_lab_link_replays_its_run_and_restores_step_weight_norm_and_tab():
    at = open_with("pages/2_Training_lab.py", lab_depth="4", lab_width="8", lab_steps="30", lab_inspect_step="12",
                   lab_tab="Update ledger", lab_t_layer="2", lab_t_row="3", lab_t_col="4", lab_heat_norm="grad_h")
    run = at.session_state["lab_run"]
    assert run.steps_done == 30 and run.track == (1, 2, 3)
    assert at.session_state["lab_inspect_chosen"] == 12 and at.session_state["lab_heat_norm"] == "grad_h"
    assert at.session_state["lab_tab"] == "Update ledger"
    assert "W₂[3, 4] at step 12" in all_text(at)
    assert next(m for m in at.metric if m.label == "Steps").value == "30"
    for key, value in (("lab_steps", "30"), ("lab_inspect_step", "12"), ("lab_t_layer", "2"),
                       ("lab_tab", "Update ledger"), ("lab_heat_norm", "grad_h")):
        assert at.query_params[key] == value  # the page writes the view it restored back into its link


def test_the_replay_is_deterministic_from_the_seed():
    from core.training.config import TrainConfig
    from core.training.trainer import Run

    at = open_with("pages/2_Training_lab.py", lab_depth="3", lab_width="6", lab_seed="7", lab_steps="25")
    direct = Run(TrainConfig(depth=3, width=6, seed=7))
    direct.run(25)
    assert (at.session_state["lab_run"].history.arrays()["loss"] == direct.history.arrays()["loss"]).all()


def test_garbage_in_the_view_parameters_is_refused_with_a_literal_notice():
    at = open_with("pages/2_Training_lab.py", lab_steps="[x](https://evil.example)", lab_inspect_step="-3",
                   lab_tab="<img src=x onerror=alert(1)>", lab_heat_norm="__import__('os')", lab_t_layer="1e9")
    text = notices(at)
    for name in ("lab_steps", "lab_inspect_step", "lab_tab", "lab_heat_norm", "lab_t_layer"):
        assert f"{name} = '" in text, name
    assert "[x](https://evil.example)" in "\n".join(c.value for c in at.code)  # shown as typed, in a code block
    assert not any("evil.example" in m.value for m in at.markdown)  # never rendered as a link
    assert at.session_state["lab_run"].steps_done == 0


def test_a_tracked_weight_outside_the_network_is_named_and_the_ledger_falls_back():
    at = open_with("pages/2_Training_lab.py", lab_depth="2", lab_width="4", lab_steps="3", lab_t_layer="3",
                   lab_t_row="9", lab_tab="Update ledger")
    assert "tracked weight could not be used" in all_text(at)
    assert at.session_state["lab_run"].track == (0, 0, 0) and at.session_state["lab_run"].steps_done == 3


def test_tabs_open_from_the_link_and_write_themselves_back():
    at = open_with("pages/5_Edge_of_chaos.py", edge_tab=EDGE_TABS[1])
    assert at.session_state["edge_tab"] == EDGE_TABS[1] and at.query_params["edge_tab"] == EDGE_TABS[1]
    at = open_with("pages/4_Through_time.py", tt_tab=TT_TABS[2], tt_trained="3", tt_len="5", tt_hid="4")
    assert at.session_state["tt_tab"] == TT_TABS[2]
    rnn, lstm = at.session_state["tt_runs"]
    assert rnn.steps == lstm.steps == 3 and at.query_params["tt_trained"] == "3"
    bad = open_with("pages/4_Through_time.py", tt_tab="④ nowhere", tt_trained="99999")
    assert "tt_tab = '④ nowhere'" in notices(bad) and "tt_trained = '99999'" in notices(bad)


def test_every_scene_link_decodes_without_a_notice_and_opens_a_tab():
    from core.app.page_views import SCHEMAS

    pages = {"pages/1_Chain_rule.py": "chain", "pages/2_Training_lab.py": "lab", "pages/3_Remedies.py": "remedies",
             "pages/4_Through_time.py": "through_time", "pages/5_Edge_of_chaos.py": "edge"}
    for scene in SCENES:
        for _, page, query in ((None, scene.page, scene.query), *scene.more):
            assert SCHEMAS[pages[page]].decode(query)[1] == [], scene.title
    assert SCENES[6].query["edge_tab"] == EDGE_TABS[1]
    assert any(q.get("tt_tab") == TT_TABS[2] and int(q["tt_trained"]) > 0 for _, _, q in SCENES[5].more)
    assert SCENES[3].query.get("lab_tab", LAB_TABS[0]) == LAB_TABS[0] and int(SCENES[3].query["lab_steps"]) > 0


def test_a_lecture_can_start_at_any_scene_and_jump():
    at = open_with("pages/6_Lecture.py", shared={"lecture": "1"}, lec_scene="5")
    assert any(SCENES[4].title in t.value for t in at.title)
    assert "Turn on" not in all_text(at)  # lecture mode is on: the hint does not ask for it
    assert any(m.value for m in at.metric)
    at.selectbox(key="lec_jump").set_value(2).run()
    assert any(SCENES[1].title in t.value for t in at.title) and at.query_params["lec_scene"] == "2"
    plain = open_with("pages/6_Lecture.py", lec_scene="2")
    assert "Turn on *Lecture mode*" in all_text(plain)


def test_the_hand_out_is_self_contained_and_holds_every_scene():
    from core.app.handout import handout_html

    results = [scene.result() for scene in SCENES]
    page = handout_html(SCENES, results)
    assert page.startswith("<!DOCTYPE html>") and page.count("<section") == len(SCENES)
    for scene, res in zip(SCENES, results, strict=True):
        assert scene.title.replace("'", "&#x27;") in page or scene.title in page
        assert res.value in page
    assert page.count("<svg") >= sum(r.chart is not None for r in results)
    # nothing to load: no src/href/url() pointing outside the file, no @import (the SVG namespaces are names)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", page, re.I) and "@import" not in page
    assert "<script" not in page.lower()


def test_the_remedies_scene_opens_its_comparison_trained_with_the_scenes_numbers():
    from core.numbers import sig

    at = open_with("pages/3_Remedies.py", **SCENES[4].query)
    outcomes = at.session_state["rem_outcomes"][1]
    result = SCENES[4].result()
    assert [o.diverged_at for o in outcomes][0] is not None  # the baseline explodes, as the scene says
    assert sig(min(o.final_loss for o in outcomes[1:])) == result.value
    assert at.query_params["rem_compared"] == "1"


def test_a_replay_beyond_the_servers_work_limit_trains_what_it_may_and_says_so(monkeypatch):
    import ui.lab
    from core.budget import Budget

    monkeypatch.setattr(ui.lab, "SERVER", Budget(work=4 * 8 * 25))  # 25 steps of a 4 × 8 network per request
    at = open_with("pages/2_Training_lab.py", lab_depth="4", lab_width="8", lab_steps="100")
    assert at.session_state["lab_run"].steps_done == 25
    assert any("asks for 100 trained steps" in w.value and "reached 25" in w.value for w in at.warning)
    assert at.query_params["lab_steps"] == "25"  # the link now describes what is on screen


def test_hand_set_weights_travel_in_the_link_and_replay_at_their_steps():
    from core.training.trainer import format_edits, parse_edits

    at = open_with("pages/2_Training_lab.py", lab_depth="3", lab_width="6")
    next(b for b in at.button if b.label == "Step").click().run()
    at.session_state["lab_tab"] = "Update ledger"
    at.run()
    at.text_input(key="lab_set_value").set_value("500")
    next(b for b in at.button if b.label == "Set weight").click().run()
    next(b for b in at.button if b.label == "Step").click().run()
    edits = at.session_state["lab_run"].edits
    assert format_edits(edits) == "1:1.1.1=500.0" and at.query_params["lab_edits"] == "1:1.1.1=500.0"
    ledger = [m.value for m in at.markdown if "In one line" in m.value]
    again = open_with("pages/2_Training_lab.py", lab_depth="3", lab_width="6", lab_steps="2",
                      lab_edits=at.query_params["lab_edits"], lab_tab="Update ledger")
    run = again.session_state["lab_run"]
    assert run.steps_done == 2 and parse_edits(format_edits(run.edits)) == edits
    assert [m.value for m in again.markdown if "In one line" in m.value] == ledger  # 500 − lr·∂L/∂w, same digits
    assert "500 − " in ledger[0]


def test_garbage_hand_set_weights_in_a_link_are_refused_with_a_sentence():
    at = open_with("pages/2_Training_lab.py", lab_steps="3", lab_edits="1:1.1.1=__import__('os')")
    assert not at.exception
    assert any("hand-set weights could not be used" in w.value for w in at.warning)
    assert at.session_state["lab_run"].steps_done == 3 and not at.session_state["lab_run"].edits
