"""Text a visitor typed or linked, made safe to put inside a Markdown message: shown literally, never rendered.

Streamlit renders the body of `st.error`, `st.warning`, `st.info`, `st.success`, `st.markdown`, `st.caption`,
`st.toast` and `help=` as Markdown with LaTeX (`$…$`), colour directives (`:red[…]`), emoji and icon shortcodes.
A value echoed there as it was typed could plant a link ("[Session expired: sign in](https://…)"), load an image
from any host, or restyle the message. `literal` wraps the value in an inline code span, the one Markdown construct
whose content is never interpreted: the fence is one backtick longer than the longest run of backticks inside,
line breaks and other control characters are replaced (a blank line would end the span), and long values are cut.
Checked in a real browser (tests/test_browser.py): no link, image, HTML, KaTeX, colour or emoji comes through.

The text around a `literal(...)` must be the app's own and contain no `$` or `\\` (a `$` before the span could open
inline math that swallows the fence).
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"  # shown in place of a control character (a line break, a tab, a NUL…)
WORD_JOINER = "\u2060"  # invisible; keeps Streamlit from rewriting ":material/" even inside a code span
_BACKTICKS = re.compile(r"`+")


def printable(value: object, limit: int = 60) -> str:
    """The value as one line of printable text, at most `limit` characters (cut with '…')."""
    text = "".join(c if c.isprintable() else REPLACEMENT for c in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def literal(value: object, limit: int = 60) -> str:
    """Markdown that shows `value` verbatim (as inline code); '(empty)' for empty text."""
    text = printable(value, limit)
    if not text:
        return "(empty)"
    if not text.strip(" "):
        text = text.replace(" ", "\u2423")  # only spaces: a code span would trim them, show them as ␣
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    # Streamlit's frontend turns every ":material/" of a Markdown source into ":material_" before parsing it (its
    # icon shortcode), code spans included: an invisible word joiner keeps the value on screen as it was written.
    text = text.replace(":material/", ":" + WORD_JOINER + "material/")
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "  # CommonMark strips exactly one space on each side, keeping the value's own
    return f"{fence}{text}{fence}"
