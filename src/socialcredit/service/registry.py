"""The service's view of the registry: one ledger, the catalogs in force, and the in-memory
state (check index, audit buffer, key cache). The API and the portal both go through it.

The catalogs in force follow the registry while the server runs: the poller asks the ledger
several times a second whether a catalog was activated or retired (or the day changed), and
if the versions in force today are not those the server runs, loads them, compiles them and
swaps them in at once (:meth:`Registry.follow_catalogs`): new filings, due-process steps and
every page use them from then on, without a restart. The projection the checks read is
recomputed by ``catalog activate|retire`` itself, and its audit entries bring the subjects
back into the check index as any write from elsewhere does.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from socialcredit.errors import CatalogError, LedgerError, NotFound
from socialcredit.policy.loader import Loaded
from socialcredit.registry.evaluate import Profile, Retirement, evaluate
from socialcredit.registry.ledger import Ledger, NewRecord, SubmitResult
from socialcredit.service.filer import FilingWriter, share_turns
from socialcredit.service.state import AuditBuffer, CheckIndex, KeyCache

SWITCH_INTERVAL = 0.0005
"""Seconds a thread waiting for the GIL waits before asking for it (Python's default: 0.005)."""
POLL_SECONDS = 0.25
"""How often the server looks for writes made by other processes (an import, another
server): what an imported record waits, at most, before its subjects are reloaded."""
KEYS_POLL_SECONDS = 1.0
CATALOGS_BOUND_SECONDS = POLL_SECONDS
"""How long after an activation or retirement the server may still file under the catalogs
it ran before: one poll, plus the time to load and compile the new ones (a second or two)."""


def warm_up(catalog: Loaded, today: date) -> None:
    """Run the projector once on a made-up history, so that its compiled kernels are built
    (or loaded from the cache) before the first request, not during it."""
    from datetime import timedelta

    from socialcredit.registry.ledger import default_projector
    from socialcredit.registry.model import EventKind, Fact, LifecycleEvent, Record

    index = catalog.index
    listed = [code for lst in index.lists.values() for code in lst.entry.record_types]
    if not listed:
        return
    rt = index.record_types[listed[0]]
    issuer = rt.issuers[0] if rt.issuers else "warm-up"
    day = today - timedelta(days=30)
    facts: list[Fact] = [
        Record("0", "warm-up", rt.code, issuer, day),
        LifecycleEvent("0", EventKind.objection_filed, day, "warm-up"),
    ]
    default_projector(catalog, today)({"warm-up": facts})


SYNTHETIC_HEADER = "X-Synthetic-Data"
"""On every response of a registry marked synthetic: what is made up in it."""


def ascii_line(note: str) -> bytes:
    """A header's value: ``note`` on one line, in ASCII (a header's safe alphabet)."""
    flat = " ".join(note.split())
    return flat.encode("ascii", "replace")


@dataclass
class Registry:
    ledger: Ledger
    catalog: Loaded
    today: Callable[[], date] = date.today
    poll_seconds: float = POLL_SECONDS
    studies: Path | None = None
    """Where study folders live (the portal lists them and serves their reports)."""
    index_snapshot: Path | None | Literal["auto"] = "auto"
    """Where the check index is kept between starts (:class:`CheckIndex`)."""
    filing_process: bool = False
    """File records in a process of their own (:mod:`~socialcredit.service.filer`), off the
    core and the GIL of the event loop that answers checks."""
    checks: CheckIndex = field(init=False)
    audit: AuditBuffer = field(init=False)
    keys: KeyCache = field(init=False)
    sessions: KeyCache = field(init=False)
    synthetic: str | None = field(init=False)
    """The note of the registry's synthetic mark (:mod:`socialcredit.registry.marks`), read
    once: a registry the demo made says so on every page and response."""
    synthetic_value: bytes = field(init=False)
    """The ``X-Synthetic-Data`` header's value (empty for a registry without the mark)."""
    synthetic_header: bytes = field(init=False)
    """The same header as a raw line, for the check protocol (or empty)."""
    retired: dict[str, Retirement] = field(init=False)
    """Record types retired by a catalog version no longer in force today, each with why
    (the profile shows it beside a record of that type)."""
    catalog_problem: str | None = field(init=False)
    """Why no new record can be filed (no catalog in force today), or None."""

    def __post_init__(self) -> None:
        from socialcredit.errors import LedgerError
        from socialcredit.registry.marks import synthetic_note

        try:
            self.synthetic = synthetic_note(self.ledger)
        except LedgerError:  # a store that cannot be read shows nothing at all
            self.synthetic = None
        self.synthetic_value = b"" if self.synthetic is None else ascii_line(self.synthetic)
        self.synthetic_header = (
            b"x-synthetic-data: " + self.synthetic_value + b"\r\n" if self.synthetic_value else b""
        )
        self.checks = CheckIndex(self.ledger, self.catalog, snapshot=self.index_snapshot)
        self.audit = AuditBuffer(self.ledger)
        self.keys = KeyCache(self.ledger)
        self.sessions = KeyCache(self.ledger, load=self.ledger.session_key)
        """Portal sessions, remembered for a few seconds like keys (signing out here forgets
        one at once; a key revoked elsewhere ends its sessions within the same few seconds)."""
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.retired = {}
        self.catalog_problem = None
        self._catalogs_seen: tuple[tuple[int, int, int], date] | None = None
        self._in_force: tuple[int, ...] | None = None
        """The catalog versions in force the server runs (None: not looked at yet)."""
        self._loader: threading.Thread | None = None
        self.filer: FilingWriter | None = None
        """The filing writer, while one runs (:attr:`filing_process`)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.filing_process:  # before any of this process's writers runs
            share_turns(self.ledger)
        self.warm_up()
        self._first_look_at_catalogs()
        self.checks.load()
        # what is loaded now (catalogs, compiled kernels, the index) lives as long as the
        # server: out of the collector's sight, so that its collections, triggered by each
        # request's short-lived objects, do not walk millions of long-lived ones
        gc.collect()
        gc.freeze()
        # the event loop answers checks while the poller and the audit writer run beside it
        # on the same core: let the loop have the GIL back within 0.5 ms, not 5
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # answers held for their audit entries are released on the loop
        if loop is not None:
            self.audit.attach(loop)
        self.audit.start()
        if self.filing_process:
            self.filer = FilingWriter(self.ledger.url, self.catalog, today=self.today())
            self.filer.start()
        self._poller = threading.Thread(target=self._poll, name="projection-poll", daemon=True)
        self._poller.start()

    def warm_up(self, catalog: Loaded | None = None) -> None:
        """:func:`warm_up` for ``catalog`` (by default the one in force) on today."""
        warm_up(catalog or self.catalog, self.today())

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        if self._loader is not None:
            self._loader.join(timeout=10)
        if self.filer is not None:
            self.filer.stop()
            self.filer = None
        self.audit.stop()

    def _poll(self) -> None:
        """Look for writes made elsewhere every ``poll_seconds`` (a read of the audit entries
        since the last look, through an index that leaves the checks out: cheap), for catalogs
        activated or retired elsewhere (:meth:`follow_catalogs`), and for keys revoked
        elsewhere once a second."""
        keys_due = 0.0
        while not self._stop.wait(self.poll_seconds):
            steps = [self._look_at_catalogs, self.checks.catch_up]
            if time.monotonic() >= keys_due:
                steps.append(self.keys.refresh)
                keys_due = time.monotonic() + KEYS_POLL_SECONDS
            for step in steps:
                try:
                    step()
                except Exception:  # noqa: BLE001 - a failed step is retried on the next tick
                    continue

    # -- the catalogs in force -----------------------------------------------------------------

    def _first_look_at_catalogs(self) -> None:
        """What is in force today, as the server starts with the catalog it was given (the
        catalogs in force, for ``socialcredit serve``): only a later change replaces it."""
        from socialcredit.registry.catalogs import retirements

        today = self.today()
        try:
            stamp = self.ledger.catalog_stamp()
            versions = self.ledger.catalog_versions()
        except LedgerError:  # a store that cannot be read: nothing to follow
            return
        self._catalogs_seen = (stamp, today)
        self._in_force = tuple(v.id for v in versions if v.in_force(today))
        self.retired = retirements(versions, today, self.catalog.index.record_types)

    def _look_at_catalogs(self) -> None:
        """The poller's step: if the catalogs changed, :meth:`follow_catalogs` on a thread of
        its own, so that the poller goes on looking for writes meanwhile (a load takes
        seconds; a check is answered only from a state younger than ``CheckIndex.MAX_AGE``)."""
        if self._loader is not None and self._loader.is_alive():
            return
        if (self.ledger.catalog_stamp(), self.today()) == self._catalogs_seen:
            return
        self._loader = threading.Thread(target=self._follow, name="catalog-load", daemon=True)
        self._loader.start()

    def _follow(self) -> None:
        try:
            self.follow_catalogs()
        except Exception:  # noqa: BLE001 - not marked seen: tried again on the next tick
            return

    def follow_catalogs(self) -> bool:
        """If a catalog was activated or retired since the last look (or the day changed),
        and the versions in force today are not those the server runs: load them, compile
        them, and swap them in. Returns whether it did. One small read when nothing changed
        (:meth:`Ledger.catalog_stamp`). With no catalog in force today the server keeps the
        catalogs it ran for its pages and checks, and refuses new filings, saying why."""
        from socialcredit.registry.catalogs import loaded_from, retirements

        today = self.today()
        seen = (self.ledger.catalog_stamp(), today)
        if seen == self._catalogs_seen:
            return False
        versions = self.ledger.catalog_versions()
        ids = tuple(v.id for v in versions if v.in_force(today))
        self._catalogs_seen = seen  # a catalog that fails to load is not tried every tick
        if ids == self._in_force:
            return False
        self._in_force = ids
        try:
            loaded = loaded_from(versions, today)
        except CatalogError as exc:
            self.catalog_problem = f"new records cannot be filed: {exc}"
            return False
        self.warm_up(loaded)  # compiled here, before it is in use
        self.use_catalog(loaded, retirements(versions, today, loaded.index.record_types))
        return True

    def use_catalog(self, catalog: Loaded, retired: dict[str, Retirement]) -> None:
        """Run ``catalog`` from now on (requests under way finish with the one they began
        with: each reads :attr:`catalog` once)."""
        self.checks.use_catalog(catalog)
        self.retired = retired
        self.catalog = catalog
        self.catalog_problem = None

    def profile(self, subject: str, on: date) -> Profile:
        """What the registry holds about ``subject`` on ``on``, under the catalogs it runs; a
        record of a retired type says when it was retired and by which catalog version."""
        return evaluate(self.ledger.facts(subject), self.catalog, on, subject=subject,
                        retired=self.retired)  # fmt: skip

    # -- writes ------------------------------------------------------------------------------

    def submit(self, records: Sequence[NewRecord], *, actor: str) -> list[SubmitResult]:
        if self.catalog_problem is not None:
            raise CatalogError(self.catalog_problem)
        subjects = {r.subject.strip().upper() for r in records}
        filer = self.filer
        if filer is not None:
            out, holders = filer.submit(records, catalog=self.catalog, today=self.today(),
                                        actor=actor)  # fmt: skip
            self.checks.reload(subjects | set(holders))
            return out
        out = self.ledger.submit(records, catalog=self.catalog, today=self.today(), actor=actor)
        self.checks.reload(subjects | self._role_holders(subjects))
        return out

    def own_record(self, record_id: str, *, authority: str, action: str) -> None:
        """Raise :class:`NotFound`, exactly as for a missing record, unless ``authority``
        designated the record: another authority's record is not even confirmed to exist.
        The attempt is logged (the record's subject sees it in their access log)."""
        missing = f"record: no record {record_id!r}"
        try:
            rec = self.ledger.record(record_id)
        except NotFound:
            raise NotFound(missing) from None
        if rec.authority != authority:
            self.ledger.log_access(actor=f"authority:{authority}", action=f"refused {action}",
                                   subject=rec.subject, purpose="not this authority's record",
                                   detail={"record": record_id})  # fmt: skip
            raise NotFound(missing)

    def subjects_record(self, record_id: str, *, subject: str, action: str) -> None:
        """Raise :class:`NotFound`, the same for a missing record and for someone else's,
        unless the record is about ``subject``; an attempt on someone else's record is logged
        (for the administrator: the record's subject is not told who tried)."""
        missing = f"record: no record {record_id!r} about you"
        try:
            rec = self.ledger.record(record_id)
        except NotFound:
            raise NotFound(missing) from None
        if rec.subject != subject:
            self.ledger.log_access(actor=f"subject:{subject}", action=f"refused {action}",
                                   subject=None, purpose="not this subject's record",
                                   detail={"record": record_id})  # fmt: skip
            raise NotFound(missing)

    def touched(self, record_id: str) -> None:
        """A due-process step changed a record: refresh its subject in the check index."""
        subject = self.ledger.record(record_id).subject
        self.checks.reload({subject} | self._role_holders({subject}))

    def _role_holders(self, subjects: set[str]) -> set[str]:
        return set(self.ledger.role_holders(subjects))

    # -- reads -------------------------------------------------------------------------------

    def pending(self, authority: str | None) -> list[dict[str, Any]]:
        """Objections, repair applications and applications for a release awaiting a
        decision by ``authority`` (by any, if None), earliest deadline first."""
        today = self.today()
        out: list[dict[str, Any]] = self._pending_releases(authority, today)
        for record_id in self.ledger.requested_records(authority):
            rec = self.ledger.record(record_id)
            events = self.ledger.events_for(record_id)
            profile = evaluate([rec, *events], self.catalog, today, subject=rec.subject)
            state = next(s for s in profile.records if s.record.id == record_id)
            for kind, waiting, by, request in (
                ("objection", state.objection == "pending", state.objection_decide_by,
                 "objection_filed"),
                ("repair", state.repair == "applied", state.repair_decide_by, "repair_applied"),
            ):  # fmt: skip
                if not waiting or by is None:
                    continue
                filed = [e for e in events if str(e.kind) == request]
                last = filed[-1] if filed else None
                out.append(
                    {
                        "record_id": record_id,
                        "kind": kind,
                        "filed_on": last.on.isoformat() if last else None,
                        "decide_by": by.isoformat(),
                        "overdue": today > by,
                        "subject": rec.subject,
                        "authority": rec.authority,
                        "record_type": rec.record_type,
                        "grounds": last.note if last else "",
                    }
                )
        return sorted(out, key=lambda p: (p["decide_by"], p["record_id"]))

    def _pending_releases(self, authority: str | None, today: date) -> list[dict[str, Any]]:
        """Applications for a release (records of their own, decided by another record about
        the same person) awaiting a decision."""
        types = {t for r in self.catalog.index.releases.values() for t in r.applications}
        out: list[dict[str, Any]] = []
        for record_id in self.ledger.records_of_types(types, authority):
            rec = self.ledger.record(record_id)
            profile = self.profile(rec.subject, today)
            state = next(s for s in profile.records if s.record.id == record_id)
            by = state.application_decide_by
            if state.application != "pending" or by is None:
                continue
            out.append({"record_id": record_id, "kind": "release",
                        "filed_on": rec.decided_on.isoformat(), "decide_by": by.isoformat(),
                        "overdue": today > by, "subject": rec.subject,
                        "authority": rec.authority, "record_type": rec.record_type,
                        "grounds": rec.decision_ref})  # fmt: skip
        return out

    def overdue(self, *, reader: str) -> list[dict[str, Any]]:
        """Every decision an authority owes past its deadline, most overdue first, with
        ``days_overdue``: what the administrator escalates. Each subject listed gets an entry
        in the audit log (``reader`` saw their request)."""
        today = self.today()
        late = [p for p in self.pending(None) if p["overdue"]]
        for p in late:
            p["days_overdue"] = (today - date.fromisoformat(p["decide_by"])).days
        self.log_reads(reader, "overdue", "supervising decision deadlines",
                       (p["subject"] for p in late))  # fmt: skip
        return late

    def desk(self, authority: str) -> list[dict[str, Any]]:
        """:meth:`pending` for ``authority``'s desk; each subject listed sees the read in their
        access log, before the list is shown."""
        items = self.pending(authority)
        self.log_reads(f"authority:{authority}", "pending",
                       "deciding objections, repairs and releases",
                       (p["subject"] for p in items))  # fmt: skip
        return items

    def log_reads(self, actor: str, action: str, purpose: str, subjects: Iterable[str]) -> None:
        """One audit entry per subject whose data ``actor`` reads, and return once they are
        durable (:class:`~socialcredit.errors.LedgerError` if not within the audit patience):
        for reads answered on a thread (a list of several subjects, the portal's check)."""
        ticket = 0
        for subject in sorted(set(subjects)):
            ticket = self.audit.add({"actor": actor, "action": action, "subject": subject,
                                     "purpose": purpose})  # fmt: skip
        if ticket:
            self.audit.wait(ticket)

    def public_entries(
        self, *, q: str | None, list_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Published entries: a membership of a public list (its catalog says ``public``;
        ``list_id``: of that list only, none if it is not public) whose records are
        published today."""
        today = self.today()
        index = self.catalog.index
        out: list[dict[str, Any]] = []
        prefix = (q or "").strip().upper()
        lists = {i for i, lst in index.lists.items() if lst.public}
        if list_id:
            lists &= {list_id}
        for subject in self.checks.subjects_with_lists(lists, prefix=prefix):
            profile = evaluate(self.ledger.facts(subject), self.catalog, today, subject=subject)
            published = {r.record.id: r for r in profile.records if r.published}
            for m in profile.lists:
                if m.list not in lists:
                    continue
                shown = [published[r] for r in m.records if r in published]
                if not shown:
                    continue
                lst = index.lists.get(m.list)
                rt = index.record_types.get(shown[0].record.record_type)
                out.append(
                    {
                        "subject": subject,
                        "list": m.list,
                        "list_title": lst.title if lst else m.list,
                        "reason": rt.title if rt else shown[0].record.record_type,
                        "record_type": shown[0].record.record_type,
                        "since": m.since.isoformat(),
                        "until": m.until.isoformat() if m.until else None,
                    }
                )
                if len(out) >= limit:
                    return self._named(out)
        return self._named(out)

    def _named(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = self.ledger.names((e["subject"], e["list"]) for e in entries)
        return [{**e, "name": names.get((e["subject"], e["list"]))} for e in entries]

    def catalog_summary(self) -> dict[str, Any]:
        from socialcredit.policy.loader import bundled
        from socialcredit.registry.catalogs import version_json

        cat = self.catalog.catalog
        known = {b.path.resolve(): b.meta for b in bundled()}
        parts = []
        for path in self.catalog.files:
            meta = known.get(path.resolve())
            parts.append({
                "id": self.catalog.ids.get(path) or (meta.id if meta else path.stem),
                "title": meta.title if meta else "",
                "version": meta.version if meta else "",
                "file": path.name,
            })  # fmt: skip
        return {
            # the merged catalog is every file's: not named after the last one read
            "catalogs": parts,
            "files": [p.name for p in self.catalog.files],
            "record_types": len(cat.record_types),
            "lists": len(cat.lists),
            "measures": len(cat.measures),
            "memoranda": len(cat.memoranda),
            "schemes": len(cat.schemes),
            # the versions activated in this registry, and retired (empty: from before
            # catalogs were stored; it runs the bundled admissible set)
            "history": [version_json(v) for v in self.ledger.catalog_versions()],
        }
