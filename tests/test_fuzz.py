"""Fuzzing: random configurations (extremes included) through core, random widget values through every page."""

from __future__ import annotations

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
GARBAGE = ["", "abc", "1e999", "-1e999", "nan", "1/0", "__import__('os')", "5;;;", "9" * 80, "½", "0.1.2"]


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
