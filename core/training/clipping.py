"""Gradient clipping with torch's own functions, shared by the training lab, the remedies and the RNNs.

`clip_grad_norm_` rescales every gradient by τ/(‖g‖ + 1e-6) when the global norm ‖g‖ exceeds τ and
returns ‖g‖ before clipping; `clip_grad_value_` clamps each component to [−v, v].
"""

from __future__ import annotations

import math

import torch
from torch import nn


def clip_gradients(params: list[torch.Tensor], clip_norm: float = 0.0, clip_value: float = 0.0) -> float:
    """Clip the `.grad` of `params` in place; return the global gradient norm before clipping (NaN if off)."""
    if not (clip_norm or clip_value):
        return math.nan
    if clip_norm:
        before = float(nn.utils.clip_grad_norm_(params, clip_norm, foreach=True))
    else:
        before = float(nn.utils.get_total_norm([p.grad for p in params if p.grad is not None], foreach=True))
    if clip_value:
        nn.utils.clip_grad_value_(params, clip_value, foreach=True)
    return before
