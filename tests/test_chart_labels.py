"""Log axes and legends read as a person writes numbers: 10ᵏ at whole powers, the value itself between them,
m × 10ⁿ far from 1 — never 3e+19 — checked on the SVG that Vega itself draws."""

import re

import numpy as np

from core.charts import training as tc
from core.charts.template import power_of_ten


def drawn_text(chart) -> list[str]:
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]


def test_whole_powers_read_as_ten_to_the_k():
    texts = drawn_text(tc.loss_chart(np.logspace(3, -2, 30), None, 10))
    assert {power_of_ten(k) for k in (-2, 0, 3)} <= set(texts), texts
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)], texts


def test_a_narrow_axis_and_a_legend_end_read_as_values_not_e_notation():
    texts = drawn_text(tc.loss_chart(np.linspace(0.7, 0.5, 30), None, 10))
    assert any(re.fullmatch(r"0\.\d+", t) for t in texts), texts
    values = np.full((20, 3), 2.0)
    values[0, 0] = 3e19
    texts = drawn_text(tc.heatmap(values, "‖∂L/∂W_l‖", 5))
    # the heat map's colours are anchored: 1 in the middle, the same ends in every run
    d = power_of_ten(tc.HEAT_DECADES)
    assert {"1", "≥ " + d, "≤ " + power_of_ten(-tc.HEAT_DECADES)} <= set(texts), texts
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)], texts


def test_exponents_with_repeated_digits_are_superscript_throughout():
    texts = drawn_text(tc.loss_chart(np.logspace(-11, 11, 30), None, 10))
    assert not [t for t in texts if t.startswith("10") and re.search(r"\d", t[2:])], texts  # e.g. 10⁻¹1
    assert {power_of_ten(-10), power_of_ten(10)} <= set(texts), texts
