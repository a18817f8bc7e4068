"""Issue 19 in a real browser: the lecture presented at 1280 × 720, its links landing on their views, and a lab
link that reopens the same view in a fresh browser."""

from __future__ import annotations

from dataclasses import fields

import pytest

from core.app.lecture import SCENES
from tests.conftest import wait_for_script

pytestmark = pytest.mark.browser

CLIPPED_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const texts = main.querySelectorAll("p, h1, h2, h3, li, [data-testid='stMetricValue'], [data-testid='stMetricLabel'],"
                                      + " [data-testid='stCaptionContainer'], button");
  return [...texts].filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
                   .map(e => e.innerText.slice(0, 60));
}"""
SCROLL_JS = """() => { const m = document.querySelector("[data-testid='stMain']");
  return [m.scrollHeight, m.clientHeight, document.documentElement.scrollHeight, window.innerHeight]; }"""


def scene_page(browser, url: str, k: int):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/Lecture?lecture=1&lec_scene={k}")
    wait_for_script(page, 120_000)
    page.get_by_role("heading", name=SCENES[k - 1].title).wait_for(timeout=60_000)
    return page


def test_every_scene_is_a_slide_that_fits_the_projector(browser, app_url):
    for k in range(1, len(SCENES) + 1):
        page = scene_page(browser, app_url, k)
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
            timeout=60_000)
        metric = page.locator("[data-testid='stMetricValue']").first
        metric.wait_for(timeout=60_000)
        try:  # the layout settles once the fonts and charts are in: wait for it, then check
            page.wait_for_function(f"() => {{ const [a, b, c, d] = ({SCROLL_JS})(); return a <= b && c <= d "
                                   f"&& ({CLIPPED_JS})().length === 0; }}", timeout=15_000)
        except Exception:  # noqa: BLE001 - the asserts below say what is wrong
            pass
        assert float(metric.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 40, k  # large on the wall
        main_height, main_client, doc_height, inner = page.evaluate(SCROLL_JS)
        assert main_height <= main_client and doc_height <= inner, (k, main_height, main_client, doc_height)
        assert page.evaluate(CLIPPED_JS) == [], k
        assert page.locator("[data-testid='stException']").count() == 0, k
        page.close()


def test_the_presenter_keys_and_the_scene_list(browser, app_url):
    page = scene_page(browser, app_url, 5)  # a lecture started from a link at scene 5
    assert page.get_by_role("heading", name=SCENES[0].title).count() == 0
    assert "Turn on" not in page.inner_text("[data-testid='stMain']")  # lecture mode is already on
    page.get_by_role("heading", name=SCENES[4].title).click()  # focus the page (as a presenter's first click does)
    for key, k in (("ArrowRight", 6), ("PageUp", 5), ("ArrowLeft", 4), ("PageDown", 5)):
        page.keyboard.press(key)
        page.get_by_role("heading", name=SCENES[k - 1].title).wait_for(timeout=60_000)
        page.wait_for_url(f"**lec_scene={k}**", timeout=30_000)
        wait_for_script(page)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=f"Scene 2 of {len(SCENES)} · {SCENES[1].title}").click()
    page.get_by_role("heading", name=SCENES[1].title).wait_for(timeout=60_000)
    page.wait_for_url("**lec_scene=2**", timeout=30_000)
    page.close()


def lab_steps(k: int) -> int:
    """The steps the lab shows after replaying scene k's link: computed by the same Run, not typed."""
    from core.app.page_views import LAB
    from core.training.config import TrainConfig
    from core.training.trainer import Run

    values, _ = LAB.decode(SCENES[k - 1].query)
    settings = {f.name: values[f"lab_{f.name}"] for f in fields(TrainConfig) if f"lab_{f.name}" in values}
    settings = {k: float(v) if LAB.params[f"lab_{k}"].kind == "text_float" else v for k, v in settings.items()}
    run = Run(TrainConfig(**{**TrainConfig().to_dict(), **settings}).validated())
    run.run(int(values.get("lab_steps", 0)))
    return run.steps_done


def selected_tab(page) -> str:
    return page.locator("[role='tab'][aria-selected='true']").first.inner_text().strip()


SCENE_VIEWS = [  # (scene, link label, the tab it must open on, text proving the trained run)
    (3, "Open this view in the app", "Network", "‖∂L/∂h"),
    (4, "Open this view in the app", "Scenario & diagnosis", "Exploding"),
    (6, "RNN vs LSTM, trained", "③ RNN vs LSTM", "400"),
    (7, "Open this view in the app", "② Order and chaos", "χ"),
]


@pytest.mark.parametrize(("k", "label", "tab", "proof"), SCENE_VIEWS)
def test_open_this_view_lands_on_the_scenes_tab_trained(browser, app_url, k, label, tab, proof):
    page = scene_page(browser, app_url, k)
    page.get_by_role("link", name=label).click()
    page.wait_for_url(lambda u: "Lecture" not in u, timeout=30_000)
    wait_for_script(page, 120_000)
    page.get_by_role("tab", name=tab).wait_for(timeout=60_000)
    wait_for_script(page, 120_000)
    assert selected_tab(page) == tab
    body = page.inner_text("[data-testid='stMain']")
    if k in (3, 4):  # the scenario's steps, replayed; an exploding run stops where a value first became inf/NaN
        metric = page.locator("[data-testid='stMetric']").filter(has_text="Steps").locator(
            "[data-testid='stMetricValue']")
        assert metric.inner_text() == f"{lab_steps(k):,}"
    if k == 6:
        steps = page.locator("[data-testid='stMetric']").filter(has_text="training steps").locator(
            "[data-testid='stMetricValue']")
        assert steps.inner_text() == "400"
    assert proof in body
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def ledger_text(page) -> str:
    """The open detail tab's text: the ledger's weight, step and arithmetic (once its formula is typeset)."""
    panel = page.locator("[role='tabpanel']:visible").first
    panel.locator(".katex").first.wait_for(timeout=60_000)
    wait_for_script(page)
    return panel.inner_text()


def test_a_lab_link_reopens_the_same_view_in_a_fresh_browser(browser, app_url):
    from tests.test_browser import open_lab_tab, scrubber, slider_value, steps_shown, wait_for_steps

    first = browser.new_context(viewport={"width": 1400, "height": 900})
    page = first.new_page()
    page.goto(app_url + "/Training_lab?lab_depth=5&lab_width=8&lab_seed=3")
    wait_for_script(page)
    box = page.get_by_label("Steps to run at once", exact=True)
    box.fill("30")
    box.press("Enter")
    wait_for_script(page)
    page.get_by_role("button", name="Run", exact=True).click()
    wait_for_steps(page, "n === 30")
    wait_for_script(page)
    open_lab_tab(page, "Update ledger")
    scrubber(page).focus()
    page.keyboard.press("Home")  # inspect step 1 …
    page.get_by_text("at step 1", exact=False).first.wait_for(timeout=60_000)
    wait_for_script(page)
    scrubber(page).focus()
    page.keyboard.press("ArrowRight")  # … then step 2: an inspected step that is not the latest
    page.get_by_text("W₁[1, 1] at step 2", exact=True).first.wait_for(timeout=60_000)
    wait_for_script(page)
    page.wait_for_url("**lab_inspect_step=2**", timeout=30_000)
    url, ledger = page.url, ledger_text(page)
    assert "lab_steps=30" in url and "lab_tab=Update" in url
    first.close()

    fresh = browser.new_context(viewport={"width": 1400, "height": 900})
    again = fresh.new_page()
    again.goto(url)
    wait_for_script(again, 120_000)
    again.get_by_text("W₁[1, 1] at step 2", exact=True).first.wait_for(timeout=60_000)
    assert steps_shown(again) == 30
    assert selected_tab(again) == "Update ledger"
    assert ledger_text(again) == ledger, (ledger, ledger_text(again))
    assert slider_value(again) == 2
    assert again.locator("[data-testid='stException']").count() == 0
    fresh.close()


def test_the_hand_out_downloads_and_opens_without_a_network_request(browser, app_url, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page.goto(app_url + "/Lecture")
    wait_for_script(page, 120_000)
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Lecture hand-out (HTML)").click()
    path = tmp_path / "handout.html"
    download.value.save_as(path)
    page.close()
    offline = browser.new_context(offline=True)
    reader = offline.new_page()
    requests: list[str] = []
    reader.on("request", lambda r: requests.append(r.url))
    reader.goto(path.as_uri())
    reader.wait_for_load_state("load")
    assert [u for u in requests if not u.startswith("file:")] == []
    assert reader.locator("section").count() == len(SCENES)
    for scene in SCENES:
        assert reader.get_by_role("heading", name=scene.title).count() == 1
    assert reader.locator("section svg").count() >= len(SCENES)
    offline.close()
