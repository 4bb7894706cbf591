"""The limits every reader applies to a document (protocol.documents.load_json): a size cap
per format, once decompressed, and a nesting depth, both checked before the JSON is parsed."""

from __future__ import annotations

import json
import re
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from contract import FORMATS
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.protocol import documents
from mediateur_tui.protocol.documents import (
    DocumentTooLarge,
    dump_gzip_json,
    dump_json,
    load_json,
    nesting_depth,
)
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    ATTRIBUTIONS,
    BATCH,
    DECLARATION,
    ENROLMENT,
    ENROLMENT_REQUEST,
    KIB,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    MIB,
    REPLICA_PAGE,
    REPLICA_PAGE_COMPACT,
    REPLICA_SNAPSHOT,
    REPLICA_SNAPSHOT_LINES,
    SITE_RECOVERY,
)

from .examples import EXAMPLES

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TOO_DEEP = "imbriqués sur plus de 32 niveaux"


def nested(depth: int, inner: str = "0") -> bytes:
    """A document of `depth` levels: an object with `format`, then arrays."""
    arrays = "[" * (depth - 1) + inner + "]" * (depth - 1)
    return f'{{"format": "{BATCH}", "x": {arrays}}}'.encode()


def gzip_bomb(size: int) -> bytes:
    """`size` spaces, gzip'd at the best ratio (about 1,000 to 1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * MIB
    body = b"".join(compressor.compress(chunk) for _ in range(size // MIB))
    return body + compressor.flush()


def depth_of(value: Any) -> int:
    """The nesting depth by recursion, for the values hypothesis makes (shallow ones)."""
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


# Strings full of what could fool the depth measure: brackets, quotes, backslashes, escapes.
tricky_text = st.text(alphabet='[]{}"\\/ ,:ab\n\té\u2028', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4)
    ),
    max_leaves=40,
)


@given(json_values, st.booleans())
def test_the_depth_measure_is_the_nesting_depth(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    assert nesting_depth(text) == min(depth_of(value), MAX_DOCUMENT_DEPTH + 1)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b'"[[[{"', 0),
        (b'["\\\\", ["\\"[", {}]]', 3),  # an escaped backslash, then an escaped quote
        (b'{"a": "]]][[", "b": [[]]}', 3),
        (b"[" * 1000 + b"]" * 1000, MAX_DOCUMENT_DEPTH + 1),  # counting stops there
        (b"[" * 1000, 1000),  # unbalanced: each opening bracket counts
    ],
)
def test_the_depth_of_some_texts(text: bytes, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_every_format_has_a_size_cap() -> None:
    assert set(MAX_DOCUMENT_BYTES) == set(FORMATS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_examples_are_far_within_the_limits(name: str) -> None:
    document = EXAMPLES[name]()
    data = dump_json(document)
    # As docs/protocol.md says: 4 deep, 5 with key sets (a snapshot's head too) or sessions'
    # activity (batches and declarations), 8 for a recovery (whole batches, acks), 9 for a
    # replica page or snapshot holding a published rulebook.
    depth = {
        SITE_RECOVERY: 8,
        REPLICA_PAGE: 9,
        REPLICA_PAGE_COMPACT: 9,
        REPLICA_SNAPSHOT: 9,
        REPLICA_SNAPSHOT_LINES: 5,
        ENROLMENT: 5,
        BATCH: 5,
        DECLARATION: 5,
    }
    assert nesting_depth(data) <= depth.get(document["format"], 4)
    assert len(data) * 8 < MAX_DOCUMENT_BYTES[document["format"]]
    assert load_json(dump_gzip_json(document), document["format"]) == document


def test_the_protocol_doc_gives_the_caps_of_the_code() -> None:
    rows = re.findall(
        r"^\| (pn-[^|]+) \| (\d+) (KiB|MiB) \|$",
        PROTOCOL_DOC.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    unit = {"KiB": KIB, "MiB": MIB}
    documented = {
        name.strip(): int(amount) * unit[size]
        for names, amount, size in rows
        for name in names.split(",")
    }
    assert documented == MAX_DOCUMENT_BYTES


@pytest.mark.parametrize("compress", [False, True], ids=["json", "gzip"])
@pytest.mark.parametrize("document_format", sorted(FORMATS))
def test_a_document_nested_1000_deep_is_refused_before_parsing(
    document_format: str, compress: bool, monkeypatch
) -> None:
    data = b"[" * 1000 + b"]" * 1000  # 2 KB, which json.loads cannot parse (RecursionError)
    parsed = []
    monkeypatch.setattr(documents.json, "loads", parsed.append)
    with pytest.raises(ProtocolError, match=TOO_DEEP):
        load_json(zlib.compress(data, wbits=31) if compress else data, document_format)
    assert parsed == []


def test_the_depth_limit_is_32() -> None:
    assert load_json(nested(MAX_DOCUMENT_DEPTH), BATCH)["format"] == BATCH
    with pytest.raises(ProtocolError, match=TOO_DEEP):
        load_json(nested(MAX_DOCUMENT_DEPTH + 1), BATCH)


def test_brackets_in_strings_do_not_count() -> None:
    deep_looking = json.dumps("[" * 1000 + '\\"' + "{" * 1000)
    assert load_json(nested(2, deep_looking), BATCH)["x"] == [json.loads(deep_looking)]


def test_a_recursion_error_is_refused_in_french(monkeypatch) -> None:
    """The safety net, should the depth measure ever miss a deep document."""
    monkeypatch.setattr(documents, "nesting_depth", lambda data: 0)
    with pytest.raises(ProtocolError, match=TOO_DEEP):
        load_json(nested(100_000), BATCH)


# The formats with the smaller caps (the larger ones take seconds to fill).
@pytest.mark.parametrize("document_format", [ENROLMENT_REQUEST, ENROLMENT, ATTRIBUTIONS])
def test_a_document_over_its_cap_is_refused(document_format: str) -> None:
    limit = MAX_DOCUMENT_BYTES[document_format]
    padding = " " * (limit - len(f'{{"format": "{document_format}"}}'))
    at_the_cap = f'{{"format": "{document_format}"{padding}}}'.encode()
    assert len(at_the_cap) == limit
    assert load_json(at_the_cap, document_format) == {"format": document_format}
    with pytest.raises(DocumentTooLarge, match="Document trop volumineux"):
        load_json(at_the_cap + b" ", document_format)
    with pytest.raises(DocumentTooLarge):
        load_json(zlib.compress(at_the_cap + b" ", wbits=31), document_format)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(600 * MIB)


@pytest.mark.parametrize("document_format", [ENROLMENT_REQUEST, BATCH])
def test_a_gzip_bomb_is_not_decompressed_past_the_cap(bomb: bytes, document_format: str):
    limit = MAX_DOCUMENT_BYTES[document_format]
    tracemalloc.start()
    try:
        with pytest.raises(DocumentTooLarge):
            load_json(bomb, document_format)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < MIB
    assert peak < 2 * limit + MIB  # the cap (twice: zlib's buffers), not the bomb's 600 MiB


def test_the_caps_read_in_french() -> None:
    assert str(DocumentTooLarge(ENROLMENT_REQUEST)) == (
        "Document trop volumineux : un document pn-enrolment-request/1 fait au plus 4 Ko."
    )
    assert str(DocumentTooLarge(BATCH)).endswith("fait au plus 64 Mo.")
    assert documents.readable_size(1500) == "1500 octets"


@given(st.integers(min_value=4_301, max_value=20_000), st.booleans())
def test_an_integer_past_pythons_digit_limit_is_refused_in_french(
    digits: int, compress: bool
) -> None:
    """json.loads raises a bare ValueError (not a JSONDecodeError) past 4,300 digits."""
    data = f'{{"format": "{BATCH}", "sequence": {"9" * digits}}}'.encode()
    with pytest.raises(ProtocolError, match="ce n'est pas un document JSON valide"):
        load_json(zlib.compress(data, wbits=31) if compress else data, BATCH)


def test_a_truncated_gzip_is_refused() -> None:
    data = dump_gzip_json(EXAMPLES["batch"]())
    with pytest.raises(ProtocolError, match="gzip illisible"):
        load_json(data[: len(data) // 2], BATCH)
