"""Synchronisation with the region, in a modal: a progress bar while the replica pages come in,
then the report (changes applied, batches sent and their acknowledgements, or the error)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import plural, thousands
from mediateur_tui.services.sync import SyncReport, SyncStatus

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


class SyncScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "close", "Fermer", id="sync.close")]

    def __init__(self) -> None:
        super().__init__()
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

    @work(thread=True, exclusive=True, group="sync")
    def run_sync(self) -> None:
        site_sync = self.app.site_sync()
        status = site_sync.status()
        if not status.enrolled:
            self.app.call_from_thread(self._no_sync, "Poste non inscrit", NOT_ENROLLED)
            return
        if not status.hub_url:
            self.app.call_from_thread(self._no_sync, "Lieu inscrit par fichier", ENROLLED_BY_FILE)
            return
        self.app.call_from_thread(self._started, status)

        def progress(changes: int, cursor: int) -> None:
            self.app.call_from_thread(self._progress, changes)

        try:
            report = site_sync.sync(progress=progress)
        except UserError as error:
            report = SyncReport(errors=[str(error)])
        self.app.call_from_thread(self._done, report)

    def _started(self, status: SyncStatus) -> None:
        self.query_one("#sync-where", Static).update(
            f"Région {status.region_id} · lieu {status.site_id}"
        )
        self.query_one("#sync-status", Static).update("Réception de la réplique du registre…")

    def _progress(self, changes: int) -> None:
        self.pages += 1
        self.query_one("#sync-status", Static).update(
            f"Réplique : {plural(changes, 'changement reçu', 'changements reçus')} "
            f"({plural(self.pages, 'page')})…"
        )
        self.query_one(ProgressBar).update(progress=changes)

    def _no_sync(self, title: str, explanation: str) -> None:
        """Nothing to synchronise online (not enrolled, or enrolled by file): say why."""
        self.running = False
        self.query_one("#sync-where", Static).update(f"[b]{title}[/b]")
        self.query_one("#sync-status", Static).update(explanation)
        self.query_one(ProgressBar).display = False
        self.query_one("#sync-hint", Static).update("Entrée ou Échap : fermer")

    def _done(self, report: SyncReport) -> None:
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
    if report.batches:
        lines.append("[b]Remises envoyées, accusés reçus :[/b]")
        lines.extend(f"  {sent.describe()}" for sent in report.batches)
    elif report.ok:
        lines.append("Aucune remise en attente d'envoi.")
    for error in report.errors:
        lines.append(f"[b]✘[/b] {_escape(error)}")
    if report.ok:
        lines.append("[b]✔ Synchronisation terminée.[/b]")
    elif not any("Rien n'est perdu" in error for error in report.errors):
        lines.append(NOTHING_LOST)
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
