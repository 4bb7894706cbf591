"""The commands about sites: enrol-site (a one-time token), site-identity (a site's SIRET or
RNA, INSEE code and postcode), import-enrolment (enrolment by file, without network),
export-beneficiary-key (for a distributor site enrolled by file), revoke-site (strike a site
off, e.g. after its computer was stolen).

revoke-site exits 0 when the site is struck off, and also when it already was (nothing
changes, it says since when); 2 for an unknown site, as every data error."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from mediateur_tui.domain.formatting import LOCAL_TZ
from mediateur_tui.domain.french_cli import say
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.domain.site_identity import SiteIdentity, parse_identity
from mediateur_tui.hub.cli.common import EXIT_OK, Commands, opened_hub_of
from mediateur_tui.hub.database import HubSettings
from mediateur_tui.hub.errors import HubError
from mediateur_tui.protocol.documents import dump_json
from mediateur_tui.protocol.files import read_document_file, write_file
from mediateur_tui.protocol.formats import ENROLMENT_REQUEST
from mediateur_tui.protocol.instants import instant_or_none


def add_commands(commands: Commands) -> None:
    enrol = commands.add("enrol-site", "inscrire un site : jeton à usage unique", _enrol_site)
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
    _add_identity_options(enrol, "sans elles : inchangées")

    identity = commands.add(
        "site-identity",
        "donner ou corriger le SIRET (ou RNA), le code INSEE et le code postal d'un site",
        _site_identity,
    )
    identity.add_argument("site_id", metavar="ID", help="identifiant du site")
    _add_identity_options(identity, "toutes les trois")

    offline = commands.add(
        "import-enrolment", "inscrire un site sans réseau : sa demande → réponse", _import_enrolment
    )
    offline.add_argument("file", type=Path)
    offline.add_argument("--out", type=Path, help="dossier de la réponse (celui de la demande)")

    key = commands.add(
        "export-beneficiary-key",
        "la clé bénéficiaires d'un site distributeur inscrit par fichier (clé USB)",
        _export_beneficiary_key,
    )
    key.add_argument("--site-id", required=True)
    key.add_argument("--out", type=Path, default=Path("."), help="dossier du fichier")

    strike = commands.add(
        "revoke-site",
        "radier un site (poste volé ou perdu) : sa clé d'accès et ce qu'il signe depuis sont "
        "refusés",
        _revoke_site,
    )
    strike.add_argument("site_id", metavar="ID", help="identifiant du site")
    strike.add_argument(
        "--at",
        type=_instant,
        metavar="INSTANT",
        help="radié depuis AAAA-MM-JJTHH:MM (heure de Paris, ou avec fuseau) ; maintenant par "
        "défaut",
    )


def _add_identity_options(command: argparse.ArgumentParser, when: str) -> None:
    group = command.add_argument_group(
        f"identité du lieu, au schéma national des lieux de médiation numérique ({when})"
    )
    pivot = group.add_mutually_exclusive_group()
    pivot.add_argument("--siret", metavar="SIRET", help="SIRET de la structure (14 chiffres)")
    pivot.add_argument(
        "--rna", metavar="RNA", help="numéro RNA d'une association sans SIRET (W et 9 caractères)"
    )
    group.add_argument("--code-insee", metavar="CODE", help="code INSEE de la commune du lieu")
    group.add_argument("--code-postal", metavar="CODE", help="code postal du lieu")


def _identity_of(args: argparse.Namespace) -> SiteIdentity:
    return parse_identity(args.siret, args.rna, args.code_insee, args.code_postal)


def _identity_given(args: argparse.Namespace) -> bool:
    return any((args.siret, args.rna, args.code_insee, args.code_postal))


def _say_identity(identity: SiteIdentity) -> None:
    say(f"Identité du lieu : {identity.line()}.")
    warning = identity.departement_warning()
    if warning:
        say(warning)


def _instant(text: str) -> datetime:
    """An instant given on the command line: ISO 8601, with its offset or in Paris time."""
    moment = instant_or_none(text)
    if moment is not None:
        return moment
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date et heure invalides « {text} » (AAAA-MM-JJTHH:MM attendu)"
        ) from None


def _enrol_site(args: argparse.Namespace, settings: HubSettings) -> int:
    import qrcode

    from mediateur_tui.hub.enrolment import enrol_site, site_record
    from mediateur_tui.hub.struck_off import french_instant

    identity = _identity_of(args) if _identity_given(args) else None
    with opened_hub_of(settings) as hub:
        token = enrol_site(
            hub, args.site_id, args.name, distributor=args.distributeur, identity=identity
        )
        site = site_record(hub, args.site_id)
    say(f"Jeton d'inscription à usage unique pour le site {args.site_id.strip().upper()} :")
    say()
    say(f"    {token}")
    say()
    if site is not None and site.distributor:
        say(
            "Site distributeur : oui (il attribue des carnets ; sa réponse d'inscription "
            "porte la clé des bénéficiaires de la région ; un site déjà inscrit en ligne la "
            "reçoit à sa prochaine synchronisation, sans ce jeton)."
        )
    else:
        say("Site distributeur : non.")
    recorded = site.identity() if site is not None else None
    if recorded is not None:
        _say_identity(recorded)
    else:
        say(
            "Identité du lieu : non renseignée (mediateur-hub site-identity ID --siret … "
            "--code-insee … --code-postal …)."
        )
    if site is not None and site.revoked_at is not None:
        say(
            f"Ce site est radié depuis le {french_instant(site.revoked_at)} : il le reste "
            "jusqu'à ce que ce jeton serve ; les clés de l'ancien poste ne serviront plus."
        )
    say(f"Sur le poste du site : mediateur-tui enrol --hub URL_DU_HUB --token {token}")
    say(
        "Le site doit voir la même empreinte de clé de la région : "
        f"{key_fingerprint(hub.region_public_key)}"
    )
    if not args.no_qr:
        code = qrcode.QRCode(border=2)
        code.add_data(token)
        code.print_ascii(out=sys.stdout, invert=True)
    return EXIT_OK


def _site_identity(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.enrolment import set_site_identity

    identity = _identity_of(args)
    site_id = args.site_id.strip().upper()
    with opened_hub_of(settings) as hub:
        changed = set_site_identity(hub, site_id, identity)
    if changed:
        say(f"Site {site_id} : identité enregistrée.")
        _say_identity(identity)
        say("Le site la reçoit à sa prochaine synchronisation (ou avec la prochaine réplique).")
    else:
        say(f"Site {site_id} : cette identité était déjà enregistrée, rien n'a changé.")
    return EXIT_OK


def _import_enrolment(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.enrolment import complete_enrolment

    request = read_document_file(args.file, ENROLMENT_REQUEST)
    with opened_hub_of(settings) as hub:
        answer = complete_enrolment(hub, request)
    out_dir = args.out or args.file.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"inscription-{answer['site_id']}.json"
    write_file(path, dump_json(answer))
    say(f"Site {answer['site_id']} ({answer['site_name']}) inscrit.")
    say(f"Réponse à porter au site (mediateur-tui enrol --answer-file) : {path}")
    held = "la clé d'accès du site"
    if "beneficiary_key" in answer:
        held += " et la clé des bénéficiaires de la région (site distributeur)"
    say(
        f"Ce fichier contient {held} : ne le copiez nulle part ailleurs, et effacez-le de la "
        "clé USB dès que le site l'a importé."
    )
    say(f"Empreinte de la clé de la région : {key_fingerprint(hub.region_public_key)}")
    return EXIT_OK


def _export_beneficiary_key(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.enrolment import beneficiary_key_document, site_record

    with opened_hub_of(settings) as hub:
        site = site_record(hub, args.site_id)
        if site is None or site.public_key is None:
            raise HubError(f"Site inconnu ou pas encore inscrit : {args.site_id}.")
        document = beneficiary_key_document(hub, site)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"cle-beneficiaires-{site.id}.json"
    write_file(path, dump_json(document))
    say(f"Clé bénéficiaires du site {site.id} : {path}")
    say(
        "À importer sur le poste du site (mediateur-tui attribution import-key), puis à "
        "effacer de la clé USB : le fichier contient un secret de la région."
    )
    return EXIT_OK


def _revoke_site(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.struck_off import french_instant, revoke_site

    with opened_hub_of(settings) as hub:
        outcome = revoke_site(hub, args.site_id, args.at)
    since = french_instant(outcome.revoked_at)
    if outcome.already:
        say(f"Le site {outcome.site_id} est déjà radié depuis le {since} : rien n'a changé.")
        return EXIT_OK
    say(f"Site {outcome.site_id} radié depuis le {since}.")
    say(
        "Sa clé d'accès est refusée dès maintenant : le poste ne peut plus ni se synchroniser "
        "ni rien envoyer ; ses jetons d'inscription pas encore utilisés ne servent plus. Ce "
        "qu'il date d'après la radiation (remise, attributions) est refusé, même apporté sur "
        "clé USB. Attention : c'est le poste qui date ce qu'il signe, et qui détient la clé "
        "du poste volé peut antidater un fichier ; d'un site radié, ne recevez sur clé USB "
        "que ce dont vous connaissez la provenance."
    )
    say(
        "Ce qu'il a envoyé ou signé avant la radiation reste acquis : rien de ce que la région "
        "a déjà reçu de lui ne change."
    )
    say(
        "Pour un nouveau poste du même site : mediateur-hub enrol-site --site-id "
        f"{outcome.site_id} --name NOM ; dès que son jeton a servi, le site n'est plus radié "
        "et les clés de l'ancien poste ne servent plus."
    )
    return EXIT_OK
