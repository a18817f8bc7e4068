"""Streamlit wiring for the training lab: controls → a validated TrainConfig → a Run in session state.

Nothing here computes a gradient; it reads widgets, calls `core`, and renders what comes back.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import fields

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.app.limits import PLAY_SECONDS, SERVER
from core.app.page_views import LAB_TABS
from core.budget import Allowance
from core.charts import training as tc
from core.charts.style import STYLES
from core.charts.template import power_of_ten
from core.numbers import NumberError, fmt, parse_number, sig
from core.training import config as cfg
from core.training.config import MAX_STEPS, ConfigError, TrainConfig
from core.training.diagnosis import diagnose_run, likely_cause
from core.training.inspect_run import ledger_at, path_chain, weight_label
from core.training.memory import give_back
from core.training.scenarios import SCENARIOS
from core.training.trainer import Run, format_edits, parse_edits
from ui.links import linked, write_url
from ui.page import one_torch_thread

one_torch_thread()

ACT_LABELS = {"sigmoid": "sigmoid σ", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU (0.01)",
              "linear": "linear (none)"}
DATA_LABELS = {"spirals": "two spirals (classification)", "moons": "two moons (classification)",
               "regression": "regression: sin(3x₁) + x₂²/2", "csv": "upload a CSV"}
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"}
# A selectbox shows its value on one line of the sidebar (~25 characters): the short names here, the long ones in help.
LOSS_LABELS = {"auto": "automatic", "mse": "mean squared error", "cross_entropy": "cross-entropy"}
LOSS_HELP = "automatic: cross-entropy for the classification data sets, mean squared error for regression."
INIT_SHORT = cfg.INIT_LABELS | {"default": "PyTorch default", "constant": "constant"}
INIT_HELP = ("PyTorch default: Kaiming-uniform with a = √5 (nn.Linear's own). Constant: every weight = the scale. "
             "Normal: N(0, σ²). Uniform: U(−a, a).")
LAYERNORM_SHORT = {"off": "off", "pre": "pre-norm (on z)", "post": "post-norm (on output)"}
RESIDUAL_LABEL = "Residual connections"
RESIDUAL_HELP = ("h_{l+1} = h_l + φ(W_l h_l + b_l): each layer adds its input back (a trained projection where the "
                 "widths differ). Allows up to 100 hidden layers.")
LAYERNORM_LABEL = "Layer normalisation"
LAYERNORM_HELP = ("nn.LayerNorm per hidden layer. Pre-norm: on z_l, before the activation. Post-norm: on the layer's "
                  "output (with residual connections: on the residual stream h_l + φ(z_l)).")
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
        st.error(f"{label}: {fmt(value)} is outside the allowed range {sig(lo, 4)} … {sig(hi, 4)}.",
                 icon=":material/warning:")
        return None
    if value and not float(value):  # as a link's value: refused, never silently rounded to 0
        st.error(f"{label}: {fmt(value)} is too small for a float; it would be rounded to 0.", icon=":material/warning:")
        return None
    return float(value)


def config_controls() -> tuple[TrainConfig | None, bytes | None]:
    """All hyperparameters; returns the validated config (None after showing what is wrong) and CSV bytes."""
    init_widgets()
    values: dict = {}
    csv_bytes = None
    full = not ui.lecture()  # in lecture mode the settings fold away: scenarios and Step/Run/Play stay
    with st.expander("Network", expanded=full, icon=":material/hub:"):
        values["residual"] = st.toggle(RESIDUAL_LABEL, key=KEY + "residual", help=RESIDUAL_HELP)
        max_depth = cfg.MAX_RESIDUAL_DEPTH if values["residual"] else cfg.LIMITS["depth"][1]
        if st.session_state.get(KEY + "depth", 1) > max_depth:  # residual switched off (or a link) at depth > 50
            st.session_state[KEY + "depth"] = max_depth
            st.info(f"Without residual connections the lab trains at most {max_depth} hidden layers: the depth is "
                    f"now {max_depth}.", icon=":material/info:")
        values["depth"] = st.slider("Hidden layers", 1, max_depth, key=KEY + "depth")
        values["width"] = st.slider("Units per hidden layer", 1, 256, key=KEY + "width")
        values["activation"] = st.selectbox("Activation", cfg.ACTIVATIONS, format_func=ACT_LABELS.get,
                                            key=KEY + "activation")
        values["layernorm"] = st.selectbox(LAYERNORM_LABEL, cfg.LAYERNORMS, format_func=LAYERNORM_SHORT.get,
                                           key=KEY + "layernorm", help=LAYERNORM_HELP)
        if values["residual"] or values["layernorm"] != "off":
            with st.popover("Why this changes the gradient", icon=":material/school:", width="stretch"):
                architecture_explainer(values["residual"], values["layernorm"])
    with st.expander("Initialisation", expanded=full, icon=":material/casino:"):
        values["init"] = st.selectbox("Weights", cfg.INITS, format_func=INIT_SHORT.get, key=KEY + "init",
                                      help=INIT_HELP)
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
        values["loss"] = st.selectbox("Loss", cfg.LOSSES, format_func=LOSS_LABELS.get, key=KEY + "loss",
                                      help=LOSS_HELP)
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
            run.retrack(track, SERVER)
        except ConfigError:
            pass
    except ConfigError as err:
        st.error(str(err), icon=":material/warning:")
        st.session_state.pop(KEY + "run", None)
        return None
    if st.session_state.get(KEY + "run") is not None and not st.session_state.get(KEY + "pending_steps"):
        st.toast("Settings changed: a new run starts from step 0.", icon=":material/restart_alt:")
    if run.footprint(MAX_STEPS).peak > LARGE_STEP:  # when this run is dropped (new settings, the session ended)
        weakref.finalize(run, give_back)  # its memory goes back to the system, not only to the allocator
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
    finally:
        trim_if_large(run)


LARGE_STEP = 32 * 10**6  # bytes: after runs whose steps take more, freed memory is handed back to the system


def trim_if_large(run: Run) -> None:
    """Hand freed memory back to the operating system after a run whose steps used much of it (glibc keeps
    freed pages otherwise, and the server's resident size would stay at its peak)."""
    if run.footprint(run.steps_done).step > LARGE_STEP:
        give_back()


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
    """Four numbers of the latest step (a fifth where a value first became inf or NaN)."""
    h = run.history.arrays()
    n = len(h["loss"])
    if n == 0:
        st.info("No steps yet: press **Step** (or the → key), **Run**, or **Play**.", icon=":material/play_arrow:")
        return
    nf = run.nonfinite
    cols = st.container(key=KEY + "status").columns(5 if nf is not None else 4)
    cols[0].metric("Steps", f"{n:,}")
    cols[1].metric("Loss", _g(h["loss"][-1]), delta=_delta(h["loss"]), delta_color="inverse")
    cols[2].metric("‖∂L/∂W‖ (all layers)", _g(h["grad_norm"][-1]))
    cols[3].metric("Largest ‖W_l‖", _g(float(np.max(h["weight"][-1]))))
    if nf is not None:
        cols[4].metric("First inf/NaN", f"step {nf.step}", delta=f"{nf.kind} in {nf.tensor}", delta_color="off",
                       help=nf.explain())


def _delta(loss: np.ndarray) -> str | None:
    if len(loss) < 2 or not np.isfinite(loss[-2:]).all():
        return None
    return _g(loss[-1] - loss[-2])


def _g(x: float) -> str:
    """4 significant digits, thousands separators, × 10ⁿ for very large or small numbers, ∞ and NaN spelled out."""
    return sig(x, 4)


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
    cut = None
    if (layer, row, col) != run.track:
        with st.spinner("Replaying the run to follow this weight…"):
            try:
                cut = run.retrack((layer, row, col), SERVER)
                st.session_state[KEY + "track"] = (layer, row, col)
            except ConfigError as err:
                st.warning(f"Cannot follow this weight: {err}", icon=":material/block:")
            finally:
                trim_if_large(run)
    if run.ledger_replayed is not None:  # a replay the time limit stopped: go on where it stopped
        if st.button("Continue the replay", icon=":material/replay:", key=KEY + "continue_replay"):
            with st.spinner("Replaying the run to follow this weight…"):
                cut = run.continue_retrack(SERVER)
        if run.ledger_replayed is not None:
            st.warning(cut or f"The ledger of this weight is replayed for steps 1–{run.ledger_replayed:,} so far. "
                       "Continue the replay to go on.", icon=":material/timer:")
    h = run.history.arrays()
    if len(h["loss"]) and not run.ledger_known(step):
        st.info(f"Step {step:,} is not replayed yet for {weight_label(*run.track)}: continue the replay, or inspect "
                f"a step up to {run.ledger_replayed:,}.", icon=":material/replay:")
    elif len(h["loss"]):
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
            _set_weight(run, layer, row, col, value)


def _set_weight(run: Run, layer: int, row: int, col: int, text: str) -> None:
    """Set the inspected weight to the typed number (parsed as every number box is), and say truly what follows."""
    label = weight_label(layer, row, col)
    nf = run.nonfinite
    if nf is not None:  # a stopped run takes no further step: setting a weight would promise one
        st.error(f"This run stopped at step {nf.step:,} when a value became {nf.kind}, so no step can start from a "
                 f"hand-set weight. Press **Reset** (the same initial weights) and set {label} before training.",
                 icon=":material/warning:")
        return
    try:
        value = parse_number(text, name=label, limit=10**6)
        run.set_weight(layer, row, col, float(value))
    except (NumberError, ConfigError) as err:
        st.error(f"Cannot set the weight: {err}", icon=":material/warning:")
        return
    stored = float(run.weights[layer][row, col].detach())
    note = "" if stored == value else f" ({run.config.dtype} stores it as {sig(stored, 8)})"
    st.success(f"{label} = {fmt(value)}{note}. The next step, step {run.steps_done + 1:,}, starts from it.")


def _effect(value: float) -> str:
    if not math.isfinite(value):
        return "not finite"
    return "amplifies (|f| > 1)" if abs(value) > 1 else ("keeps (|f| = 1)" if abs(value) == 1 else "shrinks (|f| < 1)")


def path_panel(run: Run) -> None:
    """The notes' chain, live: the local factors along one path for the first training sample."""
    sizes = [run.dataset.n_features] + [run.config.width] * run.n_hidden + [run.dataset.n_outputs]
    if st.session_state.get(KEY + "path_sizes") != tuple(sizes) or KEY + "path" not in st.session_state:
        st.session_state[KEY + "path"] = ", ".join("1" for _ in sizes)  # a new network: a path that fits it
        st.session_state[KEY + "path_sizes"] = tuple(sizes)
    text = st.text_input("Path: one unit per layer (input, hidden layers…, output), 1-based", key=KEY + "path")
    try:
        parts = [p.strip() for p in text.replace(";", ",").split(",")]
        if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):  # digits 0–9, as every number
            raise ValueError
        path = tuple(int(p) - 1 for p in parts)
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
    st.table(df.style.apply(lambda r: ["font-weight: bold; background-color: #fde0d0; color: #1a1a1a"] * len(r)
                            if r.name == culprit else [""] * len(r), axis=1), hide_index=True)  # HTML: never cut
    summary = chain.summary
    st.caption(f"One path's term of ∂L/∂W₁[{path[1] + 1}, {path[0] + 1}] for the first training sample at the "
               f"current weights; the full gradient sums such products over every path. {summary[0].upper()}"
               f"{summary[1:]}.")




# ---------------------------------------------------------------- the page: scenarios, settings, the instrument

SCENARIO_PICK = KEY + "scenario_pick"
# On the projector (21 px type) the scenarios keep to one row and the numbers give the charts room.
LECTURE_LAB_CSS = """<style>
.st-key-lab_scenario_pick button { padding: 0.1rem 0.55rem; min-height: 1.9rem; }
.st-key-lab_scenario_pick button p { font-size: 0.72rem; }
.st-key-lab_status [data-testid="stMetricValue"] { font-size: 1.5rem; }
.st-key-lab_status [data-testid="stMetricLabel"] p { font-size: 0.8rem; }
</style>"""
# The latest numbers can be as long as 2.998 × 10¹⁹: a size at which five of them fit a row without being cut.
LAB_CSS = """<style>.st-key-lab_status [data-testid="stMetricValue"] { font-size: 1.75rem; }</style>"""
TICK_SECONDS = 0.05  # Play asks for a redraw this long after the last one has been drawn
TICK_WORK = 0.02  # … and trains for this much CPU time each time (at least one step), however busy the server
HEAT_NORMS = {"grad_w": "‖∂L/∂W_l‖", "grad_h": "‖∂L/∂h_l‖"}
DETAIL_TABS = LAB_TABS  # their labels are values of the link's lab_tab


def _pick_scenario() -> None:
    """The scenario pills' callback: load the picked scenario (clicking the active one again reloads it)."""
    key = st.session_state.get(SCENARIO_PICK) or st.session_state.get(KEY + "scenario")
    if key in SCENARIOS:
        load_scenario(key)
        st.session_state[SCENARIO_PICK] = key


def scenario_picker() -> None:
    """One click sets every control and trains the scenario's first steps; the active one stays marked while
    the settings are the scenario's."""
    active = st.session_state.get(KEY + "scenario")
    run = st.session_state.get(KEY + "run")
    if active not in SCENARIOS or (run is not None and run.config != SCENARIOS[active].config
                                   and not st.session_state.get(KEY + "pending_steps")):
        active = None
    st.session_state[SCENARIO_PICK] = active
    st.html(LECTURE_LAB_CSS if ui.lecture() else LAB_CSS)
    st.pills("Scenarios (one click sets everything and trains a few steps)", list(SCENARIOS), key=SCENARIO_PICK,
             format_func=lambda k: SCENARIOS[k].label, on_change=_pick_scenario, width="content",
             label_visibility="collapsed", help="One click sets everything and trains a few steps.")


def workbench() -> None:
    """Settings in the sidebar; in the page the instrument: buttons, numbers, charts, then the details."""
    with st.sidebar:
        st.markdown("#### Network and training")
        config, csv_bytes = config_controls()
    run = current_run(config, csv_bytes) if config is not None else None
    if run is None:
        st.info("Fix the highlighted setting in the sidebar (*Network and training*) to build the network.",
                icon=":material/tune:")
        return
    replay_link(run)
    _train_pending(run)
    _instrument(run)


def _train_pending(run: Run) -> None:
    """A scenario's first steps, queued by its button."""
    pending = st.session_state.pop(KEY + "pending_steps", 0)
    if pending and run.steps_done == 0:
        train(run, pending)


def _scenario_story(run: Run, step: int) -> None:
    """The story of the scenario whose settings are on screen, measured up to the inspected step."""
    scenario_key = st.session_state.get(KEY + "scenario")
    if scenario_key and scenario_key in SCENARIOS and SCENARIOS[scenario_key].config == run.config:
        st.info(f"**{SCENARIOS[scenario_key].title}.** {SCENARIOS[scenario_key].tell(run, step)}",
                icon=":material/school:")


def _playing() -> bool:
    return bool(st.session_state.get(KEY + "playing", False))


def _set_playing(value: bool) -> None:
    """Also Play/Pause's callback, which runs before the fragment does, so the button is redrawn at once. It sets
    a state rather than toggling one: the rerun that starts or stops the timer may deliver the click again."""
    st.session_state[KEY + "playing"] = value


def _instrument(run: Run) -> None:
    """Everything that changes when the run trains, in one fragment: a Step, a Play tick or a scrub reruns
    this alone, not the settings; while playing it reruns itself every TICK_SECONDS."""

    st.session_state[KEY + "timer_on"] = _playing()  # whether this fragment reruns itself on a timer

    @st.fragment(run_every=TICK_SECONDS if _playing() else None)
    def instrument() -> None:
        one_torch_thread()  # a fragment rerun runs in a thread of its own
        if _playing() and (run.stopped or run.steps_done >= MAX_STEPS):
            _set_playing(False)
        _toolbar(run)
        if _playing():
            _tick(run)
        _instrument_views(run)
        if not _playing():  # a Step, a scrub or a tab reruns only this fragment: the address bar follows here
            write_url("lab", view_values())
        if st.session_state.get(KEY + "timer_on") != _playing():
            st.rerun(scope="app")  # Play or Pause, drawn already: now start or stop the fragment's timer

    instrument()


def _instrument_views(run: Run) -> None:
    """The instrument's content after its buttons: numbers, the main charts and scrubber, then (not while
    playing) the rest."""
    status_line(run)
    if run.steps_done == 0:
        return
    step = _inspected_step(run)
    _main_row(run, step)
    _scrubber(run)
    if _playing():
        st.caption("Playing: pause for the details below (ledger, diagnosis, the notes' chain).")
        return
    _second_row(run)
    _details(run, step)


def _tick(run: Run) -> None:
    """One Play tick: train for TICK_WORK seconds of this thread's CPU time (one step at least): with a class
    playing at once each tick waits for its turns, but still trains as much as it draws."""
    import time

    allowance = play_allowance()
    start = time.thread_time()  # the processor's time this session took, not the time it waited for its turn
    try:
        run.run(MAX_STEPS - run.steps_done, budget=SERVER, seconds=min(TICK_WORK, allowance.left))
    except ConfigError as err:
        _set_playing(False)
        st.session_state[KEY + "play_stopped"] = str(err)
    allowance.spend(time.thread_time() - start)
    if allowance.exhausted:
        _set_playing(False)
        st.session_state[KEY + "play_stopped"] = (
            f"Play stopped: this session has trained for {allowance.seconds:g} s in Play, the most one visitor may "
            f"take from a shared server's cores unattended (the run has {run.steps_done:,} steps). Press **Run** to "
            "train more steps at once.")


def play_allowance() -> Allowance:
    """Play's training time in this session, in total over every tick and every run (Run and Step are bounded per
    request instead)."""
    return st.session_state.setdefault(KEY + "play_allowance", Allowance(PLAY_SECONDS))


def _toolbar(run: Run) -> None:
    playing = _playing()
    c1, c2, c3, c4, c5 = st.columns([1, 1, 1, 1.3, 1], vertical_alignment="bottom")
    if c1.button("Step", icon=":material/skip_next:", shortcut="Right", disabled=playing, width="stretch",
                 help="One update (keyboard: →)"):
        train(run, 1)
    stopped = st.session_state.pop(KEY + "play_stopped", None) if not playing else None
    if stopped:
        st.warning(stopped, icon=":material/timer:")
    c2.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
              width="stretch", disabled=run.stopped and not playing, on_click=_set_playing, args=(not playing,),
              help="Train continuously, redrawn more than ten times a second")
    if c3.button("Reset", icon=":material/restart_alt:", width="stretch",
                 help="Back to the very same initial weights, data order and optimiser state"):
        run.reset()
        _set_playing(False)
        st.session_state[KEY + "follow"] = True
    n_steps = c4.number_input("Steps to run at once", 1, MAX_STEPS, 100, key=KEY + "n_steps",
                              label_visibility="collapsed", help="Steps to run at once with **Run**")
    if c5.button("Run", icon=":material/fast_forward:", disabled=playing, width="stretch"):
        train(run, int(n_steps))


def last_good_step(run: Run) -> int:
    """The step the views open on: the latest, or the last one before a value became inf or NaN."""
    n = run.steps_done
    nf = run.nonfinite
    return max(1, nf.step - 1) if nf is not None and nf.step <= n else n


def _scrubbed() -> None:
    """The scrubber's callback: remember the chosen step; follow new steps only while it stands at the end."""
    chosen = st.session_state[KEY + "inspect"]
    st.session_state[KEY + "inspect_chosen"] = chosen
    st.session_state[KEY + "follow"] = chosen == st.session_state.get(KEY + "inspect_end", 0)


def _inspected_step(run: Run) -> int:
    """The inspected step: follows training (to the last finite step) unless the learner scrubbed back.

    The chosen step is kept apart from the slider's own state and handed to it on every run: a slider whose
    range grew is a new widget to Streamlit, which would otherwise start it again at its minimum.
    """
    n = run.steps_done
    end = last_good_step(run)
    chosen = st.session_state.get(KEY + "inspect_chosen", 0)
    if _playing() or st.session_state.get(KEY + "follow", True) or not 1 <= chosen <= n:
        chosen = end
    st.session_state[KEY + "inspect_chosen"] = st.session_state[KEY + "inspect"] = chosen
    st.session_state[KEY + "inspect_end"] = end
    return chosen


def _scrubber(run: Run) -> None:
    """The slider under the charts that moves the inspected step through the recorded history."""
    n = run.steps_done
    bad = f" · step {run.nonfinite.step} is where a value became {run.nonfinite.kind}" if run.nonfinite else ""
    st.slider(f"Inspect step (drag, or ← → Home End) — the flow chart, dashed lines and details follow it{bad}",
              1, max(n, 2), key=KEY + "inspect", disabled=n < 2 or _playing(), on_change=_scrubbed)


def _chart_height() -> int:
    return 230 if ui.lecture() else 240


def _main_row(run: Run, step: int) -> None:
    """Loss, gradient flow at the inspected step, and the heat map: always in view together."""
    heat = st.session_state.get(KEY + "heat_norm", "grad_w")
    built = tc.main_charts(run, step, heat=heat if heat in HEAT_NORMS else "grad_w", height=_chart_height())
    a, b, c = st.columns([1, 1, 1.25])
    ui.chart(built["loss"], a, export=False)
    ui.chart(built["flow"], b, export=False)
    b.caption("blue: ‖∂L/∂W_l‖, the weight gradient · orange: ‖∂L/∂h_l‖, the signal sent back to layer l")
    if built["heat"] is not None:
        ui.chart(built["heat"], c, export=False)
        c.caption(f"red: above 1 · purple: about 1 · blue: below 1 · {STYLES[ui.theme()].nonfinite_word}: inf or NaN · "
                  f"grey: exactly 0 (the colours mean the same in every run: ≤ {power_of_ten(-tc.HEAT_DECADES)} and "
                  f"≥ {power_of_ten(tc.HEAT_DECADES)} share the end colours)")
    else:
        c.info("No hidden layers, so no heat map.", icon=":material/info:")


def _second_row(run: Run) -> None:
    """What the network computes, the heat map's norm, and the two-gradients explanation."""
    from core.training.surface import surface

    # The map shows the weights after the latest step: a scrub or a tab switch reuses it, a step or an edit not.
    # (A weak reference names the run: an id can be reused by the next run, and the old run must not be kept.)
    key = (run.steps_done, repr(run.edits))
    cached = st.session_state.get(KEY + "surface")
    if cached is None or cached[0]() is not run or cached[1] != key:
        cached = st.session_state[KEY + "surface"] = (weakref.ref(run), key, surface(run))
    left, right = st.columns([1, 1])
    with left:
        ui.chart(tc.surface_chart(cached[2], height=320), export=False)
        st.caption(f"The model after step {run.steps_done:,}, over the input plane, with the data on top. When the "
                   f"gradient explodes, this map stops improving or turns {STYLES[ui.theme()].nonfinite_word} (NaN).")
    with right:
        st.segmented_control("Heat map shows", list(HEAT_NORMS), format_func=HEAT_NORMS.get, key=KEY + "heat_norm",
                             default="grad_w", required=True)
        st.caption("**Two different gradients.** ‖∂L/∂W_l‖ is what the optimiser uses to change layer l's weights; "
                   "‖∂L/∂h_l‖ is the signal back-propagated to layer l's output — the product of the local factors "
                   "above it, which is what grows or shrinks geometrically with depth. For ReLU nets the first can "
                   "look flat across layers while the second changes by a constant factor per layer.")
        if run.nonfinite is not None:
            st.error(run.nonfinite.explain() + " Press **Reset** (or change a setting) to start again.",
                     icon=":material/error:")


def _details(run: Run, step: int) -> None:
    """The lazy detail tabs: only the open one is built."""
    for kept in ("path", "path_sizes", "threshold", "set_value"):  # widgets of closed tabs keep their values
        if KEY + kept in st.session_state:
            st.session_state[KEY + kept] = st.session_state[KEY + kept]
    tabs = st.tabs(DETAIL_TABS, key=KEY + "tab", on_change="rerun")
    story, network, ledger, chain, weights, ratio, hist, downloads = tabs
    if story.open:
        with story:
            _scenario_story(run, step)
            h_steps = run.steps_done
            st.markdown("##### Diagnosis")
            ui.reveal(f"lab_diag_{h_steps}_{hash(run.config)}", "exploding, vanishing, a learning rate that is too "
                      "large, or healthy? Which layer, which step?", lambda: diagnosis_panel(run))
    if network.open:
        with network:
            network_panel(run, step)
    if ledger.open:
        with ledger:
            ledger_panel(run, step)
    if chain.open:
        with chain:
            path_panel(run)
    for tab, name, note in ((weights, "weights", "The notes' first symptom: weights that become unexpectedly large."),
                            (ratio, "ratio", "‖ΔW_l‖/‖W_l‖: how much one step changes a layer relative to its size. "
                             "Around 10⁻³ is the usual rule of thumb (shaded band 10⁻⁴ … 10⁻²); near 1 or above, each "
                             "step rewrites the layer."),
                            (hist, "hist", "")):
        if tab.open:
            with tab:
                ui.chart(tc.detail_chart(run, name, step))
                if note:
                    st.caption(note)
    if downloads.open and not ui.lecture():
        with downloads:
            history_downloads(run)


def intro() -> None:
    """One line on what the lab is (folded away in lecture mode, where the screen belongs to the charts)."""
    if not ui.lecture():
        st.caption("A real torch network, trained one update at a time with the settings in the sidebar. Every step "
                   "records each layer's gradients, weights and units; the details below show the arithmetic of one "
                   "weight's update.")


def network_panel(run: Run, step: int) -> None:
    """The network drawn at the inspected step: every unit for small nets, one block per layer for large
    ones, coloured and sized by the recorded gradients, the culprit layer marked."""
    from core.charts.network import network_frames, network_spec
    from core.charts.template import Filled

    h = run.history.arrays()
    sizes = [int(run.weights[0].shape[1])] + [int(w.shape[0]) for w in run.weights]
    grads = run.last_weight_grads if step == run.steps_done else None
    data = network_frames(h["grad_w"][step - 1], h["grad_h"][step - 1], sizes, step=step, weight_grads=grads,
                          nonfinite=run.nonfinite)
    ui.chart(Filled(network_spec(sizes, data.unit_level, ui.theme()), data.frames, theme=ui.theme()))
    st.caption(data.caption)
    architecture_panel(run)


def architecture_explainer(residual: bool, layernorm: str) -> None:
    """Why residual connections and layer norm change the chain-rule product, and where they do not help."""
    if residual:
        st.markdown("**Residual connections.** Each hidden layer adds its input back, so its Jacobian gains an "
                    "identity:")
        st.latex(r"h_{l+1} = h_l + \varphi(W_l h_l + b_l) \;\Rightarrow\; "
                 r"\frac{\partial h_{l+1}}{\partial h_l} = I + \operatorname{diag}\big(\varphi'(z_l)\big)\,W_l")
        st.markdown("Without the identity the back-propagated signal is multiplied by diag(φ'(z_l))·W_l at every "
                    "layer, and the product vanishes or explodes unless every factor is close to 1. With it, the "
                    "product expands into a sum over every subset of layers, including the path that skips them "
                    "all: when the W_l are small the gradient still reaches layer 1 undamped. Where the widths "
                    "differ (the 2 inputs into the first hidden layer) a trained projection P replaces I.")
        st.markdown("**Where it still explodes.** Residuals are no cure for large weights: I + diag(φ')W is then "
                    "no smaller than diag(φ')W, so the product still grows. And nothing bounds the stream: each "
                    "layer adds φ(z_l) to h_l, so the variance of h grows with depth (with ReLU and He "
                    "initialisation it doubles at every layer), and so do the gradients of the later layers. "
                    "ResNets pair residuals with batch norm, Transformers with layer norm.")
    if layernorm != "off":
        st.markdown("**Layer normalisation** (nn.LayerNorm) standardises each sample across the units of a layer, "
                    "then scales and shifts it by trained γ and β:")
        st.latex(r"\operatorname{LN}(u) = \gamma\,\frac{u - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,\quad "
                 r"\mu = \tfrac1n\textstyle\sum_i u_i,\ \sigma^2 = \tfrac1n\sum_i (u_i - \mu)^2")
        st.markdown("Unlike batch norm it needs no batch. Scaling W_l by c leaves LN(W_l h) unchanged and divides its "
                    "Jacobian by c, so a wrong weight scale cannot compound from layer to layer.")
        if layernorm == "pre":
            st.markdown("**Pre-norm** (chosen): LN on z_l, before the activation — " +
                        ("h_{l+1} = h_l + φ(LN(W_l h_l + b_l)). The identity path is never normalised: the gradient "
                         "keeps its direct route, while the stream still grows with depth." if residual else
                         "h_{l+1} = φ(LN(W_l h_l + b_l)), where batch norm would sit."))
        else:
            st.markdown("**Post-norm** (chosen): LN on the layer's output — " +
                        ("h_{l+1} = LN(h_l + φ(W_l h_l + b_l)), as in the original Transformer. The stream's size is "
                         "fixed, but the identity path passes through LN at every layer, so the gradient is "
                         "rescaled by each layer's normalisation on its way back (Xiong et al. 2020: post-norm "
                         "Transformers need a learning-rate warm-up, pre-norm ones do not)." if residual else
                         "h_{l+1} = LN(φ(W_l h_l + b_l)), after the activation: the next layer sees a standardised "
                         "input."))


def architecture_panel(run: Run) -> None:
    """For a residual or layer-normalised run: how the stream's size and the back-propagated signal change with
    depth, measured on this run (the numbers behind `architecture_explainer`)."""
    from core.training.inspect_run import stream_rms, subscript

    config = run.config
    if not (config.residual or config.layernorm != "off"):
        return
    rms = stream_rms(run.model, run.x)
    h = run.history.arrays()
    L = len(rms)
    c1, c2, c3 = st.columns(3)
    c1.metric("RMS of h₁ (now)", _g(rms[0]))
    c2.metric(f"RMS of h{subscript(L)} (now)", _g(rms[-1]))
    gain = h["grad_h"][0, 0] / h["grad_h"][0, -1] if len(h["loss"]) and L >= 2 else math.nan
    c3.metric(f"‖∂L/∂h₁‖ / ‖∂L/∂h{subscript(L)}‖ at step 1", _g(gain) if len(h["loss"]) else "no step yet")
    growth = rms[-1] / rms[0] if rms[0] > 0 else math.inf
    st.caption(f"Over {L} hidden layers the hidden output's size changes by a factor of {_g(growth)} at the current "
               "weights, on all the training samples. "
               + _stream_note(config.residual, config.layernorm))


def _stream_note(residual: bool, layernorm: str) -> str:
    if layernorm == "post":
        return "Post-norm standardises every h_l, so the stream cannot grow."
    if layernorm == "pre":
        return ("Pre-norm standardises each z_l, but the residual stream h_l = h_{l−1} + φ(z_l) still grows: every "
                "layer adds a standard-sized φ(z_l)." if residual else "Pre-norm standardises each z_l before the activation.")
    return ("Without normalisation a residual stream is a running sum h_L = P x + Σ φ(z_l): its size grows with depth, "
            "and large weights make each φ(z_l) large — that is where a residual network still explodes.")


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
    # Variant 1 is the remedy to try; the other variants are the page's defaults without it (never the same twice).
    from ui.remedies import DEFAULT_VARIANTS

    others = [k for keys in DEFAULT_VARIANTS for k in keys if k != remedy][:len(DEFAULT_VARIANTS) - 1]
    query = {"rem_baseline": "lab", "rem_v0": remedy} | {f"rem_v{i + 1}": k for i, k in enumerate(others)}
    st.page_link("pages/3_Remedies.py", label="Compare remedies on this very network", icon=":material/healing:",
                 query_params=query | ({"lecture": "1"} if ui.lecture() else {}))


# ---------------------------------------------------------------- the view in a link: replayed, not stored


def view_values() -> dict[str, object]:
    """What the link carries beyond the settings: the trained steps, the inspected step (0 while it follows the
    latest), the tracked weight (1-based), the heat map's norm and the open detail tab."""
    run: Run | None = st.session_state.get(KEY + "run")
    heat = st.session_state.get(KEY + "heat_norm", "grad_w")
    tab = st.session_state.get(KEY + "tab", DETAIL_TABS[0])
    values: dict[str, object] = {KEY + "steps": 0, KEY + "inspect_step": 0, KEY + "edits": "", KEY + "t_layer": 1,
                                 KEY + "t_row": 1,
                                 KEY + "t_col": 1, KEY + "heat_norm": heat if heat in HEAT_NORMS else "grad_w",
                                 KEY + "tab": tab if tab in DETAIL_TABS else DETAIL_TABS[0]}
    if run is None:
        return values
    following = st.session_state.get(KEY + "follow", True)
    chosen = st.session_state.get(KEY + "inspect_chosen", 0)
    values |= {KEY + "steps": run.steps_done, KEY + "edits": format_edits(run.edits),
               KEY + "t_layer": run.track[0] + 1, KEY + "t_row": run.track[1] + 1,
               KEY + "t_col": run.track[2] + 1,
               KEY + "inspect_step": 0 if following or not 1 <= chosen <= run.steps_done else chosen}
    return values


def replay_link(run: Run) -> None:
    """Restore the view a link describes: follow its weight, replay its steps from the seed (the run is
    deterministic per config) within the server's limits, and inspect its step. Says what could not be done."""
    link = linked("lab")
    if not link:
        return
    for name in ("steps", "inspect_step", "edits"):  # only this link's request; written back from the run
        st.session_state.pop(KEY + name, None)
    try:
        edits = parse_edits(str(link.get(KEY + "edits", "") or ""))
    except ConfigError as err:
        edits = []
        st.warning(f"The link's hand-set weights could not be used: {err}.", icon=":material/link_off:")
    track = tuple(int(link.get(KEY + k, 1)) - 1 for k in ("t_layer", "t_row", "t_col"))  # type: ignore[call-overload]
    try:
        cut = run.retrack(track, SERVER)  # type: ignore[arg-type]
        if cut:
            st.warning(cut, icon=":material/timer:")
        st.session_state[KEY + "track"] = track
        for k, v in zip(("t_layer", "t_row", "t_col"), track, strict=True):
            st.session_state[KEY + k] = v + 1
    except ConfigError as err:
        for k in ("t_layer", "t_row", "t_col"):
            st.session_state.pop(KEY + k, None)
        st.warning(f"The link's tracked weight could not be used ({err}); the ledger follows "
                   f"{weight_label(*run.track)} instead.", icon=":material/link_off:")
    steps = int(link.get(KEY + "steps", 0))  # type: ignore[call-overload]
    st.session_state.pop(KEY + "pending_steps", None)  # the link's steps, not a scenario's
    if steps != run.steps_done or edits != run.edits:
        if run.steps_done or run.edits:
            run.reset()
        allowed = SERVER.steps_allowed(run.config.depth, run.config.width) or steps
        if edits:  # the hand-set weights at the steps they were set, then the steps between them
            try:
                with st.spinner(f"Replaying the linked run with {len(edits)} hand-set weight(s)…"):
                    run.check_budget(min(steps, allowed), SERVER)
                    cut = run.replay(edits, min(steps, allowed), SERVER)
                if cut:
                    st.warning(cut, icon=":material/timer:")
            except ConfigError as err:
                st.warning(f"The link's hand-set weights could not be replayed: {err}.", icon=":material/link_off:")
        elif steps:
            st.toast(f"Replaying the linked run: {min(steps, allowed):,} steps from seed {run.config.seed}.",
                     icon=":material/replay:")
            train(run, min(steps, allowed))
            if run.steps_done < steps and run.nonfinite is None:
                st.warning(f"The link asks for {steps:,} trained steps; within this server's limits the replay "
                           f"reached {run.steps_done:,}, which the view shows (press **Run** to train on).",
                           icon=":material/timer:")
    inspect = int(link.get(KEY + "inspect_step", 0))  # type: ignore[call-overload]
    if 1 <= inspect <= run.steps_done:
        st.session_state[KEY + "inspect_chosen"] = inspect
        st.session_state[KEY + "follow"] = False
    else:
        st.session_state[KEY + "follow"] = True
        if inspect:
            st.warning(f"The link inspects step {inspect:,}, but the run has {run.steps_done:,} steps: the view "
                       "shows the latest.", icon=":material/link_off:")
