"""A session's activity summary in the protocol (protocol/activity.py): its round trip, its
parser on outside input, the signature over it, and older documents without it."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from contract import validate
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.activity import (
    Activity,
    Genre,
    StatutSocial,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
)
from mediateur_tui.hub.batch_checks import batch_sessions, check_structure
from mediateur_tui.hub.declaration_checks import check_declaration
from mediateur_tui.protocol.activity import ActivitySummary, parse_summary
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.signing import sign_document, site_signer, verify_document

from .examples import REGION_ID, SITE_ID, SITE_KEY, batch, declaration, public_bytes

WHERE = "Séance n° 1 de la remise"


def counts(enum) -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from(list(enum)), st.integers(1, 50), max_size=len(enum))


@st.composite
def activities(draw) -> Activity:
    kind = draw(st.sampled_from(list(TypeActivite)))
    collectif = kind is TypeActivite.COLLECTIF
    return Activity(
        type=kind,
        date=draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))),
        duration_minutes=draw(st.integers(1, 23 * 60 + 59)),
        place_type=draw(st.sampled_from(list(TypeLieu))),
        thematiques=tuple(draw(st.lists(st.sampled_from(list(Thematique)), unique=True))),
        participants=draw(st.integers(0, 500)) if collectif else None,
        genres=draw(counts(Genre)),
        tranches_age=draw(counts(TrancheAge)),
        statuts=draw(counts(StatutSocial)),
    )


def with_activity(document: dict, activity: dict) -> dict:
    document = copy.deepcopy(document)
    document["sessions"][0]["activity"] = activity
    return document


def signed(document: dict) -> dict:
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return sign_document(unsigned, SITE_KEY, site_signer(SITE_ID))


@given(activities())
def test_a_summary_reads_back_as_it_was_written_and_follows_the_schema(activity) -> None:
    summary = ActivitySummary.of(activity)
    document = summary.document()
    assert parse_summary(document, WHERE) == summary
    validate(signed(with_activity(batch(), document)), "pn-batch/1")
    taken_back = summary.activity(activity.type, activity.duration_minutes, ())
    assert ActivitySummary.of(taken_back) == summary
    assert taken_back.thematiques == activity.thematiques
    assert taken_back.participant_count == activity.participant_count


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


@given(json_values)
def test_outside_input_is_read_or_refused_in_french_never_crashes(value) -> None:
    try:
        parse_summary(value, WHERE)
    except ProtocolError as error:
        assert str(error).startswith(WHERE)
        assert len(str(error)) < 200  # an unknown value is shown cut short


def default() -> Activity:
    return Activity(TypeActivite.INDIVIDUEL, date(2026, 11, 12), 30)


def test_a_long_unknown_value_is_shown_cut_short() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_summary({**ActivitySummary.of(default()).document(), "place": "x" * 10_000}, WHERE)
    assert "« xxxxxxxx" in str(refused.value) and len(str(refused.value)) < 200


@given(activities(), st.sampled_from(["date", "place", "thematiques", "participants"]), json_values)
def test_a_field_replaced_by_anything_is_read_or_refused(activity, name, value) -> None:
    document = {**ActivitySummary.of(activity).document(), name: value}
    try:
        summary = parse_summary(document, WHERE)
    except ProtocolError:
        return
    assert summary.document()[name] == value  # only a value that was valid is read


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(thematiques=["email", "email"]), "deux fois"),
        (lambda a: a.update(thematiques=["courriel"]), "thématique : « courriel »"),
        (lambda a: a.update(place="ailleurs"), "type de lieu : « ailleurs »"),
        (lambda a: a.update(date="2026-02-30"), "date d'activité invalide"),
        (lambda a: a.update(participants=True), "participants invalide"),
        (lambda a: a.update(participants=-1), "participants invalide"),
        (lambda a: a.update(genres={"feminin": 0}), "décompte « genres » invalide"),
        (lambda a: a.update(statuts=["sans_emploi"]), "« statuts » illisibles"),
        (lambda a: a.update(nom="Camille"), "champ d'activité inconnu « nom »"),
        (lambda a: a.pop("thematiques"), "thématiques absente"),
    ],
)
def test_the_hub_refuses_a_malformed_activity_in_french(change, message) -> None:
    document = batch()
    change(document["sessions"][0]["activity"])
    with pytest.raises(ProtocolError, match=message) as refused:
        check_structure(signed(document), REGION_ID)
    assert str(refused.value).startswith(WHERE)


def test_the_signature_covers_the_activity() -> None:
    document = signed(batch())
    key = public_bytes(SITE_KEY)
    verify_document(document, key, site_signer(SITE_ID))
    document["sessions"][0]["activity"]["participants"] += 1
    with pytest.raises(ProtocolError, match="Signature invalide"):
        verify_document(document, key, site_signer(SITE_ID))


def test_an_older_remise_without_activity_still_verifies_and_is_accepted() -> None:
    older = batch()
    for session in older["sessions"]:
        del session["activity"]
    document = signed(older)
    validate(document, "pn-batch/1")
    verify_document(document, public_bytes(SITE_KEY), site_signer(SITE_ID))
    assert len(check_structure(document, REGION_ID)) == len(older["redemptions"])
    assert [session.activity for session in batch_sessions(document)] == [None, None]


def test_a_declaration_carries_the_same_summary_checked_the_same_way() -> None:
    document = declaration()
    assert document["sessions"][0]["activity"]["participants"] == 6
    check_declaration(signed(document), REGION_ID)
    document["sessions"][0]["activity"]["place"] = "ailleurs"
    with pytest.raises(ProtocolError, match="Séance n° 1 de la déclaration : valeur inconnue"):
        check_declaration(signed(document), REGION_ID)
