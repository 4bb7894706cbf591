"""Operators and PIN log-in, with the lock-out of domain/pins.py, and who may do what.

The PIN is checked (scrypt, deliberately slow) before the write lock is taken: logins never
queue behind each other's hashing. A responsable's PIN is asked by the commands that change
accounts or seal, export or import money documents (`authorise`); while a site has no account
at all, its first responsable is created without one.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mediateur_tui.domain.clock import Clock, system_clock
from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.formatting import format_until
from mediateur_tui.domain.pins import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    MAX_FAILURES_BEFORE_UNLOCK,
    Lockout,
    hash_pin,
    last_failure_seen_at,
    lockout,
    verify_pin,
)
from mediateur_tui.domain.roles import ROLE_LABELS
from mediateur_tui.services.operators import LoginResult, OperatorInfo, read_operators
from mediateur_tui.store.audit import append_event
from mediateur_tui.store.engine import database_file, writer
from mediateur_tui.store.models import Operator, stored_id

log = logging.getLogger(__name__)
LOCKOUT_MINUTES = int(LOCKOUT.total_seconds() // 60)
PIN_PATTERN = re.compile(r"[0-9]{4,12}")
UNLOCK_HINT = (
    "un ou une responsable doit le débloquer (mediateur-tui operator unlock NOM "
    "--operator RESPONSABLE)"
)


class AccountError(UserError, ValueError):
    """An account that cannot be created or changed as asked, with a French message."""


class NotAllowed(UserError):
    """The operator may not do this (unknown, wrong PIN, locked, or not a responsable)."""


def list_operators(engine: Engine) -> list[OperatorInfo]:
    """The accounts that can log in, by name."""
    return read_operators(database_file(engine))


# The PIN hash of an account that is a name only: made when another copy of the site (a backup,
# what the region gave back to a new laptop) names someone this laptop has no account for. It
# keeps the history; it cannot log in; `add_operator` of that name makes it a real account.
NAME_ONLY_PIN = "merged$no-pin"


def has_operators(engine: Engine) -> bool:
    """Whether any account was ever created here (removed ones count: the site is not new;
    names only do not)."""
    with Session(engine) as session:
        real = select(Operator.id).where(~col(Operator.pin_hash).startswith(NAME_ONLY_PIN))
        return session.exec(real.limit(1)).first() is not None


def create_operator(session: Session, name: str, role: str, pin_hash: str) -> Operator:
    if role not in ROLE_LABELS:
        raise ValueError(f"unknown role {role!r}")
    operator = Operator(name=name, role=role, pin_hash=pin_hash)
    session.add(operator)
    return operator


def add_operator(
    engine: Engine,
    name: str,
    role: str,
    pin: str,
    by: OperatorInfo | None = None,
    clock: Clock = system_clock,
) -> OperatorInfo:
    """Creates an account (`by`: the responsable who does it, None for the site's first one);
    AccountError for a bad name, role, PIN or a duplicate."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("Le nom ne peut pas être vide.", field="name")
    if role not in ROLE_LABELS:
        raise AccountError(f"Rôle inconnu : {role}.", field="role")
    if not PIN_PATTERN.fullmatch(pin):
        raise AccountError("Le code PIN doit compter de 4 à 12 chiffres.", field="pin")
    pin_hash = hash_pin(pin)  # slow: before the write lock
    with Session(writer(engine)) as session:
        existing = session.exec(select(Operator).where(Operator.name == name)).first()
        if existing is not None and not existing.pin_hash.startswith(NAME_ONLY_PIN):
            raise AccountError(f"Un compte « {name} » existe déjà.", field="name")
        if existing is not None:  # a name from another copy of the site: it becomes an account
            existing.role, existing.pin_hash, existing.removed_at = role, pin_hash, None
            session.add(existing)
            operator = existing
        else:
            operator = create_operator(session, name, role, pin_hash)
        session.flush()
        details = {"name": name, "role": role}
        append_event(session, clock(), "operator_added", by.id if by else None, details)
        session.commit()
        return OperatorInfo(stored_id(operator.id), operator.name, operator.role)


def log_in(engine: Engine, name: str, pin: str, clock: Clock = system_clock) -> LoginResult:
    """Checks the PIN; counts failures and refuses while the operator is locked out."""
    with Session(engine) as session:
        found = session.exec(
            select(Operator.id, Operator.pin_hash).where(
                Operator.name == name, col(Operator.removed_at).is_(None)
            )
        ).first()
    if found is None:
        _record_unknown_login(engine, name, clock)
        return LoginResult(None, "Opérateur inconnu.")
    operator_id, pin_hash = found
    right = verify_pin(pin, pin_hash)  # scrypt, outside the write lock
    now = clock()
    with Session(writer(engine)) as session:
        operator = session.get(Operator, operator_id)
        if operator is None or operator.removed_at is not None:
            return LoginResult(None, "Opérateur inconnu.")
        if operator.pin_hash != pin_hash:  # changed meanwhile: check the new one
            right = verify_pin(pin, operator.pin_hash)
        if operator.last_failure_at is not None:
            operator.last_failure_at = last_failure_seen_at(operator.last_failure_at, now)
        lock = lockout(operator.failed_attempts, operator.last_failure_at, now)
        if lock is not None:
            append_event(session, now, "login_locked", operator.id, {"name": name})
            session.add(operator)
            session.commit()
            return LoginResult(None, _locked_message(lock))
        if right:
            operator.failed_attempts = 0
            operator.last_failure_at = None
            append_event(session, now, "login", operator.id, {"name": name})
            session.add(operator)
            session.commit()
            info = OperatorInfo(stored_id(operator.id), operator.name, operator.role)
            return LoginResult(info, "")
        operator.failed_attempts += 1
        operator.last_failure_at = now
        failures = operator.failed_attempts
        append_event(session, now, "login_failed", operator.id, {"attempts": failures})
        session.add(operator)
        session.commit()
    log.warning("wrong PIN for operator %s (%d in a row)", operator_id, failures)
    return LoginResult(None, _failure_message(failures))


def _record_unknown_login(engine: Engine, name: str, clock: Clock) -> None:
    """A login under a name no account has: audited too (someone guessing names)."""
    with Session(writer(engine)) as session:
        append_event(session, clock(), "login_failed", None, {"name": name, "known": False})
        session.commit()


def _failure_message(failures: int) -> str:
    if failures >= MAX_FAILURES_BEFORE_UNLOCK:
        return f"Code PIN incorrect. Compte bloqué après {failures} erreurs : {UNLOCK_HINT}."
    if failures > MAX_FAILED_ATTEMPTS:
        left = MAX_FAILURES_BEFORE_UNLOCK - failures
        return (
            f"Code PIN incorrect. Compte bloqué {LOCKOUT_MINUTES} minutes après {failures} "
            f"erreurs. Encore {left} erreur(s), et {UNLOCK_HINT}."
        )
    if failures == MAX_FAILED_ATTEMPTS:
        return (
            f"Code PIN incorrect. Compte bloqué {LOCKOUT_MINUTES} minutes après "
            f"{MAX_FAILED_ATTEMPTS} erreurs."
        )
    left = MAX_FAILED_ATTEMPTS - failures
    return f"Code PIN incorrect. Encore {left} essai(s) avant blocage."


def _locked_message(lock: Lockout) -> str:
    if lock.until is None:
        return f"Compte bloqué après {lock.failures} erreurs : {UNLOCK_HINT}."
    return (
        f"Compte bloqué après {lock.failures} erreurs, {format_until(lock.until)}. "
        "Réessayez après cette heure."
    )


def authorise(
    engine: Engine, name: str, pin: str, action: str, clock: Clock = system_clock
) -> OperatorInfo:
    """The responsable `name`, once the PIN is right; NotAllowed otherwise (every refusal is
    in the audit log: a wrong PIN as a failed login, a role that may not as a refusal)."""
    result = log_in(engine, name, pin, clock)
    if result.operator is None:
        raise NotAllowed(f"{action} : {result.message}")
    if result.operator.role != "responsable":
        record_refusal(engine, action, result.operator, clock)
        raise NotAllowed(
            f"{action} : réservé aux responsables du lieu ; {name} est "
            f"{ROLE_LABELS[result.operator.role]}."
        )
    return result.operator


def record_refusal(
    engine: Engine, action: str, operator: OperatorInfo | None, clock: Clock = system_clock
) -> None:
    """A `refused` audit event: `operator` (None: nobody said who they were) may not `action`."""
    details = {"action": action, "role": operator.role if operator else None}
    with Session(writer(engine)) as session:
        append_event(session, clock(), "refused", operator.id if operator else None, details)
        session.commit()


def unlock_operator(
    engine: Engine, name: str, by: OperatorInfo, clock: Clock = system_clock
) -> OperatorInfo:
    """Clears the failures of an account (after 10 of them only a responsable can)."""
    with Session(writer(engine)) as session:
        operator = _account(session, name)
        operator.failed_attempts = 0
        operator.last_failure_at = None
        session.add(operator)
        append_event(session, clock(), "operator_unlocked", by.id, {"name": operator.name})
        session.commit()
        return OperatorInfo(stored_id(operator.id), operator.name, operator.role)


def remove_operator(
    engine: Engine, name: str, by: OperatorInfo, clock: Clock = system_clock
) -> OperatorInfo:
    """Removes an account: it cannot log in any more; what it did stays in the history."""
    now = clock()
    with Session(writer(engine)) as session:
        operator = _account(session, name)
        if operator.id == by.id:
            raise AccountError("Un ou une responsable ne peut pas supprimer son propre compte.")
        operator.removed_at = now
        session.add(operator)
        append_event(session, now, "operator_removed", by.id, {"name": operator.name})
        session.commit()
        return OperatorInfo(stored_id(operator.id), operator.name, operator.role)


def _account(session: Session, name: str) -> Operator:
    name = " ".join(name.split())
    operator = session.exec(
        select(Operator).where(Operator.name == name, col(Operator.removed_at).is_(None))
    ).first()
    if operator is None:
        raise AccountError(f"Aucun compte « {name} » sur ce poste.")
    return operator


class Accounts:
    """The operators' accounts of one site's database."""

    def __init__(self, engine: Engine, clock: Clock = system_clock) -> None:
        self._engine = engine
        self.clock = clock

    def list(self) -> list[OperatorInfo]:
        return list_operators(self._engine)

    def log_in(self, name: str, pin: str) -> LoginResult:
        return log_in(self._engine, name, pin, self.clock)

    def add(self, name: str, role: str, pin: str, by: OperatorInfo | None = None) -> OperatorInfo:
        return add_operator(self._engine, name, role, pin, by, self.clock)

    def has_any(self) -> bool:
        return has_operators(self._engine)

    def authorise(self, name: str, pin: str, action: str) -> OperatorInfo:
        return authorise(self._engine, name, pin, action, self.clock)

    def refuse_anonymous(self, action: str) -> None:
        """Records that `action` was asked with no account named (then the caller refuses)."""
        record_refusal(self._engine, action, None, self.clock)

    def unlock(self, name: str, by: OperatorInfo) -> OperatorInfo:
        return unlock_operator(self._engine, name, by, self.clock)

    def remove(self, name: str, by: OperatorInfo) -> OperatorInfo:
        return remove_operator(self._engine, name, by, self.clock)
