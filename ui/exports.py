"""Charts with an Export menu (PNG, SVG) and LaTeX downloads; shorter charts and no clutter in lecture mode."""

from __future__ import annotations

import streamlit as st

from core.app import export
from ui.lecture_mode import LECTURE_CHART_HEIGHT, lecture


def theme() -> str:
    """"light" or "dark": the theme the visitor's browser showed at this rerun (light when it cannot be told).
    Streamlit learns it with each rerun, so a chart drawn before a theme switch keeps its colours (and its own
    background, which keeps it readable) until the next interaction."""
    kind = getattr(getattr(st.context, "theme", None), "type", None)
    return kind if kind in ("light", "dark") else "light"


def chart(altair_chart, where=None, export: bool = True) -> None:
    """Draw a chart (an Altair chart, or a cached spec filled with data: `core.charts.template.Filled`) in the
    visitor's theme (`core.charts.style.themed`: colours, text and background chosen for it), shorter in lecture
    mode so a chart and its controls fit the projector; outside lecture mode with an Export menu (PNG and SVG
    of the chart as shown, rendered by vl-convert only when asked for) unless `export` is False (charts
    redrawn on every step rely on the chart's own menu, which saves PNG and SVG too)."""
    from core.charts.style import themed
    from core.charts.template import Filled

    box = where or st
    kind = theme()
    if isinstance(altair_chart, Filled):
        spec = themed(altair_chart.spec, kind, recolour=altair_chart.theme is None, cache=True)
        spec["datasets"] = dict(altair_chart.datasets)
    else:
        spec = themed(_streamlit_spec(altair_chart), kind)
    if lecture() and isinstance(spec.get("height"), int | float) and spec["height"] > LECTURE_CHART_HEIGHT:
        spec["height"] = LECTURE_CHART_HEIGHT
    box.vega_lite_chart(spec, width="stretch")
    if lecture() or not export:
        return
    n = st.session_state.get("_chart_n", 0) + 1
    st.session_state["_chart_n"] = n
    title = altair_chart.title if isinstance(altair_chart, Filled) else getattr(altair_chart, "title", "")
    if not isinstance(title, str):
        title = getattr(title, "text", "")
    if isinstance(title, list):
        title = " ".join(title)
    title = title if isinstance(title, str) and title else f"chart-{n}"
    name = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:60] or f"chart-{n}"
    with box.popover("Export", icon=":material/download:"):
        st.download_button("PNG", data=lambda: export.chart_png(_spec(altair_chart, kind)), file_name=f"{name}.png",
                           mime="image/png", key=f"_png_{n}", on_click="ignore")
        st.download_button("SVG", data=lambda: export.chart_svg(_spec(altair_chart, kind)), file_name=f"{name}.svg",
                           mime="image/svg+xml", key=f"_svg_{n}", on_click="ignore")


def _streamlit_spec(altair_chart) -> dict:
    """The chart's spec as `st.altair_chart` makes it (data as Arrow datasets, Altair's default size dropped)."""
    try:
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as convert
    except ImportError:  # pragma: no cover - a Streamlit without it
        return _spec(altair_chart, "light")
    return convert(altair_chart)


def _spec(altair_chart, kind: str = "light") -> dict:
    """The chart's self-contained Vega-Lite spec in the theme `kind`, taken under Streamlit's own lock on
    Altair's global settings."""
    from core.charts.style import themed
    from core.charts.template import Filled

    if isinstance(altair_chart, Filled):
        return themed(altair_chart.to_dict(), kind, recolour=altair_chart.theme is None)
    try:
        from streamlit.elements.vega_charts import _altair_globals_lock as lock
    except ImportError:  # pragma: no cover - a Streamlit without the lock
        from contextlib import nullcontext as lock_factory

        lock = lock_factory()
    with lock:
        return themed(export.chart_spec(altair_chart), kind)


def latex_download(label: str, title: str, equations: list[str], file_name: str, key: str, notes: str = "") -> None:
    st.download_button(label, data=lambda: export.latex_document(title, equations, notes), file_name=file_name,
                       mime="application/x-tex", key=key, icon=":material/functions:", on_click="ignore")
