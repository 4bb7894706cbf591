"""`backup` and `restore`: a site's whole state in one checked file, and back onto a new
laptop (services/backup.py). `backup` asks no PIN, as `sync`, so that cron can run it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.cli.common import (
    EXIT_OK,
    Commands,
    open_existing,
    responsable,
    responsable_option,
)
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import format_datetime, format_size, plural, thousands
from mediateur_tui.domain.french_cli import say

if TYPE_CHECKING:
    from mediateur_tui.services.backup import CopyFacts


def add_commands(commands: Commands) -> None:
    backup_command = commands.add(
        "backup", "sauvegarder le lieu (base, journal, clés) dans un fichier vérifié", backup
    )
    backup_command.add_argument(
        "folder",
        nargs="?",
        type=Path,
        metavar="DOSSIER",
        help="où l'écrire (défaut : le dossier de sauvegarde du lieu)",
    )
    backup_command.add_argument(
        "--keep", type=int, metavar="N", help="nombre de sauvegardes gardées (défaut 10)"
    )
    backup_command.add_argument(
        "--default",
        action="store_true",
        help="faire de DOSSIER le dossier de sauvegarde du lieu (sauvegarde quotidienne)",
    )
    restore_command = commands.add(
        "restore",
        "restaurer une sauvegarde (nouveau poste, base endommagée, ou fusion)",
        restore,
        (responsable_option(),),
    )
    restore_command.add_argument("file", type=Path, metavar="FICHIER")
    how = restore_command.add_mutually_exclusive_group()
    how.add_argument(
        "--replace",
        action="store_true",
        help="remplacer la base endommagée de ce dossier (elle est mise de côté)",
    )
    how.add_argument(
        "--merge",
        action="store_true",
        help="ajouter à ce lieu ce que la sauvegarde contient et qu'il n'a pas (un responsable)",
    )


def backup(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    report = site.backups.make(args.folder, args.keep, remember=args.default)
    say(f"Sauvegarde écrite et vérifiée : {report.path} ({format_size(report.size)}).")
    say(f"Elle contient {_contents(report.facts)}.")
    if report.removed:
        removed = plural(
            len(report.removed), "ancienne sauvegarde supprimée", "anciennes sauvegardes supprimées"
        )
        say(f"{removed} : les {args.keep or site.backups.status().keep} dernières sont gardées.")
    if args.default:
        say(f"Dossier de sauvegarde du lieu : {report.path.parent}.")
    return EXIT_OK


def restore(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.backup import restore_backup

    if args.merge:
        return _merge(args, data_dir)
    report = restore_backup(args.file, data_dir, replace=args.replace)
    manifest = report.manifest
    say(
        f"Sauvegarde du {format_datetime(manifest.made_at)} restaurée dans {data_dir} : "
        f"{_contents(manifest.facts)}."
    )
    if report.replayed_events:
        say(
            f"{plural(report.replayed_events, 'événement', 'événements')} enregistré(s) après la "
            "copie de la base, remis depuis le journal."
        )
    say(
        "Si l'ancien poste a été perdu ou volé, demandez à la région de réinscrire le lieu : ses "
        "clés seront révoquées, et ce poste s'inscrira avec le nouveau jeton."
    )
    return EXIT_OK


def _merge(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Fusionner une sauvegarde")
    report = site.merge_backup(args.file)
    added = plural(report.redemptions_added, "encaissement ajouté", "encaissements ajoutés")
    say(
        f"Sauvegarde fusionnée : {added}, {report.redemptions_present} déjà présent(s), "
        f"{plural(report.sessions_added, 'séance ajoutée', 'séances ajoutées')}, "
        f"{plural(report.batches_added, 'remise ajoutée', 'remises ajoutées')}."
    )
    for code in report.conflicts:
        say(
            f"  {format_code(code)} : déjà encaissé ici sous un autre enregistrement, "
            "non ajouté (un pass ne s'encaisse qu'une fois)."
        )
    for batch_id in report.batches_skipped:
        say(f"  Remise {batch_id} non ajoutée : ce lieu a déjà une remise pour ce mois.")
    return EXIT_OK


def _contents(facts: CopyFacts) -> str:
    return (
        f"{plural(facts.redemptions, 'encaissement')}, {plural(facts.sessions, 'séance')}, "
        f"{plural(facts.operators, 'compte')}, {plural(facts.batches, 'remise')} et "
        f"{thousands(facts.audit_events)} "
        f"{'événement' if facts.audit_events <= 1 else 'événements'} d'audit"
    )
