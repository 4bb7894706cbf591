"""The rule files shipped in the package: valid against schema/rules/rulebook.schema.json,
loaded by the domain, and the version in force on a given day."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from contract import FORMAT_CHECKER, SCHEMA_DIR
from jsonschema import Draft202012Validator

from mediateur_tui.domain import rulebooks as rulebooks_module
from mediateur_tui.domain.rulebooks import (
    PROOF_TOKENS,
    RULES_DIR,
    RulebookError,
    load_rulebooks,
    rulebook_for,
    rulebook_from_json,
)

RULE_FILES = sorted(RULES_DIR.glob("rulebook-*.json"))
SCHEMA = json.loads((SCHEMA_DIR / "rules" / "rulebook.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FORMAT_CHECKER)


def test_the_rule_files_are_package_data() -> None:
    shipped = Path(rulebooks_module.__file__).parent / "rules"
    assert shipped == RULES_DIR
    pyproject = (SCHEMA_DIR.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"domain/rules/*.json"' in pyproject
    assert [path.name for path in RULE_FILES] == ["rulebook-2020.json", "rulebook-2022.json"]


def test_schema_is_valid_draft_2020_12_and_listed() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] == "https://mediateur-tui.example/schema/rules/rulebook.schema.json"
    assert tuple(SCHEMA["$defs"]["proof"]["enum"]) == PROOF_TOKENS
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    assert "`rules/rulebook.schema.json`" in readme


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_every_rule_file_validates(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert errors == []
    assert document["assumptions"], "what the seed does not settle is written down"
    for sentence in document["assumptions"]:
        assert sentence.startswith("Hypothèse : ")


def test_the_schema_rejects_broken_rulebooks() -> None:
    good = json.loads(RULE_FILES[-1].read_text(encoding="utf-8"))
    assert VALIDATOR.is_valid(good)
    for broken in (
        {**good, "extra": 1},
        {**good, "effective_from": "2022-02-30"},
        {**good, "assumptions": ["pas marquée"]},
        {**good, "residence": {"proof": "passport", "departments": ["59"]}},
        {k: v for k, v in good.items() if k != "effective_from"},
    ):
        assert not VALIDATOR.is_valid(broken)


def test_shipped_rulebooks_say_what_the_reglement_says() -> None:
    old, new = load_rulebooks()
    assert (old.effective_from, new.effective_from) == (date(2020, 7, 1), date(2022, 2, 1))
    for book in (old, new):
        assert book.unit_value_cents == 1000
        assert book.carnet_sizes == (5, 10)
        assert book.max_passes_per_beneficiary == 10
        assert book.departments == ("02", "59", "60", "62", "80")
        assert book.alone.carnets == (5,) and book.alone.second_carnet_on_request
    assert new.accompanied.carnets == (10,)
    assert "lycee" not in old.categories
    lycee = new.categories["lycee"].experiment
    assert lycee is not None and lycee.max_passes == 4000
    assert lycee.criteria is None and lycee.establishments == ()
    youth = new.categories["youth_insertion"]
    assert (youth.min_age, youth.max_age) == (18, 25)
    assert {"internship_certificate", "mission_locale_certificate"} in [
        set(group.any_of) for group in youth.proofs
    ]
    assert new.categories["senior"].min_age == 60
    assert new.categories["job_seeker"].proofs[0].max_age_months == 3


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2020, 6, 30), None),
        (date(2020, 7, 1), "hdf-2020-07"),
        (date(2022, 1, 31), "hdf-2020-07"),
        (date(2022, 2, 1), "hdf-2022-02"),
        (date(2030, 1, 1), "hdf-2022-02"),
    ],
)
def test_rulebook_for_takes_the_latest_in_force(day: date, expected: str | None) -> None:
    book = rulebook_for(day)
    assert (book.id if book else None) == expected
    assert rulebook_for(day, load_rulebooks()) == book


def test_a_later_file_takes_over_from_its_day(tmp_path: Path) -> None:
    for path in RULE_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    newer = json.loads(RULE_FILES[-1].read_text(encoding="utf-8"))
    newer.update(id="hdf-2023-01", effective_from="2023-01-01")
    (tmp_path / "rulebook-2023.json").write_text(json.dumps(newer), encoding="utf-8")
    books = load_rulebooks(tmp_path)
    assert [book.id for book in books] == ["hdf-2020-07", "hdf-2022-02", "hdf-2023-01"]
    assert rulebook_for(date(2023, 1, 1) - timedelta(days=1), books).id == "hdf-2022-02"
    assert rulebook_for(date(2023, 1, 1), books).id == "hdf-2023-01"


def test_loader_rejects_what_the_code_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(RulebookError, match="Aucun règlement"):
        load_rulebooks(tmp_path)
    good = json.loads(RULE_FILES[-1].read_text(encoding="utf-8"))
    for broken in (
        {**good, "format": "pn-rulebook/2"},
        {**good, "allocation": {**good["allocation"], "alone": {"carnets": [7]}}},
        {**good, "effective_from": "hier"},
        {k: v for k, v in good.items() if k != "categories"},
    ):
        with pytest.raises(RulebookError):
            rulebook_from_json(broken)
    (tmp_path / "rulebook-x.json").write_text("{", encoding="utf-8")
    with pytest.raises(RulebookError, match=re.escape("rulebook-x.json")):
        load_rulebooks(tmp_path)
