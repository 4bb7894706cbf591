"""Month end for the site manager: close a month into a signed batch, export it for the
USB-key route, import the region's acknowledgement, and read the reconciliation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.sync import acks, batch_files, batches
from mediateur_tui.sync.acks import AckLineInfo, AckSummary
from mediateur_tui.sync.batch_files import ExportedBatch
from mediateur_tui.sync.batches import BatchInfo


class MonthEnd:
    """Month-end operations on one site's database; the site key is in `data_dir`."""

    def __init__(self, engine: Engine, data_dir: Path, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.clock = clock

    def default_period(self) -> str:
        """The month before the current one, in French time."""
        return batches.previous_period(self.clock())

    def close_month(self, period: str | None = None, operator_id: int | None = None) -> BatchInfo:
        """Seals every unremitted redemption up to the end of `period` (default: last month).

        Raises SyncError (French message) for an empty month, a month not over yet or one
        already closed, and when this site has no key (not enrolled)."""
        period = batches.parse_period(period) if period else self.default_period()
        return batches.seal_batch(self.engine, self.data_dir, period, self.clock(), operator_id)

    def batches(self) -> list[BatchInfo]:
        return batches.list_batches(self.engine)

    def pending_batches(self) -> list[BatchInfo]:
        """Sealed batches the region has not acknowledged yet."""
        return batches.list_batches(self.engine, pending_only=True)

    def export(self, directory: Path, batch_id: str | None = None) -> list[ExportedBatch]:
        """Files for one batch, or for every batch not yet acknowledged (maybe none)."""
        return batch_files.export_batches(self.engine, directory, batch_id)

    def import_ack_file(self, path: Path) -> AckSummary:
        return acks.import_ack(self.engine, acks.read_ack_file(path), self.clock())

    def ack_lines(self, batch_id: str) -> list[AckLineInfo]:
        """The region's verdict on each line of a batch (empty before its acknowledgement)."""
        return acks.ack_lines(self.engine, batch_id)
