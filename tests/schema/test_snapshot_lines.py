"""The pn-replica-snapshot/2 reader (protocol/snapshot_lines.py) on any bytes: it never fails
but with a ProtocolError (French), keeps its caps (a line, the whole file, decompressed), and
whatever it accepts under a seal that verifies is what the region sealed."""

from __future__ import annotations

import contextlib
import gzip
import io
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.region_keys import RegionKeys
from mediateur_tui.protocol import snapshot_lines
from mediateur_tui.protocol.documents import DocumentTooLarge, dump_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.key_sets import verify_region_document
from mediateur_tui.protocol.signing import region_signer, sign_document
from mediateur_tui.protocol.snapshot_lines import NotSnapshotLines, SnapshotReader, SnapshotWriter

from .examples import REGION_ID, REGION_KEY, changes, public_bytes, replica_seal
from .examples import replica_snapshot_lines as head_example

SEALED_LINES = [dump_json(head_example()), *(dump_json(c) for c in changes())]
SEALED = b"".join(line + b"\n" for line in SEALED_LINES) + dump_json(replica_seal()) + b"\n"
KEYS = RegionKeys.first_key_only(public_bytes(REGION_KEY))


def read(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(head, changes, seal) of a file, its seal's count and digest checked."""
    reader = SnapshotReader(io.BytesIO(data))
    read_changes = list(reader.changes())
    return reader.head, read_changes, reader.seal


def test_the_example_file_reads_back_and_its_seal_verifies() -> None:
    head, read_changes, seal = read(gzip.compress(SEALED))
    assert (head, read_changes) == (head_example(), changes())
    verify_region_document(seal, KEYS, REGION_ID)
    assert read(SEALED)[1] == changes()  # plain JSON Lines too


def test_the_writer_writes_what_the_reader_reads() -> None:
    out = io.BytesIO()
    writer = SnapshotWriter(out, head_example())
    bodies = [dump_json(change).decode() for change in changes()]
    writer.write_changes(bodies[:3])
    writer.write_changes([])
    writer.write_changes(bodies[3:])
    writer.finish(sign_document(writer.seal(), REGION_KEY, region_signer(REGION_ID)))
    assert gzip.decompress(out.getvalue()) == SEALED
    assert writer.count == len(bodies)


@given(st.binary(max_size=2_000), st.booleans())
def test_any_bytes_give_a_snapshot_or_a_protocol_error(data: bytes, compress: bool) -> None:
    with contextlib.suppress(ProtocolError):
        read(gzip.compress(data) if compress else data)


@given(
    st.integers(min_value=0, max_value=len(SEALED) - 1),
    st.binary(max_size=8),
    st.integers(min_value=0, max_value=8),
)
def test_what_is_accepted_under_a_seal_that_verifies_is_what_was_sealed(
    at: int, inserted: bytes, removed: int
) -> None:
    """Any bytes replaced anywhere (a line changed, cut, joined, added): refused, unless the
    lines read and the seal are still the region's."""
    tampered = SEALED[:at] + inserted + SEALED[at + removed :]
    try:
        head, read_changes, seal = read(gzip.compress(tampered))
        verify_region_document(seal, KEYS, REGION_ID)
    except ProtocolError:
        return
    assert (head, read_changes) == (head_example(), changes())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SEALED[: SEALED.rindex(b'{"format"')], "sans son sceau"),
        (SEALED + SEALED_LINES[1] + b"\n", "après le sceau"),
        (SEALED.replace(b"\n", b"\n\n", 2), "ligne 2"),  # an empty line: not JSON
        (SEALED.replace(b'"changes":', b'"changes":9', 1)[:-1], "en annonce"),
    ],
    ids=["no seal", "a line after the seal", "an empty line", "another count"],
)
def test_a_broken_file_says_why(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        read(gzip.compress(data))


def test_a_seal_over_its_cap_is_refused() -> None:
    seal = {**replica_seal(), "padding": "x" * 5_000}
    data = b"".join(line + b"\n" for line in SEALED_LINES) + dump_json(seal) + b"\n"
    with pytest.raises(DocumentTooLarge, match="pn-replica-seal/1 fait au plus 4 Ko"):
        read(gzip.compress(data))


def test_a_cut_gzip_stream_is_refused() -> None:
    data = gzip.compress(SEALED)
    with pytest.raises(ProtocolError, match="incomplet"):
        read(data[: len(data) - 10])
    with pytest.raises(ProtocolError, match="endommagé"):
        read(data + b"trailing")


def test_a_file_that_does_not_begin_as_a_head_is_not_a_snapshot_v2() -> None:
    for data in (
        b'{"format":"pn-replica-snapshot/1"}',
        b'{"format": "pn-replica-snapshot/2"}\n',  # not the bytes a /2 begins with
        b"[1]\n",
        SEALED_LINES[1] + b"\n",
        b"\x1f\x8b",  # the gzip magic, nothing after: another file
    ):
        with pytest.raises(NotSnapshotLines):
            SnapshotReader(io.BytesIO(gzip.compress(data)))
    assert SEALED.startswith(snapshot_lines.HEAD_START)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gzip.compress(SEALED[:20]), "coupée dans sa première ligne"),  # within HEAD_START
        (gzip.compress(SEALED[:100]), "coupée dans sa première ligne"),
        (gzip.compress(b""), "coupée dans sa première ligne"),
        (gzip.compress(SEALED)[:30], "incomplet"),  # the gzip cut inside the first line
        (gzip.compress(SEALED_LINES[0][:-1] + b"]\n"), "ligne 1"),
        (
            gzip.compress(SEALED_LINES[0][:-1] + b',"x":' + b"[" * 40 + b"]" * 40 + b"}\n"),
            "imbrique",
        ),
        (gzip.compress(SEALED_LINES[0] + b"\n").replace(b"\x08\x00", b"\x08\xe0", 1), "gzip"),
    ],
    ids=[
        "cut in its format",
        "cut in its head",
        "empty",
        "gzip cut",
        "not JSON",
        "too deep",
        "gzip flags",
    ],
)
def test_a_damaged_first_line_of_a_snapshot_v2_says_so(data: bytes, message: str) -> None:
    """A file that begins as a /2 is one: its damage is said, it is not read as a /1."""
    with pytest.raises(ProtocolError, match=message) as refused:
        SnapshotReader(io.BytesIO(data))
    assert not isinstance(refused.value, NotSnapshotLines)


def test_a_head_over_the_line_cap_is_refused_as_a_snapshot_v2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapshot_lines, "MAX_SNAPSHOT_LINE_BYTES", 1_000)
    head = {**head_example(), "padding": "x" * 2_000}
    with pytest.raises(ProtocolError, match="dépasse 1000 octets"):
        SnapshotReader(io.BytesIO(gzip.compress(dump_json(head) + b"\n")))


def test_a_line_over_its_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot_lines, "MAX_SNAPSHOT_LINE_BYTES", 1_000)
    long_line = b'{"t":"site","id":"' + b"X" * 2_000 + b'"}\n'
    data = SEALED_LINES[0] + b"\n" + long_line + SEALED
    with pytest.raises(ProtocolError, match="dépasse 1000 octets"):
        read(gzip.compress(data))


def test_a_gzip_bomb_is_refused_at_the_total_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """64 MiB of newline-free zeros, 64 KB gzip'd: decompressed 1 MiB at a time, refused once
    past the cap, never held whole."""
    monkeypatch.setitem(snapshot_lines.MAX_DOCUMENT_BYTES, "pn-replica-snapshot/2", 4 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = compressor.compress(b"".join(line + b"\n" for line in SEALED_LINES))
    bomb += b"".join(compressor.compress(b"0" * (1 << 20)) for _ in range(64))
    bomb += compressor.flush()
    assert len(bomb) < 100_000
    reader = SnapshotReader(io.BytesIO(bomb))
    with pytest.raises(DocumentTooLarge):
        list(reader.changes())


def test_an_integer_past_pythons_digit_limit_is_not_json() -> None:
    """json.loads raises a bare ValueError for an integer over 4,300 digits: refused as a line
    that is not JSON, not an unexpected error."""
    huge = b"9" * 5_000
    change = b'{"t":"revocation","code":"X","reason":"lost","on":' + huge + b"}\n"
    with pytest.raises(ProtocolError, match="ligne 2 de la réplique n'est pas du JSON valide"):
        read(gzip.compress(SEALED_LINES[0] + b"\n" + change + SEALED))


def test_a_line_nested_too_deep_is_refused() -> None:
    deep = b'{"t":"site","id":' + b"[" * 40 + b"]" * 40 + b"}\n"
    with pytest.raises(ProtocolError, match="ligne 2 imbrique"):
        read(gzip.compress(SEALED_LINES[0] + b"\n" + deep + SEALED))


def test_the_reader_holds_a_line_at_a_time() -> None:
    """200,000 changes, 17 MB of lines: read through, the reader never holds more than a few
    MB (a chunk read, a chunk decompressed, the line it parses), not the file."""
    out = io.BytesIO()
    writer = SnapshotWriter(out, head_example())
    body = '{"t":"site","id":"SITE-%06d","name":"Médiathèque de la commune n° %06d"}'
    for start in range(0, 200_000, 10_000):
        writer.write_changes([body % (n, n) for n in range(start, start + 10_000)])
    writer.finish(sign_document(writer.seal(), REGION_KEY, region_signer(REGION_ID)))
    out.seek(0)
    tracemalloc.start()
    try:
        reader = SnapshotReader(out)
        count = sum(1 for _change in reader.changes())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == reader.seal["changes"] == 200_000
    assert peak < 6 * 1024 * 1024
