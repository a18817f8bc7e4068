"""Links: a page's settings read from the URL (refused values named, never evaluated) and written back."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st


def _page_query(shared) -> tuple:
    return tuple(sorted((k, tuple(st.query_params.get_all(k))) for k in st.query_params if k not in shared))


def linked(page: str) -> dict[str, object]:
    """The values a link brought to this page in this run ({} when the URL holds what the page itself wrote): what
    a page replays (trained steps) or restores beyond its widgets."""
    return st.session_state.get(f"_view_linked_{page}", {})


def deep_link(page: str, init=None) -> None:
    """Apply the URL's settings to this page's widgets whenever the URL brings new ones (a shared link, a scene of
    the lecture path); say which values were refused. What the page itself wrote last is not re-applied."""
    from core.app.page_views import SCHEMAS, SHARED

    if init is not None:
        init()
    seen = f"_view_seen_{page}"
    query = _page_query(SHARED)
    values: dict[str, object] = {}
    if query and query != st.session_state.get(seen):
        values, notices = SCHEMAS[page].decode({k: list(v) for k, v in query})
        st.session_state.update(values)
        if notices:
            st.warning("Some settings in this link could not be used; their defaults are shown instead (the link's "
                       "values, exactly as it wrote them):", icon=":material/link_off:")
            st.code("\n".join(notices), language=None, wrap_lines=True)  # literal text: never markdown or HTML
    st.session_state[f"_view_linked_{page}"] = values
    st.session_state[seen] = query


def write_url(page: str, view: Mapping[str, object] | None = None) -> dict[str, str]:
    """Put the page's current settings (and `view`: what is on screen beyond the widgets, e.g. the lab's trained
    steps) into the address bar; return the parameters. Safe to call from a fragment."""
    from core.app.page_views import SCHEMAS

    schema = SCHEMAS[page]
    current = {f.param: st.session_state[f.param] for f in schema.fields if f.param in st.session_state}
    params = schema.encode(current | dict(view or {}))
    params |= {name: "1" for name in ("lecture", "predict") if st.session_state.get("_" + name)}
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)
    st.session_state[f"_view_seen_{page}"] = tuple(sorted((k, (v,)) for k, v in params.items()
                                                          if k not in ("lecture", "predict")))
    return params


def finish_page(page: str, view: Mapping[str, object] | None = None) -> None:
    """Write the page's current settings into the URL and offer the link to this exact view."""
    from urllib.parse import urlencode

    params = write_url(page, view)
    url = (st.context.url or "") + ("?" + urlencode(params) if params else "")
    with st.sidebar.popover("Link to this exact view", icon=":material/link:", width="stretch"):
        st.caption("Every setting on this page, the open tab and any trained steps are in the link; open it anywhere "
                   "to see the same view, replayed from the same seed. The address bar always holds the latest view; "
                   "this copy is refreshed when the page reruns in full (after a Step or a scrub in the lab, take "
                   "the address bar's).")
        st.code(url, language=None, wrap_lines=True)
