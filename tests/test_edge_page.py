"""The Edge of chaos page through AppTest: the three sections and their key numbers."""

from core.charts.style import ON_MAP, contrast
from tests.test_lab_page import all_text, button, metric, opened

PAGE = "pages/5_Edge_of_chaos.py"


def test_phase_section_places_the_default_lab_network_at_the_edge_of_chaos():
    at = opened(PAGE)
    assert metric(at, "predicted per-layer factor √χ") == "1.0000"  # xavier tanh: σ_w = 1, σ_b = 0
    assert float(metric(at, "measured in a 40 × 256 network")) > 0.98
    assert "edge of chaos: gradients keep their size" in all_text(at)
    next(s for s in at.slider if s.label == "σ_w to measure").set_value(2.5).run()
    assert not at.exception
    assert "chaotic: gradients explode" in all_text(at)


def test_cliff_section_shows_the_wall_and_what_clipping_does():
    at = opened(PAGE)
    assert metric(at, "largest step — clipped at τ = 1") == "0.5"  # lr·τ = 0.5 × 1: clipping bounds every step
    assert float(metric(at, "largest step — no clipping")) > 5  # the catapult off the wall
    text = all_text(at)
    assert "E = (\\sigma(x_{50}) - 0.7)^2" in text and "Not from the paper" in text
    next(s for s in at.slider if s.label == "recurrent weight w").set_value(3.0).run()
    assert not at.exception
    assert "there is no wall from this start" in all_text(at)


def test_butterfly_section_trains_both_pairs():
    at = opened(PAGE)
    assert "press **Train both pairs**" in all_text(at)
    next(s for s in at.slider if s.label == "training steps").set_value(30).run()
    button(at, "Train both pairs").click().run()
    assert not at.exception
    assert "per step" in metric(at, "λ — stable")
    assert float(metric(at, "λ — exploding").split()[0]) > 1
    assert "inf/NaN at step" in all_text(at)


def test_labels_are_readable_and_human():
    """QA: slider label 'ε = 10^x', the raw identifier 'xavier_normal', the residual chart's title cut under the α
    control, its legend entry cut 'plain net, mean field (√…', and the 'training lab' marker black on dark navy."""
    import json

    at = opened(PAGE)
    assert any(s.label == "ε = 10ˣ" for s in at.slider)
    text = all_text(at)
    assert "xavier_normal" not in text and "(Xavier/Glorot normal, width 16)" in text
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    phase = next(s for s in specs if "Order and chaos" in json.dumps(s.get("title", "")))
    marks = [layer["mark"] for layer in phase["layer"] if isinstance(layer.get("mark"), dict)
             and layer["mark"].get("type") == "text"]
    halo = ON_MAP["halo"]  # a light halo under the dark label, readable on the red and blue cells in either theme
    assert any(m.get("stroke") == halo and m.get("strokeWidth", 0) >= 3 for m in marks)
    assert any(m.get("color") == ON_MAP["ink"] for m in marks) and contrast(halo, ON_MAP["ink"]) >= 4.5
    residual = next(s for s in specs if "Gain back to layer 1" in json.dumps(s.get("title", "")))
    assert residual["title"]["text"] == "Gain back to layer 1" and residual["title"]["subtitle"].startswith("tanh, σ_w")
    legend = residual["layer"][0]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0
