"""The command line: the app by default, plus commands for scripts and paper-log entry.

Exit codes: 0 success (pass redeemable/redeemed), 1 refused, 2 usage or data error.
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
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE, CheckResult
from mediateur_tui.paths import database_path, resolve_data_dir, set_up_logging
from mediateur_tui.services.auth import log_in
from mediateur_tui.services.clock import system_clock
from mediateur_tui.services.desk import Desk, DeskError
from mediateur_tui.services.images import ImageReadError, decode_image
from mediateur_tui.store.audit import verify_chain
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.queries import replica_meta

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    demo = args.demo or args.command == "demo"
    data_dir = resolve_data_dir(getattr(args, "data_dir", None), demo=demo)
    # Only the app and the demo create the data directory; a mistyped --data-dir must not.
    if args.command is None or demo or data_dir.is_dir():
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
        }[args.command]
        return handler(args, data_dir)
    except (CliError, DeskError, ImageReadError) as error:
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
    engine = open_existing(data_dir)
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
