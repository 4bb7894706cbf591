"""The command lines speak French: argparse's own messages, a parser whose errors are inert
(an argument of invalid UTF-8 never crashes the message that names it), and `say`/`warn`,
how both programs print a line, inert too (a QR code or a file name cannot drive the terminal).

Both programs (`mediateur-tui`, `mediateur-hub`) build their parsers with `FrenchParser` and
call `speak_french()` once: argparse looks its messages up through the module's `_` and
`ngettext` functions, which are pointed at the table below.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.text import inert, is_clean

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


def tolerant_output() -> None:
    """On a terminal that cannot show a character ("€", "✔", "…" in latin-1), it is
    replaced: never an error after the work is done (a pass recorded, then a traceback)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
                reconfigure(errors="replace")


def speak_french() -> None:
    """Points argparse's message lookup at the French table (idempotent)."""
    argparse._ = _french  # type: ignore[attr-defined]  # argparse's own gettext hook
    argparse.ngettext = _french_plural  # type: ignore[attr-defined]


UNREADABLE_ARGUMENT = "texte illisible (caractères invalides ou de contrôle)"


DASHED_CODE_HINT = (
    "Un code qui commence par « - » s'écrit après « -- », à la fin : mediateur-tui check -- -6K3F-…"
)


def _dashed_code(argument: str) -> bool:
    """`-6K3F…`, not `-h` or `--json`: a code whose `6` a scanner typed as `-`."""
    return len(argument) > 2 and argument[0] == "-" and argument[1].isalnum()


def scanned(text: str) -> str:
    """The type of an argument a scanner typed (a code, a QR's text): taken as it is, even
    unreadable, since the desk reports each unreadable code on its own, after the others."""
    return text


class FrenchParser(argparse.ArgumentParser):
    """An ArgumentParser whose messages are inert: what a user typed is shown, never run.

    A text argument (no `type`: a name, a month, a title) that is not valid UTF-8 or holds a
    control character is refused as unreadable: it would reach the database as garbage.
    """

    _given: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]  # the same call, remembered for `error`
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """A usage error; when an argument looks like a code that starts with "-" (taken for
        an option), says how to give it."""
        if any(_dashed_code(arg) and arg not in self._option_string_actions for arg in self._given):
            message += f". {DASHED_CODE_HINT}"
        super().error(message)

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        free_text = action.type is None and action.nargs not in (
            argparse.PARSER,
            argparse.REMAINDER,
        )
        if free_text and not is_clean(arg_string):
            raise argparse.ArgumentError(action, UNREADABLE_ARGUMENT)
        return super()._get_value(action, arg_string)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(inert(message, keep="\n\t"), file)


def say(text: str = "") -> None:
    """Prints a line of the command's output; text from outside is shown inert."""
    print(inert(text, keep="\n"), flush=True)


def warn(text: str) -> None:
    """Prints a line on stderr (errors, warnings)."""
    print(inert(text, keep="\n"), file=sys.stderr, flush=True)


OS_ERRORS = {
    errno.ENOSPC: "le disque est plein",
    errno.EDQUOT: "le quota du disque est atteint",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.EROFS: "le disque est en lecture seule",
    errno.EIO: "erreur de lecture ou d'écriture du disque",
    errno.ENAMETOOLONG: "nom de fichier trop long",
}


def os_error_text(error: OSError) -> str:
    """A file error in French: what happened, and to which file."""
    what = OS_ERRORS.get(error.errno or 0, error.strerror or "erreur du système")
    return f"{what} ({error.filename})" if error.filename else what


def expanded(text: str, what: str) -> Path:
    """The path `text`, `~` or `~user` at its start replaced by that home directory; a French
    UserError when there is no such user (or no home directory to be found)."""
    path = Path(text)
    try:
        return path.expanduser()
    except RuntimeError as error:  # "Could not determine home directory"
        user = text.split("/", 1)[0][1:]
        who = f"l'utilisateur « {user} » n'existe pas" if user else "dossier personnel inconnu"
        raise UserError(f"{what} introuvable : {inert(text)} ({who}).") from error
