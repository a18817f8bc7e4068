"""The performance budget of the whole app, in one table (each number measured in this one run).

    python benchmarks/bench_server.py

- cold start: from `streamlit run` to the home page painted in headless Chromium (target < 5 s; the home
  page does not import torch);
- warm rerun of every page (the script's run time once its caches are warm, via AppTest; target < 150 ms);
- training-lab steps per second and the instrumented/bare ratio (benchmarks/bench_training.py);
- the server's peak memory after visiting every page and training every default (target < 600 MB).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from tests.serving import CHROMIUM_ARGS, chromium, streamlit_server  # noqa: E402

PAGES = [("Home", "streamlit_app.py"), ("Lecture", "pages/6_Lecture.py"), ("Chain rule", "pages/1_Chain_rule.py"),
         ("Training lab", "pages/2_Training_lab.py"), ("Remedies", "pages/3_Remedies.py"),
         ("Through time", "pages/4_Through_time.py"), ("Edge of chaos", "pages/5_Edge_of_chaos.py")]


def memory_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process, in kB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def wait_idle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def browser_part() -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        start = time.perf_counter()
        with streamlit_server(Path(tmp) / "server.log") as (url, proc):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url)
            page.get_by_text("500 − 0.01·93,750,000 = −937,000").first.wait_for(timeout=60_000)
            out["cold start to home painted (s)"] = time.perf_counter() - start
            out["torch imported by the home page"] = "torch" in Path(tmp, "server.log").read_text()  # never logged
            out["memory after the home page (MB)"] = memory_kb(proc.pid)[0] / 1024
            for path, click, wait_text in [
                ("/Lecture", None, "Open this view"), ("/Chain_rule", None, "In one line"),
                ("/Training_lab", ("button", "Run"), "W₁[1, 1] at step 100"),
                ("/Remedies", ("button", "Compare"), "a run that overflows to inf or NaN stops there"),
                ("/Through_time", ("tab", "③ RNN vs LSTM"), "Press"),
                ("/Edge_of_chaos", ("button", "Train both pairs"), "per step"),
            ]:
                page.goto(url + path)
                wait_idle(page)
                if click:
                    page.get_by_role(click[0], name=click[1], exact=True).click()
                    wait_idle(page)
                if path == "/Training_lab":  # the ledger is one of the lab's lazy tabs
                    page.get_by_role("tab", name="Update ledger").click()
                    wait_idle(page)
                if path == "/Through_time":
                    page.get_by_role("button", name="Train 400 steps").click()
                    wait_idle(page)
                    wait_text = "constant error carousel"
                page.get_by_text(wait_text).first.wait_for(timeout=120_000)
                if path == "/Edge_of_chaos":  # the phase tab measures a real deep network
                    page.get_by_role("tab", name="② Order and chaos").click()
                    page.get_by_text("measured in a").first.wait_for(timeout=120_000)
                    wait_idle(page)
                rss, peak = memory_kb(proc.pid)
                out[f"memory after {path} (MB)"] = (rss / 1024, peak / 1024)
            rss, peak = memory_kb(proc.pid)
            out["memory after every page, every default trained (MB)"] = rss / 1024
            out["peak memory of the server (MB)"] = peak / 1024
        browser.close()
    return out


def warm_reruns() -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    for name, script in PAGES:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        if script != "streamlit_app.py":
            at.switch_page(script).run()
        at.run()  # warm: caches filled, modules imported
        times = []
        for _ in range(5):
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = statistics.median(times)
    return out


def main() -> None:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from bench_training import overhead

    served = browser_part()
    reruns = warm_reruns()
    print()
    rate, ratio = overhead(rounds=5)
    rows = [("cold start: `streamlit run` → home painted", f"{served['cold start to home painted (s)']:.2f} s",
             "< 5 s")]
    rows += [(f"warm rerun: {name}", f"{ms:.0f} ms", "< 150 ms") for name, ms in reruns.items()]
    rows += [("training lab: instrumented steps/s (10 × 32, batch 64)", f"{rate:,.0f}", "—"),
             ("training lab: instrumented / bare torch loop", f"{ratio:.2f}", "≥ 0.90"),
             ("memory after the home page", f"{served['memory after the home page (MB)']:.0f} MB", "—"),
             *[(f"memory after {k.split()[2]} (peak so far)", f"{v[0]:.0f} MB ({v[1]:.0f} MB)", "—")
               for k, v in served.items() if k.startswith("memory after /")],
             ("memory after every page and every default trained",
              f"{served['memory after every page, every default trained (MB)']:.0f} MB", "—"),
             ("peak memory of the server", f"{served['peak memory of the server (MB)']:.0f} MB", "< 600 MB")]
    print("\n| measurement | value | target |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
