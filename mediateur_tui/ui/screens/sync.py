"""Synchronisation with the region, in a modal: a progress bar while the replica pages come in,
then the report (changes applied, batches sent and their acknowledgements, or the error)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual.worker import Worker

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import plural, thousands
from mediateur_tui.services.sync import SyncReport, SyncStatus
from mediateur_tui.ui.context import DeskContext
from mediateur_tui.ui.screens.base import SiteModal, failure_text

NOTHING_LOST = "Rien n'est perdu : ce qui a été reçu est gardé, relancez plus tard."
USB_ROUTE = (
    "Sans réseau, passez par une clé USB : importez la réplique "
    "(mediateur-tui import-replica FICHIER) et, en fin de mois, exportez les remises et "
    "importez l'accusé de réception (touche m de l'accueil)."
)
NOT_ENROLLED = (
    "Ce poste n'est pas inscrit auprès d'une région (données de démonstration, ou lieu sans "
    f"réseau) : il n'y a rien à synchroniser.\n{USB_ROUTE}"
)
ENROLLED_BY_FILE = (
    "Ce lieu est inscrit par fichier : il échange avec la région par clé USB, sans "
    f"synchronisation en ligne.\n{USB_ROUTE}\n"
    "Pour synchroniser en ligne, demandez un nouveau jeton d'inscription à la région."
)


class SyncScreen(SiteModal[None]):
    BINDINGS = [Binding("escape,enter", "close", "Fermer", id="sync.close")]

    @dataclass
    class Started(Message, bubble=False):
        status: SyncStatus

    @dataclass
    class NoSync(Message, bubble=False):
        """Nothing to synchronise online (not enrolled, or enrolled by file)."""

        title: str
        explanation: str

    @dataclass
    class Progressed(Message, bubble=False):
        changes: int  # replica changes received so far

    @dataclass
    class Done(Message, bubble=False):
        report: SyncReport

    def __init__(self, context: DeskContext) -> None:
        super().__init__(context)
        self.running = True
        self.pages = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sync"):
            yield Static("Synchronisation avec la région", classes="card-title")
            yield Static("Préparation…", id="sync-where")
            yield Static("", id="sync-status")
            yield ProgressBar(total=None, show_eta=False, id="sync-progress")
            yield Static("", id="sync-report")
            yield Static("Synchronisation en cours…", id="sync-hint", classes="hint")

    def on_mount(self) -> None:
        self.run_sync()

    def work_failed(self, worker: Worker[object], error: BaseException) -> bool:
        self.post_message(self.Done(SyncReport(errors=[failure_text(error)])))
        return True

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        site_sync = self.context.site.sync
        status = site_sync.status()
        if not status.enrolled:
            self.post_message(self.NoSync("Poste non inscrit", NOT_ENROLLED))
            return
        if not status.hub_url:
            self.post_message(self.NoSync("Lieu inscrit par fichier", ENROLLED_BY_FILE))
            return
        self.post_message(self.Started(status))

        def progress(changes: int, cursor: int) -> None:
            self.post_message(self.Progressed(changes))

        try:
            report = site_sync.sync(progress=progress)
        except UserError as error:
            report = SyncReport(errors=[str(error)])
        self.post_message(self.Done(report))

    @on(Started)
    def started(self, message: Started) -> None:
        status = message.status
        self.query_one("#sync-where", Static).update(
            f"Région {status.region_id} · lieu {status.site_id}"
        )
        self.query_one("#sync-status", Static).update("Réception de la réplique du registre…")

    @on(Progressed)
    def progressed(self, message: Progressed) -> None:
        self.pages += 1
        self.query_one("#sync-status", Static).update(
            f"Réplique : {plural(message.changes, 'changement reçu', 'changements reçus')} "
            f"({plural(self.pages, 'page')})…"
        )
        self.query_one(ProgressBar).update(progress=message.changes)

    @on(NoSync)
    def no_sync(self, message: NoSync) -> None:
        self.running = False
        self.query_one("#sync-where", Static).update(f"[b]{message.title}[/b]")
        self.query_one("#sync-status", Static).update(message.explanation)
        self.query_one(ProgressBar).display = False
        self.query_one("#sync-hint", Static).update("Entrée ou Échap : fermer")

    @on(Done)
    def done(self, message: Done) -> None:
        report = message.report
        self.running = False
        bar = self.query_one(ProgressBar)
        status = self.query_one("#sync-status", Static)
        if report.pages:
            status.update(
                f"Réplique : {plural(report.changes, 'changement reçu', 'changements reçus')} "
                f"en {plural(report.pages, 'page')} ; "
                f"{thousands(report.pass_count)} pass dans la réplique."
            )
            bar.update(total=max(report.changes, 1), progress=max(report.changes, 1))
        else:
            status.update("Réplique : rien reçu.")
            bar.update(total=1, progress=0)
        self.query_one("#sync-report", Static).update(report_text(report))
        self.set_class(not report.ok, "failed")
        self.query_one("#sync-hint", Static).update("Entrée ou Échap : fermer")

    def action_close(self) -> None:
        if self.running:
            self.notify("Synchronisation en cours : attendez qu'elle se termine.")
            return
        self.dismiss(None)


def report_text(report: SyncReport) -> str:
    """The attributions and batches sent (with the region's answers) and the errors, in
    French."""
    lines = [_escape(line) for line in report.describe_attributions()]
    lines += [_escape(line) for line in report.describe_declarations()]
    if report.batches:
        lines.append("[b]Remises envoyées, accusés reçus :[/b]")
        lines.extend(f"  {sent.describe()}" for sent in report.batches)
    elif report.ok:
        lines.append("Aucune remise en attente d'envoi.")
    if report.refusals:
        lines.append("[b]Refus de la région depuis la dernière synchronisation :[/b]")
        lines.extend(f"  {_escape(refused.describe())}" for refused in report.refusals)
    for error in report.errors:
        lines.append(f"[b]✘[/b] {_escape(error)}")
    if report.ok:
        lines.append("[b]✔ Synchronisation terminée.[/b]")
    elif not any("Rien n'est perdu" in error for error in report.errors):
        lines.append(NOTHING_LOST)
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
