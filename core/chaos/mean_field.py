"""Mean-field theory of signal propagation in deep random networks: the order-to-chaos phase diagram.

For weights W_ij ~ N(0, σ_w²/n) and biases b_i ~ N(0, σ_b²), the variance of a pre-activation follows the
map q_l = σ_w² E[φ(√q_{l−1} z)²] + σ_b² (z ~ N(0, 1)) to a fixed point q*. The gradient's squared norm is
multiplied per layer by χ = σ_w² E[φ'(√q* z)²] (Poole et al. 2016; Schoenholz et al. 2017): χ < 1 is the
ordered phase (gradients vanish), χ > 1 the chaotic phase (gradients explode), χ = 1 the edge of chaos.
The per-layer factor of the gradient norm is √χ. Expectations use Gauss–Hermite quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from core.training.config import TrainConfig

PHASE_ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "linear")
N_NODES = 80
MAX_ITER = 300


@cache
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes for E[f(z)], z ~ N(0, 1): E f = Σ w_i f(√2 x_i) / √π."""
    x, w = np.polynomial.hermite.hermgauss(N_NODES)
    return np.sqrt(2.0) * x, w / math.sqrt(math.pi)


@cache
def _dense_nodes() -> tuple[np.ndarray, np.ndarray]:
    """A fine uniform grid for E[φ'(√q z)²]: for tanh with large q the integrand is a spike of width ~1/√q
    that Gauss–Hermite nodes (spacing ≈ 0.3 near 0) would straddle; a 0.01 grid resolves it."""
    z = np.linspace(-8.0, 8.0, 1601)
    w = np.exp(-z * z / 2)
    return z, w / w.sum()


def phi(activation: str, h: np.ndarray) -> np.ndarray:
    if activation == "tanh":
        return np.tanh(h)
    if activation == "relu":
        return np.maximum(h, 0.0)
    if activation == "sigmoid":
        return 0.5 * (1 + np.tanh(h / 2))
    if activation == "leaky_relu":
        return np.where(h > 0, h, 0.01 * h)
    if activation == "linear":
        return h
    raise ValueError(f"activation must be one of {', '.join(PHASE_ACTIVATIONS)}")


def dphi(activation: str, h: np.ndarray) -> np.ndarray:
    if activation == "tanh":
        return 1 - np.tanh(h) ** 2
    if activation == "relu":
        return (h > 0).astype(float)
    if activation == "sigmoid":
        s = 0.5 * (1 + np.tanh(h / 2))
        return s * (1 - s)
    if activation == "leaky_relu":
        return np.where(h > 0, 1.0, 0.01)
    return np.ones_like(h)


def fixed_point_q(activation: str, sigma_w, sigma_b) -> np.ndarray:
    """q* of the variance map q ↦ σ_w² E[φ(√q z)²] + σ_b², elementwise over broadcast σ_w, σ_b arrays.

    ReLU, leaky ReLU and linear are homogeneous: the map is σ_w²·c·q + σ_b² with c = E[φ(z)²], so
    q* = σ_b²/(1 − σ_w² c), or inf when σ_w² c ≥ 1 and σ_b > 0 (the variance grows without bound). Bounded
    φ (tanh, sigmoid) keep q ≤ σ_w² + σ_b², and q* is found by bisection on map(q) − q: exact at the edge of
    chaos, where plain iteration of the map converges only like 1/l.
    """
    z, w = _nodes()
    sw2, sb2 = np.broadcast_arrays(np.asarray(sigma_w, dtype=float) ** 2, np.asarray(sigma_b, dtype=float) ** 2)
    if activation in ("relu", "leaky_relu", "linear"):
        c = float(phi(activation, z) ** 2 @ w)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(sw2 * c < 1, sb2 / (1 - sw2 * c), np.where(sb2 > 0, np.inf, 0.0))
        return q
    lo, hi = np.zeros(sw2.shape), sw2 + sb2
    for _ in range(MAX_ITER // 5):  # 60 halvings: hi − lo below 1e-18 of the start
        mid = 0.5 * (lo + hi)
        above = sw2 * (phi(activation, np.sqrt(mid)[..., None] * z) ** 2 @ w) + sb2 > mid
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def chi(activation: str, sigma_w, sigma_b) -> np.ndarray:
    """χ = σ_w² E[φ'(√q* z)²] at the fixed point (elementwise)."""
    scale_free = activation in ("relu", "leaky_relu", "linear")  # φ'(√q z) has the same law for every q > 0
    z, w = _nodes() if scale_free else _dense_nodes()
    q = fixed_point_q(activation, sigma_w, sigma_b)
    sw2 = np.broadcast_to(np.asarray(sigma_w, dtype=float) ** 2, q.shape)
    roots = np.sqrt(np.ones_like(q) if scale_free else q).reshape(-1)
    slopes = np.empty(roots.shape)
    for start in range(0, len(roots), 256):  # in chunks: a 60 × 60 grid × 1,601 nodes at once would be 46 MB a copy
        part = roots[start: start + 256]
        slopes[start: start + 256] = dphi(activation, part[:, None] * z) ** 2 @ w
    return sw2 * slopes.reshape(q.shape)


@dataclass(frozen=True)
class PhaseDiagram:
    activation: str
    sigma_w: np.ndarray  # (n_w,)
    sigma_b: np.ndarray  # (n_b,)
    chi: np.ndarray  # (n_b, n_w)

    def critical_sigma_w(self) -> np.ndarray:
        """For each σ_b, the σ_w where χ crosses 1 (linear interpolation in log χ; NaN if it does not)."""
        out = np.full(len(self.sigma_b), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            logc = np.log(self.chi)
        for i, row in enumerate(logc):
            sign = np.sign(row)
            cross = np.flatnonzero((sign[:-1] < 0) & (sign[1:] >= 0))
            if len(cross):
                k = cross[0]
                t = -row[k] / (row[k + 1] - row[k])
                out[i] = self.sigma_w[k] + t * (self.sigma_w[k + 1] - self.sigma_w[k])
        return out


def phase_diagram(activation: str, n_w: int = 60, n_b: int = 60, w_max: float = 4.0, b_max: float = 2.0
                  ) -> PhaseDiagram:
    sw = np.linspace(w_max / n_w, w_max, n_w)
    sb = np.linspace(0.0, b_max, n_b)
    return PhaseDiagram(activation, sw, sb, chi(activation, sw[None, :], sb[:, None]))


def sigma_w_of(config: TrainConfig) -> tuple[float, float] | None:
    """(σ_w, σ_b) of a training-lab config's hidden layers in the mean-field parametrisation, or None when its
    initialisation is not a zero-mean random one (constant weights)."""
    n = config.width
    s = abs(config.init_scale)
    weights = {"normal": s * math.sqrt(n), "uniform": s * math.sqrt(n / 3), "default": 1 / math.sqrt(3),
               "xavier_uniform": s, "xavier_normal": s, "he_normal": s * math.sqrt(2), "he_uniform": s * math.sqrt(2),
               "orthogonal": s}
    if config.init not in weights:
        return None
    if config.activation == "leaky_relu" and config.init in ("he_normal", "he_uniform"):
        weights[config.init] = s * math.sqrt(2 / (1 + 0.01**2))
    sigma_b = 1 / math.sqrt(3 * n) if config.init == "default" else abs(config.bias_init)
    return weights[config.init], sigma_b


def measured_factor(activation: str, sigma_w: float, sigma_b: float, depth: int = 40, width: int = 512,
                    batch: int = 16, seed: int = 0) -> float:
    """The per-layer factor of ‖∂L/∂h_l‖ measured by autograd in a real deep network at (σ_w, σ_b), float64:
    inputs start at the fixed-point variance q*, L = Σ v·h_depth for a random v, and the factor is the
    geometric mean (‖∂L/∂h_1‖ / ‖∂L/∂h_depth‖)^(1/(depth − 1)) over a batch. Theory: √χ."""
    g = torch.Generator().manual_seed(seed)
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01), "linear": lambda t: t}[activation]
    q = float(fixed_point_q(activation, sigma_w, sigma_b))
    if activation in ("relu", "leaky_relu", "linear") and not 0 < q < math.inf:
        q = 1.0  # scale-free: any input scale shows the same per-layer factor
    x = torch.randn(batch, width, generator=g, dtype=torch.float64) * math.sqrt(q)
    hs, h = [], x.requires_grad_(True)
    for _ in range(depth):
        w = torch.randn(width, width, generator=g, dtype=torch.float64) * (sigma_w / math.sqrt(width))
        b = torch.randn(width, generator=g, dtype=torch.float64) * sigma_b
        h = act(h) @ w.T + b
        hs.append(h)
    v = torch.randn(batch, width, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((hs[-1] * v).sum(), hs)
    first, last = float(torch.linalg.vector_norm(grads[0])), float(torch.linalg.vector_norm(grads[-1]))
    return (first / last) ** (1 / (depth - 1)) if last > 0 and math.isfinite(first) else math.nan
