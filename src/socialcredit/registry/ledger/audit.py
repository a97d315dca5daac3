"""The audit log: reads of personal data with their purpose, the access log a subject
sees, the check index, dead letters, the subjects each write touched, verification."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from socialcredit.errors import InputError, LedgerError
from socialcredit.registry.ledger.chain import (
    GENESIS,
    _audit_entry,
    _audit_hash,
    _subjects_digest,
    chain_entries,
)
from socialcredit.registry.ledger.dialect import _sqlite_datetime, _translated
from socialcredit.registry.ledger.journal import (
    LEDGER_ID,
    ReadJournal,
    _foreign,
    immediate,
    insert_chained,
    raw_head,
)
from socialcredit.registry.ledger.schema import (
    CHECK_INDEX_UPTO,
    NOT_A_CHECK,
    READS_CHAINED_UPTO,
    named_subjects,
    t_audit_check_index,
    t_audit_dead_letter,
    t_audit_log,
    t_audit_records,
    t_audit_subjects,
    t_ledger_state,
    t_records,
)
from socialcredit.registry.ledger.util import CHUNK, _chunks, _now, _utc
from socialcredit.registry.ledger.values import (
    MAX_PURPOSE,
    AccessRow,
    AuditEntry,
    AuditRejected,
    access_row,
    check_text,
)

WRITES_PREFIXES = ("records.", "event.", "events.")
"""The actions of writes that change projections (records filed or imported, an event, an
import of events): what a cache of the projection looks for."""


class AuditLog(ReadJournal):
    """The audit log: reads of personal data with their purpose, the access log a subject"""

    def log_access(
        self,
        *,
        actor: str,
        action: str,
        subject: str | None,
        purpose: str,
        detail: Any = None,
    ) -> AuditEntry:
        """Record a read of personal data (who, what, about whom, why) in the audit chain."""
        self._check_ready()
        if not purpose.strip():
            raise InputError("purpose", "say why the data is read")
        check_text(purpose, "purpose", max_len=MAX_PURPOSE)
        with _translated("writing the audit log"), self._write() as conn:
            return self._audit(
                conn, actor=actor, action=action, subject=subject, purpose=purpose, detail=detail
            )

    def access_log(self, subject: str) -> list[AuditEntry]:
        """Every audit entry about ``subject``, oldest first: entries other than checks by the
        subject index, writes of several subjects (a batch, an import) by the list of subjects
        each names, checks by ``audit_check_index``, and the checks not yet indexed (written
        since :meth:`index_checks` last ran) by a scan of the log's newest entries. One
        statement, so one snapshot: an entry indexed meanwhile is not counted twice. Then the
        subject's reads still in the read journal (:meth:`journal_entries`: seq 0, no hash
        yet), oldest first: every read answered before the call is there. Takes no lock a
        writer takes, so a busy registry never holds its reader up."""
        self._check_ready()
        log, index = t_audit_log, t_audit_check_index
        upto = (
            sa.select(t_ledger_state.c.value)
            .where(t_ledger_state.c.name == CHECK_INDEX_UPTO)
            .scalar_subquery()
        )
        is_check = log.c.action.like("check %")
        named, ranges, records = t_audit_subjects, t_audit_records, t_records
        has_record = sa.exists().where(
            records.c.subject == subject,
            records.c.id.between(ranges.c.first_id, ranges.c.last_id),
        )
        parts = [
            sa.select(log).where(log.c.subject == subject, sa.text(NOT_A_CHECK)),
            # a write of several subjects (a batch, an import) names each of them
            sa.select(log)
            .join(named, named.c.seq == log.c.seq)
            .where(named.c.subject == subject, log.c.subject.is_distinct_from(subject)),
            # an import names those of the records it added by their ids (by the subject
            # index of records: the imports are few)
            sa.select(log)
            .join(ranges, ranges.c.seq == log.c.seq)
            .where(has_record, log.c.subject.is_distinct_from(subject)),
            sa.select(log)
            .join(index, index.c.seq == log.c.seq)
            .where(index.c.subject == subject, index.c.seq <= upto),
            sa.select(log).where(log.c.seq > upto, log.c.subject == subject, is_check),
        ]
        # the journal's file is read before the ledger's snapshot: a read chained in between
        # is in the snapshot, and its journal row is then left out by the mark (journal.py)
        journaled = self._journal_file_rows(subject)
        if journaled is None:  # the journal is the ledger's table: in the same statement
            parts.append(self._journal_select(subject))
        with _translated("reading the audit log"), self._read() as conn:
            rows: list[Any] = list(conn.execute(sa.union_all(*parts).order_by("seq", "at")))
            state = dict(
                conn.execute(
                    sa.select(t_ledger_state.c.name, t_ledger_state.c.value).where(
                        t_ledger_state.c.name.in_([READS_CHAINED_UPTO, LEDGER_ID])
                    )
                ).all()
            )
        entries = [_audit_entry(r) for r in rows]  # the table's journaled reads have seq 0
        waiting = [e for e in entries if e.seq == 0]
        if journaled is not None:
            owner, found = journaled
            if found and owner is not None and owner != state.get(LEDGER_ID):
                raise LedgerError(_foreign(str(self.reads_path)))
            waiting += [e for i, e in found if i > state[READS_CHAINED_UPTO]]
        return [e for e in entries if e.seq != 0] + waiting

    def index_checks(self, *, limit: int | None = None) -> int:
        """Add the check entries written since the last call to ``audit_check_index``, sorted
        by subject, in one transaction; returns how many. With ``limit``, at most that many
        entries of the log are looked at (the writer's lock is held for a bounded time; call
        again for the rest). The service's chainer calls it every few seconds; until then
        :meth:`access_log` finds them by a scan."""
        self._check_ready()
        log, state = t_audit_log, t_ledger_state
        with _translated("indexing the audit log"), self._write() as conn:
            upto = conn.execute(
                sa.select(state.c.value).where(state.c.name == CHECK_INDEX_UPTO)
            ).scalar_one()
            newest = conn.execute(sa.select(sa.func.max(log.c.seq))).scalar()
            if newest is None or newest <= upto:
                return 0
            if limit is not None:
                newest = min(int(newest), int(upto) + limit)
            # run inside the database: no row comes up to Python
            checks = (
                sa.select(log.c.subject, log.c.seq)
                .where(
                    log.c.seq > upto,
                    log.c.seq <= newest,
                    log.c.action.like("check %"),
                    log.c.subject.is_not(None),
                )
                .order_by(log.c.subject, log.c.seq)
            )
            # rows a stepwise indexer (CheckLogWriter) added before it was stopped are there
            # already: they are skipped, and not counted
            inserted = conn.execute(
                self._insert_ignoring(t_audit_check_index).from_select(["subject", "seq"], checks),
                execution_options={"preserve_rowcount": True},
            )
            added = max(inserted.rowcount, 0)
            conn.execute(
                state.update().where(state.c.name == CHECK_INDEX_UPTO).values(value=newest)
            )
        return int(added)

    def verify_audit(self) -> bool:
        """True if the chain is intact; otherwise raise :class:`LedgerError` naming the first
        entry whose hash, link or sequence is wrong. Reads still in the read journal are not in
        the chain yet (:meth:`reads_waiting` says how many); nothing is written, and no lock a
        writer takes is waited for."""
        self._check_ready()
        prev = GENESIS
        expected = 1
        digests: dict[int, str] = {}
        with _translated("reading the audit log"), self._read() as conn:
            result = conn.execution_options(yield_per=5_000).execute(
                sa.select(t_audit_log).order_by(t_audit_log.c.seq)
            )
            with result:
                for row in result:
                    entry = _audit_entry(row)
                    if entry.seq != expected:
                        raise LedgerError(
                            f"audit log broken at seq {expected}: entry missing "
                            f"(next entry is seq {entry.seq})"
                        )
                    if entry.prev_hash != prev:
                        raise LedgerError(
                            f"audit log broken at seq {entry.seq}: "
                            f"it does not link to seq {expected - 1}"
                        )
                    digest = _audit_hash(
                        prev,
                        entry.seq,
                        entry.at,
                        entry.actor,
                        entry.action,
                        entry.subject,
                        entry.purpose,
                        row.detail,
                    )
                    if digest != entry.hash:
                        raise LedgerError(
                            f"audit log broken at seq {entry.seq}: "
                            "its content does not match its hash"
                        )
                    prev = entry.hash
                    expected += 1
                    if isinstance(entry.detail, dict) and "subjects_sha256" in entry.detail:
                        digests[entry.seq] = str(entry.detail["subjects_sha256"])
            self._verify_check_index(conn)
            self._verify_subjects(conn, digests)
        return True

    def _verify_subjects(self, conn: Connection, digests: dict[int, str]) -> None:
        """Each write's list of touched subjects must match the digest its entry holds."""
        named = named_subjects().subquery()
        result = conn.execution_options(yield_per=20_000).execute(
            sa.select(named.c.seq, named.c.subject)
            .distinct()
            .order_by(named.c.seq, named.c.subject)
        )
        seen: set[int] = set()
        current: int | None = None
        subjects: list[str] = []

        def close(seq: int) -> None:
            if digests.get(seq) != _subjects_digest(subjects):
                raise LedgerError(
                    f"audit log broken at seq {seq}: its list of subjects was changed"
                )
            seen.add(seq)

        with result:
            for seq, subject in result:
                if seq != current:
                    if current is not None:
                        close(current)
                    current, subjects = int(seq), []
                subjects.append(str(subject))
        if current is not None:
            close(current)
        missing = sorted(set(digests) - seen)
        if missing:
            raise LedgerError(f"audit log broken at seq {missing[0]}: its list of subjects is gone")

    def _verify_check_index(self, conn: Connection) -> None:
        """The check index is derived from the chain: each indexed entry must be a check about
        its subject, and every check up to the index's mark must be indexed (so no access can
        be hidden from its subject by deleting index rows)."""
        log, index, state = t_audit_log, t_audit_check_index, t_ledger_state
        upto = conn.execute(
            sa.select(state.c.value).where(state.c.name == CHECK_INDEX_UPTO)
        ).scalar_one()
        wrong = conn.execute(
            sa.select(index.c.seq)
            .select_from(index.outerjoin(log, log.c.seq == index.c.seq))
            .where(
                sa.or_(
                    log.c.seq.is_(None),
                    log.c.subject.is_distinct_from(index.c.subject),
                    log.c.action.not_like("check %"),
                )
            )
            .order_by(index.c.seq)
            .limit(1)
        ).scalar()
        if wrong is not None:
            raise LedgerError(f"audit check index broken at seq {wrong}: no such check entry")
        missing = conn.execute(
            sa.select(log.c.seq)
            .select_from(
                log.outerjoin(
                    index, sa.and_(index.c.seq == log.c.seq, index.c.subject == log.c.subject)
                )  # fmt: skip
            )
            .where(
                log.c.seq <= upto,
                log.c.action.like("check %"),
                log.c.subject.is_not(None),
                index.c.seq.is_(None),
            )
            .order_by(log.c.seq)
            .limit(1)
        ).scalar()
        if missing is not None:
            raise LedgerError(f"audit check index broken at seq {missing}: entry not indexed")

    def log_accesses(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Record many reads at once (one transaction, one chain segment): each entry has
        ``actor``, ``action``, ``subject``, ``purpose`` and optionally ``detail``."""
        return self.append_accesses([access_row(e) for e in entries])

    def append_accesses(self, entries: Sequence[AccessRow]) -> int:
        """:meth:`log_accesses` for entries already in their stored shape: ``(actor, action,
        subject, purpose, detail)`` with ``detail`` as JSON text with sorted keys (or ``None``).
        The check path's writer hands its batches here; the rows go through the driver's own
        ``executemany``, which costs a third of what the same insert costs through SQLAlchemy."""
        self._check_ready()
        if not entries:
            return 0
        if self.sqlite_path is not None:
            return self._append_raw(entries)
        with _translated("writing the audit log"), self._write() as conn:
            now = _now()
            try:
                rows, _ = chain_entries(entries, self._chain_head(conn), _utc(now).isoformat(),
                                        self._dialect.timestamp(now))  # fmt: skip
            except orjson.JSONEncodeError as exc:  # text that is not Unicode (a lone surrogate)
                raise AuditRejected(f"writing the audit log failed: {exc}") from None
            self._insert_chained(conn, rows)
        return len(entries)

    def _append_raw(self, entries: Sequence[AccessRow]) -> int:
        """:meth:`append_accesses` on a SQLite file, on a connection of the calling thread's
        own, outside SQLAlchemy: the audit writer commits a group every millisecond or two,
        and a group costs 0.09 ms this way against 0.44 ms through the pool and SQLAlchemy
        (measured here with ``synchronous=NORMAL``)."""
        conn = self._raw_connection()
        with self.turns:
            try:
                with immediate(conn):
                    now = _now()
                    rows, _ = chain_entries(entries, raw_head(conn), _utc(now).isoformat(),
                                            _sqlite_datetime(now))  # fmt: skip
                    insert_chained(conn, rows, sqlite=True)
            except (orjson.JSONEncodeError, sqlite3.IntegrityError, sqlite3.DataError,
                    ValueError) as exc:  # fmt: skip
                # what was sent, not the store's state: the same rows will fail again
                raise AuditRejected(f"writing the audit log failed: {exc}") from None
            except sqlite3.Error as exc:
                raise LedgerError(f"writing the audit log failed: {exc}") from None
        return len(entries)

    def dead_letter(self, entry: AccessRow, error: str) -> int:
        """Set aside an audit entry the store refused (:class:`AuditRejected`), so that the
        entries behind it are written: kept in ``audit_dead_letter`` with each text as Python
        writes it escaped (``ascii()``: a NUL becomes ``\\x00``), so that it always fits, and
        the error. Returns its id; the admin page raises the alarm while any are there."""
        self._check_ready()
        actor, action, subject, purpose, detail = entry
        row = {
            "at": _now(),
            "actor": ascii(actor)[:2000],
            "action": ascii(action)[:2000],
            "subject": None if subject is None else ascii(subject)[:2000],
            "purpose": ascii(purpose)[:20_000],
            "detail": None if detail is None else ascii(detail)[:20_000],
            "error": ascii(error)[:2000],
        }
        with _translated("setting an audit entry aside"), self._write() as conn:
            new = conn.execute(t_audit_dead_letter.insert().values(row)).inserted_primary_key
        assert new is not None
        return int(new[0])

    def dead_letters(self) -> list[dict[str, Any]]:
        """The audit entries set aside, oldest first (see :meth:`dead_letter`)."""
        self._check_ready()
        with _translated("reading the audit log"), self._read() as conn:
            rows = conn.execute(
                sa.select(t_audit_dead_letter).order_by(t_audit_dead_letter.c.id)
            ).all()
        return [{**row._asdict(), "at": _utc(row.at).isoformat()} for row in rows]

    def changes_since(self, seq: int) -> tuple[int, set[str]]:
        """Subjects whose projection was changed by writes after audit entry ``seq`` (records
        filed or imported, events appended: each write's entry names them, in
        ``audit_subjects``), and the newest seq: what a cache of the projection must reload.
        ``"*"`` among them: a write from before writes named their subjects (reload all)."""
        self._check_ready()
        action = t_audit_log.c.action
        with _translated("reading the audit log"), self._read() as conn:
            newest = conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar()
            rows = conn.execute(
                sa.select(t_audit_log.c.seq, t_audit_log.c.subject, action)
                .where(t_audit_log.c.seq > seq, sa.text(NOT_A_CHECK))  # ix_audit_log_writes
                .where(sa.or_(*(action.startswith(p) for p in WRITES_PREFIXES)))
                .order_by(t_audit_log.c.seq)
            ).all()
            touched = {r[1] for r in rows if r[1] is not None}
            writes = [int(r[0]) for r in rows]
            listed: set[int] = set()
            for chunk in _chunks(writes, CHUNK):
                of_chunk = named_subjects(lambda s, seqs=chunk: s.in_(seqs))
                for at, subject in conn.execute(of_chunk):
                    listed.add(int(at))
                    touched.add(str(subject))
        last = max(int(newest or 0), seq)
        if any(r[1] is None and int(r[0]) not in listed for r in rows):
            touched.add("*")  # written before writes named their subjects: reload everything
        return int(last), touched

    def audit_hash(self, seq: int) -> str | None:
        """The hash of audit entry ``seq`` (``None`` if there is none): with the seq, it names
        a point in this ledger's history that no other history shares."""
        self._check_ready()
        with _translated("reading the audit log"), self._read() as conn:
            value = conn.execute(
                sa.select(t_audit_log.c.hash).where(t_audit_log.c.seq == seq)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def last_audit_seq(self) -> int:
        self._check_ready()
        with _translated("reading the audit log"), self._read() as conn:
            value = conn.execute(sa.select(sa.func.max(t_audit_log.c.seq))).scalar_one()
        return int(value or 0)
