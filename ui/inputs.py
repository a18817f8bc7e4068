"""Text boxes for exact numbers: a Fraction back, or a clear message beside the field (what was typed is quoted in
it literally, never rendered as Markdown: core.text.literal)."""

from __future__ import annotations

from fractions import Fraction

import streamlit as st

from core.numbers import NumberError, parse_number, parse_numbers


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
    """A semicolon-separated list of exact numbers ("500; 500; 400"), or None after showing why it is refused."""
    if key not in st.session_state:
        st.session_state[key] = default
    text = st.text_input(label, key=key, help=help) or ""
    try:
        return parse_numbers(text, name=label, limit=limit)
    except NumberError as err:
        st.error(str(err), icon=":material/warning:")
        return None
