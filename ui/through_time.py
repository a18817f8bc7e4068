"""Streamlit wiring for the Through time page: one recurrent unit, a matrix W_rec, RNN vs LSTM.

Nothing here computes a gradient; it reads widgets, calls `core`, and renders what comes back.
"""

from __future__ import annotations

import math

import streamlit as st
import sympy as sp

import ui
from core.app.limits import SERVER
from core.charts import recurrent as rc
from core.numbers import fmt, sig
from core.recurrent.matrix import W_INIT_LABELS, gradient_through_time, init_w_rec
from core.recurrent.scalar import MAX_T, RNN_ACTIVATIONS, derive, scalar_chain
from core.recurrent.sequence import MAX_SEQ_STEPS, TASK_LABELS, SeqConfig, SeqConfigError, SeqRun, train_together
from core.training.remedies import REMEDIES
from ui.page import one_torch_thread

one_torch_thread()

K = "tt_"
# What a selectbox in a quarter of the page shows at 1280 × 720 (~15 characters); the full names are its help.
SHORT_W_INIT = {"normal": "scaled normal", "orthogonal": "orthogonal", "identity": "identity (IRNN)",
                "default": "PyTorch default"}
SHORT_TASKS = {"adding": "adding problem", "first_token": "first token"}
ACT_LABELS = {"tanh": "tanh (γ = 1)", "sigmoid": "sigmoid (γ = ¼)", "relu": "ReLU (γ = 1)", "linear": "linear (γ = 1)"}


def _power_text(log10: float, sign: float = 1.0) -> str:
    """A number given by its log₁₀, readable at any size (10^±300 and beyond)."""
    if not math.isfinite(log10):
        return "0 (exactly)" if log10 < 0 else "∞"
    if -4 <= log10 <= 6:
        return fmt(sign * 10.0 ** log10)
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    power = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{'−' if sign < 0 else ''}{mantissa:.3g} × 10{power}"


@st.cache_data(max_entries=64, show_spinner=False)
def _scalar(w_rec: float, T: int, activation: str, x: float, w_in: float, bias: float, h0: float):
    return scalar_chain(w_rec, T, activation, x, w_in, bias, h0)


@st.cache_data(max_entries=64, show_spinner=False)
def _through_time(n: int, scheme: str, scale: float, seed: int, activation: str, T: int, input_scale: float):
    return gradient_through_time(init_w_rec(n, scheme, scale, seed), activation, T, input_scale, seed)


def scalar_section() -> None:
    st.markdown("The notes: *if W_rec is above 1 the gradient explodes, below 1 it vanishes.* For one recurrent unit "
                "$h_t = f(w_{rec}\\,h_{t-1} + w_{in}\\,x_t + b)$ the chain rule makes that precise.")
    a, b, c, d = st.columns(4)
    w_rec = a.slider("w_rec", -4.0, 4.0, 1.5, 0.01, key=K + "w_rec")
    T = b.slider("time steps T", 1, MAX_T, 50, key=K + "T")
    activation = c.selectbox("activation f", RNN_ACTIVATIONS, format_func=ACT_LABELS.get, key=K + "act")
    x = d.slider("input x_t (every step)", -3.0, 3.0, 0.0, 0.05, key=K + "x")
    e, f, g, _ = st.columns(4)
    w_in = e.slider("w_in", -3.0, 3.0, 1.0, 0.05, key=K + "w_in")
    bias = f.slider("bias b", -3.0, 3.0, 0.0, 0.05, key=K + "b")
    h0 = g.slider("h_0", -1.0, 1.0, 0.5, 0.05, key=K + "h0")
    chain = _scalar(w_rec, T, activation, x, w_in, bias, h0)
    actual = chain.log10_abs_product[-1]
    m1, m2, m3 = st.columns(3)
    with m1:
        ui.reveal(f"tt_scalar_{w_rec}_{T}_{activation}_{x}_{w_in}_{bias}_{h0}", "explode or vanish?",
                  lambda: st.metric("∂h_T/∂h_0, measured", _power_text(actual, chain.sign[-1])))
    m2.metric("the notes' rule |w_rec|^T", _power_text(chain.notes_log10[-1]))
    m3.metric("the bound (|w_rec|·γ)^T", _power_text(chain.bound_log10[-1]))
    if math.isfinite(actual) and abs(actual) > 1 and (actual > 0) != (chain.notes_log10[-1] > 0):
        st.warning(f"The notes' rule predicts {'explosion' if chain.notes_log10[-1] > 0 else 'vanishing'}, but the "
                   f"gradient {'vanishes' if actual < 0 else 'explodes'}: each factor is w_rec·f'(z_t), and here "
                   f"f'(z_t) ≈ {sig(chain.dphi[-1])} at the last step.", icon=":material/lightbulb:")
    left, right = st.columns([1.3, 1])
    ui.chart(rc.scalar_product_chart(chain), left)
    ui.chart(rc.factor_chart(chain), right)
    with right:
        st.markdown(f"**The refinement.** Each factor is $w_{{rec}}\\,f'(z_t)$, and $|f'| \\le \\gamma$ "
                    f"($\\gamma = 1$ for tanh, $\\tfrac14$ for sigmoid, derived by SymPy). So $|w_{{rec}}| < 1/\\gamma$ "
                    f"guarantees vanishing, while $|w_{{rec}}| > 1/\\gamma$ is only *necessary* for explosion: a "
                    f"saturated unit has $f' \\approx 0$. Here $|w_{{rec}}|\\gamma = {sig(abs(w_rec) * chain.gamma)}$.")
    with st.expander("The derivation, by SymPy", icon=":material/function:", expanded=False):
        n = min(T, 2)
        der = derive(n, activation)
        st.markdown(f"Unrolled for T = {n}:")
        st.latex("h_{" + str(n) + "} = " + sp.latex(der.h_T))
        st.markdown("SymPy differentiates that expression with respect to $h_0$:")
        st.latex(r"\frac{\partial h_{" + str(n) + r"}}{\partial h_0} = " + sp.latex(der.derivative))
        st.markdown("which is the chain-rule product of the local factors $\\partial h_t/\\partial h_{t-1}$ "
                    f"({'checked' if der.agree else 'NOT confirmed'} by SymPy at random points, 30 digits):")
        general = (r"\frac{\partial h_T}{\partial h_0} = \prod_{t=1}^{T} \frac{\partial h_t}{\partial h_{t-1}} "
                   r"= \prod_{t=1}^{T} w_{rec}\, f'(z_t), \qquad z_t = w_{rec} h_{t-1} + w_{in} x_t + b")
        st.latex(general)
        if not ui.lecture():
            ui.latex_download("Derivation as LaTeX", "The gradient through time of one recurrent unit",
                              ["h_{" + str(n) + "} = " + sp.latex(der.h_T),
                               r"\frac{\partial h_{" + str(n) + r"}}{\partial h_0} = " + sp.latex(der.derivative),
                               general], "through-time.tex", key="_tex_tt")


def matrix_section() -> None:
    st.markdown("With n units, $\\partial h_t/\\partial h_{t-1} = \\operatorname{diag}(f'(z_t))\\,W_{rec}$. Pascanu, "
                "Mikolov & Bengio (2013): with $\\sigma_{max}$ the largest singular value of $W_{rec}$, "
                "$\\sigma_{max} < 1/\\gamma$ is **sufficient** for the gradient to vanish and $\\sigma_{max} > 1/\\gamma$ "
                "is **necessary** for it to explode.")
    a, b, c, d = st.columns(4)
    n = a.slider("hidden size n", 2, 128, 64, key=K + "n")
    scheme = b.selectbox("W_rec initialisation", list(W_INIT_LABELS), format_func=SHORT_W_INIT.get, key=K + "init",
                         help="; ".join(f"**{SHORT_W_INIT[k]}**: {v}" for k, v in W_INIT_LABELS.items()))
    scale = c.slider("scale", 0.0, 3.0, 1.0, 0.05, key=K + "scale")
    activation = d.selectbox("activation", RNN_ACTIVATIONS, format_func=ACT_LABELS.get, key=K + "mact")
    e, f, g, _ = st.columns(4)
    T = e.slider("sequence length T", 5, 200, 100, key=K + "mT")
    input_scale = f.slider("input scale", 0.0, 3.0, 1.0, 0.05, key=K + "in")
    seed = g.number_input("seed", 0, 2**31 - 1, 0, key=K + "seed")
    result = _through_time(n, scheme, scale, int(seed), activation, T, input_scale)
    s = result.spectrum
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("spectral radius ρ", sig(s.spectral_radius, 4))
    m2.metric("largest singular value σ_max", sig(s.sigma_max, 4))
    m3.metric("1/γ", sig(s.threshold, 4))
    m4.metric(f"‖∂L/∂h_0‖ after {T} steps", _power_text(math.log10(result.grad_norm[-1]))
              if result.grad_norm[-1] > 0 else "0 (exactly)")
    (st.info if s.sigma_max < s.threshold else st.warning)(s.condition, icon=":material/rule:")
    ui.chart(rc.lag_chart(result))
    st.caption("L = v·h_T for a fixed unit vector v, on one random input sequence; every ‖∂L/∂h_t‖ is measured by "
               "torch autograd in float64. The measured curve always stays under the bound. ρ ≤ σ_max: for a "
               "non-normal W_rec (scaled normal, PyTorch default) σ_max is about twice ρ; for orthogonal and identity "
               "they are equal, and with scale 1 a linear net keeps the gradient's size exactly.")


def _seq_config() -> SeqConfig:
    a, b, c, d = st.columns(4)
    task = a.selectbox("task", list(TASK_LABELS), format_func=SHORT_TASKS.get, key=K + "task",
                       help="; ".join(f"**{SHORT_TASKS[k]}**: {v}" for k, v in TASK_LABELS.items()))
    seq_len = b.slider("sequence length", 5, 200, 30, key=K + "len")
    hidden = c.slider("hidden size", 1, 128, 32, key=K + "hid")
    lr = d.select_slider("learning rate (Adam)", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1], 1e-2, key=K + "lr")
    e, f, g, h = st.columns(4)
    batch = e.slider("batch size", 1, 256, 32, key=K + "batch")
    seed = f.number_input("seed", 0, 2**31 - 1, 0, key=K + "sseed")
    with g:
        set_bias = st.toggle("set the LSTM forget-gate bias", key=K + "fb_on",
                             help="PyTorch initialises every LSTM bias from U(±1/√H): no special forget-gate bias.")
        bias = st.number_input("b_f", -10.0, 10.0, 1.0, 0.5, key=K + "fb", disabled=not set_bias)
    with h:
        clip = st.toggle("clip the gradient norm", key=K + "clip_on")
        tau = st.number_input("threshold τ", 1e-6, 1e6, 1.0, format="%g", key=K + "tau", disabled=not clip)
    return SeqConfig(task=task, seq_len=seq_len, hidden=hidden, lr=float(lr), batch_size=batch, seed=int(seed),
                     forget_bias=float(bias) if set_bias else None, clip_norm=float(tau) if clip else 0.0)


def _linked_steps(done: int) -> int:
    """The steps a link asks both networks to be trained (0: none, or already so many)."""
    from ui.links import linked

    want = linked("through_time").get(K + "trained")
    return want if isinstance(want, int) and want != done else 0


def rnn_lstm_section() -> None:
    st.markdown("An `nn.RNN` and an `nn.LSTM` with the same hidden size learn the same long-range memory task from "
                "the same batches. The answer depends on the first part of the sequence, so the gradient must "
                "travel back through every time step to teach the network what to remember.")
    try:
        config = _seq_config().validated()
    except SeqConfigError as err:
        st.error(str(err), icon=":material/warning:")
        return
    runs = st.session_state.get(K + "runs")
    if runs is None or runs[0].config != config:
        if runs is not None:
            st.toast("Settings changed: both networks start again from their initial weights.")
        runs = (SeqRun("rnn", config), SeqRun("lstm", config))
        st.session_state[K + "runs"] = runs
    rnn, lstm = runs
    a, b, c, d = st.columns([1, 1, 1.2, 1])
    step = a.button("Step", icon=":material/skip_next:", width="stretch", key=K + "step")
    n = c.number_input("steps", 1, MAX_SEQ_STEPS, 400, 50, key=K + "n_steps", label_visibility="collapsed")
    train = b.button(f"Train {int(n):,} steps", icon=":material/fast_forward:", width="stretch", key=K + "train")
    if d.button("Reset", icon=":material/restart_alt:", width="stretch", key=K + "reset"):
        runs = (SeqRun("rnn", config), SeqRun("lstm", config))
        st.session_state[K + "runs"] = runs
        rnn, lstm = runs
    replay = _linked_steps(rnn.steps)
    if replay and rnn.steps:  # a link's run is replayed from the initial weights, as it was trained
        runs = (SeqRun("rnn", config), SeqRun("lstm", config))
        st.session_state[K + "runs"] = runs
        rnn, lstm = runs
    if step or train or replay:
        total = replay or (1 if step else int(n))
        bar = st.progress(0.0, text="Training")
        cut = None

        def report(done: int, total_: int) -> None:
            if done == total_ or done % max(1, total_ // 50) == 0:
                bar.progress(done / total_, text=f"RNN and LSTM in turn: step {done:,} of {total_:,}")
        try:
            cut = train_together((rnn, lstm), total, report, SERVER)
        except SeqConfigError as err:
            st.error(str(err), icon=":material/warning:")
        bar.empty()
        if cut:
            st.warning(cut, icon=":material/timer:")
    st.session_state[K + "trained"] = rnn.steps  # into the link: opening it replays as many steps
    if rnn.steps == 0:
        st.info("Press **Step** or **Train** to train both networks.", icon=":material/play_arrow:")
        return
    for run in (rnn, lstm):
        if run.stopped:
            st.error(f"{run.kind.upper()}: {run.stopped}", icon=":material/warning:")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("training steps", f"{rnn.steps:,}" if rnn.steps == lstm.steps else f"RNN {rnn.steps:,} · LSTM {lstm.steps:,}")
    for col, run in ((m2, rnn), (m3, lstm)):  # each model's own recent steps; no loss for a model that did not train
        window = max(1, min(20, run.steps // 5))
        col.metric(f"{run.kind.upper()} loss (recent mean)",
                   sig(sum(run.losses[-window:]) / window, 4) if run.steps else "not trained")
    m4.metric("no memory (best constant guess)", sig(rnn.chance_loss(), 4))
    first = st.toggle("show the first training step instead of the latest", key=K + "first")
    left, right = st.columns(2)
    ui.chart(rc.rnn_lstm_lag_chart(rnn, lstm, first), left)
    ui.chart(rc.rnn_lstm_loss_chart(rnn, lstm), right)
    if config.clip_norm:
        rem = REMEDIES["clip_norm"]
        st.markdown(f"**{rem.title}** (shared with the Remedies page): {rem.explain}")
        st.latex(rem.formula)
        st.caption(f"Largest global norm before clipping: RNN {sig(max(rnn.norms_before))}, LSTM "
                   f"{sig(max(lstm.norms_before))}; after: at most τ = {sig(config.clip_norm)}.")
    st.markdown(
        "**Why the LSTM keeps the gradient: the constant error carousel.** The LSTM's cell state is updated "
        "additively, $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$, so along the cell state "
        "$\\partial c_t/\\partial c_{t-1} = \\operatorname{diag}(f_t)$: the gradient is multiplied by the forget gate, "
        "not by $W_{rec}\\,\\operatorname{diag}(f'(z_t))$ as in the plain RNN. With forget gates near 1 the error "
        "flows back almost unchanged (Hochreiter & Schmidhuber 1997; the forget gate is Gers et al. 2000), which "
        "is why a positive forget-gate bias (≈ 1, Jozefowicz et al. 2015) is a common initialisation. This is "
        "the notes' \"W_rec equal to 1\": the carousel's weight is the gate, and it is learned.")
