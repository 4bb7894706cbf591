"""The OpenAPI components of the protocol documents carry the constraints of the JSON Schemas
of schema/, property by property, nested objects and array items included.

Both sides are flattened into {location: constraints}: `Batch.sessions[].duration_minutes`
→ {"type": "integer", "minimum": 1}. `$ref`s are followed (into common.schema.json, or into
the OpenAPI components) and `allOf` parts merged; a nullable value (`oneOf`/`anyOf` with a
`null` branch) is its other branch plus `"nullable": True`; the branches of a real union are
compared one by one (`ReplicaPage.changes[]<carnet>.codes[]`), named by their `t` (a replica
change), their `const` or their type. A `const` counts as an enum of one value, whose type is
that of the value.

Compared: COMPARED. Not compared (Pydantic has no plain way to say them, and the hub checks
them itself): IGNORED, such as `format`, `uniqueItems` and the conditional `if`/`then`/`else`
(a carnet of 5 has 5 codes). Any other keyword fails the test, so that a new kind of
constraint in either document is compared or ignored on purpose.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from contract import registry, schemas

from .test_openapi import COMPONENT_SCHEMAS, OPENAPI_FILE

COMPARED = {
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "required",
    "additionalProperties",
}
IGNORED = {
    "title",
    "description",
    "examples",
    "default",
    "format",
    "contentEncoding",
    "uniqueItems",
    "discriminator",
    "if",
    "then",
    "else",
    "dependentRequired",
    "$schema",
    "$id",
    "$defs",
}
STRUCTURE = {"$ref", "allOf", "oneOf", "anyOf", "properties", "items"}

# A subschema, with what resolves the `$ref`s written in it.
Part = tuple[dict[str, Any], Any]
Resolve = Callable[[str, Any], Part]
Flat = dict[str, dict[str, Any]]


def flatten(parts: list[Part], resolve: Resolve, where: str, nullable: bool = False) -> Flat:
    """{location: constraints} of a subschema made of `parts` (all of which apply)."""
    keywords, properties, items, branches = _gather(_expand(parts, resolve), where)
    if branches is not None:
        return _flatten_union(branches, resolve, where, nullable)
    if "const" in keywords:
        keywords["enum"] = [keywords.pop("const")]
    if "enum" in keywords:
        keywords["enum"] = sorted(keywords["enum"], key=json.dumps)  # the order says nothing
    if "enum" in keywords and "type" not in keywords:
        types = {_json_type(value) for value in keywords["enum"]}
        if len(types) == 1:
            keywords["type"] = types.pop()
    if nullable:
        keywords["nullable"] = True
    found = {where: keywords}
    for name, sub_parts in sorted(properties.items()):
        found |= flatten(sub_parts, resolve, f"{where}.{name}")
    if items:
        found |= flatten(items, resolve, f"{where}[]")
    return found


def _expand(parts: list[Part], resolve: Resolve) -> list[Part]:
    """The parts with each `$ref` and `allOf` member added as parts of their own."""
    expanded = []
    for node, context in parts:
        expanded.append(({k: v for k, v in node.items() if k not in ("$ref", "allOf")}, context))
        if "$ref" in node:
            expanded += _expand([resolve(node["$ref"], context)], resolve)
        expanded += _expand([(member, context) for member in node.get("allOf", [])], resolve)
    return expanded


def _gather(
    parts: list[Part], where: str
) -> tuple[dict[str, Any], dict[str, list[Part]], list[Part], list[Part] | None]:
    """The compared keywords, the properties, the items and the union branches of `parts`."""
    keywords: dict[str, Any] = {}
    properties: dict[str, list[Part]] = {}
    items: list[Part] = []
    branches: list[Part] | None = None
    for node, context in parts:
        for key, value in node.items():
            if key == "properties":
                for name, sub in value.items():
                    properties.setdefault(name, []).append((sub, context))
            elif key == "items":
                items.append((value, context))
            elif key in ("oneOf", "anyOf"):
                assert branches is None, f"{where}: two unions in one place"
                branches = [(branch, context) for branch in value]
            elif key == "required":
                keywords["required"] = sorted(set(keywords.get("required", [])) | set(value))
            elif key in COMPARED:
                assert keywords.get(key, value) == value, f"{where}: two values for {key}"
                keywords[key] = value
            else:
                assert key in IGNORED, f"{where}: keyword {key!r} is neither compared nor ignored"
    return keywords, properties, items, branches


def _flatten_union(branches: list[Part], resolve: Resolve, where: str, nullable: bool) -> Flat:
    """A union's branches; what sits beside the union (the change dispatcher's `t`) only
    restates them and is left out."""
    kept = [branch for branch in branches if not _is_null(branch, resolve, where)]
    nullable = nullable or len(kept) < len(branches)
    if len(kept) == 1:
        return flatten(kept, resolve, where, nullable)
    found: Flat = {}
    for branch in kept:
        found |= flatten([branch], resolve, f"{where}<{_branch_name(branch, resolve)}>", nullable)
    return found


def _is_null(branch: Part, resolve: Resolve, where: str) -> bool:
    keywords, properties, items, union = _gather(_expand([branch], resolve), where)
    return keywords == {"type": "null"} and not (properties or items or union)


def _branch_name(branch: Part, resolve: Resolve) -> str:
    flat = flatten([branch], resolve, "")
    kind = flat.get(".t", {}).get("enum")
    if kind is not None:
        return str(kind[0])
    return json.dumps(flat[""].get("enum")) if "enum" in flat[""] else str(flat[""].get("type"))


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "null" if value is None else names.get(type(value), "object")


# --- each side --------------------------------------------------------------------------------


def json_schema_constraints(name: str, location: str) -> Flat:
    schema = schemas()[name]

    def resolve(ref: str, resolver: Any) -> Part:
        resolved = resolver.lookup(ref)
        return resolved.contents, resolved.resolver

    return flatten([(schema, registry().resolver(base_uri=schema["$id"]))], resolve, location)


def openapi_constraints(document: dict[str, Any], component: str) -> Flat:
    components = document["components"]["schemas"]

    def resolve(ref: str, _context: Any) -> Part:
        return components[ref.removeprefix("#/components/schemas/")], None

    return flatten([(components[component], None)], resolve, component)


def differences(normative: Flat, described: Flat) -> dict[str, str]:
    """{location: what each side says} where they differ."""
    return {
        where: f"JSON Schema {normative.get(where, 'absent')}, "
        f"OpenAPI {described.get(where, 'absent')}"
        for where in sorted(normative.keys() | described.keys())
        if normative.get(where) != described.get(where)
    }


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("component", "name"), sorted(COMPONENT_SCHEMAS.items()))
def test_the_openapi_component_has_the_json_schema_constraints(
    committed: dict[str, Any], component: str, name: str
) -> None:
    normative = json_schema_constraints(name, component)
    described = openapi_constraints(committed, component)
    assert differences(normative, described) == {}


def test_the_comparison_sees_a_looser_property(committed: dict[str, Any]) -> None:
    """Guards the test above: a constraint dropped from the OpenAPI document is reported."""
    looser = copy.deepcopy(committed)
    del looser["components"]["schemas"]["EnrolmentRequest"]["properties"]["token"]["minLength"]
    found = differences(
        json_schema_constraints("enrolment-request", "EnrolmentRequest"),
        openapi_constraints(looser, "EnrolmentRequest"),
    )
    assert list(found) == ["EnrolmentRequest.token"]


def test_the_comparison_reaches_nested_items_and_union_branches(committed: dict[str, Any]) -> None:
    flat = json_schema_constraints("replica-page", "ReplicaPage")
    assert flat["ReplicaPage.changes[]<carnet>.codes[]"] == {
        "type": "string",
        "pattern": "^[0-9A-HJKMNP-TV-Z]{13}$",
    }
    assert flat["ReplicaPage.changes[]<carnet>.a"]["nullable"] is True
    assert "ReplicaPage.signature.signer" in flat
