"""The catalogs in force: which catalog versions the registry runs, from which day, and the
history of activations and retirements (each an audit entry). Which catalog a file holds and
whether the checker admits it is decided before (:mod:`socialcredit.registry.catalogs`); here
it is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from socialcredit.errors import InputError, NotFound
from socialcredit.registry.ledger.core import LedgerCore
from socialcredit.registry.ledger.dialect import _translated
from socialcredit.registry.ledger.schema import t_catalog_versions, t_records
from socialcredit.registry.ledger.util import _now, _utc
from socialcredit.registry.ledger.values import check_text

MAX_ACTOR = 120
"""Characters of who activates or retires a catalog (the audit log's actor)."""


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    """One catalog version as activated in the registry."""

    id: int
    source: str
    """The bundled catalog's id, or the file's name."""
    catalog_id: str
    version: str
    title: str
    bundled: bool
    content: str
    content_hash: str
    in_force_from: date
    retired_from: date | None
    activated_by: str
    activated_at: datetime
    retired_by: str | None
    retired_at: datetime | None

    def in_force(self, on: date) -> bool:
        return self.in_force_from <= on and (self.retired_from is None or on < self.retired_from)


_COLUMNS = tuple(t_catalog_versions.c)


class CatalogStore(LedgerCore):
    """The catalogs in force."""

    def activate_catalog(
        self,
        *,
        source: str,
        catalog_id: str,
        version: str,
        title: str,
        bundled: bool,
        content: str,
        in_force_from: date,
        actor: str,
        check: Callable[[list[CatalogVersion]], None] | None = None,
    ) -> CatalogVersion:
        """Put a catalog version in force from ``in_force_from`` (its checks are the
        caller's); refused if the same content is in force already, or another version of the
        same catalog is in force on that day (retire it first). ``check`` is called in the
        same transaction with every version as they would be after, the new one among them;
        what it raises refuses the activation, and nothing is written."""
        self._check_ready()
        actor = check_text(actor, "actor", max_len=MAX_ACTOR)
        digest = hashlib.sha256(content.encode()).hexdigest()
        with _translated("activating a catalog"), self._write() as conn:
            for v in self._versions(conn):
                if v.retired_from is not None and v.retired_from <= in_force_from:
                    continue
                if v.content_hash == digest:
                    raise InputError("catalog", f"this content is in force already (id {v.id})")
                if v.catalog_id == catalog_id:
                    raise InputError("catalog", f"catalog {catalog_id!r} is in force already "
                                     f"(id {v.id}, version {v.version!r}): retire it from the "
                                     "day the new version takes over")  # fmt: skip
            now = _now()
            row = {"source": source, "catalog_id": catalog_id, "version": version,
                   "title": title, "bundled": bundled, "content": content,
                   "content_hash": digest, "in_force_from": in_force_from,
                   "activated_by": actor, "activated_at": now}  # fmt: skip
            new_id = conn.execute(t_catalog_versions.insert().values(row)).inserted_primary_key
            assert new_id is not None
            if check is not None:
                check(self._versions(conn))
            self._audit(conn, actor=actor, action="catalog.activate", subject=None,
                        purpose="rules in force",
                        detail={"id": int(new_id[0]), "catalog": catalog_id, "version": version,
                                "source": source, "sha256": digest,
                                "from": in_force_from.isoformat()})  # fmt: skip
            return self._versions(conn, int(new_id[0]))[0]

    def retire_catalog(
        self,
        version_id: int,
        *,
        retired_from: date,
        actor: str,
        check: Callable[[list[CatalogVersion]], None] | None = None,
    ) -> CatalogVersion:
        """The catalog version ``version_id`` is no longer in force from ``retired_from``
        (``check``: as for :meth:`activate_catalog`)."""
        self._check_ready()
        actor = check_text(actor, "actor", max_len=MAX_ACTOR)
        if not 0 < version_id <= 2**62:
            raise NotFound(f"catalog: no catalog version {version_id}")
        with _translated("retiring a catalog"), self._write() as conn:
            found = self._versions(conn, version_id)
            if not found:
                raise NotFound(f"catalog: no catalog version {version_id}")
            v = found[0]
            if v.retired_from is not None:
                raise InputError("id", f"catalog version {version_id} is retired already "
                                 f"(from {v.retired_from})")  # fmt: skip
            if retired_from <= v.in_force_from:
                raise InputError("from", f"{retired_from} is not after the day catalog version "
                                 f"{version_id} came into force ({v.in_force_from})")  # fmt: skip
            conn.execute(
                t_catalog_versions.update()
                .where(t_catalog_versions.c.id == version_id)
                .values(retired_from=retired_from, retired_by=actor, retired_at=_now())
            )
            if check is not None:
                check(self._versions(conn))
            self._audit(conn, actor=actor, action="catalog.retire", subject=None,
                        purpose="rules in force",
                        detail={"id": version_id, "catalog": v.catalog_id, "version": v.version,
                                "sha256": v.content_hash,
                                "from": retired_from.isoformat()})  # fmt: skip
            return self._versions(conn, version_id)[0]

    def catalog_versions(self) -> list[CatalogVersion]:
        """Every catalog version ever activated, in the order they were."""
        self._check_ready()
        with _translated("reading the catalogs"), self._read() as conn:
            return self._versions(conn)

    def record_kinds(self, codes: Sequence[str]) -> dict[tuple[str, str], int]:
        """(record type, subject kind) -> how many records the registry holds, for the record
        types ``codes`` (what activating a catalog that narrows a type's kinds would strand)."""
        self._check_ready()
        c = t_records.c
        query = (
            sa.select(c.record_type, c.subject_kind, sa.func.count())
            .where(c.record_type.in_(list(codes)))
            .group_by(c.record_type, c.subject_kind)
        )
        with _translated("reading the records' kinds"), self._read() as conn:
            return {(str(t), str(k)): int(n) for t, k, n in conn.execute(query)}

    def catalog_stamp(self) -> tuple[int, int, int]:
        """What changes with every activation and every retirement: (versions, the newest
        one's id, versions retired). One read of a table of a few rows, without their texts:
        what a running server asks several times a second to notice new catalogs."""
        c = t_catalog_versions.c
        query = sa.select(sa.func.count(), sa.func.max(c.id), sa.func.count(c.retired_from))
        with _translated("reading the catalogs"), self._read() as conn:
            row = conn.execute(query).one()
        return int(row[0]), int(row[1] or 0), int(row[2])

    def _versions(self, conn: sa.Connection, version_id: int | None = None) -> list[CatalogVersion]:
        query = sa.select(*_COLUMNS).order_by(t_catalog_versions.c.id)
        if version_id is not None:
            query = query.where(t_catalog_versions.c.id == version_id)
        out = []
        for row in conn.execute(query):
            values = dict(zip((c.name for c in _COLUMNS), row, strict=True))
            for at in ("activated_at", "retired_at"):
                if values[at] is not None:
                    values[at] = _utc(values[at])
            values["bundled"] = bool(values["bundled"])
            out.append(CatalogVersion(**values))
        return out
