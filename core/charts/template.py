"""Charts built once and filled with data many times, so that a chart redrawn on every training step is cheap.

Altair builds and validates a chart's Vega-Lite spec in 10–100 ms, and the lab redraws its charts on every
step. A chart here is declared with Altair on *named* datasets (`alt.Data(name=...)`), turned into a spec
once per shape (cached by the builder's arguments), and each redraw only attaches fresh data frames. The
spec stays identical from step to step, which also lets the browser swap the data of the drawn chart in
place instead of building a new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from core.numbers import power_of_ten  # noqa: F401 - 10ᵏ as POWER_OF_TEN_LABEL draws it (charts import it here)


def _superscript_expr(expr: str) -> str:
    """A Vega expression that writes the digits and minus of the string `expr` as superscripts (every occurrence;
    d3 writes a negative number with U+2212 (−), not a hyphen)."""
    for plain, sup in zip("−-0123456789", "⁻⁻⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True):
        expr = f"replace({expr}, regexp('{plain}', 'g'), '{sup}')"
    return expr


def _superscript(expr: str) -> str:
    """A Vega expression writing the integer `expr` in superscript digits (− as ⁻)."""
    return _superscript_expr(f"format({expr}, 'd')")


_V = "datum.value"
#: Vega expression for a tick of a log₁₀ axis or legend: a whole power k as 10ᵏ (superscript digits); a value
#: between powers (an axis that spans less than a decade, a legend's end) as the number itself, written like
#: the app's prose: plain from 10⁻³ to 10⁴, else m × 10ⁿ — never 3e+19
POWER_OF_TEN_LABEL = (
    f"abs({_V} - round({_V})) < 1e-9 ? '10' + {_superscript(f'round({_V})')} : "
    f"({_V} >= -3 && {_V} < 4 ? format(pow(10, {_V}), ',.3~r') : "
    f"format(pow(10, {_V} - floor({_V})), '.2~f') + ' × 10' + {_superscript(f'floor({_V})')})")


_EXPONENT = "floor(log(abs(datum.value)) / LN10 + 1e-9)"
_EXPONENT_TEXT = _superscript_expr(f"format({_EXPONENT}, 'd')")
#: Vega expression for a legend's or an axis's labels: plain (',.4~g') between 10⁻³ and 10⁴, else d.dd × 10ⁿ —
#: the app's one human number format, never '−300,000,000,000,000,000,000' or '3e+20'.
TIMES_TEN_LABEL = (f"abs(datum.value) >= 1e4 || (datum.value != 0 && abs(datum.value) < 1e-3) ? "
                   f"replace(format(datum.value / pow(10, {_EXPONENT}), '.3~f'), '-', '−') + ' × 10' + "
                   f"{_EXPONENT_TEXT} : "
                   "replace(format(datum.value, ',.4~g'), '-', '−')")


def log10_or_nan(values: np.ndarray) -> np.ndarray:
    """log₁₀|x| where that is a finite number; NaN for 0, inf and NaN (the charts mark those apart)."""
    with np.errstate(all="ignore"):
        out = np.log10(np.abs(values))
    return np.where(np.isfinite(out), out, np.nan)


#: a title line holds at most this many characters: ≈ 0.6 em each at the 16 px of `core.charts.style`, it fits the
#: narrowest column a page chart gets (half the main column at 1280 × 720, about 570 px)
TITLE_CHARS = 50


def wrapped(text: str, width: int = TITLE_CHARS) -> str | list[str]:
    """A title as lines of at most `width` characters, broken between words (Vega draws a list as lines)."""
    import textwrap

    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return lines[0] if len(lines) == 1 else lines


def log_axis(title: str, **kwargs) -> alt.Axis:
    """An axis over log₁₀ values whose ticks are whole powers, labelled 10⁻², 10⁰, 10³ …"""
    return alt.Axis(title=title, tickMinStep=1, labelExpr=POWER_OF_TEN_LABEL, **kwargs)


def step_axis(title: str = "step", **kwargs) -> alt.Axis:
    """Steps are whole numbers: ticks at integers only, written without decimals."""
    return alt.Axis(title=title, tickMinStep=1, format="d", **kwargs)


@dataclass(frozen=True)
class Filled:
    """A cached spec (never mutated) and this redraw's data frames, one per named dataset."""

    spec: dict
    datasets: dict[str, pd.DataFrame] = field(default_factory=dict)
    theme: str | None = None  # the theme the spec's colours were chosen for; None: the light names of style.INK

    @property
    def title(self) -> str:
        title = self.spec.get("title", "")
        title = title.get("text", "") if isinstance(title, dict) else title
        return " ".join(title) if isinstance(title, list) else str(title)

    def for_streamlit(self) -> dict:
        """The spec with this redraw's data frames attached (a new top-level dict: Streamlit edits it)."""
        return {**self.spec, "datasets": dict(self.datasets)}

    def to_dict(self) -> dict:
        """A self-contained Vega-Lite spec (data as JSON rows; inf and NaN as null) for export."""
        return {**self.spec, "datasets": {name: records(df) for name, df in self.datasets.items()}}


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe rows: numpy scalars as Python numbers, inf and NaN as None."""
    rows = df.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float | np.floating) and not math.isfinite(value):
                row[key] = None
            elif isinstance(value, np.generic):
                row[key] = value.item()
    return rows


def spec_of(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, validated once (the builders that call this are cached).

    Altair's default theme adds a fixed 300 × 300 view size; Streamlit sizes charts itself (it converts
    Altair charts with the theme off), so that entry is dropped here too.
    """
    spec = chart.to_dict()
    config = spec.get("config", {})
    config.pop("view", None)
    if not config:
        spec.pop("config", None)
    return spec
