"""A few tests in a real browser: what a visitor actually sees, including typing and clicking."""

import pytest

from tests.conftest import wait_for_script

pytestmark = pytest.mark.browser


def open_page(browser, url: str, width: int = 1400, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    wait_for_script(page)
    return page


def test_home_and_chain_page_show_the_worked_example(browser, app_url):
    page = open_page(browser, app_url)
    assert page.get_by_text("500 − 0.01·93,750,000 = −937,000").first.is_visible()
    page.get_by_role("link", name="Chain rule").first.click()
    page.wait_for_url("**/Chain_rule")
    page.get_by_text("In one line").first.wait_for(timeout=60_000)
    wait_for_script(page)
    body = page.inner_text("[data-testid='stMain']")
    assert "500 − 0.01·93,750,000 = −937,000" in body
    assert "Overshoot" in body
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def type_factor(page, text: str) -> str:
    """Type `text` into the first factor's box like a user (then Enter); return the page's text afterwards."""
    box = page.get_by_role("textbox", name="dL/do31")
    box.fill(text)
    box.press("Enter")
    wait_for_script(page)
    assert page.locator("[data-testid='stException']").count() == 0
    return page.inner_text("[data-testid='stMain']")


def test_typing_a_factor_recomputes_the_update(browser, app_url):
    page = open_page(browser, app_url + "/Chain_rule", width=1280, height=720)
    body = type_factor(page, "0.015")
    # 0.015·100·125·50 = 9,375 and 500 − 0.01·9,375 = 406.25: a sane step, no overshoot
    assert "500 − 0.01·9,375 = 406.25" in body
    assert "Overshoot" not in body
    page.close()


def test_garbage_input_gives_a_message_not_a_traceback(browser, app_url):
    page = open_page(browser, app_url + "/Chain_rule")
    assert "is not a number" in type_factor(page, "__import__('os')")
    page.close()


def steps_shown(page) -> int:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Steps").locator("[data-testid='stMetricValue']")
    return int(metric.inner_text().replace(",", ""))


def wait_for_steps(page, condition: str, timeout_ms: int = 60_000) -> None:
    """Wait until the Steps number satisfies `condition` (a JS expression in n)."""
    page.wait_for_function(
        """(cond) => { const m = [...document.querySelectorAll("[data-testid='stMetric']")]
            .find(e => e.innerText.startsWith("Steps"));
          if (!m) return false; const n = parseInt(m.querySelector("[data-testid='stMetricValue']").innerText
            .replace(/,/g, "")); return eval(cond); }""", arg=condition, timeout=timeout_ms)


def run_steps(page, n: int) -> None:
    """Type n into the steps box and press Run, like a learner; wait until n steps are on screen."""
    box = page.get_by_label("Steps to run at once", exact=True)
    box.fill(str(n))
    box.press("Enter")
    wait_for_script(page)
    page.get_by_role("button", name="Run", exact=True).click()
    wait_for_steps(page, f"n === {n}")
    wait_for_script(page)


def open_lab_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_for_script(page)


def test_training_lab_step_by_keyboard_and_play_live(browser, app_url):
    page = open_page(browser, app_url + "/Training_lab", width=1280, height=720)
    page.get_by_role("heading", name="Training lab").first.click()  # focus the page, not a text box
    page.keyboard.press("ArrowRight")  # the Step button's shortcut
    wait_for_steps(page, "n === 1")
    wait_for_script(page)
    page.get_by_role("button", name="Play").click()
    wait_for_steps(page, "n >= 3")  # the fragment trains and redraws itself while playing
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=60_000)
    wait_for_script(page)
    paused = steps_shown(page)
    page.wait_for_timeout(1000)
    assert steps_shown(page) == paused  # paused means paused
    page.get_by_text("Diagnosis").first.wait_for(timeout=60_000)  # the details come back
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def scrubber(page):
    return page.locator("[data-testid='stSlider']").filter(has_text="Inspect step").locator("input[type=range]")


def slider_value(page) -> int:
    return int(scrubber(page).input_value())


def test_the_scrubber_scrubs_by_keyboard_and_the_ledger_follows(browser, app_url):
    page = open_page(browser, app_url + "/Training_lab")
    run_steps(page, 30)
    open_lab_tab(page, "Update ledger")
    assert slider_value(page) == 30
    scrubber(page).focus()
    page.keyboard.press("Home")  # first action: back to step 1
    page.get_by_text("W₁[1, 1] at step 1", exact=True).first.wait_for(timeout=60_000)
    wait_for_script(page)
    assert slider_value(page) == 1
    scrubber(page).focus()
    page.keyboard.press("ArrowRight")  # second action: one step on, and it stays there
    page.get_by_text("W₁[1, 1] at step 2", exact=True).first.wait_for(timeout=60_000)
    wait_for_script(page)
    assert slider_value(page) == 2
    page.get_by_role("button", name="Step").first.click()  # third action: training does not yank it back
    wait_for_steps(page, "n === 31")
    wait_for_script(page)
    assert slider_value(page) == 2
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


@pytest.mark.parametrize(("width", "height", "lecture"), [(1400, 900, False), (1280, 720, True)])
def test_the_instrument_fits_one_screen_after_a_scenario(browser, app_url, width, height, lecture):
    page = open_page(browser, app_url + "/Training_lab" + ("?lecture=1" if lecture else ""), width, height)
    page.get_by_text("ReLU, init too large", exact=True).click()
    wait_for_steps(page, "n === 20")
    wait_for_script(page)
    for name in ("Step", "Play", "Reset"):
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, name
    charts = page.locator("[data-testid='stVegaLiteChart']")
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stVegaLiteChart']\")]"
                           ".filter(c => c.querySelector('canvas, svg')).length >= 3", timeout=60_000)
    for i in range(3):  # loss, gradient flow, heat map: drawn and inside the window
        box = charts.nth(i).bounding_box()
        assert box is not None and box["height"] > 100 and box["y"] + box["height"] <= height + 1, (i, box)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_remedies_compare_draws_the_overlays(browser, app_url):
    page = open_page(browser, app_url + "/Remedies", width=1280, height=720)
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("heading", name="Side by side").wait_for(timeout=60_000)
    wait_for_script(page)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    assert charts.count() == 3
    assert charts.first.locator("canvas, svg").count() >= 1  # Vega really rendered, not an empty frame
    body = page.inner_text("[data-testid='stMain']")
    assert "Exploding gradients" in body and "Healthy" in body  # (the table itself is drawn on a canvas)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_through_time_tabs_and_training(browser, app_url):
    page = open_page(browser, app_url + "/Through_time", width=1280, height=720)
    assert "6.38 × 10⁸" in page.inner_text("[data-testid='stMain']")
    page.get_by_role("tab", name="③ RNN vs LSTM").click()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("constant error carousel").first.wait_for(timeout=60_000)
    wait_for_script(page)
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 5
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_edge_of_chaos_phase_diagram_and_cliff_draw(browser, app_url):
    page = open_page(browser, app_url + "/Edge_of_chaos", width=1280, height=720)
    page.get_by_role("tab", name="② Order and chaos").click()
    page.get_by_text("predicted per-layer factor √χ").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="③ The cliff").click()
    page.get_by_text("largest step — no clipping").first.wait_for(timeout=60_000)
    # phase diagram, residual gain through depth, cliff curve, surface
    assert page.locator("[data-testid='stVegaLiteChart']").count() == 4
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_lecture_mode_by_deep_link_at_projector_size(browser, app_url):
    page = open_page(browser, app_url + "/Lecture?lecture=1&lec_scene=3", width=1280, height=720)
    assert page.get_by_role("heading", name="An exploding deep net").is_visible()
    box = page.locator("[data-testid='stSidebar']").bounding_box()
    assert box is None or box["x"] + box["width"] <= 1 or box["width"] < 10  # the sidebar is collapsed
    font = page.evaluate("getComputedStyle(document.documentElement).fontSize")
    assert float(font.rstrip("px")) >= 20
    page.keyboard.press("PageDown")  # a presenter's clicker
    page.get_by_role("heading", name="The diagnosis").wait_for(timeout=60_000)
    page.wait_for_url("**lec_scene=4**", timeout=30_000)  # the URL follows the scene: a link to this exact view
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_a_garbage_deep_link_shows_a_notice_not_a_traceback(browser, app_url):
    page = open_page(browser, app_url + "/Training_lab?lab_depth=%27%3Bdrop&lab_lr=1e999&evil=%3Cscript%3E")
    page.locator("[data-testid='stMain'] [data-testid='stCode']").filter(has_text="lab_lr").first.wait_for(
        timeout=60_000)  # the refused values, listed as literal text
    body = page.inner_text("[data-testid='stMain']")
    assert "could not be used" in body and "lab_depth" in body and "lab_lr" in body
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


DEEP_LINKS = [  # (path with query, tab to open or None, text that proves the link's setting took effect)
    ("/?lecture=0", None, "Explore"),
    ("/Chain_rule?mode=From+weights&weights=3&act=tanh", None, "Bound versus actual"),
    ("/Training_lab?lab_depth=4&lab_activation=relu", None, "ReLU"),
    ("/Remedies?rem_baseline=he_relu&rem_steps=40", None, "init he_normal"),
    ("/Through_time?tt_w_rec=0.9&tt_act=linear", None, "0.0051537752"),  # 0.9⁵⁰: linear, so the notes' rule holds
    ("/Edge_of_chaos?edge_act=relu&edge_sw=1.5", "② Order and chaos", "χ = σ_w²/2"),
    ("/Lecture?lec_scene=7", None, "The edge of chaos"),
]


def test_a_deep_link_to_every_page_works_on_a_freshly_started_server(browser, fresh_app_url):
    for path, tab, proof in DEEP_LINKS:
        page = open_page(browser, fresh_app_url + path, width=1280, height=720)
        if tab:
            page.get_by_role("tab", name=tab).click()
        page.locator("[data-testid='stMain']").filter(has_text=proof).first.wait_for(timeout=60_000)
        wait_for_script(page)
        assert proof in page.inner_text("[data-testid='stMain']"), path
        assert page.locator("[data-testid='stException']").count() == 0, path
        assert "could not be used" not in page.inner_text("[data-testid='stMain']"), path
        page.close()


def test_training_lab_trains_20_steps_through_its_buttons_and_draws(browser, app_url):
    page = open_page(browser, app_url + "/Training_lab")
    run_steps(page, 20)
    open_lab_tab(page, "Update ledger")
    page.get_by_text("W₁[1, 1] at step 20").first.wait_for(timeout=60_000)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    assert charts.count() >= 3 and charts.first.locator("canvas, svg").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_a_hostile_link_plants_no_link_image_style_or_math(browser, app_url):
    """Markdown, HTML, LaTeX, colour and emoji in a link's values reach the page as literal text only (issue 16)."""
    from urllib.parse import urlencode

    payloads = {"f_dL/do31": "[Session expired: sign in](https://evil.example/login)",
                "f_do31/do21": "![pixel](https://evil.example/pixel.png)",
                "f_do21/do11": "<img src=https://evil.example/h.png>",
                "f_do11/dw11": r"$\huge PWNED$",
                "w_old": ":red[RED] :skull: :material/lock:",
                "f_lr": "``[tick](https://evil.example/tick)``"}
    page = open_page(browser, app_url + "/Chain_rule?" + urlencode(payloads))
    page.get_by_text("is not a number").first.wait_for(timeout=60_000)
    wait_for_script(page)
    main = page.locator("[data-testid='stMain']")
    assert main.locator("a[href*='evil.example']").count() == 0
    assert page.locator("img[src*='evil.example']").count() == 0
    assert main.locator(".katex").filter(has_text="PWNED").count() == 0
    body = main.inner_text().replace("\u2060", "")  # literal()'s invisible joiner in ":material/"
    for shown in payloads.values():  # each visible exactly as the link wrote it
        assert shown in body, shown
    assert "💀" not in body  # the shortcode stayed a shortcode
    assert main.locator("[data-testid='stAlertContainer'] span[style*='color']").filter(has_text="RED").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
