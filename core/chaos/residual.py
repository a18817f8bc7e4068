"""Where residual networks sit relative to the edge of chaos: the gain of ‖∂L/∂h‖ through depth, measured.

A plain layer multiplies the back-propagated signal by diag(φ'(z_l))·W_l, whose mean-field size per layer is √χ;
a residual layer h_{l+1} = h_l + α·φ(W_l h_l + b_l) multiplies it by I + α·diag(φ'(z_l))·W_l. Both networks are
built from the very same draws (W_l ~ N(0, σ_w²/n), b_l ~ N(0, σ_b²), the inputs and the read-out direction v),
L = Σ v·h_L, and autograd gives ‖∂L/∂h_1‖ / ‖∂L/∂h_L‖: the gain from the last layer back to the first. The branch
scale α = 1/√L keeps the sum of L branches of bounded size (the scaling of Hayou et al. 2021's Stable ResNet);
α = 1 is the unscaled ResNet of the training lab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.chaos.mean_field import PHASE_ACTIVATIONS, chi, fixed_point_q

DEPTHS = (2, 5, 10, 20, 30, 40, 50, 60, 75, 100)
BRANCH_SCALES = {"sqrt_depth": "1/√L (scaled branches)", "one": "1 (unscaled, as in the training lab)"}
_PHI = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01), "linear": lambda t: t}


@dataclass(frozen=True)
class Draws:
    """One random network's numbers, shared by its plain and residual versions (float64)."""

    weights: list[torch.Tensor]  # L matrices (n, n)
    biases: list[torch.Tensor]  # L vectors (n,)
    h0: torch.Tensor  # (batch, n): the input, already at the plain net's fixed point
    v: torch.Tensor  # (batch, n): L = Σ v·h_L


def draw(activation: str, sigma_w: float, sigma_b: float, depth: int, width: int = 256, batch: int = 16,
         seed: int = 0) -> Draws:
    """W_l ~ N(0, σ_w²/n), b_l ~ N(0, σ_b²) from the run's own generator. The input is φ(√q*·ξ), ξ ~ N(0, 1), so
    that the plain net's pre-activations start at the variance map's fixed point q* (q = 1 where the activation is
    scale-free and q* is 0 or ∞), as the mean-field prediction (√χ)^(L−1) assumes. The inputs and v are drawn
    first, so a shallower network is the first layers of a deeper one drawn from the same seed."""
    if activation not in PHASE_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(PHASE_ACTIVATIONS)}")
    g = torch.Generator().manual_seed(seed)
    q = float(fixed_point_q(activation, sigma_w, sigma_b))
    if not 0 < q < math.inf:
        q = 1.0
    h0 = _PHI[activation](torch.randn(batch, width, generator=g, dtype=torch.float64) * math.sqrt(q))
    v = torch.randn(batch, width, generator=g, dtype=torch.float64)
    weights, biases = [], []
    for _ in range(depth):
        weights.append(torch.randn(width, width, generator=g, dtype=torch.float64) * (sigma_w / math.sqrt(width)))
        biases.append(torch.randn(width, generator=g, dtype=torch.float64) * sigma_b)
    return Draws(weights, biases, h0, v)


def first_layers(draws: Draws, depth: int) -> Draws:
    """The network made of the first `depth` layers (the same input and read-out direction)."""
    return Draws(draws.weights[:depth], draws.biases[:depth], draws.h0, draws.v)


def gain(draws: Draws, activation: str, identity: bool, alpha: float = 1.0) -> tuple[float, float]:
    """(‖∂L/∂h_1‖ / ‖∂L/∂h_L‖, ‖h_L‖ / ‖h_1‖) by autograd, for h_{l+1} = φ(W_l h_l + b_l) or, with the identity
    path, h_{l+1} = h_l + α·φ(W_l h_l + b_l). The norms are over the whole batch."""
    phi = _PHI[activation]
    with torch.enable_grad():
        h, hidden = draws.h0.detach().clone().requires_grad_(True), []
        for w, b in zip(draws.weights, draws.biases, strict=True):
            branch = phi(h @ w.T + b)
            h = h + alpha * branch if identity else branch
            hidden.append(h)
        grads = torch.autograd.grad((hidden[-1] * draws.v).sum(), hidden)
    hidden = [t.detach() for t in hidden]
    first, last = (float(torch.linalg.vector_norm(grads[k])) for k in (0, -1))
    size_first, size_last = (float(torch.linalg.vector_norm(hidden[k])) for k in (0, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (float(np.float64(first) / last) if last > 0 else math.nan,
                float(np.float64(size_last) / size_first) if size_first > 0 else math.nan)


@dataclass(frozen=True)
class DepthGains:
    activation: str
    sigma_w: float
    sigma_b: float
    width: int
    branch_scale: str  # a key of BRANCH_SCALES
    depths: np.ndarray  # (k,)
    plain: np.ndarray  # gain of the plain net at each depth
    residual: np.ndarray  # gain of the residual net (same draws)
    plain_stream: np.ndarray  # ‖h_L‖ / ‖h_1‖
    residual_stream: np.ndarray
    predicted_plain: np.ndarray  # mean field: (√χ)^(L−1)
    chi: float

    def alpha(self, depth: int) -> float:
        return branch_alpha(self.branch_scale, depth)


def branch_alpha(branch_scale: str, depth: int) -> float:
    if branch_scale not in BRANCH_SCALES:
        raise ValueError(f"branch scale must be one of {', '.join(BRANCH_SCALES)}")
    return 1 / math.sqrt(depth) if branch_scale == "sqrt_depth" else 1.0


def gains_through_depth(activation: str, sigma_w: float, sigma_b: float, branch_scale: str = "sqrt_depth",
                        depths: tuple[int, ...] = DEPTHS, width: int = 256, batch: int = 16, seed: int = 0
                        ) -> DepthGains:
    """The gain with and without the identity path at each depth; the network of depth L is the first L layers of
    one draw (so the curves differ only by depth, not by luck)."""
    c = float(chi(activation, sigma_w, sigma_b))
    deepest = draw(activation, sigma_w, sigma_b, max(depths), width, batch, seed)
    rows = []
    for depth in depths:
        draws = first_layers(deepest, depth)
        rows.append((*gain(draws, activation, identity=False),
                     *gain(draws, activation, identity=True, alpha=branch_alpha(branch_scale, depth))))
    plain, plain_stream, residual, residual_stream = (np.array(col) for col in zip(*rows, strict=True))
    d = np.array(depths, dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        predicted = np.sqrt(c) ** (d - 1)
    return DepthGains(activation, float(sigma_w), float(sigma_b), width, branch_scale, np.array(depths), plain,
                      residual, plain_stream, residual_stream, predicted, c)
