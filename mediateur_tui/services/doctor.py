"""`mediateur-tui doctor`: is the site's data whole, and `--repair` what can be mended.

It checks the database file (`PRAGMA integrity_check`), the hash chain of its audit log, the
hash chain of the journal (store/journal.py), and that the two chains are the same. A database
that lost its last transactions (the `-wal` file lost after a crash) is behind its journal:
`repair` writes the lost rows and audit events back, in one transaction. A journal behind the
database (a line that could not be written, disk full) gets the missing events appended.
A damaged file is not repaired here: restore the last backup, then run the repair, which
replays whatever the journal holds beyond it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mediateur_tui.domain.errors import UserError
from mediateur_tui.store import journal, journal_file
from mediateur_tui.store.audit import intact_length
from mediateur_tui.store.engine import integrity_problems, writer
from mediateur_tui.store.errors import DatabaseDamaged, JournalDamaged
from mediateur_tui.store.journal_file import Entry, journal_path
from mediateur_tui.store.models import AuditEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Diagnosis:
    findings: list[str]  # in French, one per problem found (empty: healthy)
    facts: list[str]  # in French, what was checked and found sound
    lost_entries: list[Entry]  # journal lines whose transactions the database lacks
    unjournaled: list[AuditEvent]  # audit events of the database the journal lacks
    damaged: bool  # the file itself, or a chain: not repairable here
    cut_lines: int = 0  # journal lines cut by a crash or a full disk

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def repairable(self) -> bool:
        return not self.damaged and bool(self.lost_entries or self.unjournaled or self.cut_lines)


@dataclass(frozen=True)
class Repair:
    restored_events: int  # audit events written back into the database
    journaled_events: int  # audit events appended to the journal


def examine(engine: Engine, database: Path) -> Diagnosis:
    findings: list[str] = []
    facts: list[str] = []
    problems = integrity_problems(engine)
    if problems:
        findings.append(f"Fichier de base de données endommagé : {'; '.join(problems[:3])}.")
        return Diagnosis(findings, facts, [], [], damaged=True)
    facts.append("Fichier de base de données intact (contrôle d'intégrité SQLite).")
    with Session(engine) as session:
        stored = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())
    try:
        contents = journal_file.contents(journal_path(database))
    except JournalDamaged as error:
        findings.append(str(error))
        return Diagnosis(findings, facts, [], [], damaged=True)
    entries = sorted(contents.entries, key=lambda entry: min(_ids(entry), default=0))
    journaled = [event for entry in entries for event in journal.audit_events(entry)]
    # The lines that were cut, or never written (a full disk): their transactions are in the
    # database, which fills the journal's gaps.
    missing = _gaps(stored, journaled)
    journaled = sorted([*journaled, *missing], key=lambda event: event.id or 0)
    if contents.cut_lines:
        findings.append(
            f"{contents.cut_lines} ligne(s) coupée(s) dans le fichier journal (écriture "
            "interrompue : arrêt brutal ou disque plein). « doctor --repair » réécrit le journal "
            "sans elle(s) et y remet ce que la base a gardé."
        )
    damaged = False
    if intact_length(stored) < len(stored):
        number = stored[intact_length(stored)].id
        findings.append(f"Journal d'audit de la base altéré à l'événement n° {number}.")
        damaged = True
    if intact_length(journaled) < len(journaled):
        findings.append(
            f"Fichier journal altéré à son événement n° {intact_length(journaled) + 1}."
        )
        damaged = True
    if damaged:
        return Diagnosis(findings, facts, [], [], damaged=True)
    facts.append(f"Journal d'audit de la base intact : {len(stored)} événements.")
    facts.append(f"Fichier journal intact : {len(journaled)} événements.")
    common = _common_length([e.hash for e in stored], [e.hash for e in journaled])
    lost, unjournaled = journaled[common:], [*missing, *stored[common:]]
    if lost and unjournaled:
        findings.append(
            f"La base et le journal divergent après l'événement n° {common} : ni l'un ni "
            "l'autre ne peut compléter l'autre. Restaurez la dernière sauvegarde."
        )
        return Diagnosis(findings, facts, [], [], damaged=True)
    lost_hashes = {event.hash for event in lost}
    lost_entries = [entry for entry in entries if lost_hashes & set(entry.event_hashes)]
    if lost:
        findings.append(
            f"{len(lost)} événement(s) du journal manquent dans la base (dont "
            f"{_count(lost, 'redemption')} encaissement(s)) : ses derniers enregistrements "
            "ont été perdus (fichier -wal ?). « doctor --repair » les remet."
        )
    if unjournaled:
        findings.append(
            f"{len(unjournaled)} événement(s) de la base manquent dans le fichier journal. "
            "« doctor --repair » les y ajoute."
        )
    return Diagnosis(findings, facts, lost_entries, unjournaled, False, contents.cut_lines)


def unopenable(error: DatabaseDamaged) -> Diagnosis:
    """The diagnosis of a file too damaged for SQLite to open."""
    finding = (
        f"Fichier de base de données endommagé : {error.problem}. Restaurez la dernière "
        "sauvegarde : mediateur-tui restore FICHIER --replace (le journal remet ce qui a été "
        "fait depuis)."
    )
    return Diagnosis([finding], [], [], [], damaged=True)


def repair(engine: Engine, database: Path) -> Repair:
    """Mends what `examine` found repairable; UserError when the damage is beyond it."""
    diagnosis = examine(engine, database)
    if diagnosis.damaged:
        raise UserError(
            "Réparation impossible : " + " ".join(diagnosis.findings) + " Restaurez la dernière "
            "sauvegarde : mediateur-tui restore FICHIER --replace (le journal remet ce qui a été "
            "fait depuis)."
        )
    restored = sum(len(entry.event_hashes) for entry in diagnosis.lost_entries)
    if diagnosis.lost_entries:
        with writer(engine).begin() as connection:
            for entry in diagnosis.lost_entries:
                journal.replay(connection, entry)
        log.warning("doctor: %s lost audit events written back from the journal", restored)
    if diagnosis.cut_lines:
        journal_file.rewrite_without_cuts(journal_path(database))
    for event in diagnosis.unjournaled:  # a line each: the journal sorts its lines by event
        journal_file.append(journal_path(database), journal.entry_of_events([event]))
    after = examine(engine, database)
    if not after.healthy:  # pragma: no cover - the repair wrote exactly what was missing
        raise UserError("La réparation n'a pas tout rétabli : " + " ".join(after.findings))
    return Repair(restored, len(diagnosis.unjournaled))


def unwritten_journal_lines() -> list[OSError]:
    """The errors of the journal lines this process could not write since the last call
    (the database has their transactions; `repair` writes them)."""
    return journal_file.take_unwritten()


def _common_length(first: list[str], second: list[str]) -> int:
    length = 0
    for one, other in zip(first, second, strict=False):
        if one != other:
            break
        length += 1
    return length


def _ids(entry: Entry) -> list[int]:
    return [event.id or 0 for event in journal.audit_events(entry)]


def _gaps(stored: list[AuditEvent], journaled: list[AuditEvent]) -> list[AuditEvent]:
    """The events of the database the journal lacks before its own last event."""
    if not journaled:
        return []
    have = {event.id for event in journaled}
    last = max(event.id or 0 for event in journaled)
    return [event for event in stored if event.id not in have and (event.id or 0) < last]


def _count(events: list[AuditEvent], kind: str) -> int:
    return sum(1 for event in events if event.kind == kind)
