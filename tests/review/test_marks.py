"""A review mark as the device sends it (study.review.parse_mark): what is taken, what is refused,
and how the values are kept — a wrong edge here loses a student's review or lets junk into the log."""

from __future__ import annotations

from typing import Any

import pytest

from studybuddy.study.decks import generated_card_id
from studybuddy.study.review import MALFORMED, Mark, ReviewError, parse_mark

AT = 1_767_600_000.0


def raw(**changes: Any) -> dict[str, Any]:
    mark: dict[str, Any] = {"id": "mark-0001", "card_id": "card-1", "grade": "good", "reviewed_at": AT}
    mark.update(changes)
    return {k: v for k, v in mark.items() if v is not ...}


def test_a_mark_is_read_as_sent() -> None:
    assert parse_mark(raw(reviewed_at=AT + 0.12345, duration_ms=1500)) == \
        Mark("mark-0001", "card-1", 3, round(AT + 0.123, 3), 1500)


@pytest.mark.parametrize("grade,value", [("again", 1), ("hard", 2), ("good", 3), ("easy", 4),
                                         (1, 1), (2, 2), (3, 3), (4, 4)])
def test_grades_by_name_or_number(grade: Any, value: int) -> None:
    assert parse_mark(raw(grade=grade)).grade == value


@pytest.mark.parametrize("changes", [
    {"grade": 0}, {"grade": 5}, {"grade": True}, {"grade": 3.0}, {"grade": "perfect"}, {"grade": "Good"},
    {"grade": None}, {"grade": ...},
    {"id": "mark-01"}, {"id": "m" * 65}, {"id": "mark_0001"}, {"id": "../../x-y"}, {"id": 12345678}, {"id": ...},
    {"reviewed_at": 0}, {"reviewed_at": -1.0}, {"reviewed_at": True}, {"reviewed_at": str(AT)},
    {"reviewed_at": float("nan")}, {"reviewed_at": float("inf")}, {"reviewed_at": None},
    {"card_id": ""}, {"card_id": "c" * 65}, {"card_id": 7}, {"card_id": ...},
], ids=lambda c: ",".join(f"{k}={v!r}"[:24] for k, v in c.items()))
def test_malformed_marks_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ReviewError) as refused:
        parse_mark(raw(**changes))
    assert str(refused.value) == MALFORMED


@pytest.mark.parametrize("value", [None, "mark", ["mark-0001", "card-1", 3, AT], 7])
def test_anything_but_an_object_is_refused(value: Any) -> None:
    with pytest.raises(ReviewError, match="not in the expected form"):
        parse_mark(value)


def test_the_edges_that_are_still_taken() -> None:
    assert parse_mark(raw(id="m" * 8)).mark_id == "m" * 8
    assert parse_mark(raw(id="A-" * 32)).mark_id == "A-" * 32
    assert parse_mark(raw(card_id="c" * 64)).card_id == "c" * 64
    assert parse_mark(raw(card_id="c")).card_id == "c"
    assert parse_mark(raw(reviewed_at=0.5)).reviewed_at == 0.5
    assert parse_mark(raw(reviewed_at=1_767_600_000)).reviewed_at == AT


@pytest.mark.parametrize("duration,kept", [
    (..., 0), (0, 0), (1500, 1500), (1500.9, 1500), (-5, 0), (3_600_000, 3_600_000), (3_600_001, 3_600_000),
    (10**12, 3_600_000), (True, 0), ("1500", 0), (None, 0), (float("nan"), 0), (float("inf"), 0),
])
def test_the_time_spent_is_kept_within_an_hour(duration: Any, kept: int) -> None:
    assert parse_mark(raw(duration_ms=duration)).duration_ms == kept


def test_an_older_device_names_the_card_by_result_and_index() -> None:
    legacy = raw(card_id=..., artifact_id="artifact-1", card_index=2)
    assert parse_mark(legacy).card_id == generated_card_id("artifact-1", 2)
    assert parse_mark(raw(card_id=..., artifact_id="artifact-1", card_index=0)).card_id == \
        generated_card_id("artifact-1", 0)
    # A device that sends both is a new one: its card id wins.
    assert parse_mark(raw(artifact_id="artifact-1", card_index=2)).card_id == "card-1"


@pytest.mark.parametrize("changes", [
    {"card_index": -1}, {"card_index": True}, {"card_index": "2"}, {"card_index": 2.0}, {"card_index": ...},
    {"artifact_id": 5}, {"artifact_id": None},
])
def test_an_older_mark_with_a_bad_card_reference_is_refused(changes: dict[str, Any]) -> None:
    legacy = raw(card_id=..., artifact_id="artifact-1", card_index=2)
    legacy.update(changes)
    with pytest.raises(ReviewError) as refused:
        parse_mark({k: v for k, v in legacy.items() if v is not ...})
    assert str(refused.value) == MALFORMED
