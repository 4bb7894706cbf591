"""Documents on files, the protocol's USB-key route, for both programs: a document read
within its format's cap, and files written whole or not at all.

Every file either program writes is readable by its owner only (0600): batches, exports,
requests, acknowledgements, printer files and statements name passes, people's references
or secrets.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.french_cli import os_error_text
from mediateur_tui.protocol.documents import DocumentTooLarge, load_json
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.formats import MAX_DOCUMENT_BYTES


def read_document_file(path: Path, expected_format: str) -> dict[str, Any]:
    """A `.json.gz` or plain JSON document of `expected_format`, parsed but not yet verified.
    No more of the file is read than its format's cap: a larger file is refused."""
    limit = MAX_DOCUMENT_BYTES[expected_format]
    with opened_document_file(path) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(expected_format)
    return load_json(data, expected_format)


@contextmanager
def opened_document_file(path: Path) -> Iterator[IO[bytes]]:
    """`path` opened for reading bytes, refused (ProtocolError, French) unless it is a regular
    file; a failure of the stream's `read` in the block is refused the same way (what else
    the block does raises as it is)."""
    try:
        # O_NONBLOCK: a FIFO (or a device) opens at once, and is then refused below.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise ProtocolError(f"Fichier introuvable : {path}") from error
    except OSError as error:
        raise _unreadable(path, error) from error
    try:
        kind = os.fstat(descriptor).st_mode
    except OSError as error:
        os.close(descriptor)
        raise _unreadable(path, error) from error
    if not stat.S_ISREG(kind):
        os.close(descriptor)
        what = "un dossier" if stat.S_ISDIR(kind) else "un tube ou un périphérique"
        raise ProtocolError(
            f"« {path} » est {what}, pas un fichier : donnez le fichier du document."
        )
    with _FileReader(descriptor, path) as stream:
        yield stream


class _FileReader(io.BufferedReader):
    """A file's buffered reader whose `read` failing (a USB key pulled out while it is read)
    is refused in French, naming the file."""

    def __init__(self, descriptor: int, path: Path) -> None:
        super().__init__(io.FileIO(descriptor, "r"))
        self._path = path

    def read(self, size: int | None = -1, /) -> bytes:
        try:
            return super().read(size)
        except OSError as error:
            raise _unreadable(self._path, error) from error


def _unreadable(path: Path, error: OSError) -> ProtocolError:
    return ProtocolError(f"Fichier illisible : {path} ({os_error_text(error)}).")


def write_file(path: Path, data: bytes) -> Path:
    """Writes `path` whole or not at all, readable by its owner only (a USB key pulled out
    mid-write never leaves half a document)."""
    with _whole_and_private(path, "wb") as stream:
        stream.write(data)
    return path


@contextmanager
def private_text_file(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """`path` opened for writing text (a CSV), readable by its owner only and written whole
    or not at all: it appears when the block ends without error."""
    with _whole_and_private(path, "w", encoding=encoding, newline="") as stream:
        yield stream


@contextmanager
def private_binary_file(path: Path) -> Iterator[IO[bytes]]:
    """`path` opened for writing bytes as they come (an archive), readable by its owner only
    and written whole or not at all."""
    with _whole_and_private(path, "wb") as stream:
        yield stream


def keep_private(path: Path) -> bool:
    """Sets `path` back to 0600 if it exists with a wider mode (a copy made by hand);
    whether it had to."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    os.chmod(path, 0o600)
    return True


def create_private(path: Path) -> None:
    """Creates `path` empty and 0600 if it does not exist (before a library opens it with
    its own, wider, mode), or sets it back to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        keep_private(path)


@contextmanager
def _whole_and_private(path: Path, mode: str, **options: Any) -> Iterator[IO[Any]]:
    """A new private temporary file (0600, even where `path` existed with a wider mode),
    synced to disk, then renamed over `path`; removed if the block fails."""
    if not path.name or path.is_dir():
        raise UserError(f"« {path} » est un dossier : donnez le nom du fichier à écrire.")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:  # said of the file asked for, not of the hidden temporary one
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(descriptor, mode, **options) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        temporary.unlink(missing_ok=True)
