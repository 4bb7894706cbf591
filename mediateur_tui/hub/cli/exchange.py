"""The commands that exchange documents with the sites: serve (the HTTP API), and by file
(USB key) export-replica, import-batch, import-attributions; statement (a site's monthly
statement from the batches received); lines (every line received, batches and
declarations)."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import (
    format_datetime,
    format_euros,
    plural,
    thousands,
)
from mediateur_tui.domain.french_cli import os_error_text, say
from mediateur_tui.domain.periods import read_period
from mediateur_tui.hub.cli.common import EXIT_OK, Commands, opened_hub_of
from mediateur_tui.hub.database import ENV_DB, ENV_DIR, HubSettings
from mediateur_tui.hub.errors import HubError
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json
from mediateur_tui.protocol.files import private_binary_file, read_document_file, write_file
from mediateur_tui.protocol.formats import (
    ATTRIBUTIONS,
    BATCH,
    REPLICA_SNAPSHOT,
    REPLICA_SNAPSHOT_LINES,
)
from mediateur_tui.protocol.verdicts import refusal_label

if TYPE_CHECKING:
    import uvicorn

    from mediateur_tui.hub.received import ReceivedLine

MAX_WORKERS = 64
APP_FACTORY = "mediateur_tui.hub.api:app_from_environment"
SNAPSHOT_FORMATS = {1: REPLICA_SNAPSHOT, 2: REPLICA_SNAPSHOT_LINES}  # export-replica --format


def add_commands(commands: Commands) -> None:
    serve = commands.add("serve", "lancer le serveur HTTP du hub", _serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=_port, default=8000, help="de 1 à 65535, ou 0 : un port libre (8000)"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help=f"processus qui répondent, de 1 à {MAX_WORKERS} (1)",
    )

    export = commands.add("export-replica", "exporter la réplique complète (clé USB)", _export)
    export.add_argument("file", type=Path)
    export.add_argument(
        "--format",
        type=int,
        choices=sorted(SNAPSHOT_FORMATS),
        default=2,
        help="2 (par défaut) : une ligne par changement, la mémoire ne grandit pas avec la "
        "région ; "
        "1 : le document d'avant, pour un poste d'une version du 3 décembre 2026 ou d'avant, "
        "qui ne lit que celui-là (il dit du format 2 « Fichier illisible : ce n'est pas un "
        "document JSON valide. »)",
    )

    intake = commands.add("import-batch", "recevoir une remise (fichier)", _import_batch)
    intake.add_argument("file", type=Path)
    intake.add_argument("--out", type=Path, help="dossier de l'accusé (celui de la remise)")

    handed = commands.add(
        "import-attributions",
        "recevoir les carnets remis par un site distributeur (fichier)",
        _import_attributions,
    )
    handed.add_argument("file", type=Path)
    handed.add_argument("--out", type=Path, help="dossier de la réponse (celui du fichier)")

    statement = commands.add("statement", "relevé mensuel d'un site (CSV et PDF)", _statement)
    statement.add_argument("--site", required=True)
    statement.add_argument("--month", required=True, help="AAAA-MM")
    statement.add_argument("--out", type=Path, default=Path("."), help="dossier de sortie")

    received = commands.add(
        "lines", "lignes reçues des sites : remises et déclarations du jour", _lines
    )
    received.add_argument("--site", help="un seul site (identifiant)")
    received.add_argument("--month", help="mois de l'encaissement, AAAA-MM")
    received.add_argument("--json", action="store_true", help="en JSON (clés en anglais)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port invalide « {text} » (de 1 à 65535, ou 0)")
    return port


def _workers(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"nombre de processus invalide « {text} » (de 1 à {MAX_WORKERS})"
        )
    return workers


def _serve(args: argparse.Namespace, settings: HubSettings) -> int:
    import uvicorn

    # Fail now, with a clear message, rather than at the first request.
    with opened_hub_of(settings) as hub:
        region_id = hub.region_id
    listening = serve_socket(args.host, args.port)  # a port in use is said now, in French
    port = listening.getsockname()[1]  # the one the system chose, for --port 0
    config = _server_config(settings, args.host, port, args.workers)
    say(f"Hub de la région {region_id} sur http://{args.host}:{port} (Ctrl+C pour arrêter)")
    # uvicorn does not say where it listens when given its socket: said here, as it would.
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", args.host, port
    )
    with listening:
        if args.workers == 1:
            uvicorn.Server(config).run(sockets=[listening])
        else:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[listening]).run()
    return EXIT_OK


def _server_config(settings: HubSettings, host: str, port: int, workers: int) -> uvicorn.Config:
    """One process builds its app here; several workers each build theirs from the app
    factory, which reads the hub's directory and database from the environment set here
    (the workers are spawned: they inherit the environment, not this process's objects)."""
    import uvicorn

    if workers == 1:
        from mediateur_tui.hub.api import create_app

        return uvicorn.Config(create_app(settings), host=host, port=port, log_level="info")
    os.environ[ENV_DIR] = str(settings.directory)
    os.environ[ENV_DB] = settings.database_url
    return uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level="info"
    )


def serve_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (as uvicorn binds it), or a French HubError."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as error:
        raise HubError(f"Adresse inconnue : {host} (--host).") from error
    # IPPROTO_TCP named, not left to 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on the connections of a socket that says it is TCP. Without it every answer waited
    # about 40 ms: its body was held until the client acknowledged its headers.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        reason = (
            "le port est déjà utilisé par un autre programme"
            if error.errno == errno.EADDRINUSE
            else os_error_text(error)
        )
        raise HubError(
            f"Impossible d'écouter sur {host}:{port} : {reason}. Choisissez un autre port "
            "(--port) ou arrêtez l'autre programme."
        ) from error
    listening.listen(2048)  # uvicorn's backlog: a client may connect before uvicorn accepts
    return listening


def _export(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.replica import write_snapshot

    args.file.parent.mkdir(parents=True, exist_ok=True)
    with opened_hub_of(settings) as hub, private_binary_file(args.file) as stream:
        exported = write_snapshot(hub, stream, SNAPSHOT_FORMATS[args.format])
    size = thousands(args.file.stat().st_size)
    say(
        f"Réplique exportée : {plural(exported.changes, 'changement')} "
        f"(jusqu'au n° {exported.until}), {size} octets → {args.file}"
    )
    return EXIT_OK


def _import_batch(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.intake import receive_batch

    document = read_document_file(args.file, BATCH)
    with opened_hub_of(settings) as hub:
        result = receive_batch(hub, document)
    ack = result.ack
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"accuse-{ack['batch_id']}.json.gz"
    write_file(path, dump_gzip_json(ack))
    totals = ack["totals"]
    say(
        f"Remise {ack['batch_id']} du site {ack['site_id']} (période {document['period']}) : "
        f"{plural(len(ack['lines']), 'ligne')}, {plural(totals['accepted'], 'acceptée')} "
        f"({format_euros(totals['accepted_cents'])}), {plural(totals['refused'], 'refusée')}."
    )
    if result.replayed:
        say("Remise déjà reçue : rien n'a changé, l'accusé est le même.")
    say(f"Accusé de réception : {path}")
    return EXIT_OK


def _import_attributions(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.attributions import receive_attributions

    document = read_document_file(args.file, ATTRIBUTIONS)
    with opened_hub_of(settings) as hub:
        answer = receive_attributions(hub, document)
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = answer["answered_at"].replace("-", "").replace(":", "")
    path = out_dir / f"reponse-attributions-{answer['site_id']}-{stamp}.json"
    write_file(path, dump_json(answer))
    results = answer["results"]
    accepted = sum(1 for result in results if result["verdict"] == "accepted")
    say(
        f"Attributions du site {answer['site_id']} : {plural(accepted, 'acceptée')}, "
        f"{plural(len(results) - accepted, 'refusée')}."
    )
    for result in results:
        if result["verdict"] != "accepted":
            say(f"  {result['id']} : {result['message']}")
    say(f"Réponse à remettre au site : {path}")
    return EXIT_OK


def _statement(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.statement import build_statement, write_files
    from mediateur_tui.hub.statement_activity import activity_sentence

    with opened_hub_of(settings) as hub:
        statement = build_statement(hub, args.site.strip().upper(), args.month)
    csv_path, activity_path, pdf_path = write_files(statement, args.out)
    say(
        f"Relevé {statement.site_id}, {statement.period_text} : "
        f"{plural(len(statement.lines), 'ligne reçue', 'lignes reçues')}, "
        f"{plural(len(statement.accepted), 'pass accepté', 'pass acceptés')} "
        f"pour {format_euros(statement.accepted_cents)}, "
        f"{plural(len(statement.refused), 'ligne refusée', 'lignes refusées')}."
    )
    if not statement.lines:
        say("Aucune remise reçue de ce site pour ce mois.")
    say(activity_sentence(statement.activity))
    say(f"Fichiers : {csv_path}, {activity_path} et {pdf_path}")
    return EXIT_OK


def _lines(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.received import received_lines

    month = read_period(args.month) if args.month is not None else None
    site_id = args.site.strip().upper() if args.site else None
    with opened_hub_of(settings) as hub:
        rows = received_lines(hub, site_id, month)
    if args.json:
        say(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        say("Aucune ligne reçue.")
        return EXIT_OK
    for row in rows:
        say(
            f"{row.site_id}  {format_code(row.code)}  {format_datetime(row.redeemed_at)}  "
            f"{format_euros(row.value_cents)}  {_source_text(row)}  {_status_text(row)}"
        )
    say(plural(len(rows), "ligne reçue", "lignes reçues") + ".")
    return EXIT_OK


def _source_text(row: ReceivedLine) -> str:
    if row.period is None:
        return "déclaration"
    return f"remise {row.period} n° {row.sequence}"


def _status_text(row: ReceivedLine) -> str:
    from mediateur_tui.hub.received import ACCEPTED, CANCELLED, DECLARED

    if row.status == CANCELLED:
        return "annulée"
    if row.status == DECLARED:
        return "déclarée, pas encore remise"
    if row.status == ACCEPTED:
        text = "acceptée"
    else:
        text = f"refusée : {refusal_label(row.reason)}"
        if row.winner_site_id and row.winner_redeemed_at:
            when = format_datetime(row.winner_redeemed_at)
            text += f" (premier reçu : {row.winner_site_id}, le {when})"
    if row.replay_of_batch_id is not None:
        text += f" ; déjà reçue dans la remise {row.replay_of_batch_id}, comptée une fois"
    return text
