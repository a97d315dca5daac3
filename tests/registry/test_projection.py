"""The check path's projection always equals what ``evaluate`` says, after bulk imports that
add new subjects, add records to known ones, and list an organisation whose legal
representative is a known person."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from histories import CATALOG

from socialcredit.identifiers import organisation_code, resident_id
from socialcredit.policy.loader import Loaded, load
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.importing import import_file
from socialcredit.registry.ledger import Ledger

AS_OF = date(2021, 6, 1)
TYPES = [
    ("court.refuse", "court"),
    ("city.late_fee", "city"),
    ("city.volunteer", "city"),
    ("dog.leash", "city"),
]


@pytest.fixture(scope="module")
def cat() -> Loaded:
    return load(CATALOG)


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def line(
    subject: str, rtype: str, authority: str, on: date, key: str, **extra: str
) -> dict[str, str]:
    return {
        "subject": subject,
        "record_type": rtype,
        "authority": authority,
        "decided_on": on.isoformat(),
        "decision_ref": key,
        "client_key": key,
        **extra,
    }


def snapshot(
    ledger: Ledger, cat: Loaded, subject: str
) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    projected = {
        (m.measure, m.list, m.memorandum, m.since, m.until) for m in ledger.active_measures(subject)
    }
    expected = {
        (a.measure, a.list, a.memorandum, a.since, a.until)
        for a in evaluate(ledger.facts(subject), cat, AS_OF, subject=subject).measures
    }
    return projected, expected


def test_projection_equals_evaluate_across_imports(tmp_path: Path, cat: Loaded) -> None:
    rnd = random.Random(3)
    people = [resident_id(110101, date(1980, 1, 1) + timedelta(days=i), i) for i in range(120)]
    org = organisation_code(110000, 4242)
    first = [
        line(p, *rnd.choice(TYPES), AS_OF - timedelta(days=rnd.randrange(1, 700)), f"a{i}-{j}")
        for i, p in enumerate(people[:80])
        for j in range(rnd.randrange(1, 4))
    ]
    first.append(
        line(people[0], "samr.legal_rep", "samr", date(2019, 1, 1), "role", counterpart=org)
    )
    second = [
        line(p, *rnd.choice(TYPES), AS_OF - timedelta(days=rnd.randrange(1, 700)), f"b{i}")
        for i, p in enumerate(people[40:])
    ]
    second.append(line(org, "court.refuse", "court", AS_OF - timedelta(days=20), "org-listed"))
    with Ledger.open(f"sqlite:///{tmp_path / 'r.db'}") as ledger:
        ledger.init()
        import_file(ledger, write(tmp_path / "1.jsonl", first), catalog=cat, as_of=AS_OF)
        import_file(ledger, write(tmp_path / "2.jsonl", second), catalog=cat, as_of=AS_OF)
        restricted = 0
        for subject in [*people, org]:
            projected, expected = snapshot(ledger, cat, subject)
            assert projected == expected, subject
            restricted += bool(expected)
        # the legal representative is reached by the company's listing, through the projection
        assert any(m.measure == "restrict.flight" for m in ledger.active_measures(people[0]))
        assert restricted > 10
