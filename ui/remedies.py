"""The Remedies page: a baseline and up to four variants side by side, and every remedy ranked alone."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from core.app.limits import SERVER
from core.charts import remedies as cc
from core.numbers import sig
from core.training.config import ConfigError, TrainConfig
from core.training.diagnosis import TRAINED
from core.training.remedies import RECURRENT_REMEDY, REMEDIES, VERDICT_ORDER, compare, fmt_g, loss_text, rank_single_remedies
from core.training.scenarios import SCENARIOS
from ui.lab import KEY as LAB_KEY
from ui.page import one_torch_thread

one_torch_thread()

K = "rem_"
MAX_VARIANTS = 4
DEFAULT_VARIANTS = (["clip_norm"], ["he"], ["batchnorm"], ["smaller_lr"])
DEFAULT_BASELINE = "relu_nan"
KIND_ICONS = {VERDICT_ORDER[0]: ":material/check_circle:", VERDICT_ORDER[1]: ":material/healing:",
              VERDICT_ORDER[2]: ":material/trending_down:", VERDICT_ORDER[3]: ":material/block:"}
BASELINES = {k: s.title for k, s in SCENARIOS.items()} | {"lab": "The training lab's current settings"}
SHORT_BASELINES = {k: s.label for k, s in SCENARIOS.items()} | {"lab": "The lab's settings"}  # fit the box
# A remedy's chip wraps onto two lines instead of ending in "…" (the settings column is narrow).
REMEDIES_CSS = """<style>
[data-testid="stMultiSelect"] div { height: auto !important; max-height: none !important; }
[data-testid="stMultiSelectTagsContainer"] { overflow: visible !important; flex-wrap: wrap !important;
  flex: 1 1 0% !important; min-width: 0 !important; }
[data-testid="stMultiSelectTagsContainer"] span { white-space: normal !important; height: auto !important;
  max-width: 100% !important; overflow: visible !important; text-overflow: clip !important; }
</style>"""


def workbench() -> None:
    """The baseline, variants and settings on the left; the comparison and the ranking on the right."""
    chosen = st.session_state.get(K + "baseline", DEFAULT_BASELINE)
    st.markdown(f"Here each remedy is trained against the same network, the baseline you choose (now: "
                f"*{BASELINES.get(chosen, chosen)}*): identical data, the same seed, and so the same initial weights "
                "wherever the architecture allows.")
    left, right = st.columns([1, 2.5], gap="large")
    with left:
        choice, baseline, csv_bytes = _baseline()
        steps = st.slider("Steps per run", 20, 1000, 200, step=10, key=K + "steps")
        variants = _variants()
        go = st.button("Compare", icon=":material/compare_arrows:", type="primary", width="stretch") or _linked()
        rank = st.button("Which fix works?", icon=":material/leaderboard:", width="stretch",
                         help="Train the baseline with every remedy alone, one at a time, and rank them by evidence: "
                              "final loss against a constant guess, largest gradient norm, verdict.")
        settings = _settings()
    with right:
        if go or rank:
            _train(go, f"{_describe(choice, baseline)}, {steps:,} steps per run", baseline, variants, steps,
                   csv_bytes, settings)
            st.session_state[K + "last"] = "compare" if go else "rank"
        st.session_state[K + "compared"] = K + "outcomes" in st.session_state  # a link replays the comparison
        if st.session_state.get(K + "last") == "rank":  # what was asked for last is in view first
            _ranking()
            _comparison()
        else:
            _comparison()
            _ranking()


def _linked() -> bool:
    """A link that showed a comparison: train it again on opening (the runs are deterministic per config)."""
    from ui.links import linked

    return linked("remedies").get(K + "compared") is True


def _baseline() -> tuple[str, TrainConfig, bytes | None]:
    st.html(REMEDIES_CSS)
    choice = st.selectbox("Baseline", list(BASELINES), index=list(BASELINES).index(DEFAULT_BASELINE),
                          format_func=SHORT_BASELINES.get, key=K + "baseline",
                          help="The full names: " + "; ".join(BASELINES.values()) + ".")
    csv_bytes = None
    if choice == "lab":
        lab_run = st.session_state.get(LAB_KEY + "run")
        if lab_run is None:
            st.info("The training lab has not been opened in this session, so its default network is used.",
                    icon=":material/info:")
            baseline = TrainConfig()
        else:
            baseline, csv_bytes = lab_run.config, lab_run.csv_bytes
    else:
        baseline = SCENARIOS[choice].config
    st.caption(f"{baseline.depth} hidden layers × {baseline.width}, {baseline.activation}, init {baseline.init} "
               f"(scale {sig(baseline.init_scale, 4)}), learning rate {sig(baseline.lr, 4)}, {baseline.optimizer}, batch "
               f"{baseline.batch_size}, seed {baseline.seed}.")
    return choice, baseline, csv_bytes


def _variants() -> list[tuple[str, tuple[str, ...]]]:
    variants = []
    for i in range(MAX_VARIANTS):
        keys = st.multiselect(f"Variant {i + 1}", list(REMEDIES), default=DEFAULT_VARIANTS[i],
                              format_func=lambda k: REMEDIES[k].title, key=f"{K}v{i}",
                              placeholder="no remedies: this variant is not trained")
        if keys:
            variants.append((f"{i + 1}: " + " + ".join(REMEDIES[k].title for k in keys), tuple(keys)))
    return variants


def _settings() -> dict[str, float]:
    """Each remedy's formula, explanation and its one setting."""
    st.subheader("The remedies and their settings")
    settings = {}
    for remedy in REMEDIES.values():
        with st.expander(remedy.title):
            st.latex(remedy.formula)
            st.markdown(remedy.explain)
            if remedy.setting is not None:
                s = remedy.setting
                settings[remedy.key] = st.number_input(s.label, min_value=s.lo, max_value=s.hi, value=s.default,
                                                       format="%g", key=f"{K}set_{remedy.key}")
    with st.expander("Recurrent nets: " + RECURRENT_REMEDY[0]):
        st.markdown(RECURRENT_REMEDY[1])
        through_time = next((p for p in ui.PAGES if "Through_time" in p[0]), None)
        if through_time:
            st.page_link(through_time[0], label="Train an RNN and an LSTM side by side", icon=through_time[2])
    return settings


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)

    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 100) == 0:
            bar.progress(min(1.0, done / total), text=f"{text}: step {done:,} of {total:,}")
    return bar, report


def _describe(choice: str, config: TrainConfig) -> str:
    return f"{BASELINES[choice]} ({config.depth} × {config.width} {config.activation}, lr {sig(config.lr, 4)})"


def _train(go: bool, about: str, baseline: TrainConfig, variants, steps: int, csv_bytes: bytes | None,
           settings: dict[str, float]) -> None:
    """Compare (go) or rank every remedy; the outcome is kept in the session for the panels below."""
    try:
        if go:
            bar, report = _progress_bar(f"Training the baseline and {len(variants)} variants")
            st.session_state[K + "outcomes"] = (about, compare(baseline, variants, steps, report, csv_bytes, settings,
                                                               budget=SERVER))
        else:
            bar, report = _progress_bar("Trying every remedy alone")
            st.session_state[K + "ranking"] = (about, rank_single_remedies(baseline, steps, report, csv_bytes,
                                                                           settings, budget=SERVER))
        bar.empty()
    except ConfigError as err:
        st.error(f"This combination cannot be trained: {err}", icon=":material/warning:")


def _comparison() -> None:
    stored = st.session_state.get(K + "outcomes")
    if stored is None:
        st.info("Choose a baseline and up to four variants, then press **Compare**; or press **Which fix works?** "
                "to try every remedy alone.", icon=":material/compare:")
        return
    about, outcomes = stored
    st.subheader("Side by side")
    if outcomes[0].cut:
        st.warning(outcomes[0].cut, icon=":material/timer:")
    st.caption(f"Baseline: {about} (a run that overflows to inf or NaN stops there).")
    st.table(pd.DataFrame(cc.summary_rows(outcomes)), hide_index=True)  # HTML: a verdict wraps, it is never cut
    ui.chart(cc.loss_overlay(outcomes))
    ui.chart(cc.grad_norm_overlay(outcomes))
    which = st.segmented_control("Per-layer gradient", ["grad_h", "grad_w"], default="grad_h", required=True,
                                 format_func={"grad_h": "‖∂L/∂h_l‖ back-propagated signal",
                                              "grad_w": "‖∂L/∂W_l‖ weight gradient"}.get, key=K + "flow")
    ui.chart(cc.flow_overlay(outcomes, which))
    st.caption("Red triangles at the top edge mark inf or NaN: a run that overflowed stops there.")
    for o in outcomes:
        st.markdown(f"**{o.label}** — {o.diagnosis.headline}")


def _ranking() -> None:
    ranked = st.session_state.get(K + "ranking")
    if not ranked:
        return
    about, (base, rows) = ranked
    st.subheader("Which fix works? Every remedy alone")
    if base.cut:
        st.warning(base.cut, icon=":material/timer:")
    b = base.baseline_loss
    guess = f"a constant guess scores {fmt_g(b)}" if b == b else "this task has no constant-guess baseline"
    st.caption(f"Baseline: {about}: {loss_text(base)}; {guess}. **Cures it**: trains (final loss under "
               f"{TRAINED:.0%} of a constant guess's), nothing non-finite, a healthy back-propagated signal. **Helps, "
               "not cured**: trains, but the gradients are still exploding, vanishing or unstable. **Trades it for "
               "vanishing**: does not train, and the gradient now vanishes. **Does not help**: overflows, or ends "
               "no better than a constant guess. Sorted by verdict, then by final loss against the constant guess.")
    # The whole width of the column, table above chart: every verdict and number in full, every remedy labelled.
    st.table(pd.DataFrame(cc.ranking_rows(rows)), hide_index=True)
    st.caption("*final loss*, in brackets: the final loss ÷ the loss of a constant guess (100% = learnt nothing).")
    ui.chart(cc.ranking_chart(rows))
    with st.expander("The evidence, remedy by remedy", expanded=not ui.lecture()):
        for kind in VERDICT_ORDER:
            group = [(o, why) for o, k, why in rows if k == kind]
            if group:
                st.markdown(f"##### {kind.capitalize()}")
                for o, why in group:
                    st.markdown(f"{KIND_ICONS[kind]} **{o.label}** — {why}")
