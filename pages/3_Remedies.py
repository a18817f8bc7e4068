"""Remedies lab: every fix from the notes, side by side on the same network, data and seed."""

import streamlit as st

import ui
from ui import remedies

ui.setup_page("Remedies", ":material/healing:")
ui.deep_link("remedies")
st.title("Remedies: which fix works, and which does not")
st.markdown("The notes list the cures: gradient clipping, weight regularisation, careful initialisation, "
            "normalisation, simpler networks, smaller learning rates, bounded activations — and LSTMs for "
            "recurrent nets.")
remedies.workbench()
ui.finish_page("remedies")
