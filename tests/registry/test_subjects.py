"""Subject IDs: the check path's shortcut for plain resident IDs agrees with stdnum's way."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.errors import InvalidSubjectId
from socialcredit.identifiers import resident_id
from socialcredit.registry import subjects


def _long_way(value: str) -> tuple[str, str] | None:
    number = value.strip().upper()
    try:
        return subjects._validate_ric(number, "subject"), "person"
    except InvalidSubjectId:
        return None


_ID_CHARS = st.sampled_from("0123456789X")
_near_ids = st.lists(_ID_CHARS, min_size=18, max_size=18).map("".join)


@settings(max_examples=3_000)
@given(_near_ids)
def test_the_shortcut_accepts_exactly_what_the_long_way_accepts_unchanged(value: str) -> None:
    long = _long_way(value)
    assert subjects._plain_ric(value) == (long is not None and long[0] == value)


@settings(max_examples=500)
@given(
    st.sampled_from([110101, 340524, 440305, 650102]),
    st.dates(),
    st.integers(min_value=0, max_value=999),
)
def test_valid_ids_take_the_shortcut(region: int, born: date, serial: int) -> None:
    value = resident_id(region, born, serial)
    long = _long_way(value)
    assert subjects._plain_ric(value) == (long is not None)
    if long is not None:
        assert subjects.validate(value) == (value, "person")


@pytest.mark.parametrize(
    "value",
    [
        "３４052419800101001X",  # full-width digits: not ASCII
        "٣٤0524198001010015",  # Arabic-Indic digits
        "34052419800101001Y",
        "340524198002300014",  # 30 February
    ],
)
def test_not_plain_ids_are_refused_with_a_reason(value: str) -> None:
    assert not subjects._plain_ric(value)
    with pytest.raises(InvalidSubjectId, match="subject"):
        subjects.validate(value)


def test_lower_case_x_is_normalised_the_long_way() -> None:
    assert not subjects._plain_ric("34052419800101001x")
    assert subjects.validate("34052419800101001x") == ("34052419800101001X", "person")
