"""What a keyboard-wedge scanner types when its layout, the system's or Caps Lock is mis-set.

A scanner sends key positions, with or without Shift. Set to a US layout but plugged into an
AZERTY machine, the key it presses for "1" produces "&", its ":" (shift + the key right of L)
produces "M", its "M" (shift + the key right of N) produces "?", and A/Q and Z/W are swapped.
Caps Lock inverts Shift for the letter keys of the system's layout and, on Windows' French
AZERTY, for the digit row too. Each `Situation` is one such combination, modelled key by key:
`type_as` says what it shows for what the scanner meant, `undo` reads it back. One more is a
person's, not a scanner's: digits typed without Shift on AZERTY (`&é"…`), which the text alone
cannot tell from a US scanner's; the key timing can (`Typing`, domain/scanner_diagnosis.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

# The 47 keys of the main block, row by row, as each layout labels them: unshifted, shifted.
_US = (
    "`1234567890-=qwertyuiop[]asdfghjkl;'\\zxcvbnm,./",
    '~!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:"|ZXCVBNM<>?',
)
_AZERTY = (
    "²&é\"'(-è_çà)=azertyuiop^$qsdfghjklmù*wxcvbn,;:!",
    "³1234567890°+AZERTYUIOP¨£QSDFGHJKLM%µWXCVBN?./§",
)
# A scanner types a character every few milliseconds; a person, every tenth of a second or so.
SLOW_GAP_SECONDS = 0.08
# A scanner's keys come a few milliseconds apart: no person types five keys in a row this fast.
BURST_GAP_SECONDS = 0.02
_BURST_KEYS = 5
# A code's two dashes and up to four 6s typed as dashes: 64 ways of reading them at most.
_MAX_DASHES = 6
# What a pass, a QR payload or a typed code may hold as scanned or typed correctly.
PASS_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ:-"
CLEAN_CHARACTERS = frozenset(PASS_CHARACTERS + " .")


class CapsLock(Enum):
    OFF = "off"
    LETTERS = "letters"  # Linux, macOS: the letter keys only
    LETTERS_AND_DIGITS = "letters and digits"  # Windows' French AZERTY: the digit row too


@dataclass(frozen=True)
class Keyboard:
    scanner: tuple[str, str]  # the layout the scanner is set to
    system: tuple[str, str]  # the layout the computer is set to
    caps_lock: CapsLock
    presses_shift: bool = True  # False: a person who never presses Shift (capitals by Caps Lock)

    def _inverted(self, key: int) -> bool:
        """Whether Caps Lock inverts Shift for this key of the system's layout."""
        unshifted, shifted = self.system[0][key], self.system[1][key]
        if self.caps_lock is CapsLock.OFF:
            return False
        if unshifted.isalpha() and shifted == unshifted.upper():
            return True
        return self.caps_lock is CapsLock.LETTERS_AND_DIGITS and shifted.isdigit()

    @cached_property
    def shows(self) -> dict[str, str]:
        """What the system shows for each character the scanner means."""
        table = {" ": " "}
        for key in range(len(self.scanner[0])):
            for shift in (0, 1):
                pressed = shift if self.presses_shift else 0
                shown_shift = pressed ^ int(self._inverted(key))
                table[self.scanner[shift][key]] = self.system[shown_shift][key]
        return table

    @cached_property
    def meant(self) -> dict[str, str]:
        """What the scanner meant for each character the system shows. When two characters
        show alike (without Shift, "6" shows as "-"), a pass's character showing as itself wins."""
        meant = {shown: meant for meant, shown in self.shows.items()}
        meant.update({char: char for char in PASS_CHARACTERS if self.shows[char] == char})
        return meant


class Situation(Enum):
    """The mis-set keyboards the desk recognises, most common first (the first one that
    reads a scan names it), each with what the verdict and the self-test call it."""

    US_ON_AZERTY = (
        "lecteur réglé en clavier américain (QWERTY)",
        Keyboard(_US, _AZERTY, CapsLock.OFF),
    )
    US_ON_AZERTY_CAPS = (
        "lecteur réglé en clavier américain (QWERTY) et Verr. Maj activé",
        Keyboard(_US, _AZERTY, CapsLock.LETTERS),
    )
    US_ON_AZERTY_CAPS_DIGITS = (
        "lecteur réglé en clavier américain (QWERTY) et Verr. Maj activé",
        Keyboard(_US, _AZERTY, CapsLock.LETTERS_AND_DIGITS),
    )
    CAPS_DIGITS = ("Verr. Maj activé", Keyboard(_AZERTY, _AZERTY, CapsLock.LETTERS_AND_DIGITS))
    AZERTY_ON_US = (
        "lecteur réglé en AZERTY sur un poste en clavier américain (QWERTY)",
        Keyboard(_AZERTY, _US, CapsLock.OFF),
    )
    AZERTY_ON_US_CAPS = (
        "lecteur réglé en AZERTY sur un poste en clavier américain (QWERTY), Verr. Maj activé",
        Keyboard(_AZERTY, _US, CapsLock.LETTERS),
    )
    DIGITS_WITHOUT_SHIFT = (
        "chiffres tapés sans la touche Maj",
        Keyboard(_AZERTY, _AZERTY, CapsLock.LETTERS, presses_shift=False),
    )

    def __init__(self, label: str, keyboard: Keyboard) -> None:
        self.label = label
        self.keyboard = keyboard

    @property
    def typed_by_hand(self) -> bool:
        return not self.keyboard.presses_shift

    @property
    def caps_lock(self) -> bool:
        return self.keyboard.caps_lock is not CapsLock.OFF and not self.typed_by_hand

    @property
    def us_scanner_on_azerty(self) -> bool:
        return self.keyboard.scanner == _US and self.keyboard.system == _AZERTY

    @property
    def azerty_scanner_on_us(self) -> bool:
        return self.keyboard.scanner == _AZERTY and self.keyboard.system == _US

    @cached_property
    def markers(self) -> frozenset[str]:
        """What this situation shows for a pass's characters and a correct scan never holds
        (lower case is one of them when Caps Lock is on)."""
        shown = {self.keyboard.shows[char] for char in PASS_CHARACTERS}
        return frozenset(shown - CLEAN_CHARACTERS)

    @cached_property
    def _typing(self) -> dict[int, str]:
        return str.maketrans(self.keyboard.shows)

    @cached_property
    def _undoing(self) -> dict[int, str]:
        return str.maketrans(self.keyboard.meant)

    def type_as(self, text: str) -> str:
        """What this situation shows when the scanner means `text`."""
        return text.translate(self._typing)

    def undo(self, text: str) -> str:
        """What the scanner meant, from what this situation showed (a person's letters may
        come in either case)."""
        undone = text.translate(self._undoing)
        return undone.upper() if self.typed_by_hand else undone

    def undoes_cleanly(self, text: str) -> bool:
        """Whether `undo(text)` holds only what a pass may hold (CLEAN_CHARACTERS)."""
        if CLEAN_CHARACTERS.issuperset(text):  # a scan as it should be: known char by char
            return self._spoiled.isdisjoint(text)
        return CLEAN_CHARACTERS.issuperset(self.undo(text))

    @cached_property
    def _spoiled(self) -> frozenset[str]:
        """The clean characters that `undo` turns into others (undo works char by char)."""
        return frozenset(
            char for char in CLEAN_CHARACTERS if not CLEAN_CHARACTERS.issuperset(self.undo(char))
        )

    def meanings(self, text: str) -> list[str]:
        """What may have been meant: `undo`, and for a person's digits without Shift each way
        of reading its dashes, since "6" without Shift is "-", the dash between the groups
        of a code (a QR payload, never typed by hand, is left as undone)."""
        undone = self.undo(text)
        dashes = undone.count("-")
        if not self.typed_by_hand or not 0 < dashes <= _MAX_DASHES or ":" in undone:
            return [undone]
        pieces = undone.split("-")
        return [
            "".join(piece + dash for piece, dash in zip(pieces, (*choice, ""), strict=True))
            for choice in itertools.product("-6", repeat=dashes)
        ]

    def shows_markers(self, text: str) -> bool:
        return any(char in self.markers for char in text)


SITUATIONS = tuple(Situation)


class Typing(Enum):
    """How a text reached the field, when the keys' timing says it: a scanner's burst, a
    person's keys, or not known (a paste, a command line, a text edited after a scan)."""

    SCANNER = "scanner"
    HAND = "hand"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, times: Sequence[float]) -> Typing:
        """From the moments the keys arrived (Enter included): a person's when the keys came
        slowly, most of them, a scanner's when they came as a burst; unknown for fewer than
        three keys."""
        gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times))
        if len(gaps) < 2:
            return cls.UNKNOWN
        return cls.HAND if gaps[len(gaps) // 2] > SLOW_GAP_SECONDS else cls.SCANNER

    @property
    def situations(self) -> tuple[Situation, ...]:
        """The mis-set keyboards this typing may have come through."""
        if self is Typing.UNKNOWN:
            return SITUATIONS
        by_hand = self is Typing.HAND
        return tuple(situation for situation in SITUATIONS if situation.typed_by_hand == by_hand)


def ends_a_burst(times: Iterable[float]) -> bool:
    """Whether the last keys (the moments they arrived, the latest last) came as a scanner's
    burst: what a form that is not the scan field must not take as typing."""
    recent = list(times)[-_BURST_KEYS:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(recent)]
    return len(gaps) == _BURST_KEYS - 1 and max(gaps) < BURST_GAP_SECONDS
