"""The court list's engine runs one list entered by one record; a catalog asking more of it
is refused by name before anything runs, never approximated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.policy.loader import bundled_paths
from socialcredit.rules import Unsupported
from socialcredit.sim.regime import load_regime

REGIME = """name = "court-variant"
catalogs = ["court.toml"]
record_type = "court.dishonest_debtor.refuse_to_perform"
list = "court.judgment_debtor"
flight_measure = "restrict.flight"
train_measure = "restrict.g_train"
"""


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = bundled_paths()["court-dishonest-debtors"].read_text()
    assert old in text
    (tmp_path / "court.toml").write_text(text.replace(old, new, 1))
    path = tmp_path / "regime.toml"
    path.write_text(REGIME)  # the catalog's path is relative to the regime file
    return path


def test_the_bundled_court_list_runs_the_term_of_its_ground() -> None:
    """Art. 1(1): no fixed term, ended by performance; no repair as a way off."""
    regime = load_regime("law-bound")
    assert regime.list_months is None and regime.effect_months is None
    assert regime.fulfilment_ends_listing and regime.repair_months is None


@pytest.mark.parametrize(
    ("old", "new", "feature"),
    [
        ('"court.dishonest_debtor.refuse_settlement",\n] }',
         '"court.dishonest_debtor.refuse_settlement",\n], min_count = 2 }', "list.min_count"),
        ('"court.dishonest_debtor.refuse_settlement",\n] }',
         '"court.dishonest_debtor.refuse_settlement",\n], within_months = 12 }', "list.within"),
    ],
)  # fmt: skip
def test_a_list_feature_the_engine_lacks_is_refused(
    tmp_path: Path, old: str, new: str, feature: str
) -> None:
    with pytest.raises(Unsupported) as caught:
        load_regime(variant(tmp_path, old, new))
    assert caught.value.feature.name == feature
    assert caught.value.feature.item == "list court.judgment_debtor"


def test_a_score_counting_the_record_is_refused(tmp_path: Path) -> None:
    scheme = """
[[schemes]]
kind = "points"
id = "court.score"
title = "A score of debtors"
legal_basis = "test"
base = 100
floor = 0
ceiling = 100
rules = [{ record_type = "court.dishonest_debtor.refuse_to_perform", points = -50 }]

[[lists]]"""
    with pytest.raises(Unsupported) as caught:
        load_regime(variant(tmp_path, "\n[[lists]]", scheme))
    assert caught.value.feature.name == "scheme.points"


def test_simulate_says_which_feature_and_exits_2(tmp_path: Path) -> None:
    regime = variant(tmp_path, '"court.dishonest_debtor.refuse_settlement",\n] }',
                     '"court.dishonest_debtor.refuse_settlement",\n], min_count = 2 }')  # fmt: skip
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "socialcredit", "simulate", "--scenario", "national-2013",
         "--regime", str(regime), "--population", "1000", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "list.min_count" in done.stderr and "court.judgment_debtor" in done.stderr
    assert not out.exists()
