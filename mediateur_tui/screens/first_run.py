"""First run of a new site: get the region's registry, by enrolling with the region's server
(then a first sync, with a progress bar) or by importing a replica file from a USB key.

A refused enrolment or import changes nothing (the services write only once everything is
checked): the form comes back with the reason, to correct and try again.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from mediateur_tui.domain.formatting import format_datetime, plural
from mediateur_tui.screens.path_prompt import clean_path
from mediateur_tui.screens.sync import thousands
from mediateur_tui.sync.client import Enrolment, SyncReport, normalise_hub_url
from mediateur_tui.sync.errors import SyncError
from mediateur_tui.sync.protocol import ProtocolError
from mediateur_tui.sync.replica import ReplicaApplied
from mediateur_tui.widgets.keys_footer import SHOWN_QUIT, KeysFooter

COMPARE = "Comparez-la avec celle que la région vous a communiquée."
RETRY_LATER = "Rien n'est perdu : relancez la synchronisation plus tard."

# Steps: the choice, the two forms, work in progress, done, and "enrolled but the first sync
# failed" (retry, or go on: the replica comes with the next sync).
CHOICE, ENROL, IMPORT, WORKING, DONE, SYNC_FAILED = (
    "choice",
    "enrol",
    "import",
    "working",
    "done",
    "sync_failed",
)
PANELS = {CHOICE: "choice", ENROL: "enrol", IMPORT: "import"}  # the others show "work"
ACTION_STEPS = {
    "enrol": {CHOICE},
    "import_file": {CHOICE},
    "back": {ENROL, IMPORT},
    "retry_sync": {SYNC_FAILED},
    "next": {DONE, SYNC_FAILED},
}


class FirstRunScreen(Screen):
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

    def __init__(self) -> None:
        super().__init__()
        self.step = CHOICE
        self.pages = 0

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
                        id="choice-list",
                    )
                    yield Static(
                        "L'inscription demande l'adresse du serveur de la région et un jeton "
                        "d'inscription à usage unique, donnés par la région. Sans réseau, la "
                        "région fournit un fichier de réplique.",
                        classes="hint",
                    )
                with Vertical(id="enrol"):
                    yield Label("Adresse du serveur de la région")
                    yield Input(placeholder="https://pass.region.fr", id="hub-url")
                    yield Label("Jeton d'inscription (à usage unique, donné par la région)")
                    yield Input(id="token")
                    yield Static("", id="enrol-message", classes="message error")
                    yield Static("Entrée : inscrire ce lieu · Échap : retour", classes="hint")
                with Vertical(id="import"):
                    yield Label("Fichier de réplique (.json.gz, sur la clé USB)")
                    yield Input(placeholder="/media/cle-usb/replique.json.gz", id="replica-path")
                    yield Label("Identifiant de ce lieu (donné par la région)")
                    yield Input(placeholder="AVESNES-EPN", id="site-id")
                    yield Static("", id="import-message", classes="message error")
                    yield Static("Entrée : importer · Échap : retour", classes="hint")
                with Vertical(id="work"):
                    yield Static("", id="work-title")
                    yield Static("", id="work-status")
                    yield ProgressBar(total=None, show_eta=False, id="work-progress")
                    yield Static("", id="work-result")
                    yield Static("", id="work-hint", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "première mise en route"

    # --- steps ----------------------------------------------------------------------------

    def go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = PANELS.get(step, "work")
        focus = {CHOICE: "#choice-list", ENROL: "#hub-url", IMPORT: "#replica-path"}.get(step)
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
        self.go(event.option.id or CHOICE)

    def action_enrol(self) -> None:
        self.go(ENROL)

    def action_import_file(self) -> None:
        self.go(IMPORT)

    def action_back(self) -> None:
        self.go(CHOICE)

    def action_next(self) -> None:
        self.app.open_first_screen()

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
        self.go(WORKING)

    # --- enrolment, then the first sync ---------------------------------------------------

    @on(Input.Submitted, "#hub-url")
    def url_entered(self) -> None:
        self.query_one("#token", Input).focus()

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
            url = normalise_hub_url(text)
        except SyncError as error:
            message.update(Text(str(error)))
            self.query_one("#hub-url", Input).focus()
            return
        if not token:
            message.update("Indiquez le jeton d'inscription donné par la région.")
            return
        message.update("")
        self._working(f"Inscription auprès de {url}…", title="[b]Inscription du lieu[/b]")
        self.enrol(url, token)

    @work(thread=True, exclusive=True, group="first-run")
    def enrol(self, url: str, token: str) -> None:
        try:
            enrolment = self.app.site_sync().enrol(url, token)
        except (SyncError, ProtocolError) as error:
            reason = str(error).replace(RETRY_LATER, "").strip()
            self.app.call_from_thread(self._enrol_refused, reason)
            return
        self.app.call_from_thread(self._enrolled, enrolment)
        self._sync()

    def _enrol_refused(self, reason: str) -> None:
        self.go(ENROL)
        self.query_one("#enrol-message", Static).update(
            Text(f"Inscription refusée : {reason}\nRien n'a été enregistré.")
        )
        self.app.bell()

    def _enrolled(self, enrolment: Enrolment) -> None:
        self.query_one("#work-title", Static).update(
            f"[b]Lieu inscrit[/b] : « {enrolment.site_name} » ({enrolment.site_id}), "
            f"région {enrolment.region_id}.\n"
            f"Empreinte de la clé de la région : [b]{enrolment.region_key_fingerprint}[/b]\n"
            f"{COMPARE}"
        )
        self.query_one("#work-status", Static).update("Réception de la réplique du registre…")

    @work(thread=True, exclusive=True, group="first-run")
    def first_sync(self) -> None:
        self._sync()

    def _sync(self) -> None:
        """In a worker: the first pull of the replica, with the progress bar."""

        def progress(changes: int, cursor: int) -> None:
            self.app.call_from_thread(self._progress, changes)

        try:
            report = self.app.site_sync().sync(progress=progress)
        except (SyncError, ProtocolError) as error:
            report = SyncReport(errors=[str(error)])
        self.app.call_from_thread(self._synced, report)

    def _progress(self, changes: int) -> None:
        self.pages += 1
        self.query_one("#work-status", Static).update(
            f"Réplique : {plural(changes, 'changement reçu', 'changements reçus')} "
            f"({plural(self.pages, 'page')})…"
        )
        self.query_one("#work-progress", ProgressBar).update(progress=changes)

    def _synced(self, report: SyncReport) -> None:
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

    # --- import of a replica file ---------------------------------------------------------

    @on(Input.Submitted, "#replica-path")
    def path_entered(self) -> None:
        self.query_one("#site-id", Input).focus()

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
            return
        message.update("")
        self._working(f"Import de {path}…", title="[b]Import d'une réplique[/b]")
        self.import_replica(path, site_id)

    @work(thread=True, exclusive=True, group="first-run")
    def import_replica(self, path: Path, site_id: str) -> None:
        try:
            result = self.app.site_sync().import_replica(path, site_id)
        except (SyncError, ProtocolError) as error:
            self.app.call_from_thread(self._import_refused, str(error))
            return
        self.app.call_from_thread(self._imported, result, site_id)

    def _import_refused(self, reason: str) -> None:
        self.go(IMPORT)
        self.query_one("#import-message", Static).update(
            Text(f"Import refusé : {reason}\nRien n'a été importé.")
        )
        self.app.bell()

    def _imported(self, result: ReplicaApplied, site_id: str) -> None:
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
