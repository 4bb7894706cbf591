"""The region's signing keys: `keys list`, `keys rotate` (a new key signs from today),
`keys revoke KID [--from DAY]` (a leaked key: its signatures from that day are not trusted).

`keys revoke` exits 0 when the key is revoked, and also when it already was (nothing changes,
it says since when); 2 for an unknown key or the key in service, as every data error."""

from __future__ import annotations

import argparse

from mediateur_tui.domain.formatting import format_date
from mediateur_tui.domain.french_cli import say
from mediateur_tui.domain.region_keys import KEY_STATUS_LABELS, RegionKey
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.hub.cli.common import EXIT_OK, Commands, opened_hub_of
from mediateur_tui.hub.cli.region import day_argument
from mediateur_tui.hub.database import HubSettings

HEADERS = ("clé", "empreinte", "valide du", "signe jusqu'au", "statut", "révoquée à partir du")


def add_commands(commands: Commands) -> None:
    keys = commands.group("keys", "les clés de signature de la région : lister, changer, révoquer")
    keys.add("list", "lister les clés de la région", _list)
    keys.add(
        "rotate",
        "changer de clé : une nouvelle clé signe dès aujourd'hui, l'ancienne ne signe plus",
        _rotate,
    )
    revoke = keys.add(
        "revoke",
        "révoquer une clé (fuite) : ce qu'elle a signé à partir du jour donné n'est plus accepté",
        _revoke,
    )
    revoke.add_argument("kid", metavar="KID", help="identifiant de la clé (keys list)")
    revoke.add_argument(
        "--from",
        dest="from_day",
        type=day_argument,
        metavar="AAAA-MM-JJ",
        help="révoquée à partir de ce jour (aujourd'hui par défaut)",
    )


def _list(_args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.region_keys import region_keys

    with opened_hub_of(settings) as hub:
        keys = region_keys(hub)
    rows = [HEADERS, *(_row(key) for key in keys)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    for row in rows:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _row(key: RegionKey) -> tuple[str, ...]:
    return (
        key.kid,
        key_fingerprint(key.public_key),
        format_date(key.valid_from),
        format_date(key.sign_until) if key.sign_until else "—",
        KEY_STATUS_LABELS[key.status],
        format_date(key.revoked_from) if key.revoked_from else "—",
    )


def _rotate(_args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.region_keys import rotate_key

    with opened_hub_of(settings) as hub:
        outgoing = hub.region_kid
        rotated = rotate_key(hub)
    say(f"Nouvelle clé de la région en service : {rotated.key.kid}.")
    say(f"Empreinte de la nouvelle clé : {key_fingerprint(rotated.key.public_key)}")
    say(
        f"La clé {outgoing} ne signe plus (elle a signé jusqu'au "
        f"{format_date(rotated.key.valid_from)}) : ce qu'elle a signé reste valable, pass "
        "imprimés compris."
    )
    say(
        f"Clé de signature : {rotated.path} (à sauvegarder dès maintenant avec les autres "
        "fichiers du hub, à ne jamais diffuser)."
    )
    say(
        f"Jeu de clés n° {rotated.sequence} publié : les sites le reçoivent à leur prochaine "
        "synchronisation (ou avec la prochaine réplique exportée). Un « mediateur-hub serve » "
        "en marche signe avec la nouvelle clé dès sa requête suivante."
    )
    return EXIT_OK


def _revoke(args: argparse.Namespace, settings: HubSettings) -> int:
    from mediateur_tui.hub.region_keys import revoke_key

    with opened_hub_of(settings) as hub:
        revoked = revoke_key(hub, args.kid, args.from_day)
    key = revoked.key
    since = format_date(key.revoked_from) if key.revoked_from else "?"
    if revoked.already:
        say(f"La clé {key.kid} est déjà révoquée à partir du {since} : rien n'a changé.")
        return EXIT_OK
    say(f"Clé {key.kid} révoquée à partir du {since}.")
    say(
        f"Jeu de clés n° {revoked.sequence} publié : dès leur prochaine synchronisation, les "
        f"sites refusent ce que cette clé a signé à partir du {since} (pass compris)."
    )
    return EXIT_OK
