"""The chain as a Graphviz DOT diagram, each edge labelled with its local factor."""

from __future__ import annotations

from core.chain.products import Chain
from core.numbers import fmt

AMPLIFY = "#D55E00"
SHRINK = "#0072B2"


def _o(k: int) -> str:
    return f"o{k}1" if k < 10 else f"o{k},1"


def chain_dot(chain: Chain, max_shown: int = 8) -> str:
    """w¹₁₁ → o₁₁ → … → ŷ → L, edges labelled by ∂(head)/∂(tail); deep chains elide the middle."""
    n = chain.depth
    # factors are stored loss-first: index 0 is ∂L/∂o_n, index n is ∂o_1/∂w_1.
    nodes = ["w11"] + [_o(k) for k in range(1, n + 1)] + ["L"]
    edge_factors = list(reversed(chain.factors))  # w→o1, o1→o2, …, o_n→L
    keep = list(range(len(edges := list(zip(nodes[:-1], nodes[1:], edge_factors, strict=True)))))
    if len(edges) > max_shown:
        half = max_shown // 2
        keep = list(range(half)) + [-1] + list(range(len(edges) - half, len(edges)))
    lines = ["digraph chain {", 'rankdir=LR; bgcolor="transparent";',
             'nodesep=0.3; ranksep=0.25;',
             'node [shape=circle, fontname="Helvetica", fontsize=22, style=filled, fillcolor="#F4F4F4", '
             'width=0.9, fixedsize=true];',
             'edge [fontname="Helvetica", fontsize=30, arrowsize=1.2];']
    w_label = f"w¹₁₁\\n{fmt(chain.update.w_old)}"
    lines.append(f'"w11" [shape=box, fixedsize=false, label="{w_label}"];')
    lines.append('"L" [shape=doublecircle, label="L"];')
    if chain.layers:
        lines.append(f'"{_o(n)}" [label="ŷ\\n{_o(n)}"];')
    prev_tail = None
    for idx in keep:
        if idx == -1:
            lines.append('"gap" [shape=plaintext, label="⋯", fillcolor="transparent"];')
            lines.append(f'"{prev_tail}" -> "gap" [style=dashed];')
            prev_tail = "gap"
            continue
        tail, head, factor = edges[idx]
        if prev_tail == "gap":
            lines.append(f'"gap" -> "{tail}" [style=dashed];')
        colour = AMPLIFY if factor.magnitude_above_one else SHRINK
        width = 3 if factor.magnitude_above_one else 1.5
        label = fmt(factor.value)
        lines.append(f'"{tail}" -> "{head}" [label="{label}", color="{colour}", fontcolor="{colour}", penwidth={width}];')
        prev_tail = head
    lines.append("}")
    return "\n".join(lines)
