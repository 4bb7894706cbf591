"""The region side for the UI tests: a real hub made with the `mediateur-hub` command line
(run in-process), its replica file and printer codes, and acknowledgements of demo batches
signed with the demo region's key (the demo site is not enrolled anywhere)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acks import ack_body
from sqlalchemy import Engine

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.signatures import key_fingerprint, public_key_bytes
from mediateur_tui.hub.cli import main as hub_main
from mediateur_tui.hub.database import KEY_FILENAME, read_private_key
from mediateur_tui.protocol.documents import dump_gzip_json
from mediateur_tui.protocol.signing import region_signer, sign_document
from mediateur_tui.services.auth import add_operator
from mediateur_tui.services.demo import demo_region_key
from mediateur_tui.services.desk import Desk
from mediateur_tui.services.month_end import MonthEnd
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME

HUB_SITE_ID = "LILLE-TIERS-LIEU"
HUB_SITE_NAME = "Tiers-lieu de Lille"
OTHER_SITE_ID = "FOURMIES-MEDIA"
_TOKEN = re.compile(r"^\s{4}(\S+)\s*$", re.MULTILINE)


def hub_cli(folder: Path, *args: str) -> str:
    """Runs `mediateur-hub --dir FOLDER ARGS…` in this process; returns what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = hub_main([*args[:1], "--dir", str(folder), *args[1:]])
    assert code == 0, f"mediateur-hub {' '.join(args)}: {err.getvalue()}"
    return out.getvalue()


@dataclass
class RegionHub:
    """A hub directory (SQLite) with one programme valid all 2026, made by its command line."""

    folder: Path
    carnets: int = 0

    @classmethod
    def create(cls, folder: Path, carnets: int = 2) -> RegionHub:
        hub = cls(folder)
        hub_cli(folder, "init", "--region-id", "HDF")
        hub.issue(carnets)
        return hub

    def issue(self, carnets: int) -> None:
        """Carnets of 10 passes, attributed (so that every pass can be taken)."""
        hub_cli(
            self.folder,
            "issue",
            "--programme",
            "HDFNUM",
            "--carnets",
            str(carnets),
            "--valid-from",
            "2026-01-01",
            "--valid-until",
            "2026-12-31",
            "--grace-until",
            "2027-01-31",
        )
        for number in range(self.carnets + 1, self.carnets + carnets + 1):
            hub_cli(
                self.folder, "attribute", f"C{number:07d}", "--beneficiary", f"B{number:04d}",
                "--on", "2026-02-01",
            )  # fmt: skip
        self.carnets += carnets

    def token(self, site_id: str = HUB_SITE_ID, name: str = HUB_SITE_NAME) -> str:
        printed = hub_cli(
            self.folder, "enrol-site", "--site-id", site_id, "--name", name, "--no-qr"
        )
        return _TOKEN.search(printed).group(1)

    def export_replica(self, path: Path) -> Path:
        hub_cli(self.folder, "export-replica", str(path))
        return path

    def import_batch(self, path: Path, out_dir: Path) -> Path:
        """The hub's answer to a batch file: the path of the ack file it wrote."""
        printed = hub_cli(self.folder, "import-batch", str(path), "--out", str(out_dir))
        return Path(printed.strip().splitlines()[-1].split(" : ", 1)[1])

    def codes(self) -> list[str]:
        """Every pass code issued so far, in carnet order (from the printer's CSV files)."""
        codes = []
        for path in sorted((self.folder / "impression").glob("carnets-*.csv")):
            with path.open(encoding="utf-8") as handle:
                codes += [row["code"] for row in csv.DictReader(handle, delimiter=";")]
        return codes

    def key_fingerprint(self) -> str:
        key = read_private_key(self.folder / KEY_FILENAME)
        return key_fingerprint(public_key_bytes(key))


# --- acknowledgements of demo batches ----------------------------------------------------------

DEMO_REGION_KEY = demo_region_key()
RECEIVED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def demo_ack(
    batch: dict[str, Any], refused: dict[str, tuple[str, dict | None]] | None = None
) -> dict[str, Any]:
    """The demo region's pn-ack/1 for a demo batch: every line accepted but `refused`
    (redemption id -> (reason, winner or None))."""
    document = ack_body(batch, batch["region_id"], RECEIVED_AT, refused)
    return sign_document(document, DEMO_REGION_KEY, region_signer(batch["region_id"]))


def write_ack(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_gzip_json(document))
    return path


# --- sites of a real hub -----------------------------------------------------------------------


@dataclass
class HubSite:
    """A site's data directory, enrolled with a running hub; its clock is the tests' NOW."""

    data_dir: Path
    engine: Engine
    operator_id: int

    @classmethod
    def enrol(cls, data_dir: Path, url: str, token: str, now: datetime) -> HubSite:
        engine = open_database(data_dir / DATABASE_FILENAME)
        SiteSync(engine, data_dir, fixed_clock(now)).enrol(url, token)
        operator = add_operator(engine, "Léa Dupont", "responsable", "2468")
        return cls(data_dir, engine, operator.id)

    def sync(self, now: datetime):
        report = SiteSync(self.engine, self.data_dir, fixed_clock(now)).sync()
        assert report.ok, report.errors
        return report

    def take(self, moment: datetime, codes: list[str]) -> None:
        """One session at `moment`, taking `codes` a minute apart (each must be accepted)."""
        desk = Desk(self.engine, fixed_clock(moment))
        session_id = desk.start_session(self.operator_id, "Atelier", "collectif", "", 60).id
        for step, code in enumerate(codes):
            at = moment + timedelta(minutes=step)
            result = Desk(self.engine, fixed_clock(at)).redeem(session_id, self.operator_id, code)
            assert result.redeemable, result.message
        desk.end_session(session_id)

    def close(self, period: str, now: datetime):
        return MonthEnd(self.engine, self.data_dir, fixed_clock(now)).close_month(period)
