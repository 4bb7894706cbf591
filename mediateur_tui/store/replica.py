"""Writing the region's changes into the replica tables: raw SQL on the DB-API connection.

Large replicas (1,000,000 passes) are written with `executemany` in chunks of plain tuples;
consecutive changes of the same kind are grouped, in order, so a later change always wins.
Every change is an upsert, so applying a page again changes nothing.

A chunk's passes are written sorted by code (a stable sort: of two changes to one code, the
later still wins), so the pass table, keyed by code, grows page after page instead of splitting
pages at random places; a pass refers to its carnet by the carnet's `ref`, read back once per
chunk after the carnets are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mediateur_tui.domain.site_identity import identity_fields, identity_of
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    CHANGE_ATTRIBUTION,
    CHANGE_CARNET,
    CHANGE_PROGRAMME,
    CHANGE_RELEASED,
    CHANGE_REVOCATION,
    CHANGE_RULEBOOK,
    CHANGE_SITE,
    CHANGE_USED,
)

CHUNK_ROWS = 100_000  # rows per executemany

_SITE_UPSERT = (
    "INSERT INTO site (id, name, pivot, code_insee, code_postal) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, pivot = excluded.pivot, "
    "code_insee = excluded.code_insee, code_postal = excluded.code_postal"
)
_PROGRAMME_UPSERT = (
    "INSERT INTO programme (id, label, value_cents, valid_from, valid_until, grace_until) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET label = excluded.label, "
    "value_cents = excluded.value_cents, valid_from = excluded.valid_from, "
    "valid_until = excluded.valid_until, grace_until = excluded.grace_until"
)
_PROGRAMME_SITES_CLEAR = "DELETE FROM programme_site WHERE programme_id = ?"
_PROGRAMME_SITE_INSERT = (
    "INSERT INTO programme_site (programme_id, site_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
_CARNET_UPSERT = (
    "INSERT INTO carnet (id, programme_id, size, attributed_on, beneficiary_ref, issued_on) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET programme_id = excluded.programme_id, "
    "size = excluded.size, attributed_on = excluded.attributed_on, "
    "beneficiary_ref = excluded.beneficiary_ref, issued_on = excluded.issued_on"
)
_CARNET_REFS = "SELECT id, ref FROM carnet WHERE id IN (SELECT value FROM json_each(?))"
_PASS_UPSERT = (
    "INSERT INTO pass (code, carnet_ref) VALUES (?, ?) "
    "ON CONFLICT (code) DO UPDATE SET carnet_ref = excluded.carnet_ref"
)
_ATTRIBUTION_UPDATE = "UPDATE carnet SET attributed_on = ?, beneficiary_ref = ? WHERE id = ?"
_REVOCATION_UPSERT = (
    "INSERT INTO revocation (code, reason, revoked_on) VALUES (?, ?, ?) "
    "ON CONFLICT (code) DO UPDATE SET reason = excluded.reason, revoked_on = excluded.revoked_on"
)
_USED_UPSERT = (
    "INSERT INTO remote_redemption (code, site_id, redeemed_on) VALUES (?, ?, ?) "
    "ON CONFLICT (code) DO UPDATE SET site_id = excluded.site_id, "
    "redeemed_on = excluded.redeemed_on"
)
_RELEASED_DELETE = "DELETE FROM remote_redemption WHERE code = ?"
_RULEBOOK_UPSERT = (
    "INSERT INTO published_rulebook (id, effective_from, document) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET effective_from = excluded.effective_from, "
    "document = excluded.document"
)


def apply_changes(connection: Connection, changes: Iterable[dict[str, Any]], site_id: str) -> None:
    """Writes the changes of a page or snapshot, in order, inside the caller's transaction
    (`changes` may be read as they come: at most CHUNK_ROWS rows are held); ProtocolError
    (and nothing written, once the caller rolls back) when one is malformed."""
    applier = _Applier(connection, site_id)
    try:
        applier.run(changes)
    except ProtocolError:  # the stream of changes refused (a ValueError): said as it is
        raise
    except IntegrityError as error:
        raise ProtocolError(
            "Réplique incohérente (un carnet ou un pass renvoie à un programme inconnu) : "
            "refusée, rien n'a été modifié."
        ) from error
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProtocolError(
            f"Réplique mal formée (changement n° {applier.position + 1}) : refusée, "
            "rien n'a été modifié."
        ) from error


def _day(value: Any) -> str:
    """A protocol date, checked, in the form SQLite stores dates."""
    if not isinstance(value, str):
        raise TypeError("date expected")
    return date.fromisoformat(value).isoformat()


def _day_or_none(value: Any) -> str | None:
    return None if value is None else _day(value)


def _reference(change: dict[str, Any]) -> str | None:
    """The pseudonymous beneficiary reference of an attributed carnet ("b"), when given."""
    value = change.get("b")
    if value is not None and not isinstance(value, str):
        raise TypeError("a beneficiary reference must be a string")
    return value


class _Applier:
    """Buffers consecutive changes of one kind and writes them with executemany, in order."""

    def __init__(self, connection: Connection, site_id: str) -> None:
        self.connection = connection
        self.site_id = site_id
        self.position = 0
        self.group: str | None = None
        self.buffers: dict[str, list[tuple[Any, ...]]] = {}
        self.passes: list[tuple[str, str]] = []  # (code, carnet id), written after the carnets
        self.size = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            CHANGE_SITE: self._site,
            CHANGE_PROGRAMME: self._programme,
            CHANGE_CARNET: self._carnet,
            CHANGE_ATTRIBUTION: self._attribution,
            CHANGE_REVOCATION: self._revocation,
            CHANGE_USED: self._used,
            CHANGE_RELEASED: self._released,
            CHANGE_RULEBOOK: self._rulebook,
        }

    def run(self, changes: Iterable[dict[str, Any]]) -> None:
        for self.position, change in enumerate(changes):
            kind = change["t"]
            if kind not in self.handlers:
                raise ValueError(f"unknown change kind {kind!r}")
            if kind != self.group or self.size >= CHUNK_ROWS:
                self.flush()
                self.group = kind
            self.handlers[kind](change)
        self.flush()

    def flush(self) -> None:
        for statement, rows in self.buffers.items():
            if rows:
                self.connection.exec_driver_sql(statement, rows)
        if self.passes:
            self._write_passes()
        self.buffers = {}
        self.passes = []
        self.size = 0

    def _write_passes(self) -> None:
        carnet_ids = sorted({carnet_id for _code, carnet_id in self.passes})
        found = self.connection.exec_driver_sql(_CARNET_REFS, (json.dumps(carnet_ids),))
        refs: dict[str, int] = {carnet_id: ref for carnet_id, ref in found}
        self.passes.sort(key=itemgetter(0))
        self.connection.exec_driver_sql(
            _PASS_UPSERT, [(code, refs[carnet_id]) for code, carnet_id in self.passes]
        )

    def _add(self, statement: str, row: tuple[Any, ...]) -> None:
        self.buffers.setdefault(statement, []).append(row)
        self.size += 1

    def _site(self, change: dict[str, Any]) -> None:
        """A site and its identity, all of it or none (a hub without identities sends none)."""
        identity = identity_of(change)
        fields = identity_fields(identity)
        self._add(
            _SITE_UPSERT,
            (
                str(change["id"]),
                str(change["name"]),
                fields.get("pivot"),
                fields.get("code_insee"),
                fields.get("code_postal"),
            ),
        )

    def _programme(self, change: dict[str, Any]) -> None:
        # Written at once: its list of sites replaces the previous one.
        self.flush()
        programme_id = str(change["id"])
        sites = change["sites"]
        if not isinstance(sites, list) or not sites:
            raise ValueError("a programme needs its sites")
        self.connection.exec_driver_sql(
            _PROGRAMME_UPSERT,
            (
                programme_id,
                str(change["label"]),
                int(change["value_cents"]),
                _day(change["valid_from"]),
                _day(change["valid_until"]),
                _day(change["grace_until"]),
            ),
        )
        self.connection.exec_driver_sql(_PROGRAMME_SITES_CLEAR, (programme_id,))
        self.connection.exec_driver_sql(
            _PROGRAMME_SITE_INSERT, [(programme_id, str(site)) for site in sites]
        )

    def _carnet(self, change: dict[str, Any]) -> None:
        carnet_id, programme_id = str(change["id"]), str(change["p"])
        codes = change["codes"]
        if not isinstance(codes, list):
            raise TypeError("codes must be a list")
        self._add(
            _CARNET_UPSERT,
            (
                carnet_id,
                programme_id,
                int(change["n"]),
                _day_or_none(change["a"]),
                _reference(change),
                _day_or_none(change.get("i")),
            ),
        )
        for code in codes:
            if not isinstance(code, str):
                raise TypeError("a pass code must be a string")
            self.passes.append((code, carnet_id))
        self.size += len(codes)

    def _attribution(self, change: dict[str, Any]) -> None:
        self._add(
            _ATTRIBUTION_UPDATE,
            (_day_or_none(change["a"]), _reference(change), str(change["id"])),
        )

    def _revocation(self, change: dict[str, Any]) -> None:
        self._add(
            _REVOCATION_UPSERT, (str(change["code"]), str(change["reason"]), _day(change["on"]))
        )

    def _used(self, change: dict[str, Any]) -> None:
        site, code, day = str(change["site"]), str(change["code"]), _day(change["on"])
        if site == self.site_id:
            return  # this site's own redemption: the local log already has it
        self._add(_USED_UPSERT, (code, site, day))

    def _released(self, change: dict[str, Any]) -> None:
        """A declared redemption cancelled: the pass is no longer taken at that site."""
        self._add(_RELEASED_DELETE, (str(change["code"]),))

    def _rulebook(self, change: dict[str, Any]) -> None:
        """A rulebook the region published. The caller verifies it (services
        .published_rulebooks) in the same transaction, before it commits: for a page or a
        pn-replica-snapshot/1 before any change is written, for a pn-replica-snapshot/2 once
        every line is written and the seal verified (one that does not verify rolls it all
        back)."""
        document = change["document"]
        self._add(
            _RULEBOOK_UPSERT,
            (
                str(document["id"]),
                _day(document["effective_from"]),
                json.dumps(document, ensure_ascii=False),
            ),
        )


def pass_count(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT count(*) FROM pass").scalar_one())


def published_rulebook_documents(connection: Connection) -> list[str]:
    """The rulebooks the region published, as stored (signed JSON documents)."""
    rows = connection.exec_driver_sql("SELECT document FROM published_rulebook ORDER BY id")
    return [document for (document,) in rows]


def site_exists(connection: Connection, site_id: str) -> bool:
    row = connection.exec_driver_sql("SELECT 1 FROM site WHERE id = ?", (site_id,))
    return row.first() is not None
