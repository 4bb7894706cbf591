"""`mediateur-hub`: the region's command line. Exit 0 when done, 2 on a usage or data error
(with a French message on stderr).

    mediateur-hub [--dir DIR] [--db URL] COMMAND ...

The commands, by module: `region` (init, issue, attribute, revoke), `sites` (enrol-site,
import-enrolment, export-beneficiary-key), `exchange` (serve, export-replica, import-batch,
import-attributions, statement).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mediateur_tui.domain.errors import UserError
from mediateur_tui.hub.cli import exchange, region, sites
from mediateur_tui.hub.cli.common import EXIT_ERROR, Commands, Handler
from mediateur_tui.hub.database import resolve_settings


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = resolve_settings(getattr(args, "dir", None), getattr(args, "db", None))
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except UserError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"Erreur de fichier : {error.strerror or error} ({error.filename})", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, help="dossier du hub (clé, base)")
    common.add_argument("--db", default=argparse.SUPPRESS, help="URL de la base de données")
    parser = argparse.ArgumentParser(
        prog="mediateur-hub",
        description="Hub de référence d'une région pour les pass numériques.",
        parents=[common],
    )
    commands = Commands(parser, common)
    for module in (region, sites, exchange):
        module.add_commands(commands)
    return parser
