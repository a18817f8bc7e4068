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


def setup_page(title: str, icon: str = ":material/home:") -> None:
    """Page config and the sidebar every page shows (each page calls this itself: deep links)."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    with st.sidebar:
        st.markdown(f"### {APP_TITLE}")
        for script, label, page_icon in PAGES:
            st.page_link(script, label=label, icon=page_icon)
        st.caption("Why gradients explode (and vanish) in deep and recurrent nets, computed live.")


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
