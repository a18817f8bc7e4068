"""How many bytes a training run uses, counted from what it allocates, before it allocates anything.

A run keeps, between requests: its parameters, their gradients, the initial state (for Reset), the optimiser's
state (momentum: one copy, Adam: two), the recorder's rows of pending steps, the data, and the history (one row of
float64 per step and a float16 histogram per step and layer, grown by doubling). While a step computes it also
holds, per hidden layer, tensors of batch × width numbers: the hidden outputs autograd saves for the backward
pass, the ∂L/∂h_l returned by it, their gradients in flight (the recorder reduces h_l and ∂L/∂h_l in the step: it
stacks them into one scratch tensor of at most SCRATCH_BYTES, or reduces them layer by layer).
Those are what grow with batch size and make a 50 × 256 network on batches of 5,000 take gigabytes.

`give_back()` returns freed memory to the operating system (glibc keeps freed heap pages for reuse otherwise).
Calibrated against the resident size of a process (tests/test_memory.py checks the estimate within a factor of
two; benchmarks/bench_memory.py prints both).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from dataclasses import dataclass

from core.training.config import MAX_STEPS, TrainConfig
from core.training.recorder import HIST_BINS, PENDING_BYTES, SCRATCH_BYTES

# Tensors of batch × width numbers per hidden layer at a step's peak, as the resident size grows (measured with
# benchmarks/bench_memory.py: 3.0–3.8 since the recorder reduces h_l and ∂L/∂h_l in the step; 7.4–8.6 when it kept
# a stacked copy of both): the saved output h_l, the returned ∂L/∂h_l, the pre-activations and gradients in flight,
# and the allocator's fragments between them. Rounded up: the estimate is a cap, better high than low.
PER_LAYER = 4.0
EXTRA_PER_LAYER = 1.0  # residual connections and layer norm each save about one tensor more per layer (measured)
BATCHNORM_PER_LAYER = 1.0  # batch norm saves its input, the normalised values and their gradients (measured)
SAMPLE_FEATURES = {"spirals": (2, 2), "moons": (2, 2), "regression": (2, 1)}  # (inputs, outputs) of the generators


@dataclass(frozen=True)
class Footprint:
    """`step`: bytes alive while one step computes beyond what the run keeps; `kept`: bytes the run keeps."""

    step: int
    kept: int
    network: int  # the part of `kept` that does not depend on the history: parameters, optimiser, buffers, data

    @property
    def peak(self) -> int:
        return self.step + self.kept


def parameter_counts(config: TrainConfig, n_in: int, n_out: int) -> tuple[int, int]:
    """(numbers in the weight matrices W_l, numbers in every other trained parameter), exactly as built."""
    w, d = config.width, config.depth
    sizes = [n_in] + [w] * d + [n_out]
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    others = sum(sizes[1:])  # biases
    if config.batchnorm:
        others += 2 * w * d
    if config.layernorm != "off":
        others += 2 * w * d
    if config.residual and n_in != w:
        others += n_in * w  # the input projection P
    if config.weightnorm:
        others += weights + sum(sizes[1:])  # v (W's own shape) and g (one per output unit) are the parameters
    return weights, others


def _history_capacity(steps: int) -> int:
    capacity = 256
    while capacity < steps and capacity < MAX_STEPS:
        capacity = min(capacity * 2, MAX_STEPS)
    return capacity


def history_bytes(config: TrainConfig, steps: int) -> int:
    """The history's arrays once `steps` steps are recorded (its capacity grows by doubling)."""
    layers, hidden = config.depth + 1, config.depth
    row = 1 + 1 + layers + hidden + layers + layers + hidden + 3 + 1 + 1
    return _history_capacity(max(steps, 1)) * (row * 8 + layers * HIST_BINS * 2)


def footprint(config: TrainConfig, steps: int, n_in: int | None = None, n_out: int | None = None,
              n_samples: int | None = None) -> Footprint:
    """The bytes a run of `config` uses once `steps` steps are recorded. `n_in`, `n_out`, `n_samples`: the data's
    shape (an uploaded CSV's); by default those of the config's generated dataset."""
    default_in, default_out = SAMPLE_FEATURES.get(config.dataset, (2, 2))
    n_in, n_out = n_in or default_in, n_out or default_out
    n_samples = n_samples or config.n_samples
    size = 8 if config.dtype == "float64" else 4
    batch = min(config.batch_size, n_samples)
    w_count, o_count = parameter_counts(config, n_in, n_out)
    params = w_count + o_count
    optimiser = {"sgd": 0, "momentum": 1, "adam": 2}[config.optimizer]
    # the model, its gradients, the initial state kept for Reset, the optimiser's state; W_l copies with weight norm
    network = size * params * (3 + optimiser) + (size * w_count if config.weightnorm else 0)
    # the recorder's pending rows: gradients, weights before and after, histogram keys (int32 / int64), and per
    # hidden layer ‖∂L/∂h_l‖ and each unit's batch maximum
    per_step = size * (2 * w_count + o_count)
    pending = max(1, min(32, PENDING_BYTES // max(per_step, 1)))
    network += pending * (per_step + w_count * size + config.depth * (config.width + 1) * size) + size * w_count
    stacked = 2 * config.depth * batch * config.width * size  # the step's h_l and ∂L/∂h_l, stacked when small
    scratch = stacked if stacked <= SCRATCH_BYTES else 0
    network += n_samples * (n_in + n_out) * (8 + size)  # the data, as numpy float64 and as torch tensors
    per_layer = (PER_LAYER + EXTRA_PER_LAYER * (config.residual + (config.layernorm != "off"))
                 + BATCHNORM_PER_LAYER * config.batchnorm)
    step = int(per_layer * config.depth * batch * config.width * size
               + 4 * batch * (n_in + n_out) * size  # the batch, the output and its gradient
               + 2 * size * params  # the gradients in flight and the optimiser's foreach temporaries
               + scratch)
    kept = network + history_bytes(config, steps)
    return Footprint(step, kept, network)


def largest_batch(config: TrainConfig, cap: int, **shape) -> int:
    """The largest batch size whose step fits `cap` bytes (0 when not even a batch of 1 fits)."""
    lo, hi = 0, config.batch_size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if footprint(config.with_(batch_size=mid), 1, **shape).step <= cap:
            lo = mid
        else:
            hi = mid - 1
    return lo


def most_steps(config: TrainConfig, cap: int, **shape) -> int:
    """The most steps a run of `config` may record while it keeps at most `cap` bytes (0: none)."""
    lo, hi = 0, MAX_STEPS
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if footprint(config, mid, **shape).kept <= cap:
            lo = mid
        else:
            hi = mid - 1
    return lo


def lower_peak(config: TrainConfig, cap: int, **shape) -> str:
    """What to lower, and by how much, so that one step fits `cap` bytes (the end of a refusal's sentence)."""
    batch = largest_batch(config, cap, **shape)
    if batch >= 1:
        return f"lower the batch size from {config.batch_size:,} to at most {batch:,}"
    return (f"lower the batch size, the width ({config.width}) or the depth ({config.depth}): even one sample "
            "does not fit")


def lower_kept(config: TrainConfig, cap: int, steps_done: int, runs: int = 1, **shape) -> str:
    """What to lower so that `runs` runs of `config` keep at most `cap` bytes together."""
    steps = most_steps(config, cap // max(1, runs), **shape)
    if steps > steps_done:
        every = " each" if runs > 1 else ""
        done = f" (this run has {steps_done:,}; Reset starts again)" if steps_done else ""
        return f"train at most {steps:,} steps{every}{done}, or lower the width or the depth"
    alone = footprint(config, 0, **shape).network * max(1, runs)
    return (f"lower the width ({config.width}) or the depth ({config.depth}): the network{'s' if runs > 1 else ''} "
            f"alone keep{'' if runs > 1 else 's'} about {math.ceil(alone / 1e6):,} MB")


def give_back() -> bool:
    """Return freed heap memory to the operating system now (glibc's malloc_trim(0)); False where there is no
    glibc (macOS, Windows, musl), whose allocators return memory on their own terms."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, looked up once (find_library starts a subprocess), or None without glibc."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
