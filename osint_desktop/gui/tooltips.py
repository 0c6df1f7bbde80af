"""Tooltips of text written elsewhere (a feed's title, an OPML name): shown as written, never read as HTML."""

from __future__ import annotations

import html

from osint_desktop.core.bidi import show_bidi_controls


def plain_tooltip(*lines: str) -> str:
    """Lines as a tooltip: escaped inside <qt>, so "<b>" in a feed's title is text, not bold.

    Qt guesses whether a tooltip is rich text from its first tag; a name may hold one. Bidi
    controls are made visible, as everywhere collected text is shown.
    """
    body = "<br>".join(html.escape(show_bidi_controls(line)) for line in lines)
    return f"<qt style='white-space:pre'>{body}</qt>"
