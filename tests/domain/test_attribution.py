"""The règlement, table-driven: every category, each proof missing in turn, age and date
boundaries, the 3-month certificate, both rulebooks around effective_from, the 10-pass cap and
the lycée quota; and the request parser fuzzed (it never crashes)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediateur_tui.domain.attribution import (
    FIELDS,
    InputError,
    Request,
    RequestError,
    Row,
    age_on,
    decide,
    decide_in_force,
    months_before,
    parse_request,
    read_requests,
)
from mediateur_tui.domain.rulebooks import (
    PROOF_TOKENS,
    Experiment,
    LyceeCriteria,
    ProofGroup,
    load_rulebooks,
)

BOOKS = load_rulebooks()
OLD, NEW = BOOKS
TODAY = date(2026, 1, 15)
RECEIVED = date(2022, 5, 15)

# One complete request per category under the 2022 rulebook.
BASE = {
    "job_seeker": Request(
        received_on=RECEIVED,
        category="job_seeker",
        birth_date=date(1980, 3, 1),
        postcode="59000",
        accompanied=True,
        proofs=frozenset({"residence", "job_seeker_certificate"}),
        proof_dates={"job_seeker_certificate": date(2022, 4, 1)},
        passes_already_received=0,
    ),
    "youth_insertion": Request(
        received_on=RECEIVED,
        category="youth_insertion",
        birth_date=date(2001, 6, 1),
        postcode="02100",
        accompanied=True,
        proofs=frozenset({"residence", "age_proof", "mission_locale_certificate"}),
        passes_already_received=0,
    ),
    "senior": Request(
        received_on=RECEIVED,
        category="senior",
        birth_date=date(1950, 1, 1),
        postcode="62000",
        accompanied=False,
        proofs=frozenset({"residence", "age_proof"}),
        passes_already_received=0,
    ),
}

# The lycée experiment with its establishments and criteria filled in (a later deliberation).
FILLED = dataclasses.replace(
    NEW.categories["lycee"],
    experiment=dataclasses.replace(
        NEW.categories["lycee"].experiment,
        establishments=("0590001A", "0800002B"),
        criteria=LyceeCriteria("Élèves des établissements désignés", ()),
    ),
)
LYCEE_BOOK = dataclasses.replace(NEW, categories={**NEW.categories, "lycee": FILLED})
LYCEE = Request(
    received_on=RECEIVED,
    category="lycee",
    birth_date=date(2006, 9, 1),
    postcode="80000",
    accompanied=True,
    proofs=frozenset({"residence", "school_certificate"}),
    passes_already_received=0,
    establishment="0800002B",
)


def change(request: Request, **changes) -> Request:
    return dataclasses.replace(request, **changes)


def without(request: Request, proof: str) -> Request:
    return change(request, proofs=request.proofs - {proof})


def birthday(years: int, day: date = RECEIVED, days: int = 0) -> date:
    """The birth date of someone who turns `years` on `day` (+`days` later)."""
    born = date(day.year - years, day.month, day.day)
    return date.fromordinal(born.toordinal() + days)


# (name, request, rulebook, eligible, carnets, second, missing proofs, words in the reasons)
CASES = [
    ("job seeker accompanied", BASE["job_seeker"], NEW, True, [10], False, [], "carnet de 10"),
    (
        "job seeker alone",
        change(BASE["job_seeker"], accompanied=False),
        NEW,
        True,
        [5],
        True,
        [],
        "second carnet",
    ),
    ("youth, mission locale", BASE["youth_insertion"], NEW, True, [10], False, [], ""),
    (
        "youth, internship",
        change(
            BASE["youth_insertion"],
            proofs=frozenset({"residence", "age_proof", "internship_certificate"}),
        ),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    ("senior alone", BASE["senior"], NEW, True, [5], True, [], ""),
    (
        "lycée: criteria pending",
        LYCEE,
        NEW,
        False,
        [],
        False,
        [],
        "délibération ultérieure",
    ),
    ("lycée filled in", LYCEE, LYCEE_BOOK, True, [10], False, [], ""),
    (
        "lycée, other establishment",
        change(LYCEE, establishment="0620009Z"),
        LYCEE_BOOK,
        False,
        [],
        False,
        [],
        "établissements désignés",
    ),
    (
        "lycée, no establishment",
        change(LYCEE, establishment=None),
        LYCEE_BOOK,
        False,
        [],
        False,
        [],
        "pas indiqué",
    ),
    (
        "lycée in 2023",
        change(LYCEE, received_on=date(2023, 1, 2)),
        LYCEE_BOOK,
        False,
        [],
        False,
        [],
        "expérimentation ne vaut",
    ),
    (
        "lycée under the 2020 rules",
        change(LYCEE, received_on=date(2022, 1, 31)),
        OLD,
        False,
        [],
        False,
        [],
        "pas prévue",
    ),
    # Proofs missing in turn.
    *[
        (
            f"{category} without {proof}",
            without(request, proof),
            NEW,
            False,
            [],
            False,
            [proof],
            "Justificatif manquant",
        )
        for category, request in BASE.items()
        for proof in sorted(request.proofs)
        if proof not in ("internship_certificate", "mission_locale_certificate")
    ],
    (
        "youth without any insertion proof",
        without(BASE["youth_insertion"], "mission_locale_certificate"),
        NEW,
        False,
        [],
        False,
        ["internship_certificate", "mission_locale_certificate"],
        " ou une attestation d'accompagnement",
    ),
    (
        "lycée without school certificate",
        without(LYCEE, "school_certificate"),
        LYCEE_BOOK,
        False,
        [],
        False,
        ["school_certificate"],
        "certificat de scolarité",
    ),
    (
        "outside the region",
        change(BASE["senior"], postcode="75011"),
        NEW,
        False,
        [],
        False,
        [],
        "pas en Hauts-de-France",
    ),
    *[
        (
            f"department {dep}",
            change(BASE["senior"], postcode=f"{dep}123"),
            NEW,
            True,
            [5],
            True,
            [],
            "",
        )
        for dep in ("02", "59", "60", "62", "80")
    ],
    # Age boundaries, on the exact birthday.
    (
        "youth 17, eve of 18",
        change(BASE["youth_insertion"], birth_date=birthday(18, days=1)),
        NEW,
        False,
        [],
        False,
        [],
        "au moins 18 ans",
    ),
    (
        "youth 18 today",
        change(BASE["youth_insertion"], birth_date=birthday(18)),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    (
        "youth 25, eve of 26",
        change(BASE["youth_insertion"], birth_date=birthday(26, days=1)),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    (
        "youth 26 today",
        change(BASE["youth_insertion"], birth_date=birthday(26)),
        NEW,
        False,
        [],
        False,
        [],
        "au plus 25 ans",
    ),
    (
        "senior 59, eve of 60",
        change(BASE["senior"], birth_date=birthday(60, days=1)),
        NEW,
        False,
        [],
        False,
        [],
        "au moins 60 ans",
    ),
    (
        "senior 60 today",
        change(BASE["senior"], birth_date=birthday(60)),
        NEW,
        True,
        [5],
        True,
        [],
        "",
    ),
    # The 3-month certificate.
    (
        "certificate 3 months to the day",
        change(BASE["job_seeker"], proof_dates={"job_seeker_certificate": date(2022, 2, 15)}),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    (
        "certificate a day older",
        change(BASE["job_seeker"], proof_dates={"job_seeker_certificate": date(2022, 2, 14)}),
        NEW,
        False,
        [],
        False,
        ["job_seeker_certificate"],
        "plus de 3 mois",
    ),
    (
        "certificate dated the day of the request",
        change(BASE["job_seeker"], proof_dates={"job_seeker_certificate": RECEIVED}),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    (
        "certificate dated after the request",
        change(BASE["job_seeker"], proof_dates={"job_seeker_certificate": date(2022, 5, 16)}),
        NEW,
        False,
        [],
        False,
        ["job_seeker_certificate"],
        "après la demande",
    ),
    (
        "certificate without a date",
        change(BASE["job_seeker"], proof_dates={}),
        NEW,
        False,
        [],
        False,
        ["job_seeker_certificate"],
        "sans date",
    ),
    (
        "certificate, 31 May minus 3 months is 28 February",
        change(
            BASE["job_seeker"],
            received_on=date(2022, 5, 31),
            proof_dates={"job_seeker_certificate": date(2022, 2, 28)},
        ),
        NEW,
        True,
        [10],
        False,
        [],
        "",
    ),
    (
        "certificate on 27 February for 31 May",
        change(
            BASE["job_seeker"],
            received_on=date(2022, 5, 31),
            proof_dates={"job_seeker_certificate": date(2022, 2, 27)},
        ),
        NEW,
        False,
        [],
        False,
        ["job_seeker_certificate"],
        "plus de 3 mois",
    ),
    # The 2020 rules: two carnets of 5 even when accompanied, no insertion proof for the young.
    (
        "2020: accompanied gets 5",
        change(
            BASE["job_seeker"],
            received_on=date(2022, 1, 31),
            proof_dates={"job_seeker_certificate": date(2022, 1, 3)},
        ),
        OLD,
        True,
        [5],
        True,
        [],
        "",
    ),
    (
        "2020: youth without insertion proof",
        change(
            without(BASE["youth_insertion"], "mission_locale_certificate"),
            received_on=date(2022, 1, 31),
        ),
        OLD,
        True,
        [5],
        True,
        [],
        "",
    ),
    # The 10-pass cap.
    (
        "already 5, alone",
        change(BASE["senior"], passes_already_received=5),
        NEW,
        True,
        [5],
        False,
        [],
        "",
    ),
    (
        "already 5, accompanied",
        change(BASE["job_seeker"], passes_already_received=5),
        NEW,
        True,
        [5],
        False,
        [],
        "plafond de 10",
    ),
    (
        "already 3, alone",
        change(BASE["senior"], passes_already_received=3),
        NEW,
        True,
        [5],
        False,
        [],
        "",
    ),
    (
        "already 7",
        change(BASE["senior"], passes_already_received=7),
        NEW,
        False,
        [],
        False,
        [],
        "moins qu'un carnet",
    ),
    (
        "already 10",
        change(BASE["job_seeker"], passes_already_received=10),
        NEW,
        False,
        [],
        False,
        [],
        "déjà reçu 10 pass",
    ),
    (
        "already 12",
        change(BASE["senior"], passes_already_received=12),
        NEW,
        False,
        [],
        False,
        [],
        "plafond est de 10",
    ),
    (
        "received in the future",
        change(BASE["senior"], received_on=date(2026, 1, 16)),
        NEW,
        False,
        [],
        False,
        [],
        "après aujourd'hui",
    ),
]


@pytest.mark.parametrize(
    ("request_", "book", "eligible", "carnets", "second", "missing", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_reglement(request_, book, eligible, carnets, second, missing, words) -> None:
    decision = decide(request_, book, TODAY)
    text = " ".join(decision.reasons)
    assert decision.eligible is eligible, text
    assert decision.rulebook == book.id
    assert list(decision.carnets) == carnets
    assert decision.second_carnet_on_request is second
    assert sorted(decision.missing_proofs) == sorted(missing)
    assert decision.reasons and all(reason.strip() for reason in decision.reasons)
    assert words in text
    assert set(decision.to_json()) == {
        "eligible",
        "rulebook",
        "carnets",
        "second_carnet_on_request",
        "missing_proofs",
        "reasons",
    }


@pytest.mark.parametrize(
    ("received_on", "rulebook", "eligible", "carnets"),
    [
        (date(2022, 1, 31), "hdf-2020-07", True, [5]),
        (date(2022, 2, 1), "hdf-2022-02", False, []),
    ],
)
def test_youth_proof_on_either_side_of_the_amendment(received_on, rulebook, eligible, carnets):
    request = change(
        without(BASE["youth_insertion"], "mission_locale_certificate"), received_on=received_on
    )
    decision = decide_in_force(request, BOOKS, TODAY)
    assert (decision.rulebook, decision.eligible, list(decision.carnets)) == (
        rulebook,
        eligible,
        carnets,
    )


@pytest.mark.parametrize(
    ("received_on", "rulebook", "carnets"),
    [(date(2022, 1, 31), "hdf-2020-07", [5]), (date(2022, 2, 1), "hdf-2022-02", [10])],
)
def test_accompanied_carnet_on_either_side_of_the_amendment(received_on, rulebook, carnets):
    request = change(
        BASE["senior"], received_on=received_on, accompanied=True, birth_date=date(1950, 1, 1)
    )
    decision = decide_in_force(request, BOOKS, TODAY)
    assert (decision.rulebook, list(decision.carnets)) == (rulebook, carnets)


def test_no_rulebook_before_the_first() -> None:
    decision = decide_in_force(change(BASE["senior"], received_on=date(2020, 6, 30)), BOOKS, TODAY)
    assert not decision.eligible and decision.rulebook is None
    assert "Aucun règlement" in decision.reasons[0]


@pytest.mark.parametrize(
    ("already_given", "accompanied", "eligible"),
    [
        (0, True, True),
        (3990, True, True),
        (3991, True, False),
        (3995, False, True),
        (3996, False, False),
        (4000, False, False),
    ],
)
def test_lycee_quota(already_given, accompanied, eligible) -> None:
    request = change(LYCEE, accompanied=accompanied)
    decision = decide(request, LYCEE_BOOK, TODAY, lycee_passes_already_given=already_given)
    assert decision.eligible is eligible
    if not eligible:
        assert "plafond de 4000 pass" in " ".join(decision.reasons)


def test_lycee_criteria_may_add_proofs() -> None:
    experiment = dataclasses.replace(
        FILLED.experiment,
        criteria=LyceeCriteria("Boursier·es", (ProofGroup(("age_proof",)),)),
    )
    assert isinstance(experiment, Experiment)
    book = dataclasses.replace(
        NEW,
        categories={**NEW.categories, "lycee": dataclasses.replace(FILLED, experiment=experiment)},
    )
    assert decide(LYCEE, book, TODAY).missing_proofs == ("age_proof",)
    assert decide(change(LYCEE, proofs=LYCEE.proofs | {"age_proof"}), book, TODAY).eligible


def test_every_refusal_lists_every_problem() -> None:
    request = change(BASE["senior"], postcode="75011", proofs=frozenset(), birth_date=birthday(40))
    decision = decide(request, NEW, TODAY)
    assert sorted(decision.missing_proofs) == ["age_proof", "residence"]
    assert len(decision.reasons) == 4  # department, age, two proofs


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2000, 2, 29), date(2018, 2, 28), 17),
        (date(2000, 2, 29), date(2018, 3, 1), 18),
        (date(2000, 5, 15), date(2018, 5, 15), 18),
    ],
)
def test_age_on(born, day, age) -> None:
    assert age_on(born, day) == age


def test_months_before() -> None:
    assert months_before(date(2022, 5, 15), 3) == date(2022, 2, 15)
    assert months_before(date(2022, 5, 31), 3) == date(2022, 2, 28)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_before(date(2022, 2, 10), 3) == date(2021, 11, 10)


# --- the parser -------------------------------------------------------------------------------

GOOD_JSON = {
    "received_on": "2022-05-15",
    "category": "job_seeker",
    "birth_date": "1980-03-01",
    "postcode": "59000",
    "accompanied": True,
    "proofs": ["residence", "job_seeker_certificate"],
    "proof_dates": {"job_seeker_certificate": "2022-04-01"},
    "passes_already_received": 0,
}
CSV_HEADER = ";".join(FIELDS)
GOOD_CSV_LINE = (
    "15/05/2022;job_seeker;1980-03-01;59000;oui;residence|job_seeker_certificate;0;"
    "job_seeker_certificate=2022-04-01;"
)


def test_json_and_csv_give_the_same_request() -> None:
    [from_json] = read_requests(json.dumps([GOOD_JSON]), "json")
    [from_csv] = read_requests("\ufeff" + CSV_HEADER + "\r\n" + GOOD_CSV_LINE + "\r\n", "csv")
    assert from_json.request == from_csv.request == BASE["job_seeker"]
    comma = read_requests(
        CSV_HEADER.replace(";", ",") + "\n" + GOOD_CSV_LINE.replace(";", ","), "csv"
    )
    assert comma[0].request == BASE["job_seeker"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"received_on": "2022-13-01"}, "received_on"),
        ({"birth_date": "2030-01-01"}, "après received_on"),
        ({"category": "etudiant"}, "inconnue"),
        ({"postcode": "5900"}, "5 chiffres"),
        ({"accompanied": "peut-être"}, "accompanied"),
        ({"proofs": ["passport"]}, "passport"),
        ({"proofs": 3}, "proofs"),
        ({"proof_dates": {"job_seeker_certificate": "hier"}}, "proof_dates"),
        ({"proof_dates": {"passport": "2022-01-01"}}, "passport"),
        ({"passes_already_received": -1}, "passes_already_received"),
        ({"passes_already_received": True}, "passes_already_received"),
        ({"nom": "Dupont"}, "inconnu"),
        ({"postcode": None}, "manquant"),
    ],
)
def test_malformed_json_rows_get_their_own_error(changes, words) -> None:
    rows = read_requests(json.dumps([GOOD_JSON, {**GOOD_JSON, **changes}, GOOD_JSON]), "json")
    assert [row.request is not None for row in rows] == [True, False, True]
    assert words in rows[1].error


def test_malformed_csv_rows_and_headers() -> None:
    text = "\n".join(
        [
            CSV_HEADER,
            GOOD_CSV_LINE,
            GOOD_CSV_LINE.replace("59000", "ABCDE"),
            "",
            "a;b",
            GOOD_CSV_LINE,
        ]
    )
    rows = read_requests(text, "csv")
    assert [row.number for row in rows] == [1, 2, 3, 4]
    assert [row.error is None for row in rows] == [True, False, False, True]
    assert "colonnes" in rows[2].error
    with pytest.raises(InputError, match="colonnes manquantes"):
        read_requests("received_on;category\n", "csv")
    with pytest.raises(InputError, match="colonnes inconnues : nom"):
        read_requests(CSV_HEADER + ";nom\n", "csv")
    with pytest.raises(InputError, match="vide"):
        read_requests("", "csv")
    with pytest.raises(InputError, match="liste"):
        read_requests("{}", "json")
    with pytest.raises(InputError, match="JSON invalide"):
        read_requests("[", "json")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(["2022-05-15", "15/05/2022", "59000", "oui", "job_seeker", "0", "10"]),
    st.lists(st.sampled_from([*PROOF_TOKENS, "x"]), max_size=4),
)


def check_rows(rows: list[Row]) -> None:
    for number, row in enumerate(rows, start=1):
        assert row.number == number
        assert (row.request is None) != (row.error is None)
        if row.request is not None:
            decide_in_force(row.request, BOOKS, TODAY)  # never crashes either
        else:
            assert row.error.strip()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from([*FIELDS, "extra"]), FIELD_VALUES), max_size=4))
def test_fuzz_json_objects(items) -> None:
    check_rows(read_requests(json.dumps(items), "json"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_any_json_text(text) -> None:
    try:
        rows = read_requests(text, "json")
    except InputError as error:
        assert str(error)
    else:
        check_rows(rows)


CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["2022-05-15", "1950-01-01", "62000", "non", "senior", "5", "residence|age_proof"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([";", ","]),
    st.lists(st.lists(CELL, min_size=0, max_size=len(FIELDS) + 1), max_size=4),
)
def test_fuzz_csv(delimiter, records) -> None:
    lines = [delimiter.join(FIELDS)] + [delimiter.join(record) for record in records]
    try:
        rows = read_requests("\n".join(lines), "csv")
    except InputError as error:
        assert str(error)
    else:
        check_rows(rows)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_csv_text(text) -> None:
    try:
        rows = read_requests(text, "csv")
    except InputError as error:
        assert str(error)
    else:
        check_rows(rows)


def test_parse_request_rejects_non_objects() -> None:
    for raw in ([], "x", 3, None):
        with pytest.raises(RequestError):
            parse_request(raw)
