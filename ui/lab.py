"""Streamlit wiring for the training lab: controls → a validated TrainConfig → a Run in session state.

Nothing here computes a gradient; it reads widgets, calls `core`, and renders what comes back.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.app.limits import SERVER
from core.charts import training as tc
from core.numbers import fmt
from core.training import config as cfg
from core.training.config import MAX_STEPS, ConfigError, TrainConfig
from core.training.diagnosis import diagnose_run, likely_cause
from core.training.inspect_run import ledger_at, path_chain, weight_label
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run

ACT_LABELS = {"sigmoid": "sigmoid σ", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU (0.01)",
              "linear": "linear (none)"}
DATA_LABELS = {"spirals": "two spirals (classification)", "moons": "two moons (classification)",
               "regression": "regression: sin(3x₁) + x₂²/2", "csv": "upload a CSV"}
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"}
LOSS_LABELS = {"auto": "automatic (cross-entropy / MSE)", "mse": "mean squared error", "cross_entropy": "cross-entropy"}
DEFAULTS = TrainConfig()
KEY = "lab_"  # prefix of every widget key on this page


def load_config(config: TrainConfig) -> None:
    """Put a config into the widgets (used by the scenario buttons and the URL)."""
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        st.session_state[KEY + f.name] = fmt_number(value) if f.name in TEXT_FIELDS else value


def fmt_number(value: float) -> str:
    return f"{value:g}"


TEXT_FIELDS = ("lr", "init_scale", "bias_init", "input_scale")


def load_scenario(key: str) -> None:
    scenario = SCENARIOS[key]
    load_config(scenario.config)
    st.session_state[KEY + "scenario"] = key
    st.session_state[KEY + "pending_steps"] = scenario.steps
    st.session_state[KEY + "track"] = scenario.track


def init_widgets() -> None:
    if KEY + "depth" not in st.session_state:
        load_config(DEFAULTS)


def _number(label: str, name: str, help: str | None = None) -> float | None:
    lo, hi = cfg.LIMITS[name]
    value = ui.number_field(label, KEY + name, fmt_number(getattr(DEFAULTS, name)), help=help)
    if value is None:
        return None
    if not lo <= value <= hi:
        st.error(f"{label}: {fmt(value)} is outside the allowed range {lo:g} … {hi:g}.", icon=":material/warning:")
        return None
    return float(value)


def config_controls() -> tuple[TrainConfig | None, bytes | None]:
    """All hyperparameters; returns the validated config (None after showing what is wrong) and CSV bytes."""
    init_widgets()
    values: dict = {}
    csv_bytes = None
    full = not ui.lecture()  # in lecture mode the settings fold away: scenarios and Step/Run/Play stay
    with st.expander("Network", expanded=full, icon=":material/hub:"):
        values["depth"] = st.slider("Hidden layers", 1, 50, key=KEY + "depth")
        values["width"] = st.slider("Units per hidden layer", 1, 256, key=KEY + "width")
        values["activation"] = st.selectbox("Activation", cfg.ACTIVATIONS, format_func=ACT_LABELS.get,
                                            key=KEY + "activation")
    with st.expander("Initialisation", expanded=full, icon=":material/casino:"):
        values["init"] = st.selectbox("Weights", cfg.INITS, format_func=cfg.INIT_LABELS.get, key=KEY + "init")
        meaning = cfg.INIT_SCALE_MEANING[values["init"]]
        if meaning is not None:
            values["init_scale"] = _number(f"Scale: {meaning}", "init_scale",
                                           help="constant: every weight; normal: σ; uniform: a; others: gain")
        else:
            values["init_scale"] = DEFAULTS.init_scale
        values["bias_init"] = _number("Biases (constant)", "bias_init")
    with st.expander("Data", expanded=False, icon=":material/scatter_plot:"):
        values["dataset"] = st.selectbox("Dataset", cfg.DATASETS, format_func=DATA_LABELS.get, key=KEY + "dataset")
        if values["dataset"] == "csv":
            upload = st.file_uploader("CSV: numeric columns, the last one is the target (≤ 1 MB, ≤ 5,000 rows)",
                                      type=["csv"], key=KEY + "csv")
            csv_bytes = upload.getvalue() if upload is not None else None
        else:
            values["n_samples"] = st.slider("Samples", 16, 5000, key=KEY + "n_samples")
            values["noise"] = st.slider("Noise", 0.0, 2.0, key=KEY + "noise")
        values["input_scale"] = _number("Input scale (multiplies every input)", "input_scale",
                                        help="The notes' 'large input values' cause: try 1000.")
    with st.expander("Training", expanded=full, icon=":material/model_training:"):
        values["lr"] = _number("Learning rate", "lr", help="from 1e-6 to 10")
        values["optimizer"] = st.selectbox("Optimiser", cfg.OPTIMIZERS, format_func=OPT_LABELS.get,
                                           key=KEY + "optimizer")
        values["loss"] = st.selectbox("Loss", cfg.LOSSES, format_func=LOSS_LABELS.get, key=KEY + "loss")
        values["batch_size"] = st.number_input("Batch size", 1, 5000, key=KEY + "batch_size")
        values["seed"] = st.number_input("Seed", 0, 2**31 - 1, key=KEY + "seed")
        values["dtype"] = st.segmented_control("Precision", cfg.DTYPES, key=KEY + "dtype", required=True)
    if any(v is None for v in values.values()):
        return None, csv_bytes
    try:
        config = TrainConfig(**{**DEFAULTS.to_dict(), **values}).validated()
    except ConfigError as err:
        st.error(str(err), icon=":material/warning:")
        return None, csv_bytes
    return config, csv_bytes


def current_run(config: TrainConfig, csv_bytes: bytes | None) -> Run | None:
    """The session's run for this config: kept while the config is unchanged, rebuilt when it changes."""
    run: Run | None = st.session_state.get(KEY + "run")
    csv_key = hash(csv_bytes) if csv_bytes is not None else None
    if run is not None and run.config == config and st.session_state.get(KEY + "csv_key") == csv_key:
        return run
    track = st.session_state.get(KEY + "track", (0, 0, 0))
    try:
        run = Run(config, csv_bytes)
        try:
            run.retrack(track)
        except ConfigError:
            pass
    except ConfigError as err:
        st.error(str(err), icon=":material/warning:")
        st.session_state.pop(KEY + "run", None)
        return None
    if st.session_state.get(KEY + "run") is not None:
        st.toast("Settings changed: a new run starts from step 0.", icon=":material/restart_alt:")
    st.session_state[KEY + "run"] = run
    st.session_state[KEY + "csv_key"] = csv_key
    st.session_state[KEY + "playing"] = False
    return run


def train(run: Run, steps: int, progress: bool = True) -> None:
    """Run up to `steps` steps with a progress bar; explain a refusal instead of raising."""
    try:
        if progress and steps > 20:
            bar = st.progress(0.0, text=f"Training {steps:,} steps…")
            every = max(1, steps // 50)

            def report(done: int, total: int) -> None:
                if done % every == 0 or done == total:
                    bar.progress(done / total, text=f"Step {done:,} of {total:,}")
            info = run.run(steps, on_progress=report, budget=SERVER)
            bar.empty()
        else:
            info = run.run(steps, budget=SERVER)
        if info is not None and info.cut_short:
            st.warning(info.cut_short, icon=":material/timer:")
    except ConfigError as err:
        st.warning(str(err), icon=":material/block:")


def history_downloads(run: Run) -> None:
    """The recorded history, one tidy row per step × layer, as CSV and JSON (built only when clicked)."""
    from core.app import export

    def rows():
        return export.history_rows(run.history.arrays())
    a, b = st.columns(2)
    a.download_button("History as CSV", data=lambda: export.to_csv(rows()), file_name="history.csv",
                      mime="text/csv", icon=":material/table:", on_click="ignore", width="stretch")
    b.download_button("History as JSON", data=lambda: export.to_json(rows(), run.config.to_dict()),
                      file_name="history.json", mime="application/json", icon=":material/data_object:",
                      on_click="ignore", width="stretch")


def status_line(run: Run) -> None:
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        st.info("No steps yet: press **Step** (or the → key), **Run**, or **Play**.", icon=":material/play_arrow:")
        return
    cols = st.columns(4)
    cols[0].metric("Steps", f"{n:,}")
    cols[1].metric("Loss", _g(h["loss"][-1]), delta=_delta(h["loss"]), delta_color="inverse")
    cols[2].metric("‖∂L/∂W‖ (all layers)", _g(h["grad_norm"][-1]))
    cols[3].metric("Largest ‖W_l‖", _g(float(np.max(h["weight"][-1]))))
    if run.nonfinite is not None:
        st.error(run.nonfinite.explain() + " Press **Reset** (or change a setting) to start again.",
                 icon=":material/error:")


def _delta(loss: np.ndarray) -> str | None:
    if len(loss) < 2 or not np.isfinite(loss[-2:]).all():
        return None
    return _g(loss[-1] - loss[-2])


def _g(x: float) -> str:
    """4 significant digits, thousands separators, × 10ⁿ for very large or small numbers, ∞ and NaN spelled out."""
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    return fmt(float(f"{x:.4g}"), plain_range=(-4, 7)).removeprefix("≈ ")


def charts(run: Run, step: int, live: bool = False) -> None:
    """The charts for the run at a step (1-based). While playing (`live`) only the three that change
    most are redrawn, so that the page keeps up with training; the rest return on Pause."""
    if live:
        built = tc.live_charts(run)
        a, b = st.columns(2)
        ui.chart(built["loss"], a)
        ui.chart(built["flow"], b)
        ui.chart(built["heat_w"])
        st.caption("Playing: loss, gradient flow and heat map update live; pause for the other charts, the ledger "
                   "and the diagnosis.")
        return
    built = tc.all_charts(run, step)
    if not built:
        return
    a, b = st.columns(2)
    ui.chart(built["loss"], a)
    ui.chart(built["flow"], b)
    st.caption("**Two different gradients.** ‖∂L/∂W_l‖ is what the optimiser uses to change layer l's weights; "
               "‖∂L/∂h_l‖ is the signal back-propagated to layer l's output — the product of the local factors "
               "above it, which is what grows or shrinks geometrically with depth. For ReLU nets the first can "
               "look flat across layers while the second changes by a constant factor per layer.")
    tabs = st.tabs(["Heat map", "Weight norms", "Update ratio", "Histograms", "Network"])
    with tabs[0]:
        which = st.segmented_control("Norm", ["‖∂L/∂W_l‖", "‖∂L/∂h_l‖"], default="‖∂L/∂W_l‖", key=KEY + "heat",
                                     required=True)
        h = run.history.arrays()
        values = h["grad_w"] if which == "‖∂L/∂W_l‖" else h["grad_h"]
        nf = run.nonfinite.step if run.nonfinite is not None else None
        if values.shape[1]:
            ui.chart(tc.heatmap(values, which, nf))
    with tabs[1]:
        ui.chart(built["weights"])
        st.caption("The notes' first symptom: weights that become unexpectedly large.")
    with tabs[2]:
        ui.chart(built["ratio"])
        st.caption("‖ΔW_l‖/‖W_l‖: how much one step changes a layer relative to its size. Around 10⁻³ is the usual "
                   "rule of thumb (shaded band 10⁻⁴ … 10⁻²); near 1 or above, each step rewrites the layer.")
    with tabs[3]:
        ui.chart(built["hist"])
    with tabs[4]:
        grads = run.last_weight_grads or [np.zeros(tuple(w.shape)) for w in run.weights]
        net = tc.network_chart(grads)
        if net is None:
            st.info("The network diagram is drawn for small networks (up to 6 hidden layers of 8 units).",
                    icon=":material/info:")
        else:
            ui.chart(net)


def diagnosis_panel(run: Run) -> None:
    """The verdict for the run up to the inspected step, its evidence, the likely cause and a remedy to try."""
    threshold = st.number_input("Threshold for 'gradient norm persistently above'", 1e-6, 1e12, 1.0,
                                format="%g", key=KEY + "threshold")
    n = run.steps_done
    step = min(max(int(st.session_state.get(KEY + "inspect", n) or n), 1), n) if n else None
    d = diagnose_run(run, threshold=threshold, step=step)
    box = {"exploding": st.error, "diverging": st.warning, "vanishing": st.warning, "not learning": st.warning,
           "healthy": st.success}.get(d.verdict, st.info)
    icon = {"exploding": ":material/local_fire_department:", "diverging": ":material/trending_up:",
            "vanishing": ":material/ac_unit:", "not learning": ":material/hourglass_empty:",
            "healthy": ":material/check_circle:"}.get(d.verdict, ":material/info:")
    scope = f"steps 1–{d.step} of {n}" if d.step < n else f"all {n} steps"
    box(f"**{d.verdict.capitalize()}.** {d.headline}", icon=icon)
    st.caption(f"Diagnosed over {scope} (move *Inspect step* to diagnose an earlier point of the run).")
    lines = []
    for s in sorted(d.symptoms, key=lambda s: not s.present):
        mark = ":red[**yes**]" if s.present else ":gray[no]"
        lines.append(f"- {mark} — **{s.name}**: {s.evidence}")
    st.markdown("\n".join(lines))
    _cause_and_remedy(run, d)


def ledger_panel(run: Run, step: int) -> None:
    """The update of one chosen weight at the inspected step, with the exact arithmetic."""
    layer_count = run.n_layers
    c1, c2, c3 = st.columns(3)
    track = run.track
    layer = c1.number_input("Layer", 1, layer_count, track[0] + 1, key=KEY + "t_layer") - 1
    rows, cols = run.layer_shape(layer)
    row = c2.number_input("Row (unit)", 1, rows, min(track[1] + 1, rows), key=KEY + "t_row") - 1
    col = c3.number_input("Column (input)", 1, cols, min(track[2] + 1, cols), key=KEY + "t_col") - 1
    if (layer, row, col) != run.track:
        with st.spinner("Replaying the run to follow this weight…"):
            run.retrack((layer, row, col))
        st.session_state[KEY + "track"] = (layer, row, col)
    h = run.history.arrays()
    if len(h["loss"]):
        entry = ledger_at(h["tracked"], step, run.config.lr, run.config.optimizer, run.config.dtype, run.track)
        st.markdown(f"**{entry.weight} at step {step}**")
        if entry.update is None:
            st.error(f"At step {step} the values are not finite: w_old = {_g(h['tracked'][step - 1][0])}, "
                     f"∂L/∂w = {_g(h['tracked'][step - 1][1])}.", icon=":material/error:")
        else:
            ui.render_ledger(entry.update, "w")
            stored = entry.stored_new
            if run.config.optimizer != "sgd":
                st.info(f"{run.config.optimizer.capitalize()} does not step by lr·∂L/∂w: it actually moved the weight "
                        f"to **{_g(stored)}**. The line above is what plain SGD would do with this gradient.",
                        icon=":material/info:")
            elif entry.stored_differs():
                st.caption(f"torch stored w_new = {entry.stored_text()} in {run.config.dtype}: the exact result "
                           "above differs in the last digits because torch rounds lr·∂L/∂w and the difference to "
                           f"{run.config.dtype} before subtracting.")
    with st.form(KEY + "set_weight", border=False):
        value = st.text_input(f"Set {weight_label(layer, row, col)} by hand (the notes: 'suppose I initialise it as "
                              "500') and keep training from there", value="500", key=KEY + "set_value")
        if st.form_submit_button("Set weight", icon=":material/edit:"):
            try:
                run.set_weight(layer, row, col, float(value.replace(",", "")))
                st.success(f"{weight_label(layer, row, col)} = {value}. The next step starts from it.")
            except (ValueError, ConfigError) as err:
                st.error(f"Cannot set the weight: {err}", icon=":material/warning:")


def _effect(value: float) -> str:
    if not math.isfinite(value):
        return "not finite"
    return "amplifies (|f| > 1)" if abs(value) > 1 else ("keeps (|f| = 1)" if abs(value) == 1 else "shrinks (|f| < 1)")


def path_panel(run: Run) -> None:
    """The notes' chain, live: the local factors along one path for the first training sample."""
    sizes = [run.dataset.n_features] + [run.config.width] * run.n_hidden + [run.dataset.n_outputs]
    default = tuple(0 for _ in sizes)
    text = st.text_input("Path: one unit per layer (input, hidden layers…, output), 1-based",
                         ", ".join(str(v + 1) for v in default), key=KEY + "path")
    try:
        path = tuple(int(p) - 1 for p in text.replace(";", ",").split(","))
        if len(path) != len(sizes) or any(not 0 <= p < s for p, s in zip(path, sizes, strict=True)):
            raise ValueError
    except ValueError:
        st.error(f"Give {len(sizes)} whole numbers separated by commas, each within its layer's size "
                 f"({', '.join(str(s) for s in sizes)}).", icon=":material/warning:")
        return
    try:
        chain = path_chain(run.model, run.x, run.y, run.loss_name, path)
    except ValueError as err:
        st.info(f"No path chain here: {err}.", icon=":material/info:")
        return
    culprit = chain.culprit
    df = pd.DataFrame({
        "factor (from the loss inward)": [f.name for f in chain.factors],
        "value": [_g(f.value) for f in chain.factors],
        "effect": [_effect(f.value) for f in chain.factors],
        "running product": [_g(v) for v in chain.running],
    })
    st.dataframe(df.style.apply(lambda r: ["font-weight: bold; background-color: #fde0d0"] * len(r)
                                if r.name == culprit else [""] * len(r), axis=1), hide_index=True, width="stretch")
    st.caption(f"One path's term of ∂L/∂W₁[{path[1] + 1}, {path[0] + 1}] for the first training sample at the "
               f"current weights; the full gradient sums such products over every path. Biggest culprit: "
               f"**{chain.factors[culprit].name} = {_g(chain.factors[culprit].value)}**.")


def scenario_buttons() -> None:
    """One click sets every control and trains the scenario's first steps."""
    st.markdown("**Scenarios** — one click sets everything and trains a few steps:")
    cols = st.columns(len(SCENARIOS))
    for col, (key, scenario) in zip(cols, SCENARIOS.items(), strict=True):
        col.button(scenario.label, key=f"{KEY}sc_{key}", on_click=load_scenario, args=(key,), width="stretch",
                   help=f"**{scenario.title}.** {scenario.story}")


def workbench() -> None:
    """Settings on the left; on the right the run: its buttons, live charts, diagnosis, ledger and chain."""
    left, right = st.columns([1, 2.4], gap="large")
    with left:
        config, csv_bytes = config_controls()
    with right:
        run = current_run(config, csv_bytes) if config is not None else None
        if run is None:
            st.info("Fix the highlighted setting on the left to build the network.", icon=":material/tune:")
            return
        _train_pending(run)
        _run_buttons(run)
        _live_panel(run)
        _inspection_panels(run)


def _train_pending(run: Run) -> None:
    """A scenario's first steps (queued by its button), then its story while the run is that scenario's."""
    scenario_key = st.session_state.get(KEY + "scenario")
    pending = st.session_state.pop(KEY + "pending_steps", 0)
    if pending and run.steps_done == 0:
        train(run, pending)
    if scenario_key and scenario_key in SCENARIOS and SCENARIOS[scenario_key].config == run.config:
        st.info(f"**{SCENARIOS[scenario_key].title}.** {SCENARIOS[scenario_key].tell(run)}", icon=":material/school:")


def _run_buttons(run: Run) -> None:
    playing = st.session_state.get(KEY + "playing", False)
    c1, c2, c3 = st.columns(3)
    if c1.button("Step", icon=":material/skip_next:", shortcut="Right", disabled=playing, width="stretch",
                 help="One update (keyboard: →)"):
        train(run, 1)
    if c2.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                 width="stretch", disabled=run.stopped and not playing, help="Train continuously, 5 steps per update"):
        st.session_state[KEY + "playing"] = not playing
        st.rerun()
    if c3.button("Reset", icon=":material/restart_alt:", width="stretch",
                 help="Back to the very same initial weights, data order and optimiser state"):
        run.reset()
        st.session_state[KEY + "playing"] = False
        st.rerun()
    c4, c5 = st.columns([2, 1], vertical_alignment="bottom")
    n_steps = c4.number_input("Steps to run at once", 1, MAX_STEPS, 100, key=KEY + "n_steps")
    if c5.button("Run", icon=":material/fast_forward:", disabled=playing, width="stretch"):
        train(run, int(n_steps))


def _live_panel(run: Run) -> None:
    """The status, the scrubber and the charts; while playing, a fragment that trains and redraws itself."""
    playing = st.session_state.get(KEY + "playing", False)

    @st.fragment(run_every=0.2 if playing else None)
    def live() -> None:
        if st.session_state.get(KEY + "playing"):
            if run.stopped or run.steps_done >= MAX_STEPS:
                st.session_state[KEY + "playing"] = False
                st.rerun()  # the whole page: the Play button turns back, the panels below return
            train(run, 5, progress=False)
            status_line(run)
            charts(run, run.steps_done, live=True)
            return
        status_line(run)
        n = run.steps_done
        if n == 0:
            return
        if st.session_state.get(KEY + "playing") or st.session_state.get(KEY + "follow", True) \
                or not 1 <= st.session_state.get(KEY + "inspect", 0) <= n:
            st.session_state[KEY + "inspect"] = n
        step = st.slider("Inspect step (scrub back through the recorded history)", 1, max(n, 2), key=KEY + "inspect",
                         disabled=n < 2)
        st.session_state[KEY + "follow"] = step == n
        charts(run, step)

    live()


def _inspection_panels(run: Run) -> None:
    """Diagnosis, downloads, the update ledger and the notes' chain, for the inspected step."""
    h_steps = run.steps_done
    if not h_steps:
        return
    inspect = min(st.session_state.get(KEY + "inspect", h_steps), h_steps)
    st.subheader("Diagnosis")
    ui.reveal(f"lab_diag_{h_steps}_{hash(run.config)}", "exploding, vanishing, a learning rate that is too "
              "large, or healthy? Which layer, which step?", lambda: diagnosis_panel(run))
    if not ui.lecture():
        history_downloads(run)
    st.subheader("The update ledger")
    ledger_panel(run, inspect)
    st.subheader("The notes' chain, live")
    path_panel(run)


def _cause_and_remedy(run: Run, d) -> None:
    """The setting most likely behind the verdict, and one click to the Remedies page with this network as the
    baseline (the Remedies page's "lab" baseline reads this session's run)."""
    cause = likely_cause(run.config, d)
    if cause is None:
        return
    from core.training.remedies import REMEDIES

    remedy = next((k for k in cause.remedies if REMEDIES[k].applies_to(run.config)), None)
    tail = f" Try **{REMEDIES[remedy].title}**." if remedy else ""
    st.markdown(f"**Likely cause — {cause.setting}.** {cause.text}{tail}")
    if remedy is None:
        return
    query = {"rem_baseline": "lab", "rem_v0": remedy}
    st.page_link("pages/3_Remedies.py", label="Compare remedies on this very network", icon=":material/healing:",
                 query_params=query | ({"lecture": "1"} if ui.lecture() else {}))
