"""`mediateur-tui attribution check FILE [--json]`: decide every request of a prescripteur's
list (a JSON array or a CSV) by the règlement in force on the day each was received.

Exit codes: 0 every row was decided (eligible or not), 1 some row was malformed (the others are
still decided), 2 the file cannot be read (usage or data error).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mediateur_tui.cli import EXIT_OK, EXIT_REFUSED, CliError
from mediateur_tui.domain.attribution import (
    Decision,
    InputError,
    decide_in_force,
    guess_kind,
    read_requests,
)
from mediateur_tui.domain.formatting import local_date
from mediateur_tui.domain.rulebooks import RulebookError, load_rulebooks
from mediateur_tui.services.clock import system_clock


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    attribution = commands.add_parser("attribution", help="attribution de carnets (règlement)")
    attribution_commands = attribution.add_subparsers(dest="attribution_command", required=True)
    check = attribution_commands.add_parser(
        "check",
        parents=[common],
        help="décider chaque demande d'une liste (JSON ou CSV) selon le règlement en vigueur",
    )
    check.add_argument("file", type=Path, metavar="FICHIER")
    check.add_argument("--json", action="store_true")


def check(args: argparse.Namespace, data_dir: Path) -> int:
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
        rulebooks = load_rulebooks()
    except (InputError, RulebookError) as error:
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
            else {"row": number, "error": error}
            for number, decision, error in results
        ]
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for number, decision, error in results:
            print(_line(number, decision, error))
        if not results:
            print("Aucune demande dans le fichier.")
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
