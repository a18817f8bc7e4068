"""The load script's claim "memory released when sessions close" rests on the probe's counts: check them."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

from core.training.config import TrainConfig
from core.training.trainer import Run

spec = importlib.util.spec_from_file_location("probe_server", Path(__file__).parents[1] / "benchmarks" / "probe_server.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def test_the_probe_counts_live_runs_and_sees_them_go():
    before = probe.snapshot(trim=False)
    runs = [Run(TrainConfig(depth=3, width=4, seed=seed)) for seed in (71, 72)]
    for run in runs:
        run.run(3)
    held = probe.snapshot(trim=False)
    assert held["runs"] == before["runs"] + 2
    assert {71, 72} <= set(held["run_seeds"])
    assert held["tensors"] > before["tensors"]
    del runs, run
    gc.collect()
    gone = probe.snapshot(trim=True)
    assert gone["runs"] == before["runs"]
    assert not {71, 72} & set(gone["run_seeds"])
    assert gone["rss_mb"] > 0


def test_the_probe_answers_a_request_file(tmp_path):
    import threading

    threading.Thread(target=probe.serve, args=(tmp_path,), daemon=True).start()
    answer = probe.ask(tmp_path, "count", timeout=30)
    assert "runs" in answer and "rss_mb" in answer
    assert "sessions" in answer or "sessions_error" in answer  # no Streamlit runtime in a test process
