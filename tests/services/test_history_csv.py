"""The history CSV a French spreadsheet sums: amounts as numbers with a decimal comma, a
cancelled line at 0 with its status, dates JJ/MM/AAAA."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from mediateur_tui.services.history import HistoryRow, Status, export_csv

AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)  # 10:30 in Paris


def line(minutes: int, status: Status) -> HistoryRow:
    return HistoryRow(
        at=AT + timedelta(minutes=minutes),
        status=status,
        code="7M6E-TZWF-057J-V",
        value_cents=1000,
        session_title="Atelier ; « smartphone »",
        operator_name="Camille Martin",
        detail="Annulé : pass abîmé" if status is Status.CANCELLED else "",
    )


def test_the_amount_column_sums_to_what_is_due_with_a_cancelled_line_at_zero(tmp_path):
    rows = [line(minutes, Status.REDEEMED) for minutes in range(12)]
    rows.append(line(20, Status.CANCELLED))
    rows.append(line(21, Status.REFUSED))
    path = export_csv(rows, tmp_path / "historique.csv")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        header, *lines = csv.reader(stream, delimiter=";")
    amount = header.index("Montant (€)")
    assert sum(float(cells[amount].replace(",", ".")) for cells in lines) == 120.0
    cancelled = lines[12]
    assert cancelled[header.index("Statut")] == "Annulé"
    assert cancelled[amount] == "0,00"
    assert lines[0][amount] == "10,00"
    assert lines[0][header.index("Date")] == "28/11/2026"
    assert lines[0][header.index("Heure")] == "10:30"
    assert lines[0][header.index("Séance")] == "Atelier ; « smartphone »"
