"""At the desk: check a pass, redeem it in a session, cancel a redemption, open/close sessions."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, literal_column
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.activity import Activity, TypeActivite, problems, tags_of
from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import local_date
from mediateur_tui.domain.keyboard import Typing
from mediateur_tui.domain.roles import REFUSALS, may
from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE, CheckResult
from mediateur_tui.services.activity import (
    activity_columns,
    activity_of,
    defaults_for,
    last_activity,
)
from mediateur_tui.services.checking import ScanChecker, verdict
from mediateur_tui.store import raw_rows
from mediateur_tui.store.audit import GENESIS_HASH, append_event, next_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.journal_file import Entry, append_or_note, journal_path
from mediateur_tui.store.models import (
    AuditEvent,
    Cancellation,
    DeskSession,
    Operator,
    Redemption,
    RefusedScan,
    stored_id,
)

log = logging.getLogger(__name__)
SESSION_KINDS = {kind.value: kind.label for kind in TypeActivite}


MAX_SESSION_MINUTES = 12 * 60  # the desk's limit, within the Coop's 23 h 59
FIRST_SESSION_MINUTES = 60  # a médiatrice's very first session, before she has habits

SEALED_MESSAGE = "Cet encaissement a déjà été remis à la région : il ne peut plus être annulé ici."


class DeskError(UserError):
    """An action the desk cannot do, with a French message for the user."""


@dataclass(frozen=True)
class RedemptionLine:
    id: str
    code: str
    redeemed_at: datetime
    value_cents: int
    input_method: str


@dataclass(frozen=True)
class Scanned:
    """A scan's verdict, and the line recorded when the pass was redeemed."""

    result: CheckResult
    line: RedemptionLine | None


@dataclass(frozen=True)
class SessionInfo:
    id: int
    title: str
    kind: str
    themes: str
    duration_minutes: int
    started_at: datetime
    activity: Activity

    @classmethod
    def of(cls, row: DeskSession) -> SessionInfo:
        return cls(
            id=stored_id(row.id),
            title=row.title,
            kind=row.kind,
            themes=row.themes,
            duration_minutes=row.duration_minutes,
            started_at=row.started_at,
            activity=activity_of(row),
        )


@dataclass(frozen=True)
class SessionSummary:
    title: str
    started_at: datetime
    ended_at: datetime
    redeemed_count: int
    total_cents: int
    refused_count: int


class Desk:
    """The desk's operations on one database, for one site."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock = system_clock,
        max_replica_age: timedelta = DEFAULT_MAX_REPLICA_AGE,
    ) -> None:
        self._engine = engine
        self._path = Path(str(engine.url.database))
        self.clock = clock
        self.max_replica_age = max_replica_age
        self._checker = ScanChecker(self._path, clock, max_replica_age)

    # --- checking and redeeming -----------------------------------------------------------

    def check(self, text: str, typing: Typing = Typing.UNKNOWN) -> CheckResult:
        """The verdict on a scan, without recording anything (on a raw connection of its own:
        services/checking.py)."""
        return self._checker.check(text, typing)

    def redeem(
        self, session_id: int, operator_id: int, text: str, input_method: str = "scan"
    ) -> CheckResult:
        """The verdict of `record_scan`, for callers that do not show the line."""
        return self.record_scan(session_id, operator_id, text, input_method).result

    def record_scan(
        self,
        session_id: int,
        operator_id: int,
        text: str,
        input_method: str = "scan",
        typing: Typing = Typing.UNKNOWN,
    ) -> Scanned:
        """Checks the scan (which came by `typing`: domain/keyboard.py) and, when redeemable,
        records it in one transaction.

        A refused scan is logged too. The write lock is taken before the check (BEGIN
        IMMEDIATE), so the check's reads are the transaction's own; the unique index on active
        redemptions is the last line of defence. The rows are written on the checker's raw
        connection (store/raw_rows.py) and their journal line appended after the commit.
        """
        try:
            scanned, entry = self._checker.write(
                lambda connection: self._scan_in(
                    connection, session_id, operator_id, text, input_method, typing
                )
            )
        except sqlite3.IntegrityError as error:
            # The pass was taken between our read and our write (then the verdict is now
            # redeemed_here), or the session/operator does not exist: never report a pass as
            # redeemable when nothing was recorded.
            result = self.check(text, typing)
            if result.redeemable:
                raise DeskError(
                    "Encaissement non enregistré : séance ou opérateur introuvable."
                ) from error
            return Scanned(result, None)
        if entry is not None:
            append_or_note(journal_path(self._path), entry)
        result = scanned.result
        log.info("scan %s: %s (session %s)", result.code, result.verdict.value, session_id)
        return scanned

    def _scan_in(
        self,
        connection: sqlite3.Connection,
        session_id: int,
        operator_id: int,
        text: str,
        input_method: str,
        typing: Typing,
    ) -> tuple[Scanned, Entry | None]:
        """The scan's verdict and writes, inside the checker's write transaction; the journal
        line of a redemption."""
        desk_session = raw_rows.read(connection, DeskSession, session_id)
        if desk_session is not None and desk_session["ended_at"] is not None:
            raise DeskError("Cette séance est terminée : ouvrez-en une nouvelle.")
        now = self.clock()
        result = verdict(connection, self._path, text, now, self.max_replica_age, typing)
        if not result.redeemable:
            raw_rows.insert(connection, self._refusal(session_id, operator_id, result))
            return Scanned(result, None), None
        assert result.code is not None  # a redeemable scan has a code
        redemption = Redemption(
            id=uuid.uuid4().hex,
            code=result.code,
            session_id=session_id,
            operator_id=operator_id,
            redeemed_at=now,
            value_cents=result.value_cents,
            input_method=input_method,
            raw_input=result.input,
            provisional=result.provisional,
        )
        details = {
            "id": redemption.id,
            "code": redemption.code,
            "value_cents": redemption.value_cents,
            **({"provisional": True} if redemption.provisional else {}),
        }
        last = connection.execute("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1")
        previous = last.fetchone()
        event = next_event(
            previous[0] if previous else GENESIS_HASH, now, "redemption", operator_id, details
        )
        # The session first: the journal restores it with the redemption if both are lost.
        rows = [] if desk_session is None else [raw_rows.journal_row(DeskSession, desk_session)]
        rows.append(raw_rows.journal_row(Redemption, raw_rows.insert(connection, redemption)))
        rows.append(raw_rows.journal_row(AuditEvent, raw_rows.insert(connection, event)))
        line = RedemptionLine(redemption.id, result.code, now, result.value_cents, input_method)
        return Scanned(result, line), Entry(rows=rows, updates=[])

    def _refusal(
        self, session_id: int | None, operator_id: int | None, result: CheckResult
    ) -> RefusedScan:
        return RefusedScan(
            at=self.clock(),
            session_id=session_id,
            operator_id=operator_id,
            raw_input=result.input,
            code=result.code,
            verdict=result.verdict.value,
            message=result.message,
        )

    # --- cancelling -----------------------------------------------------------------------

    def last_active_redemption(self, session_id: int) -> RedemptionLine | None:
        lines = self.session_redemptions(session_id)
        return lines[-1] if lines else None

    def cancel(self, redemption_id: str, operator_id: int, reason: str) -> None:
        """Cancels a redemption; the pass becomes redeemable again. A reason is required."""
        reason = reason.strip()
        if not reason:
            raise DeskError("Indiquez le motif de l'annulation.")
        with Session(writer(self._engine)) as session:
            redemption = session.get(Redemption, redemption_id)
            if redemption is None or redemption.cancelled_at is not None:
                raise DeskError("Cet encaissement n'existe pas ou est déjà annulé.")
            if redemption.batch_id is not None:
                raise DeskError(SEALED_MESSAGE)
            now = self.clock()
            redemption.cancelled_at = now
            session.add(redemption)
            session.add(
                Cancellation(
                    redemption_id=redemption_id,
                    reason=reason,
                    operator_id=operator_id,
                    cancelled_at=now,
                )
            )
            append_event(
                session,
                now,
                "cancellation",
                operator_id,
                {"id": redemption_id, "code": redemption.code, "reason": reason},
            )
            session.commit()

    # --- sessions -------------------------------------------------------------------------

    def open_session(self, operator_id: int) -> SessionInfo | None:
        """The operator's session that has not ended yet, if any."""
        with Session(self._engine) as session:
            row = session.exec(
                select(DeskSession)
                .where(DeskSession.operator_id == operator_id, col(DeskSession.ended_at).is_(None))
                .order_by(col(DeskSession.started_at).desc())
            ).first()
            return SessionInfo.of(row) if row else None

    def start_session(
        self, operator_id: int, title: str, kind: str, themes: str, duration_minutes: int
    ) -> SessionInfo:
        """A session of `kind` with the operator's defaults (`session_defaults`), the free-text
        themes as its tags."""
        if kind not in SESSION_KINDS:
            raise DeskError(f"Type de séance inconnu : {kind}.")
        defaults = self.session_defaults(operator_id, TypeActivite(kind), duration_minutes)
        activity = replace(defaults, duration_minutes=duration_minutes, tags=tags_of(themes))
        return self.start_activity(operator_id, title, activity)

    def last_activity(self, operator_id: int) -> Activity | None:
        """The activity of the operator's latest session, if she has one."""
        return last_activity(self._engine, operator_id)

    def session_defaults(
        self, operator_id: int, kind: TypeActivite, duration_minutes: int
    ) -> Activity:
        """Today's activity the operator's next session starts with: her previous session's
        kind of work (services/activity.py), else the first session's defaults."""
        today = local_date(self.clock())
        return defaults_for(self._engine, operator_id, kind, today, duration_minutes)

    def next_session_defaults(self, operator_id: int) -> Activity:
        """What the new-session form starts with: the operator's previous session's kind of
        work, its type included, else an individuel of FIRST_SESSION_MINUTES."""
        previous = self.last_activity(operator_id)
        kind = previous.type if previous else TypeActivite.INDIVIDUEL
        return self.session_defaults(operator_id, kind, FIRST_SESSION_MINUTES)

    def start_activity(self, operator_id: int, title: str, activity: Activity) -> SessionInfo:
        """A session recording `activity`, once the Coop's rules accept it (domain/activity.py);
        an atelier's title is the session's."""
        title, activity = _accepted(title, activity)
        desk_session = DeskSession(
            title=title,
            kind=activity.type.value,
            themes=", ".join(activity.tags),
            duration_minutes=activity.duration_minutes,
            operator_id=operator_id,
            started_at=self.clock(),
            **activity_columns(activity),
        )
        with Session(writer(self._engine)) as session:
            _check_may_run_sessions(session, operator_id)
            session.add(desk_session)
            session.flush()
            # An audited transaction goes to the journal: a session with no pass yet (most of
            # the Coop's activity) is rebuilt with its activity if the database loses it.
            append_event(
                session,
                desk_session.started_at,
                "session_started",
                operator_id,
                {"session_id": desk_session.id, "kind": desk_session.kind},
            )
            session.commit()
            session.refresh(desk_session)
            return SessionInfo.of(desk_session)

    def correct_activity(
        self, session_id: int, operator_id: int, title: str, activity: Activity
    ) -> SessionInfo:
        """The session under way, its activity (and title) replaced by `activity` once the
        Coop's rules accept it: what the médiatrice completes or corrects during the session.
        Audited, as the start is: the journal holds the corrected session."""
        title, activity = _accepted(title, activity)
        with Session(writer(self._engine)) as session:
            _check_may_run_sessions(session, operator_id)
            desk_session = session.get(DeskSession, session_id)
            if desk_session is None:
                raise DeskError("Séance introuvable.")
            if desk_session.operator_id != operator_id:
                raise DeskError("Cette séance est celle d'une autre personne.")
            if desk_session.ended_at is not None:
                raise DeskError("Cette séance est terminée : son activité ne se corrige plus ici.")
            desk_session.title = title
            desk_session.kind = activity.type.value
            desk_session.themes = ", ".join(activity.tags)
            desk_session.duration_minutes = activity.duration_minutes
            for column, value in activity_columns(activity).items():
                setattr(desk_session, column, value)
            session.add(desk_session)
            append_event(
                session,
                self.clock(),
                "session_corrected",
                operator_id,
                {"session_id": session_id, "kind": desk_session.kind},
            )
            session.commit()
            session.refresh(desk_session)
            return SessionInfo.of(desk_session)

    def end_session(self, session_id: int) -> SessionSummary:
        with Session(writer(self._engine)) as session:
            desk_session = session.get(DeskSession, session_id)
            if desk_session is None:
                raise DeskError("Séance introuvable.")
            if desk_session.ended_at is None:
                desk_session.ended_at = self.clock()
                session.add(desk_session)
                # Audited, as its start: the journal rebuilds the session ended, not open.
                append_event(
                    session,
                    desk_session.ended_at,
                    "session_ended",
                    desk_session.operator_id,
                    {"session_id": session_id},
                )
                session.commit()
                session.refresh(desk_session)
            lines = self.session_redemptions(session_id)
            refused = session.exec(
                select(func.count()).where(RefusedScan.session_id == session_id)
            ).one()
            return SessionSummary(
                title=desk_session.title,
                started_at=desk_session.started_at,
                ended_at=desk_session.ended_at,
                redeemed_count=len(lines),
                total_cents=sum(line.value_cents for line in lines),
                refused_count=refused,
            )

    def close(self) -> None:
        """Closes the checker's connection (the engine is the site's to dispose)."""
        self._checker.close()

    def session_redemptions(self, session_id: int) -> list[RedemptionLine]:
        """The session's active redemptions, oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Redemption)
                .where(Redemption.session_id == session_id, col(Redemption.cancelled_at).is_(None))
                .order_by(col(Redemption.redeemed_at), literal_column("redemption.rowid"))
            ).all()
            return [
                RedemptionLine(
                    id=row.id,
                    code=row.code,
                    redeemed_at=row.redeemed_at,
                    value_cents=row.value_cents,
                    input_method=row.input_method,
                )
                for row in rows
            ]


def _accepted(title: str, activity: Activity) -> tuple[str, Activity]:
    """The session's title and `activity` once the desk and the Coop accept them (an atelier's
    title is the session's); a DeskError with the French reasons otherwise."""
    title = (activity.title or title).strip() or "Séance"
    if activity.type is TypeActivite.COLLECTIF:
        activity = replace(activity, title=title)
    if not 1 <= activity.duration_minutes <= MAX_SESSION_MINUTES:
        raise DeskError("La durée doit être comprise entre 1 minute et 12 heures.")
    found = problems(activity)
    if found:
        raise DeskError(" ".join(found))
    return title, activity


def _check_may_run_sessions(session: Session, operator_id: int) -> None:
    operator = session.get(Operator, operator_id)
    if operator is None or operator.removed_at is not None:
        raise DeskError("Opérateur inconnu : reconnectez-vous.")
    if not may(operator.role, "new_session"):
        raise DeskError(REFUSALS["new_session"])
