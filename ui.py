"""Streamlit helpers shared by the pages: page set-up, exact-number inputs, the update ledger.

Everything that computes lives in `core/`; this module only wires widgets and renders.
"""

from __future__ import annotations

from fractions import Fraction

import streamlit as st

from core import export
from core.ledger import Update
from core.numbers import NumberError, parse_number

APP_TITLE = "Exploding gradients explorer"


PAGES = (  # (script, label, icon): the sidebar map, in story order
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/6_Lecture.py", "Lecture", ":material/co_present:"),
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
    st.session_state["_chart_n"] = 0  # numbers this run's export buttons
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


def _page_query(shared) -> tuple:
    return tuple(sorted((k, tuple(st.query_params.get_all(k))) for k in st.query_params if k not in shared))


def deep_link(page: str, init=None) -> None:
    """Apply the URL's settings to this page's widgets whenever the URL brings new ones (a shared link, a scene of
    the lecture path); say which values were refused. What the page itself wrote last is not re-applied."""
    from core.page_views import SCHEMAS, SHARED

    if init is not None:
        init()
    seen = f"_view_seen_{page}"
    query = _page_query(SHARED)
    if query and query != st.session_state.get(seen):
        values, notices = SCHEMAS[page].decode({k: list(v) for k, v in query})
        st.session_state.update(values)
        if notices:
            st.warning("Some settings in this link could not be used; their defaults are shown instead.\n\n"
                       + "\n".join(f"- {n}" for n in notices), icon=":material/link_off:")
    st.session_state[seen] = query


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
    st.session_state[f"_view_seen_{page}"] = tuple(sorted((k, (v,)) for k, v in params.items()
                                                          if k not in ("lecture", "predict")))
    url = (st.context.url or "") + ("?" + urlencode(params) if params else "")
    with st.sidebar.popover("Link to this exact view", icon=":material/link:", width="stretch"):
        st.caption("Every setting on this page is in the link; open it anywhere to see the same view.")
        st.code(url, language=None, wrap_lines=True)


def chart(altair_chart, where=None) -> None:
    """st.altair_chart, shorter in lecture mode so a chart and its controls fit the projector; outside lecture
    mode with an Export menu (PNG and SVG, rendered by vl-convert only when asked for)."""
    import altair as alt

    if lecture():
        height = getattr(altair_chart, "height", alt.Undefined)
        if isinstance(height, int | float) and height > LECTURE_CHART_HEIGHT:
            altair_chart = altair_chart.properties(height=LECTURE_CHART_HEIGHT)
    box = where or st
    box.altair_chart(altair_chart, width="stretch")
    if lecture():
        return
    n = st.session_state.get("_chart_n", 0) + 1
    st.session_state["_chart_n"] = n
    title = getattr(altair_chart, "title", "")
    title = title if isinstance(title, str) and title else f"chart-{n}"
    name = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:60] or f"chart-{n}"
    with box.popover("Export", icon=":material/download:"):
        st.download_button("PNG", data=lambda: export.chart_png(_spec(altair_chart)), file_name=f"{name}.png",
                           mime="image/png", key=f"_png_{n}", on_click="ignore")
        st.download_button("SVG", data=lambda: export.chart_svg(_spec(altair_chart)), file_name=f"{name}.svg",
                           mime="image/svg+xml", key=f"_svg_{n}", on_click="ignore")


def _spec(altair_chart) -> dict:
    """The chart's Vega-Lite spec, taken under Streamlit's own lock on Altair's global settings."""
    try:
        from streamlit.elements.vega_charts import _altair_globals_lock as lock
    except ImportError:  # pragma: no cover - a Streamlit without the lock
        from contextlib import nullcontext as lock_factory

        lock = lock_factory()
    with lock:
        return export.chart_spec(altair_chart)


def latex_download(label: str, title: str, equations: list[str], file_name: str, key: str, notes: str = "") -> None:
    st.download_button(label, data=lambda: export.latex_document(title, equations, notes), file_name=file_name,
                       mime="application/x-tex", key=key, icon=":material/functions:", on_click="ignore")


def reveal(key: str, prompt: str, render) -> None:
    """With "predict, then reveal" on, ask for a prediction and hide `render()` until Reveal is pressed."""
    if not predicting() or st.session_state.get(f"_revealed_{key}"):
        render()
        return
    st.info(f"**Predict first:** {prompt}", icon=":material/psychology:")
    if st.button("Reveal", key=f"reveal_{key}", icon=":material/visibility:"):
        st.session_state[f"_revealed_{key}"] = True
        st.rerun()


def tabbed_page(view: str, name: str, icon: str, title: str, intro: str, sections) -> None:
    """A whole page of a title, an introduction and tabs, with its sidebar, deep link and URL.

    `view` is the page's schema in `core.page_views`; `sections` a list of (tab label, function that renders it).
    """
    setup_page(name, icon)
    deep_link(view)
    st.title(title)
    st.markdown(intro)
    for tab, (_, render) in zip(st.tabs([label for label, _ in sections]), sections, strict=True):
        with tab:
            render()
    finish_page(view)


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
    aligned = (r"\begin{aligned}" + r"\\".join(("&" + line if i else line.replace("=", "&=", 1))
                                                  for i, line in enumerate(update.latex_lines(weight_latex)))
               + r"\end{aligned}")
    st.latex(aligned)
    st.markdown(f"**In one line:** `{update.equation_text()}`")
    if not lecture():
        latex_download("Ledger as LaTeX", "The update ledger", [aligned], "ledger.tex",
                       key=f"_tex_ledger_{weight_latex}", notes=update.equation_text())
    verdict = update.verdict()
    if update.overshoot or update.sign_flip:
        st.error(verdict, icon=":material/warning:")
    elif "frozen" in verdict or update.step == 0:
        st.warning(verdict, icon=":material/ac_unit:")
    else:
        st.success(verdict, icon=":material/check_circle:")
    if not update.exact:
        st.caption("≈: the gradient involves e^z, so it is carried to 50 significant digits and shown rounded.")
