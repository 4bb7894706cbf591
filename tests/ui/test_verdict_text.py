"""The words of the verdicts (ui/widgets/verdict_panel.py): the plain line, the summary of an
image's codes, and the bells of each kind. Pure functions: no app needed."""

from __future__ import annotations

from mediateur_tui.domain.codes import format_code, make_code
from mediateur_tui.domain.verdicts import CheckResult, Verdict
from mediateur_tui.ui.widgets.verdict_panel import (
    MAX_SUMMARY_ROWS,
    Outcome,
    VerdictKind,
    plain_line,
    render_summary,
    ring,
    summary_line,
    verdict_kind,
)

CODE = make_code("123456789012")


def result(verdict: Verdict, warnings: list[str] | None = None) -> CheckResult:
    return CheckResult(CODE, CODE, verdict, f"Phrase de {verdict.value}.", warnings=warnings or [])


def test_each_verdict_has_its_kind():
    assert verdict_kind(result(Verdict.VALID)) is VerdictKind.ACCEPTED
    assert verdict_kind(result(Verdict.GRACE)) is VerdictKind.WARNING
    assert verdict_kind(result(Verdict.VALID, ["Réplique ancienne."])) is VerdictKind.WARNING
    assert verdict_kind(result(Verdict.REDEEMED_HERE), notice=True) is VerdictKind.NOTICE
    assert verdict_kind(result(Verdict.EXPIRED, ["Réplique ancienne."])) is VerdictKind.REFUSED


def test_the_plain_line_says_word_label_code_sentence_and_warnings():
    line = plain_line(result(Verdict.VALID, ["Réplique ancienne."]), note="Note.")
    assert line == (
        f"✔ ACCEPTÉ AVEC AVERTISSEMENT : Pass valide, code {format_code(CODE)}. "
        "Phrase de valid. Avertissement : Réplique ancienne. Note."
    )
    malformed = CheckResult("xyz", None, Verdict.MALFORMED, "Code illisible.")
    assert plain_line(malformed) == "✘ REFUSÉ : Code mal saisi. Code illisible."


def test_a_summary_counts_alike_verdicts_together_and_keeps_every_failure():
    outcomes = [
        Outcome(CODE, result(Verdict.VALID)),
        Outcome(CODE, result(Verdict.EXPIRED)),
        Outcome(CODE, result(Verdict.VALID)),
        Outcome(CODE, result(Verdict.EXPIRED)),
        Outcome("PN1:" + "X" * 60, None, failure="Erreur inattendue."),
    ]
    rows = render_summary("planche.png", outcomes).plain.splitlines()
    assert rows[0] == (
        "5 codes lus dans planche.png : 2 encaissés, 2 refusés (pass expiré), 1 non lu (erreur)"
    )
    assert rows[5] == f"✘ REFUSÉ      PN1:{'X' * 19}…  non lu : Erreur inattendue."
    line = summary_line("planche.png", outcomes)
    assert line.count("✘ REFUSÉ : ") == 3  # every code not taken, none of those taken
    assert "\n" not in line


def test_a_long_summary_shows_its_first_rows_and_how_many_more():
    outcomes = [Outcome(CODE, result(Verdict.VALID))] * (MAX_SUMMARY_ROWS + 3)
    rows = render_summary("carnet.png", outcomes).plain.splitlines()
    assert len(rows) == 1 + MAX_SUMMARY_ROWS + 1
    assert rows[-1] == "… et 3 autres lectures (historique)"


class Bells:
    """An app's bell and timer, recorded."""

    def __init__(self) -> None:
        self.rung = 0
        self.timers: list[float] = []

    def bell(self) -> None:
        self.rung += 1

    def set_timer(self, delay: float, callback) -> None:
        self.timers.append(delay)
        callback()


def test_a_refusal_rings_twice_with_a_timed_gap_a_warning_once_the_rest_never():
    rung = {}
    for kind in VerdictKind:
        app = Bells()
        ring(app, kind)  # type: ignore[arg-type]
        rung[kind] = (app.rung, app.timers)
    assert rung == {
        VerdictKind.ACCEPTED: (0, []),
        VerdictKind.WARNING: (1, []),
        VerdictKind.NOTICE: (0, []),
        VerdictKind.REFUSED: (2, [0.3]),
    }
