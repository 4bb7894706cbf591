"""The body of a region's pn-ack/1 for a batch, for the tests that sign one themselves (the
site-side region of tests/sync, the demo region of tests/ui).

    from acks import ack_body
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mediateur_tui.protocol.formats import ACK
from mediateur_tui.protocol.instants import iso_instant
from mediateur_tui.protocol.verdicts import LineVerdict

Refused = dict[str, tuple[str, dict | None]]  # redemption id -> (reason, winner or None)


def ack_body(
    batch: dict[str, Any], region_id: str, received_at: datetime, refused: Refused | None = None
) -> dict[str, Any]:
    """The unsigned ack of `batch`: every line accepted but `refused`."""
    refused = refused or {}
    lines = []
    for line in batch["redemptions"]:
        reason, winner = refused.get(line["id"], (None, None))
        lines.append(
            {
                "redemption_id": line["id"],
                "code": line["code"],
                "verdict": LineVerdict.REFUSED if reason else LineVerdict.ACCEPTED,
                "reason": reason,
                "winner": winner,
            }
        )
    accepted = [line for line in batch["redemptions"] if line["id"] not in refused]
    return {
        "format": ACK,
        "batch_id": batch["batch_id"],
        "site_id": batch["site_id"],
        "region_id": region_id,
        "received_at": iso_instant(received_at),
        "lines": lines,
        "totals": {
            "accepted": len(accepted),
            "accepted_cents": sum(line["value_cents"] for line in accepted),
            "refused": len(lines) - len(accepted),
        },
    }
