"""Accessible mode (`mediateur-tui --accessible`, or the site's setting): the terminal's own
cursor shown where the focus is (screen readers and magnifiers follow it), no animation and no
blinking, a high-contrast theme, and each verdict also in one line of plain text (app.tcss
shows the VerdictLine widgets under the class ACCESSIBLE_CLASS of the app)."""

from __future__ import annotations

from textual.theme import Theme

ACCESSIBLE_CLASS = "-accessible"
SHOW_CURSOR = "\x1b[?25h"  # Textual's driver hides the terminal's cursor when it starts
HIDE_CURSOR = "\x1b[?25l"
BLACK = "#000000"

# White on black; the frames and keys in saturated colours, each state also said in words.
HIGH_CONTRAST = Theme(
    name="mediateur-contraste-eleve",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    warning="#FFB000",
    error="#FF5F5F",
    success="#00FF5F",
    foreground="#FFFFFF",
    background=BLACK,
    surface=BLACK,
    panel=BLACK,
    dark=True,
    variables={
        # The verdict frames keep a black ground: white text on it reads best.
        "success-muted": BLACK,
        "warning-muted": BLACK,
        "error-muted": BLACK,
        "primary-muted": BLACK,
        "text-muted": "#E0E0E0",
        "text-disabled": "#C0C0C0",  # the placeholders: Textual's default is grey on black
        "foreground-muted": "#E0E0E0",
        "footer-key-foreground": "#FFFF00",
        "input-cursor-background": "#FFFF00",
        "input-cursor-foreground": BLACK,
        "input-selection-background": "#0000AF",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": BLACK,
        "block-cursor-text-style": "bold",
    },
)
