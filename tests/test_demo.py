"""The demo runs the real registry path end to end and leaves a consistent registry behind."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from socialcredit import demo
from socialcredit.registry.config import registry_catalog
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.ledger import Ledger


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_demo_fills_a_registry_through_due_process(tmp_path: Path, seed: int) -> None:
    shown = io.StringIO()
    result = demo.run(
        tmp_path, people=400, organisations=40, seed=seed, console=Console(file=shown, width=120)
    )
    assert "unified-score" in shown.getvalue() and "refused" in shown.getvalue()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == result.summary
    assert summary["records"] > 200 and summary["audit_chain_intact"]
    assert summary["due_process"]["objections_filed"] > 0
    assert summary["lists"].get("court.judgment_debtor", 0) > 0
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
    for run in ("law-bound", "pilot-2018", "unified-score", "sesame"):
        assert run in page
    assert "Calibration against the published figures" in page
    logins = (out / "logins.txt").read_text().splitlines()
    assert {line.split(":")[0] for line in logins} >= {"authority court", "admin"}
    with Ledger.open(f"sqlite:///{out / 'registry.db'}") as ledger:
        token = logins[0].split(": ", 1)[1]
        key = ledger.key_for(token)
        assert key is not None and key.role == "subject"
