"""A lecture hall on one server: N students in the training lab at once, measured at the server.

    python benchmarks/load_lecture_hall.py [--sessions 30] [--play-seconds 20]
    python benchmarks/load_lecture_hall.py --replicas 2           # behind HAProxy (scripts/serve_replicas.py)
    python benchmarks/load_lecture_hall.py --url http://host:port [--server-pid PID ...]

Each student is a lightweight client speaking Streamlit's own websocket protocol (`lab_client.Visitor`: a few
kilobytes of Python, no browser), so the numbers are the server's, not 30 Chromium tabs' on the same cores.
Loopback only by default; at most 300 sessions and 15 minutes.

1. Every student opens the lab's deep link with a seed of their own (`/Training_lab?lab_seed=K`: the default
   network, 6 × 16 tanh), then all press **Run** (100 steps) at the same moment. Printed: p50/p95/slowest time
   from the click until that student's page has finished and shows 100 steps, and the throughput (students ×
   100 steps / the time until the last one saw its result).
2. All press **Play**: the client does what the browser does with the fragment's `run_every` (a rerun request
   every interval, which the server folds while one is pending). Printed: updates per second each student
   receives (a run whose Steps and Loss both arrived: what a browser shows, also when Streamlit reports the run
   as finished early because the next tick had started), training steps per second, per student and in all,
   and the longest time a student waited for new numbers. Then everyone leaves (closes the connection).
3. No student sees another's numbers: every number a student was shown (Steps, Loss, ‖∂L/∂W‖ and the largest
   ‖W_l‖ after Run; Steps and Loss after every Play update) is compared with a headless `core` run with that
   student's seed, computed after the measurement.
4. Memory: the server's resident memory sampled every 0.5 s, and its peak (VmHWM). Started by this script, the
   server runs with a probe (`probe_server.py`) that also says what is still alive once the class has left.

`--replicas N` starts `scripts/serve_replicas.py` (N processes behind HAProxy with sticky sessions) and reports
each replica's memory and how many students each one got; `--url` drives any running server (its memory only
with `--server-pid`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_server import memory_kb  # noqa: E402
from lab_client import Visitor  # noqa: E402
from probe_server import ask  # noqa: E402

from tests.serving import free_port, streamlit_server  # noqa: E402

MAX_SESSIONS, MAX_SECONDS = 300, 900
PAGE = "Training_lab"
STEPS = 100


def deep_link(seed: int) -> str:
    return f"lab_seed={seed}"


def expected_numbers(seed: int, upto: int) -> tuple[dict[int, str], dict[str, str]]:
    """A headless run with this seed, formatted as the lab formats it: the loss after every step up to `upto`,
    and the four numbers the lab shows after STEPS steps."""
    import numpy as np
    import torch

    from core.training.config import TrainConfig
    from core.training.trainer import Run
    from ui.lab import _g

    torch.set_num_threads(1)  # as in the server (ui.page.one_torch_thread): the same kernels, the same rounding
    run = Run(TrainConfig(seed=seed))
    run.run(STEPS)
    h = run.history.arrays()
    at_run = {"Steps": f"{STEPS:,}", "Loss": _g(h["loss"][-1]), "‖∂L/∂W‖ (all layers)": _g(h["grad_norm"][-1]),
              "Largest ‖W_l‖": _g(float(np.max(h["weight"][-1])))}
    while run.steps_done < upto and not run.stopped:
        run.step()
    run.recorder.flush()
    losses = run.history.arrays()["loss"]
    return {n: _g(losses[n - 1]) for n in range(1, len(losses) + 1)}, at_run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Memory:
    """Resident memory of the server processes, sampled in the background."""

    def __init__(self, pids: list[int]):
        self.pids, self.samples = pids, []

    async def sample(self, every: float = 0.5) -> None:
        while True:
            try:
                self.samples.append(sum(memory_kb(pid)[0] for pid in self.pids) / 1024)
            except (FileNotFoundError, ProcessLookupError):
                return
            await asyncio.sleep(every)

    def peaks(self) -> list[float]:
        return [memory_kb(pid)[1] / 1024 for pid in self.pids]


async def one_class(url: str, n: int, play_seconds: float, first_seed: int) -> dict:
    visitors = [Visitor(url) for _ in range(n)]
    seeds = list(range(first_seed, first_seed + n))
    start = time.perf_counter()
    await asyncio.gather(*(v.open(PAGE, deep_link(s)) for v, s in zip(visitors, seeds, strict=True)))
    opened = time.perf_counter() - start

    # 1. Everyone presses Run at once.
    start = time.perf_counter()
    run_seconds = await asyncio.gather(*(v.press("Run") for v in visitors))
    makespan = time.perf_counter() - start
    after_run = [dict(v.metrics) for v in visitors]

    # 2. Everyone plays (and then closes the tab: pausing is not measured).
    marks = [len(v.updates) for v in visitors]
    start = time.perf_counter()
    pressed = await asyncio.gather(*(v.press("Play", timeout=play_seconds + 120) for v in visitors),
                                   return_exceptions=True)
    await asyncio.sleep(max(0.0, play_seconds - (time.perf_counter() - start)))
    end = time.perf_counter()
    played = [v.updates[m:] for v, m in zip(visitors, marks, strict=True)]
    # The longest wait for new numbers while playing: from the click, between updates, and until the end.
    gaps = [max(b - a for a, b in zip([start, *(u[0] for u in p)], [*(u[0] for u in p), end], strict=True))
            for p in played]
    errors = [e for v in visitors for e in v.exceptions]
    replicas = Counter(v.replica for v in visitors if v.replica)
    await asyncio.gather(*(v.close() for v in visitors))
    return dict(seeds=seeds, opened=opened, run_seconds=run_seconds, makespan=makespan, after_run=after_run,
                played=played, window=end - start, gaps=gaps, errors=errors, replicas=replicas,
                play_failed=sum(isinstance(p, BaseException) for p in pressed))


def steps_of(shown: str) -> int:
    return int(shown.replace(",", "")) if shown.replace(",", "").isdigit() else -1


def check_own_numbers(result: dict) -> list[str]:
    """Every number each student was shown against a headless run with that student's seed."""
    problems = []
    for seed, after_run, played in zip(result["seeds"], result["after_run"], result["played"], strict=True):
        shown = [(steps_of(s), loss) for _, s, loss in played if steps_of(s) > 0]
        losses, at_run = expected_numbers(seed, max([n for n, _ in shown], default=STEPS))
        for label, value in at_run.items():
            if after_run.get(label) != value:
                problems.append(f"seed {seed}: after Run shows {label} {after_run.get(label)!r}, its own run {value!r}")
        wrong = [(n, loss) for n, loss in shown if losses.get(n) != loss]
        if wrong:
            n, loss = wrong[0]
            problems.append(f"seed {seed}: {len(wrong)} of {len(shown)} Play updates differ from its own run, "
                            f"first at step {n}: {loss!r} against {losses.get(n)!r}")
    return problems


def report(result: dict, memory: Memory | None, n: int, where: str) -> None:
    secs = result["run_seconds"]
    print(f"{n} students on {where}, the lab's default network (6 × 16 tanh), each with its own seed:")
    print(f"  page opened by all:            {result['opened']:.1f} s")
    print(f"  Run {STEPS} pressed by all at once: click → own result shown: p50 {statistics.median(secs):.2f} s, "
          f"p95 {percentile(secs, 0.95):.2f} s, slowest {max(secs):.2f} s (target p95 ≤ 10 s)")
    print(f"    throughput: {n * STEPS / result['makespan']:.0f} training steps/s "
          f"({n} × {STEPS} steps in {result['makespan']:.2f} s)")
    rates = [len(p) / result["window"] for p in result["played"]]
    steps = [(steps_of(p[-1][1]) - steps_of(p[0][1])) / result["window"] if len(p) > 1 else 0.0
             for p in result["played"]]
    print(f"  Play by all for {result['window']:.0f} s: updates per second each: median {statistics.median(rates):.1f}, "
          f"slowest {min(rates):.1f}, fastest {max(rates):.1f}; in all {sum(rates):.0f} updates/s")
    print(f"    training steps per second each: median {statistics.median(steps):.0f}, slowest {min(steps):.0f}; "
          f"in all {sum(steps):.0f} steps/s")
    print(f"    longest wait for new numbers while playing: median {statistics.median(result['gaps']):.1f} s, "
          f"worst {max(result['gaps']):.1f} s; Play's first redraw not seen within {result['window']:.0f} s + 120 s: "
          f"{result['play_failed']} of {n}")
    if result["replicas"]:
        print(f"  students per replica: {', '.join(f'{r}: {c}' for r, c in sorted(result['replicas'].items()))}")
    if memory is not None and memory.samples:
        peaks = memory.peaks()
        per = ", ".join(f"{p:.0f} MB" for p in peaks)
        print(f"  server memory (RSS): {memory.samples[0]:.0f} MB before the class, up to {max(memory.samples):.0f} MB "
              f"sampled; peak (VmHWM) {per}{' per replica' if len(peaks) > 1 else ''} (target ≤ 1 GB each)")
    print(f"  errors drawn on any page: {len(result['errors'])}" + (f" (first: {result['errors'][0]})" if result["errors"] else ""))


async def warm_up(url: str) -> None:
    """The lecturer tries the lab first (torch imported, a run drawn), so that the class meets a warm server."""
    lecturer = Visitor(url)
    await lecturer.open(PAGE, deep_link(10_000))
    await lecturer.press("Run")
    await lecturer.close()


async def measure(url: str, n: int, play_seconds: float, pids: list[int], warm_replicas: int, where: str,
                  probe: Path | None) -> int:
    for _ in range(warm_replicas):  # round robin: one lecturer per replica
        await warm_up(url)
    memory = Memory(pids) if pids else None
    sampler = asyncio.create_task(memory.sample()) if memory else None
    await asyncio.sleep(0.6)
    result = await one_class(url, n, play_seconds, first_seed=0)
    if sampler:
        sampler.cancel()
    report(result, memory, n, where)
    problems = check_own_numbers(result)
    shown = sum(len(p) for p in result["played"])
    print(f"  students who saw exactly their own numbers: {n - len({p.split(':')[0] for p in problems})} of {n} "
          f"({n} results after Run, {shown} Play updates checked against a headless run with each seed)")
    for problem in problems[:10]:
        print(f"    {problem}")
    if probe is not None:
        # Streamlit drops a disconnected session after its TTL (5 s here), lazily, when a session connects.
        await asyncio.sleep(8)
        late = Visitor(url)
        await late.open("", "")
        await late.close()
        await asyncio.sleep(1)
        left, trimmed = ask(probe, "count"), ask(probe, "trim")
        print(f"  after the class left: {left.get('sessions', '?')} sessions and {left['runs']} training runs alive, "
              f"RSS {left['rss_mb']:.0f} MB ({trimmed['rss_mb']:.0f} MB after malloc_trim(0))")
    return 1 if problems or result["errors"] else 0


def start_replicas(stack: ExitStack, replicas: int) -> tuple[str, list[int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve_replicas.py"), "--replicas", str(replicas),
                             "--port", str(port)], stdout=subprocess.PIPE, text=True)
    stack.callback(lambda: (proc.terminate(), proc.wait(30)))
    pids = []
    for line in proc.stdout:
        if line.startswith("replica "):
            pids.append(int(re.search(r"pid (\d+)", line)[1]))
        if line.startswith("serving "):
            return f"http://127.0.0.1:{port}", pids
    raise RuntimeError("serve_replicas.py did not start (is haproxy installed?)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--play-seconds", type=float, default=20)
    parser.add_argument("--url", help="a running server (default: start one here)")
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="with --url: measure its memory")
    parser.add_argument("--replicas", type=int, help="start N replicas behind HAProxy (scripts/serve_replicas.py)")
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS:
        raise SystemExit(f"between 1 and {MAX_SESSIONS} sessions")
    with ExitStack() as stack:
        probe = None
        if args.url:
            url, pids, where, warm = args.url.rstrip("/"), args.server_pid, args.url, 1
        elif args.replicas:
            url, pids = start_replicas(stack, args.replicas)
            where, warm = f"{args.replicas} replica(s) behind HAProxy", args.replicas
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            # Disconnected sessions are kept 120 s by default (for reconnecting); 5 s here, so that release shows.
            url, proc = stack.enter_context(streamlit_server(
                tmp / "server.log", extra=("--server.disconnectedSessionTTL", "5"),
                launcher=(str(ROOT / "benchmarks" / "probe_server.py"), str(tmp))))
            pids, where, warm, probe = [proc.pid], "one server process", 1, tmp
        code = asyncio.run(asyncio.wait_for(
            measure(url, args.sessions, args.play_seconds, pids, warm, where, probe), MAX_SECONDS))
    sys.exit(code)


if __name__ == "__main__":
    main()
