"""Training lab: train a real torch network step by step and watch the gradients layer by layer."""

import streamlit as st

import lab_ui
import ui
from core.config import MAX_STEPS
from core.scenarios import SCENARIOS

ui.setup_page("Training lab", ":material/model_training:")
ui.deep_link("lab", init=lab_ui.init_widgets)
K = lab_ui.KEY

st.title("Training lab: watch gradients explode, step by step")
st.markdown("Pick a network and its hyperparameters, then train it one real torch update at a time. Every step "
            "records each layer's gradients, weights and units, and shows the arithmetic of one weight's update.")

st.markdown("**Scenarios** — one click sets everything and trains a few steps:")
cols = st.columns(len(SCENARIOS))
for col, (key, scenario) in zip(cols, SCENARIOS.items(), strict=True):
    col.button(scenario.label, key=f"{K}sc_{key}", on_click=lab_ui.load_scenario, args=(key,), width="stretch",
               help=f"**{scenario.title}.** {scenario.story}")

left, right = st.columns([1, 2.4], gap="large")
with left:
    config, csv_bytes = lab_ui.config_controls()

with right:
    run = lab_ui.current_run(config, csv_bytes) if config is not None else None
    if run is None:
        st.info("Fix the highlighted setting on the left to build the network.", icon=":material/tune:")
        ui.finish_page("lab")
        st.stop()

    scenario_key = st.session_state.get(K + "scenario")
    pending = st.session_state.pop(K + "pending_steps", 0)
    if pending and run.steps_done == 0:
        lab_ui.train(run, pending)
    if scenario_key and scenario_key in SCENARIOS and SCENARIOS[scenario_key].config == run.config:
        st.info(f"**{SCENARIOS[scenario_key].title}.** {SCENARIOS[scenario_key].story}", icon=":material/school:")

    playing = st.session_state.get(K + "playing", False)
    c1, c2, c3 = st.columns(3)
    if c1.button("Step", icon=":material/skip_next:", shortcut="Right", disabled=playing, width="stretch",
                 help="One update (keyboard: →)"):
        lab_ui.train(run, 1)
    if c2.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                 width="stretch", disabled=run.stopped and not playing, help="Train continuously, 5 steps per update"):
        st.session_state[K + "playing"] = not playing
        st.rerun()
    if c3.button("Reset", icon=":material/restart_alt:", width="stretch",
                 help="Back to the very same initial weights, data order and optimiser state"):
        run.reset()
        st.session_state[K + "playing"] = False
        st.rerun()
    c4, c5 = st.columns([2, 1], vertical_alignment="bottom")
    n_steps = c4.number_input("Steps to run at once", 1, MAX_STEPS, 100, key=K + "n_steps")
    if c5.button("Run", icon=":material/fast_forward:", disabled=playing, width="stretch"):
        lab_ui.train(run, int(n_steps))

    @st.fragment(run_every=0.2 if playing else None)
    def live() -> None:
        if st.session_state.get(K + "playing"):
            if run.stopped or run.steps_done >= MAX_STEPS:
                st.session_state[K + "playing"] = False
                st.rerun()  # the whole page: the Play button turns back, the panels below return
            lab_ui.train(run, 5, progress=False)
            lab_ui.status_line(run)
            lab_ui.charts(run, run.steps_done, live=True)
            return
        lab_ui.status_line(run)
        n = run.steps_done
        if n == 0:
            return
        if st.session_state.get(K + "playing") or st.session_state.get(K + "follow", True) \
                or not 1 <= st.session_state.get(K + "inspect", 0) <= n:
            st.session_state[K + "inspect"] = n
        step = st.slider("Inspect step (scrub back through the recorded history)", 1, max(n, 2), key=K + "inspect",
                         disabled=n < 2)
        st.session_state[K + "follow"] = step == n
        lab_ui.charts(run, step)

    live()

    h_steps = run.steps_done
    if h_steps:
        inspect = min(st.session_state.get(K + "inspect", h_steps), h_steps)
        st.subheader("Diagnosis")
        ui.reveal(f"lab_diag_{h_steps}_{hash(run.config)}", "exploding, vanishing, a learning rate that is too "
                  "large, or healthy? Which layer, which step?", lambda: lab_ui.diagnosis_panel(run))
        if not ui.lecture():
            lab_ui.history_downloads(run)
        st.subheader("The update ledger")
        lab_ui.ledger_panel(run, inspect)
        st.subheader("The notes' chain, live")
        lab_ui.path_panel(run)
ui.finish_page("lab")
