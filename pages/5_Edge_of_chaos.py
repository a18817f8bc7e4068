"""Edge of chaos: the butterfly effect, the order-to-chaos phase diagram, and the cliff in the loss landscape."""

import streamlit as st

import edge_ui
import ui

ui.setup_page("Edge of chaos", ":material/cyclone:")
st.title("Edge of chaos: butterflies, phases and cliffs")
st.markdown("The notes draw a parallel between exploding gradients and chaos theory. Three ways to make it precise: "
            "how fast two nearly identical trainings separate, where a deep network sits between order and chaos, "
            "and the cliff that a recurrent unit's loss landscape hides.")
butterfly, phase, cliff = st.tabs(["① Butterfly effect", "② Order and chaos", "③ The cliff"])
with butterfly:
    edge_ui.butterfly_section()
with phase:
    edge_ui.phase_section()
with cliff:
    edge_ui.cliff_section()
