"""Training lab: train a real torch network step by step and watch the gradients layer by layer."""

import streamlit as st

import ui
from ui import lab

ui.setup_page("Training lab", ":material/model_training:")
ui.deep_link("lab", init=lab.init_widgets)
st.title("Training lab: watch gradients explode, step by step")
st.markdown("Pick a network and its hyperparameters, then train it one real torch update at a time. Every step "
            "records each layer's gradients, weights and units, and shows the arithmetic of one weight's update.")
lab.scenario_buttons()
lab.workbench()
ui.finish_page("lab")
