"""Home page: what exploding gradients are, the worked example, and a map of the explorer."""

import streamlit as st

import ui
from ui import home

ui.setup_page("Home", ":material/home:")
st.title("Exploding gradients, explained by computing them")
st.markdown(
    "Training a network means nudging every weight against its gradient, and backpropagation gets that gradient "
    "by the chain rule: **a product of one local derivative per layer**. Multiply many factors larger than 1 and "
    "the product **explodes**; multiply many smaller than 1 and it **vanishes**. Exploded gradients throw the "
    "weights far past any good value: the loss jumps around or turns into NaN, and the network stops learning. "
    "Deep networks and recurrent networks, which multiply the same kind of factor over and over, suffer most."
)

home.worked_example()
home.page_map()
home.what_to_look_for()
ui.finish_page("home")
