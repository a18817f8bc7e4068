"""Hostile links and typed text: nothing a visitor linked or typed reaches the screen as Markdown, LaTeX or HTML.

Every page is opened by a link whose every parameter carries a payload (a planted sign-in link, a tracking image,
raw HTML, LaTeX, a colour directive, emoji and icon shortcodes, backticks), then every text box is typed into. Each
element body Streamlit renders as Markdown is parsed with a CommonMark parser: it must hold no link, image or HTML,
and the payloads' markers may appear only inside code spans (shown literally). The browser test in
test_browser.py checks the same in the real DOM.
"""

from __future__ import annotations

import itertools

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
    shown = tokens[0].content
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
