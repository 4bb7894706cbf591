"""Validate protocol documents against the contract in schema/ (docs/protocol.md).

Any test can check what the code writes or reads:

    from contract import validate

    validate(batch, "batch")          # by schema name (schema/batch.schema.json) …
    validate(batch, "pn-batch/1")     # … or by document format

`validate` raises `jsonschema.ValidationError` (the most relevant error) when the document
breaks the contract. Formats (`date`, `date-time`) are checked too.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
SUFFIX = ".schema.json"

# Document format -> schema name (the file schema/<name>.schema.json).
FORMATS = {
    "pn-replica-page/1": "replica-page",
    "pn-replica-page/2": "replica-page-v2",
    "pn-replica-snapshot/1": "replica-snapshot",
    "pn-replica-snapshot/2": "replica-snapshot-lines",  # a line of the file: head or change
    "pn-replica-seal/1": "replica-seal",  # the last line of a pn-replica-snapshot/2
    "pn-enrolment-request/1": "enrolment-request",
    "pn-enrolment/1": "enrolment",
    "pn-batch/1": "batch",
    "pn-ack/1": "ack",
    "pn-attributions/1": "attributions",
    "pn-attribution-answer/1": "attribution-answer",
    "pn-beneficiary-key/1": "beneficiary-key",
    "pn-declaration/1": "declaration",
    "pn-declaration-answer/1": "declaration-answer",
    "pn-site-recovery/1": "site-recovery",
    "pn-key-set/1": "key-set",
}

# The formats jsonschema checks, plus `date-time` (its own checker needs an extra package): the
# schemas' pattern fixes the syntax of an instant, this rejects impossible ones (30 February).
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


__all__ = ["FORMATS", "SCHEMA_DIR", "ValidationError", "registry", "schemas", "validate"]


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Every schema of schema/, by name (file name without `.schema.json`)."""
    return {
        path.name.removesuffix(SUFFIX): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob("*" + SUFFIX))
    }


@cache
def registry() -> Registry:
    """The schemas by their `$id`, so that `$ref`s between files resolve offline."""
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in schemas().values()
    ]
    return Registry().with_resources(resources).crawl()


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for a schema name or a document format."""
    name = FORMATS.get(name, name)
    try:
        schema = schemas()[name]
    except KeyError:
        raise KeyError(f"no schema {name!r} in {SCHEMA_DIR}") from None
    return Draft202012Validator(schema, registry=registry(), format_checker=FORMAT_CHECKER)


def validate(document: dict[str, Any], name: str) -> None:
    """Raises jsonschema.ValidationError unless `document` conforms to the schema `name`."""
    error = best_match(validator(name).iter_errors(document))
    if error is not None:
        raise _explain(error)


def _explain(error: ValidationError) -> ValidationError:
    """In a failed oneOf, the error of the branch the document meant: the one branch whose `const`
    keywords all matched (a change of kind `t`), rather than "not valid under any schema"."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [
            subs for subs in branches.values() if all(sub.validator != "const" for sub in subs)
        ]
        if len(meant) != 1:
            break
        error = best_match(meant[0])
    return error
