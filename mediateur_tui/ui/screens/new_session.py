"""New session, in La Coop de la médiation numérique's vocabulary (docs/coop-activite.md).

Everything starts with the médiatrice's previous session's kind of work (Desk.next_session
defaults), so that Enter alone starts a session: Enter, in any field, submits the form (Space
ticks, the arrows choose). The essentials show first; F4 shows the rest (démarche, anonymous
counts, beneficiaries' commune, tags). The same form, given the session's title, corrects the
activity of the session under way (F4 on the session screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from mediateur_tui.domain.activity import (
    CUSTOM_DURATION_LABEL,
    DURATION_PRESETS,
    Activity,
    Autonomie,
    Commune,
    Genre,
    Materiel,
    NiveauAtelier,
    StatutSocial,
    StructureDeRedirection,
    TrancheAge,
    TypeActivite,
    TypeLieu,
    duration_label,
    field_problems,
    parse_commune,
    tags_of,
)
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_date, parse_day
from mediateur_tui.domain.keyboard import ends_a_burst
from mediateur_tui.services.desk import MAX_SESSION_MINUTES
from mediateur_tui.ui.widgets.choice_row import ChoiceRow
from mediateur_tui.ui.widgets.counts_grid import CountsGrid
from mediateur_tui.ui.widgets.form_field import OrderedInput
from mediateur_tui.ui.widgets.thematiques_picker import ThematiquesList, ThematiquesPicker

CUSTOM = 0  # the duration row's « Personnaliser »
UNSET = "Non renseigné"
# The widget each field of `Activity` is typed in (domain field_problems names the field).
FIELD_WIDGETS = {
    "duration_minutes": "#duration",
    "thematiques": "#thematiques",
    "equipment": "#equipment",
    "precisions_demarche": "#demarche",
    "place_commune": "#place-commune",
    "autonomie": "#autonomie",
    "redirection": "#redirection",
    "niveau": "#niveau",
    "participants": "#participants",
    "genres": "#genres",
    "tranches_age": "#ages",
    "statuts": "#statuts",
    "beneficiary_commune": "#beneficiary-commune",
    "date": "#date",
}
V = TypeVar("V")
SCAN_IN_FORM = (
    "Une lecture du lecteur est arrivée dans ce formulaire : rien n'est enregistré, et le pass "
    "n'est pas encaissé. Vérifiez les champs, validez avec Entrée, puis scannez le pass."
)
COMMUNE_HINT = "59440:59036:Avesnes-sur-Helpe (code postal:code INSEE:nom)"


@dataclass(frozen=True)
class SessionForm:
    """What the form gives: the session's title and its activity (the desk checks it again)."""

    title: str
    activity: Activity


def _row(label: str, *widgets: Widget, id: str | None = None) -> Horizontal:
    return Horizontal(
        Label(label, classes="activity-label"), *widgets, classes="activity-row", id=id
    )


def _optional(options: Sequence[tuple[str, V]]) -> list[tuple[str, V | None]]:
    return [(UNSET, None), *options]


class NewSessionScreen(ModalScreen[SessionForm | None]):
    BINDINGS = [
        Binding("enter", "start", "Commencer", id="new_session.start"),
        Binding("f4", "details", "Plus de détails", id="new_session.details"),
        Binding("escape", "cancel", "Annuler", id="new_session.cancel"),
    ]
    AUTO_FOCUS = "#type"

    def __init__(self, defaults: Activity, *, title: str | None = None) -> None:
        """`title`: the session's, when the form corrects the activity of a session under way
        (an individuel keeps it)."""
        super().__init__()
        self.defaults = defaults
        self.editing = title is not None
        self.session_title = title

    def compose(self) -> ComposeResult:
        start = self.defaults
        title = "Activité de la séance" if self.editing else "Nouvelle séance"
        action = "enregistrer" if self.editing else "commencer"
        with Vertical(id="new-session"):
            yield Static(f"{title} — compte-rendu pour La Coop", classes="card-title")
            with VerticalScroll(id="form-body"):
                yield from self._essentials(start)
                yield from self._individuel(start)
                yield from self._collectif(start)
                with Vertical(id="details"):
                    yield from self._details(start)
            yield Static("", id="form-message")
            yield Static(
                f"Entrée : {action} · ←/→ : choisir · F4 : plus de détails · Échap : annuler",
                classes="hint",
            )

    def _essentials(self, start: Activity) -> ComposeResult:
        yield _row(
            "Type",
            ChoiceRow([(kind.label, kind) for kind in TypeActivite], [start.type], id="type"),
        )
        yield _row("Date", OrderedInput(value=format_date(start.date), id="date"))
        presets = [(duration_label(minutes), minutes) for minutes in DURATION_PRESETS]
        preset = start.duration_minutes if start.duration_minutes in DURATION_PRESETS else CUSTOM
        yield _row(
            "Durée",
            ChoiceRow([*presets, (CUSTOM_DURATION_LABEL, CUSTOM)], [preset], id="duration"),
            OrderedInput(
                value="" if preset else str(start.duration_minutes),
                placeholder="minutes",
                restrict=r"[0-9]*",
                max_length=4,
                id="duration-custom",
            ),
        )
        places = [(place.label, place) for place in TypeLieu]
        yield _row("Lieu", ChoiceRow(places, [start.place_type], id="place"))
        yield _row(
            "Commune",
            OrderedInput(
                value=_commune_text(start.place_commune),
                placeholder=COMMUNE_HINT,
                id="place-commune",
            ),
            id="place-commune-row",
        )
        yield Label("Thématiques (au moins une)", classes="section")
        yield ThematiquesPicker(start.thematiques, id="thematiques")
        materiel = [(item.label, item) for item in Materiel]
        yield _row("Matériel", ChoiceRow(materiel, start.equipment, multiple=True, id="equipment"))

    def _individuel(self, start: Activity) -> ComposeResult:
        autonomie = _optional([(level.label, level) for level in Autonomie])
        oriented = _optional([("Non", False), ("Oui", True)])
        structures = [(structure.label, structure) for structure in StructureDeRedirection]
        with Vertical(id="individuel"):
            yield _row("Autonomie", ChoiceRow(autonomie, [start.autonomie], id="autonomie"))
            yield _row("Réorienté", ChoiceRow(oriented, [start.oriented], id="oriented"))
            yield _row(
                "Vers",
                ChoiceRow(_optional(structures), [start.redirection], id="redirection"),
                id="redirection-row",
            )

    def _collectif(self, start: Activity) -> ComposeResult:
        niveaux = _optional([(level.label, level) for level in NiveauAtelier])
        participants = start.participants if start.type is TypeActivite.COLLECTIF else None
        with Vertical(id="collectif"):
            yield _row(
                "Atelier",
                OrderedInput(value=start.title or "", placeholder="nom de l'atelier", id="title"),
            )
            yield _row("Niveau", ChoiceRow(niveaux, [start.niveau], id="niveau"))
            yield _row(
                "Participants",
                OrderedInput(
                    value=str(participants or ""),
                    restrict=r"[0-9]*",
                    max_length=4,
                    placeholder="nombre",
                    id="participants",
                ),
            )

    def _details(self, start: Activity) -> ComposeResult:
        yield Label("Plus de détails (facultatif)", classes="section")
        yield _row(
            "Démarche",
            OrderedInput(
                value=start.precisions_demarche or "",
                placeholder="nom de la démarche administrative",
                id="demarche",
            ),
        )
        yield Label("Participants par genre", classes="section")
        yield CountsGrid(Genre, start.genres, id="genres")
        yield Label("Par tranche d'âge", classes="section")
        yield CountsGrid(TrancheAge, start.tranches_age, id="ages")
        yield Label("Par statut", classes="section")
        yield CountsGrid(StatutSocial, start.statuts, id="statuts")
        yield _row(
            "Commune bén.",
            OrderedInput(
                value=_commune_text(start.beneficiary_commune),
                placeholder=COMMUNE_HINT,
                id="beneficiary-commune",
            ),
        )
        yield _row(
            "Étiquettes",
            OrderedInput(value=", ".join(start.tags), placeholder="mots libres", id="tags"),
        )

    def on_mount(self) -> None:
        self.query_one("#details").display = False
        self._show_what_applies()

    @on(ChoiceRow.Changed)
    def _show_what_applies(self) -> None:
        kind = self._choice("#type")
        self.query_one("#individuel").display = kind is TypeActivite.INDIVIDUEL
        self.query_one("#collectif").display = kind is TypeActivite.COLLECTIF
        self.query_one("#duration-custom").display = self._choice("#duration") == CUSTOM
        self.query_one("#place-commune-row").display = (
            self._choice("#place") is not TypeLieu.LIEU_ACTIVITE
        )
        self.query_one("#redirection-row").display = self._choice("#oriented") is True

    def action_details(self) -> None:
        self._focus(self.query_one("#demarche"))

    @on(Input.Submitted)
    @on(ThematiquesList.Submitted)
    def action_start(self) -> None:
        # Opened from the session screen, the form may take a scan meant for the desk.
        if self.editing and ends_a_burst(getattr(self.app, "key_arrivals", ())):
            self._refuse(SCAN_IN_FORM, None)
            return
        try:
            form = self._form()
        except UserError as error:
            self._refuse(str(error), error.field)
            return
        found = field_problems(form.activity)
        if found:
            self._refuse(" ".join(message for _, message in found), found[0][0])
            return
        self.dismiss(form)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _refuse(self, message: str, field: str | None) -> None:
        self.query_one("#form-message", Static).update(message)
        selector = FIELD_WIDGETS.get(field or "")
        if selector == "#duration" and self._choice("#duration") == CUSTOM:
            selector = "#duration-custom"
        if selector is None:
            return
        self._focus(self.query_one(selector))

    def _focus(self, widget: Widget) -> None:
        """Focuses `widget`, showing the F4 part first when it is there: once laid out, so
        that the form scrolls to it."""
        details = self.query_one("#details")
        if details in widget.ancestors and not details.display:
            details.display = True
            self.call_after_refresh(widget.focus)
        else:
            widget.focus()

    def _choice(self, selector: str) -> Any:
        return self.query_one(selector, ChoiceRow).value

    def _text(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def _form(self) -> SessionForm:
        """The activity the fields give; a UserError naming the field when one is unreadable."""
        kind = TypeActivite(self._choice("#type"))
        day = self._day()
        place = TypeLieu(self._choice("#place"))
        individuel = kind is TypeActivite.INDIVIDUEL
        title = self._text("#title") if not individuel else ""
        activity = Activity(
            type=kind,
            date=day,
            duration_minutes=self._duration(),
            place_type=place,
            place_commune=None
            if place is TypeLieu.LIEU_ACTIVITE
            else self._commune("#place-commune", "place_commune"),
            equipment=self.query_one("#equipment", ChoiceRow).values,
            thematiques=self.query_one("#thematiques", ThematiquesPicker).values,
            precisions_demarche=self._text("#demarche") or None,
            autonomie=self._choice("#autonomie") if individuel else None,
            oriented=self._choice("#oriented") if individuel else None,
            redirection=self._redirection() if individuel else None,
            title=title or None,
            niveau=None if individuel else self._choice("#niveau"),
            participants=None if individuel else self._participants(),
            genres=self.query_one("#genres", CountsGrid).counts,
            tranches_age=self.query_one("#ages", CountsGrid).counts,
            statuts=self.query_one("#statuts", CountsGrid).counts,
            beneficiary_commune=self._commune("#beneficiary-commune", "beneficiary_commune"),
            tags=tags_of(self.query_one("#tags", Input).value),
        )
        title = title or self.session_title or f"Séance du {format_date(day)}"
        return SessionForm(title=title, activity=activity)

    def _day(self) -> date:
        try:
            return parse_day(self._text("#date"))
        except ValueError:
            raise UserError(
                "Date illisible : tapez-la JJ/MM/AAAA, par ex. 28/11/2026.", "date"
            ) from None

    def _duration(self) -> int:
        preset = self._choice("#duration")
        if preset != CUSTOM:
            return int(str(preset))
        text = self._text("#duration-custom")
        if not text.isdigit() or not 1 <= int(text) <= MAX_SESSION_MINUTES:
            raise UserError(
                "La durée doit être un nombre de minutes entre 1 et "
                f"{MAX_SESSION_MINUTES} (12 heures).",
                "duration_minutes",
            )
        return int(text)

    def _participants(self) -> int | None:
        text = self._text("#participants")
        return int(text) if text.isdigit() else None

    def _redirection(self) -> StructureDeRedirection | None:
        if self._choice("#oriented") is not True:
            return None
        structure: StructureDeRedirection | None = self._choice("#redirection")
        return structure

    def _commune(self, selector: str, field: str) -> Commune | None:
        text = self._text(selector)
        if not text:
            return None
        try:
            return parse_commune(text)
        except UserError as error:
            raise UserError(str(error), field) from None


def _commune_text(commune: Commune | None) -> str:
    if commune is None:
        return ""
    parts = [commune.code_postal, commune.code_insee] + ([commune.nom] if commune.nom else [])
    return ":".join(parts)
