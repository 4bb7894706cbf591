"""Every entry point of both command lines, walked from their argparse trees and run with
garbage: no traceback, no unexpected error, a known exit code, French, inert output.

The walk finds the commands itself, so a command added later is covered without a change here.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from mediateur_tui.cli import build_parser
from mediateur_tui.cli import main as site_main
from mediateur_tui.hub.cli import _parser as hub_parser
from mediateur_tui.hub.cli import main as hub_main

from .conftest import MEDIATEUR, Run, no_traceback, run

GARBAGE = (
    "",  # an empty argument
    "\x1b[2K\r6K3F-ZZZZ : Pass valide",  # a terminal escape (a hostile QR code or file name)
    "\udcff\udcfe",  # invalid UTF-8, as Python hands it over (surrogateescape)
    "-6K3F",  # a code read by a US-layout scanner on AZERTY
    "x" * 5000,
)
# Options whose value is not free text: given a valid value in the second pass, so that the
# handler itself runs on the garbage of the other arguments.
VALID = {"int": "3", "_day": "2026-11-02"}
# Would serve (the hub's server) or open the app: not something to start with garbage.
NOT_RUN = {("hub", "serve")}


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield path
        return
    for name, child in subcommands[0].choices.items():
        yield from leaves(child, (*path, name))


def leaf_parser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path[1:]:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


COMMANDS = [*leaves(build_parser(), ("site",)), *leaves(hub_parser(), ("hub",))]


def garbage_arguments(
    parser: argparse.ArgumentParser, garbage: str, typed_valid: bool, homes: list[str]
) -> list[str]:
    """Every positional and every option with a value, given `garbage`; the home options
    (--data-dir, --dir) point at a real site or hub, unless the garbage is for them too."""
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:
        if action.nargs == 0 or isinstance(action, argparse._HelpAction):
            continue
        type_name = getattr(action.type, "__name__", "")
        value = VALID[type_name] if typed_valid and type_name in VALID else garbage
        if action.choices and typed_valid:
            value = str(sorted(action.choices)[0])
        if not action.option_strings:
            positionals.append(value)
        elif action.dest in ("data_dir", "dir") and homes:
            options += [action.option_strings[0], homes[0]]
        elif action.dest == "db" and homes:
            continue  # the hub's own database, under --dir
        else:
            options += [action.option_strings[0], value]
    return [*options, "--", *positionals] if positionals else options


def run_in_process(main: Callable[[list[str]], int], capsys, argv: list[str]) -> Run:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return Run(code, out, err)


@pytest.fixture(autouse=True)
def _no_log_capture():
    """The garbage (lone surrogates) would reach pytest's log capture raw, which pytest-xdist
    then cannot send between processes; the site's own log file shows it inert."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def homes(site, tmp_path, monkeypatch, capsys):
    """A demo site, an initialised hub, the PINs in the environment (nothing prompts), and a
    working directory of its own (garbage paths land there)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDIATEUR_PIN", "5678")
    monkeypatch.setenv("MEDIATEUR_NEW_PIN", "2468")
    hub = tmp_path / "hub"
    assert (
        run_in_process(hub_main, capsys, ["--dir", str(hub), "init", "--region-id", "HDF"]).code
        == 0
    )
    return {"site": str(site.path), "hub": str(hub)}


def assert_contract(result: Run, argv: list[str]) -> None:
    said = result.out + result.err
    context = f"{argv!r}\n{said[:2000]}"
    assert result.code in (0, 1, 2), context
    assert "Traceback" not in said, context
    assert "Erreur inattendue" not in said, context
    assert "\x1b" not in said and "\r" not in said, context
    if result.code == 2:
        assert result.err.strip(), context  # a sentence says why
        assert "error:" not in result.err and "usage:" not in result.err, context


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_answers_garbage_in_french_without_a_traceback(command, homes, capsys):
    program, *words = command
    main = site_main if program == "site" else hub_main
    parser = leaf_parser(build_parser() if program == "site" else hub_parser(), command)
    home = [homes[program]]
    help_ = run_in_process(main, capsys, [*words, "--help"])
    assert help_.code == 0 and "utilisation :" in help_.out
    unknown = run_in_process(main, capsys, [*words, "--n-existe-pas"])
    assert unknown.code == 2 and " : erreur : " in unknown.err  # a missing or unknown argument
    assert "utilisation :" in unknown.err
    for garbage in GARBAGE:
        passes = [(False, home), (False, [])]
        if command not in NOT_RUN:
            passes.append((True, home))
        for typed_valid, where in passes:
            argv = [*words, *garbage_arguments(parser, garbage, typed_valid, where)]
            assert_contract(run_in_process(main, capsys, argv), argv)


def test_a_terminal_that_cannot_show_every_character_gets_the_verdict(site):
    """latin-1 has no "…" nor "✔": the pass is taken and its verdict said all the same."""
    [code] = site.valid(1)
    name, pin = MEDIATEUR
    taken = run(
        "redeem", code, "--operator", name, "--data-dir", str(site.path),
        env={"MEDIATEUR_PIN": pin, "PYTHONIOENCODING": "latin-1"},
    )  # fmt: skip
    no_traceback(taken)
    assert taken.code == 0, taken.err
    assert "Pass valide" in taken.out
    assert "inattendue" not in taken.err
    hub = subprocess.run(
        [sys.executable, "-m", "mediateur_tui.hub.cli", "--help"],
        capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}, check=False,
    )  # fmt: skip
    assert hub.returncode == 0 and b"mediateur-hub" in hub.stdout
