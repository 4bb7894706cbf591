"""The commands of the sync with the region: enrol, sync, close-month, export-batch,
import-replica and import-ack; they run unattended (cron) too."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mediateur_tui.cli import EXIT_ERROR, EXIT_OK, CliError, open_existing, open_or_create
from mediateur_tui.domain.errors import NothingToDo
from mediateur_tui.domain.formatting import format_datetime, format_euros
from mediateur_tui.domain.periods import month_of, period_label


def enrol(args: argparse.Namespace, data_dir: Path) -> int:
    online = args.hub is not None and args.token is not None and args.request_file is None
    request = args.token is not None and args.request_file is not None and args.hub is None
    answer = args.answer_file is not None and args.hub is None and args.token is None
    if [online, request, answer].count(True) != 1 or (online and args.answer_file):
        raise CliError(
            "Inscription : --hub ADRESSE --token JETON (en ligne), ou sans réseau "
            "--token JETON --request-file FICHIER puis --answer-file FICHIER."
        )
    site_sync = open_or_create(data_dir).sync
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
    print(f"Clé du lieu : {result.site_key_file} (empreinte {result.site_key_fingerprint}).")
    if result.distributor:
        print("Structure distributrice : ce poste peut remettre des carnets aux bénéficiaires.")
    if result.hub_url:
        print("Lancez maintenant « mediateur-tui sync » pour recevoir la réplique du registre.")
    else:
        print("Importez maintenant la réplique du registre : « mediateur-tui import-replica ».")
    return EXIT_OK


def sync(args: argparse.Namespace, data_dir: Path) -> int:
    site_sync = open_existing(data_dir).sync
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
        for line in report.describe_attributions():
            print(line)
        for sent in report.batches:
            print(sent.describe())
        if report.ok and not report.batches:
            print("Aucune remise en attente d'envoi.")
        for error in report.errors:
            print(f"Erreur : {error}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_ERROR


def close_month(args: argparse.Namespace, data_dir: Path) -> int:
    batch = open_existing(data_dir).month_end.close_month(args.month)
    print(
        f"Mois {month_of(period_label(batch.period))} clos : remise n° {batch.sequence}, "
        f"{batch.redemption_count} pass, {format_euros(batch.value_cents)}, "
        f"{batch.refused_count} scan(s) refusé(s)."
    )
    print(f"Identifiant de la remise : {batch.batch_id}")
    print("Envoyez-la (mediateur-tui sync) ou exportez-la (mediateur-tui export-batch DOSSIER).")
    return EXIT_OK


def export_batch(args: argparse.Namespace, data_dir: Path) -> int:
    exported = open_existing(data_dir).month_end.export(args.directory, args.batch)
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


def import_replica(args: argparse.Namespace, data_dir: Path) -> int:
    result = open_or_create(data_dir).sync.import_replica(args.file, args.site)
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


def import_ack(args: argparse.Namespace, data_dir: Path) -> int:
    summary = open_existing(data_dir).month_end.import_ack_file(args.file)
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
