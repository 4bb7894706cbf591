"""Month end for the site manager: close a month into a signed batch, export it for the
USB-key route, import the region's acknowledgement, and read the reconciliation."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.periods import parse_period, previous_period
from mediateur_tui.services import acks, batch_files, batches, reconciliation
from mediateur_tui.services.acks import AckLineInfo, AckSummary
from mediateur_tui.services.activity_report import ActivityReports
from mediateur_tui.services.batch_files import ExportedBatch
from mediateur_tui.services.batches import BatchInfo
from mediateur_tui.services.reconciliation import BatchOverview, ClosePreview, Reconciliation

EXPORT_FOLDER = "remises"  # where the month end exports by default, in the data directory

log = logging.getLogger(__name__)


class MonthEnd:
    """Month-end operations on one site's database; the site key is in `data_dir`."""

    def __init__(self, engine: Engine, data_dir: Path, clock: Clock = system_clock) -> None:
        self._engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self._reports = ActivityReports(engine, clock)

    def default_period(self) -> str:
        """The month before the current one, in French time."""
        return previous_period(self.clock())

    def preview(self, period: str) -> ClosePreview:
        """What closing `period` would seal now, or why it cannot be closed."""
        return reconciliation.close_preview(self._engine, self.data_dir, period, self.clock())

    def close_month(self, period: str | None = None, operator_id: int | None = None) -> BatchInfo:
        """Seals every unremitted redemption up to the end of `period` (default: last month).

        Raises a UserError (French message) when the month cannot be closed (the rule of
        domain.periods.closing_refusal: not over, already closed, no replica, no site key,
        nothing to remit).

        The month's activity report (PDF and CSV) is then written beside the remise files, in
        the default export directory; a failure there is logged, the month stays closed
        (`activity_report_file` is then None, and the command `activity report --pdf` writes it
        again)."""
        period = parse_period(period) if period else self.default_period()
        batch = batches.seal_batch(self._engine, self.data_dir, period, self.clock(), operator_id)
        try:
            self.write_activity_report(period)
        except Exception:  # the month is sealed: nothing here may say otherwise
            log.exception("activity report of %s not written", period)
        return batch

    def activity_report_file(self, period: str) -> Path | None:
        """The month's activity report (PDF) the close wrote, or None when it could not."""
        try:
            pdf = self._reports.beside_remise(period, self.default_export_directory())
        except Exception:
            log.exception("activity report of %s not found", period)
            return None
        return pdf if pdf.exists() else None

    def write_activity_report(self, period: str) -> tuple[Path, Path]:
        """The PDF and the CSV of the month's activity report, beside the remise files."""
        return self._reports.write_beside_remise(period, self.default_export_directory())

    def batches(self) -> list[BatchInfo]:
        return batches.list_batches(self._engine)

    def pending_batches(self) -> list[BatchInfo]:
        """Sealed batches the region has not acknowledged yet."""
        return batches.list_batches(self._engine, pending_only=True)

    def overview(self) -> list[BatchOverview]:
        """Every sealed batch, newest first, with the region's totals once it answered."""
        return reconciliation.batch_overview(self._engine)

    def default_export_directory(self) -> Path:
        return self.data_dir / EXPORT_FOLDER

    def export(self, directory: Path, batch_id: str | None = None) -> list[ExportedBatch]:
        """Files for one batch, or for every batch not yet acknowledged (maybe none)."""
        return batch_files.export_batches(self._engine, directory, batch_id)

    def import_ack_file(self, path: Path) -> AckSummary:
        return acks.import_ack(self._engine, acks.read_ack_file(path), self.clock())

    def ack_lines(self, batch_id: str) -> list[AckLineInfo]:
        """The region's verdict on each line of a batch (empty before its acknowledgement)."""
        return acks.ack_lines(self._engine, batch_id)

    def reconciliation(self, batch_id: str) -> Reconciliation:
        """A batch line by line with the region's verdict on each (if any yet)."""
        return reconciliation.reconciliation(self._engine, batch_id)

    def latest_acknowledged(self) -> BatchInfo | None:
        """The most recent batch the region has answered, or None."""
        return reconciliation.latest_acknowledged(self._engine)


def report_not_written(period: str) -> str:
    """What the close says when the month's activity report could not be written."""
    return (
        "Le rapport d'activité du mois n'a pas pu être écrit (voir mediateur.log) : "
        f"« mediateur-tui activity report --month {period} --pdf FICHIER » l'écrit à nouveau."
    )
