"""Exact parsing and formatting of the ledger's numbers."""

import math
from fractions import Fraction

import pytest

from core.numbers import (
    FLOAT64_MAX,
    MINUS,
    NumberError,
    as_float64,
    equals,
    fmt,
    fmt_latex,
    log10_abs,
    parse_number,
    scientific,
    to_fraction,
)


@pytest.mark.parametrize(("value", "text"), [
    (Fraction(93_750_000), "93,750,000"),
    (Fraction(-937_000), "−937,000"),
    (Fraction(1, 100), "0.01"),
    (Fraction(500) - Fraction(1, 100) * 93_750_000, "−937,000"),
    (Fraction(1953125, 1000), "1,953.125"),
    (Fraction(10) ** 308, "1 × 10³⁰⁸"),
    (Fraction(-25, 10), "−2.5"),
    (Fraction(0), "0"),
])
def test_exact_formatting(value, text):
    assert fmt(value) == text


def test_no_float_noise_in_exact_sums():
    assert fmt(Fraction(1, 10) + Fraction(2, 10)) == "0.3"


def test_non_terminating_values_are_marked_rounded():
    assert fmt(Fraction(1, 3)) == "≈ 0.3333"
    assert equals(Fraction(1, 3)) == "≈ 0.3333"
    assert equals(Fraction(125)) == "= 125"


def test_latex_uses_grouping_braces():
    assert fmt_latex(Fraction(-937_000)) == "-937{,}000"
    assert fmt_latex(Fraction(10) ** 9000 * 7) == r"7 \times 10^{9000}"


def test_huge_and_tiny_values_format_without_str_of_big_ints():
    assert fmt(Fraction(10) ** 31000 * 3) == "3 × 10³¹⁰⁰⁰"
    assert fmt(Fraction(1, 10**400)) == "1 × 10⁻⁴⁰⁰"
    sci = scientific(Fraction(2, 3), 5)
    assert (sci.digits, sci.exponent, sci.exact) == ("66667", -1, False)


def test_infinities_and_nan():
    assert fmt(float("inf")) == "∞"
    assert fmt(float("-inf")) == "−∞"
    assert fmt(float("nan")) == "NaN"


@pytest.mark.parametrize(("text", "value"), [
    ("93,750,000", Fraction(93_750_000)),
    ("−0.01", Fraction(-1, 100)),
    ("1e308", Fraction(10) ** 308),
    ("1/4", Fraction(1, 4)),
    ("  500 ", Fraction(500)),
    ("2.5E-3", Fraction(25, 10_000)),
])
def test_parse_accepts_plain_numbers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1e99999", "__import__('os')", "1/0", "nan", "inf", "1+1", "0x10",
                                  "1/2/3", "x" * 100])
def test_parse_refuses_anything_else_with_a_message(text):
    with pytest.raises(NumberError) as err:
        parse_number(text, name="weight")
    assert str(err.value).startswith("weight:")


def test_parse_enforces_limit():
    with pytest.raises(NumberError, match="out of range"):
        parse_number("2e6", name="w", limit=10**6)


def test_float64_view_of_exact_values():
    assert as_float64(Fraction(10) ** 309) == float("inf")
    assert as_float64(-(Fraction(10) ** 309)) == float("-inf")
    assert as_float64(FLOAT64_MAX) == 1.7976931348623157e308
    assert log10_abs(Fraction(10) ** 9000 * 7) == pytest.approx(9000.845098, abs=1e-6)
    assert log10_abs(Fraction(0)) == float("-inf")


def test_sympy_floats_with_astronomical_exponents_format_at_once():
    """σ'(10¹²) ≈ e^(−10¹²): its binary exponent is −1.44 × 10¹²; no exact conversion may be attempted."""
    import sympy as sp

    tiny = sp.exp(-sp.Float(10, 50) ** 12)
    # log10(e^(−10¹²)) = −10¹² · log10(e) = −434,294,481,903.25…
    assert log10_abs(tiny) == pytest.approx(-1e12 * math.log10(math.e), rel=1e-15)
    assert fmt(tiny, significant=12).startswith("≈ 5.599797842")
    assert fmt(tiny).endswith("10⁻⁴³⁴²⁹⁴⁴⁸¹⁹⁰⁴")
    assert as_float64(tiny) == 0.0
    assert as_float64(-1 / tiny) == -math.inf
    with pytest.raises(ValueError):
        to_fraction(tiny)


def test_sympy_floats_in_the_ordinary_range_round_trip():
    import sympy as sp

    assert fmt(sp.Float("0.25", 50)) == "≈ 0.25"
    assert fmt(sp.Float("-93750000.5", 50), significant=12) == "≈ " + MINUS + "93,750,000.5"
    assert as_float64(sp.Float("1e400", 50)) == math.inf


def test_numpy_floats_format_like_python_floats():
    import numpy as np

    from core.numbers import fmt

    assert fmt(np.float64(0.5)) == fmt(0.5) and fmt(np.float64(-1234.5)) == fmt(-1234.5)
