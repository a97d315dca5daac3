"""The compiled batch evaluation gives the reference ``evaluate``'s answers (differential test)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from histories import CATALOG, ORG, PERSON, START, histories, rec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.policy.loader import Loaded, load
from socialcredit.registry.batch import columns_from_facts, evaluate_columns
from socialcredit.registry.evaluate import Profile, evaluate
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record


@pytest.fixture(scope="module")
def cat() -> Loaded:
    return load(CATALOG)


def reference_view(p: Profile) -> dict[str, object]:
    return {
        "schemes": {s.scheme: (s.score, s.grade, s.exhausted) for s in p.schemes.values()},
        "lists": sorted((m.list, m.since, m.until) for m in p.lists),
        "measures": sorted(
            ((a.measure, a.list, a.memorandum, a.scheme, a.until, a.order) for a in p.measures),
            key=repr,
        ),
    }


def own_facts(facts: list[Fact], subject: str) -> list[Fact]:
    ids = {f.id for f in facts if isinstance(f, Record) and f.subject == subject}
    return [
        f
        for f in facts
        if (f.id if isinstance(f, Record) else f.record_id) in ids
        and not (isinstance(f, Record) and f.record_type == "samr.legal_rep")
    ]


def test_batch_matches_reference_on_an_example(cat: Loaded) -> None:
    facts: list[Fact] = [
        rec("1", "court.refuse", date(2020, 1, 1)),
        rec("2", "dog.leash", date(2020, 2, 1)),
        rec("3", "dog.leash", date(2020, 3, 1)),
        rec("4", "dog.leash", date(2020, 4, 1)),
        rec("5", "city.late_fee", date(2020, 4, 1)),
        LifecycleEvent("5", EventKind.repair_granted, date(2020, 9, 1)),
    ]
    as_of = date(2020, 7, 1)
    result = evaluate_columns(columns_from_facts([facts], cat), cat, as_of)
    assert result.view(0) == reference_view(evaluate(facts, cat, as_of, subject=PERSON))
    assert result.view(0)["lists"]  # the example does list someone


def test_role_holders_are_left_to_the_reference(cat: Loaded) -> None:
    facts: list[Fact] = [rec("r", "samr.legal_rep", START, counterpart=ORG)]
    result = evaluate_columns(columns_from_facts([facts, []], cat), cat, date(2020, 1, 1))
    assert result.needs_reference.tolist() == [True, False]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(histories(), min_size=1, max_size=6), st.integers(0, 3000))
def test_batch_equals_reference_on_random_histories(
    cat: Loaded, many: list[list[Fact]], offset: int
) -> None:
    as_of = START + timedelta(days=offset)
    own = [own_facts(facts, PERSON) for facts in many]
    # each history gets its own ids so subjects do not share records
    renamed: list[list[Fact]] = []
    for i, facts in enumerate(own):
        out: list[Fact] = []
        for f in facts:
            if isinstance(f, Record):
                out.append(
                    Record(f"{i}-{f.id}", f.subject, f.record_type, f.authority, f.decided_on)
                )
            else:
                out.append(LifecycleEvent(f"{i}-{f.record_id}", f.kind, f.on, f.actor, f.note))
        renamed.append(out)
    result = evaluate_columns(columns_from_facts(renamed, cat), cat, as_of)
    for i, facts in enumerate(renamed):
        expected = reference_view(evaluate(facts, cat, as_of, subject=PERSON))
        got = result.view(i)
        assert got["lists"] == expected["lists"]
        assert got["measures"] == expected["measures"]
        assert got["schemes"].keys() == expected["schemes"].keys()  # type: ignore[attr-defined]
        for key, (score, grade, exhausted) in got["schemes"].items():  # type: ignore[attr-defined]
            ref_score, ref_grade, ref_exhausted = expected["schemes"][key]  # type: ignore[index]
            assert score == pytest.approx(ref_score, abs=1e-6)
            assert (grade, exhausted) == (ref_grade, ref_exhausted)
