"""The journal file (store/journal_file.py): whole lines, whatever the writes take, and cut lines
told apart from damage."""

from __future__ import annotations

import os

import pytest

from mediateur_tui.store import journal_file
from mediateur_tui.store.errors import JournalDamaged
from mediateur_tui.store.journal_file import Entry


def event_entry(event_id: int) -> Entry:
    return Entry(
        rows=[{"table": "audit_event", "values": {"id": event_id, "hash": "h"}}], updates=[]
    )


def test_a_short_write_is_continued_until_the_line_is_whole(tmp_path, monkeypatch):
    real_write = os.write
    calls = []

    def at_most_ten_bytes(descriptor, data):
        calls.append(len(data))
        return real_write(descriptor, bytes(data[:10]))

    monkeypatch.setattr(journal_file.os, "write", at_most_ten_bytes)
    target = tmp_path / "mediateur.journal"
    journal_file.append(target, event_entry(1))
    journal_file.append(target, event_entry(2))
    assert len(calls) > 2
    assert [entry.rows[0]["values"]["id"] for entry in journal_file.read(target)] == [1, 2]
    assert journal_file.last_event_id(target) == 2


def test_an_entry_after_a_cut_line_starts_a_line_of_its_own(tmp_path):
    target = tmp_path / "mediateur.journal"
    journal_file.append(target, event_entry(1))
    with target.open("ab") as stream:
        stream.write(b'{"rows": [{"tab')
    assert journal_file.last_event_id(target) == 1
    journal_file.append(target, event_entry(3))
    assert journal_file.last_event_id(target) == 3
    found = journal_file.contents(target)
    assert found.cut_lines == 1
    assert [entry.rows[0]["values"]["id"] for entry in found.entries] == [1, 3]
    journal_file.rewrite_without_cuts(target)
    assert journal_file.contents(target).cut_lines == 0
    assert len(target.read_bytes().splitlines()) == 2


def test_an_unreadable_line_no_cut_explains_is_damage(tmp_path):
    target = tmp_path / "mediateur.journal"
    journal_file.append(target, event_entry(1))
    with target.open("ab") as stream:
        stream.write(b'{"rows": [\n')
    journal_file.append(target, event_entry(2))
    with pytest.raises(JournalDamaged):
        journal_file.contents(target)
