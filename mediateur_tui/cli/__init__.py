"""The command line: the app by default, plus commands for scripts and paper-log entry
(desk_commands.py), for the exchanges with the region, which run unattended (cron) too
(region_commands.py), and for the carnets of a distributor site (attribution_commands.py).

This module builds the parser, runs the chosen command and keeps the error contract: a
UserError is printed in French and exits 2, "refused" or "nothing to do" exits 1, and nothing
else ever shows a traceback: an unexpected error is logged in `mediateur.log` and said in
French (exit 2).

Imports are lazy, so that a command loads only what it uses (`check` neither SQLAlchemy nor
httpx, the app neither the hub's nor the printing and image libraries). The command modules
import, at their top, only the domain, the standard library and `cli.common`: that is enough
to build the whole parser. Each handler imports the services it calls in its own body, and
names used only in annotations are imported under TYPE_CHECKING. tests/cli/test_imports.py
holds that line in fresh processes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mediateur_tui.cli import (
    activity_commands,
    attribution_commands,
    backup_commands,
    desk_commands,
    history_commands,
    region_commands,
)
from mediateur_tui.cli.common import (
    EXIT_ERROR,
    EXIT_REFUSED,
    Commands,
    Handler,
)
from mediateur_tui.cli.data_dir import resolve_data_dir, set_up_logging
from mediateur_tui.domain.errors import NothingToDo, UserError
from mediateur_tui.domain.french_cli import (
    FrenchParser,
    os_error_text,
    say,
    speak_french,
    tolerant_output,
    warn,
)

log = logging.getLogger(__name__)
UNEXPECTED_ERROR = (
    "Erreur inattendue : la commande s'est arrêtée, ce qui était déjà fait est conservé (le "
    "détail est dans mediateur.log). Si cela se répète, prévenez le ou la responsable."
)
# Commands that may create the data directory (and the database) on a site's first day.
CREATING_COMMANDS = {None, "demo", "enrol", "import-replica", "restore"}
# The only writer of journal lines: a command that never loaded it has written none.
JOURNAL_WRITER = "mediateur_tui.store.journal"


def build_parser() -> argparse.ArgumentParser:
    common = FrenchParser(add_help=False)
    common.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="dossier des données (base, journal)"
    )
    common.add_argument(
        "--replica-max-age",
        type=int,
        default=argparse.SUPPRESS,
        metavar="JOURS",
        help="âge de la réplique au-delà duquel chaque vérification avertit (défaut 7)",
    )
    parser: argparse.ArgumentParser = FrenchParser(
        prog="mediateur-tui",
        description="Encaisser les pass numériques dans un lieu de médiation, hors ligne. "
        "Un code qui commence par « - » s'écrit après « -- » (mediateur-tui check -- -6K…).",
        parents=[common],
    )
    parser.add_argument("--demo", action="store_true", help="ouvrir sur les données de démo")
    parser.add_argument(
        "--accessible",
        action="store_true",
        help="mode accessible pour cette fois : curseur visible, sans animation, contraste "
        "élevé, verdicts en une ligne de texte (réglage durable : F1 puis A)",
    )
    parser.set_defaults(handler=None)
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMANDE"), common)
    modules = (
        desk_commands,
        history_commands,
        region_commands,
        attribution_commands,
        backup_commands,
        activity_commands,
    )
    for module in modules:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    tolerant_output()
    speak_french()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: --help, or a usage error it has printed
        return int(exit_.code or 0)
    try:
        return _run_saying_errors(args)
    finally:
        _warn_unwritten_journal()


def _warn_unwritten_journal() -> None:
    """What was done is in the database, but a journal line of it could not be written."""
    if JOURNAL_WRITER not in sys.modules:  # and services.doctor would load SQLAlchemy for nothing
        return
    from mediateur_tui.services.doctor import unwritten_journal_lines

    errors = unwritten_journal_lines()
    if errors:
        warn(
            f"Attention : journal non écrit ({os_error_text(errors[0])}). Ce qui a été fait est "
            "bien enregistré dans la base ; une fois de la place faite, lancez « mediateur-tui "
            "doctor --repair » pour compléter le journal."
        )


def _run_saying_errors(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except NothingToDo as error:
        say(str(error))
        return EXIT_REFUSED
    except UserError as error:
        log.error("%s: %s", args.command, error)
        warn(f"Erreur : {error}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        warn("Interrompu : ce qui était déjà fait est conservé.")
        return EXIT_ERROR
    except BrokenPipeError:  # the output was closed early (… | head): nothing more to say
        return EXIT_ERROR
    except OSError as error:
        log.error("%s: %s", args.command, error)
        warn(f"Erreur de fichier : {os_error_text(error)}. Ce qui était déjà fait est conservé.")
        return EXIT_ERROR
    except Exception:
        log.exception("%s failed", args.command)
        warn(UNEXPECTED_ERROR)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    demo = args.demo or args.command == "demo"
    data_dir = resolve_data_dir(getattr(args, "data_dir", None), demo=demo)
    # Only the app, the demo and a first enrolment or replica import create the data
    # directory; a mistyped --data-dir must not.
    if args.command in CREATING_COMMANDS or demo or data_dir.is_dir():
        set_up_logging(data_dir)
    handler: Handler | None = args.handler
    if handler is None:
        return desk_commands.run_app(args, data_dir)
    return handler(args, data_dir)
