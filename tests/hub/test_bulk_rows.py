"""The intake's shortcuts give what the longer ways give: the text SQLite stores for an
instant, a `used` change's JSON, the values a read returns, a batch's hash and signed bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlmodel import col, select

from mediateur_tui.hub.changes import encode_change, used_change, used_change_body
from mediateur_tui.hub.database import read_session, select_in, sqlite_instant, table_column
from mediateur_tui.hub.intake import receive_batch
from mediateur_tui.hub.models import HubLine, HubUsedPass
from mediateur_tui.protocol.signing import canonical_bytes, document_hash, signed_encodings

from .helpers import SITE_A, World, line, make_batch

INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
)


@given(INSTANTS)
def test_an_instant_is_stored_as_sqlalchemy_stores_it(moment: datetime) -> None:
    dialect = sqlite.dialect()
    column = table_column(HubLine, "redeemed_at")
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_instant(moment) == process(moment)


@given(code=st.text(), site=st.text(), day=st.dates())
def test_a_used_change_is_the_json_of_its_object(code: str, site: str, day: date) -> None:
    assert used_change_body(code, site, day) == encode_change(used_change(code, site, day))


def test_a_read_past_the_orm_returns_what_the_orm_returns(world: World) -> None:
    codes = world.fresh[:3]
    batch = make_batch(world.sites[SITE_A], [line(code, "2026-11-12T09:30:00Z") for code in codes])
    receive_batch(world.hub, batch, SITE_A)
    names = ("code", "site_id", "redeemed_at", "batch_id")
    with read_session(world.hub.engine) as session:
        columns = [table_column(HubUsedPass, name) for name in names]
        read = sorted(select_in(session, columns, columns[0], [*codes, "0000000000000"]))
        orm = session.exec(select(HubUsedPass).where(col(HubUsedPass.code).in_(codes))).all()
    assert read == sorted(tuple(getattr(row, name) for name in names) for row in orm)
    assert [row[2] for row in read] == [datetime(2026, 11, 12, 9, 30, tzinfo=UTC)] * 3
    assert all(row[2].tzinfo is not None for row in read)


def test_a_batch_is_encoded_once_for_its_hash_and_its_signature(world: World) -> None:
    batch = make_batch(world.sites[SITE_A], [line(world.fresh[0], "2026-11-12T09:30:00Z")])
    batch["sessions"][0]["title"] = "Atelier « numérique » \u2028"
    whole, canonical = signed_encodings(batch)
    assert hashlib.sha256(whole).hexdigest() == document_hash(batch)
    assert canonical == canonical_bytes(batch)
    assert json.loads(whole) == batch
