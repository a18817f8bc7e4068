"""Training-lab performance targets, measured in one run (ratios, not timed tests).

    python benchmarks/bench_training.py

1. Recording overhead: instrumented Run.step() vs a bare torch loop on the same model
   (10 hidden layers of width 32, batch 64): steps/s ratio, target ≥ 0.90. Printed twice: against
   the loop a user writes with torch's defaults, and against the same loop with the lab's optimizer
   settings (foreach), which isolates what the recording itself costs. The cost is then split: Run.step()
   with the recorder switched off (the step's own extra work: the backward pass that also returns ∂L/∂h_l,
   setting .grad), the recorder's per-step copies, and its batched reductions (flush).
2. Memory: one run's history for 10,000 steps of the default network stays under 50 MB.
3. Play: chart updates per second for the default network (train a chunk + build all charts),
   target ≥ 5 (the page renders one update per fragment run).
"""

from __future__ import annotations

import statistics
import time

import torch

from core.training.config import MAX_STEPS, TrainConfig
from core.training.trainer import Run

torch.set_num_threads(1)  # a Community Cloud container, and fair to both loops


def bare_loop_rate(config: TrainConfig, steps: int, same_optimizer: bool) -> tuple[float, float]:
    """The textbook loop on the same model, data and batches: forward, loss, backward, step, zero_grad.
    Returns steps per second of wall time and of this thread's CPU time.

    same_optimizer=False: `torch.optim.SGD(model.parameters(), lr)` with torch's defaults (what a user
    writes); True: the lab's own optimizer object (foreach=True), to isolate the cost of recording.
    """
    run = Run(config)
    model = run.model
    opt = run.optimizer if same_optimizer else torch.optim.SGD(model.parameters(), lr=config.lr)
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        xb, yb = run._next_batch()
        out, _ = model(xb)
        loss = run._loss(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start), steps / (time.thread_time() - cpu)


def instrumented_rate(config: TrainConfig, steps: int, record: bool = True) -> tuple[float, float, float]:
    """(steps/s of Run.step() in wall time, in this thread's CPU time, seconds per step spent in flush).

    record=False replaces the recorder's `add` by a no-op on this run only: what Run.step() costs without
    recording (a measurement aid, not a mode of the app)."""
    run = Run(config)
    flushing = 0.0
    flush = run.recorder.flush

    def timed_flush() -> None:
        nonlocal flushing
        t = time.perf_counter()
        flush()
        flushing += time.perf_counter() - t

    run.recorder.flush = timed_flush
    if not record:
        run.recorder.add = lambda *args, **kwargs: None
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        run.step()
    run.recorder.flush()  # reduce the pending steps too
    return steps / (time.perf_counter() - start), steps / (time.thread_time() - cpu), flushing / steps


def overhead(rounds: int = 9, steps: int = 300) -> tuple[float, float]:
    """Print the comparison; return (instrumented steps/s, instrumented/bare ratio against torch defaults)."""
    config = TrainConfig(depth=10, width=32, batch_size=64, activation="relu", init="he_normal", lr=0.01,
                         n_samples=1024)
    for same in (False, True):
        bare_loop_rate(config, 50, same)
    instrumented_rate(config, 50)  # warm up
    instrumented_rate(config, 50, record=False)
    textbook, same_opt, inst, flushing, unrecorded = [], [], [], [], []
    cpu_textbook, cpu_inst = [], []
    for _ in range(rounds):  # interleaved, so drifts in machine load hit all alike
        rate, cpu_rate = bare_loop_rate(config, steps, False)
        textbook.append(rate)
        cpu_textbook.append(cpu_rate)
        same_opt.append(bare_loop_rate(config, steps, True)[0])
        rate, cpu_rate, flush_s = instrumented_rate(config, steps)
        inst.append(rate)
        cpu_inst.append(cpu_rate)
        flushing.append(flush_s)
        unrecorded.append(instrumented_rate(config, steps, record=False)[0])
    med = statistics.median
    ratio = med(i / b for i, b in zip(inst, textbook, strict=True))
    ratio_cpu = med(i / b for i, b in zip(cpu_inst, cpu_textbook, strict=True))
    ratio_same = med(i / b for i, b in zip(inst, same_opt, strict=True))
    ratio_off = med(i / b for i, b in zip(unrecorded, same_opt, strict=True))
    # the split, from each round's own numbers (paired, so a busy moment does not land in one term only)
    off_us = med(1e6 / u - 1e6 / b for u, b in zip(unrecorded, same_opt, strict=True))
    rec_us = med(1e6 / i - 1e6 / u for i, u in zip(inst, unrecorded, strict=True))
    flush_us = med(1e6 * f for f in flushing)
    print(f"10 hidden layers × 32, batch 64, SGD, 1 thread, median of {rounds} interleaved rounds of {steps} steps:")
    print(f"  bare torch loop (torch defaults)          {med(textbook):7,.0f} steps/s")
    print(f"  bare torch loop (the lab's foreach SGD)   {med(same_opt):7,.0f} steps/s")
    print(f"  the lab's Run.step(), recording all       {med(inst):7,.0f} steps/s")
    print(f"  instrumented / bare (torch defaults):     {ratio:.3f}   (target ≥ 0.90)")
    print(f"  the same in this thread's CPU time:       {ratio_cpu:.3f}   (less sensitive to other processes)")
    print(f"  instrumented / bare (same optimizer):     {ratio_same:.3f}   "
          f"(recording alone: {med(1e6 / i - 1e6 / b for i, b in zip(inst, same_opt, strict=True)):.0f} µs per step)")
    print(f"  Run.step() with the recorder off / bare (same optimizer): {ratio_off:.3f}   ({off_us:+.0f} µs per step: "
          "the backward pass that also returns ∂L/∂h_l, setting .grad)")
    print(f"  the recorder: {rec_us:+.0f} µs per step, of which its batched reductions (flush) {flush_us:.0f} µs "
          f"and its per-step copies the rest")
    return med(inst), ratio


def memory() -> None:
    run = Run(TrainConfig())
    run.run(10_000)
    print(f"history of 10,000 steps, default network ({run.n_hidden} × {run.config.width}): "
          f"{run.history.nbytes / 1e6:.1f} MB allocated (target < 50 MB)")
    big = Run(TrainConfig(depth=50, width=8, batch_size=16, n_samples=64))
    big.history._alloc(10_000)
    print(f"history capacity for 10,000 steps at the largest depth (50 hidden layers): {big.history.nbytes / 1e6:.1f} MB")


def play_rate(seconds: float = 5.0) -> None:
    """Server-side work of one Play tick: the steps of one 20 ms time slice, then the lab's three live charts
    filled with data and serialised as Streamlit does (JSON spec, Arrow datasets). The page asks for a tick
    0.05 s after the last one was drawn; the browser's own cost is measured by benchmarks/bench_lab_browser.py."""
    import json

    import pyarrow as pa

    from core.charts import training as train_charts

    for warm in (0, 2_000):  # a fresh run, and one with a long history (shown in ≤ 400 buckets per chart)
        run = Run(TrainConfig())
        if warm:
            run.run(warm)
        frames, steps, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            end = time.perf_counter() + 0.02
            while run.steps_done < MAX_STEPS:
                run.step()
                steps += 1
                if time.perf_counter() > end:
                    break
            run.recorder.flush()
            for chart in train_charts.main_charts(run).values():
                if chart is not None:
                    json.dumps(chart.spec)
                    for df in chart.datasets.values():
                        pa.Table.from_pandas(df)
            frames += 1
            if run.steps_done >= MAX_STEPS:  # a run's history is full: the measurement ends here
                break
        rate = frames / (time.perf_counter() - start)
        print(f"Play, default network, history from {warm:,} steps: {rate:.1f} updates per second, "
              f"{steps / frames:.0f} steps each (target ≥ 10 updates per second)")


if __name__ == "__main__":
    overhead()
    memory()
    play_rate()
