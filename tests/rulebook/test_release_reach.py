"""What reaches a role holder on random catalogs: an order's reach is the reference's reach of
the organisation's own measures by role, and a release's grant ends, from its date, exactly what
its memoranda and orders reach the holder with through its roles in that organisation (the
batch path hands every role holder to the reference, so these properties are the reference's;
``measures_in_force`` is checked to give them too)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from random_catalogs import LEGAL_ROLES, START, catalogs, histories

from socialcredit.policy.loader import CatalogIndex, parse
from socialcredit.registry.batch import measures_in_force
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import Fact, Record

ORG = "91110000600037341L"
OFFICER = "11010519491231002X"


def with_roles(raw: dict[str, Any]) -> dict[str, Any]:
    roles = [{"code": f"role_{r}", "title": r, "domain": "d", "nature": "role", "role": r,
              "severity": "minor", "issuers": ["a"], "repairable": False,
              "subject_kinds": ["person"],
              "publication": {"published": False, "max_months": 0, "effect_months": 60}}
             for r in LEGAL_ROLES]  # fmt: skip
    return {**raw, "record_types": [*raw["record_types"], *roles]}


def reached(facts: list[Fact], index: CatalogIndex, on: date) -> set[tuple[Any, ...]]:
    profile = evaluate(facts, index, on, subject=OFFICER)
    return {(a.measure, a.memorandum, a.order, a.via_role, a.since, a.until)
            for a in profile.measures if a.via_subject == ORG}  # fmt: skip


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.data())
def test_a_grant_ends_exactly_what_its_release_lifts_from_its_date(data: st.DataObject) -> None:
    raw = with_roles(data.draw(catalogs()))
    index = CatalogIndex(parse(raw))
    assume(index.releases)
    own = [
        f
        for f in data.draw(histories(raw, prefix="org-"))
        if not isinstance(f, Record) or not f.record_type.startswith(("role_", "rel_"))
    ]
    org_facts: list[Fact] = [
        Record(f.id, ORG, f.record_type, f.authority, f.decided_on) if isinstance(f, Record)
        else f for f in own
    ]  # fmt: skip
    held = data.draw(st.lists(st.sampled_from(LEGAL_ROLES), min_size=1, unique=True))
    roles: list[Fact] = [Record(f"role-{r}", OFFICER, f"role_{r}", "a", START, counterpart=ORG)
                         for r in held]  # fmt: skip
    facts = [*org_facts, *roles]
    on = START + timedelta(days=data.draw(st.integers(0, 2400)))
    before = reached(facts, index, on)
    assume(before)
    # the organisation's own measures reach the officer only through a role it extends to
    for _measure, memo, order, role, _since, _until in before:
        item = index.memoranda[memo] if memo else index.orders[order]
        assert role in held and role in {r.value for r in item.extends_to}
    release = index.releases["rel"]
    granted_on = START + timedelta(days=data.draw(st.integers(0, 2400)))
    grant = Record("grant", OFFICER, "rel_granted", "a", granted_on, counterpart=ORG)
    after = reached([*facts, grant], index, on)
    lifts = set(release.lifts)
    roles_released = {r.value for r in release.roles}

    def lifted(row: tuple[Any, ...]) -> bool:
        return (row[1] or row[2]) in lifts and row[3] in roles_released

    if on < granted_on:  # not decided yet on that day
        assert after == before
    else:
        assert after == {r for r in before if not lifted(r)}
        assert any(lifted(r) for r in before) or after == before
    # the check path's projection (the batch driver) gives the holder the same measures
    rows = measures_in_force({OFFICER: [*facts, grant]}, index, on)[OFFICER]
    assert {(m.measure, m.until) for m in rows} == {
        (a.measure, a.until) for a in evaluate([*facts, grant], index, on, subject=OFFICER).measures
    }
