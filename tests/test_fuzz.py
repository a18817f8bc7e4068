"""Fuzzing: random configurations (extremes included) through core, random widget values through every page."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.training.config import ACTIVATIONS, INITS, OPTIMIZERS, ConfigError, TrainConfig
from core.training.diagnosis import diagnose
from core.training.trainer import Run
from tests.test_deep_links import open_with

EXTREMES = [-1e6, -1e3, -1.0, -1e-6, 0.0, 1e-6, 0.3, 1.0, 3.0, 1e3, 1e6]
configs = st.builds(
    TrainConfig,
    depth=st.integers(1, 12), width=st.integers(1, 12), activation=st.sampled_from(ACTIVATIONS),
    init=st.sampled_from(INITS), init_scale=st.sampled_from(EXTREMES), bias_init=st.sampled_from(EXTREMES),
    input_scale=st.sampled_from([1e-6, 1e-2, 1.0, 1e2, 1e4, 1e6]),
    dataset=st.sampled_from(["regression", "spirals", "moons"]), n_samples=st.integers(16, 64),
    optimizer=st.sampled_from(OPTIMIZERS), lr=st.sampled_from([1e-6, 1e-3, 0.1, 1.0, 10.0]),
    batch_size=st.integers(1, 16), seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(["float32", "float64"]),
    clip_norm=st.sampled_from([0.0, 1e-3, 1.0]), clip_value=st.sampled_from([0.0, 0.5]), l1=st.sampled_from([0.0, 1e-3]),
    l2=st.sampled_from([0.0, 1e-2]), weight_decay=st.sampled_from([0.0, 1e-2]), batchnorm=st.booleans(),
    weightnorm=st.booleans(), normalize_inputs=st.booleans())


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs)
def test_random_configs_train_or_are_refused_and_every_divergence_is_diagnosed(config):
    try:
        run = Run(config)
    except ConfigError:
        return
    run.run(8)
    h = run.history.arrays()
    assert len(h["loss"]) == run.steps_done and h["grad_w"].shape == (run.steps_done, config.depth + 1)
    verdict = diagnose(h, lr=run.config.lr, activation=run.config.activation, nonfinite=run.nonfinite)
    if run.nonfinite is not None:
        assert verdict.verdict in ("exploding", "diverging"), (verdict.verdict, run.nonfinite)
        assert run.nonfinite.explain()
    else:
        assert np.isfinite(h["loss"]).all()


PAGES = ["pages/1_Chain_rule.py", "pages/2_Training_lab.py", "pages/3_Remedies.py", "pages/4_Through_time.py",
         "pages/5_Edge_of_chaos.py", "pages/6_Lecture.py"]
GARBAGE = ["", "abc", "1e999", "-1e999", "nan", "1/0", "__import__('os')", "5;;;", "9" * 80, "½", "0.1.2", "-0",
           "5e-324", "1e-5000", "1e5000", "1e-4000", "\u0661\u0662", "1_000", "[x](https://evil.example/)", "`"]


def random_value(widget, rng: random.Random):
    kind = type(widget).__name__
    if kind == "Slider":
        lo, hi = widget.min, widget.max
        if isinstance(widget.value, tuple):
            a, b = sorted(rng.uniform(lo, hi) for _ in range(2))
            return (a, b)
        return int(rng.uniform(lo, hi)) if float(widget.step).is_integer() and isinstance(widget.value, int) else \
            rng.choice([lo, hi, rng.uniform(lo, hi)])
    if kind == "NumberInput":
        lo = widget.min if widget.min is not None else -1e6
        hi = widget.max if widget.max is not None else 1e6
        value = rng.choice([lo, hi, rng.uniform(lo, hi)])
        return int(value) if isinstance(widget.value, int) else float(value)
    if kind in ("Selectbox", "Radio"):  # options are the shown labels; the values come from the format function
        mapping = getattr(widget.format_func, "__self__", None)
        if isinstance(mapping, dict):  # format_func=LABELS.get: the dict's keys are the values
            return rng.choice([k for k in mapping if mapping[k] in widget.options])
        return rng.choice(widget.options) if widget.format_func in (None, str) else None
    if kind == "Multiselect":  # a random part of what is selected (labels cannot be mapped back to values)
        current = list(widget.value)
        return rng.sample(current, rng.randint(0, len(current)))
    if kind in ("Toggle", "Checkbox"):
        return rng.random() < 0.5
    if kind in ("TextInput", "TextArea"):
        return rng.choice(GARBAGE + [str(rng.uniform(-10, 10))])
    return None


@pytest.mark.parametrize("page", PAGES)
def test_random_widget_values_never_put_an_exception_on_screen(page):
    rng = random.Random(page)
    at = open_with(page)
    kinds = ("slider", "number_input", "selectbox", "radio", "multiselect", "toggle", "checkbox", "text_input")
    for _ in range(12):
        widgets = [w for kind in kinds for w in at.get(kind) if not getattr(w, "disabled", False)]
        if not widgets:
            break
        for widget in rng.sample(widgets, min(3, len(widgets))):
            value = random_value(widget, rng)
            if value is not None:
                widget.set_value(value)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])


# ---------------------------------------------------------------- every parser of typed, linked or uploaded text

SPECIAL_NUMBERS = ["0", "-0", "+0", "-0.0", "0e0", "-0e-0", "5e-324", "4.9e-324", "2.2250738585072014e-308",
                   "1e-5000", "1e5000", "-1e5000", "1e-4000", "1e4000", "1e-3000", "1.7976931348623157e308", "1e309",
                   "3.5e38", "nan", "NaN", "-inf", "Infinity", "1_000", "1,000", "−5", "1/0", "1/3", "0x10",
                   "\u0661\u0662\u0663", "\uff11\uff12", "\u0967", "\u00b2", "\u00bd", "1e", "e5", ".", "-", "+-1",
                   "1e99999999999999999999", "9" * 80, "9" * 81, "1" * 400, "\x00", "\u202e1", " 1 ", "1\n2"]
numeric_text = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS),
    st.floats().map(repr),
    st.integers(-(10**400), 10**400).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.floats(allow_nan=False, allow_infinity=False), st.integers(-6000, 6000)),
)
any_text = st.one_of(numeric_text, st.text(max_size=120), st.lists(numeric_text, max_size=8).map("; ".join))
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=any_text)
def test_number_boxes_return_an_exact_number_or_a_message(text):
    from fractions import Fraction

    from core.chain.products import LIMITS
    from core.numbers import NumberError, fmt, parse_number, parse_numbers

    for limit in (None, LIMITS["factor"]):
        try:
            value = parse_number(text, name="x", limit=limit)
        except NumberError as err:
            assert str(err).startswith("x: ")
        else:
            assert isinstance(value, Fraction) and fmt(value)  # whatever is accepted can be shown
    try:
        values = parse_numbers(text, name="x", limit=LIMITS["weight"])
    except NumberError as err:
        assert str(err).startswith("x: ")
    else:
        assert 1 <= len(values) <= 60


mostly_numbers = st.one_of(  # most of these are accepted: the products reach 10^±120,000
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-4000, 300)), numeric_text)


@FUZZ
@given(factors=st.lists(mostly_numbers, min_size=2, max_size=31), w=mostly_numbers, lr=numeric_text)
def test_any_accepted_chain_multiplies_exactly_and_prints(factors, w, lr):
    """Products of up to 31 accepted factors (10⁻⁴⁰⁰⁰ … 10³⁰⁸ each) are exact and print without str() of an int."""
    from core.chain import products as ch
    from core.chain.ledger import Update  # noqa: F401  (the update's latex lines are what the page shows)
    from core.numbers import NumberError, fmt, fmt_latex, parse_number

    try:
        values = [parse_number(f, limit=ch.LIMITS["factor"]) for f in factors]
        w_old = parse_number(w, limit=ch.LIMITS["factor"])
        alpha = parse_number(lr, limit=ch.LIMITS["learning rate"])
        chain = ch.given_chain(tuple(values), w_old, alpha)
    except (NumberError, ch.ChainError):
        return
    assert fmt(chain.gradient) and fmt_latex(chain.gradient) and chain.update.latex_lines("w")
    assert chain.update.verdict() and chain.update.equation_text()
    assert hash(chain.gradient) is not None


@pytest.mark.parametrize("page", ["chain", "lab", "remedies", "through_time", "edge", "lecture_path"])
@FUZZ
@given(data=st.data())
def test_every_url_field_returns_a_value_or_says_why(page, data):
    from core.app.page_views import SCHEMAS
    from core.app.viewstate import LinkValueError

    schema = SCHEMAS[page]
    field = data.draw(st.sampled_from(schema.fields))
    raw = data.draw(any_text)
    try:
        value = field.decode(raw)
    except LinkValueError as err:
        assert str(err)
    else:
        assert schema.decode({field.param: field.encode(value)}) == ({field.param: value}, [])
    repeated = data.draw(st.lists(any_text, min_size=2, max_size=4))
    values, notices = schema.decode({field.param: repeated})
    assert any(f"appears {len(repeated)} times" in n for n in notices)


def csv_bytes():
    cell = st.one_of(numeric_text, st.text(max_size=12))
    row = st.lists(cell, min_size=1, max_size=5).map(",".join)
    ending = st.sampled_from(["\n", "\r\n", "\r", "\u2028"])
    text = st.builds(lambda rows, end: end.join(rows), st.lists(row, max_size=12), ending)
    return st.one_of(text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300))


@FUZZ
@given(data=csv_bytes())
def test_any_uploaded_file_is_read_or_refused_with_a_sentence(data):
    from core.training.config import ConfigError
    from core.training.data import parse_csv

    try:
        x, y, task = parse_csv(data)
    except ConfigError as err:
        assert str(err)
    else:
        assert np.isfinite(x).all() and len(x) == len(y) >= 4 and task in ("classification", "regression")


@FUZZ
@given(text=st.one_of(any_text, st.builds(lambda s, a, b, c, v: f"{s}:{a}.{b}.{c}={v}", numeric_text, numeric_text,
                                          numeric_text, numeric_text, numeric_text)),
       fields=st.dictionaries(st.sampled_from(["depth", "noise", "lr", "seed", "residual", "dtype", "init_scale"]),
                              any_text, max_size=4))
def test_linked_edits_and_config_dicts_parse_or_raise_config_error(text, fields):
    from core.training.trainer import parse_edits

    try:
        edits = parse_edits(text)
    except ConfigError as err:
        assert str(err)
    else:
        assert all(math.isfinite(e.value) and e.step >= 0 for e in edits)
    try:
        config = TrainConfig.from_dict(fields)
    except ConfigError as err:
        assert str(err)
    else:
        assert config.validated() is config
