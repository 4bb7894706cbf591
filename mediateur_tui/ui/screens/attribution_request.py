"""Attribution of carnets, step 1: the request (distributeur or responsable, distributor sites).

Identity, day of reception, category, postcode, accompaniment and the proofs that the règlement
in force on the day of reception asks for; the decision is recomputed at every change, in a
thread worker (the reference is an HMAC of the identity, then a couple of indexed queries).
The names only serve to compute the pseudonymous reference: they are never stored nor logged.
Ctrl+S goes on to the carnets (step 2) when the decision is to give some.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Header, Input, Label, Select, Static
from textual.worker import Worker

from mediateur_tui.domain.beneficiaries import Identity, format_reference
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_date, local_date, parse_french_date, plural
from mediateur_tui.domain.roles import ALLOWED_ROLES, REFUSALS
from mediateur_tui.domain.rulebooks import PROOF_LABELS, ProofGroup, Rulebook
from mediateur_tui.services.attribution import (
    Assessment,
    AttributionDesk,
    AttributionInfo,
    RequestForm,
)
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.attribution_carnets import AttributionCarnetsScreen
from mediateur_tui.ui.screens.attributions import AttributionsScreen
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.widgets.form_field import FormField
from mediateur_tui.ui.widgets.keys_footer import KeysFooter
from mediateur_tui.ui.widgets.toggles import TickBox

DATE_FORMAT = "JJ/MM/AAAA"
UNEXPECTED_ERROR = (
    "Erreur inattendue : la demande n'a pas pu être examinée. Réessayez ; si cela se répète, "
    "prévenez le ou la responsable (journal : mediateur.log)."
)


def proof_label(token: str) -> str:
    label = PROOF_LABELS.get(token, token)
    return label[:1].upper() + label[1:]


class AttributionRequestScreen(SiteScreen[None]):
    BINDINGS = [
        # priority: a field of the form always has the focus.
        Binding(
            "ctrl+s",
            "hand_out",
            "Remettre",
            tooltip="Remettre les carnets (demande acceptée)",
            id="attribution_request.hand_out",
            priority=True,
        ),
        Binding(
            "f3",
            "attributions",
            "Attributions",
            tooltip="Attributions de ce lieu et leur état auprès de la région",
            id="attribution_request.list",
        ),
        Binding("escape", "app.pop_screen", "Retour", id="attribution_request.back"),
    ]
    AUTO_FOCUS = "#last-name"
    DESK_HELP = False  # F1 leaves out the guichet and the verdicts of passes
    KEY_NOTES = (
        "[b]Attribution de carnets[/b]\n"
        "Saisissez la demande : la décision du règlement en vigueur le jour de sa réception "
        "s'affiche à chaque changement. Cochez les justificatifs présentés (Espace) ; Tab ou "
        "Entrée passe au champ suivant. Le nom et le prénom ne servent qu'à calculer la "
        "référence du ou de la bénéficiaire : ils ne sont jamais enregistrés. Demande "
        "acceptée : Ctrl+S pour remettre les carnets."
    )

    @dataclass
    class DeskReady(Message, bubble=False):
        desk: AttributionDesk

    @dataclass
    class Unavailable(Message, bubble=False):
        reason: str

    @dataclass
    class Assessed(Message, bubble=False):
        generation: int  # of the form it answers
        answer: Assessment | str  # the decision, or why there is none

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.desk: AttributionDesk | None = None
        self.book: Rulebook | None = None
        self.groups: tuple[ProofGroup, ...] = ()
        self.generation = 0  # one per change of the form: late answers are left out
        self.pending = False  # an assessment of the current form is running
        self.assessment: Assessment | None = None  # of the current form, once answered
        self.closing = False  # the carnets were handed out: going back to the home
        # The documents ticked and the dates typed, kept when the checklist changes (another
        # category): a document shown once stays shown.
        self.ticked: set[str] = set()
        self.dates: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="request-unavailable", classes="message error")
        with VerticalScroll(id="request-form"):
            with Horizontal(classes="request-row"):
                yield Label("Nom")
                yield FormField(id="last-name", compact=True)
                yield Label("Prénom", classes="second")
                yield FormField(id="first-name", compact=True)
            with Horizontal(classes="request-row"):
                yield Label("Date de naissance")
                yield FormField(
                    placeholder=DATE_FORMAT, id="birth-date", max_length=10, compact=True
                )
                yield Label("Demande reçue le", classes="second")
                yield FormField(id="received-on", max_length=10, compact=True)
            with Horizontal(classes="request-row"):
                yield Label("Catégorie")
                yield Select([], prompt="Choisir la catégorie", id="category", compact=True)
            with Horizontal(classes="request-row"):
                yield Label("Code postal")
                yield FormField(id="postcode", max_length=5, restrict=r"[0-9]*", compact=True)
                yield TickBox("Accompagnée par un prescripteur", id="accompanied", compact=True)
            yield Static("Justificatifs présentés", id="proofs-title")
            yield Vertical(id="proofs")
            with Horizontal(classes="request-row", id="establishment-row"):
                yield Label("Établissement")
                yield FormField(id="establishment", compact=True)
        yield Static("", id="decision", classes="tone-panel idle")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"{self.context.operator_name} — attribution de carnets"
        self.query_one("#received-on", Input).value = format_date(self.today())
        self.query_one("#request-unavailable").display = False
        self.query_one("#establishment-row").display = False
        if not self.context.has_role(
            *ALLOWED_ROLES["attribution"]
        ):  # the home refuses; the palette too
            self._show_unavailable(REFUSALS["attribution"])
            return
        self._show_hint("Chargement du règlement…")
        self.load_desk()

    def on_screen_resume(self) -> None:
        """Back from the carnets: what the beneficiary already received may have changed."""
        if not self.closing:
            self.reassess()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("hand_out", "attributions"):
            return self.desk is not None
        return True

    # --- the desk -------------------------------------------------------------------------

    def today(self) -> date:
        return local_date(self.context.site.clock())

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        if worker.group == "assess":
            self.pending = False
            self._show_hint(failure_text(error, UNEXPECTED_ERROR))
            return True
        if worker.group == "desk":
            self._show_unavailable(failure_text(error, UNEXPECTED_ERROR))
            return True
        return False

    @work(thread=True, exclusive=True, group="desk", exit_on_error=False)
    def load_desk(self) -> None:
        try:
            desk = self.context.site.attribution_desk()
            reason = desk.unavailable_reason()
        except UserError as error:
            reason = str(error)
        if reason is not None:
            self.post_message(self.Unavailable(reason))
        else:
            self.post_message(self.DeskReady(desk))

    @on(Unavailable)
    def unavailable(self, message: Unavailable) -> None:
        self._show_unavailable(message.reason)

    def _show_unavailable(self, reason: str) -> None:
        """Only the reason, and Esc."""
        unavailable = self.query_one("#request-unavailable", Static)
        unavailable.update(reason)
        unavailable.display = True
        self.query_one("#request-form").display = False
        self.query_one("#decision").display = False
        self.set_focus(None)
        self.refresh_bindings()

    @on(DeskReady)
    async def desk_ready(self, message: DeskReady) -> None:
        self.desk = message.desk
        self.refresh_bindings()
        await self.update_checklist()
        self.reassess()

    # --- the form -------------------------------------------------------------------------

    @on(Input.Changed)
    async def input_changed(self, event: Input.Changed) -> None:
        if event.input.has_class("proof-date"):
            self.dates[str(event.input.id)] = event.value
        if event.input.id == "received-on":
            await self.update_checklist()
        self.reassess()

    @on(Select.Changed, "#category")
    async def category_changed(self) -> None:
        await self.update_checklist()
        self.reassess()

    @on(Checkbox.Changed)
    def checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.has_class("proof"):
            if event.value:
                self.ticked.add(str(event.checkbox.id))
            else:
                self.ticked.discard(str(event.checkbox.id))
        self.reassess()

    def received_on(self) -> date | None:
        try:
            return parse_french_date(self.query_one("#received-on", Input).value)
        except ValueError:
            return None

    def category(self) -> str | None:
        value = self.query_one("#category", Select).value
        return None if value is Select.NULL else str(value)

    async def update_checklist(self) -> None:
        """The categories of the rulebook in force on the day of reception, and the proofs it
        asks of the chosen category (a date of reception being typed changes nothing)."""
        received = self.received_on()
        if self.desk is None or received is None:
            return
        book = self.desk.rulebook_on(received)
        if (book and book.id) != (self.book and self.book.id):
            self.book = book
            chosen = self.category()
            select = self.query_one("#category", Select)
            categories = book.categories.values() if book else ()
            select.set_options([(category.label, category.key) for category in categories])
            if book is not None and chosen in book.categories:
                select.value = chosen
        category = self.category()
        groups = self.desk.checklist(received, category) if category else ()
        if groups != self.groups:
            await self._build_proofs(groups)
        experiment = (
            self.book.categories[category].experiment
            if self.book is not None and category in self.book.categories
            else None
        )
        has_criteria = experiment is not None and experiment.criteria is not None
        self.query_one("#establishment-row").display = has_criteria

    async def _build_proofs(self, groups: tuple[ProofGroup, ...]) -> None:
        """One checkbox per document (the alternatives of a proof after "ou"), and a date for
        a proof that must be recent; what was ticked or typed stays."""
        rows: list[Widget] = []
        for group in groups:
            for index, token in enumerate(group.any_of):
                box_id = f"proof-{token}"
                rows.append(
                    Horizontal(
                        Label("ou" if index else "", classes="proof-or"),
                        TickBox(
                            proof_label(token),
                            value=box_id in self.ticked,
                            id=box_id,
                            compact=True,
                            classes="proof",
                        ),
                        classes="proof-row",
                    )
                )
                if group.max_age_months is not None:
                    date_id = f"proof-date-{token}"
                    rows.append(
                        Horizontal(
                            Label("daté du", classes="proof-dated"),
                            FormField(
                                self.dates.get(date_id, ""),
                                placeholder=DATE_FORMAT,
                                id=date_id,
                                max_length=10,
                                compact=True,
                                classes="proof-date",
                            ),
                            Label(f"({group.max_age_months} mois au plus)", classes="proof-note"),
                            classes="proof-row",
                        )
                    )
        proofs = self.query_one("#proofs", Vertical)
        await proofs.remove_children()
        await proofs.mount_all(rows)
        self.groups = groups

    def read_form(self) -> RequestForm | list[str]:
        """The request as typed, or French hints: what to correct, what to fill in."""
        problems: list[str] = []
        missing: list[str] = []

        def text(selector: str) -> str:
            return self.query_one(selector, Input).value.strip()

        def day(selector: str, label: str, example: str) -> date | None:
            value = text(selector)
            if not value:
                return None
            try:
                return parse_french_date(value)
            except ValueError:
                problems.append(f"{label} : date {DATE_FORMAT} attendue (par exemple {example}).")
                return None

        last_name, first_name = text("#last-name"), text("#first-name")
        birth = day("#birth-date", "Date de naissance", "14/03/1958")
        received = day("#received-on", "Demande reçue le", format_date(self.today()))
        category = self.category()
        postcode = text("#postcode")
        if postcode and len(postcode) != 5:
            problems.append("Code postal : 5 chiffres.")
        if birth and received and birth > received:
            problems.append("La date de naissance est après la date de la demande.")
        if received is not None and self.book is None:
            problems.append(
                f"Aucun règlement d'attribution n'était en vigueur le {format_date(received)} : "
                "vérifiez la date de réception de la demande."
            )
        proof_dates: dict[str, date] = {}
        for field in self.query("#proofs Input").results(Input):
            token = str(field.id).removeprefix("proof-date-")
            dated = day(f"#{field.id}", f"Date de « {proof_label(token)} »", "02/11/2026")
            if dated is not None:
                proof_dates[token] = dated
        for value, what in (
            (last_name, "le nom"),
            (first_name, "le prénom"),
            (text("#birth-date"), "la date de naissance"),
            (text("#received-on"), "la date de réception"),
            (category, "la catégorie"),
            (postcode, "le code postal"),
        ):
            if not value:
                missing.append(what)
        if missing:
            problems.append("Pour décider, complétez : " + ", ".join(missing) + ".")
        if problems or birth is None or received is None or category is None:
            return problems
        proofs = frozenset(
            str(box.id).removeprefix("proof-")
            for box in self.query("#proofs Checkbox").results(Checkbox)
            if box.value
        )
        establishment = None
        if self.query_one("#establishment-row").display:
            establishment = text("#establishment") or None
        return RequestForm(
            identity=Identity(last_name, first_name, birth),
            received_on=received,
            category=category,
            postcode=postcode,
            accompanied=self.query_one("#accompanied", Checkbox).value,
            proofs=proofs,
            proof_dates=proof_dates,
            establishment=establishment,
        )

    # --- the decision ---------------------------------------------------------------------

    def reassess(self) -> None:
        if self.desk is None:
            return
        self.generation += 1
        self.assessment = None
        form = self.read_form()
        if isinstance(form, list):
            self.pending = False
            self._show_hint("\n".join(form))
            return
        self.pending = True
        self.assess(self.desk, form, self.generation)

    @work(thread=True, exclusive=True, group="assess", exit_on_error=False)
    def assess(self, desk: AttributionDesk, form: RequestForm, generation: int) -> None:
        try:
            answer: Assessment | str = desk.assess(form)
        except UserError as error:
            answer = str(error)
        self.post_message(self.Assessed(generation, answer))

    @on(Assessed)
    def assessed(self, message: Assessed) -> None:
        if message.generation != self.generation or not self.is_attached:
            return  # the form changed meanwhile (its own assessment follows), or is gone
        self.pending = False
        if isinstance(message.answer, str):
            self._show_hint(message.answer)
            return
        self.assessment = message.answer
        self._show_decision(message.answer)

    def _show_hint(self, hint: str) -> None:
        decision = self.query_one("#decision", Static)
        decision.set_classes("tone-panel idle")
        decision.update(Text(hint))
        for box in self.query("#proofs Checkbox"):
            box.remove_class("missing")

    def _show_decision(self, assessment: Assessment) -> None:
        decision = assessment.decision
        text = Text()
        if decision.eligible:
            listing = " + ".join(f"un carnet de {size}" for size in decision.carnets)
            text.append(f"✔  DEMANDE ACCEPTÉE : {listing} pass", style="bold")
        else:
            text.append("✘  DEMANDE REFUSÉE", style="bold")
        if decision.rulebook:
            text.append(f"   (règlement {decision.rulebook})")
        already = plural(assessment.passes_already_received, "pass", "pass")
        text.append(
            f"\nRéf. {format_reference(assessment.beneficiary_ref)} · "
            f"déjà reçus : {already} (connus ici)"
        )
        for reason in decision.reasons:
            text.append(f"\n{reason}")
        if decision.eligible:
            text.append("\nCtrl+S : remettre les carnets", style="italic")
        panel = self.query_one("#decision", Static)
        panel.set_classes("tone-panel " + ("good" if decision.eligible else "bad"))
        panel.update(text)
        missing = {f"proof-{token}" for token in decision.missing_proofs}
        for box in self.query("#proofs Checkbox"):
            box.set_class(box.id in missing, "missing")

    # --- going on -------------------------------------------------------------------------

    def action_hand_out(self) -> None:
        if self.pending:
            self.notify("Décision en cours : un instant, puis Ctrl+S de nouveau.")
            return
        if self.assessment is None or not self.assessment.decision.eligible:
            self.notify(
                "La demande n'est pas acceptée : aucun carnet à remettre.", severity="warning"
            )
            self.app.bell()
            return
        assert self.desk is not None  # the key is bound once the desk is ready
        screen = AttributionCarnetsScreen(self.context, self.desk, self.assessment)
        self.app.push_screen(screen, self._handed_out)

    def _handed_out(self, info: AttributionInfo | None) -> None:
        if info is not None:  # recorded: the request is done, back to the home
            self.closing = True
            stack = self.app.screen_stack
            if self in stack:
                stack[stack.index(self) - 1].pop_until_active()

    def action_attributions(self) -> None:
        assert self.desk is not None  # the key is bound once the desk is ready
        self.app.push_screen(AttributionsScreen(self.context, self.desk))
