"""Readable by construction (issue 18): rounded labels for drawings, neuron names that cannot be misread,
products broken into lines that fit, the chain drawn in rows with its middle summarised."""

from fractions import Fraction

import sympy as sp

from core.chain import products as ch
from core.chain.diagram import chain_rows
from core.latex_lines import aligned_product, visible_width
from core.numbers import log10_abs, rounded
from tests.test_pages import CHAIN, run, screen_text


def test_rounded_labels_keep_two_digits_or_the_exact_short_value():
    assert rounded(sp.Float("3.56228820337e-215", 30)) == "3.6 × 10⁻²¹⁵"
    assert rounded(125) == "125" and rounded(Fraction(-1, 4)) == "−0.25"  # short exact values stay exact
    assert rounded(Fraction(1, 3)) == "0.33"
    assert rounded(-93_750_001) == "−9.4 × 10⁷"
    assert rounded(sp.Float("9.96e-5000", 30)) == "1 × 10⁻⁴⁹⁹⁹"  # rounding carries into the exponent


def test_neuron_names_have_subscripts_and_a_separator_from_ten_on():
    assert [ch.o_text(k) for k in (1, 3, 9, 10, 11, 30)] == ["o₁₁", "o₃₁", "o₉₁", "o₁₀,₁", "o₁₁,₁", "o₃₀,₁"]


def test_a_long_product_is_cut_into_lines_that_fit_with_the_result_on_its_own_line():
    factors = [r"5.536 \times 10^{-85}"] * 7
    latex = aligned_product(r"\frac{\partial L}{\partial w}", r"\approx", factors, r"1.7 \times 10^{-255}",
                            r"\approx", width=34)
    body = latex.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    lines = body.split(r" \\ ")
    assert len(lines) >= 3 and lines[-1] == r"&\approx 1.7 \times 10^{-255}"
    for line in lines[:-1]:  # every line of factors fits (each holds at least one)
        terms = line.count("5.536")
        assert terms == 1 or terms * (visible_width(factors[0]) + 2) <= 34
    assert body.count("5.536") == 7  # every factor, in order, none lost at a break
    short = aligned_product("g", "=", ["150", "100", "125", "50"], "93{,}750{,}000", width=34)
    assert short == r"\begin{aligned}g &= 150 \times 100 \times 125 \times 50 = 93{,}750{,}000\end{aligned}"


def test_the_notes_chain_is_one_row_with_its_exact_factors():
    rows = chain_rows(ch.notes_chain())
    assert len(rows) == 1
    for label in ('label="50"', 'label="125"', 'label="100"', 'label="150"'):
        assert label in rows[0]


def test_a_deep_chain_is_drawn_in_rows_with_its_middle_summarised():
    net = ch.Network("sigmoid", (Fraction(500),) * 30, (Fraction(0),) * 30, Fraction(1), Fraction(0),
                     Fraction(1, 100), False)
    chain = ch.network_chain(net)
    rows = chain_rows(chain, window=8)
    dot = "\n".join(rows)
    assert len(rows) > 1 and dot.count(" -> ") == 9  # 4 + 4 factors drawn, and the summary between them
    assert "o101" not in dot and '"o₃₀,₁"' in dot
    middle = list(reversed(chain.factors))[4:27]  # edges 5 … 27 of 31: the 23 the summary stands for
    product = sp.Mul(*[f.value for f in middle])
    summary = next(line for line in dot.splitlines() if "style=dashed" in line)
    assert "23 factors, product " + rounded(ch.settle(product)) in summary
    assert abs(log10_abs(ch.settle(product)) - sum(log10_abs(f.value) for f in middle)) < 1e-6
    assert "3.6 × 10⁻²¹⁵" in dot and "3.562" not in dot  # rounded for the drawing, exact values elsewhere


def test_the_chain_table_names_neurons_readably_and_shows_every_digit_it_has():
    at = run(CHAIN)
    at.segmented_control(key="mode").set_value("From weights").run()
    at.slider(key="n_depth").set_value(12).run()
    assert not at.exception
    table = at.table[0].value
    assert list(table["neuron"])[9:] == ["o₁₀,₁", "o₁₁,₁", "o₁₂,₁"]
    assert "≈ 7.125 × 10⁻²¹⁸" in list(table["actual φ'(z)"])  # the whole number, in an HTML cell that wraps
    assert "Edge labels rounded to two significant digits" in screen_text(at)
