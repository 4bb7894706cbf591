"""Operators and PIN log-in, with lock-out after repeated failures."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_datetime
from mediateur_tui.domain.pins import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    hash_pin,
    locked_until,
    verify_pin,
)
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import writer
from mediateur_tui.store.models import Operator, stored_id

log = logging.getLogger(__name__)
LOCKOUT_MINUTES = int(LOCKOUT.total_seconds() // 60)
ROLES = {
    "mediateur": "médiateur·rice",
    "responsable": "responsable",
    "distributeur": "distributeur·rice",
}


class AccountError(UserError, ValueError):
    """An account that cannot be created as asked, with a French message."""


@dataclass(frozen=True)
class OperatorInfo:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class LoginResult:
    operator: OperatorInfo | None
    message: str

    @property
    def ok(self) -> bool:
        return self.operator is not None


def list_operators(engine: Engine) -> list[OperatorInfo]:
    with Session(engine) as session:
        rows = session.exec(select(Operator).order_by(col(Operator.name))).all()
        return [OperatorInfo(stored_id(row.id), row.name, row.role) for row in rows]


def create_operator(session: Session, name: str, role: str, pin: str) -> Operator:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    operator = Operator(name=name, role=role, pin_hash=hash_pin(pin))
    session.add(operator)
    return operator


PIN_PATTERN = re.compile(r"^[0-9]{4,12}$")


def add_operator(engine: Engine, name: str, role: str, pin: str) -> OperatorInfo:
    """Creates an operator account; AccountError for a bad name, role, PIN or duplicate."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("Le nom ne peut pas être vide.")
    if role not in ROLES:
        raise AccountError(f"Rôle inconnu : {role}.")
    if not PIN_PATTERN.match(pin):
        raise AccountError("Le code PIN doit compter de 4 à 12 chiffres.")
    with Session(writer(engine)) as session:
        if session.exec(select(Operator).where(Operator.name == name)).first() is not None:
            raise AccountError(f"Un compte « {name} » existe déjà.")
        operator = create_operator(session, name, role, pin)
        session.flush()
        append_event(session, system_clock(), "operator_added", None, {"name": name, "role": role})
        session.commit()
        return OperatorInfo(stored_id(operator.id), operator.name, operator.role)


def log_in(engine: Engine, name: str, pin: str, clock: Clock = system_clock) -> LoginResult:
    """Checks the PIN; counts failures and refuses while the operator is locked out."""
    now = clock()
    with Session(writer(engine)) as session:
        operator = session.exec(select(Operator).where(Operator.name == name)).first()
        if operator is None:
            return LoginResult(None, "Opérateur inconnu.")
        if operator.last_failure_at is not None:
            until = locked_until(operator.failed_attempts, operator.last_failure_at)
            if until is not None and now < until:
                return LoginResult(
                    None,
                    f"Compte bloqué après {MAX_FAILED_ATTEMPTS} erreurs, jusqu'à "
                    f"{format_datetime(until)}. Réessayez après cette heure.",
                )
            if until is not None:
                operator.failed_attempts = 0
        if verify_pin(pin, operator.pin_hash):
            operator.failed_attempts = 0
            operator.last_failure_at = None
            append_event(session, now, "login", operator.id, {"name": name})
            session.add(operator)
            session.commit()
            info = OperatorInfo(stored_id(operator.id), operator.name, operator.role)
            return LoginResult(info, "")
        operator.failed_attempts += 1
        operator.last_failure_at = now
        append_event(
            session, now, "login_failed", operator.id, {"attempts": operator.failed_attempts}
        )
        session.add(operator)
        session.commit()
        log.warning(
            "wrong PIN for operator %s (%d in a row)", operator.id, operator.failed_attempts
        )
        left = MAX_FAILED_ATTEMPTS - operator.failed_attempts
        if left <= 0:
            return LoginResult(
                None,
                f"Code PIN incorrect. Compte bloqué {LOCKOUT_MINUTES} minutes après "
                f"{MAX_FAILED_ATTEMPTS} erreurs.",
            )
        return LoginResult(None, f"Code PIN incorrect. Encore {left} essai(s) avant blocage.")


class Accounts:
    """The operators' accounts of one site's database."""

    def __init__(self, engine: Engine, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.clock = clock

    def list(self) -> list[OperatorInfo]:
        return list_operators(self.engine)

    def log_in(self, name: str, pin: str) -> LoginResult:
        return log_in(self.engine, name, pin, self.clock)

    def add(self, name: str, role: str, pin: str) -> OperatorInfo:
        return add_operator(self.engine, name, role, pin)
