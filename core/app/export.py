"""Take results home: a run's history as tidy CSV and JSON, a chart as PNG or SVG, equations as LaTeX.

The history has one row per step × weight layer. Numbers are written so that they read back to the very
same floats: CSV with Python's repr (inf and nan included), JSON with non-finite values as the strings
"inf", "-inf" and "NaN" (JSON has no such numbers) and null where a quantity does not exist (the output
layer has no ‖∂L/∂h‖ or saturation).
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

COLUMNS = ("step", "layer", "loss", "grad_norm", "grad_w", "grad_h", "weight", "update_ratio", "saturation")


def history_rows(arrays: dict[str, np.ndarray]) -> list[dict]:
    """Tidy rows from History.arrays(): step (1-based), layer (1-based, the last is the read-out)."""
    T, L1 = arrays["grad_w"].shape
    L = arrays["grad_h"].shape[1]
    rows = []
    for t in range(T):
        for layer in range(L1):
            hidden = layer < L
            rows.append({
                "step": t + 1, "layer": layer + 1,
                "loss": float(arrays["loss"][t]), "grad_norm": float(arrays["grad_norm"][t]),
                "grad_w": float(arrays["grad_w"][t, layer]),
                "grad_h": float(arrays["grad_h"][t, layer]) if hidden else None,
                "weight": float(arrays["weight"][t, layer]), "update_ratio": float(arrays["update_ratio"][t, layer]),
                "saturation": float(arrays["saturation"][t, layer]) if hidden else None,
            })
    return rows


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else repr(row[c]) for c in COLUMNS])
    return out.getvalue()


def from_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for raw in reader:
        row = {}
        for c in COLUMNS:
            value = raw[c]
            row[c] = int(value) if c in ("step", "layer") else (None if value == "" else float(value))
        rows.append(row)
    return rows


def _json_number(value):
    if value is None or isinstance(value, int):
        return value
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_json(rows: list[dict], config: dict | None = None) -> str:
    return json.dumps({"config": config or {}, "columns": list(COLUMNS),
                       "rows": [{c: _json_number(r[c]) for c in COLUMNS} for r in rows]}, indent=1)


def from_json(text: str) -> list[dict]:
    data = json.loads(text)
    special = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}
    return [{c: special.get(v, v) if isinstance(v, str) else v for c, v in row.items()} for row in data["rows"]]


def latex_document(title: str, equations: list[str], notes: str = "") -> str:
    """A complete LaTeX file (amsmath) with each equation in its own display."""
    body = "\n\n".join(f"\\[\n{eq}\n\\]" for eq in equations)
    safe_title = "".join(c for c in title if c.isascii()).replace("&", r"\&").replace("%", r"\%").replace("#", r"\#")
    comments = "".join(f"% {line}\n" for line in notes.splitlines())  # plain text (may hold Unicode) as comments
    return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n" + comments + "\\begin{document}\n"
            f"\\section*{{{safe_title}}}\n\n{body}\n\\end{{document}}\n")


def chart_spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart with its data inline (no 5,000-row cap for an export)."""
    import altair as alt

    with alt.data_transformers.enable("default", max_rows=None):
        return chart.to_dict()


def chart_png(spec: dict, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec, scale=scale)


def chart_svg(spec: dict) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec)
