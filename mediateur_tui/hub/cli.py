"""`mediateur-hub`: the region's command line. Exit 0 when done, 2 on a usage or data error
(with a French message on stderr).

    mediateur-hub [--dir DIR] [--db URL] COMMAND ...

init, issue, attribute, revoke, enrol-site, import-enrolment, export-beneficiary-key, serve,
export-replica, import-batch, import-attributions, statement.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from mediateur_tui.domain.beneficiaries import REFERENCE_PATTERN, format_reference
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_euros, plural, thousands
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.domain.verdicts import REVOCATION_REASONS
from mediateur_tui.hub.database import HubSettings, open_hub, resolve_settings
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.registry import (
    CARNET_SIZES,
    ProgrammeSpec,
    attribute,
    init_region,
    issue,
    revoke,
)
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json
from mediateur_tui.protocol.formats import ATTRIBUTIONS, BATCH, ENROLMENT_REQUEST

EXIT_OK = 0
EXIT_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = resolve_settings(getattr(args, "dir", None), getattr(args, "db", None))
    try:
        return args.handler(args, settings)
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    init = command("init", "créer la région (identifiant et clé de signature)", _init)
    init.add_argument("--region-id", required=True, help="par exemple HDF")

    emit = command("issue", "émettre des carnets de pass pour un programme", _issue)
    emit.add_argument("--programme", required=True, help="identifiant, par exemple HDFNUM")
    emit.add_argument("--carnets", type=int, required=True, help="nombre de carnets")
    emit.add_argument("--size", type=int, choices=CARNET_SIZES, default=10)
    emit.add_argument("--label", help="libellé du programme")
    emit.add_argument("--value-cents", type=int, help="valeur d'un pass en centimes (1000)")
    emit.add_argument("--valid-from", type=_day, help="AAAA-MM-JJ (aujourd'hui)")
    emit.add_argument("--valid-until", type=_day, help="AAAA-MM-JJ (31 décembre)")
    emit.add_argument("--grace-until", type=_day, help="AAAA-MM-JJ (fin + 31 jours)")
    emit.add_argument("--sites", help="sites acceptant le programme : * ou SITE1,SITE2")
    emit.add_argument("--out", type=Path, help="dossier des fichiers d'impression")
    emit.add_argument("--qr-sheets", action="store_true", help="planches QR en PNG par carnet")

    give = command("attribute", "attribuer un carnet à un bénéficiaire", _attribute)
    give.add_argument("carnet")
    who = give.add_mutually_exclusive_group(required=True)
    who.add_argument("--beneficiary", help="référence pseudonyme du bénéficiaire")
    who.add_argument("--take-back", action="store_true", help="retirer l'attribution")
    give.add_argument("--on", type=_day, help="date d'attribution AAAA-MM-JJ (aujourd'hui)")

    oppose = command("revoke", "mettre un pass en opposition", _revoke)
    oppose.add_argument("code")
    oppose.add_argument("--reason", required=True, choices=sorted(REVOCATION_REASONS))
    oppose.add_argument("--on", type=_day, help="date d'effet AAAA-MM-JJ (aujourd'hui)")

    enrol = command("enrol-site", "inscrire un site : jeton à usage unique", _enrol_site)
    enrol.add_argument("--site-id", required=True)
    enrol.add_argument("--name", required=True)
    enrol.add_argument(
        "--distributeur",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="le site distribue des carnets (--no-distributeur : plus distributeur ; "
        "sans l'option : inchangé, non pour un nouveau site)",
    )
    enrol.add_argument("--no-qr", action="store_true", help="ne pas afficher le QR code")

    offline = command(
        "import-enrolment", "inscrire un site sans réseau : sa demande → réponse", _import_enrolment
    )
    offline.add_argument("file", type=Path)
    offline.add_argument("--out", type=Path, help="dossier de la réponse (celui de la demande)")

    key = command(
        "export-beneficiary-key",
        "la clé bénéficiaires d'un site distributeur inscrit par fichier (clé USB)",
        _export_beneficiary_key,
    )
    key.add_argument("--site-id", required=True)
    key.add_argument("--out", type=Path, default=Path("."), help="dossier du fichier")

    serve = command("serve", "lancer le serveur HTTP du hub", _serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    export = command("export-replica", "exporter la réplique complète (clé USB)", _export)
    export.add_argument("file", type=Path)

    intake = command("import-batch", "recevoir une remise (fichier)", _import_batch)
    intake.add_argument("file", type=Path)
    intake.add_argument("--out", type=Path, help="dossier de l'accusé (celui de la remise)")

    handed = command(
        "import-attributions",
        "recevoir les carnets remis par un site distributeur (fichier)",
        _import_attributions,
    )
    handed.add_argument("file", type=Path)
    handed.add_argument("--out", type=Path, help="dossier de la réponse (celui du fichier)")

    statement = command("statement", "relevé mensuel d'un site (CSV et PDF)", _statement)
    statement.add_argument("--site", required=True)
    statement.add_argument("--month", required=True, help="AAAA-MM")
    statement.add_argument("--out", type=Path, default=Path("."), help="dossier de sortie")
    return parser


def _day(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"date invalide « {text} » (AAAA-MM-JJ attendu)")


def _init(args: argparse.Namespace, settings: HubSettings) -> int:
    hub = init_region(settings, args.region_id.strip().upper())
    hub.engine.dispose()
    print(f"Région {hub.region_id} prête.")
    print(f"Empreinte de la clé de la région : {key_fingerprint(hub.region_public_key)}")
    print(f"Clé de signature : {settings.key_path} (à sauvegarder, à ne jamais diffuser)")
    print(
        f"Clé des bénéficiaires : {settings.beneficiary_key_path} (à sauvegarder, à ne "
        "jamais diffuser ; les sites distributeurs la reçoivent à leur inscription)"
    )
    print(f"Empreinte de la clé des bénéficiaires : {key_fingerprint(hub.beneficiary_key)}")
    return EXIT_OK


def _issue(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.printing import write_printer_csv, write_qr_sheets

    hub = open_hub(settings)
    sites = args.sites.split(",") if args.sites is not None else None
    spec = ProgrammeSpec(
        id=args.programme,
        label=args.label,
        value_cents=args.value_cents,
        valid_from=args.valid_from,
        valid_until=args.valid_until,
        grace_until=args.grace_until,
        sites=sites,
    )
    issued = issue(hub, spec, args.carnets, args.size)
    out_dir = args.out or settings.directory / "impression"
    csv_path = write_printer_csv(issued, hub.region_key, out_dir)
    first, last = issued.carnets[0].id, issued.carnets[-1].id
    print(
        f"{plural(len(issued.carnets), 'carnet')} de {args.size} pass émis pour le programme "
        f"{issued.programme.id} ({first} à {last}), {plural(issued.pass_count, 'pass', 'pass')}."
    )
    print(f"Fichier pour l'imprimeur : {csv_path}")
    if args.qr_sheets:
        sheets = write_qr_sheets(issued, hub.region_key, out_dir)
        print(f"Planches QR : {plural(len(sheets), 'fichier')} dans {sheets[0].parent}")
    hub.engine.dispose()
    return EXIT_OK


def _attribute(args: argparse.Namespace, settings: HubSettings) -> int:
    hub = open_hub(settings)
    beneficiary = None if args.take_back else args.beneficiary
    carnet = attribute(hub, args.carnet, beneficiary, args.on)
    hub.engine.dispose()
    if carnet.attributed_on is None or carnet.beneficiary_ref is None:
        print(f"Attribution du carnet {carnet.id} retirée.")
    else:
        print(
            f"Carnet {carnet.id} attribué le {carnet.attributed_on:%d/%m/%Y} "
            f"(bénéficiaire {_shown_reference(carnet.beneficiary_ref)})."
        )
    return EXIT_OK


def _shown_reference(reference: str) -> str:
    """A distributor's reference as its receipt prints it (B-7K3M-…); others as stored."""
    if REFERENCE_PATTERN.fullmatch(reference):
        return format_reference(reference)
    return reference


def _revoke(args: argparse.Namespace, settings: HubSettings) -> int:
    hub = open_hub(settings)
    revocation = revoke(hub, args.code, args.reason, args.on)
    hub.engine.dispose()
    print(
        f"Pass {format_code(revocation.code)} en opposition "
        f"({REVOCATION_REASONS[revocation.reason]}) depuis le {revocation.revoked_on:%d/%m/%Y}."
    )
    return EXIT_OK


def _enrol_site(args: argparse.Namespace, settings: HubSettings) -> int:
    import qrcode

    from mediateur_tui.hub.enrolment import enrol_site, site_record

    hub = open_hub(settings)
    token = enrol_site(hub, args.site_id, args.name, distributor=args.distributeur)
    site = site_record(hub, args.site_id)
    hub.engine.dispose()
    print(f"Jeton d'inscription à usage unique pour le site {args.site_id.strip().upper()} :")
    print()
    print(f"    {token}")
    print()
    if site is not None and site.distributor:
        print(
            "Site distributeur : oui (il attribue des carnets ; sa réponse d'inscription "
            "porte la clé des bénéficiaires de la région ; un site déjà inscrit en ligne la "
            "reçoit à sa prochaine synchronisation, sans ce jeton)."
        )
    else:
        print("Site distributeur : non.")
    print(f"Sur le poste du site : mediateur-tui enrol --hub URL_DU_HUB --token {token}")
    print(
        "Le site doit voir la même empreinte de clé de la région : "
        f"{key_fingerprint(hub.region_public_key)}"
    )
    if not args.no_qr:
        code = qrcode.QRCode(border=2)
        code.add_data(token)
        code.print_ascii(out=sys.stdout, invert=True)
    return EXIT_OK


def _export_beneficiary_key(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.enrolment import beneficiary_key_document, site_record

    hub = open_hub(settings)
    try:
        site = site_record(hub, args.site_id)
        if site is None or site.public_key is None:
            raise HubError(f"Site inconnu ou pas encore inscrit : {args.site_id}.")
        document = beneficiary_key_document(hub, site)
    finally:
        hub.engine.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"cle-beneficiaires-{site.id}.json"
    _write_private_file(path, dump_json(document))
    print(f"Clé bénéficiaires du site {site.id} : {path}")
    print(
        "À importer sur le poste du site (mediateur-tui attribution import-key), puis à "
        "effacer de la clé USB : le fichier contient un secret de la région."
    )
    return EXIT_OK


def _import_enrolment(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.enrolment import complete_enrolment

    request = load_json(args.file.read_bytes(), ENROLMENT_REQUEST)
    hub = open_hub(settings)
    answer = complete_enrolment(hub, request)
    hub.engine.dispose()
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"inscription-{answer['site_id']}.json"
    _write_private_file(path, dump_json(answer))
    print(f"Site {answer['site_id']} ({answer['site_name']}) inscrit.")
    print(f"Réponse à porter au site (mediateur-tui enrol --answer-file) : {path}")
    held = "la clé d'accès du site"
    if "beneficiary_key" in answer:
        held += " et la clé des bénéficiaires de la région (site distributeur)"
    print(
        f"Ce fichier contient {held} : ne le copiez nulle part ailleurs, et effacez-le de la "
        "clé USB dès que le site l'a importé."
    )
    print(f"Empreinte de la clé de la région : {key_fingerprint(hub.region_public_key)}")
    return EXIT_OK


def _write_private_file(path: Path, data: bytes) -> None:
    """Writes `path` readable by its owner only (mode 0600), even when it existed with wider
    permissions: the data goes to a new private file that then replaces it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _serve(args: argparse.Namespace, settings: HubSettings) -> int:
    import uvicorn

    from mediateur_tui.hub.api import create_app

    hub = open_hub(settings)  # fail now, with a clear message, rather than at the first request
    region_id = hub.region_id
    hub.engine.dispose()
    print(
        f"Hub de la région {region_id} sur http://{args.host}:{args.port} (Ctrl+C pour arrêter)",
        flush=True,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return EXIT_OK


def _export(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.replica import snapshot

    hub = open_hub(settings)
    document = snapshot(hub)
    hub.engine.dispose()
    data = dump_gzip_json(document)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    args.file.write_bytes(data)
    size = thousands(len(data))
    print(
        f"Réplique exportée : {plural(len(document['changes']), 'changement')} "
        f"(jusqu'au n° {document['until']}), {size} octets → {args.file}"
    )
    return EXIT_OK


def _import_batch(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.intake import receive_batch

    document = load_json(args.file.read_bytes(), BATCH)
    hub = open_hub(settings)
    result = receive_batch(hub, document)
    hub.engine.dispose()
    ack = result.ack
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"accuse-{ack['batch_id']}.json.gz"
    path.write_bytes(dump_gzip_json(ack))
    totals = ack["totals"]
    print(
        f"Remise {ack['batch_id']} du site {ack['site_id']} (période {document['period']}) : "
        f"{plural(len(ack['lines']), 'ligne')}, {plural(totals['accepted'], 'acceptée')} "
        f"({format_euros(totals['accepted_cents'])}), {plural(totals['refused'], 'refusée')}."
    )
    if result.replayed:
        print("Remise déjà reçue : rien n'a changé, l'accusé est le même.")
    print(f"Accusé de réception : {path}")
    return EXIT_OK


def _import_attributions(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.attributions import receive_attributions

    document = load_json(args.file.read_bytes(), ATTRIBUTIONS)
    hub = open_hub(settings)
    answer = receive_attributions(hub, document)
    hub.engine.dispose()
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = answer["answered_at"].replace("-", "").replace(":", "")
    path = out_dir / f"reponse-attributions-{answer['site_id']}-{stamp}.json"
    path.write_bytes(dump_json(answer))
    results = answer["results"]
    accepted = sum(1 for result in results if result["verdict"] == "accepted")
    print(
        f"Attributions du site {answer['site_id']} : {plural(accepted, 'acceptée')}, "
        f"{plural(len(results) - accepted, 'refusée')}."
    )
    for result in results:
        if result["verdict"] != "accepted":
            print(f"  {result['id']} : {result['message']}")
    print(f"Réponse à remettre au site : {path}")
    return EXIT_OK


def _statement(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.statement import build_statement, write_files

    hub = open_hub(settings)
    statement = build_statement(hub, args.site.strip().upper(), args.month)
    hub.engine.dispose()
    csv_path, pdf_path = write_files(statement, args.out)
    print(
        f"Relevé {statement.site_id}, {statement.period_text} : "
        f"{plural(len(statement.lines), 'ligne reçue', 'lignes reçues')}, "
        f"{plural(len(statement.accepted), 'pass accepté', 'pass acceptés')} "
        f"pour {format_euros(statement.accepted_cents)}, "
        f"{plural(len(statement.refused), 'ligne refusée', 'lignes refusées')}."
    )
    if not statement.lines:
        print("Aucune remise reçue de ce site pour ce mois.")
    print(f"Fichiers : {csv_path} et {pdf_path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
