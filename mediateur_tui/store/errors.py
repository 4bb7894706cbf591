"""What can go wrong with the site's database file, said in French: busy, full, damaged.

Every SQLite error that reaches the engine is turned into one of these (store/engine.py), so a
command or a screen shows a sentence, never a traceback, and nothing half-done is kept (the
transaction is rolled back).
"""

from __future__ import annotations

from pathlib import Path

from mediateur_tui.domain.errors import UserError

RESTORE_ADVICE = (
    "Lancez « mediateur-tui doctor » pour le diagnostic ; si la base est perdue, restaurez la "
    "dernière sauvegarde (mediateur-tui restore FICHIER --replace : le journal remet ce qui a "
    "été fait depuis) ou demandez conseil à la région."
)


class StoreError(UserError):
    """The site's database cannot be used right now; nothing of the action was recorded."""


class DatabaseBusy(StoreError):
    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__(
            f"La base de données est occupée par un autre programme depuis {seconds:.0f} s "
            f"({path}) : rien n'a été enregistré. Réessayez dans un instant ; si cela dure, "
            "fermez les autres fenêtres de mediateur-tui."
        )


class DiskFull(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Le disque est plein ({path.parent}) : rien n'a été enregistré pour cette action, "
            "ce qui l'était avant est intact. Libérez de la place, puis recommencez."
        )


class DatabaseDamaged(StoreError):
    def __init__(self, path: Path, problem: str) -> None:
        self.problem = short_problem(problem)
        super().__init__(
            f"La base de données {path} est endommagée ({self.problem}) : rien n'a été "
            "enregistré. " + RESTORE_ADVICE
        )


# SQLite's usual words for a damaged file, in French (its integrity report stays as it is).
_SQLITE_FINDINGS = {
    "file is not a database": "le fichier n'est pas une base de données lisible",
    "database disk image is malformed": "le contenu de la base est abîmé",
    "disk i/o error": "erreur de lecture du disque",
}


def short_problem(text: str) -> str:
    """SQLite's first finding, in French when it is one of its usual words, cut short: its
    whole report can run to a hundred lines."""
    first = text.strip().splitlines()[0] if text.strip() else "raison inconnue"
    first = _SQLITE_FINDINGS.get(first.strip().lower(), first)
    return first if len(first) <= 160 else first[:159] + "…"


class DiskError(StoreError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"Erreur d'écriture ou de lecture du disque pour {path} ({problem}) : rien n'a été "
            "enregistré pour cette action. Vérifiez le disque (ou la clé USB), puis recommencez."
        )


class JournalDamaged(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Le journal du lieu {path} est endommagé (une ligne illisible) : rien n'a été "
            "enregistré. " + RESTORE_ADVICE
        )


class TailLost(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"La base de données {path} a perdu ses derniers enregistrements : le journal en "
            "compte davantage (fichier -wal perdu ?). Rien n'a été enregistré. Lancez "
            "« mediateur-tui doctor --repair » : il remet dans la base ce que le journal a gardé."
        )
