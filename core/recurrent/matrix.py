"""A recurrent layer h_t = f(W_rec h_{t−1} + U x_t + b) with n units: W_rec's spectrum and the gradient through time.

Pascanu, Mikolov & Bengio (2013): ∂h_t/∂h_{t−1} = diag(f'(z_t)) W_rec, so ‖∂L/∂h_{t−k}‖ ≤ ‖∂L/∂h_t‖·(γ·σ_max)^k
with σ_max the largest singular value of W_rec and γ = sup f'. Hence σ_max < 1/γ is sufficient for the
gradient to vanish, and σ_max > 1/γ is necessary for it to explode. The spectral radius ρ (largest |eigenvalue|)
governs the linear case in the long run: ρ ≤ σ_max always.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.numbers import sig
from core.recurrent.scalar import gamma

W_INITS = ("normal", "orthogonal", "identity", "default")
W_INIT_LABELS = {"normal": "scaled normal N(0, scale²/n)", "orthogonal": "orthogonal × scale",
                 "identity": "identity × scale (IRNN)", "default": "PyTorch default U(±1/√n) × scale"}
MAX_HIDDEN, MAX_LAG = 128, 200
_ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda v: v}


def init_w_rec(n: int, scheme: str, scale: float, seed: int = 0) -> torch.Tensor:
    """W_rec (n × n, float64) from the run's own generator, with torch.nn.init where torch has the scheme."""
    if not 1 <= n <= MAX_HIDDEN:
        raise ValueError(f"the hidden size must be between 1 and {MAX_HIDDEN}")
    if not (math.isfinite(scale) and 0 <= scale <= 100):
        raise ValueError("the scale must be between 0 and 100")
    g = torch.Generator().manual_seed(seed)
    w = torch.empty(n, n, dtype=torch.float64)
    if scheme == "normal":  # variance scale²/n: the spectral radius is ≈ scale for large n (circular law)
        nn.init.normal_(w, 0.0, 1.0 / math.sqrt(n), generator=g)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(w, generator=g)
    elif scheme == "identity":
        nn.init.eye_(w)
    elif scheme == "default":  # what nn.RNN does to weight_hh: U(−1/√n, 1/√n)
        nn.init.uniform_(w, -1 / math.sqrt(n), 1 / math.sqrt(n), generator=g)
    else:
        raise ValueError(f"scheme must be one of {', '.join(W_INITS)}")
    return w * scale


@dataclass(frozen=True)
class Spectrum:
    spectral_radius: float  # max |λ|
    sigma_max: float  # largest singular value
    gamma: float
    activation: str

    @property
    def threshold(self) -> float:
        """1/γ: the singular value at which Pascanu et al.'s conditions switch."""
        return 1 / self.gamma

    @property
    def condition(self) -> str:
        if self.sigma_max < self.threshold:
            return (f"σ_max = {sig(self.sigma_max)} < 1/γ = {sig(self.threshold)}: the sufficient condition for vanishing "
                    "holds — the gradient must shrink at least geometrically, by γ·σ_max = "
                    f"{sig(self.gamma * self.sigma_max)} per step.")
        return (f"σ_max = {sig(self.sigma_max)} ≥ 1/γ = {sig(self.threshold)}: the necessary condition for exploding "
                "holds — the gradient may explode, but need not (saturated units make f' small).")


def spectrum(w: torch.Tensor, activation: str) -> Spectrum:
    a = w.detach().numpy()
    return Spectrum(float(np.max(np.abs(np.linalg.eigvals(a)))), float(np.linalg.norm(a, 2)), gamma(activation),
                    activation)


@dataclass(frozen=True)
class ThroughTime:
    lag: np.ndarray  # 0 … T
    grad_norm: np.ndarray  # ‖∂L/∂h_{T−k}‖ for lag k, measured by autograd
    bound: np.ndarray  # ‖∂L/∂h_T‖·(γ σ_max)^k
    spectrum: Spectrum


def gradient_through_time(w: torch.Tensor, activation: str, T: int, input_scale: float = 1.0, seed: int = 0
                          ) -> ThroughTime:
    """Run T steps on a random input sequence, take L = v·h_T (‖v‖ = 1), measure ‖∂L/∂h_t‖ for every t."""
    if not 1 <= T <= MAX_LAG:
        raise ValueError(f"T must be between 1 and {MAX_LAG}")
    n = w.shape[0]
    g = torch.Generator().manual_seed(seed + 1)
    u = torch.randn(n, 4, generator=g, dtype=torch.float64) / 2.0
    xs = torch.randn(T, 4, generator=g, dtype=torch.float64) * input_scale
    v = torch.randn(n, generator=g, dtype=torch.float64)
    v = v / torch.linalg.vector_norm(v)
    f = _ACT[activation]
    h0 = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    hs = [h0]
    for t in range(T):
        hs.append(f(w @ hs[-1] + u @ xs[t]))
    loss = v @ hs[-1]
    grads = torch.autograd.grad(loss, hs)
    norms = np.array([float(torch.linalg.vector_norm(gr)) for gr in grads])[::-1]  # lag 0 = h_T
    s = spectrum(w, activation)
    k = np.arange(T + 1)
    with np.errstate(over="ignore", divide="ignore"):
        bound = norms[0] * (s.gamma * s.sigma_max) ** k
    return ThroughTime(k, norms, bound, s)
