"""The lecture path: the notes' story as scenes, with next/previous bound to a presenter's clicker."""

import streamlit as st

import ui
from core.lecture import SCENES

ui.setup_page("Lecture", ":material/co_present:")
ui.deep_link("lecture_path")
if "lec_scene" not in st.session_state:
    st.session_state["lec_scene"] = 1
n = len(SCENES)


def go(delta: int) -> None:
    st.session_state["lec_scene"] = min(n, max(1, st.session_state["lec_scene"] + delta))


k = st.session_state["lec_scene"]
scene = SCENES[k - 1]
st.caption(f"Lecture · scene {k} of {n}")
st.progress(k / n)
st.title(scene.title)
st.markdown(scene.story)


@st.cache_data(max_entries=len(SCENES), show_spinner="Computing this scene live")
def result(index: int) -> str:
    return SCENES[index].result()


ui.reveal(f"scene_{k}", scene.question, lambda: st.success(result(k - 1), icon=":material/calculate:"))
st.page_link(scene.page, label="Open this view in the app", icon=":material/open_in_new:",
             query_params=scene.query | ({"lecture": "1"} if ui.lecture() else {}))
a, b, _ = st.columns([1, 1, 3])
a.button("Previous", icon=":material/arrow_back:", on_click=go, args=(-1,), disabled=k == 1, shortcut="PageUp",
         width="stretch", key="lec_prev")
b.button("Next", icon=":material/arrow_forward:", on_click=go, args=(1,), disabled=k == n, shortcut="PageDown",
         width="stretch", key="lec_next")
st.caption("Page Down / Page Up (what a presenter's clicker sends) move between scenes. Turn on *Lecture mode* and "
           "*Predict, then reveal* in the sidebar to ask the room before showing each result.")
ui.finish_page("lecture_path")
