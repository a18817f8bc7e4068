"""What each page's URL can carry: one ViewSchema per page, whose parameter names are the widget keys.

A link such as `/Training_lab?lab_depth=20&lab_activation=relu` opens the page with those widgets set;
anything else in the query string is refused with a notice (core.app.viewstate). `lecture` is the one
parameter every page shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

from core.app.viewstate import Field, ViewSchema
from core.chain import products as ch
from core.training import config as cfg
from core.training.scenarios import SCENARIOS

SHARED = ("lecture", "predict")  # app-wide parameters, not a page's own
NOTES_MODE, COMPUTED_MODE = "Notes' factors", "From weights"


def _factor_names() -> tuple[str, ...]:
    names: list[str] = []
    for depth in range(1, ch.MAX_DEPTH + 1):
        names += [n for n in ch.factor_names(depth) if n not in names]
    return tuple(names)


CHAIN = ViewSchema((
    Field("mode", "choice", NOTES_MODE, choices=(NOTES_MODE, COMPUTED_MODE)),
    Field("f_depth", "int", 3, 1, ch.MAX_DEPTH),
    *(Field(f"f_{name}", "text", None) for name in _factor_names()),
    Field("w_old", "text", "500"), Field("f_lr", "text", "0.01"),
    Field("act", "choice", "sigmoid", choices=("sigmoid", "tanh", "relu", "linear")),
    Field("n_depth", "int", 3, 1, ch.MAX_DEPTH), Field("centred", "bool", False),
    Field("weights", "text", "500"), Field("biases", "text", "0"), Field("x", "text", "1"), Field("y", "text", "0"),
    Field("n_lr", "text", "0.01"),
))

LAB_TABS = ("Scenario & diagnosis", "Network", "Update ledger", "The notes' chain", "Weight norms", "Update ratio",
            "Histograms", "Downloads")  # the training lab's detail tabs
LAB_HEAT_NORMS = ("grad_w", "grad_h")
TT_TABS = ("① One recurrent unit", "② A matrix W_rec", "③ RNN vs LSTM")
EDGE_TABS = ("① Butterfly effect", "② Order and chaos", "③ The cliff")

_D = cfg.TrainConfig()
LAB = ViewSchema((
    Field("lab_depth", "int", _D.depth, 1, cfg.MAX_RESIDUAL_DEPTH), Field("lab_width", "int", _D.width, 1, 256),
    Field("lab_residual", "bool", _D.residual), Field("lab_layernorm", "choice", _D.layernorm, choices=cfg.LAYERNORMS),
    Field("lab_activation", "choice", _D.activation, choices=cfg.ACTIVATIONS),
    Field("lab_init", "choice", _D.init, choices=cfg.INITS),
    Field("lab_init_scale", "text_float", f"{_D.init_scale:g}", *cfg.LIMITS["init_scale"]),
    Field("lab_bias_init", "text_float", f"{_D.bias_init:g}", *cfg.LIMITS["bias_init"]),
    Field("lab_dataset", "choice", _D.dataset, choices=tuple(d for d in cfg.DATASETS if d != "csv")),
    Field("lab_n_samples", "int", _D.n_samples, 16, 5000), Field("lab_noise", "float", _D.noise, 0.0, 2.0),
    Field("lab_input_scale", "text_float", f"{_D.input_scale:g}", *cfg.LIMITS["input_scale"]),
    Field("lab_lr", "text_float", f"{_D.lr:g}", *cfg.LIMITS["lr"]),
    Field("lab_optimizer", "choice", _D.optimizer, choices=cfg.OPTIMIZERS),
    Field("lab_loss", "choice", _D.loss, choices=cfg.LOSSES),
    Field("lab_batch_size", "int", _D.batch_size, 1, 5000), Field("lab_seed", "int", _D.seed, 0, 2**31 - 1),
    Field("lab_dtype", "choice", _D.dtype, choices=cfg.DTYPES),
    # the view beyond the settings: the run replayed from the seed, the step, weight, norm and tab on screen
    Field("lab_steps", "int", 0, 0, cfg.MAX_STEPS), Field("lab_inspect_step", "int", 0, 0, cfg.MAX_STEPS),
    Field("lab_edits", "text", ""),
    Field("lab_t_layer", "int", 1, 1, cfg.MAX_RESIDUAL_DEPTH + 1), Field("lab_t_row", "int", 1, 1, 256),
    Field("lab_t_col", "int", 1, 1, 256), Field("lab_heat_norm", "choice", "grad_w", choices=LAB_HEAT_NORMS),
    Field("lab_tab", "choice", LAB_TABS[0], choices=LAB_TABS),
))


def _remedies_page() -> ViewSchema:  # built on first use: the remedies import torch, the home page must not
    from core.training.remedies import REMEDIES

    return ViewSchema((
        Field("rem_baseline", "choice", "relu_nan", choices=(*SCENARIOS, "lab")),
        Field("rem_steps", "int", 200, 20, 1000),
        *(Field(f"rem_v{i}", "choices", default, choices=tuple(REMEDIES), max_items=len(REMEDIES))
          for i, default in enumerate((["clip_norm"], ["he"], ["batchnorm"], ["smaller_lr"]))),
        *(Field(f"rem_set_{r.key}", "float", r.setting.default, r.setting.lo, r.setting.hi)
          for r in REMEDIES.values() if r.setting is not None),
        Field("rem_compared", "bool", False),  # the comparison was trained: opening the link trains it again
    ))


TT_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)


def _through_time() -> ViewSchema:
    from core.recurrent.matrix import W_INIT_LABELS
    from core.recurrent.scalar import RNN_ACTIVATIONS
    from core.recurrent.sequence import MAX_SEQ_STEPS, TASK_LABELS

    return ViewSchema((
        Field("tt_w_rec", "float", 1.5, -4.0, 4.0), Field("tt_T", "int", 50, 1, 200),
        Field("tt_act", "choice", "tanh", choices=RNN_ACTIVATIONS), Field("tt_x", "float", 0.0, -3.0, 3.0),
        Field("tt_w_in", "float", 1.0, -3.0, 3.0), Field("tt_b", "float", 0.0, -3.0, 3.0),
        Field("tt_h0", "float", 0.5, -1.0, 1.0),
        Field("tt_n", "int", 64, 2, 128), Field("tt_init", "choice", "normal", choices=tuple(W_INIT_LABELS)),
        Field("tt_scale", "float", 1.0, 0.0, 3.0), Field("tt_mact", "choice", "tanh", choices=RNN_ACTIVATIONS),
        Field("tt_mT", "int", 100, 5, 200), Field("tt_in", "float", 1.0, 0.0, 3.0),
        Field("tt_seed", "int", 0, 0, 2**31 - 1),
        Field("tt_task", "choice", "adding", choices=tuple(TASK_LABELS)), Field("tt_len", "int", 30, 5, 200),
        Field("tt_hid", "int", 32, 1, 128), Field("tt_lr", "float", 1e-2, options=TT_LRS),
        Field("tt_batch", "int", 32, 1, 256), Field("tt_sseed", "int", 0, 0, 2**31 - 1),
        Field("tt_fb_on", "bool", False), Field("tt_fb", "float", 1.0, -10.0, 10.0),
        Field("tt_clip_on", "bool", False), Field("tt_tau", "float", 1.0, 1e-6, 1e6),
        Field("tt_n_steps", "int", 400, 1, 2000),
        Field("tt_tab", "choice", TT_TABS[0], choices=TT_TABS),
        Field("tt_trained", "int", 0, 0, MAX_SEQ_STEPS),  # RNN vs LSTM: steps both nets are trained (replayed)
    ))

EDGE_CONFIGS = ("he_relu", "relu_nan", "big_lr", "relu_big_init", "sigmoid_default", "lab")
EDGE_LRS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
EDGE = ViewSchema((
    Field("edge_cfg_a", "choice", "he_relu", choices=EDGE_CONFIGS),
    Field("edge_cfg_b", "choice", "relu_nan", choices=EDGE_CONFIGS),
    Field("edge_eps", "int", -8, -12, -1), Field("edge_what", "choice", "weights", choices=("weights", "inputs")),
    Field("edge_steps", "int", 200, 10, 2000),
    Field("edge_act", "choice", "tanh", choices=("tanh", "relu", "sigmoid", "leaky_relu", "linear")),
    Field("edge_sw", "float", 1.0, 0.1, 4.0), Field("edge_sb", "float", 0.0, 0.0, 2.0),
    Field("edge_res_scale", "choice", "sqrt_depth", choices=("sqrt_depth", "one")),
    Field("edge_w", "float", 5.0, 1.0, 8.0),
    Field("edge_w0", "float", 5.0, 1.0, 8.0), Field("edge_b0", "float", -2.63, -5.0, 1.0),
    Field("edge_lr", "float", 0.5, options=EDGE_LRS), Field("edge_tau", "float", 1.0, 0.01, 100.0),
    Field("edge_gd_steps", "int", 30, 1, 200),
    Field("edge_tab", "choice", EDGE_TABS[0], choices=EDGE_TABS),
))

LECTURE_PATH = ViewSchema((Field("lec_scene", "int", 1, 1, 7),))

_BUILDERS = {"home": lambda: ViewSchema(()), "lecture_path": lambda: LECTURE_PATH, "chain": lambda: CHAIN,
             "lab": lambda: LAB, "remedies": _remedies_page, "through_time": _through_time, "edge": lambda: EDGE}


class _Schemas(Mapping):
    """page → ViewSchema, each built on first use (so that the home page never imports torch)."""

    def __getitem__(self, page: str) -> ViewSchema:
        return _build(page)

    def __iter__(self) -> Iterator[str]:
        return iter(_BUILDERS)

    def __len__(self) -> int:
        return len(_BUILDERS)


@cache
def _build(page: str) -> ViewSchema:
    return _BUILDERS[page]()


SCHEMAS = _Schemas()
