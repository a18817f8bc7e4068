"""The training lab through AppTest: Step, Run N, Reset, the scenarios, bad input — no exception ever."""

import pytest

from tests.test_pages import run as open_page

LAB = "pages/2_Training_lab.py"


def opened(page: str):
    """A page opened by a deep link, with no exception on screen."""
    at = open_page(page)
    assert not at.exception
    return at


def lab():
    return opened(LAB)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def metric(at, label):
    """The value of the metric whose label is, or starts with, `label`."""
    return next(m for m in at.metric if m.label == label or m.label.startswith(label)).value


def pick_scenario(at, key: str):
    """Click a scenario pill (what a learner does), then run."""
    at.pills(key="lab_scenario_pick").set_value(key).run()
    assert not at.exception
    return at


def open_tab(at, label: str):
    """Open one of the lab's lazy detail tabs (only the open one is built)."""
    at.session_state["lab_tab"] = label
    at.run()
    assert not at.exception
    return at


def all_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]
    parts += [str(x.value) for x in at.latex]
    return "\n".join(str(p) for p in parts)


def test_step_records_one_update_and_shows_the_ledger():
    at = lab()
    assert "No steps yet" in all_text(at)
    button(at, "Step").click().run()
    assert not at.exception
    assert metric(at, "Steps") == "1"
    assert "##### Diagnosis" in all_text(at)  # the first detail tab is open by default
    text = all_text(open_tab(at, "Update ledger"))
    assert "W₁[1, 1] at step 1" in text and "In one line" in text


def test_run_n_then_reset_rewinds_to_the_same_numbers():
    at = lab()
    at.number_input(key="lab_n_steps").set_value(30).run()
    button(at, "Run").click().run()
    assert not at.exception
    assert metric(at, "Steps") == "30"
    first_loss = metric(at, "Loss")
    button(at, "Reset").click().run()
    assert "No steps yet" in all_text(at)
    button(at, "Run").click().run()
    assert metric(at, "Loss") == first_loss


@pytest.mark.parametrize(("key", "verdict"), [("notes", "Vanishing"), ("relu_big_init", "Exploding"),
                                              ("sigmoid_default", "Vanishing"), ("he_relu", "Healthy"),
                                              ("big_lr", "Diverging")])
def test_each_scenario_trains_and_gets_its_verdict(key, verdict):
    at = lab()
    pick_scenario(at, key)
    boxes = [e.value for kind in (at.error, at.warning, at.success) for e in kind]
    assert any(v.startswith(f"**{verdict}.**") for v in boxes), boxes


def test_extreme_settings_stop_at_the_first_non_finite_step_and_still_draw():
    at = lab()
    at.slider(key="lab_depth").set_value(50)
    at.selectbox(key="lab_activation").set_value("relu")
    at.selectbox(key="lab_init").set_value("constant")
    at.text_input(key="lab_init_scale").set_value("1e6")
    at.text_input(key="lab_lr").set_value("10").run()
    button(at, "Run").click().run()
    assert not at.exception
    assert metric(at, "Steps") == "1"
    assert any("became inf" in e.value for e in at.error)
    assert len(at.get("vega_lite_chart")) >= 4  # loss, flow, heat map, the output map: all still draw
    for tab in ("Weight norms", "Update ratio", "Histograms"):
        assert len(open_tab(at, tab).get("vega_lite_chart")) >= 5


def test_garbage_and_out_of_range_values_get_messages():
    at = lab()
    at.text_input(key="lab_lr").set_value("fast").run()
    assert not at.exception
    assert any("is not a number" in e.value for e in at.error)
    at.text_input(key="lab_lr").set_value("100").run()
    assert any("outside" in e.value for e in at.error)
    at.text_input(key="lab_lr").set_value("0.05").run()
    assert not at.error


def test_play_trains_while_playing_and_pause_brings_back_the_panels():
    at = lab()
    button(at, "Play").click().run()  # timers never fire under AppTest: one fragment run = one tick
    assert not at.exception
    assert int(metric(at, "Steps")) >= 1  # one tick: as many steps as fit in its time slice, at least one
    assert any(b.label == "Pause" for b in at.button)
    button(at, "Pause").click().run()
    assert not at.exception
    assert "##### Diagnosis" in all_text(at)


def test_set_weight_by_hand_then_continue():
    at = lab()
    button(at, "Step").click().run()
    open_tab(at, "Update ledger")
    at.text_input(key="lab_set_value").set_value("500")
    next(b for b in at.button if b.label == "Set weight").click().run()
    assert not at.exception
    button(at, "Step").click().run()
    text = all_text(at)
    assert "W₁[1, 1] at step 2" in text
    assert "500 − 0.05" in text  # w_old is the weight set by hand, then lr·∂L/∂w


def inspected(at) -> int:
    return at.slider(key="lab_inspect").value


def flow_label(at) -> str:
    """The step the gradient-flow chart is drawn at (its data, as the browser receives it)."""
    import json

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("title") == "Gradient flow by layer":
            names = [d.name for d in chart.proto.datasets]
            import pyarrow as pa

            table = pa.ipc.open_stream(chart.proto.datasets[names.index("flow_step")].data.data).read_all()
            return table.column("label")[0].as_py()
    raise AssertionError("no gradient-flow chart")


def test_the_scrubber_moves_back_and_stays_there_while_the_charts_follow_it():
    at = lab()
    at.number_input(key="lab_n_steps").set_value(30).run()
    button(at, "Run").click().run()
    assert inspected(at) == 30 and flow_label(at) == "step 30"
    at.slider(key="lab_inspect").set_value(7).run()  # scrub back
    assert inspected(at) == 7 and flow_label(at) == "step 7"
    text = all_text(open_tab(at, "Update ledger"))
    assert "W₁[1, 1] at step 7" in text
    at.slider(key="lab_inspect").set_value(3).run()  # a second scrub, and it is not snapped back
    assert inspected(at) == 3 and "W₁[1, 1] at step 3" in all_text(at)
    button(at, "Step").click().run()  # training on does not move a scrubbed-back view …
    assert metric(at, "Steps") == "31" and inspected(at) == 3
    at.slider(key="lab_inspect").set_value(31).run()  # … until the scrubber is back at the end: then it follows
    button(at, "Step").click().run()
    assert inspected(at) == 32 and flow_label(at) == "step 32"


def test_the_live_chain_follows_every_change_of_network():
    at = pick_scenario(lab(), "notes")
    sizes = []
    for key in ("relu_big_init", "relu_nan", "sigmoid_default", "he_relu", "big_lr", "notes"):
        pick_scenario(at, key)
        open_tab(at, "The notes' chain")
        assert not [e.value for e in at.error if "whole numbers separated by commas" in e.value], key
        path = at.text_input(key="lab_path").value
        sizes.append(len(path.split(",")))
        assert any("running product" in str(df.value.columns.tolist()) for df in at.table), key
        open_tab(at, "Scenario & diagnosis")
    assert len(set(sizes)) > 1  # the path really changed length with the networks


def test_a_run_that_hits_nan_opens_on_its_last_finite_step_and_marks_the_bad_one():
    at = pick_scenario(lab(), "relu_nan")
    bad = metric(at, "First inf/NaN")
    assert bad.startswith("step ")
    bad_step = int(bad.split()[1])
    assert inspected(at) == bad_step - 1 and flow_label(at) == f"step {bad_step - 1}"
    assert f"step {bad_step} is where a value became" in at.slider(key="lab_inspect").label
    at.slider(key="lab_inspect").set_value(bad_step).run()  # the bad step itself can still be inspected
    assert flow_label(at) == f"step {bad_step}"


def test_step_axes_carry_whole_steps_and_log_axes_powers_of_ten():
    import json

    at = lab()
    at.number_input(key="lab_n_steps").set_value(3).run()
    button(at, "Run").click().run()
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    step_axes = [layer["encoding"]["x"]["axis"] for s in specs for layer in s.get("layer", [])
                 if layer.get("encoding", {}).get("x", {}).get("axis", {}).get("title") == "step"]
    assert step_axes and all(a["format"] == "d" and a["tickMinStep"] == 1 for a in step_axes)
    log_axes = [layer["encoding"]["y"]["axis"] for s in specs for layer in s.get("layer", [])
                if "log scale" in str(layer.get("encoding", {}).get("y", {}).get("axis", {}).get("title", ""))]
    assert log_axes and all("'10'" in a["labelExpr"] for a in log_axes)


@pytest.mark.parametrize("key", ["notes", "relu_big_init", "relu_nan", "sigmoid_default", "he_relu", "big_lr"])
def test_every_scenario_draws_its_network_at_the_inspected_step(key):
    at = open_tab(pick_scenario(lab(), key), "Network")
    charts = [c for c in at.get("vega_lite_chart") if "network_nodes" in [d.name for d in c.proto.datasets]]
    assert len(charts) == 1, key
    inspected_step = at.slider(key="lab_inspect").value
    assert any(c.value.startswith(f"Step {inspected_step} · ") for c in at.caption), key


NUMBER = r"[−-]?\d+(?:,\d{3})*(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?%?"


@pytest.mark.parametrize("key", ["notes", "relu_big_init", "relu_nan", "sigmoid_default", "he_relu", "big_lr"])
def test_every_number_a_scenario_story_measures_is_on_the_screen(key):
    """The story's measured part quotes only numbers that the metrics and the diagnosis beside it show, to the
    same digits (the issue: 'in the thousands' beside a metric of 75.92, '2¹⁰ ≈ 1,000' beside a measured ×331)."""
    import re

    from core.training.scenarios import SCENARIOS

    at = pick_scenario(lab(), key)
    story = next(i.value for i in at.info if i.value.startswith(f"**{SCENARIOS[key].title}.**"))
    measured = story.split("**Measured in this run:**", 1)[1]
    rest = all_text(at).replace(story, "") + "\n" + "\n".join(f"{m.label} {m.value}" for m in at.metric)
    numbers = re.findall(NUMBER, measured)
    assert numbers, measured
    for n in numbers:
        assert re.search(rf"(?<![\d.,]){re.escape(n)}(?!\d|,\d|\.\d)", rest), (n, measured)
    assert "thousands" not in story and "2¹⁰" not in story


def test_the_diagnosis_names_a_cause_and_links_to_the_remedies_with_this_network():
    at = pick_scenario(lab(), "relu_big_init")
    text = all_text(at)
    assert "**Likely cause — initial scale.**" in text and "Try **He/Kaiming initialisation**" in text
    link = next(p for p in at.get("page_link") if "Compare remedies" in p.proto.label)
    assert link.proto.page.endswith("3_Remedies.py") or "Remedies" in link.proto.page


def test_the_notes_chain_names_a_culprit_only_when_a_factor_amplifies():
    """QA: Healthy He-ReLU showed 'Biggest culprit: φ'(z₆[1]) = 1' beside a factor of 0, and ReLU → NaN showed
    'Biggest culprit: ∂L/∂ŷ₁ = NaN'."""
    import pandas as pd

    at = lab()
    for key in ("he_relu", "relu_nan"):
        pick_scenario(at, key)
        open_tab(at, "The notes' chain")
        table = next(df.value for df in at.table if "running product" in str(df.value.columns.tolist()))
        table = table.data if hasattr(table, "data") else pd.DataFrame(table)
        caption = next(c.value for c in at.caption if "One path's term" in c.value)
        effects = list(table["effect"])
        if "amplifies (|f| > 1)" not in effects:
            assert "culprit:" not in caption.lower() or "No culprit" in caption, (key, caption)
        if "not finite" in effects:
            assert "is not finite" in caption, caption
        elif "0" in list(table["value"]):
            assert "= 0 kills the whole product" in caption, caption
        open_tab(at, "Scenario & diagnosis")


@pytest.mark.parametrize(("key", "value", "shown"), [("lab_lr", "100", "1 × 10⁻⁶ … 10"),
                                                     ("lab_init_scale", "1e7", "−1,000,000 … 1,000,000")])
def test_an_out_of_range_setting_states_its_range_without_e_notation(key, value, shown):
    """QA: 'outside the allowed range 1e-06 … 10' and '-1e+06 … 1e+06'."""
    at = lab()
    at.text_input(key=key).set_value(value).run()
    errors = [e.value for e in at.error if "outside the allowed range" in e.value]
    assert errors and shown in errors[0], errors
    assert "e-0" not in errors[0] and "e+0" not in errors[0]


def test_the_remedies_link_never_repeats_the_remedy_it_suggests():
    """QA: ReLU, init too large → 'Compare remedies on this very network' opened Remedies with Variant 1 =
    He/Kaiming and Variant 2 = He/Kaiming (the page's default)."""
    from urllib.parse import parse_qs

    from tests.test_deep_links import open_with

    at = pick_scenario(lab(), "relu_big_init")
    link = next(p for p in at.get("page_link") if "Compare remedies" in p.proto.label)
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    variants = [query[f"rem_v{i}"] for i in range(4)]
    assert variants[0] == "he" and len(set(variants)) == 4, query
    page = open_with("pages/3_Remedies.py", **query)
    chosen = [tuple(page.multiselect(key=f"rem_v{i}").value) for i in range(4)]
    assert chosen[0] == ("he",) and len(set(chosen)) == 4, chosen
