"""The charts' colours and text settings for the app's light and dark themes, with the WCAG contrast each needs.

Chart builders write every colour with the light theme's names (`INK.bad`, `INK.categorical[2]` …); `themed`
turns a finished Vega-Lite spec into the visitor's theme: each light colour is replaced by the dark theme's
colour of the same role, and the theme's config (background, text, gridlines, label limits) is attached. So
a builder never needs to know the theme, and a colour with no role (one no theme defines) is caught by the tests.

Contrast against the theme's background (WCAG 2.1): text ≥ 4.5:1, marks (lines, points, rules, cells,
ramps sampled along their length) ≥ 3:1. The backgrounds are those of `.streamlit/config.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

TEXT_CONTRAST = 4.5
MARK_CONTRAST = 3.0
TITLE_SIZE, SUBTITLE_SIZE = 16, 13  # px: chart titles are wrapped to fit (`core.charts.template.wrapped`)
AXIS_TITLE_SIZE, LABEL_SIZE = 13, 12  # px: axis and legend titles, tick and legend labels


@dataclass(frozen=True)
class Style:
    name: str
    background: str
    text: str  # titles, legend labels, annotations (≥ 4.5:1)
    muted: str  # axis labels, subtitles, secondary annotations (≥ 4.5:1)
    grid: str  # gridlines: decoration, kept faint on purpose
    guide: str  # reference rules and the inspected step (≥ 4.5:1: also used for their labels)
    bad: str  # inf / NaN markers and divergence (≥ 4.5:1: also used for text)
    zero: str  # exactly-zero marks (≥ 3:1)
    nonfinite: str  # a heat-map cell that is inf or NaN (≥ 3:1, and unlike empty background)
    nonfinite_word: str  # its colour in words, for captions
    reference: str  # shaded reference bands and their label (≥ 4.5:1)
    halo: str  # the stroke around points and labels drawn over data: the background
    categorical: tuple[str, ...]  # series colours (≥ 3:1)
    layers: tuple[str, ...]  # a ramp from the first to the last layer (every colour between ≥ 3:1)
    heat: tuple[str, ...]  # a diverging ramp: vanishing … 1 … exploding (≥ 3:1 throughout)
    share: tuple[str, ...]  # a sequential ramp: small … large share (≥ 3:1 throughout)

    def config(self) -> dict[str, Any]:
        """Vega-Lite config: Streamlit's chart theme merges it over its own, so every entry here wins."""
        text = {"labelColor": self.muted, "titleColor": self.text}
        return {
            "background": self.background,
            "title": {"color": self.text, "subtitleColor": self.muted, "anchor": "start", "fontSize": TITLE_SIZE,
                      "subtitleFontSize": SUBTITLE_SIZE, "limit": 0},
            "axis": {**text, "gridColor": self.grid, "domainColor": self.muted, "tickColor": self.muted,
                     "labelLimit": 0, "titleLimit": 0, "labelFontSize": LABEL_SIZE, "titleFontSize": AXIS_TITLE_SIZE},
            "legend": {"labelColor": self.text, "titleColor": self.text, "labelLimit": 0, "titleLimit": 0,
                       "labelFontSize": LABEL_SIZE, "titleFontSize": AXIS_TITLE_SIZE},
            "header": {"labelColor": self.text, "titleColor": self.text},
            "text": {"color": self.text},
            "rule": {"color": self.guide},
            "mark": {"color": self.categorical[0]},
            "range": {"category": list(self.categorical), "ramp": list(self.layers)},
        }


LIGHT = Style(
    name="light", background="#FFFFFF", text="#111827", muted="#4B5563", grid="#E5E7EB", guide="#5F6673",
    bad="#C00000", zero="#7E8490", nonfinite="#000000", nonfinite_word="black", reference="#00775A",
    halo="#FFFFFF",
    categorical=("#0072B2", "#C45500", "#007A5A", "#B0558A", "#8A6500", "#4B4BA8", "#7A5230", "#374151"),
    layers=("#440154", "#3B528B", "#21808C", "#2A9D6E"),
    heat=("#08306B", "#2F6DB0", "#7B4FA0", "#C2413A", "#67000D"),
    share=("#6C8FBF", "#16366E"),
)

DARK = Style(
    name="dark", background="#0F172A", text="#F1F5F9", muted="#CBD5E1", grid="#334155", guide="#A3AEBF",
    bad="#FF7070", zero="#8A94A8", nonfinite="#FFFFFF", nonfinite_word="white", reference="#3DDC97",
    halo="#0F172A",
    categorical=("#56B4E9", "#FF8C42", "#3DDC97", "#E69CC8", "#F0E442", "#A5A5FF", "#D9A47A", "#E5E7EB"),
    layers=("#2F7FA8", "#22A884", "#7AD151", "#FDE725"),
    heat=("#4F9BE0", "#8CC4EE", "#C9A6E0", "#F7A58A", "#F0533F"),
    share=("#3D6FA8", "#C6DBEF"),
)

STYLES = {"light": LIGHT, "dark": DARK}
#: colours drawn over a colour map (the phase diagram), never over the background: the same in both themes,
#: readable against the map's cells (ink on a light halo)
ON_MAP = {"ink": "#1A1A1A", "halo": "#FAFAFA", "marker": "#F0E442"}
INK = LIGHT  # the names builders write colours with; `themed` translates them


def _colour_map(source: Style, target: Style) -> dict[str, str]:
    """Every colour of `source` (upper-case hex) → the colour of the same role in `target`."""
    out: dict[str, str] = {}
    for f in fields(Style):
        a, b = getattr(source, f.name), getattr(target, f.name)
        pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]
        for x, y in pairs:
            if isinstance(x, str) and x.startswith("#"):
                if out.get(x.upper(), y) != y:
                    raise ValueError(f"{x} has two roles in the {source.name} theme")
                out[x.upper()] = y
    return out


_NAMED = {"white": "#FFFFFF", "black": "#000000"}
_MAPS = {"light": {}, "dark": _colour_map(LIGHT, DARK)}
_HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def _recolour(node: Any, table: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (v if k in ("datasets", "data", "values") else _recolour(v, table)) for k, v in node.items()}
    if isinstance(node, list):
        return [_recolour(v, table) for v in node]
    if isinstance(node, str):
        key = _NAMED.get(node.lower(), node).upper()
        if _HEX.fullmatch(key):
            return table.get(key, node)
    return node


_cache: dict[tuple[int, str], tuple[dict, dict]] = {}


def themed(spec: dict, theme: str, recolour: bool = True, cache: bool = False) -> dict:
    """The spec in `theme` ("light" or "dark"): colours translated (unless `recolour` is False: a spec drawn for
    its theme already) and the theme's config merged under the spec's own config. A new top-level dict; the
    input is never modified. With `cache`, for specs built once and never modified (the cached templates of
    `core.charts.template`): each is translated once per theme."""
    style = STYLES.get(theme, LIGHT)
    key = (id(spec), style.name + str(recolour))
    hit = _cache.get(key) if cache else None
    if hit is not None and hit[0] is spec:  # the entry holds the spec, so its id cannot be reused meanwhile
        return dict(hit[1])
    body = {k: v for k, v in spec.items() if k != "datasets"}
    if recolour and style is not LIGHT:
        body = _recolour(body, _MAPS[style.name])
    own = body.get("config", {})
    config = style.config()
    for k, v in own.items():
        config[k] = {**config[k], **v} if isinstance(v, dict) and isinstance(config.get(k), dict) else v
    body["config"] = config
    if "datasets" in spec:
        body["datasets"] = spec["datasets"]
    if cache:
        if len(_cache) > 512:
            _cache.clear()
        _cache[key] = (spec, body)
    return dict(body)


# ---------------------------------------------------------------- WCAG contrast


def luminance(colour: str) -> float:
    """Relative luminance of an sRGB colour "#RRGGBB" (WCAG 2.1)."""
    colour = _NAMED.get(colour.lower(), colour)
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours, 1 … 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ramp_samples(stops: tuple[str, ...] | list[str], n: int = 64) -> list[str]:
    """Colours along a ramp interpolated in RGB (the `interpolate: "rgb"` the builders ask Vega for)."""
    rgb = [[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in stops]
    out = []
    for k in range(n + 1):
        t = k / n * (len(rgb) - 1)
        i = min(int(t), len(rgb) - 2)
        f = t - i
        out.append("#" + "".join(f"{round(a + (b - a) * f):02X}" for a, b in zip(rgb[i], rgb[i + 1], strict=True)))
    return out
