"""Page set-up every page calls itself (deep links land on any page): config, theme, the sidebar map."""

from __future__ import annotations

import streamlit as st

from ui.lecture_mode import LECTURE_CSS, flag_toggle, lecture
from ui.links import deep_link, finish_page

APP_TITLE = "Exploding gradients explorer"
# Less empty space above the title (Streamlit's default is 6rem), so an instrument fits one screen.
# Labels wrap onto a second line instead of ending in "…": checkbox and toggle labels, metric labels, and a row
# of tabs too long for the page (instead of scrolling its last labels out of sight).
COMPACT_CSS = """<style>[data-testid='stMainBlockContainer'] { padding-top: 3rem; }
label [data-testid='stMarkdownContainer'], label [data-testid='stMarkdownContainer'] p,
[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] [data-testid='stMarkdownContainer'],
[data-testid='stMetricLabel'] p { white-space: normal; overflow: visible; text-overflow: clip; }
[data-testid='stTabs'] [role='tablist'] { flex-wrap: wrap; }
</style>"""


PAGES = (  # (script, label, icon): the sidebar map, in story order
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/6_Lecture.py", "Lecture", ":material/co_present:"),
    ("pages/1_Chain_rule.py", "Chain rule", ":material/link:"),
    ("pages/2_Training_lab.py", "Training lab", ":material/model_training:"),
    ("pages/3_Remedies.py", "Remedies", ":material/healing:"),
    ("pages/4_Through_time.py", "Through time", ":material/history:"),
    ("pages/5_Edge_of_chaos.py", "Edge of chaos", ":material/cyclone:"),
)


def setup_page(title: str, icon: str = ":material/home:") -> None:
    """Page config and the sidebar every page shows (each page calls this itself: deep links)."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if lecture() else "auto")
    st.session_state["_chart_n"] = 0  # numbers this run's export buttons
    one_torch_thread()
    st.html(COMPACT_CSS)
    if lecture():
        st.html(LECTURE_CSS)
    with st.sidebar:
        st.markdown(f"### {APP_TITLE}")
        for script, label, page_icon in PAGES:
            st.page_link(script, label=label, icon=page_icon)
        st.caption("Why gradients explode (and vanish) in deep and recurrent nets, computed live.")
        flag_toggle("lecture", "Lecture mode", "Larger type, sidebar collapsed, charts sized for a 1280 × 720 "
                     "projector, fewer controls.")
        if lecture():
            flag_toggle("predict", "Predict, then reveal", "Hide each key result behind a Reveal button.")


def tabbed_page(view: str, name: str, icon: str, title: str, intro: str, sections, tab_key: str) -> None:
    """A whole page of a title, an introduction and tabs, with its sidebar, deep link and URL.

    `view` is the page's schema in `core.app.page_views`; `sections` a list of (tab label, function that renders it);
    `tab_key` the schema's parameter for the open tab, so a link reopens it. Every tab is still built (its widgets
    keep their values and stay in the link); switching tabs reruns the page to write the tab into the URL.
    """
    setup_page(name, icon)
    deep_link(view)
    st.title(title)
    st.markdown(intro)
    labels = [label for label, _ in sections]
    if st.session_state.get(tab_key) not in labels:
        st.session_state.pop(tab_key, None)
    for tab, (_, render) in zip(st.tabs(labels, key=tab_key, on_change="rerun"), sections, strict=True):
        with tab:
            render()
    finish_page(view)


def one_torch_thread() -> None:
    """Run torch on one thread in the current thread (called by every page run and by the lab's fragment).

    Many sessions share the machine's cores (two on Community Cloud): torch's default of one thread per core
    makes every request's threads spin against every other request's, and a step takes many times longer.
    The setting is per thread and Streamlit runs each rerun in a new one, so it is renewed on every run
    (`ui/__init__.py` also sets OMP_NUM_THREADS=1 before torch loads). Pages that never load torch skip it.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
