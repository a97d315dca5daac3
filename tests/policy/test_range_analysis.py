"""The checker's range analysis (:func:`socialcredit.policy.checker.reach.span`) against
evaluation itself: SC014, SC017 and SC018 rest on it, so it must never claim a score cannot be
reached when evaluation reaches it, and its base score must be the rulebook's score of a
subject with no records.

Random catalogs and histories are the rulebook's own generators (``tests/rulebook``), so the
analysis is held to every scheme feature evaluation runs.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.policy.checker._base import Context
from socialcredit.policy.checker.reach import span
from socialcredit.policy.findings import Profile
from socialcredit.policy.loader import Loaded, bundled_paths, load, parse
from socialcredit.registry.evaluate import evaluate
from socialcredit.registry.model import Record
from socialcredit.rules import compile_catalog
from socialcredit.rules.fold import score_at
from socialcredit.rules.tables import Records


def _generators() -> Any:
    path = Path(__file__).parents[1] / "rulebook" / "random_catalogs.py"
    if "random_catalogs" not in sys.modules:
        spec = importlib.util.spec_from_file_location("random_catalogs", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["random_catalogs"] = module
        spec.loader.exec_module(module)
    return sys.modules["random_catalogs"]


GEN = _generators()
DAYS = [GEN.START + timedelta(days=d) for d in (0, 400, 1500, 3000)]


def context(loaded: Loaded) -> Context:
    return Context(loaded, Profile.cn_2021)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_evaluated_scores_stay_within_the_span(data: st.DataObject) -> None:
    raw: dict[str, Any] = data.draw(GEN.catalogs())
    loaded = Loaded(catalog=parse(raw), files=(), origin={})
    ctx = context(loaded)
    spans = {s.id: span(ctx, s) for s in loaded.catalog.schemes}
    facts = data.draw(GEN.histories(raw))
    records = [f for f in facts if isinstance(f, Record)]
    if not records:
        return
    for as_of in DAYS:
        profile = evaluate(facts, loaded.index, as_of, subject=records[0].subject)
        for scheme_id, result in profile.schemes.items():
            s = spans[scheme_id]
            assert s.low - 1e-6 <= result.score <= s.high + 1e-6, (scheme_id, s, result.score)


def _no_records() -> Records:
    i32 = np.zeros(0, np.int32)
    return Records(i32, i32, np.zeros(0, np.bool_), i32, i32, i32, i32, i32)


@pytest.mark.parametrize("name", sorted(bundled_paths()))
def test_the_base_score_is_the_rulebooks_score_with_no_records(name: str) -> None:
    loaded = load(name)
    book = compile_catalog(loaded)
    ctx = context(loaded)
    day = (date(2024, 1, 1) - date(1970, 1, 1)).days
    for si, scheme_id in enumerate(book.scheme_ids):
        score, _ = score_at(book.schemes, book.rules, book.n_types, si, _no_records(), 0, 0, day)
        assert span(ctx, loaded.index.schemes[scheme_id]).base == pytest.approx(score)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_base_score_on_random_catalogs(data: st.DataObject) -> None:
    raw: dict[str, Any] = data.draw(GEN.catalogs())
    loaded = Loaded(catalog=parse(raw), files=(), origin={})
    book = compile_catalog(loaded.index)
    ctx = context(loaded)
    for si, scheme_id in enumerate(book.scheme_ids):
        score, _ = score_at(book.schemes, book.rules, book.n_types, si, _no_records(), 0, 0, 0)
        assert span(ctx, loaded.index.schemes[scheme_id]).base == pytest.approx(score)
