"""What a start loads: each test runs a fresh `python` that does what the program does (build
the parser, run `check`, open the app on its log-in screen) and lists `sys.modules`. Neither
the hub's libraries, the network client, the printing and image libraries nor Alembic may
be among them: they cost start-up time to every run that does not use them. The app loads the
ORM only once its log-in screen is up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from .conftest import cli_environment

HEAVY = (
    "mediateur_tui.hub",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "reportlab",
    "qrcode",
    "PIL",
    "pyzbar",
    "alembic",
)
ORM = ("sqlalchemy", "sqlmodel", "mediateur_tui.store.models")
# A command-line check needs no ORM nor UI, and the parser no database layer at all.
CHECK_FORBIDDEN = (*HEAVY, *ORM, "textual")
PARSER_FORBIDDEN = (*CHECK_FORBIDDEN, "mediateur_tui.services", "mediateur_tui.store")


def modules_after(code: str, *arguments: str) -> list[str]:
    """The modules a fresh interpreter holds after `code`, which ends with `report()`."""
    prelude = textwrap.dedent(
        """
        import json, sys
        def report(**facts):
            print(json.dumps({"modules": sorted(sys.modules), **facts}), file=sys.__stdout__)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *arguments],
        capture_output=True,
        text=True,
        env=cli_environment(),
        timeout=120,
        check=True,
    )
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts.get("exit", 0) == 0, done.stderr
    return facts["modules"]


def loaded(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [
        name for name in modules if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    ]


def test_building_the_parser_loads_no_service():
    modules = modules_after(
        """
        from mediateur_tui.cli import build_parser
        build_parser().parse_args(["check", "--json", "7K3M-9QXR-4TBEZ"])
        report()
        """
    )
    assert "mediateur_tui.cli.desk_commands" in modules  # the parser was built
    assert loaded(modules, PARSER_FORBIDDEN) == []


def test_check_as_a_process_loads_no_orm_nor_heavy_library(shared_demo_dir):
    modules = modules_after(
        """
        import contextlib, io
        from mediateur_tui.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exit_code = main(["check", "--data-dir", sys.argv[1], "--json", sys.argv[2]])
        report(exit=exit_code if json.loads(out.getvalue())["verdict"] == "valid" else "?")
        """,
        str(shared_demo_dir.path),
        shared_demo_dir.codes["valid"][0],
    )
    assert "mediateur_tui.domain.verdicts" in modules  # a verdict was decided
    assert loaded(modules, CHECK_FORBIDDEN) == []


def test_the_app_up_to_its_log_in_screen_loads_no_heavy_library(shared_demo_dir):
    """What `mediateur-tui --demo` does on an existing demo, headless (App.run_test)."""
    modules = modules_after(
        """
        import asyncio
        from pathlib import Path
        from mediateur_tui.cli import build_parser
        from mediateur_tui.cli.common import ensure_demo
        from mediateur_tui.services.demo import DEMO_OPERATORS
        from mediateur_tui.services.site import open_site_for_app
        from mediateur_tui.ui.app import MediateurApp
        from mediateur_tui.ui.screens.login import LoginScreen

        build_parser().parse_args(["--demo"])
        assert ensure_demo(Path(sys.argv[1])) is None  # already there: nothing drawn
        site = open_site_for_app(Path(sys.argv[1]), create=True)
        app = MediateurApp(site, demo_pins=[(name, pin) for name, pin, _ in DEMO_OPERATORS])

        async def until_login():
            async with app.run_test() as pilot:
                await pilot.pause()
                return isinstance(app.screen, LoginScreen) and bool(app.screen.query("#pin"))

        shown = asyncio.run(until_login())
        site.close()
        report(exit=0 if shown else "no log-in screen")
        """,
        str(shared_demo_dir.path),
    )
    assert "mediateur_tui.ui.screens.login" in modules
    assert loaded(modules, HEAVY) == []


def test_the_app_shows_its_log_in_screen_before_it_loads_the_orm(demo_dir):
    """`run_app` on an existing site: the modules when the app starts loading its services
    (the log-in screen is up by then), and a log-in after it."""
    modules = modules_after(
        """
        import asyncio
        from pathlib import Path
        from mediateur_tui.services.site import open_site_for_app
        from mediateur_tui.ui.app import MediateurApp
        from mediateur_tui.ui.screens.login import LoginScreen

        seen = {}

        app = MediateurApp(open_site_for_app(Path(sys.argv[1])))
        load_services = app.load_services

        def watched():
            seen["login shown"] = isinstance(app.screen, LoginScreen) and bool(
                app.screen.query("#pin")
            )
            seen["modules"] = sorted(sys.modules)
            load_services()

        app.load_services = watched

        async def log_in():
            async with app.run_test() as pilot:
                for _ in range(400):
                    await pilot.pause()
                    if "modules" in seen and app.screen.query("#operator"):
                        break
                await pilot.press(*"1234", "enter")
                for _ in range(400):
                    await pilot.pause()
                    if type(app.screen).__name__ == "HomeScreen":
                        return app.context.operator_name
            return None

        name = asyncio.run(log_in())
        app.context.site.close()
        report(
            modules=seen.get("modules", []),
            exit=0 if seen.get("login shown") and name == "Camille Martin" else seen,
        )
        """,
        str(demo_dir.path),
    )
    assert "mediateur_tui.ui.screens.login" in modules
    assert loaded(modules, (*HEAVY, *ORM)) == []
