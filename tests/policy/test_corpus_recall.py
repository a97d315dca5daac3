"""The checker's recall over a generated corpus of disguised catalogs (issue 13).

Every variant of :mod:`disguise_corpus` is checked under its profile; it counts as caught when
the checker finds an error, which is what makes the registry refuse it. The figures are written
in ``docs/guardrails.md`` ("Disguised catalogs"); this test computes them afresh and fails if
the document says otherwise, so that the published recall is always the measured one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from disguise_corpus import MODES, Variant, benign, corpus

from socialcredit.policy.checker import Profile, Severity, check_paths

DOC = Path(__file__).parents[2] / "docs" / "guardrails.md"


def refused(variant: Variant, root: Path) -> bool:
    folder = root / variant.name.replace("/", "_").replace(" ", "_")[:80]
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in variant.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    findings = check_paths([folder / variant.check], profile=Profile(variant.profile))
    assert "SC000" not in {f.code for f in findings}, (variant.name, [str(f) for f in findings])
    return any(f.severity is Severity.error for f in findings)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Variant, bool]]]:
    root = tmp_path_factory.mktemp("corpus")
    return {
        "abusive": [(v, refused(v, root / "a")) for v in corpus()],
        "benign": [(v, refused(v, root / "b")) for v in benign()],
    }


def test_the_corpus_covers_every_disguise(outcome: dict[str, list[tuple[Variant, bool]]]) -> None:
    modes = Counter(v.mode for v, _ in outcome["abusive"])
    assert set(modes) == set(MODES)
    assert len(outcome["abusive"]) >= 100


def test_recall_is_the_documented_one(outcome: dict[str, list[tuple[Variant, bool]]]) -> None:
    caught = [v for v, r in outcome["abusive"] if r]
    missed = [v.name for v, r in outcome["abusive"] if not r]
    total = len(outcome["abusive"])
    doc = DOC.read_text(encoding="utf-8")
    match = re.search(r"recall:\s+\*\*(\d+) of (\d+)\*\*", doc)
    assert match, "docs/guardrails.md states no recall"
    assert (int(match.group(1)), int(match.group(2))) == (len(caught), total), missed
    for mode in MODES:
        in_mode = [r for v, r in outcome["abusive"] if v.mode == mode]
        row = re.search(rf"\| {mode} \| (\d+) \| (\d+) \|", doc)
        assert row, mode
        assert (int(row.group(1)), int(row.group(2))) == (sum(in_mode), len(in_mode)), mode


def test_the_honest_counterparts_pass(outcome: dict[str, list[tuple[Variant, bool]]]) -> None:
    wrongly = [v.name for v, r in outcome["benign"] if r]
    assert wrongly == []
    doc = DOC.read_text(encoding="utf-8")
    match = re.search(r"honest\s+counterparts:\s+\*\*(\d+) of (\d+) admitted\*\*", doc)
    assert match and (int(match.group(1)), int(match.group(2))) == (
        len(outcome["benign"]) - len(wrongly),
        len(outcome["benign"]),
    )
