"""Lecture mode and predict-then-reveal: app-wide flags kept across pages and read first from the URL."""

from __future__ import annotations

import streamlit as st

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


def flag_toggle(name: str, label: str, help: str) -> None:
    st.session_state[name] = _flag(name)

    def keep() -> None:
        st.session_state["_" + name] = st.session_state[name]
    st.toggle(label, key=name, help=help, on_change=keep)


def lecture() -> bool:
    return _flag("lecture")


def predicting() -> bool:
    return lecture() and _flag("predict")


def reveal(key: str, prompt: str, render) -> None:
    """With "predict, then reveal" on, ask for a prediction and hide `render()` until Reveal is pressed."""
    if not predicting() or st.session_state.get(f"_revealed_{key}"):
        render()
        return
    st.info(f"**Predict first:** {prompt}", icon=":material/psychology:")
    if st.button("Reveal", key=f"reveal_{key}", icon=":material/visibility:"):
        st.session_state[f"_revealed_{key}"] = True
        st.rerun()
