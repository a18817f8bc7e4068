"""Training lab: train a real torch network step by step and watch the gradients layer by layer."""

import streamlit as st

import ui
from ui import lab

ui.setup_page("Training lab", ":material/model_training:")
ui.deep_link("lab", init=lab.init_widgets)
st.title("Training lab: watch gradients explode")
lab.intro()
lab.scenario_picker()
lab.workbench()
ui.finish_page("lab", lab.view_values())
