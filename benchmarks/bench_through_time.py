"""Through-time performance targets, measured in one run (not timed tests).

    python benchmarks/bench_through_time.py

Target: with sequences of 100 steps and hidden size 64 (batch 32, Adam), one training step of the RNN and
of the LSTM each take under 50 ms. A step unrolls the sequence one time step at a time through nn.RNN /
nn.LSTM so that ∂L/∂h_t is measured at every t. Also printed: the scalar unit and the matrix W_rec section.
"""

from __future__ import annotations

import statistics
import time

import torch

from core.recurrent.matrix import gradient_through_time, init_w_rec
from core.recurrent.scalar import measured_by_autograd, scalar_chain
from core.recurrent.sequence import SeqConfig, SeqRun

torch.set_num_threads(1)  # a Community Cloud container


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    config = SeqConfig(seq_len=100, hidden=64, batch_size=32)
    print("Through time, 1 thread, median of 15:")
    for kind in ("rnn", "lstm"):
        run = SeqRun(kind, config)
        ms = median_ms(run.step, 15)
        print(f"  one training step, {kind.upper():<4} (T = 100, hidden 64, batch 32)  {ms:6.1f} ms   "
              f"target < 50 ms: {'met' if ms < 50 else 'NOT met'}")
    print(f"  scalar unit, T = 200 (closed form + autograd)          "
          f"{median_ms(lambda: (scalar_chain(1.5, 200), measured_by_autograd(1.5, 200)), 15):6.1f} ms")
    print(f"  matrix W_rec, n = 128, T = 200 (spectrum + autograd)    "
          f"{median_ms(lambda: gradient_through_time(init_w_rec(128, 'normal', 1.0), 'tanh', 200), 15):6.1f} ms")


if __name__ == "__main__":
    main()
