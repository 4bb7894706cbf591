"""First run of a new site: get the region's registry, by enrolling with the region's server
(then a first sync, with a progress bar), by importing a replica file from a USB key, or by
enrolling with files on a USB key (a request taken to the region, its signed answer brought
back), then importing a replica file.

A refused enrolment or import changes nothing (the services write only once everything is
checked): the form comes back with the reason, to correct and try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Header, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_datetime, plural, thousands
from mediateur_tui.services.enrolment import Enrolment
from mediateur_tui.services.replica import ReplicaApplied
from mediateur_tui.services.sync import SyncReport
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.messages import FirstScreenWanted
from mediateur_tui.ui.screens.base import SiteScreen, failure_text
from mediateur_tui.ui.screens.path_prompt import clean_path
from mediateur_tui.ui.widgets.form_field import FormField, OrderedInput
from mediateur_tui.ui.widgets.keys_footer import SHOWN_QUIT, KeysFooter

COMPARE = "Comparez-la avec celle que la région vous a communiquée."
RETRY_LATER = "Rien n'est perdu : relancez la synchronisation plus tard."
NOTHING_SAVED = "Rien n'a été enregistré."

# Steps: the choice, the forms, work in progress, done, and "enrolled but the first sync
# failed" (retry, or go on: the replica comes with the next sync). By USB key: the request form
# (step 1), the answer form (step 2), then "enrolled by file" (Enter: import a replica file).
CHOICE, ENROL, IMPORT, WORKING, DONE, SYNC_FAILED = (
    "choice",
    "enrol",
    "import",
    "working",
    "done",
    "sync_failed",
)
USB_REQUEST, USB_ANSWER, USB_ENROLLED = "usb_request", "usb_answer", "usb_enrolled"
USB = "usb"  # the choice's option
PANELS = {
    CHOICE: "choice",
    ENROL: "enrol",
    IMPORT: "import",
    USB_REQUEST: "usb-request",
    USB_ANSWER: "usb-answer",
}  # the others show "work"
# Where each form shows why it was refused.
FORM_MESSAGES = {
    ENROL: "#enrol-message",
    IMPORT: "#import-message",
    USB_REQUEST: "#usb-request-message",
    USB_ANSWER: "#usb-answer-message",
}
ACTION_STEPS = {
    "enrol": {CHOICE},
    "import_file": {CHOICE},
    "usb": {CHOICE},
    "back": {ENROL, IMPORT, USB_REQUEST, USB_ANSWER},
    "retry_sync": {SYNC_FAILED},
    "next": {DONE, SYNC_FAILED, USB_ENROLLED},
}


class FirstRunScreen(SiteScreen[None]):
    BINDINGS = [
        Binding(
            "i",
            "enrol",
            "Inscrire ce lieu",
            tooltip="Inscrire ce lieu auprès de la région (réseau)",
            id="first_run.enrol",
        ),
        Binding(
            "f",
            "import_file",
            "Importer un fichier",
            tooltip="Importer un fichier de réplique (clé USB)",
            id="first_run.import",
        ),
        Binding(
            "u",
            "usb",
            "Clé USB",
            tooltip="Inscription par clé USB (sans réseau)",
            id="first_run.usb",
        ),
        Binding(
            "r",
            "retry_sync",
            "Réessayer",
            tooltip="Relancer la première synchronisation",
            id="first_run.retry",
        ),
        Binding("enter", "next", "Continuer", id="first_run.next"),
        Binding("escape", "back", "Retour", id="first_run.back"),
        SHOWN_QUIT,
    ]
    AUTO_FOCUS = "#choice-list"

    @dataclass
    class EnrolRefused(Message, bubble=False):
        reason: str
        field: str  # the field to correct

    @dataclass
    class Enrolled(Message, bubble=False):
        enrolment: Enrolment

    @dataclass
    class Progressed(Message, bubble=False):
        changes: int  # replica changes received so far

    @dataclass
    class Synced(Message, bubble=False):
        report: SyncReport

    @dataclass
    class RequestRefused(Message, bubble=False):
        reason: str
        field: str  # the field to correct

    @dataclass
    class RequestWritten(Message, bubble=False):
        path: Path

    @dataclass
    class AnswerRefused(Message, bubble=False):
        reason: str

    @dataclass
    class UsbEnrolled(Message, bubble=False):
        enrolment: Enrolment

    @dataclass
    class ImportRefused(Message, bubble=False):
        reason: str
        field: str  # the field to correct

    @dataclass
    class Imported(Message, bubble=False):
        result: ReplicaApplied
        site_id: str

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.step = CHOICE
        self.form = CHOICE  # the form the work in progress came from, to go back to
        self.enrolled_online = False  # the first sync is what runs (or failed)
        self.pages = 0
        self.request_written = False  # step 1 done in this run (else found on disk)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="first-run", classes="card"):
            yield Static("Bienvenue : première mise en route de ce poste", classes="card-title")
            with ContentSwitcher(initial="choice", id="steps"):
                with Vertical(id="choice"):
                    yield Static(
                        "Ce poste n'a pas encore le registre des pass de la région "
                        "(la réplique). Comment le recevoir ?"
                    )
                    yield OptionList(
                        Option("Inscrire ce lieu auprès de la région (par le réseau)", id=ENROL),
                        Option("Importer un fichier de réplique (clé USB)", id=IMPORT),
                        Option("Inscription par clé USB (sans réseau)", id=USB),
                        id="choice-list",
                    )
                    yield Static(
                        "L'inscription demande l'adresse du serveur de la région et un jeton "
                        "d'inscription à usage unique, donnés par la région. Sans réseau, la "
                        "région fournit un fichier de réplique, ou inscrit le lieu par fichiers.",
                        classes="hint",
                    )
                with Vertical(id="enrol"):
                    yield Label("Adresse du serveur de la région")
                    yield FormField(placeholder="https://pass.region.fr", id="hub-url")
                    yield Label("Jeton d'inscription (à usage unique, donné par la région)")
                    yield OrderedInput(id="token")
                    yield Static("", id="enrol-message", classes="message error")
                    yield Static("Entrée : inscrire ce lieu · Échap : retour", classes="hint")
                with Vertical(id="import"):
                    yield Label("Fichier de réplique (.json.gz, sur la clé USB)")
                    yield FormField(
                        placeholder="/media/cle-usb/replique.json.gz", id="replica-path"
                    )
                    yield Label("Identifiant de ce lieu (donné par la région)")
                    yield OrderedInput(placeholder="AVESNES-EPN", id="site-id")
                    yield Static("", id="import-message", classes="message error")
                    yield Static("Entrée : importer · Échap : retour", classes="hint")
                with Vertical(id="usb-request"):
                    yield Static(
                        "[b]Inscription par clé USB[/b], étape 1 sur 2 : la demande", id="usb-title"
                    )
                    yield Label("Jeton d'inscription (à usage unique, donné par la région)")
                    yield FormField(id="usb-token")
                    yield Label("Fichier de demande à écrire (sur la clé USB)")
                    yield OrderedInput(id="request-path")
                    yield Static("", id="usb-request-message", classes="message error")
                    yield Static("Entrée : écrire la demande · Échap : retour", classes="hint")
                with Vertical(id="usb-answer"):
                    yield Static("", id="usb-answer-intro")
                    yield Label("Fichier de réponse de la région (inscription-….json)")
                    yield OrderedInput(
                        placeholder="/media/cle-usb/inscription-….json", id="answer-path"
                    )
                    yield Static("", id="usb-answer-message", classes="message error")
                    yield Static(
                        "Entrée : importer la réponse · Échap : retour (nouvelle demande)",
                        classes="hint",
                    )
                with Vertical(id="work"):
                    yield Static("", id="work-title")
                    yield Static("", id="work-status")
                    yield ProgressBar(total=None, show_eta=False, id="work-progress")
                    yield Static("", id="work-result")
                    yield Static("", id="work-hint", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "première mise en route"
        self.query_one("#request-path", Input).value = str(self.default_request_path())

    def default_request_path(self) -> Path:
        return self.context.site.sync.default_request_path()

    # --- steps ----------------------------------------------------------------------------

    def go(self, step: str, focus: str | None = None) -> None:
        """Shows the step, with the focus on `focus` (a field to correct) or its first field."""
        self.step = step
        self.query_one(ContentSwitcher).current = PANELS.get(step, "work")
        focus = focus or {
            CHOICE: "#choice-list",
            ENROL: "#hub-url",
            IMPORT: "#replica-path",
            USB_REQUEST: "#usb-token",
            USB_ANSWER: "#answer-path",
        }.get(step)
        if focus is not None:
            self.query_one(focus).focus()
        else:
            self.set_focus(None)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        steps = ACTION_STEPS.get(action)
        return steps is None or self.step in steps

    @on(OptionList.OptionSelected, "#choice-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == USB:
            self.action_usb()
        else:
            self.go(event.option.id or CHOICE)

    def action_enrol(self) -> None:
        self.go(ENROL)

    def action_import_file(self) -> None:
        self.go(IMPORT)

    def action_usb(self) -> None:
        """Step 2 when a request was written (in this run, or before the app was closed)."""
        written = self.request_written or self.default_request_path().exists()
        if written and not self.request_written:
            self._show_answer_intro(self.default_request_path(), again=True)
        self.go(USB_ANSWER if written else USB_REQUEST)

    def action_back(self) -> None:
        self.go(USB_REQUEST if self.step == USB_ANSWER else CHOICE)

    def action_next(self) -> None:
        if self.step == USB_ENROLLED:
            self.go(IMPORT)  # the site id is filled in: only the replica file is left
            return
        self.post_message(FirstScreenWanted())

    def action_retry_sync(self) -> None:
        self._working("Nouvelle tentative de synchronisation…")
        self.first_sync()

    def _working(self, status: str, title: str | None = None) -> None:
        if title is not None:
            self.query_one("#work-title", Static).update(title)
        self.query_one("#work-status", Static).update(Text(status))
        self.query_one("#work-result", Static).update("")
        self.query_one("#work-hint", Static).update("Patientez…")
        bar = self.query_one("#work-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.pages = 0
        if self.step in FORM_MESSAGES:
            self.form = self.step
        self.go(WORKING)

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        """Back to the form the work came from, or to "enrolled, the first sync failed"."""
        text = failure_text(error)
        if self.enrolled_online:
            self.post_message(self.Synced(SyncReport(errors=[text])))
            return True
        self.go(self.form)
        if self.form in FORM_MESSAGES:
            self.query_one(FORM_MESSAGES[self.form], Static).update(
                Text(f"{text}\n{NOTHING_SAVED}")
            )
        self.app.bell()
        return True

    # --- enrolment, then the first sync ---------------------------------------------------

    @on(Input.Submitted, "#token")
    def enrol_submitted(self) -> None:
        message = self.query_one("#enrol-message", Static)
        text = self.query_one("#hub-url", Input).value
        token = self.query_one("#token", Input).value.strip()
        if not text.strip():
            message.update("Indiquez l'adresse du serveur de la région.")
            self.query_one("#hub-url", Input).focus()
            return
        try:
            url = self.context.site.sync.hub_address(text)
        except UserError as error:
            message.update(Text(str(error)))
            self.query_one("#hub-url", Input).focus()
            return
        if not token:
            message.update("Indiquez le jeton d'inscription donné par la région.")
            self.query_one("#token", Input).focus()
            return
        message.update("")
        self._working(f"Inscription auprès de {url}…", title="[b]Inscription du lieu[/b]")
        self.enrol(url, token)

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def enrol(self, url: str, token: str) -> None:
        try:
            enrolment = self.context.site.sync.enrol(url, token)
        except UserError as error:
            reason = str(error).replace(RETRY_LATER, "").strip()
            field = "#token" if error.field == "token" else "#hub-url"
            self.post_message(self.EnrolRefused(reason, field))
            return
        self.post_message(self.Enrolled(enrolment))
        self._sync()

    @on(EnrolRefused)
    def enrol_refused(self, message: EnrolRefused) -> None:
        reason = message.reason
        self.go(ENROL, message.field)
        self.query_one("#enrol-message", Static).update(
            Text(f"Inscription refusée : {reason}\nRien n'a été enregistré.")
        )
        self.app.bell()

    @on(Enrolled)
    def enrolled(self, message: Enrolled) -> None:
        self.enrolled_online = True
        self._show_enrolled(message.enrolment)

    def _show_enrolled(self, enrolment: Enrolment) -> None:
        self.query_one("#work-title", Static).update(
            f"[b]Lieu inscrit[/b] : « {enrolment.site_name} » ({enrolment.site_id}), "
            f"région {enrolment.region_id}"
            f"{' — structure distributrice' if enrolment.distributor else ''}.\n"
            f"Empreinte de la clé de la région : [b]{enrolment.region_key_fingerprint}[/b]\n"
            f"{COMPARE}"
        )
        self.query_one("#work-status", Static).update("Réception de la réplique du registre…")

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def first_sync(self) -> None:
        self._sync()

    def _sync(self) -> None:
        """In a worker: the first pull of the replica, with the progress bar."""

        def progress(changes: int, cursor: int) -> None:
            self.post_message(self.Progressed(changes))

        try:
            report = self.context.site.sync.sync(progress=progress)
        except UserError as error:
            report = SyncReport(errors=[str(error)])
        self.post_message(self.Synced(report))

    @on(Progressed)
    def progressed(self, message: Progressed) -> None:
        changes = message.changes
        self.pages += 1
        self.query_one("#work-status", Static).update(
            f"Réplique : {plural(changes, 'changement reçu', 'changements reçus')} "
            f"({plural(self.pages, 'page')})…"
        )
        self.query_one("#work-progress", ProgressBar).update(progress=changes)

    @on(Synced)
    def synced(self, message: Synced) -> None:
        report = message.report
        bar = self.query_one("#work-progress", ProgressBar)
        status = self.query_one("#work-status", Static)
        if report.pages:
            bar.update(total=max(report.changes, 1), progress=max(report.changes, 1))
            status.update(
                f"Réplique reçue : {plural(report.changes, 'changement')}, "
                f"{thousands(report.pass_count)} pass."
            )
        else:
            bar.update(total=1, progress=0)
            status.update("Réplique : rien reçu.")
        if report.ok:
            self.query_one("#work-result", Static).update("[b]✔ Ce poste est prêt.[/b]")
            self.query_one("#work-hint", Static).update("Entrée : continuer")
            self.go(DONE)
            return
        errors = "\n".join(report.errors)
        self.query_one("#work-result", Static).update(
            Text(
                f"✘ {errors}\nLe lieu est bien inscrit ; la réplique viendra à la prochaine "
                "synchronisation."
            )
        )
        self.query_one("#work-hint", Static).update(
            "r : réessayer · Entrée : continuer sans la réplique"
        )
        self.go(SYNC_FAILED)
        self.app.bell()

    # --- enrolment by USB key --------------------------------------------------------------

    @on(Input.Submitted, "#request-path")
    def request_submitted(self) -> None:
        message = self.query_one("#usb-request-message", Static)
        token = self.query_one("#usb-token", Input).value.strip()
        path = clean_path(self.query_one("#request-path", Input).value)
        if not token:
            message.update("Indiquez le jeton d'inscription donné par la région.")
            self.query_one("#usb-token", Input).focus()
            return
        if path is None:
            message.update("Indiquez où écrire le fichier de demande.")
            self.query_one("#request-path", Input).focus()
            return
        message.update("")
        self.write_request(token, path)

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def write_request(self, token: str, path: Path) -> None:
        try:
            written = self.context.site.sync.write_enrolment_request(token, path)
        except UserError as error:
            self.post_message(self.RequestRefused(str(error), "#usb-token"))
            return
        except OSError as error:
            reason = f"Impossible d'écrire {path} ({error.strerror or error})."
            self.post_message(self.RequestRefused(reason, "#request-path"))
            return
        self.post_message(self.RequestWritten(written))

    @on(RequestRefused)
    def request_refused(self, message: RequestRefused) -> None:
        reason = message.reason
        self.go(USB_REQUEST, message.field)
        self.query_one("#usb-request-message", Static).update(
            Text(f"Demande refusée : {reason}\n{NOTHING_SAVED}")
        )
        self.app.bell()

    @on(RequestWritten)
    def show_request_written(self, message: RequestWritten) -> None:
        path = message.path
        self.request_written = True
        self.query_one("#usb-request-message", Static).update("")
        self._show_answer_intro(path)
        self.go(USB_ANSWER)

    def _show_answer_intro(self, path: Path, again: bool = False) -> None:
        done = "Une demande a déjà été écrite" if again else "Demande écrite"
        intro = Text.from_markup(
            "[b]Inscription par clé USB[/b], étape 2 sur 2 : la réponse de la région\n"
        )
        intro.append(
            f"{done} : {path}\n"
            "Portez-le à la région (mediateur-hub import-enrolment) : elle vous remet le "
            "fichier inscription-<lieu>.json. Revenez ici avec lui, même après avoir fermé "
            "l'application."
        )
        self.query_one("#usb-answer-intro", Static).update(intro)
        directory = path.parent
        self.query_one("#answer-path", Input).placeholder = f"{directory}/inscription-….json"

    @on(Input.Submitted, "#answer-path")
    def answer_submitted(self) -> None:
        message = self.query_one("#usb-answer-message", Static)
        path = clean_path(self.query_one("#answer-path", Input).value)
        if path is None:
            message.update("Indiquez le chemin du fichier de réponse remis par la région.")
            return
        message.update("")
        self._working(f"Lecture de {path}…", title="[b]Inscription par clé USB[/b]")
        self.import_answer(path)

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def import_answer(self, path: Path) -> None:
        if not path.is_file():
            self.post_message(self.AnswerRefused(f"Fichier introuvable : {path}."))
            return
        try:
            enrolment = self.context.site.sync.import_enrolment_answer(path)
        except UserError as error:
            self.post_message(self.AnswerRefused(str(error)))
            return
        self.post_message(self.UsbEnrolled(enrolment))

    @on(AnswerRefused)
    def answer_refused(self, message: AnswerRefused) -> None:
        reason = message.reason
        self.go(USB_ANSWER)
        self.query_one("#usb-answer-message", Static).update(
            Text(f"Réponse refusée : {reason}\n{NOTHING_SAVED}")
        )
        self.app.bell()

    @on(UsbEnrolled)
    def usb_enrolled(self, message: UsbEnrolled) -> None:
        enrolment = message.enrolment
        self._show_enrolled(enrolment)
        self.query_one("#work-status", Static).update(
            "Il reste à importer la réplique du registre : le fichier que la région exporte "
            "pour ce lieu (mediateur-hub export-replica), sur la clé USB."
        )
        self.query_one("#work-progress", ProgressBar).display = False
        self.query_one("#work-hint", Static).update("Entrée : importer le fichier de réplique")
        self.query_one("#site-id", Input).value = enrolment.site_id
        self.go(USB_ENROLLED)

    # --- import of a replica file ---------------------------------------------------------

    @on(Input.Submitted, "#site-id")
    def import_submitted(self) -> None:
        message = self.query_one("#import-message", Static)
        path = clean_path(self.query_one("#replica-path", Input).value)
        site_id = self.query_one("#site-id", Input).value.strip().upper()
        if path is None:
            message.update("Indiquez le chemin du fichier de réplique.")
            self.query_one("#replica-path", Input).focus()
            return
        if not site_id:
            message.update("Indiquez l'identifiant de ce lieu, tel que la région l'a enregistré.")
            self.query_one("#site-id", Input).focus()
            return
        message.update("")
        self._working(f"Import de {path}…", title="[b]Import d'une réplique[/b]")
        self.import_replica(path, site_id)

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def import_replica(self, path: Path, site_id: str) -> None:
        try:
            result = self.context.site.sync.import_replica(path, site_id)
        except UserError as error:
            field = "#site-id" if error.field == "site_id" else "#replica-path"
            self.post_message(self.ImportRefused(str(error), field))
            return
        self.post_message(self.Imported(result, site_id))

    @on(ImportRefused)
    def import_refused(self, message: ImportRefused) -> None:
        reason = message.reason
        self.go(IMPORT, message.field)
        self.query_one("#import-message", Static).update(
            Text(f"Import refusé : {reason}\nRien n'a été importé.")
        )
        self.app.bell()

    @on(Imported)
    def imported(self, message: Imported) -> None:
        result = message.result
        site_id = message.site_id
        title = f"[b]Réplique importée[/b] : lieu {site_id}, région {result.region_id}."
        if result.trusted_key_fingerprint:
            title += (
                f"\nEmpreinte de la clé de la région : [b]{result.trusted_key_fingerprint}[/b]\n"
                f"{COMPARE}"
            )
        self.query_one("#work-title", Static).update(title)
        when = f", à jour au {format_datetime(result.updated_at)}" if result.updated_at else ""
        self.query_one("#work-status", Static).update(
            f"{plural(result.changes, 'changement')}, {thousands(result.pass_count)} pass{when}."
        )
        bar = self.query_one("#work-progress", ProgressBar)
        bar.update(total=1, progress=1)
        self.query_one("#work-result", Static).update("[b]✔ Ce poste est prêt.[/b]")
        self.query_one("#work-hint", Static).update("Entrée : continuer")
        self.go(DONE)
