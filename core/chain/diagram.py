"""The chain as Graphviz DOT diagrams, each edge labelled with its local factor, in rows that stay readable.

A long chain drawn in one line is scaled down to the width of the page until nothing can be read. Here the
chain is cut into rows (each its own small diagram, the last neuron of a row repeated at the start of the next)
whose width is estimated from their labels; a chain longer than `window` factors shows its first and last
factors and summarises the middle in one box (how many factors, their product). Labels are rounded to two
significant digits (`core.numbers.rounded`); the exact values are printed beside the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from core.chain.products import Chain, o_text, settle
from core.numbers import fmt, rounded

AMPLIFY = "#B8470B"  # on the diagram's own white card: ≥ 4.5:1 contrast in either page theme
SHRINK = "#0B5C8C"
NEUTRAL = "#444444"
ROW_POINTS = 400  # the widest row, in points: the chart column at 1280 × 720 holds ~370 pt, so ≤ 8 % shrink
NODE_POINTS = 42
FONT_POINTS = 13


@dataclass(frozen=True)
class Link:
    """One edge of the drawing: tail → head with its factor (or, for the summary, how many factors it stands for)."""

    tail: str
    head: str
    label: str
    amplifies: bool | None  # None: the summary of the elided middle


def _links(chain: Chain, window: int) -> list[Link]:
    n = chain.depth
    names = ["w¹₁₁"] + [o_text(k) for k in range(1, n + 1)] + ["L"]
    factors = list(reversed(chain.factors))  # w→o1, o1→o2, …, o_n→L (stored loss-first)
    links = [Link(t, h, rounded(f.value), f.magnitude_above_one)
             for t, h, f in zip(names[:-1], names[1:], factors, strict=True)]
    if len(links) <= window:
        return links
    head, tail = window // 2, window - window // 2
    middle = factors[head:len(factors) - tail]
    product = settle(sp.Mul(*[f.value for f in middle]))
    summary = Link(links[head].tail, links[len(links) - tail].tail,
                   f"{len(middle)} factors, product {rounded(product)}", None)
    return links[:head] + [summary] + links[len(links) - tail:]


def _width(text: str) -> float:
    """Rough width of a label in points (Helvetica's average glyph is ~0.55 em; superscripts, spaces ~0.3 em)."""
    small = sum(ch in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻₀₁₂₃₄₅₆₇₈₉ ,." for ch in text)
    return (0.55 * (len(text) - small) + 0.3 * small) * FONT_POINTS


def _rows(links: list[Link]) -> list[list[Link]]:
    rows: list[list[Link]] = [[]]
    used = NODE_POINTS + 16  # the first node (w¹₁₁'s box is a little wider)
    for link in links:
        step = max(_width(link.label) + 18, 40) + NODE_POINTS
        if link.amplifies is None or (rows[-1] and rows[-1][-1].amplifies is None):
            step += 40  # the summary's dashed edge is drawn long
        if rows[-1] and used + step > ROW_POINTS:
            rows.append([])
            used = NODE_POINTS
        rows[-1].append(link)
        used += step
    return rows


def chain_rows(chain: Chain, window: int = 8) -> list[str]:
    """The chain w¹₁₁ → o₁₁ → … → ŷ → L as one DOT source per row; deep chains summarise their middle."""
    links = _links(chain, window)
    last_o = o_text(chain.depth) if chain.layers else None
    out = []
    for row in _rows(links):
        lines = ["digraph chain {", 'rankdir=LR; bgcolor="white"; pad=0.15; nodesep=0.2; ranksep=0.2;',
                 f'node [shape=circle, fontname="Helvetica", fontsize={FONT_POINTS}, style=filled, '
                 f'fillcolor="#F4F4F4", color="{NEUTRAL}", fontcolor="#111111", width={NODE_POINTS / 72:.2f}, '
                 'fixedsize=true];',
                 f'edge [fontname="Helvetica", fontsize={FONT_POINTS}, arrowsize=0.8];']
        for name in dict.fromkeys([row[0].tail] + [link.head for link in row]):
            if name == "w¹₁₁":
                lines.append(f'"{name}" [shape=box, fixedsize=false, label="w¹₁₁\\n{fmt(chain.update.w_old)}"];')
            elif name == "L":
                lines.append('"L" [shape=doublecircle, width=0.5];')
            elif name == last_o:
                lines.append(f'"{name}" [label="ŷ\\n{name}"];')
        for link in row:
            if link.amplifies is None:
                lines.append(f'"{link.tail}" -> "{link.head}" [label="{link.label}", style=dashed, '
                             f'color="{NEUTRAL}", fontcolor="{NEUTRAL}", minlen=2];')
                continue
            colour = AMPLIFY if link.amplifies else SHRINK
            width = 2.5 if link.amplifies else 1.2
            lines.append(f'"{link.tail}" -> "{link.head}" [label="{link.label}", color="{colour}", '
                         f'fontcolor="{colour}", penwidth={width}];')
        lines.append("}")
        out.append("\n".join(lines))
    return out
