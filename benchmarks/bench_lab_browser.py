"""The training lab as a learner feels it: clicks in a real browser against a real `streamlit run`.

    python benchmarks/bench_lab_browser.py [--steps 20] [--play 5]

Debian's Chromium (headless) drives the lab on one loopback server. For every scenario it clicks the
scenario, then Step `--steps` times, and measures in the page (performance.now(), so Playwright's own round
trips do not count) the time from the click until the Steps number shows the new step, the script has
finished and the browser has painted two more frames (the charts' data are swapped in place by then).
Then Run 100 on the default network, Play for `--play` seconds (chart updates per second, counted from the
Steps number changing on screen) and Pause (click until the Play button is back and the steps stand still).
The server's own time per script or fragment run is read from inside the server (the launcher below wraps
Streamlit's script runner and writes each run's duration to a file; nothing of this is part of the app).

Targets (issue 15): Step median ≤ 250 ms; Play ≥ 10 updates/s; Pause ≤ 300 ms; Run 100 ≤ 1 s;
scenario click ≤ 1.5 s; server time of one Step ≤ 60 ms. A benchmark prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serving import CHROMIUM_ARGS, chromium, streamlit_server  # noqa: E402

TIMED_LAUNCHER = Path(__file__).with_name("timed_server.py")

FIND = """(name) => [...document.querySelectorAll("button")].find(b => b.offsetParent !== null
    && b.innerText.split("\\n").map(s => s.trim()).includes(name))"""

CLICK_AND_WAIT = """async ([name, expected, timeoutMs]) => {
  // Click, then wait until Streamlit has run (its script state went to running and back) and, if given, the
  // Steps number reads `expected`; then two painted frames.
  const app = document.querySelector("[data-testid='stApp']");
  const steps = () => { const m = [...document.querySelectorAll("[data-testid='stMetric']")]
      .find(e => e.innerText.startsWith("Steps")); return m ? m.querySelector("[data-testid='stMetricValue']").innerText : ""; };
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  let ran = false;
  const seen = new MutationObserver(() => { if (app.getAttribute("data-test-script-state") === "running") ran = true; });
  seen.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
  const target = (""" + FIND + """)(name);
  if (!target) return -1;
  const t0 = performance.now();
  target.click();
  while (performance.now() - t0 < timeoutMs) {
    await frame();
    if (ran && app.getAttribute("data-test-script-state") === "notRunning" && (expected === null || steps() === expected)) break;
  }
  seen.disconnect();
  await frame(); await frame();
  return performance.now() - t0;
}"""

COUNT_UPDATES = """async (ms) => {
  const read = () => { const m = [...document.querySelectorAll("[data-testid='stMetric']")]
      .find(e => e.innerText.startsWith("Steps")); return m ? m.querySelector("[data-testid='stMetricValue']").innerText : ""; };
  let last = read(), changes = 0; const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await new Promise(r => requestAnimationFrame(() => r()));
    const now = read(); if (now !== last) { changes += 1; last = now; }
  }
  return changes / (ms / 1000);
}"""

PAUSE = """async () => {
  const button = """ + FIND + """;
  const read = () => { const m = [...document.querySelectorAll("[data-testid='stMetric']")]
      .find(e => e.innerText.startsWith("Steps")); return m ? m.querySelector("[data-testid='stMetricValue']").innerText : ""; };
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const t0 = performance.now();
  button("Pause").click();
  while (performance.now() - t0 < 10000 && !button("Play")) await frame();
  const stopped = performance.now() - t0;
  const at = read(); await new Promise(r => setTimeout(r, 500));
  return [stopped, at, read()];
}"""


def wait_idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def open_lab(page, url: str) -> None:
    page.goto(url + "/Training_lab")
    page.wait_for_function("() => !!(" + FIND + ")('Step')", timeout=120_000)
    wait_idle(page)


def steps_shown(page) -> int:
    text = page.evaluate("""() => { const m = [...document.querySelectorAll("[data-testid='stMetric']")]
        .find(e => e.innerText.startsWith("Steps")); return m ? m.querySelector("[data-testid='stMetricValue']").innerText : "0"; }""")
    return int(text.replace(",", "") or 0)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def server_times(log: Path, since: int) -> list[float]:
    lines = log.read_text().splitlines()[since:] if log.exists() else []
    return [json.loads(line)["ms"] for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="Step clicks per scenario")
    parser.add_argument("--play", type=float, default=5.0, help="seconds of Play")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from core.training.scenarios import SCENARIOS

    work = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    timings = work / "runs.jsonl"
    with streamlit_server(work / "server.log", launcher=(str(TIMED_LAUNCHER), str(timings))) as (url, _), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_lab(page, url)
        rows = []
        all_steps, all_server = [], []
        for scenario in SCENARIOS.values():
            pick = page.evaluate(CLICK_AND_WAIT, [scenario.label, None, 60_000])
            wait_idle(page)
            clicks = []
            mark = len(server_times(timings, 0))
            for _ in range(args.steps):
                before = steps_shown(page)
                ms = page.evaluate(CLICK_AND_WAIT, ["Step", f"{before + 1:,}", 10_000])
                if steps_shown(page) == before:
                    break  # stopped by inf/NaN
                clicks.append(ms)
            server = server_times(timings, mark)
            all_steps += clicks
            all_server += server
            rows.append((scenario.label, f"{scenario.config.depth} × {scenario.config.width}", pick, clicks, server))
        print(f"Training lab in Chromium at 1400 × 900, {args.steps} Step clicks per scenario (click → new step on "
              "screen, script done, two frames painted):\n")
        print("| scenario | network | scenario click → trained view | Step median / p95 | server time per Step (median) |")
        print("|---|---|---|---|---|")
        for label, net, pick, clicks, server in rows:
            step = f"{statistics.median(clicks):.0f} / {pct(clicks, 0.95):.0f} ms" if clicks else "(stopped: inf/NaN)"
            srv = f"{statistics.median(server):.0f} ms" if server else "—"
            print(f"| {label} | {net} | {pick:.0f} ms | {step} | {srv} |")
        if all_steps:
            print(f"\nAll Step clicks: median {statistics.median(all_steps):.0f} ms, p95 {pct(all_steps, 0.95):.0f} ms "
                  f"(target median ≤ 250 ms); server time per Step median {statistics.median(all_server):.0f} ms, "
                  f"p95 {pct(all_server, 0.95):.0f} ms (target ≤ 60 ms)")

        open_lab(page, url)  # a new session: the default network, untrained
        runs = []
        for _ in range(3):
            before = steps_shown(page)
            runs.append(page.evaluate(CLICK_AND_WAIT, ["Run", f"{before + 100:,}", 60_000]))
        print(f"Run 100, default network: {', '.join(f'{r:.0f}' for r in runs)} ms (median "
              f"{statistics.median(runs):.0f} ms; target ≤ 1,000 ms)")
        page.evaluate(CLICK_AND_WAIT, ["Play", None, 30_000])
        page.wait_for_timeout(1500)
        rate = page.evaluate(COUNT_UPDATES, args.play * 1000)
        stopped, a, b = page.evaluate(PAUSE)
        print(f"Play, default network: {rate:.1f} chart updates per second (target ≥ 10); Pause → Play button back in "
              f"{stopped:.0f} ms (target ≤ 300 ms), steps then {'stand still' if a == b else f'still moving ({a} → {b})'}")
        browser.close()


if __name__ == "__main__":
    main()
