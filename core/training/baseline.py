"""The no-learning baseline: the loss of the best constant prediction, from the actual data.

A network that has learnt nothing can still output the best constant: the class frequencies (cross-entropy
H(p) = −Σ p_k ln p_k, which is ln K for K balanced classes) or the mean target (MSE = the variance of y).
"Poor loss" and "cures it" are judged against this number, not against an absolute threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.numbers import sig


@dataclass(frozen=True)
class Baseline:
    """The loss of the best constant prediction and a sentence saying how it was computed."""

    value: float
    how: str  # e.g. "ln 2 = 0.693 (2 balanced classes)"


def no_learning_loss(y: np.ndarray, task: str, loss_name: str) -> Baseline | None:
    """The best constant prediction's loss on targets `y` (None when the loss has no such baseline here)."""
    y = np.asarray(y)
    if len(y) == 0:
        return None
    if loss_name == "cross_entropy" and task == "classification":
        counts = np.bincount(y.astype(np.int64).ravel())
        p = counts[counts > 0] / counts.sum()
        value = float(-(p * np.log(p)).sum())
        k = len(counts)
        if np.all(counts == counts[0]):
            return Baseline(value, f"ln {k} = {sig(value)}, the cross-entropy of guessing the {k} balanced classes' "
                                   "frequencies")
        return Baseline(value, f"{sig(value)}, the entropy of the class frequencies "
                               f"({', '.join(sig(q, 2) for q in counts / counts.sum())})")
    if loss_name == "mse" and task == "regression":
        value = float(np.mean(np.var(y.reshape(len(y), -1).astype(np.float64), axis=0)))
        return Baseline(value, f"{sig(value)}, the variance of y (always predicting its mean)")
    return None


def of_run(run) -> Baseline | None:
    """The baseline of a training run's own data and loss (`core.training.trainer.Run`)."""
    return no_learning_loss(run.dataset.y, run.dataset.task, run.loss_name)


def ratio_text(loss: float, baseline: Baseline | None) -> str:
    """'0.689 = 99% of a constant guess's 0.693' style comparison for a sentence."""
    if baseline is None or not math.isfinite(loss) or baseline.value <= 0:
        return sig(loss)
    r = loss / baseline.value
    share = f"{r:.0%} of" if r < 10 else f"{sig(r)} times"
    return f"{sig(loss)} ({share} the no-learning {sig(baseline.value)})"
