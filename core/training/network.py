"""The multilayer perceptron the training lab trains, and its initialisation schemes.

Every scheme is torch's own `torch.nn.init` function, called with the run's own `torch.Generator`
(never the process-wide seed), so runs are reproducible even when sessions train concurrently.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.training.config import TrainConfig

_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: nn.functional.leaky_relu(t, 0.01),
    "linear": lambda t: t,
}


class MLP(nn.Module):
    """depth hidden layers of equal width, then a linear read-out layer.

    `forward` also returns the hidden outputs h₁ … h_L so that ∂L/∂h_l can be measured.

    With `residual`, each hidden layer adds its input back: h_{l+1} = h_l + φ(W_l h_l + b_l) (He et al. 2016), so
    ∂h_{l+1}/∂h_l = I + diag(φ'(z_l))·W_l. Where the widths differ (the input layer) the identity is replaced by a
    trained projection P (a bias-free nn.Linear): h₁ = P x + φ(W₁ x + b₁). `layernorm` adds torch's nn.LayerNorm
    per hidden layer: "pre" normalises z_l before the activation (where batch norm sits); "post" normalises the
    layer's output h_{l+1}, which with residual connections is the residual stream itself (post-norm).
    """

    def __init__(self, n_in: int, width: int, depth: int, n_out: int, activation: str, batchnorm: bool = False,
                 residual: bool = False, layernorm: str = "off"):
        super().__init__()
        sizes = [n_in] + [width] * depth + [n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        # BatchNorm1d after every hidden Linear, before the activation (Ioffe & Szegedy 2015).
        self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(depth)) if batchnorm else None
        self.residual = residual
        self.layernorm = layernorm
        self.layer_norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(depth)) if layernorm != "off" else None
        self.shortcut = nn.Linear(n_in, width, bias=False) if residual and n_in != width else None
        self.activation = activation
        self._phi = _ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        out, hidden, _ = self.trace(x)
        return out, hidden

    def trace(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """(output, hidden outputs h_l, unit outputs φ(z_l)). The units are what saturates or dies; they are the
        h_l themselves unless residual connections or post-norm come after the activation."""
        layers = list(self.layers)  # (slicing a ModuleList would build a new ModuleList every call)
        if not self.residual and self.layer_norms is None:
            hidden = []
            h = x
            if self.norms is None:
                for layer in layers[:-1]:
                    h = self._phi(layer(h))
                    hidden.append(h)
            else:
                for layer, norm in zip(layers[:-1], self.norms, strict=True):
                    h = self._phi(norm(layer(h)))
                    hidden.append(h)
            return layers[-1](h), hidden, hidden
        hidden, units = [], []
        h = x
        for index, layer in enumerate(layers[:-1]):
            z = layer(h)
            if self.norms is not None:
                z = self.norms[index](z)
            if self.layernorm == "pre":
                z = self.layer_norms[index](z)
            unit = self._phi(z)
            units.append(unit)
            if self.residual:
                skip = self.shortcut(h) if index == 0 and self.shortcut is not None else h
                unit = skip + unit
            if self.layernorm == "post":
                unit = self.layer_norms[index](unit)
            h = unit
            hidden.append(h)
        return layers[-1](h), hidden, units

    @property
    def weights(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.layers]


def initialise(model: MLP, config: TrainConfig, generator: torch.Generator) -> None:
    """Initialise every weight with the config's scheme and every bias with the constant bias_init.

    Xavier/Glorot (2010) is Var(w) = 2/(fan_in + fan_out) times gain², gain = init_scale (1 in the paper);
    He/Kaiming (2015) is Var(w) = 2/fan_in, times init_scale²; orthogonal is scaled by init_scale.
    `default` reproduces nn.Linear's own reset (Kaiming-uniform with a = √5, biases U(±1/√fan_in))
    but from the run's generator. A residual network's input projection P uses the same scheme, drawn last.
    """
    # He et al. (2015) derive Var(w) = 2/fan_in for ReLU; leaky ReLU gets 2/((1 + a²)·fan_in).
    he_kind, leak = ("leaky_relu", 0.01) if model.activation == "leaky_relu" else ("relu", 0.0)
    with torch.no_grad():
        for layer in model.layers:
            _init_weight(layer.weight, config, he_kind, leak, generator)
            if config.init == "default":
                bound = 1 / math.sqrt(layer.weight.shape[1])
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            else:
                nn.init.constant_(layer.bias, config.bias_init)
        if model.shortcut is not None:  # drawn after every W_l, so that the W_l equal the plain network's
            _init_weight(model.shortcut.weight, config, he_kind, leak, generator)


def _init_weight(w: torch.Tensor, config: TrainConfig, he_kind: str, leak: float, generator: torch.Generator) -> None:
    """One weight matrix drawn with the config's scheme (in place, under no_grad)."""
    scale = config.init_scale
    if config.init == "constant":
        nn.init.constant_(w, scale)
    elif config.init == "normal":
        nn.init.normal_(w, 0.0, abs(scale), generator=generator)
    elif config.init == "uniform":
        nn.init.uniform_(w, -abs(scale), abs(scale), generator=generator)
    elif config.init == "default":
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
    elif config.init == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=abs(scale), generator=generator)
    elif config.init == "xavier_normal":
        nn.init.xavier_normal_(w, gain=abs(scale), generator=generator)
    elif config.init == "he_normal":
        nn.init.kaiming_normal_(w, a=leak, nonlinearity=he_kind, generator=generator)
        w.mul_(scale)
    elif config.init == "he_uniform":
        nn.init.kaiming_uniform_(w, a=leak, nonlinearity=he_kind, generator=generator)
        w.mul_(scale)
    elif config.init == "orthogonal":
        nn.init.orthogonal_(w, gain=scale, generator=generator)


def build(config: TrainConfig, n_in: int, n_out: int, generator: torch.Generator) -> MLP:
    """The network a config describes, initialised from `generator`, in the config's dtype.

    Batch norm and layer norm add no random numbers, weight norm reparametrises the initial weights, and a
    residual network's projection is drawn after every W_l, so a network with any of these starts from exactly
    the same W_l as the one without.
    """
    model = MLP(n_in, config.width, config.depth, n_out, config.activation, config.batchnorm, config.residual,
                config.layernorm)
    model.to(getattr(torch, config.dtype))
    initialise(model, config, generator)
    if config.weightnorm:  # W = g · v/‖v‖ per output unit; g and v become the trained parameters
        for layer in model.layers:
            nn.utils.parametrizations.weight_norm(layer, name="weight", dim=0)
    return model
