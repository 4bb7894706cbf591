"""The commands about the règlement: `rulebook publish FILE` (a new version, to every site
with the replica, without a software release) and `rulebook list` (the versions published).

publish exits 0 when the version is published, and also when this very version already was
(nothing changes, it says so); 2 for a file that is not a usable rulebook, or an id already
published with another content (nothing published)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.french_cli import say
from mediateur_tui.domain.rulebooks import RulebookError
from mediateur_tui.hub.cli.common import EXIT_OK, Commands, opened_hub_of
from mediateur_tui.hub.database import HubSettings


def add_commands(commands: Commands) -> None:
    rulebook = commands.add(
        "rulebook", "règlements d'attribution publiés par la région", _missing_action
    )
    actions = rulebook.add_subparsers(dest="action", required=True, metavar="ACTION")
    publish = actions.add_parser(
        "publish",
        help="publier une nouvelle version du règlement (fichier pn-rulebook/1)",
        description="Publier une nouvelle version du règlement : les sites la reçoivent avec "
        "leur réplique.",
        parents=[commands.common],
    )
    publish.add_argument("file", type=Path, metavar="FICHIER")
    publish.set_defaults(handler=_publish)
    listing = actions.add_parser(
        "list",
        help="les versions publiées par la région",
        description="Les versions du règlement publiées par la région.",
        parents=[commands.common],
    )
    listing.set_defaults(handler=_list)


def _missing_action(_args: argparse.Namespace, _settings: HubSettings) -> int:
    raise AssertionError("argparse requires an action")


def _publish(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.rulebooks import publish_rulebook, read_rulebook_file

    with opened_hub_of(settings) as hub:
        try:
            publication = publish_rulebook(hub, read_rulebook_file(args.file))
        except RulebookError as error:
            raise RulebookError(f"{args.file.name} : {error} Rien n'a été publié.") from error
    book = publication.rulebook
    if not publication.new:
        say(f"Le règlement {book.id} est déjà publié, à l'identique : rien n'a changé.")
        return EXIT_OK
    say(
        f"Règlement {book.id} publié : « {book.title} », en vigueur pour les demandes reçues "
        f"à partir du {format_date(book.effective_from)}."
    )
    say(
        "Les sites le reçoivent à leur prochaine synchronisation, ou avec la prochaine "
        "réplique exportée (export-replica)."
    )
    return EXIT_OK


def _list(_args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.rulebooks import list_rulebooks
    from mediateur_tui.hub.struck_off import french_instant

    with opened_hub_of(settings) as hub:
        rows = list_rulebooks(hub)
    if not rows:
        say("Aucun règlement publié par la région (seuls ceux livrés avec le logiciel).")
        return EXIT_OK
    for row in rows:
        say(
            f"{row.id}  en vigueur le {format_date(row.effective_from)}  « {row.title} »  "
            f"publié le {french_instant(row.published_at)}"
        )
    return EXIT_OK
