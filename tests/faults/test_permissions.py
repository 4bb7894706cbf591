"""Who may do what, tried from the command line as an intruder would: every command that
changes accounts or seals, exports or imports money documents needs a responsable; each
refusal exits 2 in French, changes nothing else and is in the audit log."""

from __future__ import annotations

import pytest

from mediateur_tui.services.site import open_site

from .conftest import MEDIATEUR, RESPONSABLE, Site, no_traceback, rows, run

RESPONSABLE_COMMANDS = {
    "operator add": ["operator", "add", "Intrus", "--role", "responsable"],
    "operator remove": ["operator", "remove", "Camille Martin"],
    "operator unlock": ["operator", "unlock", "Camille Martin"],
    "close-month": ["close-month", "--month", "2026-10"],
    "export-batch": ["export-batch", "cle-usb"],
    "import-ack": ["import-ack", "accuse.json.gz"],
    "import-replica": ["import-replica", "replique.json.gz"],
    "enrol": ["enrol", "--token", "JETON", "--request-file", "demande.json"],
    "attribution export": ["attribution", "export", "cle-usb"],
    "attribution import-answer": ["attribution", "import-answer", "reponse.json.gz"],
    "attribution import-key": ["attribution", "import-key", "cle.json"],
}


def audit_events(site: Site) -> list[tuple]:
    return rows(site, "SELECT kind, operator_id, details FROM audit_event ORDER BY id")


def operators(site: Site) -> list[tuple]:
    return rows(site, "SELECT name, role, failed_attempts FROM operator ORDER BY id")


@pytest.mark.parametrize("command", RESPONSABLE_COMMANDS, ids=str)
def test_a_responsable_command_run_by_nobody_or_a_mediateur_is_refused(site, tmp_path, command):
    argv = RESPONSABLE_COMMANDS[command]
    where = ("--data-dir", str(site.path))
    accounts = operators(site)

    anonymous = run(*argv, *where)
    no_traceback(anonymous)
    assert anonymous.code == 2
    assert "réservé aux responsables du lieu. Ajoutez --operator NOM" in anonymous.err

    name, pin = MEDIATEUR
    mediateur = run(*argv, *where, "--operator", name, env={"MEDIATEUR_PIN": pin})
    no_traceback(mediateur)
    assert mediateur.code == 2
    assert f"réservé aux responsables du lieu ; {name} est médiateur" in mediateur.err

    wrong_pin = run(*argv, *where, "--operator", RESPONSABLE[0], env={"MEDIATEUR_PIN": "0000"})
    assert wrong_pin.code == 2 and "Code PIN incorrect" in wrong_pin.err

    refusals = [kind for kind, _, _ in audit_events(site)[-4:]]
    # nobody, then the médiateur (logged in, then refused), then the wrong PIN
    assert refusals == ["refused", "login", "refused", "login_failed"]
    assert [(n, r) for n, r, _ in operators(site)] == [(n, r) for n, r, _ in accounts]
    assert not (tmp_path / "cle-usb").exists()


def test_a_mediateur_cannot_make_themself_responsable(site):
    name, pin = MEDIATEUR
    attempt = run(
        "operator", "add", "Camille Bis", "--role", "responsable", "--operator", name,
        "--data-dir", str(site.path), env={"MEDIATEUR_PIN": pin, "MEDIATEUR_NEW_PIN": "9999"},
    )  # fmt: skip
    assert attempt.code == 2
    assert "Camille Bis" not in {n for n, _, _ in operators(site)}


def test_a_new_account_cannot_get_round_the_lock_out(site):
    """Five wrong PINs lock Camille; a new account needs a responsable, so she cannot make
    herself another one to go on."""
    name, _ = MEDIATEUR
    for _ in range(5):
        run("redeem", "X", "--operator", name, "--data-dir", str(site.path),
            env={"MEDIATEUR_PIN": "0000"})  # fmt: skip
    locked = run("redeem", "X", "--operator", name, "--data-dir", str(site.path),
                 env={"MEDIATEUR_PIN": MEDIATEUR[1]})  # fmt: skip
    assert locked.code == 2 and "bloqué" in locked.err
    other = run("operator", "add", "Camille 2", "--role", "mediateur", "--data-dir",
                str(site.path), env={"MEDIATEUR_NEW_PIN": "4321"})  # fmt: skip
    assert other.code == 2
    responsable, pin = RESPONSABLE
    unlocked = run("operator", "unlock", name, "--operator", responsable, "--data-dir",
                   str(site.path), env={"MEDIATEUR_PIN": pin})  # fmt: skip
    assert unlocked.code == 0, unlocked.err
    assert operators(site)[[n for n, _, _ in operators(site)].index(name)][2] == 0


def test_the_first_account_of_a_new_site_needs_no_login_and_is_a_responsable(tmp_path):
    folder = tmp_path / "nouveau"
    open_site(folder, create=True).close()  # a new site: its database, no account yet
    new_site = ("--data-dir", str(folder))
    not_responsable = run("operator", "add", "Inès", "--role", "mediateur", *new_site,
                          env={"MEDIATEUR_NEW_PIN": "2468"})  # fmt: skip
    no_traceback(not_responsable)
    assert not_responsable.code == 2
    assert "Le premier compte du lieu est celui d'un ou d'une responsable" in not_responsable.err
    created = run("operator", "add", "Inès", "--role", "responsable", *new_site,
                  env={"MEDIATEUR_NEW_PIN": "2468"})  # fmt: skip
    assert created.code == 0, created.err  # no --operator, no PIN asked of anyone
    assert "Compte créé : Inès (responsable)" in created.out
    assert rows(Site(folder, {}), "SELECT name, role FROM operator") == [("Inès", "responsable")]
    second = run("operator", "add", "Hugo", "--role", "mediateur", *new_site,
                 env={"MEDIATEUR_NEW_PIN": "1357"})  # fmt: skip
    no_traceback(second)
    assert second.code == 2
    assert "réservé aux responsables du lieu. Ajoutez --operator NOM" in second.err
    assert rows(Site(folder, {}), "SELECT name FROM operator") == [("Inès",)]


def test_sync_needs_no_pin(site):
    """`sync` runs from cron: it asks no PIN (here it stops on the missing enrolment)."""
    result = run("sync", "--data-dir", str(site.path))
    no_traceback(result)
    assert "PIN" not in result.err and "--operator" not in result.err
    assert result.code == 2 and "inscrit" in result.err
