"""The region's own commands: init (the region and its keys), issue (carnets of passes),
attribute (a carnet to a beneficiary, or take it back), revoke (a pass)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

from mediateur_tui.domain.beneficiaries import REFERENCE_PATTERN, format_reference
from mediateur_tui.domain.codes import format_code
from mediateur_tui.domain.formatting import plural
from mediateur_tui.domain.french_cli import os_error_text, say
from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.domain.verdicts import REVOCATION_REASONS
from mediateur_tui.hub.cli.common import EXIT_OK, Commands, opened_hub_of
from mediateur_tui.hub.database import Hub, HubSettings
from mediateur_tui.hub.errors import HubError
from mediateur_tui.hub.registry import (
    CARNET_SIZES,
    Issued,
    ProgrammeSpec,
    attribute,
    init_region,
    issue,
    revoke,
)


def add_commands(commands: Commands) -> None:
    init = commands.add("init", "créer la région (identifiant et clé de signature)", _init)
    init.add_argument("--region-id", required=True, help="par exemple HDF")

    emit = commands.add("issue", "émettre des carnets de pass pour un programme", _issue)
    emit.add_argument("--programme", required=True, help="identifiant, par exemple HDFNUM")
    emit.add_argument("--carnets", type=int, required=True, help="nombre de carnets")
    emit.add_argument("--size", type=int, choices=CARNET_SIZES, default=10)
    emit.add_argument("--label", help="libellé du programme")
    emit.add_argument("--value-cents", type=int, help="valeur d'un pass en centimes (1000)")
    emit.add_argument("--valid-from", type=day_argument, help="AAAA-MM-JJ (aujourd'hui)")
    emit.add_argument("--valid-until", type=day_argument, help="AAAA-MM-JJ (31 décembre)")
    emit.add_argument("--grace-until", type=day_argument, help="AAAA-MM-JJ (fin + 31 jours)")
    emit.add_argument("--sites", help="sites acceptant le programme : * ou SITE1,SITE2")
    emit.add_argument("--out", type=Path, help="dossier des fichiers d'impression")
    emit.add_argument("--qr-sheets", action="store_true", help="planches QR en PNG par carnet")

    give = commands.add("attribute", "attribuer un carnet à un bénéficiaire", _attribute)
    give.add_argument("carnet")
    who = give.add_mutually_exclusive_group(required=True)
    who.add_argument("--beneficiary", help="référence pseudonyme du bénéficiaire")
    who.add_argument("--take-back", action="store_true", help="retirer l'attribution")
    give.add_argument("--on", type=day_argument, help="date d'attribution AAAA-MM-JJ (aujourd'hui)")

    oppose = commands.add("revoke", "mettre un pass en opposition", _revoke)
    oppose.add_argument("code")
    oppose.add_argument("--reason", required=True, choices=sorted(REVOCATION_REASONS))
    oppose.add_argument("--on", type=day_argument, help="date d'effet AAAA-MM-JJ (aujourd'hui)")


def day_argument(text: str) -> date:
    """A day given on the command line: AAAA-MM-JJ (or JJ/MM/AAAA)."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"date invalide « {text} » (AAAA-MM-JJ attendu)")


def _init(args: argparse.Namespace, settings: HubSettings) -> int:
    hub = init_region(settings, args.region_id.strip().upper())
    hub.engine.dispose()
    say(f"Région {hub.region_id} prête.")
    say(f"Empreinte de la clé de la région : {key_fingerprint(hub.region_public_key)}")
    say(f"Clé de signature : {settings.key_path} (à sauvegarder, à ne jamais diffuser)")
    say(
        f"Clé des bénéficiaires : {settings.beneficiary_key_path} (à sauvegarder, à ne "
        "jamais diffuser ; les sites distributeurs la reçoivent à leur inscription)"
    )
    say(f"Empreinte de la clé des bénéficiaires : {key_fingerprint(hub.beneficiary_key)}")
    return EXIT_OK


def _issue(args: argparse.Namespace, settings: HubSettings) -> int:
    with opened_hub_of(settings) as hub:
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
        out_dir = args.out or settings.directory / "impression"
        printed = _PrinterFiles(out_dir, hub, args.qr_sheets)
        try:
            issued = issue(hub, spec, args.carnets, args.size, before_commit=printed.stage)
            printed.move_into_place()
        finally:
            printed.discard()
    first, last = issued.carnets[0].id, issued.carnets[-1].id
    say(
        f"{plural(len(issued.carnets), 'carnet')} de {args.size} pass émis pour le programme "
        f"{issued.programme.id} ({first} à {last}), {plural(issued.pass_count, 'pass', 'pass')}."
    )
    say(f"Fichier pour l'imprimeur : {printed.csv_path}")
    if printed.sheets:
        sheets = printed.sheets
        say(f"Planches QR : {plural(len(sheets), 'fichier')} dans {sheets[0].parent}")
    return EXIT_OK


class _PrinterFiles:
    """The printer's CSV (and QR sheets), written before the carnets are committed, into a
    hidden staging folder of `out_dir`: a folder that cannot be written, or a full disk, then
    issues nothing. Once the carnets are committed, the files are moved into place."""

    def __init__(self, out_dir: Path, hub: Hub, qr_sheets: bool) -> None:
        self.out_dir, self.hub, self.qr_sheets = out_dir, hub, qr_sheets
        self.staging: Path | None = None
        self.csv_path: Path | None = None
        self.sheets: list[Path] = []

    def stage(self, issued: Issued) -> None:
        """Inside the transaction: writes every file into the staging folder."""
        from mediateur_tui.hub.printing import write_printer_csv, write_qr_sheets

        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".emission-", dir=self.out_dir))
            self.csv_path = write_printer_csv(issued, self.hub, self.staging)
            if self.qr_sheets:
                self.sheets = write_qr_sheets(issued, self.hub, self.staging)
        except OSError as error:
            raise HubError(
                f"Fichiers d'impression impossibles à écrire dans {self.out_dir} "
                f"({os_error_text(error)}) : aucun carnet n'a été émis."
            ) from error

    def move_into_place(self) -> None:
        """After the commit: the staged files, renamed into `out_dir` (same disk)."""
        assert self.staging is not None and self.csv_path is not None
        try:
            placed = self.out_dir / self.csv_path.name
            os.replace(self.csv_path, placed)
            self.csv_path = placed
            moved = []
            for sheet in self.sheets:
                folder = self.out_dir / sheet.parent.name
                folder.mkdir(exist_ok=True)
                os.replace(sheet, folder / sheet.name)
                moved.append(folder / sheet.name)
            self.sheets = moved
        except OSError as error:
            staging, self.staging = self.staging, None  # kept: the carnets exist
            raise HubError(
                f"Carnets émis, mais leurs fichiers d'impression n'ont pu être rangés "
                f"({os_error_text(error)}) : ils sont dans {staging}. N'émettez pas à nouveau."
            ) from error

    def discard(self) -> None:
        """Removes the staging folder (and what is left in it: all of it if nothing was
        issued)."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


def _attribute(args: argparse.Namespace, settings: HubSettings) -> int:
    with opened_hub_of(settings) as hub:
        beneficiary = None if args.take_back else args.beneficiary
        carnet = attribute(hub, args.carnet, beneficiary, args.on)
    if carnet.attributed_on is None or carnet.beneficiary_ref is None:
        say(f"Attribution du carnet {carnet.id} retirée.")
    else:
        say(
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
    with opened_hub_of(settings) as hub:
        revocation = revoke(hub, args.code, args.reason, args.on)
    say(
        f"Pass {format_code(revocation.code)} en opposition "
        f"({REVOCATION_REASONS[revocation.reason]}) depuis le {revocation.revoked_on:%d/%m/%Y}."
    )
    return EXIT_OK
