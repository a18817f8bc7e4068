"""Everything that touches Streamlit besides the pages.

The shared helpers every page uses are importable from here (`ui.setup_page`, `ui.chart`, …); each page's
sections live in a module of their own (`ui.lab`, `ui.chain_rule`, …). Nothing here computes: `core/` does.
"""

import os

# One thread for torch's (OpenMP) parallel loops in every thread of this server, set before torch is imported:
# Streamlit runs each rerun and each fragment in a new thread, and a per-thread setting would not reach them.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from ui.exports import chart, latex_download, theme  # noqa: E402 (after the thread setting, before torch loads)
from ui.inputs import number_field, numbers_field
from ui.lecture_mode import LECTURE_CHART_HEIGHT, lecture, predicting, reveal
from ui.ledger import render_ledger
from ui.links import deep_link, finish_page
from ui.page import APP_TITLE, PAGES, setup_page, tabbed_page

__all__ = ["APP_TITLE", "LECTURE_CHART_HEIGHT", "PAGES", "chart", "deep_link", "finish_page", "latex_download",
           "lecture", "number_field", "numbers_field", "predicting", "render_ledger", "reveal", "setup_page",
           "tabbed_page", "theme"]
