"""No English from Textual itself on any screen: the footers, F1 and the palette's commands
of every screen a user reaches, an open list (Select), the command palette's own words."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import textual
from textual.command import CommandInput, CommandList
from textual.dom import DOMNode
from textual.widgets import Select

from mediateur_tui.ui.screens.help import HelpScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.palette import NO_MATCHES, PLACEHOLDER, FrenchCommandPalette
from mediateur_tui.ui.widgets.keys_footer import TEXTUAL_DESCRIPTIONS

from .helpers import DISTRIBUTOR, SIZE, footer_keys, log_in, settle, text_of

KARIM = ("5678", "Karim Benali")  # responsable: every key of the home


def textual_bindings() -> dict[str, bool]:
    """Every description of a key binding of Textual's own widgets, screens and app, and
    whether the binding is shown in a footer."""
    found: dict[str, bool] = {}
    for module_info in pkgutil.walk_packages(textual.__path__, "textual."):
        try:
            module = importlib.import_module(module_info.name)
        except ImportError:  # an optional dependency (tree-sitter…)
            continue
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, DOMNode) or not cls.__module__.startswith("textual."):
                continue
            if cls.__module__.startswith(("textual.demo", "textual.cli", "textual._markup_p")):
                continue
            merged = cls._merged_bindings
            for bindings in merged.key_to_bindings.values() if merged else ():
                for binding in bindings:
                    if binding.description:
                        shown = found.get(binding.description, False)
                        found[binding.description] = shown or binding.show
    return found


ENGLISH = sorted(textual_bindings())


def english_in(text: str) -> list[str]:
    return [words for words in ENGLISH if re.search(rf"\b{re.escape(words)}\b", text)]


def test_each_textual_key_shown_in_a_footer_has_french_words():
    shown = {description for description, show in textual_bindings().items() if show}
    assert "Dismiss menu" in shown  # the survey reads Textual's real bindings
    assert shown <= TEXTUAL_DESCRIPTIONS.keys()


async def what_the_screen_says(pilot) -> str:
    """The footer, the palette's commands, and F1 (a small dialog has no F1)."""
    app = pilot.app
    screen = app.screen
    commands = [f"{c.title} {c.help}" for c in app.get_system_commands(screen)]
    said = [footer_keys(app), *commands]
    await pilot.press("f1")
    await settle(pilot)
    if isinstance(app.screen, HelpScreen):
        said.extend(text_of(static) for static in app.screen.query("#help Static"))
        await pilot.press("escape")
        await settle(pilot)
    assert app.screen is screen
    return "\n".join(said)


async def test_no_screen_shows_textual_english(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = {"connexion": await what_the_screen_says(pilot)}
        await log_in(pilot, *KARIM)
        seen["accueil"] = await what_the_screen_says(pilot)
        for key in ("v", "h", "s", "m", "a", "n"):
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, HomeScreen), key
            seen[type(app.screen).__name__] = await what_the_screen_says(pilot)
            await pilot.press("escape")
            await settle(pilot)
        seen["séance"] = await what_the_screen_says(pilot)  # n: the new session form, then it
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("d")
        await log_in(pilot, *DISTRIBUTOR)
        await pilot.press("a")
        await settle(pilot)
        seen["demande"] = await what_the_screen_says(pilot)
        assert len(seen) >= 9
        assert {name: english_in(text) for name, text in seen.items()} == {
            name: [] for name in seen
        }


async def test_an_open_list_says_in_french_how_to_close_it(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("h")
        await settle(pilot)
        kind = app.screen.query_one("#status", Select)
        kind.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert kind.expanded
        assert "esc Fermer la liste" in footer_keys(app)
        assert english_in(footer_keys(app)) == []


async def test_the_command_palette_speaks_french(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = app.screen
        assert isinstance(palette, FrenchCommandPalette)
        assert palette.query_one(CommandInput).placeholder == PLACEHOLDER
        burst_of_nothing = "zqxwzqxw"
        await pilot.press(*burst_of_nothing)
        results = palette.query_one(CommandList)
        for _ in range(300):  # the palette says it after half a second without a match
            count = results.option_count
            prompts = [str(results.get_option_at_index(i).prompt) for i in range(count)]
            if any(NO_MATCHES in prompt for prompt in prompts):
                break
            await pilot.pause(0.01)
        assert len(prompts) == 1
        assert NO_MATCHES in prompts[0]
        assert "No matches" not in prompts[0]


async def test_ctrl_c_says_in_french_how_to_quit(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        [notice] = list(app._notifications)
        assert "Ctrl+Q" in notice.message and notice.title == "Quitter ?"
        assert app.is_running
