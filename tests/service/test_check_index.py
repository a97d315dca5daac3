"""The in-memory check index answers as the reference does: for every subject of a synthetic
city (records of every bundled catalog, objections, payments, repairs, company roles), the
point lookup gives the same decision and end date as ``check(evaluate(...))``."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from rich.console import Console

from socialcredit import demo
from socialcredit.policy.loader import Loaded
from socialcredit.registry.evaluate import check, evaluate
from socialcredit.registry.ledger import Ledger
from socialcredit.service.state import CheckIndex


def test_the_check_index_agrees_with_evaluate(tmp_path: Path, service_catalog: Loaded) -> None:
    today = date(2026, 6, 1)
    result = demo.run(
        tmp_path, people=300, organisations=30, seed=4, today=today,
        console=Console(file=io.StringIO()),
    )  # fmt: skip
    measures = sorted(service_catalog.index.measures)
    with Ledger.open(f"sqlite:///{result.db}") as ledger:
        index = CheckIndex(ledger, service_catalog)
        index.load()
        denied = 0
        for subject in ledger.subjects():
            profile = evaluate(ledger.facts(subject), service_catalog, today, subject=subject)
            for measure in measures:
                want = check(profile, measure, service_catalog)
                got = index.decide(subject, measure, today)
                assert got["decision"] == want.decision, (subject, measure)
                expected_until = want.until.isoformat() if want.until else None
                assert got["until"] == expected_until, (subject, measure)
                denied += want.decision == "deny" and measure == "restrict.flight"
    assert denied > 5


def test_public_lists_filtered_by_list_or_id_match_the_unfiltered_list(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    """The filters pick candidates from the index before evaluating anyone: they must give
    exactly what filtering the whole published list gives."""
    from socialcredit.service.registry import Registry

    today = date(2026, 6, 1)
    result = demo.run(
        tmp_path, people=300, organisations=30, seed=5, today=today,
        console=Console(file=io.StringIO()),
    )  # fmt: skip
    with Ledger.open(f"sqlite:///{result.db}") as ledger:
        reg = Registry(ledger, service_catalog, today=lambda: today)
        reg.checks.load()
        everything = reg.public_entries(q=None, list_id=None, limit=100_000)
        lists = {e["list"] for e in everything}
        assert len(everything) > 5 and len(lists) >= 2
        for list_id in sorted(lists):
            got = reg.public_entries(q=None, list_id=list_id, limit=100_000)
            assert got == [e for e in everything if e["list"] == list_id]
        prefix = everything[0]["subject"][:8]
        got = reg.public_entries(q=prefix.lower(), list_id=None, limit=100_000)
        assert got == [e for e in everything if e["subject"].startswith(prefix)]
        assert reg.public_entries(q=None, list_id="no.such.list", limit=10) == []
