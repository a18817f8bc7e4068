"""Every page readable in a real browser (issue 18): no text cut by its box, no horizontal scrolling of the main
column, no canvas table, no exception — in light and dark, at 1280 × 720 and 1400 × 900.

A representative view of every page here, each checked light at 1280 × 720 and dark at 1400 × 900; the whole
matrix (every tab, scenario and lecture scene, each theme at each size) is `benchmarks/check_visuals.py`, which
also keeps the screenshots.
"""

from urllib.parse import quote

import pytest

from tests.visuals import SIZES, THEMES, View, check_view, click_pill, problems

pytestmark = pytest.mark.browser

COMBOS = list(zip(THEMES, SIZES, strict=True))  # light at 1280 × 720, dark at 1400 × 900: both of each, every page
VIEWS = [
    View("home", ""),
    View("chain-sigmoid-30", "Chain_rule?mode=From+weights&n_depth=30"),
    View("lab-scenario", "Training_lab", (click_pill("ReLU, init too large"),)),
    View("remedies-compare", "Remedies?rem_compared=1&rem_steps=40"),
    View("through-time", "Through_time?tt_tab=" + quote("③ RNN vs LSTM")),
    View("edge", "Edge_of_chaos?edge_tab=" + quote("③ The cliff")),
    View("lecture", "Lecture?lecture=1&lec_scene=3"),
]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_every_page_is_readable_light_and_dark(browser, app_url, view):
    page = browser.new_page(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    found = check_view(page, app_url, view, COMBOS)
    page.close()
    assert found == {tag: [] for tag in found}, {tag: items for tag, items in found.items() if items}


def test_the_check_sees_a_cut_label_a_wide_formula_and_a_canvas_table(browser):
    """The measure itself: a page built to fail each check is reported on each count."""
    page = browser.new_page(viewport={"width": 800, "height": 600})
    page.set_content("""<div data-testid="stApp"><div data-testid="stMain" style="width: 600px; overflow: auto">
      <button style="width: 60px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis">ReLU, init too large</button>
      <div class="katex-display" style="width: 200px; overflow-x: auto"><span style="white-space: nowrap">
        ∂L/∂w ≈ 1 × 5.536 × 10⁻⁸⁵ × 5.536 × 10⁻⁸⁵ × 5.536 × 10⁻⁸⁵ ≈ 1.7 × 10⁻²⁵⁵</span></div>
      <input value="The same 50-layer tanh net with residual connections" style="width: 80px">
      <div style="width: 900px">a row wider than the column</div>
      <div data-testid="stDataFrame"><canvas></canvas>cells</div></div></div>""")
    found = "\n".join(problems(page))
    page.close()
    assert "ReLU, init too large" in found and "1.7 × 10⁻²⁵⁵" in found
    assert "The same 50-layer tanh net" in found
    assert "[data-testid=stMain] scrolls horizontally" in found and "canvas table" in found
