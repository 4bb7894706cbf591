"""The compact carnets of pn-replica-page/2 (protocol/replica_pages.py): what the hub writes,
the site reads back as the page /1 held it."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.codes import ALPHABET, make_code
from mediateur_tui.protocol.errors import ProtocolError
from mediateur_tui.protocol.replica_pages import compact_changes, expand_changes

codes = st.text(alphabet=ALPHABET, min_size=12, max_size=12).map(make_code)
CODE = make_code("7K3M9QXR4TBE")
days = st.none() | st.dates().map(lambda day: day.isoformat())


@st.composite
def carnets(draw: st.DrawFn) -> dict:
    size = draw(st.sampled_from([5, 10]))
    change = {
        "t": "carnet",
        "id": draw(st.from_regex(r"C[0-9]{7}", fullmatch=True)),
        "p": "HDFNUM",
        "n": size,
        "a": draw(days),
        "b": draw(st.none() | st.just("B" + "7" * 20)),
        "codes": draw(st.lists(codes, min_size=size, max_size=size, unique=True)),
    }
    if draw(st.booleans()):
        change["i"] = "2026-03-01"
    return change


others = st.sampled_from(
    [
        {"t": "attribution", "id": "C0000001", "a": "2026-03-05", "b": None},
        {
            "t": "revocation",
            "code": make_code("7K3M9QXR4TBE"),
            "reason": "lost",
            "on": "2026-03-04",
        },
        {"t": "used", "code": CODE, "site": "AVESNES-EPN", "on": "2026-03-03"},
        {"t": "released", "code": CODE},
        {"t": "site", "id": "AVESNES-EPN", "name": "EPN d'Avesnes"},
    ]
)


@given(st.lists(carnets() | others, max_size=20))
def test_a_page_s_changes_come_back_as_they_were(changes):
    compacted = compact_changes(copy.deepcopy(changes))
    assert compacted is not None
    for change in compacted:
        if change["t"] == "carnet":
            assert "codes" not in change and len(change["c"]) == 12 * change["n"]
    assert expand_changes(compacted) == changes


@given(st.lists(carnets(), min_size=1, max_size=5), st.data())
def test_a_page_with_a_code_that_would_not_come_back_is_left_as_it_is(changes, data):
    carnet = data.draw(st.sampled_from(changes))
    code = carnet["codes"][0]
    carnet["codes"][0] = code[:12] + ("0" if code[12] != "0" else "1")
    kept = copy.deepcopy(changes)
    assert compact_changes(changes) is None
    assert changes == kept  # nothing changed: the hub serves the page as a page /1


@given(st.text(max_size=130), st.sampled_from([5, 10]))
def test_any_compact_text_is_read_back_or_refused_in_french(text, size):
    change = {"t": "carnet", "id": "C0000001", "p": "HDFNUM", "n": size, "a": None, "c": text}
    try:
        (expanded,) = expand_changes([change])
    except ProtocolError as error:
        assert str(error).startswith("Page de réplique mal formée (changement n° 1, carnet")
    else:
        assert "".join(code[:12] for code in expanded["codes"]) == text
        assert len(expanded["codes"]) == size
