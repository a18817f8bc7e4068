"""What a visitor must be able to read, measured in a real browser: shared by the browser test and
`benchmarks/check_visuals.py` (which walks every page, tab, scenario and lecture scene).

A view is a URL (deep links carry every widget's value) plus optional clicks. On each view, for each theme and
window size, `problems(page)` lists

- text cut by its box: any element with text whose overflow is hidden, clipped or scrolled (or ends in an
  ellipsis) and whose content is wider than the box — buttons, pills, tab labels, widget labels, table cells,
  KaTeX blocks, metric values, tab bars. Exempt: charts (Vega and Graphviz draw their own text), code blocks,
  the sidebar while it is collapsed.
- horizontal scrolling of the main column or of the page;
- canvas tables (`st.dataframe`): their cells are drawn on a canvas, where no DOM measure can see a cut number,
  so every table of numbers in the app is an HTML `st.table` and any canvas table found is reported;
- text under Streamlit's top bar when the page opens (an opaque bar over the title or a caption);
- an exception box on screen.

The theme is switched with the browser's colour-scheme preference, which Streamlit follows live (no reload).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SIZES = ((1280, 720), (1400, 900))
THEMES = ("light", "dark")

PROBLEMS_JS = r"""() => {
  const out = [];
  const SLACK = 3;  // px: sub-pixel rounding and italic overhang are not a cut
  const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const describe = el => {
    const id = el.closest('[data-testid]');
    const text = (el.tagName === 'INPUT' ? el.value : el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 80);
    return `${id ? id.getAttribute('data-testid') : el.tagName.toLowerCase()}: "${text}"`;
  };
  const EXEMPT = ['[data-testid=stVegaLiteChart]', '[data-testid=stCode]', '[data-testid=stCodeBlock]',
                  '[data-testid=stSidebarNav]',
                  '[data-testid=stTooltipContent]', '[data-testid=stDataFrame]', '[data-testid=stToolbar]',
                  '[data-testid=stHeader]', 'svg', '[data-baseweb=popover]', '[data-testid=stSkeleton]',
                  '.katex-mathml', '[data-testid=stSkipToContent]'];
  const exempt = el => EXEMPT.some(s => el.closest(s)) || el.closest('[data-testid=stSidebar][data-collapsed=true]');
  for (const sel of ['[data-testid=stMain]', '[data-testid=stMainBlockContainer]']) {
    const el = document.querySelector(sel);
    if (el && el.scrollWidth > el.clientWidth + 1)
      out.push(`${sel} scrolls horizontally (${el.scrollWidth} px of content in ${el.clientWidth} px)`);
  }
  const doc = document.scrollingElement;
  if (doc && doc.scrollWidth > doc.clientWidth + 1)
    out.push(`the page scrolls horizontally (${doc.scrollWidth} px in ${doc.clientWidth} px)`);
  const app = document.querySelector('[data-testid=stApp]');
  for (const el of app.querySelectorAll('*')) {
    if ((!el.firstChild && el.tagName !== 'INPUT') || !visible(el) || exempt(el)) continue;
    const st = getComputedStyle(el);
    const clips = st.overflowX !== 'visible' || st.textOverflow === 'ellipsis';
    if (!clips || el.scrollWidth <= el.clientWidth + SLACK || el.clientWidth < 4) continue;
    if (!(el.tagName === 'INPUT' ? el.value : el.innerText || '').trim()) continue;
    out.push(`cut: ${describe(el)} (${el.scrollWidth} px of content in ${el.clientWidth} px)`);
  }
  const header = document.querySelector('[data-testid=stHeader]');
  const main = document.querySelector('[data-testid=stMain]');
  if (header && main && main.scrollTop === 0) {  // text hidden under Streamlit's top bar (an opaque one)
    const bar = header.getBoundingClientRect().bottom, bg = getComputedStyle(header).backgroundColor;
    const opaque = !(bg === 'transparent' || /,\s*0\)$/.test(bg));
    for (const el of main.querySelectorAll('h1, h2, h3, p, [data-testid=stCaptionContainer]')) {
      if (!opaque || !visible(el)) continue;
      const range = document.createRange();
      range.selectNodeContents(el);
      const r = range.getBoundingClientRect();
      if (r.height > 0 && r.top < bar - 2 && r.bottom > 0)
        out.push(`under the top bar: ${describe(el)} (text from y = ${Math.round(r.top)}, bar to ${Math.round(bar)})`);
    }
  }
  for (const el of app.querySelectorAll('[data-testid=stDataFrame]'))
    if (visible(el)) out.push(`canvas table (cells cannot be checked): ${describe(el)}`);
  for (const el of app.querySelectorAll('[data-testid=stException]'))
    if (visible(el)) out.push(`exception: ${describe(el)}`);
  return [...new Set(out)];
}"""


def wait_idle(page, timeout_ms: int = 90_000) -> None:
    """Until the script run is over, no skeleton is left and every chart present has drawn."""
    page.wait_for_timeout(400)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_function("""() => !document.querySelector("[data-testid=stSkeleton]")
        && [...document.querySelectorAll("[data-testid=stVegaLiteChart]")]
             .every(c => c.querySelector('canvas, svg') || c.getBoundingClientRect().width === 0)""",
                           timeout=timeout_ms)
    page.wait_for_timeout(300)


def click_button(name: str) -> Callable:
    def act(page) -> None:
        page.get_by_role("button", name=name, exact=True).first.click()
        wait_idle(page)
    act.__name__ = f"click {name}"
    return act


def click_tab(name: str) -> Callable:
    def act(page) -> None:
        page.get_by_role("tab", name=name, exact=True).first.click()
        wait_idle(page)
    return act


def click_pill(label: str) -> Callable:
    """A lab scenario pill, found by its full name (its help) or its visible label."""
    def act(page) -> None:
        pills = page.locator(".st-key-lab_scenario_pick button")
        pills.filter(has_text=re.compile("^" + re.escape(label) + "$")).first.click()
        wait_idle(page)
    return act


@dataclass(frozen=True)
class View:
    name: str
    path: str  # e.g. "Chain_rule?mode=From+weights&n_depth=30"
    actions: tuple[Callable, ...] = field(default=())


def problems(page) -> list[str]:
    return page.evaluate(PROBLEMS_JS)


def set_theme(page, theme: str) -> None:
    """Streamlit follows the browser's colour-scheme preference while it runs ("Use system setting")."""
    page.emulate_media(color_scheme=theme)
    page.wait_for_timeout(300)


def set_size(page, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(400)


def check_view(page, base: str, view: View, combos, shoot: Callable | None = None) -> dict[str, list[str]]:
    """Open the view, then for each (theme, (width, height)) list its problems; `shoot(page, tag)` may save it."""
    page.goto(f"{base}/{view.path}")
    wait_idle(page)
    for act in view.actions:
        act(page)
    found, now = {}, (None, page.viewport_size)
    for theme, (width, height) in combos:
        if theme != now[0]:
            set_theme(page, theme)
        if {"width": width, "height": height} != now[1]:
            set_size(page, width, height)
        now = (theme, {"width": width, "height": height})
        tag = f"{view.name}-{theme}-{width}x{height}"
        found[tag] = problems(page)
        if shoot is not None:
            shoot(page, tag)
    return found
