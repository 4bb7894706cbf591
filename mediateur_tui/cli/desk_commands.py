"""The commands of the desk: the app, the demo, checking and redeeming passes (paper-log
entry), the audit log and the operators' accounts."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from mediateur_tui.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    ensure_demo,
    open_existing,
)
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.verdicts import CheckResult
from mediateur_tui.services.auth import ROLES
from mediateur_tui.services.images import decode_image
from mediateur_tui.services.site import has_database, open_site

ENV_PIN = "MEDIATEUR_PIN"


def run_app(data_dir: Path, demo: bool, max_age: timedelta) -> int:
    from mediateur_tui.services.demo import DEMO_OPERATORS
    from mediateur_tui.ui.app import MediateurApp

    if demo:
        ensure_demo(data_dir)
    # A new site (no database, or no replica yet) opens on the first-run screen.
    site = open_site(data_dir, create=True, max_replica_age=max_age)
    demo_pins = [(name, pin) for name, pin, _ in DEMO_OPERATORS] if demo else []
    MediateurApp(site, demo_pins=demo_pins).run()
    return EXIT_OK


def demo_init(args: argparse.Namespace, data_dir: Path) -> int:
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
        print(f"  Carnets à remettre (structure distributrice) : {', '.join(result.stock)}")
    return EXIT_OK


def check(args: argparse.Namespace, data_dir: Path) -> int:
    result = open_existing(data_dir, args).desk.check(args.code)
    _print_results([result], as_json=args.json)
    return EXIT_OK if result.redeemable else EXIT_REFUSED


def scan_image(args: argparse.Namespace, data_dir: Path) -> int:
    desk = open_existing(data_dir, args).desk
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


def redeem(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir, args)
    pin = os.environ.get(ENV_PIN)
    if pin is None:
        if not sys.stdin.isatty():
            raise CliError(f"Code PIN manquant : définissez {ENV_PIN} ou lancez dans un terminal.")
        pin = getpass.getpass(f"Code PIN de {args.operator} : ")
    login = site.accounts.log_in(args.operator, pin)
    if login.operator is None:
        raise CliError(login.message)
    desk = site.desk
    desk_session = desk.start_session(
        login.operator.id, args.session_title, "individuel", "", duration_minutes=60
    )
    results = [desk.redeem(desk_session.id, login.operator.id, code, "cli") for code in args.codes]
    summary = desk.end_session(desk_session.id)
    _print_results(results, as_json=args.json)
    if not args.json:
        print(f"Séance « {summary.title} » : {summary.redeemed_count} pass encaissé(s).")
    return EXIT_OK if all(result.redeemable for result in results) else EXIT_REFUSED


def operator(args: argparse.Namespace, data_dir: Path) -> int:
    if not has_database(data_dir):
        raise CliError(f"Aucune base de données dans {data_dir} : inscrivez d'abord le lieu.")
    accounts = open_site(data_dir).accounts
    if args.operator_command == "list":
        for info in accounts.list():
            print(f"{info.name} ({ROLES[info.role]})")
        return EXIT_OK
    pin = os.environ.get(ENV_PIN)
    if pin is None:
        if not sys.stdin.isatty():
            raise CliError(f"Code PIN manquant : définissez {ENV_PIN} ou lancez dans un terminal.")
        pin = getpass.getpass(f"Code PIN de {args.name} : ")
        if getpass.getpass("Le même code PIN, une seconde fois : ") != pin:
            raise CliError("Les deux codes PIN diffèrent : rien n'a été créé.")
    added = accounts.add(args.name, args.role, pin)
    print(f"Compte créé : {added.name} ({ROLES[added.role]}).")  # the name as stored
    return EXIT_OK


def audit_verify(args: argparse.Namespace, data_dir: Path) -> int:
    audit = open_existing(data_dir).verify_audit()
    if audit.broken_at is not None:
        print(
            f"Journal d'audit ALTÉRÉ à l'événement n° {audit.broken_at} "
            f"({audit.events} événements intacts avant)."
        )
        return EXIT_REFUSED
    print(f"Journal d'audit intact : {audit.events} événements vérifiés.")
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
