"""`mediateur-hub`: the region's command line.

    mediateur-hub [--dir DIR] [--db URL] COMMAND ...

The commands, by module: `region` (init, issue, attribute, revoke), `keys` (keys list, keys
rotate, keys revoke: the region's signing keys), `sites` (enrol-site,
import-enrolment, export-beneficiary-key, revoke-site), `exchange` (serve, export-replica,
import-batch, import-attributions, statement, lines), `rulebooks` (rulebook publish,
rulebook list).

The error contract is the site's: exit 0 when done, 2 on a usage or data error with a French
sentence on stderr, and never a traceback. An unexpected error is said in French and its
detail written to `mediateur-hub.log` in the hub's directory.
"""

from __future__ import annotations

import argparse
import os
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.french_cli import (
    FrenchParser,
    os_error_text,
    speak_french,
    tolerant_output,
    warn,
)
from mediateur_tui.hub.cli import exchange, keys, region, rulebooks, sites
from mediateur_tui.hub.cli.common import EXIT_ERROR, Commands, Handler
from mediateur_tui.hub.database import HubSettings, resolve_settings

LOG_FILENAME = "mediateur-hub.log"
KEPT = "Ce qui était déjà enregistré est conservé."
DATABASE_FAILED = (
    "Erreur de la base de données du hub ({problem}) : l'opération a été annulée, rien n'a été "
    "enregistré. Vérifiez que la base est joignable (--db), puis recommencez."
)
UNEXPECTED_ERROR = (
    "Erreur inattendue : la commande s'est arrêtée, ce qui était déjà enregistré est conservé "
    "(le détail est dans {log})."
)


def main(argv: Sequence[str] | None = None) -> int:
    tolerant_output()
    speak_french()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: --help, or a usage error it has printed
        return int(exit_.code or 0)
    try:
        settings = resolve_settings(getattr(args, "dir", None), getattr(args, "db", None))
    except UserError as error:  # a directory that cannot be (~nosuchuser/…)
        warn(f"Erreur : {error}")
        return EXIT_ERROR
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except UserError as error:
        warn(f"Erreur : {error}")
    except SQLAlchemyError as error:
        warn(f"Erreur : {DATABASE_FAILED.format(problem=error.__class__.__name__)}")
    except BrokenPipeError:  # the output was closed early (… | head): nothing more to say
        pass
    except OSError as error:
        warn(f"Erreur de fichier : {os_error_text(error)}. {KEPT}")
    except KeyboardInterrupt:
        warn(f"Interrompu. {KEPT}")
    except Exception:
        warn(UNEXPECTED_ERROR.format(log=_log_unexpected(settings)))
    return EXIT_ERROR


def _log_unexpected(settings: HubSettings) -> str:
    """Appends the current exception's traceback to the hub's log; says where it went."""
    path = settings.directory / LOG_FILENAME
    entry = f"{datetime.now(UTC).isoformat()} {traceback.format_exc()}\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as log:
            log.write(entry)
    except OSError:
        return "aucun journal : le dossier du hub n'est pas accessible en écriture"
    return str(path)


def _parser() -> argparse.ArgumentParser:
    common = FrenchParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, help="dossier du hub (clé, base)")
    common.add_argument("--db", default=argparse.SUPPRESS, help="URL de la base de données")
    parser = FrenchParser(
        prog="mediateur-hub",
        description="Hub de référence d'une région pour les pass numériques.",
        parents=[common],
    )
    commands = Commands(parser, common)
    for module in (region, keys, sites, exchange, rulebooks):
        module.add_commands(commands)
    return parser
