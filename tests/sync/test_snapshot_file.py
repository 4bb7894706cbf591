"""Snapshot files as the hub writes them today (pn-replica-snapshot/2, JSON Lines under a
signed seal), imported by `import_replica_file`: the same replica as the pn-replica-snapshot/1
of the same changes, and the checks of a snapshot (site, region, key, cursor) before and after
the lines are read, nothing kept when one fails."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import tempfile
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.signatures import key_fingerprint
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import REPLICA_SNAPSHOT, REPLICA_SNAPSHOT_LINES
from mediateur_tui.services.replica import import_replica_file
from mediateur_tui.store.engine import open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.sync.errors import SyncError

from .conftest import Site
from .region import GENERATED_AT, OTHER_SITE_ID, SITE_ID, Region

REPLICA_TABLES = (
    "site",
    "programme",
    "programme_site",
    "carnet",
    "pass",
    "revocation",
    "remote_redemption",
    "published_rulebook",
    "replica_meta",
    "sync_state",
)


def replica_dump(site: Site) -> dict[str, list[tuple]]:
    every = site.dump()
    return {table: every[table] for table in REPLICA_TABLES}


def grow(region: Region) -> None:
    """Carnets of both sizes, attributed or not, a revocation and passes used."""
    for index in range(40):
        region.carnet(size=10 if index % 2 else 5, attributed=None if index % 7 else "2026-02-01")
    _, used = region.carnet(size=5)
    region.add(
        {"t": "revocation", "code": used[4], "reason": "lost", "on": "2026-03-04"},
        {"t": "used", "code": used[0], "site": OTHER_SITE_ID, "on": "2026-03-03"},
        {"t": "used", "code": used[1], "site": SITE_ID, "on": "2026-03-03"},
    )


def new_site(folder: Path) -> Site:
    return Site(data_dir=folder, engine=open_database(folder / DATABASE_FILENAME), operator_id=0)


def test_a_snapshot_file_gives_the_replica_its_v1_gives(tmp_path: Path, region: Region) -> None:
    grow(region)
    lines_file = region.snapshot_file(tmp_path / "replique.json.gz")
    whole_file = tmp_path / "ancienne.json.gz"
    whole_file.write_bytes(dump_gzip_json(region.snapshot()))
    by_lines, by_whole = new_site(tmp_path / "a"), new_site(tmp_path / "b")
    try:
        applied = import_replica_file(by_lines.engine, lines_file, SITE_ID)
        assert (applied.format, applied.changes) == (REPLICA_SNAPSHOT_LINES, len(region.changes))
        assert applied.applied and applied.cursor == len(region.changes)
        assert applied.trusted_key_fingerprint == key_fingerprint(region.public_key)
        assert import_replica_file(by_whole.engine, whole_file, SITE_ID).format == (
            REPLICA_SNAPSHOT
        )
        assert replica_dump(by_lines) == replica_dump(by_whole)
        assert len(replica_dump(by_lines)["pass"]) == 20 * 5 + 20 * 10 + 5
    finally:
        by_lines.engine.dispose()
        by_whole.engine.dispose()


def test_a_file_the_site_already_has_is_read_to_its_seal_then_ignored(
    site: Site, region: Region, tmp_path: Path
) -> None:
    path = region.snapshot_file(tmp_path / "replique.json.gz")
    before = site.dump()
    result = import_replica_file(site.engine, path)
    assert not result.applied and result.trusted_key_fingerprint is None
    assert site.dump() == before
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join([lines[0], *lines[2:]])))  # a change removed
    with pytest.raises(ProtocolError, match="en annonce"):
        import_replica_file(site.engine, path)
    assert site.dump() == before


def test_a_newer_file_brings_the_site_forward(site: Site, region: Region, tmp_path: Path) -> None:
    grow(region)
    later = GENERATED_AT + timedelta(days=3)
    result = import_replica_file(site.engine, region.snapshot_file(tmp_path / "r.json.gz", later))
    assert result.applied and result.cursor == len(region.changes)
    with site.engine.connect() as connection:
        updated = connection.exec_driver_sql("SELECT updated_at FROM replica_meta").scalar_one()
    assert updated.startswith(later.strftime("%Y-%m-%d"))


def test_a_file_of_another_region_key_is_refused_before_its_lines_are_read(
    site: Site, region: Region, tmp_path: Path
) -> None:
    other = Region(key=Ed25519PrivateKey.generate(), changes=region.changes)
    before = site.dump()
    with pytest.raises(ProtocolError, match="autre clé"):
        import_replica_file(site.engine, other.snapshot_file(tmp_path / "autre.json.gz"))
    assert site.dump() == before


def test_a_first_file_needs_a_known_site_id(tmp_path: Path, region: Region) -> None:
    path = region.snapshot_file(tmp_path / "replique.json.gz")
    site = new_site(tmp_path / "site")
    try:
        with pytest.raises(SyncError, match="--site"):
            import_replica_file(site.engine, path)
        with pytest.raises(SyncError, match="n'est pas dans le registre"):
            import_replica_file(site.engine, path, "NOWHERE")
        assert replica_dump(site)["site"] == []
    finally:
        site.engine.dispose()


def test_a_file_cannot_change_the_site_id(site: Site, region: Region, tmp_path: Path) -> None:
    with pytest.raises(SyncError, match="déjà le lieu"):
        import_replica_file(site.engine, region.snapshot_file(tmp_path / "r.json.gz"), "AUTRE")


def carnets_and_passes(site: Site) -> tuple[int, int]:
    """How many carnets and passes the site's SQLite file holds, read from the file itself."""
    site.engine.dispose()
    with closing(sqlite3.connect(site.path)) as connection:
        carnets = connection.execute("SELECT COUNT(*) FROM carnet").fetchone()[0]
        passes = connection.execute("SELECT COUNT(*) FROM pass").fetchone()[0]
    return carnets, passes


def test_a_change_edited_under_a_recomputed_digest_fails_the_seals_signature(
    site: Site, region: Region, tmp_path: Path
) -> None:
    """The digest recomputed over the edited lines, but not signed by the region: the count
    and digest check, the signature does not, and nothing of the file is kept."""
    grow(region)
    path = region.snapshot_file(tmp_path / "r.json.gz")
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"revocation"' in line)
    edited = lines[index].replace(b"2026-03-04", b"2026-03-05")
    assert edited != lines[index]
    lines[index] = edited
    seal = json.loads(lines[-1])
    seal["sha256"] = hashlib.sha256(b"".join(lines[:-1])).hexdigest()  # signature as it was
    path.write_bytes(gzip.compress(b"".join(lines[:-1]) + dump_json(seal) + b"\n"))
    before, counted = site.dump(), carnets_and_passes(site)
    with pytest.raises(ProtocolError, match="Signature invalide"):
        import_replica_file(site.engine, path)
    assert carnets_and_passes(site) == counted
    assert site.dump() == before
    genuine = import_replica_file(site.engine, region.snapshot_file(tmp_path / "vraie.json.gz"))
    assert genuine.applied and carnets_and_passes(site) == (counted[0] + 41, counted[1] + 305)


def damaged_at(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


FIRST_LINE_DAMAGE = {
    "gzip cut in the first line": (lambda data: data[:40], "incomplet"),
    "first line cut": (
        lambda data: gzip.compress(gzip.decompress(data)[:100]),
        "coupée dans sa première ligne",
    ),
    "gzip header damaged": (lambda data: damaged_at(data, 3), "gzip illisible"),
    "gzip body damaged in the first line": (lambda data: damaged_at(data, 20), "gzip illisible"),
}


@pytest.mark.parametrize("name", sorted(FIRST_LINE_DAMAGE))
def test_a_file_damaged_in_its_first_line_is_said_damaged_not_of_another_type(
    name: str, site: Site, region: Region, tmp_path: Path
) -> None:
    """A file that begins as a pn-replica-snapshot/2 is not read again as a /1 when its
    first line is damaged: the site says it is damaged or incomplete."""
    damage, message = FIRST_LINE_DAMAGE[name]
    path = region.snapshot_file(tmp_path / "r.json.gz")
    path.write_bytes(damage(path.read_bytes()))
    before = site.dump()
    with pytest.raises(ProtocolError, match=message) as refused:
        import_replica_file(site.engine, path)
    assert "type attendu" not in str(refused.value)
    assert site.dump() == before


def rewritten(data: bytes, head: dict, rest: slice = slice(1, None)) -> bytes:
    lines = gzip.decompress(data).splitlines(keepends=True)
    return gzip.compress(json.dumps(head).encode() + b"\n" + b"".join(lines[rest]))


def first_head(data: bytes) -> dict:
    return json.loads(gzip.decompress(data).splitlines()[0])


REWRITTEN_HEADS = {
    "re-encoded with spaces": lambda data: rewritten(data, first_head(data)),
    "keys in another order": lambda data: rewritten(
        data, dict(sorted(first_head(data).items(), reverse=True))
    ),
    "spaced, alone (a JSON document)": lambda data: rewritten(data, first_head(data), slice(0, 0)),
    "spaced, not gzip'd": lambda data: gzip.decompress(rewritten(data, first_head(data))),
}


@pytest.mark.parametrize("name", sorted(REWRITTEN_HEADS))
def test_a_file_whose_head_was_rewritten_is_said_modified(
    name: str, site: Site, region: Region, tmp_path: Path
) -> None:
    """A pn-replica-snapshot/2 whose head is valid JSON but not as the hub writes it no
    longer begins as a /2 and fails as a /1: the site says it was modified, not « pas un
    document JSON valide » nor « pas du type attendu »."""
    path = region.snapshot_file(tmp_path / "r.json.gz")
    path.write_bytes(REWRITTEN_HEADS[name](path.read_bytes()))
    before = site.dump()
    with pytest.raises(ProtocolError, match=r"ligne 1 réécrite.*a été modifié"):
        import_replica_file(site.engine, path)
    assert site.dump() == before


def test_a_v1_that_is_not_json_is_still_said_so(site: Site, region: Region, tmp_path: Path) -> None:
    """A file that is not a /2 whichever way its first line is read keeps the /1's error."""
    path = tmp_path / "r.json.gz"
    document = dump_json(region.snapshot())
    path.write_bytes(gzip.compress(document[:-1]))
    with pytest.raises(ProtocolError, match="ce n'est pas un document JSON valide"):
        import_replica_file(site.engine, path)


GROWN = Region()
GROWN.standard()
grow(GROWN)


@settings(max_examples=25)
@given(st.data())
def test_a_file_changed_anywhere_is_refused_whole_or_is_the_regions(data: st.DataObject) -> None:
    """Bytes replaced anywhere in the decompressed lines: the import is refused with a French
    message (ProtocolError or SyncError) and nothing is kept, or it gives the genuine replica."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        genuine = gzip.decompress(GROWN.snapshot_file(work / "r.json.gz").read_bytes())
        at = data.draw(st.integers(min_value=0, max_value=len(genuine) - 1))
        removed = data.draw(st.integers(min_value=0, max_value=4))
        tampered = genuine[:at] + data.draw(st.binary(max_size=4)) + genuine[at + removed :]
        (work / "t.json.gz").write_bytes(gzip.compress(tampered))
        expected, site = new_site(work / "a"), new_site(work / "b")
        try:
            import_replica_file(expected.engine, work / "r.json.gz", SITE_ID)
            empty = replica_dump(site)
            try:
                import_replica_file(site.engine, work / "t.json.gz", SITE_ID)
            except (ProtocolError, SyncError):
                assert replica_dump(site) == empty
            else:
                assert replica_dump(site) == replica_dump(expected)
        finally:
            expected.engine.dispose()
            site.engine.dispose()
