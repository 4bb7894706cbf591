"""Rulebooks the region publishes: read as strictly as schema/rules/rulebook.schema.json (the
domain's check and the schema agree on every mutation of a real rulebook), and taken with the
shipped versions."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from contract import FORMAT_CHECKER, SCHEMA_DIR
from jsonschema import Draft202012Validator

from mediateur_tui.domain.published_rulebooks import published_rulebook, with_published
from mediateur_tui.domain.rulebooks import (
    RULES_DIR,
    RulebookError,
    default_rulebooks,
    rulebook_for,
    rulebook_from_json,
)

SCHEMA = json.loads((SCHEMA_DIR / "rules" / "rulebook.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FORMAT_CHECKER)
LATEST = json.loads((RULES_DIR / "rulebook-2022.json").read_text(encoding="utf-8"))


def later_version(**fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(LATEST), "id": "hdf-2026-12", "effective_from": "2026-12-01", **fields}


def objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, (*path, index))


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def mutations() -> Iterator[tuple[str, dict[str, Any]]]:
    """Each field left out (the optional ones too: both accept that), an extra field in each
    object, and values the schema refuses."""
    for path, node in objects(LATEST):
        for key in node:
            document = copy.deepcopy(LATEST)
            del at(document, path)[key]
            yield f"without {'/'.join(map(str, (*path, key)))}", document
        document = copy.deepcopy(LATEST)
        at(document, path)["extra"] = 1
        yield f"extra in {'/'.join(map(str, path)) or '(root)'}", document
    lycee = ("categories", "lycee")
    bad_values: list[tuple[tuple[Any, ...], Any]] = [
        (("id",), "HDF_2026"),
        (("effective_from",), "20261201"),
        (("sources",), []),
        (("carnet_sizes",), [5, 5]),
        (("residence", "departments"), ["2A"]),
        (("residence", "departments"), ["59", "59"]),
        (("allocation", "alone", "second_carnet_on_request"), 1),
        (("assumptions",), ["La région a dit."]),
        (("categories",), {}),
        (("categories", "senior", "proofs", 0, "any_of"), ["age_proof", "age_proof"]),
        ((*lycee, "experiment"), None),
        ((*lycee, "experiment", "establishments"), ["", "0590001A"]),
        ((*lycee, "experiment", "received_from"), "2022/01/01"),
        ((*lycee, "experiment", "criteria"), {"description": "Élèves de seconde"}),
    ]
    for path, value in bad_values:
        document = copy.deepcopy(LATEST)
        at(document, path[:-1])[path[-1]] = value
        yield f"{'/'.join(map(str, path))} = {value!r}", document


def refused(document: dict[str, Any]) -> bool:
    try:
        published_rulebook(document)
    except RulebookError:
        return True
    return False


@pytest.mark.parametrize(("label", "document"), list(mutations()), ids=lambda v: str(v)[:60])
def test_the_check_refuses_what_the_schema_refuses(label: str, document: dict[str, Any]) -> None:
    assert refused(document) == (not VALIDATOR.is_valid(document)), label


def test_the_shipped_files_read_as_published_ones() -> None:
    for path in sorted(RULES_DIR.glob("rulebook-*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert published_rulebook(document) == rulebook_from_json(document)


def test_the_signature_is_not_part_of_the_rulebook() -> None:
    signed = {**later_version(), "signature": {"signer": "region:HDF", "value": "…"}}
    assert published_rulebook(signed) == rulebook_from_json(later_version())


def test_a_refusal_says_what_is_wrong_in_french() -> None:
    with pytest.raises(RulebookError, match=r"champ\(s\) inconnu\(s\) extra"):
        published_rulebook({**later_version(), "extra": 1})
    with pytest.raises(RulebookError, match="date invalide '20261201'"):
        published_rulebook(later_version(effective_from="20261201"))


def test_a_published_version_joins_the_shipped_ones_by_its_day() -> None:
    later = published_rulebook(later_version(max_passes_per_beneficiary=5))
    books = with_published(default_rulebooks(), [later])
    assert [book.id for book in books] == ["hdf-2020-07", "hdf-2022-02", "hdf-2026-12"]
    assert rulebook_for(date(2026, 11, 30), books).id == "hdf-2022-02"
    assert rulebook_for(date(2026, 12, 1), books).max_passes_per_beneficiary == 5


def test_a_shipped_version_published_again_counts_once() -> None:
    again = published_rulebook(copy.deepcopy(LATEST))
    assert with_published(default_rulebooks(), [again]) == list(default_rulebooks())


def test_the_id_of_a_shipped_version_with_other_content_is_refused() -> None:
    changed = published_rulebook({**copy.deepcopy(LATEST), "max_passes_per_beneficiary": 5})
    with pytest.raises(RulebookError, match="existe déjà avec un autre contenu"):
        with_published(default_rulebooks(), [changed])


def test_two_versions_on_the_same_day_are_refused() -> None:
    same_day = published_rulebook(later_version(effective_from=LATEST["effective_from"]))
    with pytest.raises(RulebookError, match="entrent en vigueur le même jour"):
        with_published(default_rulebooks(), [same_day])
