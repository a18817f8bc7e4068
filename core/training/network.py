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
    """

    def __init__(self, n_in: int, width: int, depth: int, n_out: int, activation: str, batchnorm: bool = False):
        super().__init__()
        sizes = [n_in] + [width] * depth + [n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        # BatchNorm1d after every hidden Linear, before the activation (Ioffe & Szegedy 2015).
        self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(depth)) if batchnorm else None
        self.activation = activation
        self._phi = _ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hidden = []
        h = x
        layers = list(self.layers)  # (slicing a ModuleList would build a new ModuleList every call)
        if self.norms is None:
            for layer in layers[:-1]:
                h = self._phi(layer(h))
                hidden.append(h)
        else:
            for layer, norm in zip(layers[:-1], self.norms, strict=True):
                h = self._phi(norm(layer(h)))
                hidden.append(h)
        return layers[-1](h), hidden

    @property
    def weights(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.layers]


def initialise(model: MLP, config: TrainConfig, generator: torch.Generator) -> None:
    """Initialise every weight with the config's scheme and every bias with the constant bias_init.

    Xavier/Glorot (2010) is Var(w) = 2/(fan_in + fan_out) times gain², gain = init_scale (1 in the paper);
    He/Kaiming (2015) is Var(w) = 2/fan_in, times init_scale²; orthogonal is scaled by init_scale.
    `default` reproduces nn.Linear's own reset (Kaiming-uniform with a = √5, biases U(±1/√fan_in))
    but from the run's generator.
    """
    scale = config.init_scale
    # He et al. (2015) derive Var(w) = 2/fan_in for ReLU; leaky ReLU gets 2/((1 + a²)·fan_in).
    he_kind, leak = ("leaky_relu", 0.01) if model.activation == "leaky_relu" else ("relu", 0.0)
    with torch.no_grad():
        for layer in model.layers:
            w = layer.weight
            fan_in = w.shape[1]
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
            if config.init == "default":
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            else:
                nn.init.constant_(layer.bias, config.bias_init)


def build(config: TrainConfig, n_in: int, n_out: int, generator: torch.Generator) -> MLP:
    """The network a config describes, initialised from `generator`, in the config's dtype.

    Batch norm adds no random numbers and weight norm reparametrises the initial weights, so a
    network with either remedy starts from exactly the same W as the one without.
    """
    model = MLP(n_in, config.width, config.depth, n_out, config.activation, config.batchnorm)
    model.to(getattr(torch, config.dtype))
    initialise(model, config, generator)
    if config.weightnorm:  # W = g · v/‖v‖ per output unit; g and v become the trained parameters
        for layer in model.layers:
            nn.utils.parametrizations.weight_norm(layer, name="weight", dim=0)
    return model
