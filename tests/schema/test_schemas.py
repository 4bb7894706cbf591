"""The schemas themselves: valid draft 2020-12, resolvable $refs, in step with the code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from contract import FORMATS, SCHEMA_DIR, SUFFIX, registry, schemas
from jsonschema import Draft202012Validator

from mediateur_tui.domain.beneficiaries import REFERENCE_PATTERN, Identity, beneficiary_reference
from mediateur_tui.domain.rulebooks import CATEGORIES
from mediateur_tui.domain.site_identity import is_code_insee, is_code_postal
from mediateur_tui.domain.verdicts import Verdict
from mediateur_tui.protocol import formats
from mediateur_tui.protocol.verdicts import (
    AttributionRefusal,
    AttributionVerdict,
    LineVerdict,
    RefusalReason,
)

ID_PREFIX = "https://mediateur-tui.example/schema/"
NAMES = sorted(schemas())
# Schemas of files the site writes for other tools, not protocol documents (no `format`).
EXPORTS = ("coop-activity-export",)

# Objects left open on purpose: the change dispatcher (each branch of its oneOf is closed).
# A published rulebook holds the fields of schema/rules/rulebook.schema.json, checked by the
# site as a shipped rule file (domain/published_rulebooks.py).
OPEN_OBJECTS = {
    ("common", "/$defs/change"),
    ("common", "/$defs/published_rulebook"),
    ("replica-page-v2", "/$defs/change"),
}


def subschemas(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Every (JSON pointer, value) in a schema document, the root included."""
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from subschemas(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from subschemas(value, f"{pointer}/{index}")


def test_there_is_one_schema_per_protocol_format_plus_common() -> None:
    assert sorted([*FORMATS.values(), "common", *EXPORTS]) == NAMES
    for constant in (
        formats.REPLICA_PAGE,
        formats.REPLICA_PAGE_COMPACT,
        formats.REPLICA_SNAPSHOT,
        formats.ENROLMENT_REQUEST,
        formats.ENROLMENT,
        formats.BATCH,
        formats.ACK,
        formats.ATTRIBUTIONS,
        formats.ATTRIBUTION_ANSWER,
        formats.BENEFICIARY_KEY,
        formats.DECLARATION,
        formats.DECLARATION_ANSWER,
        formats.SITE_RECOVERY,
        formats.KEY_SET,
    ):
        assert schemas()[FORMATS[constant]]["properties"]["format"] == {"const": constant}


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = schemas()[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{ID_PREFIX}{name}.schema.json"
    assert schema["title"].strip()
    assert schema["description"].strip()


@pytest.mark.parametrize("name", NAMES)
def test_every_ref_resolves(name: str) -> None:
    schema = schemas()[name]
    resolver = registry().resolver(base_uri=schema["$id"])
    refs = [
        value["$ref"]
        for _, value in subschemas(schema)
        if isinstance(value, dict) and "$ref" in value
    ]
    if name != "common":
        assert any(ref.startswith("common.schema.json#") for ref in refs)
    for ref in refs:
        resolved = resolver.lookup(ref).contents
        assert isinstance(resolved, dict), ref
        # Local refs, or refs to another schema of schema/ (a declaration's lines are a
        # batch's; a recovery holds whole batches and acknowledgements).
        local = ("#/", *(f"{other}{SUFFIX}" for other in NAMES))
        assert ref.startswith(local), f"{ref}: only refs within schema/"


@pytest.mark.parametrize("name", NAMES)
def test_objects_with_fixed_fields_are_closed(name: str) -> None:
    open_objects = [
        pointer
        for pointer, node in subschemas(schemas()[name])
        if isinstance(node, dict)
        and node.get("type") == "object"
        and "additionalProperties" not in node
        and (name, pointer) not in OPEN_OBJECTS
    ]
    assert open_objects == []


@pytest.mark.parametrize("name", NAMES)
def test_required_fields_are_declared(name: str) -> None:
    for pointer, node in subschemas(schemas()[name]):
        if isinstance(node, dict) and isinstance(node.get("required"), list):
            missing = set(node["required"]) - set(node.get("properties", {}))
            assert missing == set(), f"{pointer} requires undeclared {missing}"


def test_enums_match_the_code() -> None:
    common = schemas()["common"]["$defs"]
    assert tuple(common["refusal_reason"]["enum"]) == tuple(RefusalReason)
    assert set(common["change"]["properties"]["t"]["enum"]) == {
        formats.CHANGE_PROGRAMME,
        formats.CHANGE_SITE,
        formats.CHANGE_CARNET,
        formats.CHANGE_ATTRIBUTION,
        formats.CHANGE_REVOCATION,
        formats.CHANGE_USED,
        formats.CHANGE_RELEASED,
        formats.CHANGE_RULEBOOK,
    }
    branches = {branch["$ref"].rsplit("_", 1)[1] for branch in common["change"]["oneOf"]}
    assert branches == set(common["change"]["properties"]["t"]["enum"])
    line = schemas()["ack"]["$defs"]["line"]["properties"]
    assert set(line["verdict"]["enum"]) == {LineVerdict.ACCEPTED, LineVerdict.REFUSED}
    refused = schemas()["batch"]["$defs"]["refused_scan"]["properties"]["verdict"]["enum"]
    assert set(refused) == {verdict.value for verdict in Verdict if not verdict.redeemable}
    reasons = common["attribution_refusal_reason"]["enum"]
    assert tuple(reasons) == tuple(AttributionRefusal)
    result = schemas()["attribution-answer"]["$defs"]["result"]["properties"]
    assert set(result["verdict"]["enum"]) == {
        AttributionVerdict.ACCEPTED,
        AttributionVerdict.REFUSED,
    }
    attribution = schemas()["attributions"]["$defs"]["attribution"]["properties"]
    assert tuple(attribution["category"]["enum"]) == CATEGORIES


def test_readme_lists_every_schema_file() -> None:
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    # The table's rows (its prose names future files too, such as `batch-v2.schema.json`).
    listed = set(re.findall(r"^\| `([a-z0-9-]+\.schema\.json)`", readme, flags=re.MULTILINE))
    assert listed == {f"{name}.schema.json" for name in NAMES}
    for document_format in FORMATS:
        assert f"`{document_format}`" in readme


def test_the_beneficiary_reference_pattern_is_the_domains() -> None:
    pattern = schemas()["common"]["$defs"]["beneficiary_ref"]["pattern"]
    for symbol in map(chr, range(32, 127)):
        for candidate in (f"B{symbol * 20}", f"{symbol}{'0' * 20}", f"B{symbol * 21}"):
            in_schema = re.fullmatch(pattern, candidate) is not None
            assert in_schema == (REFERENCE_PATTERN.fullmatch(candidate) is not None), candidate
    reference = beneficiary_reference(Identity("Lefèvre", "Anne", date(1960, 1, 2)), bytes(32))
    assert re.fullmatch(pattern, reference)


def test_the_site_identity_patterns_are_the_domains() -> None:
    """Every 5-character code over digits, A and B: the schema's INSEE and postcode patterns
    accept exactly what domain.site_identity does."""
    common = schemas()["common"]["$defs"]
    insee, postcode = common["code_insee"]["pattern"], common["code_postal"]["pattern"]
    heads = [f"{first}{second}" for first in "0123456789" for second in "0123456789AB"]
    for head in heads:
        for candidate in (f"{head}001", f"{head}99", f"{head}0012"):
            assert (re.fullmatch(insee, candidate) is not None) == is_code_insee(candidate)
            assert (re.fullmatch(postcode, candidate) is not None) == is_code_postal(candidate)
    pivot = common["pivot"]["pattern"]
    assert re.fullmatch(pivot, "73282932000074") and re.fullmatch(pivot, "W2A1001234")
    assert not re.fullmatch(pivot, "7328293200007") and not re.fullmatch(pivot, "W59500123")
