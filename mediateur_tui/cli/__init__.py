"""The command line: the app by default, plus commands for scripts and paper-log entry
(desk_commands.py), and for the sync with the region (enrol, sync, close-month, export-batch,
import-replica, import-ack; region_commands.py), which run unattended (cron) too, and for
the carnets of a distributor site (attribution check, list, export, import-answer;
attribution_commands.py).

This module builds the parser, runs the chosen command and turns its errors into a French
message and an exit code. It also holds the helpers the commands share.

Exit codes: 0 success (pass redeemable/redeemed), 1 refused or nothing to do (an empty month,
no batch to export), 2 usage, data or network error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.cli.data_dir import resolve_data_dir, set_up_logging
from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.errors import NothingToDo, UserError
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE
from mediateur_tui.services.auth import ROLES
from mediateur_tui.services.site import Site, open_site

if TYPE_CHECKING:
    from mediateur_tui.services.demo import DemoResult

log = logging.getLogger(__name__)
EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


class CliError(UserError):
    """A usage or data error: printed in French, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
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
    parser = argparse.ArgumentParser(
        prog="mediateur-tui",
        description="Encaisser les pass numériques dans un lieu de médiation, hors ligne.",
        parents=[common],
    )
    parser.add_argument("--demo", action="store_true", help="ouvrir sur les données de démo")
    commands = parser.add_subparsers(dest="command")

    demo = commands.add_parser("demo", help="données de démonstration")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True)
    init = demo_commands.add_parser("init", parents=[common], help="créer la région de démo")
    init.add_argument("--passes", type=int, default=None, help="nombre de pass (défaut 2000)")
    init.add_argument("--json", action="store_true")
    init.add_argument("--force", action="store_true", help="remplacer des données existantes")

    check = commands.add_parser("check", parents=[common], help="vérifier un pass sans l'encaisser")
    check.add_argument("code", metavar="CODE_OU_QR")
    check.add_argument("--json", action="store_true")

    scan = commands.add_parser(
        "scan-image", parents=[common], help="lire les QR codes d'images et les vérifier"
    )
    scan.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    scan.add_argument("--json", action="store_true")

    redeem = commands.add_parser(
        "redeem", parents=[common], help="encaisser des pass dans une nouvelle séance"
    )
    redeem.add_argument("codes", nargs="+", metavar="CODE")
    redeem.add_argument("--operator", required=True, help="nom de l'opérateur·rice")
    redeem.add_argument("--session-title", default="Saisie différée (journal papier)")
    redeem.add_argument("--json", action="store_true")

    audit = commands.add_parser("audit", help="journal d'audit")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", parents=[common], help="vérifier la chaîne du journal")

    enrol = commands.add_parser(
        "enrol", parents=[common], help="inscrire ce poste auprès du serveur de la région"
    )
    enrol.add_argument("--hub", metavar="ADRESSE", help="ex. https://pass.region.fr (en ligne)")
    enrol.add_argument("--token", metavar="JETON", help="jeton donné par la région")
    enrol.add_argument(
        "--request-file",
        type=Path,
        metavar="FICHIER",
        help="sans réseau, étape 1 : écrire la demande d'inscription (pour la clé USB)",
    )
    enrol.add_argument(
        "--answer-file",
        type=Path,
        metavar="FICHIER",
        help="sans réseau, étape 2 : importer la réponse de la région",
    )

    sync = commands.add_parser(
        "sync", parents=[common], help="mettre à jour la réplique et envoyer les remises"
    )
    sync.add_argument("--json", action="store_true")

    close = commands.add_parser(
        "close-month", parents=[common], help="clore un mois : sceller la remise signée"
    )
    close.add_argument(
        "--month", metavar="AAAA-MM", default=None, help="le mois à clore (défaut : le précédent)"
    )

    export = commands.add_parser(
        "export-batch",
        parents=[common],
        help="écrire les remises (fichier signé, CSV, bordereau PDF) pour une clé USB",
    )
    export.add_argument("directory", type=Path, metavar="DOSSIER")
    export.add_argument(
        "--batch", metavar="ID", default=None, help="une remise (défaut : toutes celles en attente)"
    )

    import_replica = commands.add_parser(
        "import-replica", parents=[common], help="importer une réplique du registre (fichier)"
    )
    import_replica.add_argument("file", type=Path, metavar="FICHIER")
    import_replica.add_argument(
        "--site",
        metavar="ID",
        default=None,
        help="identifiant de ce lieu (seulement au premier import, sur un poste non inscrit)",
    )

    import_ack = commands.add_parser(
        "import-ack", parents=[common], help="importer l'accusé de réception d'une remise"
    )
    import_ack.add_argument("file", type=Path, metavar="FICHIER")

    operator = commands.add_parser("operator", help="comptes des opérateur·rices du lieu")
    operator_commands = operator.add_subparsers(dest="operator_command", required=True)
    add = operator_commands.add_parser(
        "add", parents=[common], help="créer un compte (code PIN : MEDIATEUR_PIN ou saisie)"
    )
    add.add_argument("name", metavar="NOM")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    operator_commands.add_parser("list", parents=[common], help="lister les comptes")

    from mediateur_tui.cli import attribution_commands  # imports this package's helpers

    attribution_commands.add_parser(commands, common)
    return parser


# Commands that may create the data directory (and the database) on a site's first day.
CREATING_COMMANDS = {None, "demo", "enrol", "import-replica"}


def main(argv: list[str] | None = None) -> int:
    # The command modules import this package's helpers, so they are imported here, not at the top.
    from mediateur_tui.cli import attribution_commands, desk_commands, region_commands

    args = build_parser().parse_args(argv)
    demo = args.demo or args.command == "demo"
    data_dir = resolve_data_dir(getattr(args, "data_dir", None), demo=demo)
    # Only the app, the demo and a first enrolment or replica import create the data
    # directory; a mistyped --data-dir must not.
    if args.command in CREATING_COMMANDS or demo or data_dir.is_dir():
        set_up_logging(data_dir)
    try:
        if args.command is None:
            return desk_commands.run_app(data_dir, demo=args.demo, max_age=replica_max_age(args))
        handler = {
            "demo": desk_commands.demo_init,
            "check": desk_commands.check,
            "scan-image": desk_commands.scan_image,
            "redeem": desk_commands.redeem,
            "audit": desk_commands.audit_verify,
            "enrol": region_commands.enrol,
            "sync": region_commands.sync,
            "close-month": region_commands.close_month,
            "export-batch": region_commands.export_batch,
            "import-replica": region_commands.import_replica,
            "import-ack": region_commands.import_ack,
            "operator": desk_commands.operator,
            "attribution": attribution_commands.run,
        }[args.command]
        return handler(args, data_dir)
    except NothingToDo as error:
        print(str(error))
        return EXIT_REFUSED
    except UserError as error:
        log.error("%s: %s", args.command, error)
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_ERROR


def replica_max_age(args: argparse.Namespace) -> timedelta:
    days = getattr(args, "replica_max_age", None)
    if days is None:
        return DEFAULT_MAX_REPLICA_AGE
    if days < 1:
        raise CliError("--replica-max-age doit être un nombre de jours positif.")
    return timedelta(days=days)


def open_existing(data_dir: Path, args: argparse.Namespace | None = None) -> Site:
    """The site of `data_dir`, which must already hold a replica of the registry."""
    max_age = replica_max_age(args) if args is not None else DEFAULT_MAX_REPLICA_AGE
    return open_site(data_dir, max_replica_age=max_age).require_replica()


def open_or_create(data_dir: Path) -> Site:
    """The site of `data_dir`, its database created (empty, migrated) when there is none yet."""
    return open_site(data_dir, create=True)


def ensure_demo(
    data_dir: Path, passes: int | None = None, force: bool = False
) -> DemoResult | None:
    """Creates the demo in `data_dir` unless it is already there (None then)."""
    from mediateur_tui.services.demo import DEFAULT_PASSES, create_demo  # qrcode, PIL: only here

    return create_demo(data_dir, system_clock(), passes or DEFAULT_PASSES, force)
