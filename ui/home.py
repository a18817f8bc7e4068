"""The home page's sections: the worked example computed live, the map of pages, what to look for."""

from __future__ import annotations

import streamlit as st

from core.chain.products import Network, network_chain, notes_chain
from core.numbers import equals, fmt

PAGE_GUIDE = (  # (page, link text, icon, what it shows)
    ("pages/1_Chain_rule.py", "Chain rule: the worked example, derived and computed", ":material/link:",
     "SymPy derives every local factor and the ¼ bound of σ'; exact arithmetic for the update; the bound "
     "versus the real σ'(z) (with w = 500 a real sigmoid saturates and the gradient vanishes); your own chain "
     "up to 30 neurons deep, checked against torch autograd."),
    ("pages/2_Training_lab.py", "Training lab: train a real network and watch every layer's gradients",
     ":material/model_training:",
     "A torch MLP trained one step at a time with the hyperparameters you choose: per-layer gradient norms "
     "(both ∂L/∂W and ∂L/∂h), a heat map, histograms, the update ledger of any weight, the notes' chain along "
     "a path, and a diagnosis — exploding, vanishing, too-large learning rate or healthy. Scenarios include "
     "the notes' w = 500."),
    ("pages/3_Remedies.py", "Remedies: which fix works, side by side on the same network", ":material/healing:",
     "Clipping, L1/L2 and weight decay, Xavier/He/orthogonal initialisation, batch and weight normalisation, "
     "a smaller learning rate, a bounded activation, fewer layers, input normalisation: each trained against "
     "the same exploding net, ranked honestly — including what does not help."),
    ("pages/4_Through_time.py", "Through time: W_rec, exploding RNNs, and why LSTMs help", ":material/history:",
     "One recurrent unit's gradient through time derived by SymPy, a matrix W_rec against Pascanu et al.'s "
     "singular-value conditions, and an RNN and an LSTM trained side by side on a long-memory task."),
    ("pages/5_Edge_of_chaos.py", "Edge of chaos: the butterfly effect, order versus chaos, and the cliff",
     ":material/cyclone:",
     "Two trainings that start ε apart and their Lyapunov exponent, the mean-field phase diagram with the χ = 1 "
     "line and the lab's network on it, and Pascanu et al.'s cliff with and without gradient clipping."),
)


def worked_example() -> None:
    """The notes' example, ∂L/∂w = 150 × 100 × 125 × 50 and the update, from the app's exact chain code."""
    example = notes_chain()
    st.subheader("The worked example this app starts from")
    st.markdown("A chain of sigmoid neurons, one weight initialised at 500, learning rate 0.01:")
    st.latex(r"\frac{\partial L}{\partial w} = 150 \times 100 \times 125 \times 50 = "
             + example.update.latex_lines()[1].split(r"\times")[-1].strip()
             + r", \qquad w_{\text{new}} = " + example.update.latex_lines()[-1].removeprefix("= "))
    st.markdown(f"`{example.update.equation_text()}` — one step, and the weight is wrecked. These numbers come "
                "from the app's own exact chain-rule code, not from typed-in text.")
    real = network_chain(Network())  # the same chain built from real sigmoid neurons: w = 500, input 1, no bias
    first = real.layers[0]
    st.warning(f"**A caveat the app itself proves.** The factors 150 × 100 × 125 × 50 are the notes' *bounds*: "
               f"125 = ¼·500 assumes σ'(z) = ¼, its maximum, reached only at z = 0. A real chain of sigmoid neurons "
               f"with w = 500 (input 1, no biases) has z₁₁ = {fmt(first.z)}, where σ'(z) {equals(first.dphi)}: the "
               f"neurons saturate and the gradient **vanishes**, ∂L/∂w {equals(real.gradient)}. Button ③ on the chain-"
               "rule page computes that chain; button ② builds one in which the notes' numbers really happen.",
               icon=":material/ac_unit:")
    st.page_link("pages/1_Chain_rule.py", label="③ What w = 500 really does", icon=":material/link:",
                 query_params={"mode": "From weights", "act": "sigmoid", "n_depth": "3", "weights": "500",
                               "biases": "0", "centred": "false", "x": "1", "y": "0", "n_lr": "0.01"})


def page_map() -> None:
    st.subheader("Explore")
    for page, label, icon, what in PAGE_GUIDE:
        st.page_link(page, label=label, icon=icon)
        st.caption(what)


def what_to_look_for() -> None:
    with st.expander("What to look for, in one minute"):
        st.markdown(
            "- **Causes**: large initial weights, large inputs, unbounded activations such as ReLU, and depth "
            "(many factors), or recurrence (the same factor again and again).\n"
            "- **Symptoms**: weights that become unexpectedly large, a poor or rising loss, a NaN loss, gradient norms "
            "that stay above 1 step after step.\n"
            "- **Remedies**: gradient clipping, weight regularisation, careful initialisation, normalisation, simpler "
            "networks, smaller learning rates, bounded activations, and LSTMs for recurrent nets.\n"
            "- **Not the same thing**: a learning rate too large for a smooth bowl also makes training diverge, but "
            "there the gradient itself is modest; exploding gradients are large because of the product through depth."
        )
