"""The command lines speak French: argparse's own messages, and a parser whose errors are
inert (an argument of invalid UTF-8 never crashes the message that names it).

Both programs (`mediateur-tui`, `mediateur-hub`) build their parsers with `FrenchParser` and
call `speak_french()` once: argparse looks its messages up through the module's `_` and
`ngettext` functions, which are pointed at the table below.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mediateur_tui.domain.text import inert

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

MESSAGES = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (possibles : %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "une valeur au plus attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "one of the arguments %s is required": "un des arguments %s est obligatoire",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "unexpected option string: %s": "option inattendue : %s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "commande inconnue %(parser_name)r (possibles : %(choices)s)"
    ),
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
}
PLURALS = {
    ("expected %s argument", "expected %s arguments"): (
        "%s valeur attendue",
        "%s valeurs attendues",
    ),
}


def _french(message: str) -> str:
    return MESSAGES.get(message, message)


def _french_plural(singular: str, plural: str, count: int) -> str:
    one, many = PLURALS.get((singular, plural), (singular, plural))
    return one if count == 1 else many


def speak_french() -> None:
    """Points argparse's message lookup at the French table (idempotent)."""
    argparse._ = _french  # type: ignore[attr-defined]  # argparse's own gettext hook
    argparse.ngettext = _french_plural  # type: ignore[attr-defined]


class FrenchParser(argparse.ArgumentParser):
    """An ArgumentParser whose messages are inert: what a user typed is shown, never run."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(inert(message, keep="\n\t"), file)
