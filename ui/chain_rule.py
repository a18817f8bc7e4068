"""The chain-rule page: the notes' worked example derived with SymPy, then the learner's own chain."""

from __future__ import annotations

from fractions import Fraction

import streamlit as st
import sympy as sp

import ui
from core.chain import products as ch
from core.chain.activations import ACTIVATIONS, LABELS, derivative_bound, derivative_in_own_terms
from core.chain.diagram import chain_rows
from core.charts.chain import depth_chart, factor_chart
from core.latex_lines import aligned_product
from core.numbers import as_float64, equals, fmt, fmt_latex, format_value

NOTES, COMPUTED = "Notes' factors", "From weights"
# The chain's rows sit close together on one white card (readable in either theme: its colours are its own);
# the settings column's labels and the activation choice wrap instead of being cut.
CHAIN_CSS = """<style>
.st-key-chain_diagram { gap: 0; background: #FFFFFF; border-radius: 0.5rem; padding: 0.3rem 0; }
.st-key-chain_settings [data-testid="stButtonGroup"] > div { flex-wrap: wrap; }
</style>"""
FORMULA_CHARS = 34  # characters of factors per line of a product (the chart column is ~500 px at 1280 × 720)


def load_notes_network() -> None:
    st.session_state.update(mode=COMPUTED, act="sigmoid", n_depth=3, weights="500; 500; 400", biases="0",
                            centred=True, x="200", y="-149.5", n_lr="0.01")


def load_saturated() -> None:
    st.session_state.update(mode=COMPUTED, act="sigmoid", n_depth=3, weights="500", biases="0",
                            centred=False, x="1", y="0", n_lr="0.01")


def load_notes_factors() -> None:
    st.session_state.update(mode=NOTES, f_depth=3, w_old="500", f_lr="0.01",
                            **{f"f_{n}": str(v) for n, v in zip(ch.factor_names(3), ch.NOTES_FACTORS, strict=True)})


def example_buttons() -> None:
    b1, b2, b3 = st.columns(3)
    b1.button("① The notes' example", on_click=load_notes_factors, width="stretch")
    b2.button("② Make the notes' numbers real", on_click=load_notes_network, width="stretch",
              help="A real sigmoid chain whose biases put every neuron at z = 0, where σ'(z) = ¼ exactly.")
    b3.button("③ What w = 500 really does", on_click=load_saturated, width="stretch")


def workbench() -> None:
    """The chain's settings on the left, its derivation and update on the right, then the charts below."""
    st.html(CHAIN_CSS)
    left, right = st.columns([1, 2], gap="large")
    with left, st.container(key="chain_settings"):
        mode, chain, net = _settings()
    with right:
        if chain is None:
            st.warning("Fix the values marked ⚠️ on the left to see the chain.")
            return
        activation = _derivation(mode, chain)
    if mode == COMPUTED:
        _bound_versus_actual(chain, net, activation)
    _charts(mode, chain, net)


def _settings() -> tuple[str, ch.Chain | None, ch.Network | None]:
    """The factors typed in (the notes' mode) or the weights, biases and input of a real chain."""
    mode = st.segmented_control("Where do the factors come from?", [NOTES, COMPUTED], key="mode", default=NOTES,
                                required=True)
    if mode == NOTES:
        depth = st.slider("Neurons in the chain", 1, ch.MAX_DEPTH, 3, key="f_depth")
        factors = []
        for name in ch.factor_names(depth):
            default = {f"dL/do{depth}1": "150", "do11/dw11": "50", "do21/do11": "125"}.get(name, "100")
            factors.append(ui.number_field(f"{name}", f"f_{name}", default, limit=ch.LIMITS["factor"]))
        w_old = ui.number_field("w¹₁₁ before the step", "w_old", "500", limit=ch.LIMITS["factor"])
        lr = ui.number_field("learning rate α", "f_lr", "0.01", limit=ch.LIMITS["learning rate"], positive=True)
        ok = None not in factors and w_old is not None and lr is not None
        chain = ch.given_chain(tuple(factors), w_old, lr) if ok else None
        net = ch.notes_network()
    else:
        act = st.segmented_control("Activation φ", ACTIVATIONS, format_func=LABELS.get, key="act",
                                   default="sigmoid", required=True)
        depth = st.slider("Neurons in the chain", 1, ch.MAX_DEPTH, 3, key="n_depth")
        ws = ui.numbers_field("Weights w¹₁₁; w²₁₁; … (the last one repeats)", "weights", "500",
                              limit=ch.LIMITS["weight"])
        centred = st.checkbox("Centre every neuron at z = 0 (b = −w·input)", key="centred")
        bs = ui.numbers_field("Biases b₁₁; b₂₁; …", "biases", "0", limit=ch.LIMITS["bias"]) if not centred else [
            Fraction(0)]
        x = ui.number_field("Input x", "x", "1", limit=ch.LIMITS["input"])
        y = ui.number_field("Target y (loss L = ½(ŷ − y)²)", "y", "0", limit=ch.LIMITS["target"])
        lr = ui.number_field("learning rate α", "n_lr", "0.01", limit=ch.LIMITS["learning rate"], positive=True)
        chain = net = None
        if None not in (ws, bs, x, y, lr):
            (w_used, note_w), (b_used, note_b) = ch.parse_per_layer(ws, depth), ch.parse_per_layer(bs, depth)
            for note in {note_w, note_b} - {None}:
                st.caption(note)
            net = ch.Network(act, w_used, b_used, x, y, lr, centred)
            chain = ch.network_chain(net)
    return mode, chain, net


def chain_rule_lines(depth: int) -> str:
    """The chain rule for this depth in aligned lines that fit the column."""
    return aligned_product(rf"\frac{{\partial L}}{{\partial {ch.w_name(1)}}}", "=", ch.shown_factor_labels(depth),
                           width=FORMULA_CHARS)


def _derivation(mode: str, chain: ch.Chain) -> str:
    """The chain, one local factor derived by SymPy, the product, and the update of w."""
    st.subheader("1 · The chain")
    st.latex(chain_rule_lines(chain.depth))
    with st.container(key="chain_diagram"):
        for row in chain_rows(chain):
            st.graphviz_chart(row)
    beside = "the table below" if chain.layers else "the factors on the left"
    st.caption(f"Edge labels rounded to two significant digits; the exact values are in {beside}. Orange: the "
               "factor amplifies (|factor| > 1); blue: it shrinks the product.")
    st.subheader("2 · One local factor, derived by SymPy")
    activation = chain.activation or "sigmoid"
    deriv, bound = ch.local_derivation(activation), derivative_bound(activation)
    own = derivative_in_own_terms(activation, as_function=True)
    st.latex(r"\begin{aligned}&o = \varphi(z),\; z = w\,o_{\text{prev}} + b \;\Rightarrow \\"
             r"&\frac{\partial o}{\partial o_{\text{prev}}}" rf" = {sp.latex(deriv.raw)} = \varphi'(z)\,w\end{{aligned}}")
    if own is not None:
        st.latex(rf"\varphi'(z) = {sp.latex(own)} \quad\text{{(an identity SymPy confirms)}}")
    st.markdown(f"**Bound:** {bound.how}")
    if mode == NOTES:
        st.latex(r"\frac{\partial o_{21}}{\partial o_{11}} = \sigma'(z)\,w^{2}_{11} \le "
                 rf"{sp.latex(bound.value)} \times 500 = {fmt_latex(bound.value * 500)}")
        first, second = ch.network_chain(ch.Network()).layers[:2]
        st.info(f"The notes' 125 is the **bound**: σ'(z) = ¼ only at z = 0. A real sigmoid neuron with w = 500 sits "
                f"far from 0 — with input 1 and no bias, z₁₁ = 500 and σ'(500) {equals(first.dphi)}; the next neuron "
                f"has z₂₁ {equals(second.z)}, so ∂o₂₁/∂o₁₁ = σ'(z₂₁)·500 {equals(second.factor)}: the gradient "
                "**vanishes** instead. Button ③ computes that chain; button ② builds one where 125 really happens.",
                icon=":material/info:")
    st.subheader("3 · Multiply the factors")
    shown = [fmt_latex(f.value) for f in chain.factors]
    shown = [f"\\left({s}\\right)" if s.startswith("-") else s for s in shown]
    factors_shown_exactly = all(format_value(f.value).exact for f in chain.factors)
    eq = "=" if factors_shown_exactly else r"\approx"  # = only where every digit on the line is shown
    eq_result = "=" if format_value(chain.gradient).exact else r"\approx"
    if len(shown) > 8:
        shown = shown[:4] + [r"\cdots"] + shown[-3:]
    product = aligned_product(r"\frac{\partial L}{\partial w^{1}_{11}}", eq, shown, fmt_latex(chain.gradient),
                              eq_result if eq == "=" else eq, width=FORMULA_CHARS)
    ui.reveal(f"chain_{hash(chain.gradient):x}", "is this product larger or smaller than 1? By how many powers of ten?",
              lambda: st.latex(product))
    if not ui.lecture():
        ui.latex_download("Derivation as LaTeX", "The chain rule, derived and computed", [
            ch.chain_rule_latex(chain.depth),
            r"\frac{\partial o}{\partial o_{\text{prev}}} = " + sp.latex(deriv.raw) + r" = \varphi'(z)\,w",
            product, *chain.update.latex_lines()], "chain-rule.tex", key="_tex_chain")
    f64 = as_float64(chain.gradient)
    if f64 in (float("inf"), float("-inf")):
        st.error(f"In float64 (what torch and numpy use) this product is **{fmt(f64)}**: it exceeds the largest float, "
                 "1.8 × 10³⁰⁸. The exact value above is still exact: Python's integers have no size limit.", icon=":material/all_inclusive:")
    big = [f.name for f in chain.factors if f.magnitude_above_one]
    zero = [f.name for f in chain.factors if f.value == 0]
    if big:
        st.markdown(f"Factors with magnitude above 1 (they amplify): **{', '.join(big)}** — the biggest culprit is "
                    f"**{chain.factors[chain.biggest_culprit()].name}**.")
    elif zero:
        st.markdown(f"No factor amplifies, and **{', '.join(zero)}** is exactly 0: the whole product is 0.")
    else:
        st.markdown("No factor has magnitude above 1: nothing amplifies here, every factor shrinks the product "
                    "(or keeps it).")
    st.subheader("4 · The update of w = w¹₁₁")
    ui.render_ledger(chain.update)
    return activation


def _bound_versus_actual(chain: ch.Chain, net: ch.Network, activation: str) -> None:
    """Each neuron's actual φ'(z) beside the bound, and the check against torch autograd."""
    from core.chain.autograd_check import check_against_autograd

    bound = derivative_bound(activation)
    gamma = "¼" if bound.value == sp.Rational(1, 4) else str(bound.value)  # γ = max φ', derived by SymPy
    at = ", ".join(f"z = {c}" for c in bound.at) or "z = 0"
    if activation == "linear":
        st.subheader("Bound versus actual: for a linear neuron φ' = 1 everywhere, so every factor is exactly w")
    else:
        st.subheader(f"Bound versus actual: {'the notes' if activation == 'sigmoid' else 'the bound'} {gamma}·|w| is "
                     "the best case, not the usual case")
    rows = [{"neuron": ch.o_text(l.k), "z": fmt(l.z), "actual φ'(z)": fmt(l.dphi), "bound max φ'": fmt(l.bound),
             "actual factor φ'(z)·w": fmt(l.factor), "bound factor γ·|w|": fmt(l.bound_factor),
             "|factor| > 1": "▲ amplifies" if abs(l.factor) > 1 else ""} for l in chain.layers]
    st.table(rows, hide_index=True)  # HTML: a cell wraps, it never cuts a number
    first = chain.layers[0]
    if activation == "sigmoid" and abs(first.z) > 10:
        st.warning(f"With z₁₁ {equals(first.z)} the sigmoid is saturated: σ'(z) {equals(first.dphi)}, nowhere near "
                   "the ¼ the notes use. The gradient **vanishes** instead of exploding. Large weights explode the "
                   "gradient only where the neurons sit near z = 0 — button ② builds such a chain.", icon=":material/ac_unit:")
    elif activation == "relu":
        st.info(f"The bound factor {gamma}·|w| assumes φ'(z) = {gamma}, which ReLU has for every z > 0; for z < 0 "
                "φ'(z) = 0 and the factor is 0.", icon=":material/info:")
    elif activation != "linear":
        whose = "The notes' factor" if activation == "sigmoid" else "The bound factor"
        st.info(f"{whose} {gamma}·|w| assumes φ'(z) at its maximum {gamma} (max φ' = {gamma}), reached only at {at}. "
                "Where a neuron's z is far from it its factor is much smaller than the bound.", icon=":material/info:")
    check = check_against_autograd(net)
    (st.success if check.status == "agree" else st.error if check.status == "disagree" else st.info)(
        f"**SymPy vs torch autograd:** {check.message}")


def _charts(mode: str, chain: ch.Chain, net: ch.Network | None) -> None:
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(factor_chart(chain))
    with c2:
        sweep_net = net if mode == COMPUTED else ch.notes_network()
        ui.chart(depth_chart(ch.depth_sweep(sweep_net), sweep_net.activation, fmt(sweep_net.weights[-1]), chain.depth))
        st.caption("The chain made deeper by repeating its last weight and bias. "
                   + ("In the notes' mode this is the real sigmoid chain of button ②." if mode == NOTES else ""))
