"""The catalogs in force, as the registry runs them.

A registry keeps the catalogs it runs in its own database (``catalog_versions``): each version
as activated (the file's text and SHA-256), in force from a day, until it is retired. Every
command, the API and the portal read them from there, so a custom catalog is activated once
(``socialcredit catalog activate FILE --from DATE``) and never passed again; ``db init``
activates the bundled admissible set. ``--catalog`` is for dry runs only: a command that
only reads (``profile``, ``check``, ``records import --dry-run``) may run the given catalogs
instead, for that run, and says the result is under catalogs not in force; a command that
writes refuses it (:func:`refuse_catalog_option`), so that nothing enters the registry under
rules it does not run.

A record type stops having effect on the day the catalog version defining it is retired (by
``catalog retire``, or by a new version of the same catalog without it):
:func:`retirements` says which version and when, and the profile shows it beside the record.

Activation refuses a catalog the checker finds an error in (:class:`CatalogRefused`).
Activation and retirement are both checked against the days ahead (:func:`check_schedule`,
in the transaction that stores them): on each day from then on that the set in force
changes, that set must merge and pass the checker, and extend only catalogs in force that
day; otherwise the change is refused and nothing is stored. A bundled catalog is run from the
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
import tomllib
from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from socialcredit.errors import CatalogError, InputError
from socialcredit.policy.checker import load_admissible
from socialcredit.policy.loader import Loaded, bundled, bundled_paths
from socialcredit.registry.config import FIRST_DAY, registry_catalog
from socialcredit.registry.evaluate import Retirement
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
    _refuse_narrowed_kinds(ledger, alone, content)
    # it must run with the others in force on every day from ``on`` (another version of it
    # in force then: the ledger refuses), checked in the transaction that stores it
    return ledger.activate_catalog(
        source=ref if shipped is not None else path.name, catalog_id=meta.id,
        version=str(meta.version), title=meta.title, bundled=shipped is not None,
        content=content, in_force_from=on, actor=actor,
        check=lambda versions: check_schedule(versions, on),
    )  # fmt: skip


def retire(ledger: Ledger, version_id: int, *, on: date, actor: str) -> CatalogVersion:
    """Retire catalog version ``version_id`` from ``on``: refused if the catalogs left in
    force on some day from ``on`` would not run together (one extending it, among them)."""
    return ledger.retire_catalog(version_id, retired_from=on, actor=actor,
                                 check=lambda versions: check_schedule(versions, on))  # fmt: skip


def check_schedule(versions: Sequence[CatalogVersion], since: date) -> None:
    """Refuse a change (:class:`InputError` on ``from``) after which the catalogs in force on
    some day from ``since`` on would not run: on each day the set in force changes, they must
    merge and pass the checker together, and extend only catalogs in force that day (a
    retired catalog that another one extends would otherwise go on being run through it,
    while ``catalog list`` says it is not in force)."""
    days = {since} | {d for v in versions for d in (v.in_force_from, v.retired_from)
                      if d is not None and d > since}  # fmt: skip
    for day in sorted(days):
        chosen = [v for v in versions if v.in_force(day)]
        if not chosen:
            continue
        try:
            loaded = _load(chosen)
        except CatalogError as exc:
            raise InputError(
                "from", f"from {day} the catalogs in force would not run together: {exc}"
            ) from None
        in_force = {v.catalog_id for v in chosen}
        ids = list(dict.fromkeys(loaded.ids.get(p, p.stem) for p in loaded.files))
        pulled = [i for i in ids if i not in in_force]
        if pulled:
            names = ", ".join(pulled)
            raise InputError(
                "from",
                f"from {day} catalog(s) {names} would be run without being in force (a "
                f"catalog in force extends them): activate them first (socialcredit catalog "
                f"activate {pulled[0]} --from {day}), or retire the catalogs that extend them "
                "on the same day",
            )


def _refuse_narrowed_kinds(ledger: Ledger, alone: Loaded, content: str) -> None:
    """A record type the file defines about fewer kinds of subject than records the registry
    holds of it are about is refused by name: those records would run under rules that do not
    hold their subjects (a list or scheme of organisations reached by a person's record). The
    narrowed kinds need a record type of their own, the old one retired."""
    kinds = {code: alone.index.record_types[code].subject_kinds
             for code in record_types_of(content)
             if code in alone.index.record_types}  # fmt: skip
    narrowed = {code: k for code, k in kinds.items() if set(k) != {"person", "organisation"}}
    if not narrowed:
        return
    for (code, kind), n in sorted(ledger.record_kinds(sorted(narrowed)).items()):
        if kind not in narrowed[code]:
            held = " and ".join(f"{k}s" for k in narrowed[code])
            raise InputError(
                f"record_types.{code}.subject_kinds",
                f"record type {code!r} is about {held} only in this catalog, but the registry "
                f"holds {n} record(s) of it about a {kind}: give the narrowed kinds a record "
                "type of their own (a new code) and leave this one as it was",
            )


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
    return loaded_from(ledger.catalog_versions(), on)


def loaded_from(versions: Sequence[CatalogVersion], on: date) -> Loaded:
    """The catalogs of ``versions`` (every version ever activated) in force on ``on``."""
    if not versions:
        return registry_catalog()  # a registry from before catalogs were stored
    chosen = [v for v in versions if v.in_force(on)]
    if not chosen:
        raise CatalogError(f"no catalog is in force on {on} (socialcredit catalog list)")
    return _load(chosen)


def retirements(
    versions: Sequence[CatalogVersion], on: date, known: Collection[str]
) -> dict[str, Retirement]:
    """Record type -> why it has no effect on ``on``: every type a version retired on or before
    ``on`` defined that the catalogs in force (``known``: their record types) do not. Where a
    type was retired more than once, the latest retirement. The version named is the one that
    took the type out: the version of the same catalog in force on ``on`` (a new version
    without it), or else the retired version itself."""
    out: dict[str, Retirement] = {}
    for v in versions:
        if v.retired_from is None or v.retired_from > on:
            continue
        after = [w for w in versions
                 if w.catalog_id == v.catalog_id and w.id != v.id and w.in_force(on)]  # fmt: skip
        by = after[-1] if after else v
        why = Retirement(on=v.retired_from, catalog=by.catalog_id, version=by.version,
                         retired_version=v.version)  # fmt: skip
        for code in record_types_of(v.content):
            if code in known:
                continue
            seen = out.get(code)
            if seen is None or seen.on <= why.on:
                out[code] = why
    return out


def record_types_of(content: str) -> list[str]:
    """The record types a catalog file defines (its own, not those of a catalog it extends)."""
    try:
        doc = tomllib.loads(content)
    except tomllib.TOMLDecodeError:
        return []
    types = doc.get("record_types")
    if not isinstance(types, list):
        return []
    return [t["code"] for t in types if isinstance(t, dict) and isinstance(t.get("code"), str)]


def in_force_with_retirements(ledger: Ledger, on: date) -> tuple[Loaded, dict[str, Retirement]]:
    """:func:`in_force`, and :func:`retirements` on the same day."""
    versions = ledger.catalog_versions()
    loaded = loaded_from(versions, on)
    return loaded, retirements(versions, on, loaded.index.record_types)


def version_json(v: CatalogVersion) -> dict[str, Any]:
    """A catalog version as the CLI's and the API's JSON show it (its text left out)."""
    return {"id": v.id, "catalog": v.catalog_id, "version": v.version, "title": v.title,
            "source": v.source, "bundled": v.bundled, "sha256": v.content_hash,
            "in_force_from": v.in_force_from.isoformat(),
            "retired_from": v.retired_from.isoformat() if v.retired_from else None,
            "activated_by": v.activated_by, "activated_at": v.activated_at.isoformat(),
            "retired_by": v.retired_by,
            "retired_at": v.retired_at.isoformat() if v.retired_at else None}  # fmt: skip


def catalog_for(ledger: Ledger | None, refs: Sequence[str] | None, on: date) -> Loaded:
    """For a dry run: ``--catalog`` given, those, for this run only; else the catalogs in
    force on ``on`` (``ledger`` is needed then)."""
    if refs:
        return registry_catalog(refs)
    if ledger is None:
        raise InputError("catalog", "no catalogs given and no registry to read those in force")
    return in_force(ledger, on)


def refuse_catalog_option(refs: Sequence[str] | None, *, command: str) -> None:
    """A command that writes runs the catalogs in force only: ``--catalog`` refused, naming
    what to do instead (before anything is opened, so nothing is written)."""
    if refs:
        raise InputError(
            "catalog",
            f"--catalog is for dry runs only, and `{command}` writes to the registry, which "
            "runs the catalogs in force: activate the catalog first (socialcredit catalog "
            "activate FILE --from DATE), then run the command without --catalog",
        )


def not_in_force_note(loaded: Loaded) -> str:
    """What a dry run under ``--catalog`` says of its result."""
    ids = list(dict.fromkeys(loaded.ids.get(p, p.stem) for p in loaded.files))
    return (
        f"dry run under catalogs NOT in force: {', '.join(ids)} (given with --catalog, "
        "for this run only; the registry runs those in force: socialcredit catalog list)"
    )


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
    # one folder a set (a catalog may extend its neighbour by name, and only a neighbour in
    # the set), named by the versions' ids and texts: two registries a process opens may
    # number different versions alike
    ids = "-".join(f"{v.id}:{v.content_hash}:{v.source}" for v in versions if not v.bundled)
    folder = _folder() / hashlib.sha256(ids.encode()).hexdigest()[:16]
    folder.mkdir(exist_ok=True)
    names: dict[str, CatalogVersion] = {}
    for v in versions:
        if not v.bundled and names.setdefault(v.source, v) is not v:
            other = names[v.source]
            raise CatalogError(
                f"catalog {v.catalog_id!r} (id {v.id}) and catalog {other.catalog_id!r} "
                f"(id {other.id}) were both activated from a file named {v.source!r}: one "
                "file name each, as a catalog is extended by its file's name"
            )
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
