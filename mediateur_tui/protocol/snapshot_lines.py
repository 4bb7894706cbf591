"""The replica snapshot as gzip'd JSON Lines (pn-replica-snapshot/2), written and read a line at
a time, so that neither program holds the region in memory.

The file is gzip'd UTF-8, one JSON object a line, each line ending with "\\n":

1. the head: `format` (pn-replica-snapshot/2), `region_id`, `region_public_key` (the region's
   first key), `until`, `generated_at` and `key_sets`, the fields of a pn-replica-snapshot/1
   but its changes and signature; `format` first, so that the file begins with HEAD_START,
   which tells a /2 from any other file before its first line is whole;
2. one change a line, in order (the compact JSON the hub stores of each);
3. the seal (pn-replica-seal/1): `region_id`, the number of `changes` and `sha256`, the SHA-256
   (hex) of the exact bytes of every line before it, the head's included, each with its "\\n",
   as they are once decompressed. The region signs the seal's canonical bytes.

Ed25519, as the `cryptography` library offers it, signs a message held whole: signing a digest
of the bytes, computed as they stream, keeps both sides in bounded memory. Hashing the raw
bytes read (not a re-encoding of what was parsed) binds exactly what the reader parses: a line
changed, added, removed or moved changes the digest or the count, a truncated file has no seal.
The reader checks the count and the digest; the caller verifies the seal's signature with the
region's keys (which the head's key sets give) before it keeps anything it read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

from mediateur_tui.protocol.documents import (
    GZIP_LEVEL,
    DocumentTooLarge,
    dump_json,
    nesting_depth,
    readable_size,
)
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    MAX_SNAPSHOT_LINE_BYTES,
    REPLICA_SEAL,
    REPLICA_SNAPSHOT_LINES,
)

READ_BYTES = 1024 * 1024  # read from the file, and decompressed, at most this much at a time
# What a pn-replica-snapshot/2 begins with, once decompressed: its head, `format` first, as
# compact JSON. A file that begins otherwise is another document (a pn-replica-snapshot/1);
# one that begins so, or with a start of it (cut short), is a /2, and its damage is said.
HEAD_START = b'{"format":"' + REPLICA_SNAPSHOT_LINES.encode() + b'"'
_GZIP_MAGIC = b"\x1f\x8b"
_TAMPERED = "le fichier a été modifié, ou il est incomplet : réplique refusée, rien n'a été modifié"


class NotSnapshotLines(ProtocolError):
    """A file whose decompressed bytes do not begin with HEAD_START (nor are a start of it):
    not a pn-replica-snapshot/2, whatever else it is."""

    def __init__(self) -> None:
        super().__init__(f"Ce fichier n'est pas une réplique {REPLICA_SNAPSHOT_LINES}.")


def is_rewritten_head(stream: IO[bytes]) -> bool:
    """Whether the stream's first line (gzip'd or not) is a pn-replica-snapshot/2 head
    however it is encoded: a /2 whose head was re-encoded (spaces, keys in another order) no
    longer begins with HEAD_START, so it is read as a /1, and this tells why that failed. Only
    the first line is read, within MAX_SNAPSHOT_LINE_BYTES."""
    try:
        head = _parsed(next(_lines(_decompressed(stream)), b""), 1)
    except ProtocolError:  # damaged gzip, a line too long or too deep, not JSON
        return False
    return isinstance(head, dict) and head.get("format") == REPLICA_SNAPSHOT_LINES


def rewritten_head() -> ProtocolError:
    """The refusal of a /2 whose head was re-encoded (`is_rewritten_head`)."""
    return ProtocolError(f"Réplique mal formée (ligne 1 réécrite) : {_TAMPERED}.")


class SnapshotWriter:
    """Writes a pn-replica-snapshot/2, gzip'd, to `out` as it comes: the head at once, the
    changes page by page, then the seal once the region signed it."""

    def __init__(self, out: IO[bytes], head: dict[str, Any]) -> None:
        self.out = out
        self.region_id: str = head["region_id"]
        self.count = 0
        self.digest = hashlib.sha256()
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip header
        fields = {key: value for key, value in head.items() if key != "format"}
        # `format` first: the file begins with HEAD_START
        self._write(dump_json({"format": REPLICA_SNAPSHOT_LINES, **fields}) + b"\n")

    def write_changes(self, bodies: Sequence[str]) -> None:
        """Changes as compact JSON text (a JSON text holds no raw newline), one a line."""
        if bodies:
            self._write(("\n".join(bodies) + "\n").encode("utf-8"))
            self.count += len(bodies)

    def seal(self) -> dict[str, Any]:
        """The seal of what was written, for the region to sign."""
        return {
            "format": REPLICA_SEAL,
            "region_id": self.region_id,
            "changes": self.count,
            "sha256": self.digest.hexdigest(),
        }

    def finish(self, signed_seal: dict[str, Any]) -> None:
        self.out.write(self.compressor.compress(dump_json(signed_seal) + b"\n"))
        self.out.write(self.compressor.flush())

    def _write(self, data: bytes) -> None:
        self.digest.update(data)
        self.out.write(self.compressor.compress(data))


class SnapshotReader:
    """Reads a pn-replica-snapshot/2 from a binary stream (gzip'd or not): `head` at once
    (NotSnapshotLines when the file does not begin with HEAD_START, ProtocolError when it
    does but its first line is not a head), then `changes()`, after which `seal`
    is the seal, its count and digest checked (its signature is the caller's to verify).
    No more than a line, within MAX_SNAPSHOT_LINE_BYTES, is held at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        chunks = _decompressed(stream)
        start = _start(chunks, len(HEAD_START))
        if not start.startswith(HEAD_START) and not HEAD_START.startswith(start):
            raise NotSnapshotLines()
        self._lines = _lines(itertools.chain((start,), chunks))
        self._digest = hashlib.sha256()
        self._seal: dict[str, Any] | None = None
        self.done = False  # whether `changes()` came to its end (or refused the file)
        first = next(self._lines, b"")
        if not first.endswith(b"\n"):
            raise ProtocolError(f"Réplique coupée dans sa première ligne : {_TAMPERED}.")
        head = _parsed(first, 1)
        if not isinstance(head, dict) or head.get("format") != REPLICA_SNAPSHOT_LINES:
            raise ProtocolError(f"Réplique mal formée (ligne 1) : {_TAMPERED}.")
        self._digest.update(first)
        self.head: dict[str, Any] = head

    def changes(self) -> Iterator[dict[str, Any]]:
        """Each change, in order; ProtocolError (French) at the first line that is not one,
        or at the end when the seal is missing or does not seal these lines."""
        try:
            for count, line in enumerate(self._lines):
                value = _parsed(line, count + 2)
                if isinstance(value, dict) and value.get("format") == REPLICA_SEAL:
                    if len(line) > MAX_DOCUMENT_BYTES[REPLICA_SEAL]:
                        raise DocumentTooLarge(REPLICA_SEAL)
                    self._seal = self._checked_seal(value, count)
                    if next(self._lines, None) is not None:
                        raise ProtocolError(f"Ligne après le sceau de la réplique : {_TAMPERED}.")
                    return
                if not isinstance(value, dict) or not line.endswith(b"\n"):
                    raise ProtocolError(f"Réplique mal formée (ligne {count + 2}) : {_TAMPERED}.")
                self._digest.update(line)
                yield value
            raise ProtocolError(f"Réplique sans son sceau (dernière ligne) : {_TAMPERED}.")
        finally:
            self.done = True

    @property
    def seal(self) -> dict[str, Any]:
        if self._seal is None:
            raise ProtocolError(f"Réplique lue sans son sceau : {_TAMPERED}.")
        return self._seal

    def _checked_seal(self, seal: dict[str, Any], count: int) -> dict[str, Any]:
        region_id = self.head.get("region_id")
        if seal.get("region_id") != region_id:
            raise ProtocolError(
                f"Le sceau de cette réplique est celui de la région « {seal.get('region_id')} », "
                f"or elle se dit de la région « {region_id} » : {_TAMPERED}."
            )
        if seal.get("changes") != count:
            raise ProtocolError(
                f"La réplique contient {count} changement(s), son sceau en annonce "
                f"{seal.get('changes')} : {_TAMPERED}."
            )
        if seal.get("sha256") != self._digest.hexdigest():
            raise ProtocolError(
                f"L'empreinte de la réplique ne correspond pas à son sceau : {_TAMPERED}."
            )
        return seal


def _parsed(line: bytes, number: int) -> Any:
    """The JSON value of the file's line `number` (from 1)."""
    if nesting_depth(line) > MAX_DOCUMENT_DEPTH:
        raise ProtocolError(
            f"Réplique refusée : sa ligne {number} imbrique ses listes et objets sur plus de "
            f"{MAX_DOCUMENT_DEPTH} niveaux."
        )
    try:
        return json.loads(line.decode("utf-8"))
    except ValueError as error:  # not UTF-8, not JSON, an integer past Python's 4,300 digits
        raise ProtocolError(
            f"Fichier illisible : la ligne {number} de la réplique n'est pas du JSON valide "
            "(rien n'a été modifié)."
        ) from error


def _start(chunks: Iterator[bytes], size: int) -> bytes:
    """The first `size` bytes of `chunks` or more (all of them, when there are fewer)."""
    start = b""
    for chunk in chunks:
        start += chunk
        if len(start) >= size:
            break
    return start


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The lines of the decompressed bytes, each with its "\\n" (the last may have none),
    within the line cap and, all together, the format's cap."""
    total_cap = MAX_DOCUMENT_BYTES[REPLICA_SNAPSHOT_LINES]
    total = 0
    pending = b""
    for chunk in chunks:
        total += len(chunk)
        if total > total_cap:
            raise DocumentTooLarge(REPLICA_SNAPSHOT_LINES)
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            _check_line_size(end + 1 - start)
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
        _check_line_size(len(pending))
    if pending:
        yield pending


def _check_line_size(size: int) -> None:
    if size > MAX_SNAPSHOT_LINE_BYTES:
        raise ProtocolError(
            "Réplique refusée : une de ses lignes dépasse "
            f"{readable_size(MAX_SNAPSHOT_LINE_BYTES)}."
        )


def _decompressed(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream's bytes, gunzipped when they are gzip, READ_BYTES at most at a time
    (zlib's `max_length`: a gzip bomb is never expanded past what is read)."""
    data = stream.read(READ_BYTES)
    if data[:2] != _GZIP_MAGIC:
        while data:
            yield data
            data = stream.read(READ_BYTES)
        return
    decompressor = zlib.decompressobj(wbits=31)
    while not decompressor.eof:
        try:
            out = decompressor.decompress(data, READ_BYTES)
        except zlib.error as error:
            raise _damaged() from error
        if not data and not out:
            raise _damaged()  # cut before its end
        if out:
            yield out
        data = decompressor.unconsumed_tail or stream.read(READ_BYTES)
    if decompressor.unused_data or data or stream.read(1):
        raise _damaged()


def _damaged() -> ProtocolError:
    return ProtocolError(
        "Fichier compressé endommagé ou incomplet (gzip illisible) : réplique refusée, "
        "rien n'a été modifié."
    )
