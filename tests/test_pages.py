"""Every page through Streamlit's AppTest: no exception, the key numbers on screen."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
HOME = str(ROOT / "streamlit_app.py")
CHAIN = "pages/1_Chain_rule.py"


def run(page: str) -> AppTest:
    """Open `page` the way a visitor's deep link does: the app's entry point, then that page."""
    at = AppTest.from_file(HOME, default_timeout=60).run()
    if page != HOME:
        at.switch_page(page).run()
    return at


def screen_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [x.value for x in at.latex]
    parts += [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]
    parts += [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def button(at: AppTest, label_start: str):
    return next(b for b in at.button if b.label.startswith(label_start))


def test_home_page_shows_the_worked_example():
    at = run(HOME)
    assert not at.exception
    assert "500 − 0.01·93,750,000 = −937,000" in screen_text(at)


def test_chain_page_opens_on_the_notes_example():
    at = run(CHAIN)
    assert not at.exception
    text = screen_text(at)
    assert "−937,000" in text and "-937{,}000" in text
    assert "150 \\times 100 \\times 125 \\times 50 = 93{,}750{,}000" in text
    assert "\\frac{1}{4} \\times 500 = 125" in text
    assert any("Overshoot" in e.value for e in at.error)


def test_make_the_notes_numbers_real_agrees_with_autograd():
    at = run(CHAIN)
    button(at, "②").click().run()
    assert not at.exception
    assert at.segmented_control(key="mode").value == "From weights"
    text = screen_text(at)
    assert "−937,000" in text
    assert any("SymPy and torch autograd (float64) agree" in s.value for s in at.success)


def test_saturation_button_shows_vanishing():
    at = run(CHAIN)
    button(at, "③").click().run()
    assert not at.exception
    assert any("saturated" in w.value for w in at.warning)
    assert any("frozen" in w.value for w in at.warning)


@pytest.mark.parametrize("garbage", ["abc", "1e99999", "__import__('os').system('true')", ""])
def test_garbage_in_a_factor_gives_a_message(garbage):
    at = run(CHAIN)
    at.text_input(key="f_do21/do11").set_value(garbage).run()
    assert not at.exception
    assert any("do21/do11" in e.value for e in at.error)
    assert any("Fix the values" in w.value for w in at.warning)


def test_enormous_factors_show_infinity_and_stay_exact():
    at = run(CHAIN)
    for key in ("f_dL/do31", "f_do31/do21", "f_do21/do11", "f_do11/dw11"):
        at.text_input(key=key).set_value("1e308")
    at.run()
    assert not at.exception
    assert any("∞" in e.value and "exact" in e.value for e in at.error)
    assert "10^{1232}" in screen_text(at)


def test_negative_learning_rate_is_refused():
    at = run(CHAIN)
    at.text_input(key="f_lr").set_value("-0.01").run()
    assert not at.exception
    assert any("learning rate" in e.value for e in at.error)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_computed_mode_deep_chains(activation):
    at = run(CHAIN)
    at.segmented_control(key="mode").set_value("From weights").run()
    at.segmented_control(key="act").set_value(activation)
    at.slider(key="n_depth").set_value(30)
    at.text_input(key="weights").set_value("1e6")
    at.text_input(key="x").set_value("1e6").run()
    assert not at.exception
    assert "SymPy vs torch autograd" in screen_text(at)


def test_out_of_range_weight_is_refused():
    at = run(CHAIN)
    at.segmented_control(key="mode").set_value("From weights").run()
    at.text_input(key="weights").set_value("500; 2e6").run()
    assert not at.exception
    assert any("out of range" in e.value for e in at.error)


@pytest.mark.parametrize(("activation", "gamma"), [("tanh", "1"), ("sigmoid", "¼"), ("relu", "1")])
def test_the_bound_wording_is_the_activations_own(activation, gamma):
    """QA: /Chain_rule?mode=From%20weights&act=tanh&weights=100&x=1 quoted the sigmoid's '¼·w' in its heading and
    info while the page's own bound for tanh is max φ' = 1."""
    from tests.test_deep_links import open_with

    at = open_with(CHAIN, mode="From weights", act=activation, weights="100", x="1")
    heading = next(h.value for h in at.subheader if h.value.startswith("Bound versus actual"))
    infos = "\n".join(i.value for i in at.info)
    assert f"{gamma}·|w| is the best case" in heading
    if activation != "sigmoid":
        assert "¼" not in heading and "¼" not in infos and "σ'" not in infos
    if activation == "tanh":
        assert "max φ' = 1" in infos and "z = 0" in infos


def test_rounded_values_show_as_many_significant_digits_as_the_rest_of_the_app():
    """QA: the chain page and Home showed 12 significant digits (≈ 7.12457640674 × 10⁻²¹⁸) where the rest of the
    app shows 3–4; exact values stay exact (the notes' 93,750,000 and −937,000)."""
    import re

    from tests.test_deep_links import open_with

    pages = [run(HOME), run(CHAIN), open_with(CHAIN, mode="From weights", act="tanh", weights="100", x="1"),
             open_with(CHAIN, mode="From weights", act="sigmoid", weights="500", x="1")]
    for at in pages:
        text = screen_text(at) + "\n".join(str(df.value) for df in [*at.dataframe, *at.table])
        long = re.findall(r"\d\.\d{4,}(?: × 10| \\times 10)", text)
        assert not long, long
    assert "93,750,000" in screen_text(pages[0]) and "−937,000" in screen_text(pages[1])
