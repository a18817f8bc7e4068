"""Streamlit wiring for the Edge of chaos page: butterfly effect, phase diagram, the cliff.

Pure computations are cached with `st.cache_data` (plain values in, arrays out, bounded entries);
training runs are not cached.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

import ui
from core.app.limits import SERVER
from core.chaos.butterfly import EPS_RANGE, MAX_BUTTERFLY_STEPS, butterfly
from core.chaos.cliff import B0_DEFAULT, LR_DEFAULT, W_DEFAULT, bistable_band, descend, extent, loss, wall_position
from core.chaos.mean_field import PHASE_ACTIVATIONS, chi, measured_factor, phase_diagram, sigma_w_of
from core.chaos.residual import BRANCH_SCALES, gains_through_depth
from core.charts import chaos as cc
from core.numbers import fmt, sig
from core.training.config import INIT_LABELS, ConfigError, TrainConfig
from core.training.scenarios import SCENARIOS
from ui.lab import KEY as LAB_KEY
from ui.page import one_torch_thread

one_torch_thread()

K = "edge_"
CONFIGS = {"he_relu": "stable: " + SCENARIOS["he_relu"].title, "relu_nan": "exploding: " + SCENARIOS["relu_nan"].title,
           "big_lr": "diverging: " + SCENARIOS["big_lr"].title, "relu_big_init": SCENARIOS["relu_big_init"].title,
           "sigmoid_default": SCENARIOS["sigmoid_default"].title, "lab": "the training lab's current settings"}
# What a selectbox shows (a quarter of the page at 1280 × 720 holds ~15 characters); the full names are its help.
SHORT_CONFIGS = {"he_relu": "stable: He-ReLU", "relu_nan": "exploding: NaN", "big_lr": "LR too large",
                 "relu_big_init": "ReLU, big init", "sigmoid_default": "deep sigmoid", "lab": "the lab's settings"}
CONFIGS_HELP = "; ".join(f"**{SHORT_CONFIGS[k]}**: {v}" for k, v in CONFIGS.items())


def _lab_config() -> TrainConfig:
    run = st.session_state.get(LAB_KEY + "run")
    return run.config if run is not None else TrainConfig()


def butterfly_section() -> None:
    st.markdown("The notes: *in chaos theory, small variations in initial conditions lead to vastly different "
                "outcomes — the butterfly effect; likewise slight changes in initial weights or inputs can make "
                "training unstable and erratic.* Two copies of the same network, same data, same batches, same "
                "seed; only their start differs by ε. If the distance between them grows like "
                "$\\varepsilon\\,e^{\\lambda k}$, $\\lambda > 0$ is a finite-time Lyapunov exponent: nearby "
                "trainings fly apart.")
    a, b, c, d = st.columns(4)
    first = a.selectbox("configuration A", list(CONFIGS), index=0, format_func=SHORT_CONFIGS.get, key=K + "cfg_a",
                        help=CONFIGS_HELP)
    second = b.selectbox("contrast with", list(CONFIGS), index=1, format_func=SHORT_CONFIGS.get, key=K + "cfg_b",
                         help=CONFIGS_HELP)
    exponent = c.slider("ε = 10ˣ", int(math.log10(EPS_RANGE[0])), int(math.log10(EPS_RANGE[1])), -8, key=K + "eps")
    perturb = d.segmented_control("perturb", ["weights", "inputs"], default="weights", required=True, key=K + "what")
    steps = st.slider("training steps", 10, MAX_BUTTERFLY_STEPS, 200, 10, key=K + "steps")
    if st.button("Train both pairs", icon=":material/call_split:", type="primary", key=K + "go"):
        bar = st.progress(0.0, text="Training")
        results = []
        deadline = SERVER.deadline()  # one request's time, shared fairly by the two pairs
        try:
            for i, key in enumerate((first, second)):
                config = _lab_config() if key == "lab" else SCENARIOS[key].config

                def report(done: int, total: int, i=i) -> None:
                    if done == total or done % max(1, total // 50) == 0:
                        bar.progress((i * total + done) / (2 * total), text=f"pair {i + 1}: step {done:,} of {total:,}")
                results.append((CONFIGS[key], butterfly(config, 10.0**exponent, steps, perturb, on_progress=report,
                                                        budget=SERVER, deadline=deadline.portion(2 - i))))
            st.session_state[K + "results"] = results
        except ConfigError as err:
            st.error(str(err), icon=":material/warning:")
        bar.empty()
    results = st.session_state.get(K + "results")
    if not results:
        st.info("Pick two configurations and press **Train both pairs**.", icon=":material/call_split:")
        return
    cols = st.columns(len(results))
    for col, (label, r) in zip(cols, results, strict=True):
        lam = "not enough points" if not math.isfinite(r.lyapunov) else f"{sig(r.lyapunov)} per step"
        col.metric(f"λ — {label.split(':')[0]}", lam)
        doubling = "never" if not math.isfinite(r.doubling_steps) else f"every {sig(r.doubling_steps)} steps"
        stop = f"; inf/NaN at step {r.stopped_at}" if r.stopped_at else ""
        if r.cut:
            col.warning(f"This pair {r.cut}.", icon=":material/timer:")
        col.caption(f"{label}: ε = {sig(r.eps)} on the {r.perturb}; the distance doubles {doubling} (fit over steps "
                    f"{r.fit[0]}–{r.fit[1]}){stop}.")
    left, right = st.columns([1.4, 1])
    ui.chart(cc.butterfly_chart(results), left)
    ui.chart(cc.loss_gap_chart(results), right)
    st.caption("Both copies of a pair train in float64, so that ε down to 10⁻¹² is not lost to rounding. The fit "
               "stops where the distance reaches 1% of the weights' norm (no longer a small perturbation).")


@st.cache_data(max_entries=16, show_spinner=False)
def _diagram(activation: str):
    return phase_diagram(activation)


# Built charts are cached as resources: they are never modified (ui.chart copies before resizing), and
# building the 3,600- and 10,000-cell grids costs more than a rerun's budget.
@st.cache_resource(max_entries=32, show_spinner=False)
def _phase_chart(activation: str, marker: tuple | None):
    return cc.phase_chart(_diagram(activation), marker)


@st.cache_resource(max_entries=64, show_spinner=False)
def _cliff_charts(w: float, lo: float, hi: float, w0: float, b0: float, lr: float, steps: int, tau: float):
    grid = np.linspace(lo, hi, 1601)
    wall = wall_position(w)
    shown_wall = wall if wall is not None and lo <= wall <= hi else None
    curve = cc.cliff_curve_chart(grid, loss(w, grid), shown_wall, bistable_band(w))
    paths = [("no clipping", _descend(w0, b0, lr, steps, 0.0)), (f"clipped at τ = {sig(tau)}", _descend(w0, b0, lr, steps, tau))]
    ws, bs, surface = _surface(*(round(v, 6) for v in extent([d for _, d in paths])))
    return curve, cc.cliff_surface_chart(ws, bs, surface, paths)


@st.cache_data(max_entries=64, show_spinner=False)
def _factors(activation: str, sigma_w: float, sigma_b: float) -> tuple[float, float]:
    return float(np.sqrt(chi(activation, sigma_w, sigma_b))), measured_factor(activation, sigma_w, sigma_b,
                                                                                  width=256)


def phase_section() -> None:
    st.markdown("For a deep network with weights $W_{ij} \\sim N(0, \\sigma_w^2/n)$ and biases $N(0, \\sigma_b^2)$, "
                "mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) follows the variance of the signal "
                "to its fixed point $q^*$ and multiplies the gradient's squared norm per layer by "
                "$\\chi = \\sigma_w^2\\,\\mathbb{E}[\\varphi'(\\sqrt{q^*} z)^2]$. $\\chi < 1$: ordered phase, gradients "
                "vanish; $\\chi > 1$: chaotic phase, gradients explode; $\\chi = 1$: the edge of chaos.")
    lab = _lab_config()
    a, b, c = st.columns(3)
    default = lab.activation if lab.activation in PHASE_ACTIVATIONS else "tanh"
    activation = a.selectbox("activation", PHASE_ACTIVATIONS, index=PHASE_ACTIVATIONS.index(default), key=K + "act")
    lab_point = sigma_w_of(lab)
    sw0, sb0 = lab_point if lab_point is not None else (1.0, 0.0)
    sw = b.slider("σ_w to measure", 0.1, 4.0, float(min(max(round(sw0, 2), 0.1), 4.0)), 0.05, key=K + "sw")
    sb = c.slider("σ_b to measure", 0.0, 2.0, float(min(round(sb0, 2), 2.0)), 0.05, key=K + "sb")
    diagram = _diagram(activation)
    marker = None
    if lab_point is not None and lab.activation == activation:
        marker = (min(lab_point[0], 4.0), min(lab_point[1], 2.0), "training lab")
    left, right = st.columns([1.6, 1])
    ui.chart(_phase_chart(activation, marker), left)
    with right:
        if lab_point is None:
            st.caption("The training lab's network uses constant weights, which are not a random initialisation: it "
                       "has no place on this diagram.")
        elif lab.activation != activation:
            st.caption(f"The training lab's network uses {lab.activation}; choose it to see its point.")
        else:
            st.caption(f"◆ the training lab's hidden layers: σ_w = {sig(lab_point[0])}, σ_b = {sig(lab_point[1])} "
                       f"({INIT_LABELS.get(lab.init, lab.init)}, width {lab.width}).")
        with st.spinner("Measuring a 40-layer network"):
            predicted, measured = _factors(activation, sw, sb)
        st.metric("predicted per-layer factor √χ", f"{predicted:.4f}")
        st.metric("measured in a 40 × 256 network (autograd)", f"{measured:.4f}")
        phase = ("at the edge of chaos: gradients keep their size" if abs(predicted - 1) < 0.005 else
                 "ordered: gradients vanish" if predicted < 1 else "chaotic: gradients explode")
        st.markdown(f"At σ_w = {sig(sw)}, σ_b = {sig(sb)}: **{phase}** — over 40 layers the theory predicts a factor of "
                    f"{sig(predicted ** 39)} between the first layer's gradient and the last one's.")
        crit = diagram.critical_sigma_w()
        if activation == "tanh":
            st.caption(f"For tanh at σ_b = 0 the critical point is σ_w = 1 (χ = σ_w² there); on this grid the black "
                       f"line starts at σ_w = {crit[0]:.3f}. Biases push it to larger σ_w.")
        elif activation in ("relu", "leaky_relu"):
            st.caption("For ReLU χ = σ_w²/2 whatever σ_b: the edge of chaos is σ_w = √2, He et al.'s initialisation.")
        elif not np.isfinite(crit).any():
            st.caption("With sigmoid, χ stays below 1 everywhere on this grid (σ'(z) ≤ ¼): ordered, vanishing.")
    residual_section(activation, sw, sb)


@st.cache_data(max_entries=32, show_spinner=False)
def _depth_gains(activation: str, sigma_w: float, sigma_b: float, branch_scale: str):
    return gains_through_depth(activation, sigma_w, sigma_b, branch_scale)


@st.cache_resource(max_entries=32, show_spinner=False)  # built once per view, never modified (see _phase_chart)
def _residual_chart(activation: str, sigma_w: float, sigma_b: float, branch_scale: str):
    return cc.residual_gain_chart(_depth_gains(activation, sigma_w, sigma_b, branch_scale))


def _x(value: float) -> str:
    """A gain as ×1.57, ×4,780 or ×5.84 × 10²⁹; a value float64 cannot hold is named."""
    if not math.isfinite(value) or value <= 0:
        return "not a positive float64 number"
    return "×" + fmt(float(f"{value:.3g}"), plain_range=(-3, 6)).removeprefix("≈ ")


def residual_section(activation: str, sigma_w: float, sigma_b: float) -> None:
    """Where residual networks sit relative to χ = 1: the gain through depth with and without the identity path."""
    st.subheader("Residual networks and the edge of chaos")
    st.markdown("A plain layer multiplies the back-propagated signal by $\\operatorname{diag}(\\varphi'(z_l))\\,W_l$; "
                "a residual layer $h_{l+1} = h_l + \\alpha\\,\\varphi(W_l h_l + b_l)$ multiplies it by "
                "$I + \\alpha\\,\\operatorname{diag}(\\varphi'(z_l))\\,W_l$. Both networks below are built from the "
                "very same weights (the σ_w and σ_b above, width 256, 16 inputs at the plain net's fixed point) and "
                "autograd measures the gain $\\lVert\\partial L/\\partial h_1\\rVert / \\lVert\\partial L/"
                "\\partial h_L\\rVert$ for $L = \\sum v \\cdot h_L$, in float64.")
    scale = st.segmented_control("residual branch scale α", list(BRANCH_SCALES), format_func=BRANCH_SCALES.get,
                                 default="sqrt_depth", key=K + "res_scale", required=True)
    with st.spinner("Measuring networks of 2 to 100 layers"):
        gains = _depth_gains(activation, sigma_w, sigma_b, scale)
    left, right = st.columns([1.6, 1])
    ui.chart(_residual_chart(activation, sigma_w, sigma_b, scale), left)
    at = {int(d): k for k, d in enumerate(gains.depths)}
    deep = at[100]
    with right:
        rows = "\n".join(f"| {d} | {_x(gains.plain[at[d]])} | {_x(gains.residual[at[d]])} | "
                         f"{_x(gains.residual_stream[at[d]])} |" for d in (10, 50, 100))
        st.markdown("| L | plain | residual | residual ‖h_L‖/‖h₁‖ |\n|---:|---:|---:|---:|\n" + rows)
        scaled = ("each branch scaled by α = 1/√L, as in Hayou et al. (2021)'s Stable ResNet" if scale == "sqrt_depth"
                  else "α = 1, no scaling: the residual network of the training lab")
        st.caption(f"Branch scale: {scaled}. χ = {gains.chi:.4g} here, so the mean-field gain of the plain net over "
                   f"100 layers is {_x(gains.predicted_plain[deep])}; the χ = 1 line is a gain of 1 at every depth.")
    missing = int(np.sum(~(np.isfinite(gains.plain) & (gains.plain > 0))) +
                  np.sum(~(np.isfinite(gains.residual) & (gains.residual > 0))))
    st.markdown(_residual_verdict(gains, scale) + (f" {missing} measured gains are not positive float64 numbers "
                                                   "(they over- or underflowed) and are left out of the chart."
                                                   if missing else ""))


def _residual_verdict(gains, scale: str) -> str:
    """What the measured gains say, in sentences whose every number and comparison comes from `gains`."""
    k10, k100 = (int(np.flatnonzero(gains.depths == d)[0]) for d in (10, 100))
    res, plain = gains.residual[k100], gains.plain[k100]
    text = f"At 100 layers the residual net's gain is **{_x(res)}** against **{_x(plain)}** for the plain net with the " \
           "same weights. "
    if all(math.isfinite(v) and v > 0 for v in (res, plain)):
        closer = abs(math.log10(res)) < abs(math.log10(plain))
        text += ("The identity path keeps the residual net closer to the χ = 1 line than the plain net. " if closer else
                 "Here the identity path does not bring the network closer to the χ = 1 line than the plain net"
                 + (": with α = 1 the L branches add up without limit. " if scale == "one" else ". "))
    if math.isfinite(gains.residual[k10]) and res > 2 * gains.residual[k10]:
        text += (f"The residual net's gain still grows with depth ({_x(gains.residual[k10])} at 10 layers, {_x(res)} "
                 "at 100): the stream h_l = h_1 + α Σ φ(z_k) is never normalised, and ")
    else:
        text += "The stream h_l = h_1 + α Σ φ(z_k) is never normalised: "
    return text + (f"over 100 layers its size changed by {_x(gains.residual_stream[k100])} (‖h₁₀₀‖ / ‖h₁‖). "
                   "Layer norm on the stream, or smaller branches, is what holds it in place.")


@st.cache_data(max_entries=64, show_spinner=False)
def _descend(w0: float, b0: float, lr: float, steps: int, clip_norm: float):
    return descend(w0, b0, lr, steps, clip_norm)


@st.cache_data(max_entries=16, show_spinner=False)
def _surface(w_lo: float, w_hi: float, b_lo: float, b_hi: float, n: int = 110):
    """The error over a (w, b) window wide enough for every descent path (see core.chaos.cliff.extent)."""
    w = np.linspace(w_lo, w_hi, n)
    b = np.linspace(b_lo, b_hi, n)
    return w, b, loss(w[None, :], b[:, None])


def cliff_section() -> None:
    st.markdown("Pascanu, Mikolov & Bengio (2013), as published: one recurrent sigmoid unit "
                "$x_t = w\\,\\sigma(x_{t-1}) + b$, $x_0 = 0.5$, trained so that its output after 50 steps is 0.7, "
                "with the error $E = (\\sigma(x_{50}) - 0.7)^2$. For $w = 5$ there is a band of biases with two "
                "stable states; the error jumps where the basin boundary crosses $x_0$ — a **wall** at "
                "$b^* = x_0 - w\\,\\sigma(x_0)$. On the wall the gradient is enormous, and one plain gradient step "
                "can throw the parameters far away; clipping the gradient norm bounds the step.")
    a, b = st.columns(2)
    w = a.slider("recurrent weight w", 1.0, 8.0, W_DEFAULT, 0.1, key=K + "w")
    lo, hi = b.slider("bias range", -6.0, 2.0, (-4.0, 0.0), 0.1, key=K + "brange")
    wall = wall_position(w)
    curve_slot = st.container()
    if wall is None:
        st.caption(f"With w = {sig(w)}, w·σ'(x₀) ≤ 1: x₀ is not between two basins, so there is no wall from this "
                   "start.")
    c, d, e, f = st.columns(4)
    w0 = c.number_input("start w", 1.0, 8.0, 5.0, 0.1, key=K + "w0")
    b0 = d.number_input("start b", -5.0, 1.0, B0_DEFAULT, 0.01, key=K + "b0")
    lr = e.select_slider("learning rate", [0.01, 0.02, 0.05, 0.1, 0.2, 0.5], LR_DEFAULT, key=K + "lr")
    tau = f.number_input("clip threshold τ", 0.01, 100.0, 1.0, 0.1, key=K + "tau")
    steps = st.slider("gradient steps", 1, 200, 30, key=K + "gd_steps")
    plain = _descend(w0, b0, float(lr), steps, 0.0)
    clipped = _descend(w0, b0, float(lr), steps, float(tau))
    curve, surface_chart = _cliff_charts(w, lo, hi, w0, b0, float(lr), steps, float(tau))
    ui.chart(curve, curve_slot)
    left, right = st.columns([1.5, 1])
    ui.chart(surface_chart, left)
    with right:
        for label, d_ in (("no clipping", plain), (f"clipped at τ = {sig(tau)}", clipped)):
            jump = float(np.max(np.hypot(np.diff(d_.w), np.diff(d_.b)))) if steps else 0.0
            st.metric(f"largest step — {label}", sig(jump))
            st.caption(f"largest gradient norm {sig(np.max(d_.grad_norm))}; error {sig(d_.loss[0])} → "
                       f"{sig(d_.loss[-1])}; ends at w = {sig(d_.w[-1])}, b = {sig(d_.b[-1])}.")
        st.caption("Clipping bounds every step by lr·τ, so a step on the wall cannot catapult the parameters; it "
                   "does not promise a lower error — the valley may still be on the other side of the wall. The "
                   "surface widens beyond w ∈ [1, 8], b ∈ [−5, 1] whenever a path leaves that window, so that "
                   "every step of both paths is drawn.")
    st.caption("As published: the recurrence, x₀ = 0.5, w = 5, 50 steps and the error (σ(x₅₀) − 0.7)². Not from "
               "the paper (which draws its descent paths schematically): the starting point, the learning rate, the "
               "number of steps and the clipping threshold τ, which are yours to choose here.")
