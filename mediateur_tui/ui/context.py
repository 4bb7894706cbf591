"""The one typed context the screens work with: this site's services and who is logged in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mediateur_tui.services.operators import OperatorInfo

if TYPE_CHECKING:
    from mediateur_tui.services.site import Site

DemoPins = list[tuple[str, str]]  # (name, PIN) shown on the log-in screen of the demo


@dataclass
class DeskContext:
    """Shared by the app and its screens; `operator` changes at log-in and log-out."""

    site: Site
    demo_pins: DemoPins = field(default_factory=list)
    operator: OperatorInfo | None = None

    @property
    def operator_id(self) -> int:
        """The logged-in operator's id (the screens that need it open after the log-in)."""
        if self.operator is None:
            raise RuntimeError("no operator is logged in")
        return self.operator.id

    @property
    def operator_name(self) -> str:
        return self.operator.name if self.operator is not None else ""

    def has_role(self, *roles: str) -> bool:
        """Whether the logged-in operator has one of `roles`."""
        return self.operator is not None and self.operator.role in roles

    @property
    def is_responsable(self) -> bool:
        return self.has_role("responsable")
