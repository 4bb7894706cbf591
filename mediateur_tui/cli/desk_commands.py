"""The commands of the desk: the app, the demo, checking and redeeming passes (paper-log
entry), the operators' accounts, the audit log and `doctor`."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediateur_tui.cli.activity_options import (
    activity_for,
    add_activity_options,
    duration,
    overrides,
    session_type,
)
from mediateur_tui.cli.common import (
    ENV_NEW_PIN,
    ENV_PIN,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    Commands,
    ask_pin,
    ensure_demo,
    open_existing,
    replica_max_age,
    responsable,
    responsable_option,
)
from mediateur_tui.domain.activity import TypeActivite
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import redeemed_passes
from mediateur_tui.domain.french_cli import say, scanned, warn
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.roles import ROLE_LABELS

if TYPE_CHECKING:
    from mediateur_tui.domain.activity import Activity
    from mediateur_tui.domain.verdicts import CheckResult
    from mediateur_tui.services.desk import Desk
    from mediateur_tui.services.operators import OperatorInfo
    from mediateur_tui.services.site import Site

PAPER_LOG_MINUTES = 60  # a paper-log session's duration when nothing says otherwise
STDIN_INPUT = "-"  # `check -`: the codes are read from standard input, one per line


def add_commands(commands: Commands) -> None:
    demo = commands.group("demo", "données de démonstration")
    init = demo.add("init", "créer la région de démo", demo_init)
    init.add_argument("--passes", type=int, default=None, help="nombre de pass (défaut 2000)")
    init.add_argument("--json", action="store_true")
    init.add_argument("--force", action="store_true", help="remplacer des données existantes")

    check_command = commands.add("check", "vérifier des pass sans les encaisser", check)
    check_command.add_argument(
        "inputs",
        nargs="+",
        metavar="CODE_OU_QR",
        type=scanned,
        help=f"codes ou textes de QR codes ; « {STDIN_INPUT} » les lit sur l'entrée standard, "
        "un par ligne",
    )
    check_command.add_argument(
        "--json", action="store_true", help="un objet JSON par code et par ligne (JSON Lines)"
    )

    scan = commands.add("scan-image", "lire les QR codes d'images et les vérifier", scan_image)
    scan.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    scan.add_argument(
        "--json",
        action="store_true",
        help="plusieurs fichiers : un objet JSON par fichier et par ligne, "
        '{"file": …, "results": […]}',
    )

    redeem_command = commands.add("redeem", "encaisser des pass dans une nouvelle séance", redeem)
    redeem_command.add_argument("codes", nargs="+", metavar="CODE", type=scanned)
    redeem_command.add_argument(
        "--operator", required=True, help=f"nom de l'opérateur·rice (code PIN : {ENV_PIN})"
    )
    redeem_command.add_argument("--session-title", default="Saisie différée (journal papier)")
    redeem_command.add_argument("--json", action="store_true")
    add_activity_options(redeem_command)

    audit = commands.group("audit", "journal d'audit")
    audit.add("verify", "vérifier la chaîne du journal et le fichier de la base", audit_verify)

    doctor_command = commands.add(
        "doctor", "vérifier que les données du lieu sont complètes et intactes", doctor
    )
    doctor_command.add_argument(
        "--repair",
        action="store_true",
        help="remettre dans la base ce que le journal a gardé (après la perte du fichier -wal)",
    )

    operator = commands.group("operator", "comptes des opérateur·rices du lieu")
    as_responsable = (responsable_option(),)
    add = operator.add(
        "add",
        f"créer un compte (son code PIN : {ENV_NEW_PIN} ou saisie)",
        operator_add,
        as_responsable,
    )
    add.add_argument("name", metavar="NOM")
    add.add_argument("--role", required=True, choices=sorted(ROLE_LABELS))
    operator.add("list", "lister les comptes", operator_list)
    remove = operator.add(
        "remove", "supprimer un compte (l'historique le garde)", operator_remove, as_responsable
    )
    remove.add_argument("name", metavar="NOM")
    unlock = operator.add(
        "unlock",
        "débloquer un compte après des codes PIN erronés",
        operator_unlock,
        as_responsable,
    )
    unlock.add_argument("name", metavar="NOM")


def run_app(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.site import open_site_for_app
    from mediateur_tui.ui.app import MediateurApp

    if args.demo:
        return _run_demo_app(args, data_dir)
    # A new site (no database, or no replica yet) opens on the first-run screen.
    site = open_site_for_app(data_dir, create=True, max_replica_age=replica_max_age(args))
    # What the imports made lives as long as the app: out of the collector's sight, no full
    # collection over it (about 45 ms) falls in the start or in the middle of a scan.
    gc.freeze()
    MediateurApp(site, accessible=args.accessible).run()
    return EXIT_OK


def _run_demo_app(args: argparse.Namespace, data_dir: Path) -> int:
    """The app on the demo, with its region served in this process (mediateur_tui/demo_region):
    made on the first run; a demo made by `demo init` opens without a region."""
    from mediateur_tui import demo_region
    from mediateur_tui.domain.clock import system_clock
    from mediateur_tui.services.demo import DEMO_OPERATORS
    from mediateur_tui.services.site import open_site_for_app
    from mediateur_tui.ui.app import MediateurApp

    if demo_region.needs_making(data_dir):
        say(f"Création de la démo et de sa région dans {data_dir}…")
        demo_region.ensure(data_dir, system_clock())
    demo_pins = [(name, pin) for name, pin, _ in DEMO_OPERATORS]
    with demo_region.running(data_dir):
        site = open_site_for_app(data_dir, max_replica_age=replica_max_age(args))
        gc.freeze()
        MediateurApp(site, demo_pins=demo_pins, accessible=args.accessible).run()
    return EXIT_OK


def demo_init(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.demo import saved_demo_info

    if args.passes is not None and args.passes < 1:
        raise CliError("--passes doit être un nombre positif.")
    existing = None if args.force else saved_demo_info(data_dir)
    if existing is not None:
        _print_demo(existing, args.json, data_dir, "La démo existe déjà (--force la recrée) dans")
        return EXIT_OK
    result = ensure_demo(data_dir, args.passes, force=args.force)
    if result is None:
        raise CliError(
            f"Des données existent déjà dans {data_dir} ; ajoutez --force pour les remplacer."
        )
    _print_demo(result.to_json(), args.json, data_dir, "Démo créée dans")
    return EXIT_OK


def _print_demo(info: dict[str, Any], as_json: bool, data_dir: Path, headline: str) -> None:
    if as_json:
        say(json.dumps(info, ensure_ascii=False, indent=2))
        return
    say(f"{headline} {data_dir}")
    for operator in info["operators"]:
        say(f"  {operator['name']} ({operator['role']}) : code PIN {operator['pin']}")
    valid = [format_code(entry) for entry in info["codes"].get("valid", []) if ":" not in entry]
    say(f"  Pass valides à essayer : {', '.join(valid)} (chaque sorte de pass : --json)")
    say(f"  {len(info['images'])} images de QR codes dans {data_dir / 'demo-qr'}")
    say(f"  Carnets à remettre (structure distributrice) : {', '.join(info['stock'])}")


def check(args: argparse.Namespace, data_dir: Path) -> int:
    """Each verdict is printed as soon as it is decided, in the order of the inputs: a later
    error (exit 2) never hides the verdicts already printed. On a raw SQLite connection: the
    ORM is not even imported (services/checking.py)."""
    from mediateur_tui.services.checking import open_checker

    checker = open_checker(data_dir, replica_max_age(args))
    checked = refused = 0
    try:
        for text in _check_inputs(args.inputs):
            result = checker.check(text)
            _print_results([result], as_json=args.json)
            checked += 1
            refused += not result.redeemable
    finally:
        checker.close()
    if not checked:
        raise CliError("Aucun code à vérifier : l'entrée standard était vide.")
    return EXIT_REFUSED if refused else EXIT_OK


def _check_inputs(arguments: Iterable[str]) -> Iterator[str]:
    """The arguments, where `-` stands for the lines of standard input, read as they come."""
    for argument in arguments:
        if argument == STDIN_INPUT:
            yield from _stdin_lines()
        else:
            yield argument


UTF8_BOM = b"\xef\xbb\xbf"


def _stdin_lines() -> Iterator[str]:
    """The non-blank lines of standard input, decoded as the arguments are (an undecodable
    byte or a control character is kept, and the check says the input is unreadable). The
    byte-order mark a Windows editor puts before the first line is no part of it."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise CliError(
            "Entrée standard fermée : rien à vérifier (« - » lit les codes sur l'entrée)."
        )
    for number, raw in enumerate(iter(stream.readline, b"")):
        if number == 0:
            raw = raw.removeprefix(UTF8_BOM)
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="surrogateescape")
        if line.strip():
            yield line


def scan_image(args: argparse.Namespace, data_dir: Path) -> int:
    """Several files with --json: one JSON object per file and per line (JSON Lines),
    `{"file": NAME, "results": [verdicts]}`, printed as each file is read. One file: its
    verdict, or the list of its verdicts, as `check --json` prints them."""
    from mediateur_tui.services.images import decode_image

    desk = open_existing(data_dir, args).desk
    per_file = args.json and len(args.files) > 1
    results: list[CheckResult] = []
    for path in args.files:
        texts = decode_image(path)
        if not texts:
            warn(f"{path} : aucun QR code ni code-barres trouvé.")
        found = [desk.check(text, Typing.SCANNER) for text in texts]  # decoded: no keyboard
        if per_file:
            file_results = [result.to_json() for result in found]
            say(json.dumps({"file": str(path), "results": file_results}, ensure_ascii=False))
        results.extend(found)
    if not results:
        return EXIT_ERROR
    if not per_file:
        _print_results(results, as_json=args.json)
    return EXIT_OK if all(result.redeemable for result in results) else EXIT_REFUSED


def redeem(args: argparse.Namespace, data_dir: Path) -> int:
    """Each result is printed as soon as it is recorded: a later failure never hides it."""
    kind, minutes, given = session_type(args), duration(args), overrides(args)  # before the PIN
    site = open_existing(data_dir, args)
    login = site.accounts.log_in(args.operator, ask_pin(ENV_PIN, f"Code PIN de {args.operator} : "))
    if login.operator is None:
        raise CliError(login.message)
    desk = site.desk
    activity = _paper_log_activity(desk, login.operator.id, kind, minutes, given)
    desk_session = desk.start_activity(login.operator.id, args.session_title, activity)
    results: list[CheckResult] = []
    try:
        for code in args.codes:
            results.append(desk.redeem(desk_session.id, login.operator.id, code, "cli"))
            if not args.json:
                _print_results(results[-1:], as_json=False)
    finally:
        if args.json:  # before closing the session, which could fail in its turn
            _print_results(results, as_json=True)
        summary = desk.end_session(desk_session.id)
    if not args.json:
        say(f"Séance « {summary.title} » : {redeemed_passes(summary.redeemed_count)}.")
    return EXIT_OK if all(result.redeemable for result in results) else EXIT_REFUSED


def _paper_log_activity(
    desk: Desk,
    operator_id: int,
    kind: TypeActivite | None,
    minutes: int | None,
    given: dict[str, Any],
) -> Activity:
    """The options' activity over the operator's defaults: her previous session's type and
    duration unless given, else an individuel of 60 minutes."""
    previous = desk.last_activity(operator_id)
    kind = kind or (previous.type if previous else TypeActivite.INDIVIDUEL)
    minutes = minutes or (previous.duration_minutes if previous else PAPER_LOG_MINUTES)
    defaults = desk.session_defaults(operator_id, kind, minutes)
    return activity_for(replace(defaults, duration_minutes=minutes), given)


def operator_list(args: argparse.Namespace, data_dir: Path) -> int:
    for info in _site_with_accounts(data_dir).accounts.list():
        say(f"{info.name} ({ROLE_LABELS[info.role]})")
    return EXIT_OK


def operator_add(args: argparse.Namespace, data_dir: Path) -> int:
    site = _site_with_accounts(data_dir)
    by = responsable(args, site, "Créer un compte")
    if by is None and args.role != "responsable":
        raise CliError(
            "Le premier compte du lieu est celui d'un ou d'une responsable : --role responsable."
        )
    pin = ask_pin(ENV_NEW_PIN, f"Code PIN du nouveau compte {args.name} : ", twice=True)
    added = site.accounts.add(args.name, args.role, pin, by)
    say(f"Compte créé : {added.name} ({ROLE_LABELS[added.role]}).")  # the name as stored
    return EXIT_OK


def operator_remove(args: argparse.Namespace, data_dir: Path) -> int:
    site = _site_with_accounts(data_dir)
    by = _required_responsable(args, site, "Supprimer un compte")
    removed = site.accounts.remove(args.name, by)
    say(f"Compte supprimé : {removed.name} ne peut plus se connecter (l'historique le garde).")
    return EXIT_OK


def operator_unlock(args: argparse.Namespace, data_dir: Path) -> int:
    site = _site_with_accounts(data_dir)
    by = _required_responsable(args, site, "Débloquer un compte")
    unlocked = site.accounts.unlock(args.name, by)
    say(f"Compte débloqué : {unlocked.name} peut de nouveau se connecter.")
    return EXIT_OK


def _site_with_accounts(data_dir: Path) -> Site:
    from mediateur_tui.services.site import has_database, open_site

    if not has_database(data_dir):
        raise CliError(f"Aucune base de données dans {data_dir} : inscrivez d'abord le lieu.")
    return open_site(data_dir)


def _required_responsable(args: argparse.Namespace, site: Site, action: str) -> OperatorInfo:
    by = responsable(args, site, action)
    if by is None:
        raise CliError(f"{action} : ce lieu n'a encore aucun compte.")
    return by


def audit_verify(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    problems = site.integrity_problems()
    if problems:
        say(f"Fichier de la base ENDOMMAGÉ : {problems[0]}. Lancez « mediateur-tui doctor ».")
        return EXIT_ERROR
    audit = site.verify_audit()
    if audit.broken_at is not None:
        say(
            f"Journal d'audit ALTÉRÉ à l'événement n° {audit.broken_at} "
            f"({audit.events} événements intacts avant)."
        )
        return EXIT_ERROR
    say(f"Journal d'audit intact : {audit.events} événements vérifiés.")
    return EXIT_OK


def doctor(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.site import examine_site, has_database

    if not has_database(data_dir):
        raise CliError(f"Aucune base de données dans {data_dir}.")
    site, diagnosis = examine_site(data_dir)
    for fact in diagnosis.facts:
        say(f"✔ {fact}")
    for finding in diagnosis.findings:
        say(f"✘ {finding}")
    if diagnosis.healthy:
        say("Données du lieu saines.")
        return EXIT_OK
    if not (args.repair and diagnosis.repairable):
        if diagnosis.repairable:
            say("Lancez « mediateur-tui doctor --repair » pour réparer.")
        return EXIT_ERROR
    assert site is not None  # only a file that opens can be repairable
    repair = site.repair()
    say(
        f"Réparé : {repair.restored_events} événement(s) remis dans la base, "
        f"{repair.journaled_events} ajouté(s) au journal. Données du lieu saines."
    )
    return EXIT_OK


def _print_results(results: list[CheckResult], as_json: bool) -> None:
    if as_json:
        payload = [result.to_json() for result in results]
        say(json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False))
        return
    for result in results:
        code = format_code(result.code) if result.code else result.input
        say(f"{code} : {result.message}")
        for warning in result.warnings:
            say(f"  ⚠ {warning}")
