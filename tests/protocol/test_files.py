"""Reading a document file (protocol/files.py:opened_document_file): a failure to look at or
read the file is refused in French, naming it, without leaking its descriptor; an error of
the caller's own work in the block is not relabelled as the file's."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest

from mediateur_tui.protocol import files
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import opened_document_file

PROC_FD = Path("/proc/self/fd")  # the process's open descriptors (Linux)


def open_descriptors() -> int:
    return len(os.listdir(PROC_FD))


needs_proc_fd = pytest.mark.skipif(not PROC_FD.is_dir(), reason="Linux's /proc/self/fd")


class FailingFileIO(io.FileIO):
    """A file whose every read fails as a USB key pulled out does (EIO)."""

    def readinto(self, buffer: object) -> int:
        raise OSError(errno.EIO, "Input/output error")


@needs_proc_fd
def test_a_failing_fstat_is_refused_in_french_and_closes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "replique.json.gz"
    path.write_bytes(b"{}")

    def failing_fstat(descriptor: int) -> os.stat_result:
        raise OSError(errno.EIO, "Input/output error")

    before = open_descriptors()
    monkeypatch.setattr(files.os, "fstat", failing_fstat)
    with (
        pytest.raises(ProtocolError, match=f"Fichier illisible : {path}"),
        opened_document_file(path),
    ):
        pass
    monkeypatch.undo()
    assert open_descriptors() == before


def test_a_failing_read_is_refused_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "replique.json.gz"
    path.write_bytes(b"{}")
    monkeypatch.setattr(files.io, "FileIO", FailingFileIO)
    with (
        opened_document_file(path) as stream,
        pytest.raises(ProtocolError, match=f"Fichier illisible : {path}") as refused,
    ):
        stream.read(10)
    assert isinstance(refused.value.__cause__, OSError)
    assert refused.value.__cause__.errno == errno.EIO


@needs_proc_fd
def test_an_error_of_the_callers_block_is_not_said_of_the_file(tmp_path: Path) -> None:
    """The whole import runs in the block: its own OSError (the database's disk full) is not
    « Fichier illisible »."""
    path = tmp_path / "replique.json.gz"
    path.write_bytes(b"{}")
    before = open_descriptors()
    with (
        pytest.raises(OSError, match="No space left") as raised,
        opened_document_file(path) as stream,
    ):
        assert stream.read() == b"{}"
        raise OSError(errno.ENOSPC, "No space left on device")
    assert not isinstance(raised.value, ProtocolError)
    assert open_descriptors() == before
