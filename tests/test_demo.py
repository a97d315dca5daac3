"""The demo runs the real registry path end to end and leaves a consistent registry behind."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from socialcredit import demo
from socialcredit.registry import marks, subjects
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.ledger import Ledger


@pytest.mark.parametrize(
    ("seed", "people", "organisations"), [(1, 400, 40), (2, 400, 40), (3, 400, 40), (7, 3000, 200)]
)
def test_demo_fills_a_registry_through_due_process(
    tmp_path: Path, seed: int, people: int, organisations: int
) -> None:
    """(7, 3000) is `make demo`'s city: a repair its authority could not decide (the record's
    effect ended between the application and the decision) once stopped it."""
    shown = io.StringIO()
    result = demo.run(
        tmp_path, people=people, organisations=organisations, seed=seed,
        console=Console(file=shown, width=120),
    )  # fmt: skip
    assert "unified-score" in shown.getvalue() and "refused" in shown.getvalue()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == result.summary
    assert summary["records"] > 200 and summary["audit_chain_intact"]
    assert summary["due_process"]["objections_filed"] > 0
    assert summary["lists"].get("court.judgment_debtor", 0) > 0
    assert summary["synthetic"] == demo.SYNTHETIC_NOTE and "Synthetic data" in shown.getvalue()
    # the projection the demo left behind agrees with evaluate for the sample subject
    loaded = registry_catalog()
    with Ledger.open(f"sqlite:///{result.db}") as ledger:
        today = date.fromisoformat(summary["as_of"])
        profile = evaluate(
            ledger.facts(result.sample_person), loaded, today, subject=result.sample_person
        )
        assert {m.measure for m in profile.measures} == {
            m.measure for m in ledger.active_measures(result.sample_person, on=today)
        }
        # marked synthetic in the database itself, for any server opened on it later
        assert marks.synthetic_note(ledger) == demo.SYNTHETIC_NOTE
        # and no identifier in it can be a real one: each carries the retired county's code
        people = [s for s in ledger.subjects() if subjects.validate(s)[1] == "person"]
        orgs = [s for s in ledger.subjects() if subjects.validate(s)[1] == "organisation"]
        assert len(people) > 100 and len(orgs) > 20
        assert {p[:6] for p in people} == {str(demo.RETIRED_COUNTY)}
        assert {o[2:8] for o in orgs} == {str(demo.RETIRED_COUNTY)}


def test_the_demo_county_code_was_withdrawn_before_any_id_card_was_issued() -> None:
    """python-stdnum's table of GB/T 2260 codes (each place with the years its code was in
    force): the demo's code ends before 1984, the year the first cards were issued, and no
    other place has had it since. A resident ID with it validates only for births while it
    was in force, which is why every demo resident is born by 1981."""
    from stdnum import numdb
    from stdnum.cn import ric

    from socialcredit.identifiers import resident_id

    code = str(demo.RETIRED_COUNTY)
    places = [props for _part, props in numdb.get("cn/loc").info(code) if "county" in props]
    assert places, code
    spans = places[-1]["county"].split(",")
    for span in spans:
        start_end = span[1 : span.index("]")]
        assert span.startswith("[") and start_end.split("-")[1], span  # it has an end
        assert int(start_end.split("-")[1]) < 1984, span
    assert ric.is_valid(resident_id(demo.RETIRED_COUNTY, demo.BORN_UNTIL, 1))
    assert not ric.is_valid(resident_id(demo.RETIRED_COUNTY, date(1982, 1, 1), 1))
    assert demo.BORN_UNTIL.year < 1984


def test_make_demo_writes_the_report_and_the_registry_with_logins(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "socialcredit", "demo", "--population", "2000", "--seeds", "1",
         "--people", "200", "--no-serve", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text()
    for run in ("law-bound", "pilot-2018", "unified-score", "sesame", "jinan-licence"):
        assert run in page
    # every regime over one world, paired by seed against the law as written
    assert "Against the law-bound baseline, paired by seed" in page
    assert "unified-score minus law-bound" in page
    paired = (out / "study" / "paired.csv").read_text().splitlines()
    assert paired[0].startswith("run,baseline,figure") and len(paired) > 10
    logins = (out / "logins.txt").read_text().splitlines()
    assert {line.split(":")[0] for line in logins} >= {"authority court", "admin"}
    with Ledger.open(f"sqlite:///{out / 'registry.db'}") as ledger:
        token = logins[0].split(": ", 1)[1]
        key = ledger.key_for(token)
        assert key is not None and key.role == "subject"
