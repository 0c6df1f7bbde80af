"""Bidirectional control characters made visible in collected text that is shown (never stored)."""

from __future__ import annotations

# The embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the invisible
# direction marks (LRM, RLM, ALM). A right-to-left override turns "report\u202etxt.exe" into
# what reads as "reportexe.txt": a feed's author chooses what the analyst believes they see.
BIDI_CONTROLS = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
_VISIBLE = {ord(char): f"\u27e8U+{ord(char):04X}\u27e9" for char in BIDI_CONTROLS}


def show_bidi_controls(text: str) -> str:
    """The text with each bidi control character replaced by a visible marker such as ⟨U+202E⟩.

    For display only: the database, exports and the command line keep the text as collected.
    """
    return text.translate(_VISIBLE)
