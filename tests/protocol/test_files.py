"""Reading a document file (protocol/files.py:opened_document_file): a failure to look at or
read the file is refused in French, naming it, without leaking its descriptor; an error of
the caller's own work in the block is not relabelled as the file's."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mediateur_tui.protocol import files
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.files import opened_document_file

PROC_MEM = Path("/proc/self/mem")  # a regular file whose read at offset 0 fails (EIO)


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


pytestmark = pytest.mark.skipif(not PROC_MEM.exists(), reason="Linux's /proc")


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


def test_a_failing_read_is_refused_in_french() -> None:
    with (
        opened_document_file(PROC_MEM) as stream,
        pytest.raises(ProtocolError, match=f"Fichier illisible : {PROC_MEM}"),
    ):
        stream.read(10)


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
