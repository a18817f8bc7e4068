"""The training lab's configuration: one frozen, validated dataclass that fully determines a run.

Everything a learner can choose is here, with its limits, so that the same config and seed give
the same numbers anywhere, and so that a bad value is refused with a sentence instead of a crash.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
INITS = ("constant", "normal", "uniform", "default", "xavier_uniform", "xavier_normal", "he_normal",
         "he_uniform", "orthogonal")
DATASETS = ("regression", "spirals", "moons", "csv")
LOSSES = ("auto", "mse", "cross_entropy")
OPTIMIZERS = ("sgd", "momentum", "adam")
DTYPES = ("float32", "float64")
LAYERNORMS = ("off", "pre", "post")  # nn.LayerNorm on z_l before the activation, or on the layer's output h_l
LAYERNORM_LABELS = {"off": "off", "pre": "pre-norm: LN(z) before the activation",
                    "post": "post-norm: LN of the layer's output"}

INIT_LABELS = {
    "constant": "constant (every weight = value)",
    "normal": "normal N(0, σ²)",
    "uniform": "uniform U(−a, a)",
    "default": "PyTorch default (Kaiming-uniform, a = √5)",
    "xavier_uniform": "Xavier/Glorot uniform",
    "xavier_normal": "Xavier/Glorot normal",
    "he_normal": "He/Kaiming normal",
    "he_uniform": "He/Kaiming uniform",
    "orthogonal": "orthogonal",
}
#: what `init_scale` means for each scheme (None: the scheme has no free scale; gain for the rest)
INIT_SCALE_MEANING = {
    "constant": "value", "normal": "σ", "uniform": "a", "default": None, "xavier_uniform": "gain",
    "xavier_normal": "gain", "he_normal": "gain", "he_uniform": "gain", "orthogonal": "gain",
}

LIMITS = {
    "depth": (1, 50), "width": (1, 256), "n_samples": (16, 5000), "batch_size": (1, 5000),
    "lr": (1e-6, 10.0), "init_scale": (-1e6, 1e6), "bias_init": (-1e6, 1e6), "input_scale": (1e-6, 1e6),
    "seed": (0, 2**31 - 1), "momentum": (0.0, 0.999), "noise": (0.0, 10.0),
    "clip_norm": (0.0, 1e12), "clip_value": (0.0, 1e12), "l1": (0.0, 10.0), "l2": (0.0, 10.0),
    "weight_decay": (0.0, 10.0),
}
MAX_RESIDUAL_DEPTH = 100  # with residual connections the depth limit is this instead of LIMITS["depth"]
MAX_STEPS = 10_000  # per run; the history is preallocated in chunks up to this


class ConfigError(ValueError):
    """A configuration that cannot be trained; the message says which value and why."""


@dataclass(frozen=True)
class TrainConfig:
    depth: int = 6  # hidden layers
    width: int = 16
    activation: str = "tanh"
    init: str = "xavier_normal"
    init_scale: float = 1.0  # constant value, normal σ, uniform a, or gain (see INIT_SCALE_MEANING)
    bias_init: float = 0.0
    input_scale: float = 1.0  # the notes' "large input values": every input is multiplied by this
    dataset: str = "spirals"
    n_samples: int = 256
    noise: float = 0.1
    loss: str = "auto"  # auto: cross-entropy for classification, MSE for regression
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9  # used by "momentum"
    batch_size: int = 64
    seed: int = 0
    dtype: str = "float32"
    # Remedies (all off by default; see core/remedies.py for what each does and why)
    clip_norm: float = 0.0  # > 0: rescale the gradient so that its global norm is at most this
    clip_value: float = 0.0  # > 0: clamp every gradient component to [−v, v]
    l1: float = 0.0  # loss + l1·Σ|w|
    l2: float = 0.0  # loss + (l2/2)·Σw²
    weight_decay: float = 0.0  # the optimiser's decoupled shrinkage (torch's weight_decay argument)
    batchnorm: bool = False  # BatchNorm1d after every hidden Linear, before the activation
    weightnorm: bool = False  # W = g·v/‖v‖ per output unit (nn.utils.parametrizations.weight_norm)
    normalize_inputs: bool = False  # standardise every input column (after the input scale)
    # Architecture (off by default: existing configs, links and numbers are unchanged)
    residual: bool = False  # h_{l+1} = h_l + φ(W_l h_l + b_l); a projection P x where the input width differs
    layernorm: str = "off"  # nn.LayerNorm: "pre" on z_l before the activation, "post" on the layer's output

    def __post_init__(self) -> None:
        # −0.0 passes every range check (−0.0 >= 0.0) but numpy refuses it as a scale ("scale < 0"): a link's
        # `lab_noise=-0` means 0, so every −0.0 becomes +0.0 here, once, for all of the config's numbers.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value == 0.0:
                object.__setattr__(self, f.name, 0.0)

    def max_depth(self) -> int:
        """50 hidden layers, or 100 with residual connections."""
        return MAX_RESIDUAL_DEPTH if self.residual else LIMITS["depth"][1]

    def validated(self) -> TrainConfig:
        """Return self if every value is acceptable, else raise ConfigError naming the first bad one."""
        choices = {"activation": ACTIVATIONS, "init": INITS, "dataset": DATASETS, "loss": LOSSES,
                   "optimizer": OPTIMIZERS, "dtype": DTYPES, "layernorm": LAYERNORMS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)} (got {getattr(self, name)!r}).")
        for name in ("batchnorm", "weightnorm", "normalize_inputs", "residual"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false (got {getattr(self, name)!r}).")
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if name == "depth":
                hi = self.max_depth()
            is_int = name in ("depth", "width", "n_samples", "batch_size", "seed")
            if isinstance(value, bool) or not isinstance(value, int if is_int else (int, float)):
                raise ConfigError(f"{name} must be a {'whole ' if is_int else ''}number (got {value!r}).")
            if not math.isfinite(value) or not lo <= value <= hi:
                more = (f" ({MAX_RESIDUAL_DEPTH} with residual connections)"
                        if name == "depth" and not self.residual and value <= MAX_RESIDUAL_DEPTH else "")
                raise ConfigError(f"{name} = {value:g} is outside the allowed range {lo:g} … {hi:g}{more}.")
        if self.layernorm != "off" and self.batchnorm:
            raise ConfigError("Choose batch normalisation or layer normalisation, not both.")
        if self.layernorm != "off" and self.width < 2:
            raise ConfigError("Layer normalisation needs at least 2 units per layer (one unit normalises to 0).")
        if self.batchnorm and self.batch_size < 2:
            raise ConfigError("Batch normalisation needs batches of at least 2 samples.")
        if self.batch_size > self.n_samples and self.dataset != "csv":
            raise ConfigError(f"batch_size ({self.batch_size}) cannot exceed the number of samples ({self.n_samples}).")
        return self

    def task(self) -> str:
        return "regression" if self.dataset == "regression" else "classification"

    def with_(self, **changes: object) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a dict (e.g. URL query params) converting types; unknown keys are ignored."""
        kwargs = {}
        for f in fields(cls):
            if f.name in data:
                raw = data[f.name]
                kind = type(getattr(cls(), f.name))
                try:
                    if kind is bool:
                        text = str(raw).strip().lower()
                        if text not in ("true", "false", "1", "0"):
                            raise ValueError(raw)
                        kwargs[f.name] = text in ("true", "1")
                    else:
                        kwargs[f.name] = kind(float(raw)) if kind is int else kind(raw)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise ConfigError(f"{f.name}: cannot read {raw!r} as a {kind.__name__}.") from exc
        return cls(**kwargs).validated()
