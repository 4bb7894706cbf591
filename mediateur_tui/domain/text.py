"""Outside text made inert: what came from a scan, a QR code, a file name or the hub never
drives the terminal, never breaks a log line, and always encodes.

Control characters (ESC, CR, BEL, …) are shown as visible escapes (`\\x1b`), so that a printed
QR code holding `\\x1b[2K\\r… : Pass valide` cannot erase the real verdict; lone surrogates (the
bytes of invalid UTF-8, as Python decodes command-line arguments) become U+FFFD.
"""

from __future__ import annotations

import unicodedata

REPLACEMENT = "\ufffd"
KEPT = "\n\t"  # line breaks and tabs of our own multi-line messages


def inert(text: str, keep: str = "") -> str:
    """`text` with every control character escaped and every lone surrogate replaced; the
    characters of `keep` are left as they are."""
    if text.isascii() and text.isprintable():  # nothing to escape (every scan of a pass)
        return text
    return "".join(_shown(char, keep) for char in text)


def _shown(char: str, keep: str) -> str:
    if char in keep:
        return char
    if "\ud800" <= char <= "\udfff":
        return REPLACEMENT
    category = unicodedata.category(char)
    if category in ("Cc", "Cf") or char in ("\u2028", "\u2029"):
        return char.encode("unicode_escape").decode("ascii")
    return char


def is_clean(text: str) -> bool:
    """Whether `text` would come out of `inert` unchanged."""
    return inert(text) == text
