"""The command line: the app by default, plus commands for scripts and paper-log entry,
and for the sync with the region (enrol, sync, close-month, export-batch, import-replica,
import-ack), which run unattended (cron) too.

Exit codes: 0 success (pass redeemable/redeemed), 1 refused or nothing to do (an empty month,
no batch to export), 2 usage, data or network error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE, CheckResult
from mediateur_tui.paths import database_path, resolve_data_dir, set_up_logging
from mediateur_tui.services.auth import ROLES, add_operator, list_operators, log_in
from mediateur_tui.services.clock import system_clock
from mediateur_tui.services.desk import Desk, DeskError
from mediateur_tui.services.images import ImageReadError, decode_image
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.queries import replica_meta
from mediateur_tui.sync.batches import period_label
from mediateur_tui.sync.errors import NothingToDo, SyncError
from mediateur_tui.sync.keys import site_key_path
from mediateur_tui.sync.protocol import ProtocolError

log = logging.getLogger(__name__)
EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
ENV_PIN = "MEDIATEUR_PIN"


class CliError(Exception):
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
    return parser


# Commands that may create the data directory (and the database) on a site's first day.
CREATING_COMMANDS = {None, "demo", "enrol", "import-replica"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    demo = args.demo or args.command == "demo"
    data_dir = resolve_data_dir(getattr(args, "data_dir", None), demo=demo)
    # Only the app, the demo and a first enrolment or replica import create the data
    # directory; a mistyped --data-dir must not.
    if args.command in CREATING_COMMANDS or demo or data_dir.is_dir():
        set_up_logging(data_dir)
    try:
        if args.command is None:
            return _run_app(data_dir, demo=args.demo, max_age=replica_max_age(args))
        handler = {
            "demo": _demo_init,
            "check": _check,
            "scan-image": _scan_image,
            "redeem": _redeem,
            "audit": _audit_verify,
            "enrol": _enrol,
            "sync": _sync,
            "close-month": _close_month,
            "export-batch": _export_batch,
            "import-replica": _import_replica,
            "import-ack": _import_ack,
            "operator": _operator,
        }[args.command]
        return handler(args, data_dir)
    except NothingToDo as error:
        print(str(error))
        return EXIT_REFUSED
    except (CliError, DeskError, ImageReadError, SyncError, ProtocolError) as error:
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


def open_existing(data_dir: Path) -> Engine:
    """The database of `data_dir`, which must already hold a replica."""
    path = database_path(data_dir)
    if not path.exists():
        raise CliError(
            f"Aucune base de données dans {data_dir}. "
            "Créez la démo (mediateur-tui demo init) ou importez une réplique du registre."
        )
    engine = open_database(path)
    with Session(engine) as session:
        if replica_meta(session) is None:
            raise CliError(f"La base de {data_dir} ne contient pas de réplique du registre.")
    return engine


def ensure_demo(data_dir: Path, passes: int | None = None, force: bool = False):
    """Creates the demo in `data_dir` unless it is already there. Returns the DemoResult or None."""
    from mediateur_tui.demo import DEFAULT_PASSES, build_demo

    path = database_path(data_dir)
    if path.exists():
        if not force:
            return None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_database(path)
    try:
        return build_demo(engine, data_dir, system_clock(), passes or DEFAULT_PASSES)
    finally:
        engine.dispose()


def _run_app(data_dir: Path, demo: bool, max_age: timedelta) -> int:
    from mediateur_tui.app import MediateurApp
    from mediateur_tui.demo import DEMO_OPERATORS

    if demo:
        ensure_demo(data_dir)
    # A new site (no database, or no replica yet) opens on the first-run screen.
    engine = open_or_create(data_dir)
    demo_pins = [(name, pin) for name, pin, _ in DEMO_OPERATORS] if demo else []
    MediateurApp(
        engine=engine, data_dir=data_dir, demo_pins=demo_pins, max_replica_age=max_age
    ).run()
    return EXIT_OK


def _demo_init(args, data_dir: Path) -> int:
    if args.passes is not None and args.passes < 1:
        raise CliError("--passes doit être un nombre positif.")
    result = ensure_demo(data_dir, args.passes, force=args.force)
    if result is None:
        raise CliError(
            f"Des données existent déjà dans {data_dir} ; ajoutez --force pour les remplacer."
        )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"Démo créée dans {data_dir}")
        for operator in result.operators:
            print(f"  {operator['name']} ({operator['role']}) : code PIN {operator['pin']}")
        print(f"  {len(result.images)} images de QR codes dans {data_dir / 'demo-qr'}")
    return EXIT_OK


def _check(args, data_dir: Path) -> int:
    desk = Desk(open_existing(data_dir), max_replica_age=replica_max_age(args))
    result = desk.check(args.code)
    _print_results([result], as_json=args.json)
    return EXIT_OK if result.redeemable else EXIT_REFUSED


def _scan_image(args, data_dir: Path) -> int:
    desk = Desk(open_existing(data_dir), max_replica_age=replica_max_age(args))
    results: list[CheckResult] = []
    for path in args.files:
        texts = decode_image(path)
        if not texts:
            print(f"{path} : aucun QR code ni code-barres trouvé.", file=sys.stderr)
        results.extend(desk.check(text) for text in texts)
    if not results:
        return EXIT_ERROR
    _print_results(results, as_json=args.json)
    return EXIT_OK if all(result.redeemable for result in results) else EXIT_REFUSED


def _redeem(args, data_dir: Path) -> int:
    engine = open_existing(data_dir)
    pin = os.environ.get(ENV_PIN)
    if pin is None:
        if not sys.stdin.isatty():
            raise CliError(f"Code PIN manquant : définissez {ENV_PIN} ou lancez dans un terminal.")
        pin = getpass.getpass(f"Code PIN de {args.operator} : ")
    login = log_in(engine, args.operator, pin)
    if not login.ok:
        raise CliError(login.message)
    desk = Desk(engine, max_replica_age=replica_max_age(args))
    desk_session = desk.start_session(
        login.operator.id, args.session_title, "individuel", "", duration_minutes=60
    )
    results = [desk.redeem(desk_session.id, login.operator.id, code, "cli") for code in args.codes]
    summary = desk.end_session(desk_session.id)
    _print_results(results, as_json=args.json)
    if not args.json:
        print(f"Séance « {summary.title} » : {summary.redeemed_count} pass encaissé(s).")
    return EXIT_OK if all(result.redeemable for result in results) else EXIT_REFUSED


def _operator(args, data_dir: Path) -> int:
    path = database_path(data_dir)
    if not path.exists():
        raise CliError(f"Aucune base de données dans {data_dir} : inscrivez d'abord le lieu.")
    engine = open_database(path)
    if args.operator_command == "list":
        for info in list_operators(engine):
            print(f"{info.name} ({ROLES[info.role]})")
        return EXIT_OK
    pin = os.environ.get(ENV_PIN)
    if pin is None:
        if not sys.stdin.isatty():
            raise CliError(f"Code PIN manquant : définissez {ENV_PIN} ou lancez dans un terminal.")
        pin = getpass.getpass(f"Code PIN de {args.name} : ")
        if getpass.getpass("Le même code PIN, une seconde fois : ") != pin:
            raise CliError("Les deux codes PIN diffèrent : rien n'a été créé.")
    try:
        added = add_operator(engine, args.name, args.role, pin)
    except ValueError as error:
        raise CliError(str(error)) from error
    print(f"Compte créé : {added.name} ({ROLES[added.role]}).")  # the name as stored
    return EXIT_OK


def _audit_verify(args, data_dir: Path) -> int:
    engine = open_existing(data_dir)
    with Session(engine) as session:
        count, broken = verify_chain(session)
    if broken is not None:
        print(
            f"Journal d'audit ALTÉRÉ à l'événement n° {broken} ({count} événements intacts avant)."
        )
        return EXIT_REFUSED
    print(f"Journal d'audit intact : {count} événements vérifiés.")
    return EXIT_OK


def open_or_create(data_dir: Path) -> Engine:
    """The database of `data_dir`, created (empty, migrated) when there is none yet."""
    return open_database(database_path(data_dir))


def _enrol(args, data_dir: Path) -> int:
    online = args.hub is not None and args.token is not None and args.request_file is None
    request = args.token is not None and args.request_file is not None and args.hub is None
    answer = args.answer_file is not None and args.hub is None and args.token is None
    if [online, request, answer].count(True) != 1 or (online and args.answer_file):
        raise CliError(
            "Inscription : --hub ADRESSE --token JETON (en ligne), ou sans réseau "
            "--token JETON --request-file FICHIER puis --answer-file FICHIER."
        )
    site_sync = SiteSync(open_or_create(data_dir), data_dir)
    if request:
        path = site_sync.write_enrolment_request(args.token, args.request_file)
        print(f"Demande d'inscription écrite dans {path}.")
        print("Portez-la à la région (mediateur-hub import-enrolment), puis importez sa réponse")
        print("avec « mediateur-tui enrol --answer-file FICHIER ».")
        return EXIT_OK
    if online:
        result = site_sync.enrol(args.hub, args.token)
    else:
        result = site_sync.import_enrolment_answer(args.answer_file)
    where = f" ({result.hub_url})" if result.hub_url else " (par fichier)"
    print(
        f"Poste inscrit auprès de la région {result.region_id}{where} : "
        f"lieu « {result.site_name} » ({result.site_id})."
    )
    print(
        f"Empreinte de la clé de la région : {result.region_key_fingerprint} "
        "(comparez-la avec celle que la région vous a communiquée)."
    )
    print(f"Clé du lieu : {site_key_path(data_dir)} (empreinte {result.site_key_fingerprint}).")
    if result.hub_url:
        print("Lancez maintenant « mediateur-tui sync » pour recevoir la réplique du registre.")
    else:
        print("Importez maintenant la réplique du registre : « mediateur-tui import-replica ».")
    return EXIT_OK


def _sync(args, data_dir: Path) -> int:
    site_sync = SiteSync(open_existing(data_dir), data_dir)
    show_progress = not args.json and sys.stderr.isatty()

    def progress(changes: int, cursor: int) -> None:
        print(f"\rRéplique : {changes} changement(s) reçu(s)…", end="", file=sys.stderr)

    report = site_sync.sync(progress=progress if show_progress else None)
    if show_progress and report.pages:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        when = (
            f", à jour au {format_datetime(report.replica_updated_at)}"
            if report.replica_updated_at
            else ""
        )
        if report.pages:
            print(
                f"Réplique : {report.changes} changement(s) reçu(s) en {report.pages} page(s)"
                f"{when} ({report.pass_count} pass)."
            )
        for sent in report.batches:
            print(sent.describe())
        if report.ok and not report.batches:
            print("Aucune remise en attente d'envoi.")
        for error in report.errors:
            print(f"Erreur : {error}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_ERROR


def _close_month(args, data_dir: Path) -> int:
    batch = MonthEnd(open_existing(data_dir), data_dir).close_month(args.month)
    print(
        f"Mois de {period_label(batch.period)} clos : remise n° {batch.sequence}, "
        f"{batch.redemption_count} pass, {format_euros(batch.value_cents)}, "
        f"{batch.refused_count} scan(s) refusé(s)."
    )
    print(f"Identifiant de la remise : {batch.batch_id}")
    print("Envoyez-la (mediateur-tui sync) ou exportez-la (mediateur-tui export-batch DOSSIER).")
    return EXIT_OK


def _export_batch(args, data_dir: Path) -> int:
    exported = MonthEnd(open_existing(data_dir), data_dir).export(args.directory, args.batch)
    if not exported:
        raise NothingToDo("Aucune remise en attente d'accusé de réception : rien à exporter.")
    for item in exported:
        batch = item.batch
        print(
            f"Remise n° {batch.sequence} ({period_label(batch.period)}) : "
            f"{batch.redemption_count} pass, {format_euros(batch.value_cents)}"
        )
        for path in (item.document, item.csv, item.pdf):
            print(f"  {path}")
    return EXIT_OK


def _import_replica(args, data_dir: Path) -> int:
    result = SiteSync(open_or_create(data_dir), data_dir).import_replica(args.file, args.site)
    if result.trusted_key_fingerprint:
        print(
            f"Clé de la région {result.region_id} enregistrée (premier import) — empreinte : "
            f"{result.trusted_key_fingerprint}. Comparez-la avec celle que la région vous a "
            "communiquée."
        )
    if not result.applied:
        print(f"Réplique déjà à jour (changement n° {result.cursor}) : fichier sans nouveauté.")
        return EXIT_OK
    when = f", à jour au {format_datetime(result.updated_at)}" if result.updated_at else ""
    print(f"Réplique importée : {result.changes} changement(s), {result.pass_count} pass{when}.")
    return EXIT_OK


def _import_ack(args, data_dir: Path) -> int:
    summary = MonthEnd(open_existing(data_dir), data_dir).import_ack_file(args.file)
    batch = summary.batch
    again = " (déjà importé)" if summary.already_imported else ""
    print(
        f"Accusé de réception de la remise n° {batch.sequence} ({period_label(batch.period)}, "
        f"scellée le {format_datetime(batch.sealed_at)}){again} : "
        f"{summary.accepted} accepté(s) pour {format_euros(summary.accepted_cents)}, "
        f"{summary.refused} refusé(s)."
    )
    for line in summary.refused_lines:
        print(f"  {line.describe()}")
    return EXIT_OK


def _print_results(results: list[CheckResult], as_json: bool) -> None:
    if as_json:
        payload = [result.to_json() for result in results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False))
        return
    for result in results:
        code = format_code(result.code) if result.code else result.input
        print(f"{code} : {result.message}")
        for warning in result.warnings:
            print(f"  ⚠ {warning}")
