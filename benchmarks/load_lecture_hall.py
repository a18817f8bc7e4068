"""A lecture hall on one server: 30 concurrent browser sessions, each training 100 steps in the training lab.

    python benchmarks/load_lecture_hall.py [--sessions 30]

Loopback only, at most 40 sessions, at most 15 minutes. Every session opens its own deep link (its own seed),
presses Run (100 steps) and must then show exactly its own run: 100 steps and the update ledger of W₁[1, 1]
at step 100 equal to a headless run with the same seed (a session that saw another's state would not match).
A second class of the same size follows once the first has left, to see whether the first one's memory is
released and reused. Printed: errors, the per-step time (click → 100 steps shown, divided by 100; median
and p95 over sessions), the server's memory per extra session, and its memory after each class leaves.

Release is read from inside the server by a probe (`probe_server.py`): how many sessions and training runs
are alive once the class has left, and the resident memory before and after glibc's `malloc_trim(0)`, which
tells memory the app still holds from freed memory the allocator keeps for the next class. Streamlit evicts an
expired session lazily (when another session connects or leaves), so a late visitor opens the home page at
the end, and the server is asked once more.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_server import memory_kb  # noqa: E402
from probe_server import ask  # noqa: E402

from tests.serving import CHROMIUM_ARGS, chromium, streamlit_server  # noqa: E402

MAX_SESSIONS, MAX_SECONDS = 40, 900
CONFIG = dict(depth=4, width=8, activation="tanh", init="xavier_normal", lr=0.05)


STEPS_SHOWN_100 = """() => [...document.querySelectorAll("[data-testid='stMetric']")].some(m =>
    m.innerText.startsWith("Steps") && m.querySelector("[data-testid='stMetricValue']").innerText === "100")"""


def expected_ledger(seed: int) -> str:
    from core.training.config import TrainConfig
    from core.training.inspect_run import ledger_at
    from core.training.trainer import Run

    config = TrainConfig(**CONFIG, seed=seed)
    run = Run(config)
    run.run(100)
    entry = ledger_at(run.history.arrays()["tracked"], 100, config.lr, config.optimizer, config.dtype, run.track)
    return entry.update.equation_text()


async def session(browser, url: str, seed: int, results: list, ready: list, go: asyncio.Event):
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    query = "&".join(f"lab_{k}={v}" for k, v in CONFIG.items()) + f"&lab_seed={seed}"
    try:
        await page.goto(f"{url}/Training_lab?{query}", timeout=120_000)
        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
        await page.get_by_role("button", name="Run", exact=True).wait_for(timeout=120_000)
        ready.append(seed)
        await go.wait()  # every session clicks at the same moment
        start = time.perf_counter()
        await page.get_by_role("button", name="Run", exact=True).click()
        await page.wait_for_function(STEPS_SHOWN_100, timeout=300_000)
        seconds = time.perf_counter() - start
        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
        await page.get_by_role("tab", name="Update ledger").click()  # the ledger is a lazy tab: open it
        await page.get_by_text("W₁[1, 1] at step 100").first.wait_for(timeout=300_000)
        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
        body = await page.inner_text("[data-testid='stMain']")
        metric = page.locator("[data-testid='stMetric']").filter(has_text="Steps").locator("[data-testid='stMetricValue']")
        steps = (await metric.first.inner_text(timeout=180_000)).replace(",", "")
        errors = await page.locator("[data-testid='stException']").count()
        results.append({"seed": seed, "seconds": seconds, "body": body, "errors": errors, "steps": steps})
    except Exception as err:  # noqa: BLE001 - a failed session is a result to report, not a crash
        results.append({"seed": seed, "seconds": None, "body": "", "errors": 1, "failure": repr(err)[:200]})
        ready.append(seed)
    return context


async def main_async(n: int) -> None:
    from playwright.async_api import async_playwright

    expected = {seed: expected_ledger(seed) for seed in range(2 * n)}
    # Disconnected sessions are kept 120 s by default (for reconnecting); 5 s here, so that release is measurable.
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(
            Path(tmp) / "server.log", extra=("--server.disconnectedSessionTTL", "5"),
            launcher=(str(ROOT / "benchmarks" / "probe_server.py"), tmp)) as (url, proc):
        probe = Path(tmp)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            warm = await browser.new_page()
            # The lecturer tries the lab first: torch imported, one run of 100 steps and its charts drawn, so that
            # the memory below is what students add, not one-time imports.
            await warm.goto(url + "/Training_lab?lab_seed=1000")
            await warm.get_by_role("button", name="Run", exact=True).click(timeout=120_000)
            await warm.wait_for_function(STEPS_SHOWN_100, timeout=120_000)
            await warm.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
            await warm.close()
            await asyncio.sleep(1)
            before = memory_kb(proc.pid)[0] / 1024
            idle = ask(probe, "count")
            waves = []
            for wave in range(2):  # a second class after the first has left: is the first one's memory reused?
                results: list = []
                ready: list = []
                go = asyncio.Event()
                tasks = [asyncio.create_task(session(browser, url, wave * n + i, results, ready, go)) for i in range(n)]
                waited = 0.0
                while len(ready) < n and waited < 240:  # every page loaded, then one common click
                    await asyncio.sleep(0.5)
                    waited += 0.5
                go.set()
                contexts = await asyncio.gather(*tasks)
                during = memory_kb(proc.pid)[0] / 1024
                held = ask(probe, "count")
                for context in contexts:
                    if context is not None:
                        await context.close()
                await asyncio.sleep(15)  # past the 5 s TTL
                after = memory_kb(proc.pid)[0] / 1024
                left = ask(probe, "count")
                trimmed = ask(probe, "trim")
                waves.append((results, during, after, held, left, trimmed))
            # Streamlit drops an expired session lazily, when the next session connects or leaves: one late
            # visitor opens the home page (no training) and leaves, then the server is asked what is still alive.
            late = await browser.new_page()
            await late.goto(url)
            await late.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
            await late.close()
            await asyncio.sleep(1)
            after_late = ask(probe, "count")
            trimmed_late = ask(probe, "trim")
            await browser.close()
            peak = memory_kb(proc.pid)[1] / 1024
    results = waves[0][0] + waves[1][0]
    ok = [r for r in results if r["seconds"] is not None and r["errors"] == 0]
    matches = [r for r in ok if r["steps"] == "100" and expected[r["seed"]] in r["body"]]
    per_step = sorted(r["seconds"] / 100 * 1000 for r in ok)
    p95 = per_step[min(len(per_step) - 1, int(round(0.95 * (len(per_step) - 1))))] if per_step else float("nan")
    print(f"{n} concurrent sessions, one server (2 cores), each pressing Run (100 steps) at the same moment; then a "
          f"second class of {n}:")
    print(f"  sessions without error:                 {len(ok)} of {2 * n}")
    print(f"  sessions showing exactly their own run:  {len(matches)} of {2 * n} (100 steps, ledger = headless run)")
    if per_step:
        print(f"  time per step (click → 100 steps shown): median {statistics.median(per_step):.1f} ms, "
              f"p95 {p95:.1f} ms, slowest session {max(r['seconds'] for r in ok):.1f} s for 100 steps")
    (_, during1, after1, *_), (_, during2, after2, *_) = waves
    print(f"  server memory: {before:.0f} MB after the lecturer's run; first class {during1:.0f} MB "
          f"({(during1 - before) / n:.1f} MB per extra session), {after1:.0f} MB after it left; second class "
          f"{during2:.0f} MB, {after2:.0f} MB after it left; peak {peak:.0f} MB")
    print(f"  memory reused by the second class: it grew the server by {during2 - after1:+.0f} MB against "
          f"{during1 - before:+.0f} MB for the first")
    print(f"  inside the server (probe): {describe(idle)} with no student connected")
    for number, (_, _, _, held, left, trimmed) in enumerate(waves, 1):
        print(f"    class {number} connected: {describe(held)}")
        print(f"    class {number} gone (TTL passed): {describe(left)}; after malloc_trim(0) RSS "
              f"{trimmed['rss_mb']:.0f} MB")
    print(f"    runs alive by seed: class 1 gone {seed_range(waves[0][4])}, class 2 connected {seed_range(waves[1][3])}, "
          f"class 2 gone {seed_range(waves[1][4])} (class 1 used seeds 0–{n - 1}, class 2 {n}–{2 * n - 1})")
    print(f"    after one late visitor to the home page: {describe(after_late)}; after malloc_trim(0) RSS "
          f"{trimmed_late['rss_mb']:.0f} MB")
    for r in ok:
        if r not in matches:
            line = next((ln for ln in r["body"].splitlines() if "·" in ln and "=" in ln), "?")
            print(f"  session {r['seed']} does not match: shows {line!r} after {r['steps']} steps, expected "
                  f"{expected[r['seed']]!r} after 100")
    for r in results:
        if r.get("failure"):
            print(f"  session {r['seed']} failed: {r['failure']}")


def seed_range(probe: dict) -> str:
    seeds = probe["run_seeds"]
    return f"{len(seeds)} in {min(seeds)}–{max(seeds)}" if seeds else "none"


def describe(probe: dict) -> str:
    return (f"{probe.get('sessions', '?')} sessions ({probe.get('active_sessions', '?')} connected), "
            f"{probe['runs']} training runs alive, {probe['tensors']} tensors ({probe['tensor_mb']:.1f} MB), "
            f"Arrow {probe.get('arrow_mb', 0):.1f} MB, {probe['allocated_blocks'] / 1e6:.2f} M Python blocks, "
            f"RSS {probe['rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=30)
    n = parser.parse_args().sessions
    if not 1 <= n <= MAX_SESSIONS:
        raise SystemExit(f"between 1 and {MAX_SESSIONS} sessions")
    asyncio.run(asyncio.wait_for(main_async(n), MAX_SECONDS))


if __name__ == "__main__":
    main()
