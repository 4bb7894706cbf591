"""Undo what a US-layout (QWERTY) scanner types on a French AZERTY system.

A keyboard-wedge scanner sends key positions. Set to a US layout but plugged into an AZERTY
machine, the key it presses for "1" produces "&", its ":" (shift + the key right of L) produces
"M", its "M" (shift + the key right of N) produces "?", and A/Q and Z/W are swapped.
"""

from __future__ import annotations

# What the US scanner meant -> what the AZERTY system shows, key by key, unshifted then shifted.
_US_KEYS_UNSHIFTED = "`1234567890-=qwertyuiop[]asdfghjkl;'\\zxcvbnm,./"
_US_KEYS_SHIFTED = '~!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:"|ZXCVBNM<>?'
_FR_KEYS_UNSHIFTED = "²&é\"'(-è_çà)=azertyuiop^$qsdfghjklmù*wxcvbn,;:!"
_FR_KEYS_SHIFTED = "~1234567890°+AZERTYUIOP¨£QSDFGHJKLM%µWXCVBN?./§"

_AZERTY_TO_US = str.maketrans(
    _FR_KEYS_UNSHIFTED + _FR_KEYS_SHIFTED, _US_KEYS_UNSHIFTED + _US_KEYS_SHIFTED
)

# Characters that a US scanner on AZERTY produces but a correct scan of a pass never contains.
GARBLE_MARKERS = frozenset("²&é\"'(è_çà)^$ù*,;!¨£%µ?§°")


def undo_us_layout_on_azerty(text: str) -> str:
    """Maps text typed by a US-layout scanner on an AZERTY system back to what it meant."""
    return text.translate(_AZERTY_TO_US)


def looks_garbled(text: str) -> bool:
    """True when the text holds characters that only a mis-set scanner would type."""
    return any(char in GARBLE_MARKERS for char in text)
