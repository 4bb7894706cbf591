"""A new site's first start, driven by a Pilot at 80×24: the first-run screen gets the region's
registry (a replica file made by `mediateur-hub export-replica`, or an enrolment with a real
`mediateur-hub serve` process and a first sync), then the first account, then the log-in."""

from __future__ import annotations

import contextlib
import gzip
import io
import json

import httpx
from textual.widgets import Input, ProgressBar, Select

from mediateur_tui import cli
from mediateur_tui.hub.cli import main as hub_main
from mediateur_tui.services.auth import list_operators
from mediateur_tui.services.setup import SetupState, setup_state
from mediateur_tui.services.sync import SiteSync
from mediateur_tui.store.engine import database_file, open_database
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME
from mediateur_tui.ui.app import MediateurApp
from mediateur_tui.ui.screens.first_operator import FirstOperatorScreen
from mediateur_tui.ui.screens.first_run import FirstRunScreen
from mediateur_tui.ui.screens.home import HomeScreen
from mediateur_tui.ui.screens.login import LoginScreen

from .helpers import SIZE, footer_keys, log_in, make_app, settle, text_of, type_text
from .region import HUB_SITE_ID, HUB_SITE_NAME

CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nobody listens there


def shown(app, selector: str) -> str:
    return text_of(app.screen.query_one(selector))


async def fill(pilot, selector: str, text: str) -> None:
    """Focuses a field, replaces its text by typing, and lets the app catch up."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    await type_text(pilot, text)


async def submit(pilot, selector: str) -> None:
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press("enter")
    await settle(pilot)


async def import_replica(pilot, path, site_id: str) -> None:
    await pilot.press("f")
    await settle(pilot)
    await fill(pilot, "#replica-path", str(path))
    await pilot.press("enter")  # to the next field
    await fill(pilot, "#site-id", site_id)
    await submit(pilot, "#site-id")


async def test_a_new_site_opens_on_the_first_run_choice(new_site):
    data_dir, engine = new_site
    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        assert app.screen.step == "choice"
        assert "Inscrire ce lieu auprès de la région" in str(
            app.screen.query_one("#choice-list").get_option_at_index(0).prompt
        )
        assert footer_keys(app) == (
            "i Inscrire ce lieu f Importer un fichier u Clé USB ^q Quitter f1 Aide"
        )
        await pilot.press("down", "enter")  # the list works as well as the keys
        await settle(pilot)
        assert app.screen.step == "import"
        assert app.focused is app.screen.query_one("#replica-path")
        assert footer_keys(app) == "esc Retour ^q Quitter f1 Aide"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.step == "choice"


async def test_replica_file_then_first_account_then_log_in(new_site, region_hub, tmp_path):
    data_dir, engine = new_site
    region_hub.token()  # the region records the site (and hands its token to nobody here)
    replica = region_hub.export_replica(tmp_path / "cle-usb" / "replique.json.gz")
    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await import_replica(pilot, replica, HUB_SITE_ID.lower())
        assert app.screen.step == "done"
        title = shown(app, "#work-title")
        assert f"Réplique importée : lieu {HUB_SITE_ID}, région HDF." in title
        assert f"Empreinte de la clé de la région : {region_hub.key_fingerprint()}" in title
        assert "20 pass" in shown(app, "#work-status")
        assert app.screen.query_one(ProgressBar).percentage == 1
        assert footer_keys(app) == "⏎ Continuer ^q Quitter f1 Aide"
        await pilot.press("enter")
        await settle(pilot)

        # No account yet: the first one, responsable by default.
        assert isinstance(app.screen, FirstOperatorScreen)
        assert app.screen.query_one("#role", Select).value == "responsable"
        await type_text(pilot, "Léa Dupont")
        await pilot.press("enter")
        await type_text(pilot, "2468")
        await pilot.press("enter")
        await type_text(pilot, "2469")
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#operator-message") == (
            "Les deux codes PIN diffèrent : tapez-les à nouveau."
        )
        assert list_operators(engine) == []
        await type_text(pilot, "12")
        await pilot.press("enter")
        await type_text(pilot, "12")
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#operator-message") == "Le code PIN doit compter de 4 à 12 chiffres."
        screen = app.screen  # the PIN is what to correct: emptied, and the focus there
        assert app.focused is screen.query_one("#pin")
        assert [screen.query_one(f, Input).value for f in ("#pin", "#pin-again")] == ["", ""]
        await fill(pilot, "#name", " ")
        await fill(pilot, "#pin", "2468")
        await fill(pilot, "#pin-again", "2468")
        await submit(pilot, "#pin-again")
        assert shown(app, "#operator-message") == "Le nom ne peut pas être vide."
        assert app.focused is screen.query_one("#name")
        await fill(pilot, "#name", "Léa Dupont")
        await fill(pilot, "#pin", "2468")
        await fill(pilot, "#pin-again", "2468")
        await submit(pilot, "#pin-again")

        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot, "2468")
        assert isinstance(app.screen, HomeScreen)
        assert app.context.operator.name == "Léa Dupont"
        assert app.context.operator.role == "responsable"
        assert "20 pass" in shown(app, "#replica")
        assert "Non inscrit auprès de la région" in shown(app, "#replica")
    assert setup_state(database_file(engine)).ready


async def test_a_tampered_or_wrong_replica_file_is_refused_and_nothing_is_imported(
    new_site, region_hub, tmp_path
):
    data_dir, engine = new_site
    region_hub.token()
    replica = region_hub.export_replica(tmp_path / "replique.json.gz")
    lines = gzip.decompress(replica.read_bytes()).splitlines(keepends=True)
    at = next(index for index, line in enumerate(lines) if b'"carnet"' in line)
    carnet = json.loads(lines[at])
    carnet["codes"][0] = carnet["codes"][1]  # one code changed after the region sealed
    lines[at] = json.dumps(carnet).encode() + b"\n"
    tampered = tmp_path / "replique-modifiee.json.gz"
    tampered.write_bytes(gzip.compress(b"".join(lines)))
    not_a_replica = tmp_path / "notes.txt"
    not_a_replica.write_text("liste de courses", encoding="utf-8")

    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await import_replica(pilot, tampered, HUB_SITE_ID)
        assert app.screen.step == "import"
        message = shown(app, "#import-message")
        assert message.startswith(
            "Import refusé : L'empreinte de la réplique ne correspond pas à son sceau : le "
            "fichier a été modifié"
        )
        assert message.endswith("Rien n'a été importé.")
        assert app.focused is app.screen.query_one("#replica-path")  # the file is wrong

        await fill(pilot, "#replica-path", str(tmp_path / "absent.json.gz"))
        await submit(pilot, "#site-id")
        assert "Fichier introuvable" in shown(app, "#import-message")

        await fill(pilot, "#replica-path", str(not_a_replica))
        await submit(pilot, "#site-id")
        assert "ce n'est pas un document JSON valide" in shown(app, "#import-message")

        await fill(pilot, "#replica-path", str(replica))
        await fill(pilot, "#site-id", "AUTRE-LIEU")
        await submit(pilot, "#site-id")
        assert "« AUTRE-LIEU » n'est pas dans le registre" in shown(app, "#import-message")
        assert app.focused is app.screen.query_one("#site-id")  # the file is right: the id

        await fill(pilot, "#site-id", "")
        await submit(pilot, "#site-id")
        assert shown(app, "#import-message") == (
            "Indiquez l'identifiant de ce lieu, tel que la région l'a enregistré."
        )
        assert app.focused is app.screen.query_one("#site-id")
        assert isinstance(app.screen, FirstRunScreen)
    assert not setup_state(database_file(engine)).has_replica
    assert SiteSync(engine, data_dir).status().replica_cursor == 0


async def test_enrolment_with_a_real_hub_then_the_first_sync(new_site, hub_server):
    region_hub, process = hub_server
    url = process.url
    data_dir, engine = new_site
    token = region_hub.token()
    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#hub-url")
        await type_text(pilot, url + "/")
        await pilot.press("enter")
        await type_text(pilot, token)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.step == "done", shown(app, "#work-result")
        title = shown(app, "#work-title")
        assert f"Lieu inscrit : « Tiers-lieu de Lille » ({HUB_SITE_ID}), région HDF." in title
        assert f"Empreinte de la clé de la région : {region_hub.key_fingerprint()}" in title
        status = shown(app, "#work-status")
        assert status.startswith("Réplique reçue : ")
        assert status.endswith(", 20 pass.")
        assert app.screen.query_one(ProgressBar).percentage == 1
        assert shown(app, "#work-result") == "✔ Ce poste est prêt."
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FirstOperatorScreen)
    status = SiteSync(engine, data_dir).status()
    assert status.enrolled and status.hub_url == url
    assert status.pass_count == 20
    assert status.last_sync_at is not None


async def test_enrolment_errors_say_why_and_change_nothing(new_site, hub_server, tmp_path):
    region_hub, process = hub_server
    url = process.url
    data_dir, engine = new_site
    token = region_hub.token()
    # Another computer used the token first.
    other = tmp_path / "autre-poste"
    other_engine = open_database(other / DATABASE_FILENAME)
    SiteSync(other_engine, other).enrol(url, token)
    other_engine.dispose()

    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await fill(pilot, "#hub-url", "pass.region.fr")
        await fill(pilot, "#token", token)
        await submit(pilot, "#token")
        assert shown(app, "#enrol-message") == (
            "Adresse du serveur régional invalide : « pass.region.fr » "
            "(attendu http://… ou https://…)."
        )
        assert app.focused is app.screen.query_one("#hub-url")

        await fill(pilot, "#hub-url", CLOSED_PORT_URL)
        await submit(pilot, "#token")
        message = shown(app, "#enrol-message")
        assert message.startswith(f"Inscription refusée : La région ({CLOSED_PORT_URL}) ne répond")
        assert message.endswith("Rien n'a été enregistré.")
        assert app.screen.step == "enrol"
        assert app.focused is app.screen.query_one("#hub-url")  # nobody there: the address

        await fill(pilot, "#hub-url", url)
        await submit(pilot, "#token")
        assert "Ce jeton d'inscription a déjà servi" in shown(app, "#enrol-message")
        assert app.focused is app.screen.query_one("#token")  # the region refused the token

        await fill(pilot, "#token", "")
        await submit(pilot, "#token")
        assert shown(app, "#enrol-message") == (
            "Indiquez le jeton d'inscription donné par la région."
        )
        assert app.focused is app.screen.query_one("#token")
    assert not setup_state(database_file(engine)).has_replica
    assert not SiteSync(engine, data_dir).status().enrolled


class CutBeforeReplica(httpx.HTTPTransport):
    """The network, cut for the replica pages while `cut` is true (the enrolment gets through)."""

    cut = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut and request.url.path == "/v1/replica/changes":
            raise httpx.ConnectError("cut", request=request)
        return super().handle_request(request)


async def test_enrolled_but_the_first_sync_failed_can_retry_or_go_on(new_site, hub_server):
    region_hub, process = hub_server
    url = process.url
    data_dir, engine = new_site
    token = region_hub.token()
    network = CutBeforeReplica()
    app = make_app(engine, data_dir, hub_transport=network)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("i")
        await settle(pilot)
        await fill(pilot, "#hub-url", url)
        await fill(pilot, "#token", token)
        await submit(pilot, "#token")
        assert screen.step == "sync_failed"
        result = shown(app, "#work-result")
        assert "ne répond pas (connexion impossible) après 5 tentatives" in result
        assert "Le lieu est bien inscrit" in result
        assert footer_keys(app) == "r Réessayer ⏎ Continuer ^q Quitter f1 Aide"
        assert SiteSync(engine, data_dir).status().enrolled

        network.cut = False
        await pilot.press("r")
        await settle(pilot)
        assert screen.step == "done"
        assert shown(app, "#work-status").endswith(", 20 pass.")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FirstOperatorScreen)


def test_the_command_opens_the_app_on_a_new_data_dir(tmp_path, monkeypatch):
    """`mediateur-tui` on a new site used to stop with « Aucune base de données… »."""
    started: list[MediateurApp] = []
    monkeypatch.setattr(MediateurApp, "run", lambda app: started.append(app))
    monkeypatch.setattr(cli, "set_up_logging", lambda _data_dir: None)  # no global handler
    data_dir = tmp_path / "nouveau-poste"
    assert cli.main(["--data-dir", str(data_dir)]) == 0
    [app] = started
    site = app.context.site
    assert site.data_dir == data_dir
    assert (data_dir / DATABASE_FILENAME).exists()
    assert site.setup_state() == SetupState(has_replica=False, has_operators=False)
    site.close()


# --- enrolment by USB key (no network) ------------------------------------------------------


async def write_request(pilot, token: str, path=None) -> None:
    """Step 1: the token, the request file (the default one when `path` is None)."""
    await fill(pilot, "#usb-token", token)
    await pilot.press("enter")  # to the next field
    if path is not None:
        await fill(pilot, "#request-path", str(path))
    await submit(pilot, "#request-path")


async def import_answer(pilot, path) -> None:
    await fill(pilot, "#answer-path", str(path))
    await submit(pilot, "#answer-path")


def region_answers(region_hub, request) -> tuple[int, str]:
    """`mediateur-hub import-enrolment REQUEST` in this process: exit code and what it said."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = hub_main(["import-enrolment", "--dir", str(region_hub.folder), str(request)])
    return code, out.getvalue()


async def test_usb_enrolment_then_replica_file_then_first_account(new_site, region_hub, tmp_path):
    data_dir, engine = new_site
    token = region_hub.token()
    usb = tmp_path / "cle-usb"
    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # the third choice
        await settle(pilot)
        screen = app.screen
        assert screen.step == "usb_request"
        assert app.focused is screen.query_one("#usb-token")
        default = data_dir / "inscription" / "demande.json"
        assert screen.query_one("#request-path", Input).value == str(default)
        assert footer_keys(app) == "esc Retour ^q Quitter f1 Aide"
        await write_request(pilot, token, usb / "demande.json")
        assert screen.step == "usb_answer", shown(app, "#usb-request-message")
        intro = shown(app, "#usb-answer-intro")
        assert f"Demande écrite : {usb / 'demande.json'}" in intro
        assert "mediateur-hub import-enrolment" in intro
        assert app.focused is screen.query_one("#answer-path")
        assert not SiteSync(engine, data_dir).status().enrolled

        # At the region.
        code, said = region_answers(region_hub, usb / "demande.json")
        assert code == 0, said
        answer = usb / f"inscription-{HUB_SITE_ID}.json"
        assert answer.exists()

        await import_answer(pilot, answer)
        assert screen.step == "usb_enrolled", shown(app, "#usb-answer-message")
        title = shown(app, "#work-title")
        assert f"Lieu inscrit : « {HUB_SITE_NAME} » ({HUB_SITE_ID}), région HDF." in title
        assert f"Empreinte de la clé de la région : {region_hub.key_fingerprint()}" in title
        assert "importer la réplique" in shown(app, "#work-status")
        assert footer_keys(app) == "⏎ Continuer ^q Quitter f1 Aide"
        status = SiteSync(engine, data_dir).status()
        assert status.enrolled and status.hub_url is None and status.site_id == HUB_SITE_ID

        # Then the replica file, as on the second route: the site id is already filled in.
        await pilot.press("enter")
        await settle(pilot)
        assert screen.step == "import"
        assert screen.query_one("#site-id", Input).value == HUB_SITE_ID
        replica = region_hub.export_replica(usb / "replique.json.gz")
        await fill(pilot, "#replica-path", str(replica))
        await submit(pilot, "#site-id")
        assert screen.step == "done", shown(app, "#import-message")
        assert "20 pass" in shown(app, "#work-status")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FirstOperatorScreen)
    status = SiteSync(engine, data_dir).status()
    assert status.enrolled and status.pass_count == 20


async def test_usb_enrolment_refusals_change_nothing(new_site, region_hub, tmp_path):
    data_dir, engine = new_site
    token = region_hub.token()
    request = data_dir / "inscription" / "demande.json"

    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        await submit(pilot, "#request-path")  # no token
        assert shown(app, "#usb-request-message") == (
            "Indiquez le jeton d'inscription donné par la région."
        )
        assert app.focused is screen.query_one("#usb-token")
        await write_request(pilot, token)  # the default file, in the data directory
        assert screen.step == "usb_answer"
        assert request.exists()
    # The app is closed while the request goes to the region: the region answers it once,
    # and refuses a second request with the same token (used).
    code, said = region_answers(region_hub, request)
    assert code == 0, said
    answer = request.parent / f"inscription-{HUB_SITE_ID}.json"
    again = tmp_path / "autre" / "demande.json"
    again.parent.mkdir()
    again.write_bytes(request.read_bytes())
    code, said = region_answers(region_hub, again)
    assert code != 0
    assert "Ce jeton d'inscription a déjà servi" in said
    assert not (again.parent / f"inscription-{HUB_SITE_ID}.json").exists()

    document = json.loads(answer.read_bytes())
    document["site_name"] = "Un autre lieu"  # changed after the region signed
    tampered = tmp_path / "inscription-modifiee.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    not_an_answer = tmp_path / "notes.txt"
    not_an_answer.write_text("liste de courses", encoding="utf-8")

    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")  # started again: straight to step 2
        await settle(pilot)
        screen = app.screen
        assert screen.step == "usb_answer"
        assert f"Une demande a déjà été écrite : {request}" in shown(app, "#usb-answer-intro")

        await import_answer(pilot, tmp_path / "absente.json")
        message = shown(app, "#usb-answer-message")
        assert message == (
            f"Réponse refusée : Fichier introuvable : {tmp_path / 'absente.json'}.\n"
            "Rien n'a été enregistré."
        )
        assert screen.step == "usb_answer"

        await import_answer(pilot, tampered)
        message = shown(app, "#usb-answer-message")
        assert message.startswith("Réponse refusée : Signature invalide")
        assert message.endswith("Rien n'a été enregistré.")

        await import_answer(pilot, not_an_answer)
        assert "ce n'est pas un document JSON valide" in shown(app, "#usb-answer-message")

        await fill(pilot, "#answer-path", "")
        await submit(pilot, "#answer-path")
        assert shown(app, "#usb-answer-message") == (
            "Indiquez le chemin du fichier de réponse remis par la région."
        )
        assert not SiteSync(engine, data_dir).status().enrolled

        await pilot.press("escape")  # back to step 1: a new request (a new token)
        await settle(pilot)
        assert screen.step == "usb_request"
        await pilot.press("escape")
        await settle(pilot)
        assert screen.step == "choice"

        await pilot.press("u")
        await settle(pilot)
        await import_answer(pilot, answer)  # the genuine answer
        assert screen.step == "usb_enrolled", shown(app, "#usb-answer-message")
    assert SiteSync(engine, data_dir).status().enrolled

    # The same answer a second time: refused, the site is already enrolled.
    app = make_app(engine, data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(FirstRunScreen(app.context))  # (the app now opens on the first account)
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        await import_answer(pilot, answer)
        message = shown(app, "#usb-answer-message")
        assert message.startswith("Réponse refusée : Ce poste est déjà inscrit")
        assert message.endswith("Rien n'a été enregistré.")
