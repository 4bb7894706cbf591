"""The replica file a region exports today (pn-replica-snapshot/2, JSON Lines under a signed
seal), imported by `mediateur-tui import-replica`: the same replica as a pn-replica-snapshot/1
of the same region (the file an older hub wrote, which a site still imports); and every
tampering refused, exit 2, with nothing of the file kept.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from contract import validate

from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json
from mediateur_tui.protocol.formats import REPLICA_SNAPSHOT

from .conftest import SITE_A, SITE_A_NAME, Region, SiteDir, _make_region

# What a site's replica is: every table an import writes, and the replica's own row.
REPLICA_QUERIES = (
    "SELECT * FROM site ORDER BY id",
    "SELECT * FROM programme ORDER BY id",
    "SELECT * FROM programme_site ORDER BY programme_id, site_id",
    "SELECT id, programme_id, size, attributed_on, beneficiary_ref, issued_on FROM carnet "
    "ORDER BY id",
    "SELECT p.code, c.id FROM pass p JOIN carnet c ON c.ref = p.carnet_ref ORDER BY p.code",
    "SELECT * FROM revocation ORDER BY code",
    "SELECT * FROM remote_redemption ORDER BY code",
    "SELECT * FROM published_rulebook ORDER BY id",
    "SELECT region_id, region_public_key, region_key_set, site_id, pass_count, updated_at "
    "FROM replica_meta",
    "SELECT replica_cursor FROM sync_state",
)


def replica_rows(site: SiteDir) -> list[list[tuple[object, ...]]]:
    """The site's replica (its database made, empty, when no command has made it yet)."""
    site.engine.dispose()
    with closing(sqlite3.connect(site.data_dir / "mediateur.sqlite3")) as connection:
        return [connection.execute(query).fetchall() for query in REPLICA_QUERIES]


def without_date(rows: list[list[tuple[object, ...]]]) -> list[list[tuple[object, ...]]]:
    """A replica's rows but its date (replica_meta's `updated_at`: its file's `generated_at`)."""
    return [*rows[:8], [row[:-1] for row in rows[8]], *rows[9:]]


@pytest.fixture
def exported(region: Region, tmp_path: Path) -> Path:
    """A region with a revoked pass, an attributed carnet and a rotated key (key sets), and
    the replica file `export-replica` writes of it."""
    region.init()
    carnets = region.issue(3, size=5)
    first = sorted(carnets)[0]
    region.attribute(first, "BENEF-0001")
    region.ok("revoke", carnets[first][1], "--reason", "stolen", "--on", "2026-11-01")
    region.enrol_site(SITE_A, SITE_A_NAME)
    region.ok("keys", "rotate")
    path = tmp_path / "usb" / "replique.json.gz"
    region.ok("export-replica", str(path))
    return path


def test_a_snapshot_v2_gives_the_replica_a_v1_gives(
    region: Region, exported: Path, make_site: Callable[[str], SiteDir], tmp_path: Path
) -> None:
    """`export-replica --format 1` writes the pn-replica-snapshot/1 a site from before
    3 December 2026 or earlier reads: a valid /1, signed, and the current site imports it too."""
    lines = gzip.decompress(exported.read_bytes()).splitlines()
    assert json.loads(lines[0])["format"] == "pn-replica-snapshot/2"
    old_file = tmp_path / "usb" / "ancienne-replique.json.gz"
    out = region.ok("export-replica", "--format", "1", str(old_file))
    assert f"Réplique exportée : {len(lines) - 2} changements" in out
    old = load_json(old_file.read_bytes(), REPLICA_SNAPSHOT)
    validate(old, REPLICA_SNAPSHOT)
    assert old_file.read_bytes() == dump_gzip_json(old)  # what a /1 site reads whole
    assert old["changes"] == [json.loads(change) for change in lines[1:-1]]

    by_v2, by_v1 = make_site("v2"), make_site("v1")
    out = by_v2.ok("import-replica", str(exported), "--site", SITE_A)
    assert f"Réplique importée : {len(lines) - 2} changement(s), 15 pass" in out
    by_v1.ok("import-replica", str(old_file), "--site", SITE_A)
    rows = replica_rows(by_v2)
    assert without_date(rows) == without_date(replica_rows(by_v1))
    assert len(rows[4]) == 15 and len(rows[5]) == 1  # passes, the revocation
    assert rows[8][0][2] is not None  # the key set followed: the seal's key is the new one

    again = by_v2.ok("import-replica", str(exported))
    assert "Réplique déjà à jour" in again
    assert replica_rows(by_v2) == rows


def rewritten(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> Path:
    """A copy of the replica file whose decompressed lines went through `change`."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    copy = path.with_name("falsifiee.json.gz")
    copy.write_bytes(gzip.compress(b"".join(change(lines))))
    return copy


def swap(lines: list[bytes]) -> list[bytes]:
    return [lines[0], lines[2], lines[1], *lines[3:]]


def new_head(lines: list[bytes], **fields: object) -> list[bytes]:
    """The head with `fields`, as compact as the hub writes it (so still a /2's first bytes)."""
    head = {**json.loads(lines[0]), **fields}
    return [dump_json(head) + b"\n", *lines[1:]]


def spaced_head(lines: list[bytes]) -> list[bytes]:
    """The same head re-encoded with spaces: no longer the bytes a /2 begins with, so read
    as a /1, which it is not; still told a modified /2, not « pas un document JSON valide »."""
    return [json.dumps(json.loads(lines[0])).encode() + b"\n", *lines[1:]]


def edited_change(lines: list[bytes]) -> list[bytes]:
    """The revoked pass's revocation dated a day later."""
    index = next(i for i, line in enumerate(lines) if b'"revocation"' in line)
    edited = lines[index].replace(b"2026-11-01", b"2026-11-02")
    assert edited != lines[index]
    return [*lines[:index], edited, *lines[index + 1 :]]


TAMPERINGS: dict[str, tuple[Callable[[list[bytes]], list[bytes]], str]] = {
    "no seal": (lambda lines: lines[:-1], "sans son sceau"),
    "cut after a change": (lambda lines: lines[:3], "sans son sceau"),
    "a line added": (lambda lines: [*lines[:2], lines[1], *lines[2:]], "en annonce"),
    "a line removed": (lambda lines: [lines[0], *lines[2:]], "en annonce"),
    "the first change last": (
        lambda lines: [lines[0], *lines[2:-1], lines[1], lines[-1]],
        "empreinte",
    ),
    "two lines swapped": (swap, "empreinte"),
    "a change edited": (edited_change, "empreinte"),
    "a line after the seal": (lambda lines: [*lines, lines[1]], "après le sceau"),
    "the seal's count changed": (
        lambda lines: [*lines[:-1], lines[-1].replace(b'"changes":', b'"changes":1')],
        "en annonce",
    ),
    "the key sets dropped": (lambda lines: new_head(lines, key_sets=[]), "empreinte"),
    "another until": (lambda lines: new_head(lines, until=10**6), "empreinte"),
    "the head re-encoded with spaces": (spaced_head, "ligne 1 réécrite"),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_file_is_refused_and_nothing_is_kept(
    name: str, exported: Path, make_site: Callable[[str], SiteDir]
) -> None:
    change, message = TAMPERINGS[name]
    site = make_site("a")
    empty = replica_rows(site)
    refused = site.cli("import-replica", str(rewritten(exported, change)), "--site", SITE_A)
    assert refused.code == 2, refused.out + refused.err
    assert message in refused.err and "Traceback" not in refused.err
    assert replica_rows(site) == empty
    site.ok("import-replica", str(exported), "--site", SITE_A)  # the genuine file still goes


def test_a_cut_file_and_a_seal_of_another_region_are_refused(
    exported: Path, make_site: Callable[[str], SiteDir], tmp_path: Path, console
) -> None:
    other = _make_region(tmp_path / "autre", console, None)
    try:
        other.ok("init", "--region-id", "OCC")
        other_file = tmp_path / "autre.json.gz"
        other.ok("export-replica", str(other_file))
    finally:
        other.close()
    other_seal = gzip.decompress(other_file.read_bytes()).splitlines(keepends=True)[-1]
    with_other_seal = rewritten(exported, lambda lines: [*lines[:-1], other_seal])
    data = exported.read_bytes()
    cut = exported.with_name("coupee.json.gz")
    cut.write_bytes(data[: len(data) // 2])

    site = make_site("a")
    empty = replica_rows(site)
    for path, message in ((with_other_seal, "région « OCC »"), (cut, "incomplet")):
        refused = site.cli("import-replica", str(path), "--site", SITE_A)
        assert refused.code == 2 and message in refused.err, refused.err
        assert replica_rows(site) == empty
