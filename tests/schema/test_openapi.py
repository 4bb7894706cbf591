"""The hub's OpenAPI description: schema/openapi.json is what the app generates, it is a
well-formed OpenAPI 3.x document, and its status codes are the ones docs/protocol.md gives.

Regenerate the committed file after a change to the hub's API (mediateur_tui/hub/api/):

    .venv/bin/python tests/schema/test_openapi.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from mediateur_tui.hub.api import create_app
from mediateur_tui.hub.database import HubSettings

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_FILE = ROOT / "schema" / "openapi.json"
PROTOCOL_DOC = ROOT / "docs" / "protocol.md"
REGENERATE = ".venv/bin/python tests/schema/test_openapi.py"

OPERATIONS = {
    ("get", "/v1/health"),
    ("post", "/v1/enrolment"),
    ("get", "/v1/replica/changes"),
    ("post", "/v1/batches"),
    ("get", "/v1/batches/{batch_id}/ack"),
    ("post", "/v1/declarations"),
    ("get", "/v1/recovery"),
    ("post", "/v1/attributions"),
    ("get", "/v1/beneficiary-key"),
}
AUTHENTICATED = {
    ("get", "/v1/replica/changes"),
    ("post", "/v1/batches"),
    ("get", "/v1/batches/{batch_id}/ack"),
    ("post", "/v1/declarations"),
    ("get", "/v1/recovery"),
    ("post", "/v1/attributions"),
    ("get", "/v1/beneficiary-key"),
}
# The error statuses the prose of docs/protocol.md promises, call by call (the table of
# status codes in the same page must say at least this; the tests below hold the two together).
PROSE_ERRORS = {
    ("post", "/v1/enrolment"): {409, 401},  # token used twice; unknown token
    ("post", "/v1/batches"): {400, 401, 403, 409},  # bad signature; another site; other content
    ("get", "/v1/batches/{batch_id}/ack"): {401, 404},  # not received
    ("get", "/v1/replica/changes"): {401, 403},  # 403: a site struck off, on every call
    ("post", "/v1/declarations"): {400, 401, 403},  # bad signature; another site's document
    ("get", "/v1/recovery"): {401, 403},  # an old key after a re-enrolment
    # bad signature or document; another site's document, or a site that is not a distributor
    ("post", "/v1/attributions"): {400, 401, 403},
    ("get", "/v1/beneficiary-key"): {401, 403},  # a site that is not a distributor
}
# Which document each call carries (request body, success response), by component name.
DOCUMENTS = {
    ("post", "/v1/enrolment"): ("EnrolmentRequest", "Enrolment"),
    ("get", "/v1/replica/changes"): (None, ("ReplicaPage", "CompactReplicaPage")),
    ("post", "/v1/batches"): ("Batch", "Ack"),
    ("get", "/v1/batches/{batch_id}/ack"): (None, "Ack"),
    ("get", "/v1/health"): (None, "Health"),
    ("post", "/v1/declarations"): ("Declaration", "DeclarationAnswer"),
    ("get", "/v1/recovery"): (None, "SiteRecovery"),
    ("post", "/v1/attributions"): ("Attributions", "AttributionAnswer"),
    ("get", "/v1/beneficiary-key"): (None, "BeneficiaryKey"),
}
# OpenAPI components that describe a protocol document, and their JSON Schema in schema/
# (test_openapi_constraints.py compares their constraints).
COMPONENT_SCHEMAS = {
    "EnrolmentRequest": "enrolment-request",
    "Enrolment": "enrolment",
    "ReplicaPage": "replica-page",
    "CompactReplicaPage": "replica-page-v2",
    "Batch": "batch",
    "Ack": "ack",
    "Attributions": "attributions",
    "AttributionAnswer": "attribution-answer",
    "BeneficiaryKey": "beneficiary-key",
    "Declaration": "declaration",
    "DeclarationAnswer": "declaration-answer",
    "SiteRecovery": "site-recovery",
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def generate() -> dict[str, Any]:
    """The OpenAPI document of the hub as the code describes it now (no database needed)."""
    app = create_app(HubSettings(ROOT / "nonexistent-hub", "sqlite://"))
    return app.openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return generate()


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    assert OPENAPI_FILE.exists(), f"{OPENAPI_FILE} is missing: create it with `{REGENERATE}`."
    return json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def error_statuses(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


def documented_statuses() -> dict[tuple[str, str], tuple[int, set[int]]]:
    """The table of docs/protocol.md: `| `METHOD /path` | auth | success | errors |`."""
    rows = re.findall(
        r"^\| `(GET|POST) (/v1/[^`]*)` \|[^|]*\| (\d{3}) \| ([\d, ]+) \|",
        PROTOCOL_DOC.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    table = {}
    for method, path, success, errors in rows:
        key = (method.lower(), path)
        assert key not in table, f"docs/protocol.md lists {method} {path} twice"
        table[key] = (int(success), {int(status) for status in errors.split(",")})
    return table


# --- the committed file is the generated one ------------------------------------------------


def test_committed_file_is_what_the_hub_generates(generated: dict[str, Any]) -> None:
    assert OPENAPI_FILE.exists(), f"{OPENAPI_FILE} is missing: create it with `{REGENERATE}`."
    current = OPENAPI_FILE.read_text(encoding="utf-8")
    expected = render(generated)
    if current != expected:
        before, after = operations(json.loads(current)), operations(generated)
        changed = sorted(
            f"{method.upper()} {path}"
            for key in before.keys() | after.keys()
            if before.get(key) != after.get(key)
            for method, path in [key]
        )
        pytest.fail(
            "schema/openapi.json is not what the hub's code generates "
            f"(operations that differ: {', '.join(changed) or 'none; components or info'}). "
            f"If the API change is intended, regenerate it from the repository root with "
            f"`{REGENERATE}` and commit the file.",
            pytrace=False,
        )


def test_generation_is_deterministic(generated: dict[str, Any]) -> None:
    assert render(generate()) == render(generated)


# --- a well-formed OpenAPI 3.x document -----------------------------------------------------


def test_is_an_openapi_3_document(committed: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.\d+\.\d+", committed["openapi"])
    info = committed["info"]
    assert info["title"] == "mediateur-hub"
    assert isinstance(info["version"], str) and info["version"]
    assert set(operations(committed)) == OPERATIONS
    for (method, path), operation in operations(committed).items():
        assert operation["operationId"], (method, path)
        assert operation["summary"].strip(), (method, path)
        assert operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status), (method, path, status)
            assert response["description"].strip(), (method, path, status)
    ids = [operation["operationId"] for operation in operations(committed).values()]
    assert len(ids) == len(set(ids))


def test_path_parameters_are_declared(committed: dict[str, Any]) -> None:
    for (method, path), operation in operations(committed).items():
        in_path = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, (method, path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["required"] is True
    changes = operations(committed)[("get", "/v1/replica/changes")]
    query = {p["name"]: p for p in changes["parameters"] if p["in"] == "query"}
    assert set(query) == {"since", "limit", "format"}
    assert (query["format"]["schema"]["minimum"], query["format"]["schema"]["maximum"]) == (1, 2)
    assert query["format"]["schema"]["default"] == 1
    assert (query["since"]["schema"]["minimum"], query["since"]["schema"]["maximum"]) == (
        0,
        2**63 - 1,
    )
    ack = operations(committed)[("get", "/v1/batches/{batch_id}/ack")]
    assert ack["parameters"][0]["schema"]["pattern"] == "^[0-9a-f]{32}$"


def test_every_reference_resolves(committed: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    components = committed["components"]["schemas"]
    references = refs(committed)
    assert references
    for ref in references:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref


def test_authentication(committed: dict[str, Any]) -> None:
    schemes = committed["components"]["securitySchemes"]
    assert set(schemes) == {"HTTPBearer"}
    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    for key, operation in operations(committed).items():
        expected = [{"HTTPBearer": []}] if key in AUTHENTICATED else None
        assert operation.get("security") == expected, key


def test_documents_in_and_out(committed: dict[str, Any]) -> None:
    for key, (request, response) in DOCUMENTS.items():
        operation = operations(committed)[key]
        if request is None:
            assert "requestBody" not in operation, key
        else:
            body = operation["requestBody"]
            assert body["required"] is True
            schema = body["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{request}"}, key
        success = [status for status in operation["responses"] if status.startswith("2")]
        assert len(success) == 1, key
        content = operation["responses"][success[0]]["content"]["application/json"]
        if isinstance(response, tuple):  # one of several formats (the client chooses)
            refs = [{"$ref": f"#/components/schemas/{name}"} for name in response]
            assert content["schema"]["anyOf"] == refs, key
        else:
            assert content["schema"] == {"$ref": f"#/components/schemas/{response}"}, key
        for status in error_statuses(operation):
            error = operation["responses"][str(status)]["content"]["application/json"]
            assert error["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, key
    assert 422 not in {s for op in operations(committed).values() for s in error_statuses(op)}


# --- status codes: OpenAPI, docs/protocol.md and the code agree -----------------------------


def test_protocol_doc_has_a_row_for_every_call() -> None:
    assert set(documented_statuses()) == OPERATIONS


def test_statuses_are_the_documented_ones(committed: dict[str, Any]) -> None:
    table = documented_statuses()
    for key, operation in operations(committed).items():
        success, errors = table[key]
        statuses = {int(status) for status in operation["responses"]}
        assert statuses == {success} | errors, (
            f"{key[0].upper()} {key[1]}: the hub describes {sorted(statuses)}, "
            f"docs/protocol.md says {sorted({success} | errors)}"
        )


def test_the_errors_the_protocol_promises_are_described(committed: dict[str, Any]) -> None:
    described = {key: error_statuses(op) for key, op in operations(committed).items()}
    table = documented_statuses()
    for key, statuses in PROSE_ERRORS.items():
        assert statuses <= described[key], (key, statuses - described[key])
        assert statuses <= table[key][1], (key, statuses - table[key][1])
    for key in AUTHENTICATED:
        assert 401 in described[key], key
        assert 403 in described[key], key  # a site the region has struck off
    for key in OPERATIONS:
        assert 503 in described[key], key  # hub not initialised
    for key in (("post", "/v1/enrolment"), ("post", "/v1/batches"), ("post", "/v1/attributions")):
        assert 413 in described[key], key  # a body over its document's cap


if __name__ == "__main__":
    OPENAPI_FILE.write_text(render(generate()), encoding="utf-8")
    print(f"Wrote {OPENAPI_FILE.relative_to(ROOT)}", file=sys.stderr)
