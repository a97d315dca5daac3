"""Random valid catalogs over every feature the rulebook runs, and random histories for them.

``catalogs()`` draws a catalog as raw TOML-like data (record types with publication windows and
repair, points/licence/weighted schemes with escalating rules, bands and perks, licences renewed
by a course, lists entered by records with ``min_count``/``within``/durations, terms with
extensions and exclusions and every way off, lists entered by every score condition, memoranda
with reach to legal roles, direct orders with their ways off and reach to legal roles, releases
of a role holder). ``histories(raw)`` draws records
of its types and lifecycle events of every kind. Shared by the registry's and the simulator's
equality tests; ``catalogs(runs=...)`` draws only the features of :data:`LAW` a driver runs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from socialcredit.policy.schema import Exclusion
from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record
from socialcredit.rules import FILING_ONLY, FOLDED_TOO, THROUGH_ROLES

PERSON = "34052419800101001X"
START = date(2018, 1, 1)
WAYS_OFF = ["fulfilment", "repair", "expiry", "creditor_request", "objection", "score_recovery"]
LEGAL_ROLES = ["legal_representative", "responsible_person", "actual_controller"]
NATURES = ["violation", "default", "lawful"]
ORDER_WAYS = ["fulfilment", "repair", "expiry", "creditor_request", "objection"]
LAW = FOLDED_TOO | FILING_ONLY | THROUGH_ROLES
"""The features of the law as written (extensions, direct orders, renewal by a course,
exclusions, an order's reach to legal roles and releases from it), drawn only for a driver
that runs them."""
RELEASE_TYPES = ["rel_applied", "rel_granted", "rel_refused"]
"""The steps of a drawn release: records about a role holder naming the organisation."""


def _points(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"points": float(draw(st.integers(-60, 30)))}
    values = draw(st.lists(st.integers(-60, 30), min_size=1, max_size=4))
    return {"by_occurrence": [float(v) for v in values]}


@st.composite
def catalogs(draw: st.DrawFn, runs: frozenset[str] | None = None) -> dict[str, Any]:
    law = LAW if runs is None else LAW & runs

    def maybe(feature: str) -> bool:
        return feature in law and draw(st.booleans())

    n_types = draw(st.integers(1, 5))
    types = [f"t{i}" for i in range(n_types)]
    record_types = []
    for code in types:
        max_months = draw(st.one_of(st.none(), st.integers(1, 60)))
        min_months = draw(st.integers(0, max_months if max_months is not None else 24))
        publication: dict[str, Any] = {"min_months": min_months}
        if max_months is not None:
            publication["max_months"] = max_months
        if draw(st.booleans()):
            publication["effect_months"] = draw(st.integers(1, 60))
        elif max_months is None and draw(st.booleans()):
            publication["after_performance_months"] = draw(st.integers(0, 24))
        record_types.append(
            {
                "code": code,
                "title": code,
                "domain": "d",
                "severity": "general",
                "nature": draw(st.sampled_from(NATURES)),
                "issuers": ["a"],
                "repairable": draw(st.booleans()),
                "publication": publication,
            }
        )
    schemes = []
    for si in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["points", "licence", "weighted"]))
        scheme: dict[str, Any] = {"id": f"s{si}", "title": f"s{si}", "kind": kind}
        rule_types = draw(st.lists(st.sampled_from(types), min_size=1, max_size=4))
        rules = [{"record_type": t, **_points(draw)} for t in rule_types]
        if kind == "points":
            base = float(draw(st.integers(0, 200)))
            scheme |= {"base": base, "floor": base - 150, "ceiling": base + 100, "rules": rules}
            lo, hi = base - 150, base + 100
        elif kind == "licence":
            points = float(draw(st.integers(1, 20)))
            scheme |= {"points": points, "period_months": draw(st.integers(1, 36))}
            scheme["rules"] = rules
            if maybe("scheme.renewal"):
                scheme["renewed_by"] = draw(st.lists(st.sampled_from(types), min_size=1,
                                                     max_size=2, unique=True))  # fmt: skip
            lo, hi = 0.0, points
        else:
            dims = []
            for di in range(draw(st.integers(1, 3))):
                mine = [r for j, r in enumerate(rules) if j % (di + 1) == 0]
                dims.append(
                    {
                        "id": f"dim{di}",
                        "title": f"dim{di}",
                        "weight": float(draw(st.integers(1, 40))),
                        "domain": "d",
                        "base": float(draw(st.integers(0, 100))),
                        "rules": mine,
                    }
                )
            scheme |= {"low": 350.0, "high": 950.0, "dimensions": dims}
            lo, hi = 350.0, 950.0
        cuts = sorted(set(draw(st.lists(st.integers(int(lo), int(hi)), max_size=3))))
        scheme["bands"] = [{"grade": f"g{i}", "min": float(c)} for i, c in enumerate(cuts)]
        if draw(st.booleans()):
            scheme["perks"] = [{"at_least": float(draw(st.integers(int(lo), int(hi)))),
                                "measures": ["m_perk"]}]  # fmt: skip
        schemes.append(scheme)
    lists = []
    for li in range(draw(st.integers(0, 4))):
        entry: dict[str, Any]
        scored = [s for s in schemes if s["kind"] != "licence" or True]
        if scored and draw(st.booleans()):
            s = draw(st.sampled_from(scored))
            conditions = ["score_below", "score_at_least"]
            if s["bands"]:
                conditions.append("grades")
            if s["kind"] == "licence":
                conditions.append("exhausted")
            cond = draw(st.sampled_from(conditions))
            entry = {"scheme": s["id"]}
            if cond == "grades":
                entry["grades"] = draw(
                    st.lists(st.sampled_from([b["grade"] for b in s["bands"]]), min_size=1)
                )
            elif cond == "exhausted":
                entry["exhausted"] = True
            else:
                span = (0, 20) if s["kind"] == "licence" else (0, 1000)
                entry[cond] = float(draw(st.integers(*span)))
        else:
            entry = {
                "record_types": draw(st.lists(st.sampled_from(types), min_size=1, max_size=3)),
                "min_count": draw(st.integers(1, 3)),
            }
            if draw(st.booleans()):
                entry["within_months"] = draw(st.integers(1, 36))
        ways = WAYS_OFF + (["course_passed"] if "way_off.course_passed" in law else [])
        lst: dict[str, Any] = {
            "id": f"l{li}",
            "title": f"l{li}",
            "kind": "blacklist",
            "entry": entry,
            "removal": draw(st.lists(st.sampled_from(ways), unique=True)),
        }
        if "record_types" in entry and draw(st.booleans()):
            codes = sorted(set(entry["record_types"]))
            termed = draw(st.lists(st.sampled_from(codes), unique=True, min_size=1))
            terms = []
            for code in termed:
                term: dict[str, Any] = {
                    "record_types": [code],
                    "duration_months": draw(st.one_of(st.none(), st.integers(1, 60))),
                    "removal": draw(st.lists(st.sampled_from(WAYS_OFF), unique=True)),
                }
                others = [t for t in types if t != code]
                if term["duration_months"] is not None and others and maybe("list.extension"):
                    extending = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
                    term["extensions"] = [{"record_type": t, "months": draw(st.integers(1, 36))}
                                          for t in extending]  # fmt: skip
                if maybe("exclusion.security_given"):
                    term["excludes"] = draw(st.lists(st.sampled_from(list(Exclusion)),
                                                     unique=True))  # fmt: skip
                terms.append(term)
            lst["terms"] = terms
        if draw(st.booleans()):
            lst["duration_months"] = draw(st.integers(1, 60))
        lists.append(lst)
    measures = [
        {"id": "m_r", "title": "m_r", "kind": "restriction", "domain": "d"},
        {"id": "m_i", "title": "m_i", "kind": "incentive", "domain": "d"},
        {"id": "m_perk", "title": "m_perk", "kind": "incentive", "domain": "d"},
    ]
    memoranda = []
    for mi, lst in enumerate(lists):
        if draw(st.booleans()):
            memoranda.append(
                {
                    "id": f"memo{mi}",
                    "title": f"memo{mi}",
                    "lists": [lst["id"]],
                    "measures": draw(
                        st.lists(st.sampled_from(["m_r", "m_i"]), min_size=1, unique=True)
                    ),  # fmt: skip
                    "extends_to": draw(st.lists(st.sampled_from(LEGAL_ROLES), unique=True)),
                }
            )
    orders = []
    for oi in range(draw(st.integers(0, 2)) if "order.direct" in law else 0):
        order: dict[str, Any] = {
            "id": f"o{oi}",
            "title": f"o{oi}",
            "record_types": draw(st.lists(st.sampled_from(types), min_size=1, max_size=3)),
            "measures": draw(st.lists(st.sampled_from(["m_r", "m_i"]), min_size=1, unique=True)),
            "removal": draw(st.lists(st.sampled_from(ORDER_WAYS), unique=True)),
        }
        if draw(st.booleans()):
            order["duration_months"] = draw(st.integers(1, 60))
        if maybe("order.reach.legal_representative"):
            order["extends_to"] = draw(st.lists(st.sampled_from(LEGAL_ROLES), min_size=1,
                                                unique=True))  # fmt: skip
        orders.append(order)
    releases = []
    lifts = [m["id"] for m in memoranda] + [o["id"] for o in orders]
    if lifts and maybe("release.legal_representative"):
        for code in RELEASE_TYPES:
            record_types.append({"code": code, "title": code, "domain": "d", "nature": "role",
                                 "severity": "minor", "issuers": ["a"], "repairable": False,
                                 "subject_kinds": ["person"],
                                 "publication": {"published": False, "max_months": 0,
                                                 "effect_months": 60}})  # fmt: skip
        releases.append(
            {
                "id": "rel",
                "title": "rel",
                "authority": "a",
                "roles": draw(st.lists(st.sampled_from(LEGAL_ROLES), min_size=1, unique=True)),
                "lifts": draw(st.lists(st.sampled_from(lifts), min_size=1, unique=True)),
                "applications": ["rel_applied"],
                "record_types": ["rel_granted"],
                "refusals": ["rel_refused"],
                "decide_days": draw(st.integers(1, 30)),
            }
        )
    return {
        "catalog": {"id": "random", "title": "random", "version": "1"},
        "authorities": [{"id": "a", "title": "a"}],
        "domains": [{"id": "d", "title": "d", "category": "judicial"}],
        "record_types": record_types,
        "schemes": schemes,
        "lists": lists,
        "measures": measures,
        "memoranda": memoranda,
        "orders": orders,
        "releases": releases,
    }


@st.composite
def histories(draw: st.DrawFn, raw: dict[str, Any], prefix: str = "") -> list[Fact]:
    """One subject's records of ``raw``'s types, and lifecycle events of every kind."""
    types = [rt["code"] for rt in raw["record_types"]]
    facts: list[Fact] = []
    for i in range(draw(st.integers(0, 8))):
        day = START + timedelta(days=draw(st.integers(0, 1500)))
        rid = f"{prefix}r{i}"
        facts.append(Record(rid, PERSON, draw(st.sampled_from(types)), "a", day))
        for j in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(list(EventKind)))
            on = day + timedelta(days=draw(st.integers(0, 900)))
            facts.append(LifecycleEvent(rid, kind, on, note=str(j)))
    return facts
