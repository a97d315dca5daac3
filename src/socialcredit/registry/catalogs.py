"""The catalogs in force, as the registry runs them.

A registry keeps the catalogs it runs in its own database (``catalog_versions``): each version
as activated (the file's text and SHA-256), in force from a day, until it is retired. Every
command, the API and the portal read them from there, so a custom catalog is activated once
(``socialcredit catalog activate FILE --from DATE``) and never passed again; ``db init``
activates the bundled admissible set. ``--catalog`` on a command runs the given catalogs
instead, for that run only, without changing what is in force.

Activation refuses a catalog the checker finds an error in (:class:`CatalogRefused`), and one
whose merge with the catalogs in force would be refused. A bundled catalog is run from the
package only while the package's file is still the one activated (same SHA-256): an upgrade
that changed it is refused by name until the new version is activated, so the rules never
change under a registry unnoticed. A custom catalog is run from the stored text.

A registry made before catalogs were stored (none activated) runs the bundled admissible set.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from socialcredit.errors import CatalogError, InputError
from socialcredit.policy.checker import load_admissible
from socialcredit.policy.loader import Loaded, bundled, bundled_paths
from socialcredit.registry.config import FIRST_DAY, registry_catalog
from socialcredit.registry.ledger import CatalogVersion, Ledger, default_projector


def activate(ledger: Ledger, ref: str, *, on: date, actor: str) -> CatalogVersion:
    """Put the catalog ``ref`` (a file, or a bundled catalog's id) in force from ``on``."""
    shipped = bundled_paths().get(ref) if not ref.endswith(".toml") and "/" not in ref else None
    path = shipped or Path(ref)
    if not path.is_file():
        raise InputError("catalog", f"{ref}: no such catalog file or bundled catalog")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("catalog", f"{ref}: cannot read: {exc}") from None
    alone = load_admissible(path)  # the checker's errors refuse it, each named
    meta = alone.catalog.catalog
    # it must merge with the others in force (another version of it: the ledger refuses)
    others = [v for v in ledger.catalog_versions() if v.in_force(on) and v.catalog_id != meta.id]
    load_admissible(*_refs(others), str(path))
    return ledger.activate_catalog(
        source=ref if shipped is not None else path.name, catalog_id=meta.id,
        version=str(meta.version), title=meta.title, bundled=shipped is not None,
        content=content, in_force_from=on, actor=actor,
    )  # fmt: skip


def reproject(ledger: Ledger, *, on: date, actor: str) -> int:
    """Every subject's projection recomputed with the catalogs in force on ``on`` (after an
    activation or a retirement: the check path reads the projection, not the catalogs);
    returns how many subjects."""
    project = default_projector(in_force(ledger, on), on)
    return ledger.reproject(project=project, as_of=on, actor=actor,
                            why="the catalogs in force changed")  # fmt: skip


def activate_bundled(ledger: Ledger, *, actor: str) -> list[CatalogVersion]:
    """Every bundled admissible catalog, in force from the registry's first day (``db init``)."""
    refs = [b.id for b in bundled() if not b.synthetic]
    registry_catalog([str(bundled_paths()[r]) for r in refs])  # admissible together
    return [activate(ledger, ref, on=FIRST_DAY, actor=actor) for ref in refs]


def in_force(ledger: Ledger, on: date) -> Loaded:
    """The catalogs in force on ``on``, merged and checked."""
    versions = ledger.catalog_versions()
    if not versions:
        return registry_catalog()  # a registry from before catalogs were stored
    chosen = [v for v in versions if v.in_force(on)]
    if not chosen:
        raise CatalogError(f"no catalog is in force on {on} (socialcredit catalog list)")
    return _load(chosen)


def version_json(v: CatalogVersion) -> dict[str, Any]:
    """A catalog version as the CLI's and the API's JSON show it (its text left out)."""
    return {"id": v.id, "catalog": v.catalog_id, "version": v.version, "title": v.title,
            "source": v.source, "bundled": v.bundled, "sha256": v.content_hash,
            "in_force_from": v.in_force_from.isoformat(),
            "retired_from": v.retired_from.isoformat() if v.retired_from else None,
            "activated_by": v.activated_by, "activated_at": v.activated_at.isoformat(),
            "retired_by": v.retired_by,
            "retired_at": v.retired_at.isoformat() if v.retired_at else None}  # fmt: skip


def catalog_for(ledger: Ledger, refs: Sequence[str] | None, on: date) -> Loaded:
    """``--catalog`` given: those, for this run only; else the catalogs in force on ``on``."""
    if refs:
        return registry_catalog(refs)
    return in_force(ledger, on)


_FOLDER: Path | None = None


def _folder() -> Path:
    """Where this process writes the custom catalogs it runs (the loader names their files
    in findings and pages); removed when the process ends."""
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="socialcredit-catalogs-"))
        atexit.register(shutil.rmtree, _FOLDER, True)
    return _FOLDER


def _refs(versions: Sequence[CatalogVersion]) -> list[str]:
    """The files to load for ``versions``: a bundled one from the package (only if it is the
    version activated), a custom one written from its stored text."""
    refs: list[str] = []
    ids = "-".join(str(v.id) for v in versions if not v.bundled)
    folder = _folder() / hashlib.sha256(ids.encode()).hexdigest()[:16]
    folder.mkdir(exist_ok=True)  # one folder a set: a catalog may extend its neighbour by name
    for v in versions:
        if v.bundled:
            path = bundled_paths().get(v.source)
            text = path.read_text(encoding="utf-8") if path is not None else ""
            if path is None or hashlib.sha256(text.encode()).hexdigest() != v.content_hash:
                raise CatalogError(
                    f"bundled catalog {v.source!r} is not the version activated (id {v.id}, "
                    f"version {v.version!r}): it changed with the package; activate the new "
                    "version and retire the old one"
                )
            refs.append(str(path))
        else:
            path = folder / v.source
            path.write_text(v.content, encoding="utf-8")
            refs.append(str(path))
    return refs


def _load(versions: Sequence[CatalogVersion]) -> Loaded:
    return load_admissible(*_refs(versions))
