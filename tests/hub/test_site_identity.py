"""A site's identity at the hub: `enrol-site --siret|--rna --code-insee --code-postal` and
`site-identity ID …` record it and append a `site` change carrying it; wrong codes exit 2
with a French message and record nothing; the statement prints it."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract import validate
from pypdf import PdfReader

from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import open_hub, resolve_settings
from mediateur_tui.hub.enrolment import site_record
from mediateur_tui.hub.replica import changes_page
from mediateur_tui.hub.statement import build_statement, write_files

from .helpers import change_bodies, table_counts

SITE = "AVESNES-EPN"
ENROL = ("enrol-site", "--site-id", SITE, "--name", "EPN d'Avesnes", "--no-qr")
IDENTITY = ("--siret", "12345678200010", "--code-insee", "59036", "--code-postal", "59440")


@pytest.fixture
def hub_dir(tmp_path: Path, capsys) -> Path:
    folder = tmp_path / "hub"
    assert main(["--dir", str(folder), "init", "--region-id", "HDF"]) == 0
    capsys.readouterr()
    return folder


def run(capsys, hub_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--dir", str(hub_dir)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def site_changes(hub_dir: Path) -> list[dict]:
    hub = open_hub(resolve_settings(directory=str(hub_dir)))
    try:
        return change_bodies(hub, "site")
    finally:
        hub.engine.dispose()


def test_enrol_site_records_the_identity_and_the_replica_carries_it(hub_dir, capsys) -> None:
    code, out, err = run(capsys, hub_dir, *ENROL, *IDENTITY)
    assert (code, err) == (0, "")
    assert (
        "Identité du lieu : SIRET 123 456 782 00010 · code INSEE 59036 · code postal 59440." in out
    )
    assert site_changes(hub_dir) == [
        {
            "t": "site",
            "id": SITE,
            "name": "EPN d'Avesnes",
            "pivot": "12345678200010",
            "code_insee": "59036",
            "code_postal": "59440",
        }
    ]
    hub = open_hub(resolve_settings(directory=str(hub_dir)))
    try:
        validate(changes_page(hub, 0), "replica-page")
    finally:
        hub.engine.dispose()
    # A new token for a new computer, without the options: the identity stays, no new change.
    code, out, _ = run(capsys, hub_dir, *ENROL)
    assert code == 0 and "SIRET 123 456 782 00010" in out
    assert len(site_changes(hub_dir)) == 1


def test_a_site_enrolled_without_identity_says_so_and_its_change_has_none(hub_dir, capsys) -> None:
    code, out, _ = run(capsys, hub_dir, *ENROL)
    assert code == 0
    assert "Identité du lieu : non renseignée (mediateur-hub site-identity" in out
    assert site_changes(hub_dir) == [{"t": "site", "id": SITE, "name": "EPN d'Avesnes"}]


COMMUNE = ("--code-insee", "59036", "--code-postal", "59440")
WRONG = [
    (("--siret", "12345678200011", *COMMUNE), "clé de contrôle ne correspond pas"),
    (("--siret", "1234567820001", *COMMUNE), "14 chiffres attendus"),
    (("--rna", "W12345", *COMMUNE), "W suivi de 9 caractères"),
    (("--siret", "12345678200010", "--code-insee", "20004", "--code-postal", "20000"),
     "2A ou 2B en Corse"),
    (("--siret", "12345678200010", "--code-insee", "59036", "--code-postal", "5944"),
     "Code postal invalide"),
    (COMMUNE, "SIRET (ou numéro RNA"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "message"), WRONG)
def test_a_wrong_identity_exits_2_in_french_and_records_nothing(
    hub_dir, capsys, options, message
) -> None:
    hub = open_hub(resolve_settings(directory=str(hub_dir)))
    before = table_counts(hub)
    hub.engine.dispose()
    code, out, err = run(capsys, hub_dir, *ENROL, *options)
    assert code == 2
    assert err.startswith("Erreur : ") and message in err
    assert "Traceback" not in err and out == ""
    hub = open_hub(resolve_settings(directory=str(hub_dir)))
    assert table_counts(hub) == before
    hub.engine.dispose()


def test_siret_and_rna_together_are_refused(hub_dir, capsys) -> None:
    code, _, err = run(capsys, hub_dir, *ENROL, *IDENTITY, "--rna", "W595001234")
    assert code == 2 and "--rna" in err and "--siret" in err


def test_site_identity_corrects_an_enrolled_site(hub_dir, capsys) -> None:
    assert run(capsys, hub_dir, *ENROL)[0] == 0
    corrected = ("--rna", "W595001234", "--code-insee", "59036", "--code-postal", "62000")
    code, out, _ = run(capsys, hub_dir, "site-identity", SITE.lower(), *corrected)
    assert code == 0
    assert "Site AVESNES-EPN : identité enregistrée." in out
    assert "Identité du lieu : RNA W595001234 · code INSEE 59036 · code postal 62000." in out
    assert "pas du même département" in out  # a warning: some communes are so
    assert site_changes(hub_dir)[-1]["pivot"] == "W595001234"
    code, out, _ = run(capsys, hub_dir, "site-identity", SITE, *corrected)
    assert code == 0 and "rien n'a changé" in out
    assert len(site_changes(hub_dir)) == 2


def test_site_identity_of_an_unknown_site_exits_2(hub_dir, capsys) -> None:
    code, out, err = run(capsys, hub_dir, "site-identity", "NULLE-PART", *IDENTITY)
    assert (code, out) == (2, "")
    assert "Site inconnu : NULLE-PART" in err


def test_site_identity_needs_the_three_parts(hub_dir, capsys) -> None:
    assert run(capsys, hub_dir, *ENROL)[0] == 0
    code, _, err = run(capsys, hub_dir, "site-identity", SITE, "--siret", "12345678200010")
    assert code == 2 and "--code-insee CODE --code-postal CODE" in err


def test_the_statement_prints_the_identity_only_when_there_is_one(
    hub_dir, capsys, tmp_path
) -> None:
    assert run(capsys, hub_dir, *ENROL)[0] == 0
    hub = open_hub(resolve_settings(directory=str(hub_dir)))
    try:
        _, _, pdf = write_files(build_statement(hub, SITE, "2026-11"), tmp_path / "sans")
        assert "Identité :" not in PdfReader(pdf).pages[0].extract_text()
        assert run(capsys, hub_dir, "site-identity", SITE, *IDENTITY)[0] == 0
        assert site_record(hub, SITE).code_insee == "59036"
        _, _, pdf = write_files(build_statement(hub, SITE, "2026-11"), tmp_path / "avec")
        text = PdfReader(pdf).pages[0].extract_text()
        assert "Identité : SIRET 123 456 782 00010 · code INSEE 59036 · code postal 59440" in text
    finally:
        hub.engine.dispose()
