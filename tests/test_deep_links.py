"""Deep links: every page's settings round-trip through the URL; malformed or hostile links fall back with a notice."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.app.page_views import SCHEMAS
from core.app.viewstate import MAX_PARAMS, Field, ViewSchema
from tests.test_lab_page import all_text
from tests.test_pages import HOME
from tests.test_pages import run as open_page


def value_strategy(field: Field):
    if field.kind == "int":
        return st.integers(int(field.lo), int(field.hi))
    if field.kind == "float":
        if field.options:
            return st.sampled_from(field.options)
        return st.floats(field.lo, field.hi, allow_nan=False, allow_infinity=False)
    if field.kind == "text_float":
        return st.floats(field.lo, field.hi, allow_nan=False, allow_infinity=False).map(repr)
    if field.kind == "choice":
        return st.sampled_from(field.choices)
    if field.kind == "choices":
        return st.lists(st.sampled_from(field.choices), max_size=field.max_items)
    if field.kind == "bool":
        return st.booleans()
    return st.text(string.digits + " .;,-/e", min_size=1, max_size=40).filter(lambda t: t.strip() == t and t)


def views(schema: ViewSchema):
    return st.fixed_dictionaries({}, optional={f.param: value_strategy(f) for f in schema.fields})


@pytest.mark.parametrize("page", sorted(SCHEMAS))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_every_view_round_trips_through_the_query_string(page, data):
    schema = SCHEMAS[page]
    view = data.draw(views(schema))
    encoded = schema.encode(view)
    assert all(isinstance(v, str) for v in encoded.values())
    decoded, notices = schema.decode(encoded)
    assert notices == []
    expected = {k: v for k, v in view.items() if v != schema.params[k].default}
    assert decoded == expected


@pytest.mark.parametrize("page", sorted(SCHEMAS))
@settings(max_examples=150, deadline=None)
@given(query=st.dictionaries(st.text(max_size=30), st.text(max_size=400), max_size=110))
def test_any_query_string_decodes_to_valid_values_or_notices(page, query):
    schema = SCHEMAS[page]
    values, notices = schema.decode(query)
    for name, value in values.items():  # whatever is accepted re-encodes and decodes to itself
        assert schema.decode({name: schema.params[name].encode(value)}) == ({name: value}, [])
    refused = len(query) - len(values)
    assert len(notices) == (1 if len(query) > MAX_PARAMS else refused)


@pytest.mark.parametrize("raw", ["nan", "inf", "-1e400", "1e400", "__import__('os').system('x')", "1;2", "0x10",
                                 "𝟙", "", " ", "9" * 400, "\x00"])
def test_hostile_values_are_refused_never_evaluated(raw):
    values, notices = SCHEMAS["lab"].decode({"lab_depth": raw, "lab_lr": raw, "lab_activation": raw})
    assert values == {} and len(notices) == 3


def open_with(page: str, shared: dict | None = None, **query) -> object:
    """Open `page` by a link carrying `query`. AppTest must start at the entry point, whose own view (empty)
    replaces the URL's page settings, so these are put in the URL just before switching to the page, as a
    visitor's deep link delivers them; app-wide settings (`shared`) are there from the start."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(HOME, default_timeout=60)
    for key, value in (shared or {}).items():
        at.query_params[key] = value
    at.run()
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception
    return at


def test_a_deep_link_sets_the_training_lab():
    at = open_with("pages/2_Training_lab.py", lab_depth="12", lab_activation="relu", lab_lr="0.003")
    assert next(s for s in at.slider if s.label == "Hidden layers").value == 12
    assert next(s for s in at.selectbox if s.label == "Activation").value == "relu"
    assert at.query_params["lab_depth"] == "12" and at.query_params["lab_lr"] == "0.003"


def test_a_malformed_link_shows_a_notice_and_the_defaults():
    at = open_with("pages/4_Through_time.py", tt_w_rec="__import__('os')", tt_T="9999", tt_bogus="1")
    text = all_text(at) + "\n".join(c.value for c in at.code)
    assert "could not be used" in text
    assert "tt_w_rec" in text and "tt_T" in text and "'tt_bogus' is not a setting" in text
    assert next(s for s in at.slider if s.label == "w_rec").value == 1.5


def test_every_page_writes_its_view_into_the_url():
    at = open_page("pages/5_Edge_of_chaos.py")
    next(s for s in at.slider if s.label == "σ_w to measure").set_value(2.5).run()
    assert at.query_params["edge_sw"] == "2.5"
    assert any("edge_sw=2.5" in c.value for c in at.code)  # the link shown in "Link to this exact view"


def test_lecture_flag_from_the_url_turns_on_lecture_mode():
    at = open_with("pages/1_Chain_rule.py", shared={"lecture": "1"})
    assert at.toggle(key="lecture").value is True
    assert at.query_params["lecture"] == "1"
    at2 = open_with("pages/1_Chain_rule.py", shared={"lecture": "yes please"})
    assert at2.toggle(key="lecture").value is False
