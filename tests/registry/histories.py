"""Shared test data for evaluation: a small catalog and random histories (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import strategies as st

from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

CATALOG = Path(__file__).with_name("eval_catalog.toml")
PERSON = "34052419800101001X"
ORG = "91110000600037341L"
START = date(2018, 1, 1)


def rec(rid: str, rtype: str, on: date, *, subject: str = PERSON, **kw: str) -> Record:
    authority = {"court": "court", "city": "city", "dog": "city", "samr": "samr"}[
        rtype.split(".")[0]
    ]
    return Record(rid, subject, rtype, authority, on, **kw)


TYPES = ["court.refuse", "city.late_fee", "city.volunteer", "dog.leash"]
EVENTS = list(EventKind)


@st.composite
def histories(draw: st.DrawFn) -> list[Fact]:
    n = draw(st.integers(0, 7))
    facts: list[Fact] = []
    if draw(st.booleans()):
        facts.append(rec("role", "samr.legal_rep", START, counterpart=ORG))
    for i in range(n):
        subject = draw(st.sampled_from([PERSON, PERSON, ORG]))
        rtype = "court.refuse" if subject == ORG else draw(st.sampled_from(TYPES))
        day = START + timedelta(days=draw(st.integers(0, 1500)))
        facts.append(rec(f"r{i}", rtype, day, subject=subject))
        for j in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(EVENTS))
            on = day + timedelta(days=draw(st.integers(0, 900)))
            facts.append(LifecycleEvent(f"r{i}", kind, on, note=str(j)))
    return facts
