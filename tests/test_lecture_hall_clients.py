"""The load test's client and the replicas script, against real servers (no browser).

`benchmarks/lab_client.py` speaks Streamlit's websocket protocol; the lecture-hall numbers rest on it seeing
what a student sees. `scripts/serve_replicas.py` puts replicas behind HAProxy; a session must stay in the
process that holds it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lab_client", ROOT / "benchmarks" / "lab_client.py")
lab_client = importlib.util.module_from_spec(spec)
sys.modules.setdefault("lab_client", lab_client)  # its dataclasses look their module up
spec.loader.exec_module(lab_client)


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    when the whole suite runs in one process."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def shown_after_100(seed: int) -> dict[str, str]:
    """What the lab shows after Run (100 steps) on the default network with this seed, from a headless run."""
    import torch

    from core.training.config import TrainConfig
    from core.training.trainer import Run
    from ui.lab import _g

    torch.set_num_threads(1)  # the server trains with one thread
    run = Run(TrainConfig(seed=seed))
    run.run(100)
    h = run.history.arrays()
    return {"Steps": "100", "Loss": _g(h["loss"][-1]), "‖∂L/∂W‖ (all layers)": _g(h["grad_norm"][-1]),
            "Largest ‖W_l‖": _g(float(np.max(h["weight"][-1])))}


async def open_and_run(url: str, seeds: tuple[int, ...]) -> list:
    visitors = [lab_client.Visitor(url) for _ in seeds]
    for visitor, seed in zip(visitors, seeds, strict=True):  # one after the other: round robin alternates
        await visitor.open("Training_lab", f"lab_seed={seed}")
        assert visitor.metrics == {}, "no steps yet"
        assert visitor.widgets["Run"].fragment_id, "the lab's Run button lives in its instrument fragment"
    await asyncio.gather(*(visitor.press("Run") for visitor in visitors))  # both at once
    return visitors


def test_two_websocket_sessions_each_see_their_own_run(app_url):
    seeds = (11, 12)
    expected = [shown_after_100(seed) for seed in seeds]
    assert expected[0]["Loss"] != expected[1]["Loss"], "the two seeds must be told apart"

    async def scenario():
        visitors = await open_and_run(url, seeds)
        try:
            assert len({v.session_id for v in visitors}) == 2
            return [dict(v.metrics) for v in visitors], [v.exceptions for v in visitors], [v.query for v in visitors]
        finally:
            await asyncio.gather(*(v.close() for v in visitors))

    url = app_url  # the real server the browser tests share
    shown, exceptions, queries = run_async(asyncio.wait_for(scenario(), 240))
    assert shown == expected
    assert exceptions == [[], []]
    assert [f"lab_seed={s}" in q and "lab_steps=100" in q for s, q in zip(seeds, queries, strict=True)] == [True, True]


def start_replicas(replicas: int) -> tuple[subprocess.Popen, str, dict[str, tuple[int, str]], list[str]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve_replicas.py"), "--replicas", str(replicas),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: dict[str, tuple[int, str]] = {}
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if m := re.match(r"replica (r\d+): pid (\d+), (http://\S+)", line):
            found[m[1]] = (int(m[2]), m[3])
        if line.startswith("serving "):
            # keep reading: haproxy logs to the same pipe, and a full pipe would block it (and its shutdown)
            threading.Thread(target=lines.extend, args=(proc.stdout,), daemon=True).start()
            return proc, f"http://127.0.0.1:{port}", found, lines
    proc.wait(10)
    raise AssertionError("serve_replicas.py did not start:\n" + "".join(lines))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.skipif(shutil.which("haproxy") is None,
                    reason="haproxy is not installed (Debian/Ubuntu: apt-get install haproxy; .ci/run installs it)")
def test_replicas_behind_haproxy_keep_each_session_on_its_replica():
    seeds = (21, 22)
    expected = [shown_after_100(seed) for seed in seeds]
    proc, url, replicas, output = start_replicas(2)

    async def scenario():
        visitors = await open_and_run(url, seeds)
        try:
            first = [(v.replica, v.cookies.get("STREAMLIT_REPLICA"), v.session_id) for v in visitors]
            shown = [dict(v.metrics) for v in visitors]
            for v in visitors:  # a network blip: the frontend reconnects and asks for its session again
                await v.reconnect()
            again = [(v.replica, v.cookies.get("STREAMLIT_REPLICA"), v.session_id) for v in visitors]
            # Control: the same request sent straight to the other replica cannot resume the session there.
            stray = lab_client.Visitor(replicas[{"r1": "r2", "r2": "r1"}[visitors[0].replica]][1])
            stray.page, stray.query, stray.session_id = visitors[0].page, visitors[0].query, visitors[0].session_id
            await stray._connect(existing=visitors[0].session_id)
            await stray._rerun(page_name=stray.page)
            await stray.wait_runs(1)
            await stray.close()
            return first, shown, again, stray.session_id
        finally:
            await asyncio.gather(*(v.close() for v in visitors))

    try:
        first, shown, again, stray_session = run_async(asyncio.wait_for(scenario(), 300))
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:  # say what every process was doing, then clean up
            pids = [str(proc.pid)] + [str(pid) for pid, _ in replicas.values()]
            state = subprocess.run(["ps", "-o", "pid,stat,wchan:24,etime,args", "-p", ",".join(pids)],
                                   capture_output=True, text=True).stdout
            proc.kill()
            for pid, _ in replicas.values():
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"serve_replicas.py still running 90 s after Ctrl-C:\n{state}\n"
                                 f"its output:\n{''.join(output)}") from None
    assert shown == expected
    assert {replica for replica, _, _ in first} == {"r1", "r2"}, "round robin gives the two students two replicas"
    assert all(replica == cookie for replica, cookie, _ in first), "the sticky cookie names the replica that served"
    assert again == first, "after reconnecting, each student is back on its replica, in its own session"
    assert stray_session != first[0][2], "another replica does not hold the session (the check above can fail)"
    assert code == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid, _ in replicas.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid, _ in replicas.values()), "Ctrl-C stops every replica"
