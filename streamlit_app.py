"""Home page: what exploding gradients are, and a map of the explorer."""

import streamlit as st

import ui
from core.chain import notes_chain

ui.setup_page("Home", "💥")
st.title("💥 Exploding gradients, explained by computing them")
st.markdown(
    "Training a network means nudging every weight against its gradient, and backpropagation gets that gradient "
    "by the chain rule: **a product of one local derivative per layer**. Multiply many factors larger than 1 and "
    "the product explodes; multiply many smaller than 1 and it vanishes. Exploded gradients throw the weights far "
    "past any good value, the loss jumps around or becomes NaN, and the network stops learning."
)
example = notes_chain()
st.markdown("The worked example this app starts from (sigmoid units, one weight initialised at 500):")
st.latex(r"\frac{\partial L}{\partial w} = 150 \times 100 \times 125 \times 50 = 93{,}750{,}000, \qquad "
         r"w_{\text{new}} = " + example.update.latex_lines()[-1].removeprefix("= "))
st.markdown(f"`{example.update.equation_text()}` — one step, and the weight is wrecked. "
            "This number is computed by the app's own chain-rule code, not typed in.")

st.header("Pages")
st.page_link("pages/1_Chain_rule.py", label="**Chain rule** — the worked example derived with SymPy, exact "
             "arithmetic, bound versus actual σ'(z), and your own chain up to 30 neurons deep", icon="🔗")
