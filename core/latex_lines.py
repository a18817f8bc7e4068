"""Long products broken into aligned LaTeX lines, so that a formula fits its column and its result stays in view.

KaTeX never wraps a display formula: a product of eight factors in scientific notation is wider than a page's
column, and its value ends up off to the right. `aligned_product` cuts the factors into lines of at most
`width` estimated characters and puts the result on a line of its own.
"""

from __future__ import annotations

import re

_COMMAND = re.compile(r"\\(left|right|quad|qquad|,|;|!|text|mathrm|operatorname)\b|\\(?=[{}])")
_SYMBOL = re.compile(r"\\[A-Za-z]+")
_FRAC = re.compile(r"\\frac\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


def visible_width(latex: str) -> float:
    """A rough width of rendered LaTeX in characters: a fraction counts as its wider part, a command such as
    \\times as one symbol, a superscript or subscript at 70 %."""
    latex = _FRAC.sub(lambda m: "x" * round(max(visible_width(m.group(1)), visible_width(m.group(2)))), latex)
    latex = _COMMAND.sub("", latex)
    scripts = sum(len(re.sub(r"[{}]", "", s)) for s in re.findall(r"[\^_](\{[^{}]*\}|.)", latex))
    plain = _SYMBOL.sub("x", re.sub(r"[\^_](\{[^{}]*\}|.)", "", latex))
    return len(re.sub(r"[{}\s]", "", plain)) + 0.7 * scripts


def aligned_product(lhs: str, relation: str, terms: list[str], result: str | None = None,
                    result_relation: str = "=", width: float = 28) -> str:
    r"""`lhs relation t1 × t2 × … [result_relation result]` as \begin{aligned}, at most `width` characters of
    factors per line (at least one factor), continued lines starting with ×, the result on its own line."""
    lines: list[list[str]] = [[]]
    used = 0.0
    for term in terms:
        w = visible_width(term) + 2
        if lines[-1] and used + w > width:
            lines.append([])
            used = 0.0
        lines[-1].append(term)
        used += w
    rows = [f"{lhs} &{relation} " + r" \times ".join(lines[0])]
    rows += [r"&\quad \times " + r" \times ".join(line) for line in lines[1:]]
    if result is not None:
        if len(lines) == 1 and used + visible_width(result) + 2 <= width:
            rows[-1] += f" {result_relation} {result}"
        else:
            rows.append(f"&{result_relation} {result}")
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
