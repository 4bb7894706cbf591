"""The activity beside a site's payments in its statement: sessions, hours, participants,
passes and euros, in all and by thématique of La Coop de la médiation numérique.

The sessions are those of the site's batches of the period (the sessions its remitted lines
belong to), each with the activity summary its batch carried (protocol/activity.py). A
session's passes and euros are its lines that the region pays (the statement's counted
lines). A session with several thématiques counts in each of them: the thématique rows do
not add up to the total.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from mediateur_tui.domain.activity import Thematique
from mediateur_tui.domain.activity_report import NO_THEMATIQUE_LABEL, hours_text
from mediateur_tui.domain.formatting import format_euros, plural
from mediateur_tui.hub.models import HubBatchSession
from mediateur_tui.protocol.activity import ActivitySummary, parse_summary

NOT_SENT = "activité non transmise"
ALL_THEMES = "Toutes thématiques"


@dataclass(frozen=True)
class ActivityRow:
    """What a set of sessions amounts to."""

    label: str
    sessions: int
    minutes: int
    participants: int
    passes: int
    cents: int


@dataclass(frozen=True)
class PaidLine:
    """A line the region pays, by its session."""

    batch_id: str
    session_id: int | None
    cents: int


@dataclass(frozen=True)
class SiteActivity:
    total: ActivityRow  # every session that carried its activity
    by_theme: list[ActivityRow]  # in the Coop's order; sessions without thématique last
    without_activity: int  # sessions of the period that carried none (an older site)

    @property
    def sent(self) -> bool:
        return self.total.sessions > 0 or self.total.passes > 0


@dataclass(frozen=True)
class _Session:
    minutes: int
    summary: ActivitySummary
    passes: int
    cents: int
    counted: bool  # False: counted in an earlier period's statement (only its passes here)


def site_activity(
    sessions: Iterable[HubBatchSession],
    paid: Iterable[PaidLine],
    counted_before: Collection[int] = (),
) -> SiteActivity:
    """The activity of one site's `sessions` (those of the period's batches), with the `paid`
    lines of each. A session is counted once: a session sent again in a later batch (its
    passes taken after midnight on the month's last day, a batch sealed again) adds only its
    passes, and one `counted_before` (in an earlier period) only its passes too."""
    passes: dict[int, list[int]] = {}
    for line in paid:
        if line.session_id is not None:
            passes.setdefault(line.session_id, []).append(line.cents)
    described: list[_Session] = []
    seen: set[int] = set()
    without = 0
    for row in sessions:
        if row.session_id in seen:
            continue
        seen.add(row.session_id)
        if row.activity is None:
            without += 1
            continue
        summary = parse_summary(json.loads(row.activity), f"Séance {row.session_id}")
        cents = passes.get(row.session_id, [])
        counted = row.session_id not in counted_before
        described.append(_Session(row.duration_minutes, summary, len(cents), sum(cents), counted))
    by_theme = [
        _row(theme.label, [s for s in described if theme in s.summary.thematiques])
        for theme in Thematique
    ]
    by_theme.append(_row(NO_THEMATIQUE_LABEL, [s for s in described if not s.summary.thematiques]))
    return SiteActivity(
        total=_row(ALL_THEMES, described),
        by_theme=[row for row in by_theme if row.sessions or row.passes],
        without_activity=without,
    )


def _row(label: str, sessions: list[_Session]) -> ActivityRow:
    counted = [s for s in sessions if s.counted]
    return ActivityRow(
        label=label,
        sessions=len(counted),
        minutes=sum(s.minutes for s in counted),
        participants=sum(s.summary.participants for s in counted),
        passes=sum(s.passes for s in sessions),
        cents=sum(s.cents for s in sessions),
    )


def activity_sentence(activity: SiteActivity) -> str:
    """The statement's activity in one French sentence (the command line's)."""
    if not activity.sent:
        return f"Activité : {NOT_SENT}."
    total = activity.total
    text = (
        f"Activité : {plural(total.sessions, 'séance')}, {hours_text(total.minutes)}, "
        f"{plural(total.participants, 'participant')}, "
        f"{plural(total.passes, 'pass accepté', 'pass acceptés')} pour {format_euros(total.cents)}"
    )
    if activity.without_activity:
        text += f" ; {plural(activity.without_activity, 'séance')} sans activité transmise"
    return text + "."
