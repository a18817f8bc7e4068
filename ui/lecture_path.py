"""The lecture path: the notes' story as slides, each with its live result, moved by a presenter's clicker."""

from __future__ import annotations

import streamlit as st

import ui
from core.app.lecture import SCENES, Result
from core.charts.style import themed

SCENE_KEY = "lec_scene"
SLIDE_CHART_BOX = 310  # px: a slide's chart with its title, axes and legend
JUMP_KEY = "lec_jump"
# The slide fits a 1280 × 720 projector: the chart beside the story, the controls on one row, the spare
# clicker keys (Page Up / Page Down) on buttons that take no room.
SLIDE_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-bottom: 1rem; }
[data-testid="stMain"] h1 { padding-top: 0; padding-bottom: 0.3rem; }
[data-testid="stHeader"] { background: transparent; }  /* the title sits under the bar: keep it visible */
.st-key-lec_clicker { display: none; }
.st-key-lec_slide [data-testid="stVerticalBlock"] { gap: 0.6rem; }
.st-key-lec_slide [data-testid="stMetricValue"] { font-size: 2.6rem; line-height: 1.15; white-space: normal; }
.st-key-lec_slide [data-testid="stAlert"] p { font-size: 0.9rem; line-height: 1.35; }
</style>"""


def _go(delta: int) -> None:
    st.session_state[SCENE_KEY] = min(len(SCENES), max(1, st.session_state[SCENE_KEY] + delta))


def _jump() -> None:
    st.session_state[SCENE_KEY] = st.session_state[JUMP_KEY]


@st.cache_data(max_entries=len(SCENES), show_spinner="Computing this scene live")
def result(index: int) -> Result:
    """Scene `index`'s live result (plain values: shared by every visitor, like the pages' own caches)."""
    return SCENES[index].result()


def _show(res: Result) -> None:
    st.metric(res.metric, res.value)
    st.success(res.text, icon=":material/calculate:")


def _links(k: int) -> None:
    current = SCENES[k - 1]
    shared = {"lecture": "1"} if ui.lecture() else {}
    st.page_link(current.page, label="Open this view in the app", icon=":material/open_in_new:",
                 query_params=current.query | shared)
    for label, page, query in current.more:
        st.page_link(page, label=label, icon=":material/open_in_new:", query_params=query | shared)


def _hint() -> None:
    if ui.lecture():
        st.caption("← / → or Page Up / Page Down (a clicker): previous / next scene.")
    else:
        st.caption("← / → or Page Up / Page Down move between scenes. Turn on *Lecture mode* in the sidebar for the "
                   "projector, and *Predict, then reveal* to ask the room before each result.")


def scene() -> None:
    """The current scene as a slide: its story, its live result (behind Reveal when predicting) with the key
    number large and the chart beside it, the links to its views, and the controls."""
    if SCENE_KEY not in st.session_state:
        st.session_state[SCENE_KEY] = 1
    n = len(SCENES)
    k = st.session_state[SCENE_KEY]
    current = SCENES[k - 1]
    st.html(SLIDE_CSS)
    st.title(current.title)
    res = result(k - 1)
    with st.container(key="lec_slide"):
        left, right = st.columns([1.1, 1.2])
        with left:
            st.markdown(current.story)
            ui.reveal(f"scene_{k}", current.question, lambda: _show(res))
        with right:
            if res.chart is not None and (not ui.predicting() or st.session_state.get(f"_revealed_scene_{k}")):
                st.vega_lite_chart(themed(res.chart, ui.theme()), width="stretch", height=SLIDE_CHART_BOX)  # legends included
            _links(k)
            _hint()
    a, b, c = st.columns([1, 1, 2.4], vertical_alignment="bottom")
    a.button("Previous", icon=":material/arrow_back:", on_click=_go, args=(-1,), disabled=k == 1, shortcut="Left",
             width="stretch", key="lec_prev")
    b.button("Next", icon=":material/arrow_forward:", on_click=_go, args=(1,), disabled=k == n, shortcut="Right",
             width="stretch", key="lec_next")
    st.session_state[JUMP_KEY] = k
    c.selectbox("Jump to scene", range(1, n + 1), format_func=lambda i: f"Scene {i} of {n} · {SCENES[i - 1].title}",
                key=JUMP_KEY, on_change=_jump, label_visibility="collapsed")
    with st.container(key="lec_clicker"):  # a clicker sends Page Down / Page Up
        st.button("Previous scene", on_click=_go, args=(-1,), disabled=k == 1, shortcut="PageUp", key="lec_prev_pg")
        st.button("Next scene", on_click=_go, args=(1,), disabled=k == n, shortcut="PageDown", key="lec_next_pg")
    handout_button()


def handout_button() -> None:
    """The whole lecture as one HTML file a student keeps: built from the live results when clicked."""
    from core.app.handout import handout_html

    st.sidebar.download_button("Lecture hand-out (HTML)", data=lambda: handout_html(
        SCENES, [result(i) for i in range(len(SCENES))]), file_name="exploding-gradients-lecture.html",
        mime="text/html", icon=":material/download:", on_click="ignore", width="stretch",
        help="Every scene's story, numbers and chart in one self-contained file (no internet needed to open it).")
