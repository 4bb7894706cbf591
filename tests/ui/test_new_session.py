"""The new-session form in La Coop's vocabulary, driven by a Pilot at 80×24: Enter alone, the
previous session's defaults, an atelier's fields, the thématiques' filter, French errors with
the focus on the field to correct."""

from __future__ import annotations

from datetime import date

from mediateur_tui.domain.activity import (
    Activity,
    Genre,
    Materiel,
    NiveauAtelier,
    Thematique,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.services.activity import activity_of
from mediateur_tui.store.models import DeskSession
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.new_session import SCAN_IN_FORM, NewSessionScreen
from mediateur_tui.ui.screens.session import SessionScreen

from .helpers import (
    NOW,
    SIZE,
    bare,
    burst,
    footer_keys,
    keys_back_to_back,
    log_in,
    settle,
    text_of,
    type_text,
)

TODAY = date(2026, 11, 28)


async def open_form(pilot) -> NewSessionScreen:
    await log_in(pilot)
    assert isinstance(pilot.app.screen, HomeScreen)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, NewSessionScreen)
    return pilot.app.screen


async def submit(pilot) -> None:
    await pilot.press("enter")
    await settle(pilot)


def sessions(demo) -> list[DeskSession]:
    return demo.rows(DeskSession)


def message(app) -> str:
    return text_of(app.screen.query_one("#form-message"))


async def focus(pilot, selector: str) -> None:
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()


async def test_enter_alone_starts_a_first_session_with_the_defaults(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        [row] = sessions(demo)
        assert row.title == "Séance du 28/11/2026"
        activity = activity_of(row)
        assert activity.type is TypeActivite.INDIVIDUEL
        assert activity.date == TODAY
        assert activity.duration_minutes == 60
        assert activity.place_type is TypeLieu.LIEU_ACTIVITE
        assert activity.thematiques == (Thematique.NAVIGATION_SUR_INTERNET,)


async def test_the_previous_sessions_kind_of_work_comes_back(demo):
    operator = demo.operator()
    desk = demo.desk(NOW.replace(day=20))
    previous = desk.start_activity(
        operator.id,
        "Atelier e-mail",
        Activity(
            type=TypeActivite.COLLECTIF,
            date=date(2026, 11, 20),
            duration_minutes=90,
            equipment=(Materiel.TABLETTE,),
            thematiques=(Thematique.EMAIL, Thematique.SECURITE_NUMERIQUE),
            niveau=NiveauAtelier.DEBUTANT,
            participants=6,
            genres={Genre.FEMININ: 4},
        ),
    )
    desk.end_session(previous.id)
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        assert form.query_one("#title").value == "Atelier e-mail"
        assert form.query_one("#participants").value == "6"
        assert form.query_one("#genres-feminin").value == ""  # people are never carried over
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        row = sessions(demo)[-1]
        assert row.title == "Atelier e-mail"
        activity = activity_of(row)
        assert activity.type is TypeActivite.COLLECTIF
        assert activity.date == TODAY
        assert activity.duration_minutes == 90
        assert activity.equipment == (Materiel.TABLETTE,)
        assert activity.thematiques == (Thematique.EMAIL, Thematique.SECURITE_NUMERIQUE)
        assert (activity.niveau, activity.participants) == (NiveauAtelier.DEBUTANT, 6)
        assert activity.genres == {}


async def test_an_atelier_needs_its_participants(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await pilot.press("right")  # type: Atelier collectif
        assert form.query_one("#collectif").display
        assert not form.query_one("#individuel").display
        await submit(pilot)
        assert isinstance(app.screen, NewSessionScreen)
        assert message(app) == "Un atelier collectif compte au moins un participant."
        assert app.focused is form.query_one("#participants")
        await type_text(pilot, "6")
        await focus(pilot, "#title")
        await type_text(pilot, "Atelier smartphone")
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        row = sessions(demo)[-1]
        assert row.title == "Atelier smartphone"
        activity = activity_of(row)
        assert (activity.type, activity.participants) == (TypeActivite.COLLECTIF, 6)
        assert activity.title == "Atelier smartphone"


async def test_a_custom_duration_too_long_is_refused_in_french_on_its_field(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await focus(pilot, "#duration")
        await pilot.press("right", "right", "right")  # 1h -> 1h30 -> 2h -> Personnaliser
        assert form.query_one("#duration-custom").display
        await pilot.press("tab")
        await type_text(pilot, "800")
        await submit(pilot)
        assert message(app) == "La durée doit être un nombre de minutes entre 1 et 720 (12 heures)."
        assert app.focused is form.query_one("#duration-custom")
        assert sessions(demo) == []
        await pilot.press("backspace", "backspace", "backspace")
        await type_text(pilot, "25")
        await submit(pilot)
        assert activity_of(sessions(demo)[-1]).duration_minutes == 25


async def test_a_home_session_needs_its_commune_and_reads_it(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await focus(pilot, "#place")
        await pilot.press("right")  # À domicile
        await submit(pilot)
        assert message(app) == "Indiquez la commune du lieu (« À domicile »)."
        assert app.focused is form.query_one("#place-commune")
        await type_text(pilot, "59440:590")
        await submit(pilot)
        assert message(app).startswith("Code INSEE invalide « 590 »")
        assert app.focused is form.query_one("#place-commune")
        await type_text(pilot, "36:Avesnes-sur-Helpe")
        await submit(pilot)
        activity = activity_of(sessions(demo)[-1])
        assert activity.place_type is TypeLieu.DOMICILE
        assert activity.place_commune is not None
        assert activity.place_commune.nom == "Avesnes-sur-Helpe"


async def test_typing_filters_the_thematiques_and_the_administrative_rule_applies(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await focus(pilot, "#thematiques-list")
        await type_text(pilot, "logem")
        listed = form.query_one("#thematiques-list")
        assert listed.option_count == 1
        await pilot.press("space")
        await submit(pilot)
        assert message(app) == (
            "Les thématiques administratives (« Logement ») demandent aussi la thématique "
            "« Aide aux démarches administratives »."
        )
        assert app.focused is listed
        await pilot.press("escape")  # the filter goes, not the form
        assert isinstance(app.screen, NewSessionScreen)
        assert listed.option_count == 30
        await type_text(pilot, "demarches")  # accents ignored
        await pilot.press("space")
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert activity_of(sessions(demo)[-1]).thematiques == (
            Thematique.NAVIGATION_SUR_INTERNET,
            Thematique.LOGEMENT,
            Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES,
        )


async def test_f4_shows_the_anonymous_counts_which_stay_within_the_participants(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        assert not form.query_one("#details").display
        await pilot.press("f4")
        assert form.query_one("#details").display
        await focus(pilot, "#genres-feminin")
        await type_text(pilot, "2")
        await submit(pilot)
        assert message(app) == (
            "Les décomptes par genre (2) dépassent le nombre de participants (1)."
        )
        assert app.focused is form.query_one("#genres-masculin")
        await focus(pilot, "#genres-feminin")
        await pilot.press("backspace")
        await type_text(pilot, "1")
        await submit(pilot)
        assert activity_of(sessions(demo)[-1]).genres == {Genre.FEMININ: 1}


async def test_quick_typing_ticks_what_the_keys_were_typed_on(demo):
    """Space and the arrows act in the order typed, even when a Tab comes right after."""
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await focus(pilot, "#thematiques-list")
        keys_back_to_back(app, "m", "a", "i", "l", "space", "tab", "space", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionScreen)
        activity = activity_of(sessions(demo)[-1])
        assert activity.thematiques == (Thematique.NAVIGATION_SUR_INTERNET, Thematique.EMAIL)
        assert activity.equipment == (Materiel.ORDINATEUR,)


async def test_f4_on_the_session_screen_corrects_its_activity(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert "Activité" in footer_keys(app)
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewSessionScreen)
        assert "Activité de la séance" in text_of(form.query_one(".card-title"))
        await pilot.press("right")  # an atelier, after all
        await focus(pilot, "#participants")
        await type_text(pilot, "4")
        await submit(pilot)
        assert isinstance(app.screen, SessionScreen)
        assert "(Atelier collectif, 60 min)" in text_of(app.screen.query_one("#session-title"))
        [row] = sessions(demo)
        assert (row.kind, row.participants, row.title) == ("collectif", 4, "Séance du 28/11/2026")
        assert "Activité de la séance enregistrée." in text_of(app.screen.query_one("#verdict"))


async def test_a_click_chooses_an_option(demo):
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        row = form.query_one("#type")
        offset = len("● Accompagnement individuel  ") + 2  # on « Atelier collectif »
        await pilot.click(row, offset=(offset, 0))
        await settle(pilot)
        assert row.value is TypeActivite.COLLECTIF
        assert form.query_one("#collectif").display


async def test_a_scan_in_the_f4_form_is_refused_not_saved(demo):
    """A pass scanned while F4's form is open on the session screen: its keys land in the
    form, its Enter would save them; the form refuses, says the pass was not taken."""
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await submit(pilot)
        before = activity_of(sessions(demo)[-1])
        await pilot.press("f4")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewSessionScreen)
        burst(app, bare(demo.codes["valid"][0]) + "\n")
        await settle(pilot)
        assert app.screen is form
        assert message(app) == SCAN_IN_FORM
        assert activity_of(sessions(demo)[-1]) == before
    assert demo.redemptions() == []
