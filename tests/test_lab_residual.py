"""The training lab with residual connections and layer norm: deep links, the scenarios, the explanation."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.app.page_views import SCHEMAS
from tests.test_deep_links import open_with
from tests.test_lab_page import all_text, button, metric, open_tab, pick_scenario

LAB = "pages/2_Training_lab.py"


def _depth(at):
    return next(s for s in at.slider if s.label == "Hidden layers")


def test_a_deep_link_opens_a_100_layer_residual_net_that_trains():
    at = open_with(LAB, lab_residual="1", lab_depth="100", lab_layernorm="pre", lab_activation="relu",
                   lab_init="he_normal")
    assert at.toggle(key="lab_residual").value is True
    assert _depth(at).value == 100
    assert at.selectbox(key="lab_layernorm").value == "pre"
    assert at.query_params["lab_residual"] == "1" and at.query_params["lab_depth"] == "100"
    text = all_text(at)
    assert r"I + \operatorname{diag}" in text and "Pre-norm" in text  # the explanation beside the settings
    at.number_input(key="lab_n_steps").set_value(3).run()
    button(at, "Run").click().run()
    assert not at.exception
    assert metric(at, "Steps") == "3"
    assert "##### Diagnosis" in all_text(at)
    text = all_text(open_tab(at, "The notes' chain"))
    assert "No path chain here" in text and "residual connections" in text


def test_switching_residuals_off_at_depth_80_brings_the_depth_back_to_50_with_a_notice():
    at = open_with(LAB, lab_residual="1", lab_depth="80")
    at.toggle(key="lab_residual").set_value(False).run()
    assert not at.exception
    assert _depth(at).value == 50
    assert any("at most 50 hidden layers" in i.value for i in at.info)


def test_a_link_asking_for_80_plain_layers_gets_50_and_says_why():
    at = open_with(LAB, lab_depth="80")
    assert _depth(at).value == 50
    assert any("at most 50 hidden layers" in i.value for i in at.info)


def test_the_residual_scenario_is_one_click_and_healthy_where_the_plain_one_vanishes():
    for key, verdict in (("deep_plain", "Vanishing"), ("deep_residual", "Healthy")):
        at = open_with(LAB)
        pick_scenario(at, key)
        boxes = [e.value for kind in (at.error, at.warning, at.success) for e in kind]
        assert any(v.startswith(f"**{verdict}.**") for v in boxes), boxes
        assert metric(at, "Steps") == "100"
    assert at.toggle(key="lab_residual").value is True and _depth(at).value == 50


def test_the_architecture_panel_shows_the_streams_size_measured_on_the_run():
    def script():
        from core.training.config import TrainConfig
        from core.training.trainer import Run
        from ui.lab import architecture_panel

        run = Run(TrainConfig(depth=30, width=16, activation="relu", init="he_normal", residual=True, lr=1e-6))
        run.step()
        architecture_panel(run)

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["RMS of h₁ (now)", "RMS of h₃₀ (now)"]
    growth = float(at.metric[1].value.replace(",", "")) / float(at.metric[0].value.replace(",", ""))
    assert growth > 100  # ReLU + He with the identity: the stream's variance about doubles per layer
    assert "running sum" in all_text(at)


def test_the_new_settings_round_trip_through_the_url_and_stay_out_of_it_when_off():
    schema = SCHEMAS["lab"]
    view = {"lab_residual": True, "lab_depth": 100, "lab_layernorm": "post"}
    encoded = schema.encode(view)
    assert encoded == {"lab_residual": "1", "lab_depth": "100", "lab_layernorm": "post"}
    assert schema.decode(encoded) == (view, [])
    assert schema.encode({"lab_residual": False, "lab_layernorm": "off", "lab_depth": 6}) == {}
    _, notices = schema.decode({"lab_residual": "perhaps", "lab_layernorm": "<b>", "lab_depth": "101"})
    assert len(notices) == 3
