"""Streamlit helpers shared by the pages: page set-up, exact-number inputs, the update ledger.

Everything that computes lives in `core/`; this module only wires widgets and renders.
"""

from __future__ import annotations

from fractions import Fraction

import streamlit as st

from core.ledger import Update
from core.numbers import NumberError, parse_number

APP_TITLE = "Exploding gradients explorer"


PAGES = (  # (script, label, icon): the sidebar map, in story order
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/1_Chain_rule.py", "Chain rule", ":material/link:"),
    ("pages/2_Training_lab.py", "Training lab", ":material/model_training:"),
    ("pages/3_Remedies.py", "Remedies", ":material/healing:"),
    ("pages/4_Through_time.py", "Through time", ":material/history:"),
    ("pages/5_Edge_of_chaos.py", "Edge of chaos", ":material/cyclone:"),
)


LECTURE_CSS = """
<style>
html { font-size: 21px; }
[data-testid="stMain"] h1 { font-size: 2.3rem; }
[data-testid="stMain"] .stMarkdown p, [data-testid="stMain"] li { font-size: 1.08rem; line-height: 1.45; }
[data-testid="stMetricValue"] { font-size: 2.3rem; }
</style>
"""
LECTURE_CHART_HEIGHT = 300  # a chart and its controls fit a 1280 × 720 projector


def _flag(name: str) -> bool:
    """An app-wide yes/no (lecture mode, predict-then-reveal): kept under "_name" (widget state is per page and
    would be dropped on the way to another page), first read from the URL (anything but 1/true: off)."""
    store = "_" + name
    if store not in st.session_state:
        st.session_state[store] = str(st.query_params.get(name, "0")).strip().lower() in ("1", "true")
    return bool(st.session_state[store])


def _flag_toggle(name: str, label: str, help: str) -> None:
    st.session_state[name] = _flag(name)

    def keep() -> None:
        st.session_state["_" + name] = st.session_state[name]
    st.toggle(label, key=name, help=help, on_change=keep)


def lecture() -> bool:
    return _flag("lecture")


def predicting() -> bool:
    return lecture() and _flag("predict")


def setup_page(title: str, icon: str = ":material/home:") -> None:
    """Page config and the sidebar every page shows (each page calls this itself: deep links)."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if lecture() else "auto")
    if lecture():
        st.html(LECTURE_CSS)
    with st.sidebar:
        st.markdown(f"### {APP_TITLE}")
        for script, label, page_icon in PAGES:
            st.page_link(script, label=label, icon=page_icon)
        st.caption("Why gradients explode (and vanish) in deep and recurrent nets, computed live.")
        _flag_toggle("lecture", "Lecture mode", "Larger type, sidebar collapsed, charts sized for a 1280 × 720 "
                     "projector, fewer controls.")
        if lecture():
            _flag_toggle("predict", "Predict, then reveal", "Hide each key result behind a Reveal button.")


def deep_link(page: str, init=None) -> None:
    """Apply the URL's settings to this page's widgets on the first visit; say which values were refused."""
    from core.page_views import SCHEMAS, SHARED

    if init is not None:
        init()
    flag = f"_view_applied_{page}"
    if not st.session_state.get(flag):
        st.session_state[flag] = True
        query = {name: st.query_params.get_all(name) for name in st.query_params}
        values, notices = SCHEMAS[page].decode(query, ignore=SHARED)
        st.session_state.update(values)
        if notices:
            st.warning("Some settings in this link could not be used; their defaults are shown instead.\n\n"
                       + "\n".join(f"- {n}" for n in notices), icon=":material/link_off:")


def finish_page(page: str) -> None:
    """Write the page's current settings into the URL and offer the link to this exact view."""
    from urllib.parse import urlencode

    from core.page_views import SCHEMAS

    schema = SCHEMAS[page]
    current = {f.param: st.session_state[f.param] for f in schema.fields if f.param in st.session_state}
    params = schema.encode(current)
    params |= {name: "1" for name in ("lecture", "predict") if st.session_state.get("_" + name)}
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)
    url = (st.context.url or "") + ("?" + urlencode(params) if params else "")
    with st.sidebar.popover("Link to this exact view", icon=":material/link:", width="stretch"):
        st.caption("Every setting on this page is in the link; open it anywhere to see the same view.")
        st.code(url, language=None, wrap_lines=True)


def chart(altair_chart, where=None) -> None:
    """st.altair_chart, shorter in lecture mode so a chart and its controls fit the projector."""
    if lecture():
        height = getattr(altair_chart, "height", alt_undefined())
        if isinstance(height, int | float) and height > LECTURE_CHART_HEIGHT:
            altair_chart = altair_chart.properties(height=LECTURE_CHART_HEIGHT)
    (where or st).altair_chart(altair_chart, width="stretch")


def alt_undefined():
    import altair as alt

    return alt.Undefined


def reveal(key: str, prompt: str, render) -> None:
    """With "predict, then reveal" on, ask for a prediction and hide `render()` until Reveal is pressed."""
    if not predicting() or st.session_state.get(f"_revealed_{key}"):
        render()
        return
    st.info(f"**Predict first:** {prompt}", icon=":material/psychology:")
    if st.button("Reveal", key=f"reveal_{key}", icon=":material/visibility:"):
        st.session_state[f"_revealed_{key}"] = True
        st.rerun()


def tabbed_page(title: str, intro: str, sections) -> None:
    """A page of a title, an introduction and tabs; `sections` is a list of (tab label, function that renders it)."""
    st.title(title)
    st.markdown(intro)
    for tab, (_, render) in zip(st.tabs([label for label, _ in sections]), sections, strict=True):
        with tab:
            render()


def number_field(label: str, key: str, default: str, *, limit: Fraction | None = None,
                 help: str | None = None, positive: bool = False) -> Fraction | None:
    """A text box for an exact number: returns the Fraction, or None after showing why the text is refused."""
    if key not in st.session_state:
        st.session_state[key] = default
    text = st.text_input(label, key=key, help=help)
    try:
        value = parse_number(text, name=label, limit=limit)
    except NumberError as err:
        st.error(str(err), icon=":material/warning:")
        return None
    if positive and value <= 0:
        st.error(f"{label}: must be greater than 0.", icon=":material/warning:")
        return None
    return value


def numbers_field(label: str, key: str, default: str, *, limit: Fraction, help: str | None = None
                  ) -> list[Fraction] | None:
    """A comma- or semicolon-separated list of exact numbers ("500; 500; 400"), or None with a message."""
    if key not in st.session_state:
        st.session_state[key] = default
    text = st.text_input(label, key=key, help=help) or ""
    parts = [p for p in text.replace(";", " ").split() if p.strip(",")]
    if not parts:
        st.error(f"{label}: please enter at least one number.", icon=":material/warning:")
        return None
    if len(parts) > 60:
        st.error(f"{label}: at most 60 values.", icon=":material/warning:")
        return None
    values = []
    for part in parts:
        try:
            values.append(parse_number(part.strip(","), name=label, limit=limit))
        except NumberError as err:
            st.error(str(err), icon=":material/warning:")
            return None
    return values


def render_ledger(update: Update, weight_latex: str = "w") -> None:
    """w_new = w_old − α·∂L/∂w with the real numbers, and a flag for overshoot or sign flip."""
    st.latex(r"\begin{aligned}" + r"\\".join(
        ("&" + line if i else line.replace("=", "&=", 1)) for i, line in enumerate(update.latex_lines(weight_latex)))
        + r"\end{aligned}")
    st.markdown(f"**In one line:** `{update.equation_text()}`")
    verdict = update.verdict()
    if update.overshoot or update.sign_flip:
        st.error(verdict, icon=":material/warning:")
    elif "frozen" in verdict or update.step == 0:
        st.warning(verdict, icon=":material/ac_unit:")
    else:
        st.success(verdict, icon=":material/check_circle:")
    if not update.exact:
        st.caption("≈: the gradient involves e^z, so it is carried to 50 significant digits and shown rounded.")
