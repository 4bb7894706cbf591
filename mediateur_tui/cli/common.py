"""What the command modules share: exit codes, output, the site of the data directory, the
PIN asked of a responsable, and `Commands`, where each module adds its own sub-commands.

Exit codes: 0 done (pass redeemable or redeemed), 1 refused or nothing to do, 2 usage, data,
network or permission error (a French sentence on stderr).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mediateur_tui.domain.errors import UserError

if TYPE_CHECKING:
    from mediateur_tui.services.demo import DemoResult
    from mediateur_tui.services.operators import OperatorInfo
    from mediateur_tui.services.site import Site

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
ENV_PIN = "MEDIATEUR_PIN"  # the PIN of the operator who runs the command
ENV_NEW_PIN = "MEDIATEUR_NEW_PIN"  # the PIN of an account being created
MAX_REPLICA_AGE_DAYS = 3660  # ten years: beyond, timedelta overflows and no warning means much

Handler = Callable[[argparse.Namespace, Path], int]


class CliError(UserError):
    """A usage or data error: printed in French, exit code 2."""


class Commands:
    """Sub-commands (or a group of them, such as `operator add`), each with its handler."""

    def __init__(
        self,
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
        common: argparse.ArgumentParser,
    ) -> None:
        self._subparsers = subparsers
        self.common = common

    def add(
        self,
        name: str,
        help_text: str,
        handler: Handler,
        parents: tuple[argparse.ArgumentParser, ...] = (),
    ) -> argparse.ArgumentParser:
        sub = self._subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[self.common, *parents]
        )
        sub.set_defaults(handler=handler)
        return sub

    def group(self, name: str, help_text: str) -> Commands:
        """A command made of sub-commands (`mediateur-tui operator add …`)."""
        parser = self._subparsers.add_parser(name, help=help_text, description=help_text)
        sub = parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMANDE")
        return Commands(sub, self.common)


def responsable_option() -> argparse.ArgumentParser:
    """`--operator NAME`, for the commands a responsable runs."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--operator",
        metavar="NOM",
        help=f"le ou la responsable qui lance la commande (code PIN : {ENV_PIN} ou saisie)",
    )
    return parent


def replica_max_age(args: argparse.Namespace) -> timedelta:
    from mediateur_tui.domain.verdicts import DEFAULT_MAX_REPLICA_AGE

    days = getattr(args, "replica_max_age", None)
    if days is None:
        return DEFAULT_MAX_REPLICA_AGE
    if not 1 <= days <= MAX_REPLICA_AGE_DAYS:
        raise CliError(
            f"--replica-max-age doit être un nombre de jours entre 1 et {MAX_REPLICA_AGE_DAYS}."
        )
    return timedelta(days=days)


def open_existing(data_dir: Path, args: argparse.Namespace | None = None) -> Site:
    """The site of `data_dir`, which must already hold a replica of the registry."""
    from mediateur_tui.services.site import open_site

    if args is None:
        return open_site(data_dir).require_replica()
    return open_site(data_dir, max_replica_age=replica_max_age(args)).require_replica()


def open_or_create(data_dir: Path) -> Site:
    """The site of `data_dir`, its database created (empty, migrated) when there is none yet."""
    from mediateur_tui.services.site import open_site

    return open_site(data_dir, create=True)


def ensure_demo(
    data_dir: Path, passes: int | None = None, force: bool = False
) -> DemoResult | None:
    """Creates the demo in `data_dir` unless it is already there (None then)."""
    from mediateur_tui.domain.clock import system_clock
    from mediateur_tui.services.demo import DEFAULT_PASSES, create_demo, save_demo_info

    result = create_demo(data_dir, system_clock(), passes or DEFAULT_PASSES, force)
    if result is not None:
        save_demo_info(result)
    return result


def ask_pin(variable: str, prompt: str, twice: bool = False) -> str:
    """A PIN from the environment variable, else typed at the terminal (never an argument)."""
    pin = os.environ.get(variable)
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        raise CliError(f"Code PIN manquant : définissez {variable} ou lancez dans un terminal.")
    pin = getpass.getpass(prompt)
    if twice and getpass.getpass("Le même code PIN, une seconde fois : ") != pin:
        raise CliError("Les deux codes PIN diffèrent : rien n'a été fait.")
    return pin


def responsable(args: argparse.Namespace, site: Site, action: str) -> OperatorInfo | None:
    """The responsable who runs `action`, PIN checked; None on a site's first day, while it has
    no account at all (it is being set up). NotAllowed (exit 2, in the audit log) otherwise."""
    if not site.accounts.has_any():
        return None
    name = getattr(args, "operator", None)
    if not name:
        site.accounts.refuse_anonymous(action)
        raise CliError(
            f"{action} : réservé aux responsables du lieu. Ajoutez --operator NOM "
            f"(code PIN : {ENV_PIN} ou saisie)."
        )
    pin = ask_pin(ENV_PIN, f"Code PIN de {name} : ")
    return site.accounts.authorise(name, pin, action)
