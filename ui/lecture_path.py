"""The lecture path: the notes' story as scenes, with next/previous bound to a presenter's clicker."""

from __future__ import annotations

import streamlit as st

import ui
from core.app.lecture import SCENES

SCENE_KEY = "lec_scene"


def _go(delta: int) -> None:
    st.session_state[SCENE_KEY] = min(len(SCENES), max(1, st.session_state[SCENE_KEY] + delta))


@st.cache_data(max_entries=len(SCENES), show_spinner="Computing this scene live")
def _result(index: int) -> str:
    return SCENES[index].result()


def scene() -> None:
    """The current scene: its story, its live result (behind Reveal when predicting), a link, and the controls."""
    if SCENE_KEY not in st.session_state:
        st.session_state[SCENE_KEY] = 1
    n = len(SCENES)
    k = st.session_state[SCENE_KEY]
    current = SCENES[k - 1]
    st.caption(f"Lecture · scene {k} of {n}")
    st.progress(k / n)
    st.title(current.title)
    st.markdown(current.story)
    ui.reveal(f"scene_{k}", current.question, lambda: st.success(_result(k - 1), icon=":material/calculate:"))
    st.page_link(current.page, label="Open this view in the app", icon=":material/open_in_new:",
                 query_params=current.query | ({"lecture": "1"} if ui.lecture() else {}))
    a, b, _ = st.columns([1, 1, 3])
    a.button("Previous", icon=":material/arrow_back:", on_click=_go, args=(-1,), disabled=k == 1, shortcut="PageUp",
             width="stretch", key="lec_prev")
    b.button("Next", icon=":material/arrow_forward:", on_click=_go, args=(1,), disabled=k == n, shortcut="PageDown",
             width="stretch", key="lec_next")
    st.caption("Page Down / Page Up (what a presenter's clicker sends) move between scenes. Turn on *Lecture mode* "
               "and *Predict, then reveal* in the sidebar to ask the room before showing each result.")
