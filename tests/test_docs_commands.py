"""Every command of README.md and docs/guide-utilisateur.md, run as written, in a throw-away HOME
with this checkout's .venv/bin first on the PATH.

Which text is a command: each line of a fenced block tagged `bash`, `sh` or `cron` (a cron line
without its five schedule fields; a line ending with `\\` joins the next; `  # …` is a comment).
Untagged blocks are synopses or sample output; `code` in the text names commands, it is not a
script (the commands a newcomer types first are also in blocks): those named commands and the
synopsis lines are checked against the programs' parsers (each subcommand and option exists).

STEPS runs them in an order that makes sense (a site is enrolled before its accounts are made),
each in a named HOME ("site" is the README's enrolled site, with the demo beside it) and checks
the exit code the docs give (0 unless the step says otherwise). The docs' placeholders and the
names of things only known at run time (the hub's address, a one-time token, a backup file) are
replaced through the step's explicit table, doc text → test value. SKIPPED lists the commands
not run, with the reason. A command found in the docs and in neither fails the test: a new
command in the docs gets a step. The hub's commands without --dir run with MEDIATEUR_HUB_DIR set
to the README's hub (as `serve` sets it), served on 127.0.0.1 once `enrol-site` has run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub.server import HubProcess
from terminal import run_in_pty

from mediateur_tui.cli import build_parser
from mediateur_tui.domain.formatting import local_date
from mediateur_tui.domain.rulebooks import RULES_DIR
from mediateur_tui.hub.cli import _parser as hub_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"README": ROOT / "README.md", "guide": ROOT / "docs" / "guide-utilisateur.md"}
SHELL_BLOCKS = {"bash", "sh", "cron"}
TOKEN = re.compile(r"^ {4}([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})$", re.MULTILINE)
KARIM, CAMILLE, NADIA = "5678", "1234", "2468"
LATEST_RULEBOOK = json.loads((RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8"))
REQUESTS = (  # demandes.csv: one carnet request (the fields the guide lists)
    "received_on;category;birth_date;postcode;accompanied;proofs;passes_already_received\n"
    "2022-05-15;senior;1950-01-01;62000;false;residence|age_proof;0\n"
)
HUB_DIR = "/srv/pass"  # the docs' folders: the test's own, through each step's table
USB = "/media/cle-usb"


@dataclass(frozen=True)
class Step:
    command: str  # exactly as in the docs
    home: str = "site"
    expect: int = 0
    replace: dict[str, str] = field(default_factory=dict)  # doc text -> "{name}" of the context
    answers: tuple[str, ...] = ()  # PINs typed at the prompts (in a pseudo-terminal)
    tui: bool = False  # opens the app: run in a pseudo-terminal until the login screen, Ctrl+Q
    in_checkout: bool = False  # `bash scripts/…`, `.venv/…`: from the checkout
    output: str = ""  # a text the output must hold


pytestmark = pytest.mark.slow
YESTERDAY = local_date(datetime.now(UTC)) - timedelta(days=1)


def hub(command: str, **kwargs: object) -> Step:
    return Step(command, replace={HUB_DIR: "{hub_dir}"}, **kwargs)  # type: ignore[arg-type]


ENROL_README = (
    "mediateur-tui enrol --hub https://pass.region.example --token YW4C-N2ZP-DJCT-GXNB-Z0B3"
)
ENROL_GUIDE = "mediateur-tui enrol --hub https://pass.region.fr --token YW4C-N2ZP-DJCT-GXNB-Z0B3"
FIRST_ACCOUNT = 'MEDIATEUR_NEW_PIN=… mediateur-tui operator add "Karim Benali" --role responsable'
BACKUP_1202 = f"{USB}/sauvegarde-AVESNES-EPN-20261202-093000-123.zip"
BACKUP_1126 = f"{USB}/sauvegarde-AVESNES-EPN-20261126-090000-000.zip"

STEPS = (
    # README, the first lines: the demo, the PATH.
    Step("bash scripts/demo.sh", tui=True, in_checkout=True),
    Step("bash scripts/install-commands.sh", in_checkout=True, output="mediateur-hub :"),
    Step("mediateur-tui demo init", output="La démo existe déjà (--force la recrée)"),
    # The guide's part 8, on a demo of its own (the same codes every time).
    Step("mediateur-tui --data-dir demo-guide demo init", output="Pass valides à essayer : "),
    Step(
        "MEDIATEUR_PIN=1234 mediateur-tui --data-dir demo-guide redeem 5SZ7-VZSG-TY1EW "
        'SKYS-VCJH-029XX --operator "Camille Martin"',
        output="2 pass encaissé",
    ),
    Step("printf '%s\\n' 7M6E-TZWF-057JV 6WGW-BVY4-HZQ6A > codes.txt"),
    Step("mediateur-tui --data-dir demo-guide check --json - < codes.txt > verdicts.jsonl"),
    Step('mediateur-tui --data-dir demo-guide check -- "-ZàW?DSGPPR\'Y"', output="6W0Z-MDSG-PPR4Y"),
    Step(
        'MEDIATEUR_PIN=1234 mediateur-tui --data-dir demo-guide redeem --operator "Camille Martin" '
        '-- "-ZàW?DSGPPR\'Y"',
        output="1 pass encaissé",
    ),
    # The guide's part 24: a paper log with its activity, then the export for La Coop (the
    # day and month of the example moved to yesterday's, where the demo's passes are valid).
    Step(
        "MEDIATEUR_PIN=1234 mediateur-tui --data-dir demo-guide redeem 6WGW-BVY4-HZQ6A "
        '2HP9-0MZ8-EY8JR --operator "Camille Martin" --session-type collectif --date 27/11/2026 '
        '--duration 90 --title "Atelier e-mail" --themes email,navigation_sur_internet '
        "--equipment ordinateur,tablette --level debutant --participants 6 "
        "--genres feminin=3,masculin=2 --age-bands soixante_dix_plus=4 --statuses retraite=4",
        replace={"27/11/2026": f"{YESTERDAY:%d/%m/%Y}"},
        output="2 pass encaissés",
    ),
    Step(
        "mediateur-tui --data-dir demo-guide activity export activite-2026-11.xlsx --month 2026-11",
        replace={"--month 2026-11": f"--month {YESTERDAY:%Y-%m}"},
    ),
    Step("mediateur-tui --data-dir demo-guide activity export activite.csv"),
    Step("mediateur-tui --data-dir demo-guide activity export activite.json --format json"),
    # The guide's part 25: the month's activity report (the example's month moved to
    # yesterday's, where the paper log above is).
    Step(
        "mediateur-tui --data-dir demo-guide activity report --month 2026-11",
        replace={"--month 2026-11": f"--month {YESTERDAY:%Y-%m}"},
        output="Atelier collectif",
    ),
    Step(
        "mediateur-tui --data-dir demo-guide activity report --month 2026-11 "
        "--pdf rapport-2026-11.pdf --csv rapport-2026-11.csv",
        replace={"--month 2026-11": f"--month {YESTERDAY:%Y-%m}"},
        output="Rapport écrit dans rapport-2026-11.csv.",
    ),
    Step("mediateur-tui --data-dir demo-guide activity report --json", output='"by_thematique"'),
    # README: the region's hub, then a site enrolled with it.
    hub(f"mediateur-hub --dir {HUB_DIR} init --region-id HDF"),
    hub(
        f"mediateur-hub --dir {HUB_DIR} issue --programme HDFNUM --carnets 20 --size 10 "
        '--label "Pass numérique Hauts-de-France" --valid-from 2026-01-01 --qr-sheets'
    ),
    hub(f"mediateur-hub --dir {HUB_DIR} attribute C0000001 --beneficiary BENEF-0001"),
    hub(
        f"mediateur-hub --dir {HUB_DIR} enrol-site --site-id AVESNES-EPN "
        '--name "EPN d\'Avesnes-sur-Helpe"'
    ),
    Step(
        ENROL_README,
        replace={"https://pass.region.example": "{hub_url}", "YW4C-N2ZP-DJCT-GXNB-Z0B3": "{token}"},
    ),
    Step(FIRST_ACCOUNT, replace={"…": KARIM}),
    Step("mediateur-tui sync"),  # also the README's and the guide's cron line
    Step(
        'MEDIATEUR_PIN=… MEDIATEUR_NEW_PIN=… mediateur-tui operator add "Camille Martin" '
        '--role mediateur --operator "Karim Benali"',
        replace={
            "MEDIATEUR_PIN=…": f"MEDIATEUR_PIN={KARIM}",
            "MEDIATEUR_NEW_PIN=…": "MEDIATEUR_NEW_PIN=1234",
        },
    ),
    # The guide, on that site.
    Step("mediateur-tui history export historique-novembre.csv --from 01/11/2026 --to 30/11/2026"),
    Step("mediateur-tui attribution check demandes.csv"),
    Step("mediateur-tui attribution check demandes.csv --json"),
    Step(
        'mediateur-tui operator add "Nadia Lefèvre" --role distributeur --operator "Karim Benali"',
        answers=(KARIM, NADIA, NADIA),
    ),
    Step("mediateur-tui attribution list"),
    Step(
        f'mediateur-tui attribution export {USB} --operator "Karim Benali"',
        replace={USB: "{usb}"},
        answers=(KARIM,),
        expect=1,  # nothing handed out on this site yet: nothing to export
    ),
    Step(f"mediateur-tui backup {USB} --default", replace={USB: "{usb}"}),
    Step(f"mediateur-tui restore {BACKUP_1202} --replace", replace={BACKUP_1202: "{backup}"}),
    Step(f"mediateur-tui restore {BACKUP_1202}", home="laptop", replace={BACKUP_1202: "{backup}"}),
    Step(
        f'mediateur-tui restore {BACKUP_1126} --merge --operator "Karim Benali"',
        replace={BACKUP_1126: "{backup}"},
        answers=(KARIM,),
    ),
    # The guide's part 9 and 15: a second site's laptop, enrolled as the guide says.
    Step(
        ENROL_GUIDE,
        home="second",
        replace={"https://pass.region.fr": "{hub_url}", "YW4C-N2ZP-DJCT-GXNB-Z0B3": "{token2}"},
    ),
    Step(
        'MEDIATEUR_NEW_PIN=5678 mediateur-tui operator add "Karim Benali" --role responsable',
        home="second",
    ),
    Step(
        'MEDIATEUR_PIN=5678 MEDIATEUR_NEW_PIN=1234 mediateur-tui operator add "Camille Martin" '
        '--role mediateur --operator "Karim Benali"',
        home="second",
    ),
    Step(
        'mediateur-tui operator unlock "Camille Martin" --operator "Karim Benali"',
        home="second",
        answers=(KARIM,),
    ),
    Step(
        'mediateur-tui operator remove "Camille Martin" --operator "Karim Benali"',
        home="second",
        answers=(KARIM,),
    ),
    Step(
        'mediateur-tui operator add "Camille Martin" --role mediateur --operator "Karim Benali"',
        home="third",  # a copy of "second" made before Camille's account
        answers=(KARIM, CAMILLE, CAMILLE),
    ),
    # The guide's part 19, on the README's hub (MEDIATEUR_HUB_DIR, as `serve` sets it).
    Step("mediateur-hub keys rotate"),
    Step("mediateur-hub keys revoke 3JK55MCS --from 2026-11-20", replace={"3JK55MCS": "{old_key}"}),
    Step(
        f"mediateur-hub --dir {HUB_DIR} rulebook publish reglement-2027.json",
        replace={HUB_DIR: "{hub_dir}"},
        output="Règlement hdf-2027 publié",
    ),
    Step(f"mediateur-hub --dir {HUB_DIR} rulebook list", replace={HUB_DIR: "{hub_dir}"}),
    Step("mediateur-hub revoke-site AVESNES-EPN"),
)

SKIPPED = {
    "bash scripts/test.sh": "the whole suite (12 minutes), this test included; .ci/run runs it",
    ".venv/bin/python -m pip wheel --no-deps -w dist .": "tests/test_wheel.py builds this wheel "
    "and runs both programs from it (slow: it fetches the build backend from the registry)",
    f"mediateur-hub --dir {HUB_DIR} --db postgresql+psycopg://hub:secret@db.region.example/pass "
    "serve": "needs a PostgreSQL server: the test serves the same --dir on SQLite "
    "(tests/hub/server.py); tests/hub runs the hub on PostgreSQL",
    "mediateur-hub import-attributions /media/cle-usb/attributions-….json": "needs carnets handed "
    "out in the app (screen `a`): the export above has nothing; "
    "tests/e2e/test_attributions.py::test_attributions_travel_by_usb_key runs this route",
    "mediateur-tui attribution import-answer /media/cle-usb/reponse-attributions-….json "
    '--operator "Karim Benali"': "the region's answer to the file above (same reason)",
}


def doc_commands(path: Path) -> list[str]:
    """The commands of a Markdown file, by the convention of this module's docstring."""
    commands: list[str] = []
    language: str | None = None
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            language = None if language is not None else (stripped[3:].strip() or "")
            continue
        if language not in SHELL_BLOCKS or not stripped:
            continue
        text = pending + stripped
        if text.endswith("\\"):
            pending = text[:-1].rstrip() + " "
            continue
        pending = ""
        text = re.split(r"\s{2,}# ", text, maxsplit=1)[0].rstrip()
        if language == "cron":
            text = text.split(None, 5)[5]
        commands.append(text)
    return commands


def all_doc_commands() -> set[str]:
    return {command for path in DOCS.values() for command in doc_commands(path)}


def test_every_command_of_the_docs_has_a_step_or_a_reason():
    planned = {step.command for step in STEPS}
    assert not planned & set(SKIPPED)
    assert all_doc_commands() == planned | set(SKIPPED)


@dataclass
class World:
    """The throw-away homes, the hub and what the steps learn (tokens, files)."""

    root: Path
    context: dict[str, str] = field(default_factory=dict)
    hub: HubProcess | None = None

    def home(self, name: str) -> Path:
        home = self.root / name
        (home / "work").mkdir(parents=True, exist_ok=True)
        return home

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIATEUR_", "XDG_"))}
        env.update(
            HOME=str(home),
            PATH=f"{ROOT / '.venv' / 'bin'}:{env['PATH']}",
            MEDIATEUR_HUB_DIR=self.context.get("hub_dir", ""),
            TERM="xterm-256color",
            COLUMNS="80",
            LINES="24",
        )
        return env


def command_of(step: Step, context: dict[str, str]) -> str:
    command = step.command
    for doc_text, value in step.replace.items():
        assert doc_text in command, (doc_text, command)
        command = command.replace(doc_text, value.format(**context))
    return command


def run_plain(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("docs"))
    hub_dir = world.root / "hub"
    usb = world.root / "cle-usb"
    usb.mkdir()
    world.context.update(hub_dir=str(hub_dir), usb=str(usb))
    work = world.home("site") / "work"
    (work / "demandes.csv").write_text(REQUESTS, encoding="utf-8")
    # reglement-2027.json, the guide's new version: the latest shipped one, in force in 2027.
    rulebook = {**LATEST_RULEBOOK, "id": "hdf-2027", "effective_from": "2027-01-01"}
    (work / "reglement-2027.json").write_text(json.dumps(rulebook), encoding="utf-8")
    yield world
    if world.hub is not None:
        world.hub.stop()


def learn(step: Step, output: str, world: World) -> None:
    """What a step makes that a later step names: the hub's tokens, the backup file, a key."""
    context = world.context
    if "enrol-site" in step.command:
        found = TOKEN.search(output)
        assert found, output
        context["token"] = found.group(1)
        world.hub = HubProcess.start(Path(context["hub_dir"]))
        context["hub_url"] = world.hub.url
        enrol_second = ["enrol-site", "--site-id", "FOURMIES-MEDIA", "--name", "F", "--no-qr"]
        second = subprocess.run(
            [str(ROOT / ".venv/bin/mediateur-hub"), "--dir", context["hub_dir"], *enrol_second],
            capture_output=True,
            text=True,
            check=True,
        )
        token2 = TOKEN.search(second.stdout)
        assert token2, second.stdout
        context["token2"] = token2.group(1)
    if step.command.startswith("mediateur-tui backup"):
        [backup] = Path(context["usb"]).glob("sauvegarde-*.zip")
        context["backup"] = str(backup)
    if step.command == "mediateur-hub keys rotate":
        old = re.search(r"La clé (\w+) ne signe plus", output)
        assert old, output
        context["old_key"] = old.group(1)
    if step.command.startswith("MEDIATEUR_NEW_PIN=5678") and step.home == "second":
        shutil.copytree(world.home("second") / ".local", world.home("third") / ".local")


def prepare(step: Step, world: World) -> None:
    """What the docs say is the case before a step: `restore --replace` is for a damaged base."""
    if step.command.endswith("--replace"):
        database = (
            world.home(step.home) / ".local" / "share" / "mediateur-tui" / "mediateur.sqlite3"
        )
        with database.open("r+b") as file:
            file.seek(4096)
            file.write(b"\xde\xad" * 2048)  # a damaged page, as after a disk fault


def test_every_command_of_the_docs_runs_as_written(world):
    failures = []
    for step in STEPS:
        home = world.home(step.home)
        env = world.env(home)
        command = command_of(step, world.context)
        cwd = ROOT if step.in_checkout else home / "work"
        prepare(step, world)
        if step.tui or step.answers:
            until = "Camille Martin" if step.tui else None
            code, output = run_in_pty(command, cwd, env, step.answers, until)
        else:
            code, output = run_plain(command, cwd, env)
        if code != step.expect or step.output not in output:
            failures.append(f"{step.command}\n  → exit {code} (expected {step.expect})\n{output}")
            break
        learn(step, output, world)
    assert not failures, "\n".join(failures)
    verdicts = (world.home("site") / "work" / "verdicts.jsonl").read_text(encoding="utf-8")
    assert len(verdicts.splitlines()) == 2
    assert (world.home("site") / ".local" / "bin" / "mediateur-tui").is_symlink()


def test_the_readme_begins_with_the_two_commands_then_the_path_command():
    lines = DOCS["README"].read_text(encoding="utf-8").splitlines()
    commands = doc_commands(DOCS["README"])
    assert lines[2:5] == [
        "```bash",
        "bash scripts/demo.sh     # ouvre l'application sur des données de démonstration",
        "bash scripts/test.sh     # lance toute la suite de tests (lint compris)",
    ]
    assert commands[:3] == [
        "bash scripts/demo.sh",
        "bash scripts/test.sh",
        "bash scripts/install-commands.sh",
    ]


PROGRAMS = ("mediateur-tui", "mediateur-hub")
INLINE = re.compile(r"`((?:mediateur-tui|mediateur-hub)(?: [^`]*)?)`")


def named_commands(path: Path) -> list[str]:
    """The commands the text names (`code` spans) and the README's synopsis lines: not run,
    their placeholders (FICHIER, CODE…) stand for anything."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"^```([^\n]*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    synopses = [
        re.split(r"\s{3,}", line)[0]
        for language, body in blocks
        if not language.strip()
        for line in body.splitlines()
        if line.startswith(PROGRAMS)
    ]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return synopses + [" ".join(span.split()) for span in INLINE.findall(prose)]


def parser_of(program: str) -> argparse.ArgumentParser:
    if program == "mediateur-tui":
        return build_parser()
    return hub_parser()


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def unknown_words(command: str) -> list[str]:
    """The subcommand or the options of `command` that its program does not have."""
    program, *words = command.split()
    parser = parser_of(program)
    options = options_of(parser)
    while words and not words[0].startswith("["):
        action = parser._option_string_actions.get(words[0])
        if action is not None:  # an option before the subcommand (--dir DIR, --demo)
            words = words[1 if action.nargs == 0 else 2 :]
            continue
        if words[0].startswith("-"):
            break
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not groups:
            break
        if words[0] not in groups[0].choices:
            return [words[0]]
        parser = groups[0].choices[words[0]]
        options |= options_of(parser)
        words = words[1:]
    flags = [word.strip("[]").split("=")[0] for word in words]
    return [
        flag for flag in flags if flag.startswith("--") and flag != "--" and flag not in options
    ]


def test_every_command_the_docs_name_exists_with_its_options():
    named = [command for path in DOCS.values() for command in named_commands(path)]
    assert len(named) > 50
    wrong = {command: unknown_words(command) for command in named if unknown_words(command)}
    assert not wrong
