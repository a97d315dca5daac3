"""Studies: the simulator's runs and their reports (synthetic people only: public)."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from socialcredit.service.portal.common import HEADERS, _page, _Refused, _registry

router = APIRouter(include_in_schema=False)


def _studies(folder: FsPath) -> list[dict[str, Any]]:
    from socialcredit.study.spec import Study

    found = []
    for spec in sorted(folder.glob("**/study.json")):
        if len(spec.relative_to(folder).parts) > 3:
            continue
        try:
            study = Study.model_validate_json(spec.read_text())
        except (OSError, ValueError):
            continue
        home = spec.parent
        found.append(
            {
                "id": home.relative_to(folder).as_posix().replace("/", "~"),
                "name": study.name,
                "description": study.description,
                "runs": [r.name for r in study.runs],
                "population": study.population,
                "seeds": len(study.seeds),
                "done": len(list((home / "results").glob("*.parquet"))),
                "report": (home / "report.html").exists(),
            }
        )
    return found


@router.get("/studies", response_class=HTMLResponse)
def studies(request: Request) -> Response:
    folder = _registry(request).studies
    return _page(request, "studies.html", title="Studies", folder=str(folder),
                 studies=_studies(folder) if folder and folder.is_dir() else [])  # fmt: skip


@router.get("/studies/{study_id}/report", response_class=HTMLResponse)
def study_report(request: Request, study_id: str) -> Response:
    folder = _registry(request).studies
    known = {s["id"] for s in _studies(folder)} if folder and folder.is_dir() else set()
    if study_id not in known or folder is None:
        raise _Refused(404, "study", f"no study {study_id!r}")
    page = folder.joinpath(*study_id.split("~")) / "report.html"
    if not page.exists():
        raise _Refused(404, "study", f"study {study_id!r} has no report yet")
    # the report is self-contained: inline styles, images as data URIs, no script
    headers = {**HEADERS, "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
    )}  # fmt: skip
    return FileResponse(page, media_type="text/html", headers=headers)
