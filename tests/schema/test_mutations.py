"""Broken documents are rejected: every mutation of a valid example breaks the contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from contract import validate
from jsonschema import ValidationError

from .examples import BENEFICIARY, EXAMPLES, OPTIONAL_FIELDS, code

Path = tuple[str | int, ...]


def objects(node: Any, path: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every JSON object in a document, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, (*path, index))


def at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def shown(path: Path) -> str:
    return "/".join(str(step) for step in path) or "(root)"


def assert_rejected(document: dict[str, Any], name: str) -> None:
    with pytest.raises(ValidationError):
        validate(document, name)


def inside_a_published_rulebook(document: dict[str, Any], path: Path) -> bool:
    """Whether `path` is within the rulebook a `rulebook` change carries (its signature
    aside): that content is schema/rules/rulebook.schema.json's, which the replica schemas
    leave open and tests/domain/test_published_rulebooks.py checks."""
    for cut in range(len(path)):
        node = at(document, path[:cut])
        if isinstance(node, dict) and node.get("t") == "rulebook" and path[cut] == "document":
            return len(path) > cut + 1 and path[cut + 1] != "signature"
    return False


# Every field of every object of every example is required (but the few optional ones, see
# test_examples.py), and no object takes extra fields.
FIELDS = [
    pytest.param(name, path, key, id=f"{name}:{shown((*path, key))}")
    for name, build in sorted(EXAMPLES.items())
    for path, node in objects(build())
    for key in node
    if key not in OPTIONAL_FIELDS and not inside_a_published_rulebook(build(), (*path, key))
]
OBJECTS = [
    pytest.param(name, path, id=f"{name}:{shown(path)}")
    for name, build in sorted(EXAMPLES.items())
    for path, _ in objects(build())
    if not inside_a_published_rulebook(build(), (*path, "extra"))
]


@pytest.mark.parametrize(("name", "path", "key"), FIELDS)
def test_a_missing_field_is_rejected(name: str, path: Path, key: str) -> None:
    document = EXAMPLES[name]()
    del at(document, path)[key]
    assert_rejected(document, name)


@pytest.mark.parametrize(("name", "path"), OBJECTS)
def test_an_extra_field_is_rejected(name: str, path: Path) -> None:
    document = EXAMPLES[name]()
    at(document, path)["extra"] = 1
    assert_rejected(document, name)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_wrong_format_is_rejected(name: str) -> None:
    document = EXAMPLES[name]()
    document["format"] = document["format"].rsplit("/", 1)[0] + "/9"  # a version unknown
    assert_rejected(document, name)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_document_is_only_valid_for_its_own_schema(name: str) -> None:
    document = EXAMPLES[name]()
    for other in EXAMPLES:
        if other != name:
            assert_rejected(document, other)


BAD_CODES = [
    pytest.param(code(1).lower(), id="lower-case"),
    pytest.param(code(1)[:12], id="12-symbols"),
    pytest.param(code(1) + "0", id="14-symbols"),
    pytest.param("7K3M-9QXR-0001", id="dashes"),
    pytest.param("7K3M9QXR0001I", id="letter-I"),
    pytest.param("7K3M9QXR0001L", id="letter-L"),
    pytest.param("7K3M9QXR0001O", id="letter-O"),
    pytest.param("7K3M9QXR0001U", id="letter-U"),
    pytest.param("", id="empty"),
    pytest.param(1234567890123, id="number"),
]
CODE_PLACES = [
    pytest.param("replica-page", ("changes", 4, "codes", 0), id="carnet"),
    pytest.param("replica-page", ("changes", 8, "code"), id="revocation"),
    pytest.param("replica-snapshot", ("changes", 9, "code"), id="used"),
    pytest.param("batch", ("redemptions", 0, "code"), id="redemption"),
    pytest.param("batch", ("refused_scans", 1, "code"), id="refused-scan"),
    pytest.param("ack", ("lines", 0, "code"), id="ack-line"),
    pytest.param("attributions", ("attributions", 0, "beneficiary_ref"), id="beneficiary-ref"),
]


@pytest.mark.parametrize("bad", BAD_CODES)
@pytest.mark.parametrize(("name", "path"), CODE_PLACES)
def test_a_bad_code_is_rejected(name: str, path: Path, bad: Any) -> None:
    document = EXAMPLES[name]()
    at(document, path[:-1])[path[-1]] = bad
    assert_rejected(document, name)


Mutation = Callable[[dict[str, Any]], None]


def setter(path: Path, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        at(document, path[:-1])[path[-1]] = value

    return mutate


def carnet_of(size: int, count: int) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        carnet = document["changes"][4]
        carnet["n"] = size
        carnet["codes"] = [code(100 + number) for number in range(count)]

    return mutate


def same_code_twice(document: dict[str, Any]) -> None:
    codes = document["changes"][4]["codes"]
    codes[1] = codes[0]


def attribution(index: int, **fields: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["attributions"][index].update(fields)

    return mutate


def result(index: int, **fields: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["results"][index].update(fields)

    return mutate


def too_many(key: str, count: int) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document[key] = [document[key][0]] * count

    return mutate


def without(key: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        del document[key]

    return mutate


def ack_line(index: int, **fields: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["lines"][index].update(fields)

    return mutate


WINNER = {"site_id": "FOURMIES-MEDIA", "redeemed_at": "2026-03-02T15:40:00+00:00"}
SIGNATURE = "A" * 86 + "=="

MUTATIONS = [
    # changes (common.schema.json), through a replica page or snapshot
    ("replica-page", "carnet n=5 with 4 codes", carnet_of(5, 4)),
    ("replica-page", "carnet n=5 with 6 codes", carnet_of(5, 6)),
    ("replica-page", "carnet n=10 with 5 codes", carnet_of(10, 5)),
    ("replica-page", "carnet n=10 with 11 codes", carnet_of(10, 11)),
    ("replica-page", "carnet n=7", carnet_of(7, 7)),
    ("replica-page", "carnet n='5'", setter(("changes", 4, "n"), "5")),
    ("replica-page", "carnet with the same code twice", same_code_twice),
    ("replica-page", "carnet attribution in French", setter(("changes", 4, "a"), "02/03/2026")),
    ("replica-page", "unknown change kind", setter(("changes", 2, "t"), "operator")),
    ("replica-page", "site change shaped as a carnet", setter(("changes", 2, "t"), "carnet")),
    ("replica-page", "programme sites empty", setter(("changes", 0, "sites"), [])),
    ("replica-page", "programme sites star and id", setter(("changes", 0, "sites"), ["*", "A"])),
    ("replica-page", "programme sites lower case", setter(("changes", 1, "sites"), ["avesnes"])),
    ("replica-page", "programme sites a string", setter(("changes", 0, "sites"), "*")),
    ("replica-page", "programme sites twice", setter(("changes", 1, "sites"), ["A", "A"])),
    ("replica-page", "programme value negative", setter(("changes", 0, "value_cents"), -1000)),
    ("replica-page", "programme value in euros", setter(("changes", 0, "value_cents"), 10.5)),
    ("replica-page", "programme value as text", setter(("changes", 0, "value_cents"), "1000")),
    ("replica-page", "programme id with colon", setter(("changes", 0, "id"), "HDF:NUM")),
    ("replica-page", "programme id 33 symbols", setter(("changes", 0, "id"), "A" * 33)),
    ("replica-page", "programme label empty", setter(("changes", 0, "label"), "")),
    ("replica-page", "date 30 February", setter(("changes", 0, "valid_from"), "2026-02-30")),
    ("replica-page", "date month 13", setter(("changes", 0, "valid_until"), "2026-13-01")),
    ("replica-page", "date as instant", setter(("changes", 0, "grace_until"), "2027-01-31T00:00Z")),
    ("replica-page", "date compact", setter(("changes", 8, "on"), "20260310")),
    ("replica-page", "revocation reason unknown", setter(("changes", 8, "reason"), "broken")),
    ("replica-snapshot", "used by a lower-case site", setter(("changes", 9, "site"), "fourmies")),
    ("replica-snapshot", "carnet programme lower case", setter(("changes", 5, "p"), "hdf")),
    ("replica-page", "carnet not handed out names someone", setter(("changes", 5, "b"), "B-1")),
    ("replica-page", "taken back names someone", setter(("changes", 7, "b"), BENEFICIARY)),
    ("replica-page", "beneficiary empty", setter(("changes", 4, "b"), "")),
    ("replica-page", "beneficiary of 65 characters", setter(("changes", 6, "b"), "B" * 65)),
    ("replica-page", "beneficiary a number", setter(("changes", 6, "b"), 42)),
    # replica pages and snapshots
    ("replica-page", "cursor negative", setter(("since",), -1)),
    ("replica-page", "cursor as text", setter(("until",), "10")),
    ("replica-page", "more as text", setter(("more",), "true")),
    ("replica-page", "instant without offset", setter(("generated_at",), "2026-03-31T22:00:00")),
    ("replica-page", "instant not UTC", setter(("generated_at",), "2026-03-31T22:00:00+02:00")),
    ("replica-page", "instant with a space", setter(("generated_at",), "2026-03-31 22:00:00Z")),
    ("replica-page", "instant 30 February", setter(("generated_at",), "2026-02-30T10:00:00Z")),
    ("replica-page", "instant 24 o'clock", setter(("generated_at",), "2026-03-31T24:00:00Z")),
    ("replica-page", "changes not a list", setter(("changes",), {})),
    ("replica-page", "region id lower case", setter(("region_id",), "hdf")),
    ("replica-page", "signed by a site", setter(("signature", "signer"), "site:AVESNES-EPN")),
    ("replica-page", "signer lower case", setter(("signature", "signer"), "region:hdf")),
    ("replica-page", "signer without kind", setter(("signature", "signer"), "HDF")),
    ("replica-page", "signature not base64", setter(("signature", "value"), "!" * 86 + "==")),
    ("replica-page", "signature too short", setter(("signature", "value"), "A" * 42 + "A=")),
    ("replica-page", "signature unpadded", setter(("signature", "value"), "A" * 86)),
    ("replica-page", "signature missing", setter(("signature",), None)),
    ("replica-page", "key id too short", setter(("signature", "kid"), "3JK55MC")),
    ("replica-page", "key id lower case", setter(("signature", "kid"), "3jk55mcs")),
    ("replica-page", "key id with a 1", setter(("signature", "kid"), "1JK55MCS")),
    ("replica-snapshot", "public key too short", setter(("region_public_key",), "AAAA")),
    ("replica-snapshot", "public key as hex", setter(("region_public_key",), "ab" * 32)),
    ("replica-snapshot", "signature of 64 bytes as hex", setter(("signature", "value"), "0" * 128)),
    # enrolment
    ("enrolment-request", "empty token", setter(("token",), "")),
    ("enrolment-request", "key of 31 bytes", setter(("site_public_key",), "A" * 42 + "==")),
    ("enrolment", "site id with a space", setter(("site_id",), "AVESNES EPN")),
    ("enrolment", "empty api key", setter(("api_key",), "")),
    ("enrolment", "issued on a date", setter(("issued_at",), "2026-02-15")),
    ("enrolment", "signed by a site", setter(("signature", "signer"), "site:AVESNES-EPN")),
    ("enrolment", "signature value empty", setter(("signature", "value"), "")),
    ("enrolment", "beneficiary key of 31 bytes", setter(("beneficiary_key",), "A" * 42 + "==")),
    ("enrolment", "beneficiary key of 33 bytes", setter(("beneficiary_key",), "A" * 44 + "==")),
    ("enrolment", "beneficiary key as hex", setter(("beneficiary_key",), "ab" * 32)),
    ("enrolment", "beneficiary key null", setter(("beneficiary_key",), None)),
    # batch
    ("batch", "period month 13", setter(("period",), "2026-13")),
    ("batch", "period month 0", setter(("period",), "2026-00")),
    ("batch", "period one-digit month", setter(("period",), "2026-3")),
    ("batch", "period compact", setter(("period",), "202603")),
    ("batch", "period as a date", setter(("period",), "2026-03-01")),
    ("batch", "sequence 0", setter(("sequence",), 0)),
    ("batch", "sequence as text", setter(("sequence",), "2")),
    ("batch", "previous hash too short", setter(("previous_hash",), "ab" * 31)),
    ("batch", "previous hash upper case", setter(("previous_hash",), "AB" * 32)),
    ("batch", "previous hash empty", setter(("previous_hash",), "")),
    ("batch", "batch id a uuid with dashes", setter(("batch_id",), "0" * 8 + "-" + "0" * 23)),
    ("batch", "batch id upper case", setter(("batch_id",), "A" * 32)),
    ("batch", "signed by the region", setter(("signature", "signer"), "region:HDF")),
    ("batch", "signature with bad padding bits", setter(("signature", "value"), "A" * 85 + "B==")),
    ("batch", "session kind unknown", setter(("sessions", 0, "kind"), "atelier")),
    ("batch", "session duration 0", setter(("sessions", 0, "duration_minutes"), 0)),
    ("batch", "session themes a list", setter(("sessions", 0, "themes"), ["courriel"])),
    ("batch", "session title empty", setter(("sessions", 0, "title"), "")),
    ("batch", "session id as text", setter(("sessions", 0, "id"), "41")),
    ("batch", "session start local time", setter(("sessions", 0, "started_at"), "2026-03-03")),
    ("batch", "redemption provisional as text", setter(("redemptions", 0, "provisional"), "no")),
    ("batch", "redemption provisional null", setter(("redemptions", 0, "provisional"), None)),
    ("batch", "redemption input unknown", setter(("redemptions", 0, "input_method"), "keyboard")),
    ("batch", "redemption value negative", setter(("redemptions", 0, "value_cents"), -1000)),
    ("batch", "redemption value in euros", setter(("redemptions", 0, "value_cents"), 9.99)),
    ("batch", "redemption id not hex", setter(("redemptions", 0, "id"), "z" * 32)),
    ("batch", "redemption id too short", setter(("redemptions", 0, "id"), "a" * 16)),
    ("batch", "redemption without operator", setter(("redemptions", 0, "operator"), "")),
    ("batch", "redemption operator as id", setter(("redemptions", 0, "operator"), 3)),
    ("batch", "redemption session as text", setter(("redemptions", 0, "session_id"), "41")),
    (
        "batch",
        "redemption time naive",
        setter(("redemptions", 0, "redeemed_at"), "2026-03-03T09:12"),
    ),
    ("batch", "refused scan of a valid pass", setter(("refused_scans", 0, "verdict"), "valid")),
    ("batch", "refused scan in the grace period", setter(("refused_scans", 0, "verdict"), "grace")),
    ("batch", "refused scan verdict in French", setter(("refused_scans", 0, "verdict"), "inconnu")),
    ("batch", "refused scan input null", setter(("refused_scans", 0, "input"), None)),
    ("batch", "totals negative", setter(("totals", "value_cents"), -1)),
    ("batch", "totals as text", setter(("totals", "redemptions"), "3")),
    ("batch", "sessions not a list", setter(("sessions",), None)),
    # acknowledgement
    ("ack", "refused line without reason", ack_line(1, reason=None, winner=None)),
    ("ack", "refused revoked line without reason", ack_line(2, reason=None)),
    ("ack", "accepted line with a reason", ack_line(0, reason="revoked")),
    ("ack", "accepted line with conflict", ack_line(0, reason="conflict", winner=WINNER)),
    ("ack", "accepted line with a winner", ack_line(0, winner=WINNER)),
    ("ack", "conflict without winner", ack_line(1, winner=None)),
    ("ack", "winner for a revoked line", ack_line(2, winner=WINNER)),
    ("ack", "reason unknown", ack_line(2, reason="stolen")),
    ("ack", "reason empty", ack_line(2, reason="")),
    ("ack", "verdict unknown", ack_line(0, verdict="pending")),
    ("ack", "verdict in French", ack_line(0, verdict="accepté")),
    ("ack", "winner without time", ack_line(1, winner={"site_id": "FOURMIES-MEDIA"})),
    ("ack", "winner site lower case", ack_line(1, winner={**WINNER, "site_id": "fourmies"})),
    ("ack", "winner time naive", ack_line(1, winner={**WINNER, "redeemed_at": "2026-03-02"})),
    ("ack", "winner with extra field", ack_line(1, winner={**WINNER, "code": code(7)})),
    ("ack", "winner a site id string", ack_line(1, winner="FOURMIES-MEDIA")),
    ("ack", "redemption id not hex", ack_line(0, redemption_id="redemption-1")),
    ("ack", "batch id not hex", setter(("batch_id",), "batch-2")),
    ("ack", "received at without offset", setter(("received_at",), "2026-04-01T07:00:05")),
    ("ack", "totals in euros", setter(("totals", "accepted_cents"), 10.5)),
    ("ack", "totals negative", setter(("totals", "refused"), -1)),
    ("ack", "signed by a site", setter(("signature", "signer"), "site:AVESNES-EPN")),
    ("ack", "signature value not a string", setter(("signature", "value"), [SIGNATURE])),
    # attributions
    ("attributions", "signed by the region", setter(("signature", "signer"), "region:HDF")),
    ("attributions", "sent on a date", setter(("sent_at",), "2026-03-02")),
    ("attributions", "more than 1,000", too_many("attributions", 1001)),
    ("attributions", "id not hex", attribution(0, id="attribution-1")),
    ("attributions", "reference lower case", attribution(0, beneficiary_ref=BENEFICIARY.lower())),
    ("attributions", "reference without its B", attribution(0, beneficiary_ref=BENEFICIARY[1:])),
    ("attributions", "reference of 22 symbols", attribution(0, beneficiary_ref=BENEFICIARY + "0")),
    ("attributions", "reference with a U", attribution(0, beneficiary_ref="B" + "U" * 20)),
    ("attributions", "category unknown", attribution(0, category="student")),
    ("attributions", "category in French", attribution(0, category="lycéen")),
    ("attributions", "rulebook upper case", attribution(0, rulebook="HDF-2022-02")),
    ("attributions", "rulebook empty", attribution(0, rulebook="")),
    ("attributions", "received in French", attribution(0, received_on="02/03/2026")),
    ("attributions", "attributed on a date", attribution(0, attributed_at="2026-03-02")),
    ("attributions", "attributed local time", attribution(0, attributed_at="2026-03-02T11:15")),
    ("attributions", "accompanied as text", attribution(0, accompanied="oui")),
    ("attributions", "establishment empty", attribution(1, establishment="")),
    ("attributions", "no carnet", attribution(0, carnets=[])),
    ("attributions", "three carnets", attribution(1, carnets=["C1", "C2", "C3"])),
    ("attributions", "the same carnet twice", attribution(1, carnets=["C0000003"] * 2)),
    ("attributions", "carnet id empty", attribution(0, carnets=[""])),
    ("attributions", "carnets a string", attribution(0, carnets="C0000002")),
    ("attributions", "no pass", attribution(0, passes=0)),
    ("attributions", "passes as text", attribution(0, passes="10")),
    ("attributions", "passes in a float", attribution(0, passes=10.5)),
    # attribution answer
    ("attribution-answer", "signed by a site", setter(("signature", "signer"), "site:A")),
    ("attribution-answer", "more than 1,000 results", too_many("results", 1001)),
    ("attribution-answer", "accepted with a reason", result(0, reason="invalid")),
    ("attribution-answer", "refused without a reason", result(1, reason=None)),
    ("attribution-answer", "reason of a batch line", result(1, reason="conflict")),
    ("attribution-answer", "verdict unknown", result(0, verdict="pending")),
    ("attribution-answer", "message empty", result(0, message="")),
    ("attribution-answer", "message null", result(1, message=None)),
    ("attribution-answer", "passes negative", result(0, beneficiary_passes=-1)),
    ("attribution-answer", "passes null", result(0, beneficiary_passes=None)),
    ("attribution-answer", "id not hex", result(0, id="x" * 32)),
    ("attribution-answer", "answered without offset", setter(("answered_at",), "2026-03-02")),
    # beneficiary key
    ("beneficiary-key", "without the key", without("beneficiary_key")),  # optional elsewhere
    ("beneficiary-key", "key null", setter(("beneficiary_key",), None)),
    ("beneficiary-key", "key of 31 bytes", setter(("beneficiary_key",), "A" * 42 + "==")),
    ("beneficiary-key", "key of 33 bytes", setter(("beneficiary_key",), "A" * 44 + "==")),
    ("beneficiary-key", "key as hex", setter(("beneficiary_key",), "ab" * 32)),
    ("beneficiary-key", "site id lower case", setter(("site_id",), "avesnes-epn")),
    ("beneficiary-key", "issued on a date", setter(("issued_at",), "2026-11-28")),
    ("beneficiary-key", "signed by a site", setter(("signature", "signer"), "site:AVESNES-EPN")),
]


@pytest.mark.parametrize(
    ("name", "mutate"),
    [pytest.param(name, mutate, id=f"{name}: {label}") for name, label, mutate in MUTATIONS],
)
def test_a_mutation_is_rejected(name: str, mutate: Mutation) -> None:
    document = EXAMPLES[name]()
    validate(document, name)  # the example is valid before the mutation
    mutate(document)
    assert_rejected(document, name)


def test_the_rejection_names_the_problem() -> None:
    document = EXAMPLES["replica-page"]()
    carnet_of(5, 4)(document)
    with pytest.raises(ValidationError) as caught:
        validate(document, "replica-page")
    assert "changes" in caught.value.json_path
