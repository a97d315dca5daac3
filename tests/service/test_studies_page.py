"""The portal lists study runs and serves their self-contained reports."""

from __future__ import annotations

from pathlib import Path

from live import serve

from socialcredit.policy.loader import Loaded
from socialcredit.study import report, runner
from socialcredit.study.spec import load_study

STUDY = """
name = "mini"
description = "one regime, one seed"
population = 3000
seeds = [1]
threads = 1

[[runs]]
name = "court"
regime = "law-bound"
scenario = "national-2013"
start = 2015-01-01
end = 2015-06-30
"""


def test_the_portal_lists_studies_and_serves_their_reports(
    tmp_path: Path, service_catalog: Loaded
) -> None:
    studies = tmp_path / "out"
    (tmp_path / "mini.toml").write_text(STUDY)
    runner.run_study(load_study(tmp_path / "mini.toml"), studies / "mini")
    report.render(studies / "mini")
    (studies / "unrendered").mkdir()
    gen = serve(f"sqlite:///{tmp_path}/s.db", service_catalog, portal=True, studies=studies)
    live = next(gen)
    try:
        with live.client() as c:
            page = c.get("/studies")
            assert page.status_code == 200
            assert "mini" in page.text and "one regime, one seed" in page.text
            assert "/studies/mini/report" in page.text
            got = c.get("/studies/mini/report")
            assert got.status_code == 200
            assert "Side by side" in got.text
            assert "img-src data:" in got.headers["content-security-policy"]
            assert c.get("/studies/..~etc/report").status_code == 404
            assert c.get("/studies/nope/report").status_code == 404
    finally:
        next(gen, None)
