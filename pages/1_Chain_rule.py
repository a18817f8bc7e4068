"""The chain rule page: the notes' worked example derived with SymPy, then the learner's own chain."""

import streamlit as st

import ui
from ui import chain_rule

ui.setup_page("Chain rule", ":material/link:")
ui.deep_link("chain")
st.title("The chain rule: where exploding gradients come from")
st.markdown("Backpropagation multiplies one local derivative per layer. If those factors are bigger than 1 the "
            "product **explodes**; smaller than 1, it **vanishes**. Here is the notes' worked example, derived "
            "with SymPy and computed exactly, and a chain you can change.")
chain_rule.example_buttons()
chain_rule.workbench()
ui.finish_page("chain")
