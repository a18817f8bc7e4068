"""Training lab: train a real torch network step by step and watch the gradients layer by layer."""

import streamlit as st

import ui
from ui import lab

ui.setup_page("Training lab", ":material/model_training:")
ui.deep_link("lab", init=lab.init_widgets)
st.title("Training lab: watch gradients explode")
st.caption("A real torch network, trained one update at a time with the settings in the sidebar. Every step records "
           "each layer's gradients, weights and units; the details below show the arithmetic of one weight's update.")
lab.scenario_picker()
lab.workbench()
ui.finish_page("lab")
