"""Hostile links and typed text: nothing a visitor linked or typed reaches the screen as Markdown, LaTeX or HTML.

Every page is opened by a link whose every parameter carries a payload (a planted sign-in link, a tracking image,
raw HTML, LaTeX, a colour directive, emoji and icon shortcodes, backticks), then every text box is typed into. Each
element body Streamlit renders as Markdown is parsed with a CommonMark parser: it must hold no link, image or HTML,
and the payloads' markers may appear only inside code spans (shown literally). The browser test in
test_browser.py checks the same in the real DOM.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from markdown_it import MarkdownIt

from core.app.page_views import SCHEMAS
from core.text import literal
from tests.test_deep_links import open_with

PAYLOADS = (
    "[Session expired: sign in](https://evil.example/login)",
    "![pixel](https://evil.example/pixel.png)",
    "<img src=https://evil.example/h.png onerror=alert(1)>PWNED",
    r"$\huge PWNED$",
    ":red[PWNED] :skull: :material/lock:",
    "``1`` `[a](https://evil.example/tick)`",
    "**PWNED**\n\n[line](https://evil.example/nl)",
    "<https://evil.example/auto>",
)
MARKERS = ("evil.example", "PWNED", ":skull:", ":material/lock:", "huge")
PAGE_OF = {"chain": "pages/1_Chain_rule.py", "lab": "pages/2_Training_lab.py", "remedies": "pages/3_Remedies.py",
           "through_time": "pages/4_Through_time.py", "edge": "pages/5_Edge_of_chaos.py",
           "lecture_path": "pages/6_Lecture.py"}
MARKDOWN = MarkdownIt("commonmark")  # html on, as a browser would see it if Streamlit allowed it
UNSAFE = {"link_open", "image", "html_inline", "html_block"}


def unsafe_parts(body: str) -> list[str]:
    """What in this Markdown would render a payload as a link, an image, HTML or styled text: anything carrying a
    payload's marker outside a code span (the app's own links and HTML carry none)."""
    found = []

    def check(token) -> None:
        planted = " ".join([token.content, *(str(v) for v in (token.attrs or {}).values())])
        if token.type in UNSAFE | {"text"} and any(m in planted for m in MARKERS):
            found.append(f"{token.type}: {planted!r}")

    for token in MARKDOWN.parse(body):
        check(token)
        for child in token.children or ():
            check(child)
    return found


def markdown_bodies(at) -> list[str]:
    """Every string Streamlit renders as Markdown on this screen: alert, markdown, caption and toast bodies, and
    widget labels and help texts."""
    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            for field, value in proto.ListFields():
                if field.name in ("body", "label", "help", "placeholder") and isinstance(value, str):
                    out.append(value)
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else ()):
            walk(child)

    walk(at._tree)
    out += [t.proto.body for t in at.toast]
    return out


def assert_safe(at, where: str) -> None:
    assert not at.exception, (where, [e.value for e in at.exception])
    bad = {body: unsafe_parts(body) for body in markdown_bodies(at)}
    bad = {body: parts for body, parts in bad.items() if parts}
    assert not bad, (where, bad)


def test_literal_names_empty_text():
    assert literal("") == "(empty)"


@pytest.mark.parametrize("value", PAYLOADS + (" ", "`", "``", " ` ", "a\x00b", "x" * 500, "\u202e1e3"))
def test_literal_shows_any_text_as_one_code_span(value):
    rendered = literal(value)
    tokens = MARKDOWN.parseInline(rendered)[0].children
    assert [t.type for t in tokens] == ["code_inline"], (rendered, tokens)
    shown = tokens[0].content.replace("\u2060", "")  # the invisible joiner literal() puts in ":material/"
    if value.strip(" ") and value.isprintable() and len(value) <= 60:
        assert shown == value  # exactly the characters typed, nothing lost or added
    assert len(shown) <= 60 and shown.isprintable()


def test_literal_inside_an_app_sentence_stays_a_code_span():
    for payload in PAYLOADS:
        assert not unsafe_parts(f"weight: {literal(payload)} is not a number.")


def test_the_checker_itself_sees_planted_markdown():  # the assertion above can fail
    assert unsafe_parts(f"weight: {PAYLOADS[0]} is not a number.")
    assert unsafe_parts(PAYLOADS[1]) and unsafe_parts(PAYLOADS[2]) and unsafe_parts(PAYLOADS[3])


def hostile_query(page: str) -> dict[str, str]:
    payloads = itertools.cycle(PAYLOADS)
    query = {f.param: next(payloads) for f in SCHEMAS[page].fields}
    query["[x](https://evil.example/name)"] = "1"  # an unknown parameter whose name is the payload
    return dict(itertools.islice(query.items(), 99))


@pytest.mark.parametrize("page", sorted(PAGE_OF))
def test_a_hostile_link_and_hostile_typing_show_only_literal_text(page):
    at = open_with(PAGE_OF[page], **hostile_query(page))
    assert_safe(at, "link")
    assert any("could not be used" in w.value for w in at.warning)  # the refusals are said, literally (st.code)
    for i, box in enumerate(list(at.text_input)):
        if box.disabled:
            continue
        box.set_value(PAYLOADS[i % len(PAYLOADS)])
    at.run()
    assert_safe(at, "typed")


def set_weight(at, text: str):
    at.text_input(key="lab_set_value").set_value(text)
    next(b for b in at.button if b.label == "Set weight").click().run()
    assert not at.exception
    return at


def test_setting_a_weight_by_hand_echoes_nothing_typed_and_says_what_follows():
    from tests.test_lab_page import button, lab, open_tab

    at = lab()
    button(at, "Step").click().run()
    open_tab(at, "Update ledger")
    set_weight(at, PAYLOADS[0])
    assert any("Cannot set the weight" in e.value for e in at.error)
    assert_safe(at, "set weight")
    for text in ("1_000", "١٢", "nan", "2e6"):  # refused as every number box refuses them
        assert any("Cannot set the weight" in e.value for e in set_weight(at, text).error), text
    set_weight(at, "500")
    assert any("= 500. The next step, step 2, starts from it." in s.value for s in at.success)


def test_a_run_stopped_by_nan_does_not_promise_a_next_step():
    from tests.test_lab_page import button, open_tab

    at = open_with(PAGE_OF["lab"], lab_depth="10", lab_activation="relu", lab_init="normal", lab_init_scale="30",
                   lab_lr="10")
    for _ in range(3):
        button(at, "Step").click().run()
    assert any("became" in e.value for e in at.error), "the configuration above must reach inf or NaN"
    open_tab(at, "Update ledger")
    set_weight(at, "500")
    assert not any("starts from it" in s.value for s in at.success)
    assert any("no step can start from a hand-set weight" in e.value for e in at.error)


# ---------------------------------------------------------------- links and files that crashed a page (issue 16)

def chain_latex(at) -> str:
    return "\n".join(str(x.value) for x in at.latex)


def test_enormous_exact_products_stay_exact_and_display():
    """`/Chain_rule?f_do31%2Fdo21=1e-3000&f_do21%2Fdo11=1e-3000` raised Python's 4,300-digit int-string limit."""
    import sympy as sp

    from core.chain import products as ch

    tiny = ch.given_chain((150, Fraction(1, 10**3000), Fraction(1, 10**3000), 50), 500, Fraction(1, 100))
    assert tiny.gradient == sp.Rational(75, 10**5998)  # 150·50·10⁻⁶⁰⁰⁰, exactly
    at = open_with(PAGE_OF["chain"], **{"f_do31/do21": "1e-3000", "f_do21/do11": "1e-3000"})
    assert not at.exception
    assert r"= 7.5 \times 10^{-5997}" in chain_latex(at)
    huge = {f"f_{name}": "1e300" for name in ch.factor_names(14)}  # 15 factors of 10³⁰⁰: a 4,501-digit integer
    at = open_with(PAGE_OF["chain"], f_depth="14", **huge)
    assert not at.exception
    assert r"= 1 \times 10^{4500}" in chain_latex(at)
    assert any("1.8 × 10³⁰⁸" in e.value for e in at.error)  # and float64 says ∞
    at = open_with(PAGE_OF["chain"], mode="From weights", act="linear", weights="1e-4000", x="1e-4000")
    assert not at.exception and r"10^{-" in chain_latex(at)


def test_a_negative_zero_noise_link_trains_and_keeps_training_on_reload():
    """`/Training_lab?lab_noise=-0`: numpy refused −0.0 as a scale ("scale < 0"), on every rerun."""
    import math

    from core.training.config import TrainConfig
    from core.training.trainer import Run

    config = TrainConfig(noise=-0.0, init_scale=-0.0)
    assert math.copysign(1, config.noise) == 1 and math.copysign(1, config.init_scale) == 1
    assert Run(config).step().loss > 0
    assert math.copysign(1, SCHEMAS["lab"].params["lab_noise"].decode("-0")) == 1
    from tests.test_lab_page import button

    at = open_with(PAGE_OF["lab"], lab_noise="-0")
    button(at, "Step").click().run()
    at.run()
    assert not at.exception and not at.error


def test_csv_with_classic_mac_line_endings_or_a_giant_field():
    from core.training.config import ConfigError
    from core.training.data import parse_csv

    x, y, task = parse_csv(b"a,b,label\r1,2,0\r3,4,1\r5,6,0\r7,8,1\r")
    assert x.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]] and y.tolist() == [0, 1, 0, 1] and task == "classification"
    assert parse_csv(b"1,0\r\n2,1\r\n3,0\r\n4,1\r\n")[0].tolist() == [[1], [2], [3], [4]]
    with pytest.raises(ConfigError, match="longer than 131,072 characters"):
        parse_csv(b"1," + b"9" * 131_073 + b"\n2,1\n3,0\n4,1\n")
    with pytest.raises(ConfigError, match="not a plain decimal") as err:
        parse_csv(b"1,0\n2,1\n3,[x](https://evil.example/)\n4,0\n")
    assert not unsafe_parts(str(err.value))
    for cell in ("1_000", "\u0661", "0x10"):  # what Python's float() would take, the app's numbers do not
        with pytest.raises(ConfigError, match="not a plain decimal"):
            parse_csv(f"1,0\n2,1\n3,{cell}\n4,0\n".encode())


def test_an_input_float32_cannot_hold_is_refused_not_diagnosed_as_an_explosion():
    from core.training.config import ConfigError, TrainConfig
    from core.training.data import make_dataset

    data = b"x,y\n1e39,0\n1,1\n2,0\n3,1\n"  # 10³⁹ is above float32's largest number, 3.4 × 10³⁸
    with pytest.raises(ConfigError, match="beyond float32's largest number"):
        make_dataset(TrainConfig(dataset="csv", batch_size=4, dtype="float32"), data)
    assert make_dataset(TrainConfig(dataset="csv", batch_size=4, dtype="float64"), data).x.max() == 1e39
    scaled = b"x,y\n1e33,0\n1,1\n2,0\n3,1\n"  # fine alone, 10³⁹ after an input scale of 10⁶
    with pytest.raises(ConfigError, match="after the input scale"):
        make_dataset(TrainConfig(dataset="csv", batch_size=4, dtype="float32", input_scale=1e6), scaled)
    normalised = TrainConfig(dataset="csv", batch_size=4, dtype="float32", normalize_inputs=True)
    assert abs(make_dataset(normalised, data).x).max() < 2  # standardised before it becomes float32: fine


def test_a_repeated_url_key_says_which_value_is_used():
    values, notices = SCHEMAS["lab"].decode({"lab_depth": ["3", "12"]})
    assert values == {"lab_depth": 12}
    assert notices == ["lab_depth appears 2 times in the link; only the last value, '12', is used."]


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0660", "\uff11\uff10", "\u00b2", "1e-5000", "1e5000", "0x10",
                                  "nan", "-inf"])
def test_numbers_outside_plain_ascii_decimals_are_refused_alike_everywhere(text):
    from core.numbers import NumberError, parse_number

    field = SCHEMAS["lab"].params["lab_noise"]
    with pytest.raises(ValueError):
        field.decode(text)
    with pytest.raises(NumberError):
        parse_number(text)


def test_a_typed_number_too_small_for_a_float_is_refused_as_a_linked_one_is():
    from tests.test_lab_page import lab

    at = lab()
    at.text_input(key="lab_init_scale").set_value("1e-400").run()
    assert any("too small for a float" in e.value for e in at.error)
    with pytest.raises(ValueError, match="too small for a float"):
        SCHEMAS["lab"].params["lab_init_scale"].decode("1e-400")
    at.text_input(key="lab_init_scale").set_value("5e-324").run()  # the smallest subnormal is a float: accepted
    assert not at.error and not at.exception
