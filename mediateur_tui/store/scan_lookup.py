"""The scan path as one statement: everything a verdict needs about one code, in one row.

`scan_lookup` runs a single hand-written SELECT on the raw `sqlite3` connection: the replica's
metadata (its one row drives the statement, so an unknown code still gets it), the pass with
its carnet and programme, whether the programme is accepted at this site, its revocation, the
active redemption of the code here (with its session, operator and the region's refusal), and
its redemption at another site. Every join is on a primary key or a unique index. It gives
the same facts as the ORM queries of store/queries.py (tests/services/test_scan_lookup.py
compares them on every kind of pass); it exists because the ORM's statement building cost
twenty times SQLite's own work on the scan path. It imports no SQLAlchemy, so that the quick
`check` (services/checking.py) does not load it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from mediateur_tui.domain.verdicts import (
    DEFAULT_MAX_REPLICA_AGE,
    LocalRedemption,
    PassFacts,
    RegionRefusal,
    RemoteRedemption,
    ReplicaState,
)
from mediateur_tui.protocol.key_sets import trusted_keys
from mediateur_tui.protocol.verdicts import LineVerdict, refusal_label
from mediateur_tui.store.sqlite_file import raise_in_french

SCAN_STATEMENT = """
SELECT m.site_id, m.updated_at, m.region_public_key, m.region_key_set, m.region_id,
       p.code, pr.id AS programme_id, pr.label, pr.value_cents,
       c.id AS carnet_id, c.size, c.attributed_on, c.issued_on,
       pr.valid_from, pr.valid_until, pr.grace_until,
       EXISTS (SELECT 1 FROM programme_site ps
               WHERE ps.programme_id = pr.id AND ps.site_id IN (m.site_id, '*')) AS accepted,
       rv.reason AS revoked_reason, rv.revoked_on,
       r.id AS redemption_id, r.redeemed_at, ds.title, op.name AS operator,
       ra.redemption_id AS refused, ra.reason AS refusal_reason,
       COALESCE(ws.name, ra.winner_site_id) AS winner, ra.winner_redeemed_at,
       COALESCE(rs.name, rr.site_id) AS elsewhere, rr.redeemed_on AS elsewhere_on
FROM replica_meta m
LEFT JOIN pass p ON p.code = :code
LEFT JOIN carnet c ON c.ref = p.carnet_ref
LEFT JOIN programme pr ON pr.id = c.programme_id
LEFT JOIN revocation rv ON rv.code = p.code
LEFT JOIN redemption r ON r.code = :code AND r.cancelled_at IS NULL
LEFT JOIN desk_session ds ON ds.id = r.session_id
LEFT JOIN operator op ON op.id = r.operator_id
LEFT JOIN region_answer ra ON ra.redemption_id = r.id AND ra.verdict = :refused
LEFT JOIN site ws ON ws.id = ra.winner_site_id
LEFT JOIN remote_redemption rr ON rr.code = p.code
LEFT JOIN site rs ON rs.id = rr.site_id
WHERE m.id = 1
"""
_REFUSED = LineVerdict.REFUSED.value


class ScanRow(NamedTuple):
    """The statement's row, one field per column in its order (a test holds the two equal)."""

    site_id: str
    updated_at: str | None
    region_public_key: bytes | None
    region_key_set: str | None
    region_id: str
    code: str | None
    programme_id: str
    label: str
    value_cents: int
    carnet_id: str
    size: int
    attributed_on: str | None
    issued_on: str | None
    valid_from: str
    valid_until: str
    grace_until: str
    accepted: int
    revoked_reason: str | None
    revoked_on: str | None
    redemption_id: str | None
    redeemed_at: str
    title: str
    operator: str
    refused: str | None
    refusal_reason: str
    winner: str
    winner_redeemed_at: str | None
    elsewhere: str | None
    elsewhere_on: str


class ScanLookup(NamedTuple):
    """What one statement found: the replica's state, and for the code the replica's facts
    (None when the registry lacks it) and its active redemption here (provisional ones too)."""

    site_id: str
    replica: ReplicaState
    facts: PassFacts | None
    redeemed_here: LocalRedemption | None


def scan_lookup(
    connection: sqlite3.Connection,
    path: Path,
    code: str | None,
    max_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
) -> ScanLookup | None:
    """The facts about `code` (None: an unreadable scan, the replica's state only); None when
    the site has no replica yet. Runs in the connection's current transaction, if any; a
    SQLite error on the database `path` is said in French (store/sqlite_file.py)."""
    parameters = {"code": code or "", "refused": _REFUSED}
    try:
        found = connection.execute(SCAN_STATEMENT, parameters).fetchone()
    except sqlite3.Error as error:  # not `said_in_french`: its generator costs 1 µs a scan
        raise_in_french(path, error)
    if found is None:
        return None
    row = ScanRow._make(found)
    replica = _replica_state(
        row.updated_at, row.region_public_key, row.region_key_set, row.region_id, max_age
    )
    here = _local_redemption(row)
    facts = None if row.code is None else _facts(row.code, row, here)
    return ScanLookup(row.site_id, replica, facts, here)


@lru_cache(maxsize=8)
def _replica_state(
    updated_at: str | None,
    first_key: bytes | None,
    key_set: str | None,
    region_id: str,
    max_age: timedelta,
) -> ReplicaState:
    """The replica's state from its row: the same on every scan until a sync or an import
    changes the row, so it is read once per value."""
    return ReplicaState(
        updated_at=_instant(updated_at),
        region_keys=trusted_keys(first_key, key_set, region_id),
        max_age=max_age,
    )


def _facts(code: str, row: ScanRow, here: LocalRedemption | None) -> PassFacts:
    return PassFacts(
        code=code,
        programme_id=row.programme_id,
        programme_label=row.label,
        value_cents=row.value_cents,
        carnet_id=row.carnet_id,
        carnet_size=row.size,
        carnet_attributed=row.attributed_on is not None,
        valid_from=date.fromisoformat(row.valid_from),
        valid_until=date.fromisoformat(row.valid_until),
        grace_until=date.fromisoformat(row.grace_until),
        accepted_here=bool(row.accepted),
        issued_on=_day(row.issued_on),
        revoked_reason=row.revoked_reason,
        revoked_on=_day(row.revoked_on),
        redeemed_here=here,
        redeemed_elsewhere=None
        if row.elsewhere is None
        else RemoteRedemption(site_name=row.elsewhere, on=date.fromisoformat(row.elsewhere_on)),
    )


def _local_redemption(row: ScanRow) -> LocalRedemption | None:
    if row.redemption_id is None:
        return None
    refusal = None
    if row.refused is not None:
        refusal = RegionRefusal(
            refusal_label(row.refusal_reason), row.winner, _instant(row.winner_redeemed_at)
        )
    return LocalRedemption(
        at=datetime.fromisoformat(row.redeemed_at).replace(tzinfo=UTC),
        session_title=row.title,
        operator_name=row.operator,
        region_refusal=refusal,
    )


def _instant(text: str | None) -> datetime | None:
    """An instant as the ORM stores it (naive UTC text), aware again."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
