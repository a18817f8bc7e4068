"""Is every piece of text readable? Every page, tab, scenario and lecture scene, light and dark, 1280 × 720 and
1400 × 900, in a real browser against a real `streamlit run`.

    python benchmarks/check_visuals.py [--out DIR] [--only NAME ...] [--no-screenshots]

For each view and each (theme, window size) it lists the text cut by its box, horizontal scrolling of the main
column, canvas tables and exception boxes (the checks are in tests/visuals.py, shared with the browser test),
and saves a screenshot of the main column to `--out` (default: a fresh temporary directory, never the
repository). It prints one line per view and combination, the problems in full, the totals and the time taken;
it exits 1 when it found a problem. A benchmark prints; the browser test runs a subset of the same views.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serving import CHROMIUM_ARGS, chromium, streamlit_server  # noqa: E402
from tests.visuals import SIZES, THEMES, View, check_view, click_button, click_pill  # noqa: E402


def all_views() -> list[View]:
    """Every page, every tab (deep links carry the tab and the widgets), every scenario, every lecture scene."""
    from core.app.page_views import EDGE_TABS, LAB_TABS, LECTURE_PATH, TT_TABS
    from core.training.scenarios import SCENARIOS

    weights = "Chain_rule?mode=From+weights"
    views = [
        View("home", ""),
        View("chain-notes", "Chain_rule"),
        View("chain-notes-30", "Chain_rule?f_depth=30"),
        View("chain-2-real", "Chain_rule", (click_button("② Make the notes' numbers real"),)),
        View("chain-3-w500", "Chain_rule", (click_button("③ What w = 500 really does"),)),
        View("chain-sigmoid-30", f"{weights}&n_depth=30"),
        View("chain-tanh-30", f"{weights}&act=tanh&n_depth=30&weights=100"),
        View("chain-relu-12", f"{weights}&act=relu&n_depth=12&weights=3;-2&biases=0.5"),
        View("chain-linear-30", f"{weights}&act=linear&n_depth=30&weights=1.5&centred=1"),
    ]
    views += [View(f"lab-{k}", "Training_lab", (click_pill(s.label),)) for k, s in SCENARIOS.items()]
    views += [View(f"lab-lecture-{k}", "Training_lab?lecture=1", (click_pill(s.label),))
              for k, s in list(SCENARIOS.items())[:2]]
    views += [View(f"lab-tab{i}", f"Training_lab?lab_steps=30&lab_tab={quote(t)}") for i, t in enumerate(LAB_TABS)]
    views += [
        View("remedies", "Remedies"),
        View("remedies-compare", "Remedies?rem_compared=1"),
        View("remedies-which-fix", "Remedies", (click_button("Which fix works?"),)),
    ]
    views += [View(f"through-time-tab{i}", f"Through_time?tt_tab={quote(t)}") for i, t in enumerate(TT_TABS)]
    views += [View("through-time-trained", f"Through_time?tt_tab={quote(TT_TABS[2])}&tt_trained=50")]
    views += [View(f"edge-tab{i}", f"Edge_of_chaos?edge_tab={quote(t)}") for i, t in enumerate(EDGE_TABS)]
    scenes = LECTURE_PATH.fields[0].hi
    views += [View(f"lecture-{k}", f"Lecture?lecture=1&lec_scene={k}") for k in range(1, scenes + 1)]
    views += [View("lecture-plain", "Lecture")]
    views += [View(f"lecture-mode-{page.lower()}", f"{page}?lecture=1")
              for page in ("Chain_rule", "Remedies", "Through_time", "Edge_of_chaos")] + [View("lecture-mode-home", "?lecture=1")]
    return views


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="screenshots here (default: a new temporary directory)")
    ap.add_argument("--only", nargs="*", default=None, help="views whose name starts with one of these")
    ap.add_argument("--no-screenshots", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = args.out or Path(tempfile.mkdtemp(prefix="check_visuals_"))
    out.mkdir(parents=True, exist_ok=True)
    views = [v for v in all_views() if not args.only or any(v.name.startswith(o) for o in args.only)]
    combos = [(theme, size) for theme in THEMES for size in SIZES]

    def shoot(page, tag: str) -> None:
        """The whole page: Streamlit scrolls inside its main column, so grow the window to its height first."""
        if args.no_screenshots:
            return
        size = page.viewport_size
        tall = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(tall), 8000))})
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / f"{tag}.png"))
        page.set_viewport_size(size)

    total, found_in = 0, 0
    t_start = time.perf_counter()
    with streamlit_server(out / "streamlit.log") as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
        for view in views:
            t0 = time.perf_counter()
            try:
                found = check_view(page, url, view, combos, shoot)
            except Exception as err:  # a view that never settles is a finding, not the end of the walk
                found = {view.name: [f"could not check: {type(err).__name__}: {str(err).splitlines()[0]}"]}
            seconds = time.perf_counter() - t0
            for tag, items in found.items():
                total += len(items)
                found_in += bool(items)
                print(f"{'OK ' if not items else 'BAD'} {tag}", flush=True)
                for item in items:
                    print(f"      {item}", flush=True)
            print(f"    ({view.name}: {seconds:.1f} s)", flush=True)
        browser.close()
    print(f"\n{len(views)} views × {len(combos)} theme/size combinations in {time.perf_counter() - t_start:.0f} s: "
          f"{total} problems in {found_in} combinations. Screenshots: {out}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
