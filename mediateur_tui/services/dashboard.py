"""Figures for the home screen: replica, passes waiting to be remitted, this month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.formatting import LOCAL_TZ, local_date
from mediateur_tui.services.backup import BackupStatus
from mediateur_tui.services.desk import SessionInfo
from mediateur_tui.services.sync import SyncStatus
from mediateur_tui.store.models import Redemption
from mediateur_tui.store.queries import replica_meta


@dataclass(frozen=True)
class HomeStats:
    replica_updated_at: datetime | None
    replica_pass_count: int
    waiting_count: int
    waiting_cents: int
    month_start: date
    month_count: int
    month_cents: int
    per_day: list[int]  # redemptions on each day of the month so far


@dataclass(frozen=True)
class HomeView:
    """What the home screen shows."""

    stats: HomeStats
    sync: SyncStatus
    open_session: SessionInfo | None
    unsent_attributions: int  # carnets handed out here, not yet sent to the region
    backup: BackupStatus
    distributor: bool  # this site may hand out carnets (it has the beneficiary key)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


def home_stats(engine: Engine, clock: Clock = system_clock) -> HomeStats:
    today = local_date(clock())
    month_start = today.replace(day=1)
    active = col(Redemption.cancelled_at).is_(None)
    with Session(engine) as session:
        meta = replica_meta(session)
        # Waiting: taken, and not yet sealed into a monthly batch.
        waiting_count, waiting_cents = session.exec(
            select(func.count(), func.coalesce(func.sum(Redemption.value_cents), 0)).where(
                active, col(Redemption.batch_id).is_(None)
            )
        ).one()
        month_rows = session.exec(
            select(Redemption.redeemed_at, Redemption.value_cents).where(
                active, Redemption.redeemed_at >= local_midnight(month_start)
            )
        ).all()
    per_day = [0] * today.day
    for redeemed_at, _ in month_rows:
        day = local_date(redeemed_at)
        if month_start <= day <= today:
            per_day[day.day - 1] += 1
    return HomeStats(
        replica_updated_at=meta.updated_at if meta else None,
        replica_pass_count=meta.pass_count if meta else 0,
        waiting_count=waiting_count,
        waiting_cents=waiting_cents,
        month_start=month_start,
        month_count=sum(per_day),
        month_cents=sum(cents for _, cents in month_rows),
        per_day=per_day,
    )


def age_text(updated_at: datetime | None, now: datetime) -> str:
    """'à l'instant', 'il y a 2 h', 'il y a 9 jours', 'jamais mise à jour'."""
    if updated_at is None:
        return "jamais mise à jour"
    age = now - updated_at
    if age < timedelta(minutes=1):
        return "à l'instant"
    if age < timedelta(hours=1):
        return f"il y a {max(0, int(age.total_seconds() // 60))} min"
    if age < timedelta(days=1):
        return f"il y a {int(age.total_seconds() // 3600)} h"
    return f"il y a {age.days} jour{'s' if age.days > 1 else ''}"
