"""The commands of the exchanges with the region: enrol, sync, close-month, export-batch,
import-replica and import-ack. `sync` runs unattended (cron) with no PIN: it only moves sealed,
signed documents and the replica. The others are a responsable's (--operator, and the PIN),
but on a site's first day, before it has any account."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mediateur_tui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    CliError,
    Commands,
    open_existing,
    open_or_create,
    responsable,
    responsable_option,
)
from mediateur_tui.domain.errors import NothingToDo
from mediateur_tui.domain.formatting import (
    acknowledged_passes,
    format_datetime,
    format_euros,
    refused_reads,
)
from mediateur_tui.domain.french_cli import say, warn
from mediateur_tui.domain.periods import month_of, period_label


def add_commands(commands: Commands) -> None:
    as_responsable = (responsable_option(),)
    enrol_command = commands.add(
        "enrol", "inscrire ce poste auprès du serveur de la région", enrol, as_responsable
    )
    enrol_command.add_argument("--hub", metavar="ADRESSE", help="ex. https://pass.region.fr")
    enrol_command.add_argument("--token", metavar="JETON", help="jeton donné par la région")
    enrol_command.add_argument(
        "--request-file",
        type=Path,
        metavar="FICHIER",
        help="sans réseau, étape 1 : écrire la demande d'inscription (pour la clé USB)",
    )
    enrol_command.add_argument(
        "--answer-file",
        type=Path,
        metavar="FICHIER",
        help="sans réseau, étape 2 : importer la réponse de la région",
    )

    sync_command = commands.add("sync", "mettre à jour la réplique et envoyer les remises", sync)
    sync_command.add_argument("--json", action="store_true")

    close = commands.add(
        "close-month", "clore un mois : sceller la remise signée", close_month, as_responsable
    )
    close.add_argument(
        "--month", metavar="AAAA-MM", default=None, help="le mois à clore (défaut : le précédent)"
    )

    export = commands.add(
        "export-batch",
        "écrire les remises (fichier signé, CSV, bordereau PDF) pour une clé USB",
        export_batch,
        as_responsable,
    )
    export.add_argument("directory", type=Path, metavar="DOSSIER")
    export.add_argument(
        "--batch", metavar="ID", default=None, help="une remise (défaut : toutes celles en attente)"
    )

    replica = commands.add(
        "import-replica",
        "importer une réplique du registre (fichier)",
        import_replica,
        as_responsable,
    )
    replica.add_argument("file", type=Path, metavar="FICHIER")
    replica.add_argument(
        "--site",
        metavar="ID",
        default=None,
        help="identifiant de ce lieu (seulement au premier import, sur un poste non inscrit)",
    )

    ack = commands.add(
        "import-ack", "importer l'accusé de réception d'une remise", import_ack, as_responsable
    )
    ack.add_argument("file", type=Path, metavar="FICHIER")


def enrol(args: argparse.Namespace, data_dir: Path) -> int:
    online = args.hub is not None and args.token is not None and args.request_file is None
    request = args.token is not None and args.request_file is not None and args.hub is None
    answer = args.answer_file is not None and args.hub is None and args.token is None
    if [online, request, answer].count(True) != 1 or (online and args.answer_file):
        raise CliError(
            "Inscription : --hub ADRESSE --token JETON (en ligne), ou sans réseau "
            "--token JETON --request-file FICHIER puis --answer-file FICHIER."
        )
    site = open_or_create(data_dir)
    responsable(args, site, "Inscrire le poste")
    site_sync = site.sync
    if request:
        path = site_sync.write_enrolment_request(args.token, args.request_file)
        say(f"Demande d'inscription écrite dans {path}.")
        say("Portez-la à la région (mediateur-hub import-enrolment), puis importez sa réponse")
        say("avec « mediateur-tui enrol --answer-file FICHIER ».")
        return EXIT_OK
    if online:
        result = site_sync.enrol(args.hub, args.token)
    else:
        result = site_sync.import_enrolment_answer(args.answer_file)
    where = f" ({result.hub_url})" if result.hub_url else " (par fichier)"
    say(
        f"Poste inscrit auprès de la région {result.region_id}{where} : "
        f"lieu « {result.site_name} » ({result.site_id})."
    )
    say(
        f"Empreinte de la clé de la région : {result.region_key_fingerprint} "
        "(comparez-la avec celle que la région vous a communiquée)."
    )
    say(f"Clé du lieu : {result.site_key_file} (empreinte {result.site_key_fingerprint}).")
    if result.distributor:
        say("Structure distributrice : ce poste peut remettre des carnets aux bénéficiaires.")
    if result.hub_url:
        say("Lancez maintenant « mediateur-tui sync » pour recevoir la réplique du registre.")
    else:
        say("Importez maintenant la réplique du registre : « mediateur-tui import-replica ».")
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
        say(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        when = (
            f", à jour au {format_datetime(report.replica_updated_at)}"
            if report.replica_updated_at
            else ""
        )
        if report.pages:
            say(
                f"Réplique : {report.changes} changement(s) reçu(s) en {report.pages} page(s)"
                f"{when} ({report.pass_count} pass)."
            )
        for line in report.describe_attributions():
            say(line)
        for line in report.describe_declarations():
            say(line)
        for sent in report.batches:
            say(sent.describe())
        for refused in report.refusals:
            say(refused.describe())
        if report.ok and not report.batches:
            say("Aucune remise en attente d'envoi.")
        for error in report.errors:
            warn(f"Erreur : {error}")
    return EXIT_OK if report.ok else EXIT_ERROR


def close_month(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.services.month_end import report_not_written

    site = open_existing(data_dir)
    by = responsable(args, site, "Clore un mois")
    batch = site.month_end.close_month(args.month, by.id if by else None)
    say(
        f"Mois {month_of(period_label(batch.period))} clos : remise n° {batch.sequence}, "
        f"{batch.redemption_count} pass, {format_euros(batch.value_cents)}, "
        f"{refused_reads(batch.refused_count)}."
    )
    say(f"Identifiant de la remise : {batch.batch_id}")
    report = site.month_end.activity_report_file(batch.period)
    say(f"Rapport d'activité du mois : {report}" if report else report_not_written(batch.period))
    say("Envoyez-la (mediateur-tui sync) ou exportez-la (mediateur-tui export-batch DOSSIER).")
    return EXIT_OK


def export_batch(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Exporter les remises")
    exported = site.month_end.export(args.directory, args.batch)
    if not exported:
        raise NothingToDo("Aucune remise en attente d'accusé de réception : rien à exporter.")
    for item in exported:
        batch = item.batch
        say(
            f"Remise n° {batch.sequence} ({period_label(batch.period)}) : "
            f"{batch.redemption_count} pass, {format_euros(batch.value_cents)}"
        )
        for path in (item.document, item.csv, item.pdf):
            say(f"  {path}")
    return EXIT_OK


def import_replica(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_or_create(data_dir)
    responsable(args, site, "Importer une réplique")
    result = site.sync.import_replica(args.file, args.site)
    if result.trusted_key_fingerprint:
        say(
            f"Clé de la région {result.region_id} enregistrée (premier import) — empreinte : "
            f"{result.trusted_key_fingerprint}. Comparez-la avec celle que la région vous a "
            "communiquée."
        )
    if not result.applied:
        say(f"Réplique déjà à jour (changement n° {result.cursor}) : fichier sans nouveauté.")
        return EXIT_OK
    when = f", à jour au {format_datetime(result.updated_at)}" if result.updated_at else ""
    say(f"Réplique importée : {result.changes} changement(s), {result.pass_count} pass{when}.")
    return EXIT_OK


def import_ack(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Importer un accusé de réception")
    summary = site.month_end.import_ack_file(args.file)
    batch = summary.batch
    again = " (déjà importé)" if summary.already_imported else ""
    say(
        f"Accusé de réception de la remise n° {batch.sequence} ({period_label(batch.period)}, "
        f"scellée le {format_datetime(batch.sealed_at)}){again} : "
        f"{acknowledged_passes(summary.accepted, summary.accepted_cents, summary.refused)}."
    )
    for line in summary.refused_lines:
        say(f"  {line.describe()}")
    return EXIT_OK
