"""`mediateur-tui attribution …`: the carnets of a distributor site.

- `check FILE [--json]`: decide every request of a prescripteur's list (a JSON array or a CSV)
  by the règlement in force on the day each was received. Exit codes: 0 every row was decided
  (eligible or not), 1 some row was malformed (the others are still decided), 2 the file cannot
  be read (usage or data error).
- `list [--json]`: the carnets this site handed out, and the region's answer on each.
- `export DIR` / `import-answer FILE`: the USB-key route of the attributions (the online route
  is `mediateur-tui sync`); `import-key FILE`: the region's beneficiary key, for a site enrolled
  by USB key before the region made it a distributor.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    Commands,
    open_existing,
    responsable,
    responsable_option,
)
from mediateur_tui.domain.clock import system_clock
from mediateur_tui.domain.errors import NothingToDo, UserError
from mediateur_tui.domain.formatting import format_datetime, local_date
from mediateur_tui.domain.french_cli import say

if TYPE_CHECKING:
    from mediateur_tui.domain.attribution import Decision
    from mediateur_tui.services.attribution import AttributionInfo


def add_commands(commands: Commands) -> None:
    attribution = commands.group("attribution", "attribution de carnets (règlement)")
    check_command = attribution.add(
        "check",
        "décider chaque demande d'une liste (JSON ou CSV) selon le règlement en vigueur",
        check,
    )
    check_command.add_argument("file", type=Path, metavar="FICHIER")
    check_command.add_argument("--json", action="store_true")
    listing = attribution.add(
        "list", "les carnets remis par ce lieu et la réponse de la région", list_attributions
    )
    listing.add_argument("--json", action="store_true")
    as_responsable = (responsable_option(),)
    export_command = attribution.add(
        "export",
        "écrire les attributions à envoyer à la région sur une clé USB",
        export,
        as_responsable,
    )
    export_command.add_argument("directory", type=Path, metavar="DOSSIER")
    answer = attribution.add(
        "import-answer", "importer la réponse de la région (clé USB)", import_answer, as_responsable
    )
    answer.add_argument("file", type=Path, metavar="FICHIER")
    key = attribution.add(
        "import-key",
        "importer la clé bénéficiaires de la région (lieu inscrit par clé USB)",
        import_key,
        as_responsable,
    )
    key.add_argument("file", type=Path, metavar="FICHIER")


def list_attributions(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.domain.beneficiaries import format_reference

    desk = open_existing(data_dir).attribution_desk()
    handed = desk.recent(limit=10_000)
    if args.json:
        say(json.dumps([_info_json(info) for info in handed], ensure_ascii=False, indent=2))
        return EXIT_OK
    for info in handed:
        carnets = ", ".join(carnet.id for carnet in info.carnets)
        say(
            f"{format_datetime(info.attributed_at)} {format_reference(info.beneficiary_ref)} "
            f"{info.passes} pass ({carnets}) — {info.status}"
        )
    if not handed:
        say("Aucun carnet remis par ce lieu.")
    return EXIT_OK


def export(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Exporter les attributions")
    paths = site.sync.export_attributions(args.directory)
    if not paths:
        raise NothingToDo("Aucune attribution en attente de réponse : rien à exporter.")
    for path in paths:
        say(f"Attributions à remettre à la région : {path}")
    say("La région l'importe (mediateur-hub import-attributions) et vous rend sa réponse.")
    return EXIT_OK


def import_answer(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Importer la réponse de la région")
    summary = site.sync.import_attribution_answer(args.file)
    say(
        f"Réponse de la région : {summary.accepted} attribution(s) acceptée(s), "
        f"{summary.refused} refusée(s)."
    )
    for message in summary.messages:
        say(f"  Refusée — {message}")
    return EXIT_OK


def import_key(args: argparse.Namespace, data_dir: Path) -> int:
    site = open_existing(data_dir)
    responsable(args, site, "Importer la clé bénéficiaires")
    site.sync.import_beneficiary_key(args.file)
    say("Clé bénéficiaires enregistrée : ce lieu peut remettre des carnets.")
    say(f"Effacez maintenant {args.file} de la clé USB (il contient un secret de la région).")
    return EXIT_OK


def _info_json(info: AttributionInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "beneficiary_ref": info.beneficiary_ref,
        "received_on": info.received_on.isoformat(),
        "category": info.category,
        "rulebook": info.rulebook,
        "passes": info.passes,
        "carnets": [carnet.id for carnet in info.carnets],
        "attributed_at": info.attributed_at.isoformat(),
        "operator": info.operator_name,
        "verdict": info.verdict,
        "region_message": info.region_message,
    }


def check(args: argparse.Namespace, data_dir: Path) -> int:
    from mediateur_tui.domain.attribution import decide_in_force, guess_kind, read_requests
    from mediateur_tui.services.published_rulebooks import rulebooks_in_force

    path: Path = args.file
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as error:
        raise CliError(f"Fichier introuvable : {path}.") from error
    except IsADirectoryError as error:
        raise CliError(f"{path} est un dossier, pas un fichier de demandes.") from error
    except OSError as error:
        raise CliError(f"Impossible de lire {path} : {error.strerror or error}.") from error
    except UnicodeDecodeError as error:
        raise CliError(f"{path} n'est pas un texte UTF-8.") from error
    try:
        rows = read_requests(text, guess_kind(path.name, text))
        rulebooks = rulebooks_in_force(data_dir)
    except UserError as error:
        raise CliError(f"{path} : {error}") from error
    today = local_date(system_clock())
    results: list[tuple[int, Decision | None, str | None]] = [
        (
            row.number,
            decide_in_force(row.request, rulebooks, today) if row.request else None,
            row.error,
        )
        for row in rows
    ]
    if args.json:
        payload = [
            {"row": number, "decision": decision.to_json()}
            if decision is not None
            else {"row": number, "error": problem}
            for number, decision, problem in results
        ]
        say(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for number, decision, problem in results:
            say(_line(number, decision, problem))
        if not results:
            say("Aucune demande dans le fichier.")
    return EXIT_OK if all(error is None for _, _, error in results) else EXIT_REFUSED


def _line(number: int, decision: Decision | None, error: str | None) -> str:
    if decision is None:
        return f"Demande {number} : ERREUR — {error}"
    if decision.eligible:
        carnets = " + ".join(str(size) for size in decision.carnets)
        head = f"éligible, carnet(s) de {carnets} pass"
    else:
        head = "refusée"
    book = f" [{decision.rulebook}]" if decision.rulebook else ""
    return f"Demande {number} : {head}{book} — {' '.join(decision.reasons)}"
