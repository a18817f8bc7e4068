"""The lecture as a hand-out: one self-contained HTML file (text, numbers, charts as inline SVG), nothing to fetch.

Built from the same live results the lecture shows; every chart is drawn by vl-convert into SVG, so the file opens
offline and prints.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from core.app.lecture import Result, Scene

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #111827; line-height: 1.5; }
section { page-break-inside: avoid; border-top: 1px solid #d1d5db; padding: 1rem 0; }
.number { font-size: 2rem; font-weight: 600; margin: 0.2rem 0; }
.label { color: #4b5563; font-size: 0.9rem; }
.result { background: #ecfdf5; border-left: 4px solid #059669; padding: 0.5rem 0.8rem; }
.question { font-style: italic; color: #4b5563; }
svg { max-width: 100%; height: auto; }
code { font-family: ui-monospace, monospace; }
"""


def inline_markdown(text: str) -> str:
    """The little markdown the scenes use (**bold**, *italic*, `code`) as HTML; everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)


def chart_svg(spec: dict) -> str:
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg"):]  # drop any XML prolog: the SVG sits inside HTML


def handout_html(scenes: Sequence[Scene], results: Sequence[Result], title: str = "Exploding gradients: the lecture"
                 ) -> str:
    """One HTML document: for every scene its title, story, question, key number, result and chart."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>{len(scenes)} scenes, each computed live by the app when this file was made.</p>"]
    for i, (scene, res) in enumerate(zip(scenes, results, strict=True), start=1):
        parts.append(f"<section id='scene-{i}'><h2>{i}. {html.escape(scene.title)}</h2>"
                     f"<p>{inline_markdown(scene.story)}</p>"
                     f"<p class='question'>Predict first: {inline_markdown(scene.question)}</p>"
                     f"<div class='label'>{html.escape(res.metric)}</div>"
                     f"<div class='number'>{html.escape(res.value)}</div>"
                     f"<p class='result'>{inline_markdown(res.text)}</p>")
        if res.chart is not None:
            parts.append(f"<figure>{chart_svg(res.chart)}</figure>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)
