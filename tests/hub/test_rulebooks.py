"""`mediateur-hub rulebook publish/list`, on SQLite and PostgreSQL: a version checked as a
shipped file, never edited once published, sent to the sites as a signed `rulebook` change,
and the hub then judging by it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediateur_tui.domain.rulebooks import RULES_DIR
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.database import HubSettings, open_hub
from mediateur_tui.protocol.signing import region_signer, verify_document

from .helpers import change_bodies, snapshot, table_counts

LATEST = json.loads((RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8"))


def later_version(**fields: Any) -> dict[str, Any]:
    """The latest shipped version taking effect on 1 December 2026, with a cap of 5 passes."""
    return {
        **LATEST,
        "id": "hdf-2026-12",
        "effective_from": "2026-12-01",
        "max_passes_per_beneficiary": 5,
        **fields,
    }


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def hub_args(settings: HubSettings, capsys) -> tuple[str, ...]:
    args = ("--dir", str(settings.directory), "--db", settings.database_url)
    assert main(["init", *args, "--region-id", "HDF"]) == 0
    capsys.readouterr()
    return args


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_version_is_published_signed_and_listed(
    hub_args, settings: HubSettings, tmp_path: Path, capsys
) -> None:
    path = write(tmp_path / "reglement-2026.json", later_version())
    code, out, err = run(capsys, "rulebook", "publish", str(path), *hub_args)
    assert (code, err) == (0, "")
    assert "Règlement hdf-2026-12 publié" in out
    assert "à partir du 01/12/2026" in out
    hub = open_hub(settings)
    try:
        [change] = change_bodies(hub, "rulebook")
        assert change["id"] == "hdf-2026-12"
        verify_document(change["document"], hub.region_public_key, region_signer("HDF"))
        assert {k: v for k, v in change["document"].items() if k != "signature"} == (
            later_version()
        )
        assert change in snapshot(hub).changes
    finally:
        hub.engine.dispose()
    code, out, _ = run(capsys, "rulebook", "list", *hub_args)
    assert code == 0
    assert out.startswith("hdf-2026-12  en vigueur le 01/12/2026  « Règlement d'attribution")
    assert "publié le " in out


def test_nothing_published_lists_so(hub_args, capsys) -> None:
    code, out, _ = run(capsys, "rulebook", "list", *hub_args)
    assert (code, out.strip()) == (
        0,
        "Aucun règlement publié par la région (seuls ceux livrés avec le logiciel).",
    )


@pytest.mark.parametrize(
    ("document", "said"),
    [
        (later_version(extra=1), "le règlement : champ(s) inconnu(s) extra."),
        (later_version(effective_from="20261201"), "date invalide '20261201'."),
        (later_version(carnet_sizes=[5]), "carnets [10] hors des tailles prévues [5]."),
        (later_version(effective_from=LATEST["effective_from"]), "entrent en vigueur le même jour"),
        ({**LATEST, "max_passes_per_beneficiary": 5}, "existe déjà avec un autre contenu"),
        ([1, 2], "un règlement est un objet JSON."),
    ],
)
def test_a_bad_file_is_refused_in_french_and_nothing_published(
    hub_args, settings: HubSettings, tmp_path: Path, capsys, document: Any, said: str
) -> None:
    hub = open_hub(settings)
    before = table_counts(hub)
    path = write(tmp_path / "reglement.json", document)
    code, out, err = run(capsys, "rulebook", "publish", str(path), *hub_args)
    assert (code, out) == (2, "")
    assert err.startswith("Erreur : reglement.json : ")
    assert said in err
    assert err.strip().endswith("Rien n'a été publié.")
    assert "Traceback" not in err
    assert table_counts(hub) == before
    hub.engine.dispose()


@pytest.mark.parametrize(
    "data",
    [b"{pas du json", b'{"max_passes_per_beneficiary": ' + b"9" * 5_000 + b"}"],
    ids=["not JSON", "an integer of 5,000 digits"],  # the second: json.loads' ValueError
)
def test_a_file_that_is_not_json_is_refused(data: bytes, hub_args, tmp_path: Path, capsys) -> None:
    path = tmp_path / "reglement.json"
    path.write_bytes(data)
    code, _, err = run(capsys, "rulebook", "publish", str(path), *hub_args)
    assert code == 2
    assert "Règlement illisible : reglement.json (JSON invalide)." in err


def test_a_published_id_is_never_edited_and_the_same_file_again_changes_nothing(
    hub_args, settings: HubSettings, tmp_path: Path, capsys
) -> None:
    path = write(tmp_path / "reglement.json", later_version())
    assert run(capsys, "rulebook", "publish", str(path), *hub_args)[0] == 0
    hub = open_hub(settings)
    before = table_counts(hub)

    code, out, err = run(capsys, "rulebook", "publish", str(path), *hub_args)
    assert (code, err) == (0, "")
    assert (
        out.strip() == "Le règlement hdf-2026-12 est déjà publié, à l'identique : rien n'a changé."
    )
    assert table_counts(hub) == before

    edited = write(tmp_path / "modifie.json", later_version(title="Autre titre"))
    code, out, err = run(capsys, "rulebook", "publish", str(edited), *hub_args)
    assert (code, out) == (2, "")
    assert "Le règlement hdf-2026-12 est déjà publié avec un autre contenu" in err
    assert table_counts(hub) == before
    assert len(change_bodies(hub, "rulebook")) == 1
    hub.engine.dispose()


def test_the_hub_judges_by_the_published_version(hub_args, tmp_path: Path, capsys) -> None:
    issued = run(
        capsys, "issue", *hub_args, "--programme", "HDFNUM", "--carnets", "2", "--size", "10",
        "--valid-from", "2026-01-01", "--valid-until", "31/12/2027",
    )  # fmt: skip
    assert issued[0] == 0
    before = ("attribute", "C0000001", "--beneficiary", "B-001", "--on", "2026-11-30")
    assert run(capsys, *hub_args, *before)[0] == 0  # the shipped cap: 10 passes
    path = write(tmp_path / "reglement.json", later_version())
    assert run(capsys, "rulebook", "publish", str(path), *hub_args)[0] == 0
    after = ("attribute", "C0000002", "--beneficiary", "B-002", "--on", "2026-12-01")
    code, _, err = run(capsys, *hub_args, *after)
    assert code == 2
    assert "plafond de 5 pass par personne" in err
