"""The ledger contract: the same tests against every backend (SQLite and PostgreSQL).

In the style of pyeventsourcing's recorder test cases: :class:`LedgerContract` holds the tests
and an abstract :meth:`create_ledger`; each backend subclasses it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from socialcredit.errors import (
    Conflict,
    FutureDate,
    ImportRejected,
    InputError,
    InvalidSubjectId,
    LedgerError,
    NotFound,
    OutsideMandate,
    UnknownRecordType,
)
from socialcredit.policy.loader import Loaded, load
from socialcredit.registry.ledger import (
    Ledger,
    NewRecord,
    ProjectedMeasure,
    RecordChecker,
    default_projector,
)
from socialcredit.registry.model import EventKind, LifecycleEvent, Record
from socialcredit.registry.staging import Staging

PERSON = "34052419800101001X"
OTHER = "110101198001010010"
ORG = "91110000600037341L"
TODAY = date(2024, 6, 1)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Migrate the registry behind ``engine`` down to ``revision`` in one transaction."""
    from alembic import command
    from alembic.config import Config

    from socialcredit.registry.ledger import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


DATA = Path(__file__).parents[1] / "data"


def refuse(subject: str = PERSON, key: str | None = "c-1", ref: str = "(2024) Zhi 1") -> NewRecord:
    return NewRecord(subject, "court.refuse", "court", date(2024, 1, 10), ref, client_key=key)


class LedgerContract:
    """Tests every ledger backend must pass."""

    url: str

    def create_ledger(self) -> Ledger:
        raise NotImplementedError

    @pytest.fixture
    def ledger(self) -> Iterator[Ledger]:
        ledger = self.create_ledger()
        ledger.init()
        try:
            yield ledger
        finally:
            ledger.close()

    def submit(self, ledger: Ledger, cat: Loaded, *records: NewRecord) -> list[str]:
        return [r.id for r in ledger.submit(records, catalog=cat, today=TODAY, actor="court")]

    # -- schema --------------------------------------------------------------------------------

    def test_uninitialised_database_says_how_to_fix_it(self) -> None:
        with self.create_ledger() as ledger:
            assert not ledger.is_initialised()
            with pytest.raises(LedgerError, match="run `socialcredit db init`"):
                ledger.count_records()
            with pytest.raises(LedgerError, match="not initialised"):
                ledger.facts(PERSON)

    @contextmanager
    def write_lock_held(self) -> Iterator[None]:
        """The ledger's write lock held by another connection (another process's writer)."""
        raise NotImplementedError
        yield

    def test_a_write_waits_for_the_lock_a_bounded_time(
        self, monkeypatch: pytest.MonkeyPatch, registry_catalog: Loaded
    ) -> None:
        """A filing behind a write that holds the lock for long (an import's swap) fails after
        the bound with an error that says so (the service's 503), writes nothing, and files
        once the lock is free."""
        from socialcredit.registry.ledger import dialect

        monkeypatch.setattr(dialect, "WRITE_WAIT_MS", 300)
        with self.create_ledger() as ledger:
            ledger.init()
        with self.create_ledger() as ledger:  # its connections made with the bound
            with self.write_lock_held():
                started = time.monotonic()
                with pytest.raises(
                    LedgerError, match=r"held the registry's lock for more than 0.3 s"
                ):
                    self.submit(ledger, registry_catalog, refuse())
                assert time.monotonic() - started < 20
            assert ledger.count_records() == 0
            assert self.submit(ledger, registry_catalog, refuse()) == ["1"]

    def test_init_is_idempotent(self, ledger: Ledger) -> None:
        ledger.init()
        assert ledger.is_initialised()
        assert ledger.count_records() == 0
        with self.create_ledger() as again:
            assert again.is_initialised()

    def test_migrations_create_exactly_the_declared_schema(self, ledger: Ledger) -> None:
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from socialcredit.registry.ledger import metadata

        engine = sa.create_engine(ledger.url)
        try:
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), metadata)
        finally:
            engine.dispose()
        assert diff == []

    # -- records -------------------------------------------------------------------------------

    def test_submit_and_read_back(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        (rid,) = self.submit(ledger, registry_catalog, refuse())
        assert ledger.record(rid) == Record(
            rid, PERSON, "court.refuse", "court", date(2024, 1, 10), "(2024) Zhi 1"
        )
        assert ledger.count_records() == 1
        assert list(ledger.subjects()) == [PERSON]

    def test_same_key_same_content_is_idempotent(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        first = ledger.submit([refuse()], catalog=registry_catalog, today=TODAY, actor="court")
        again = ledger.submit([refuse()], catalog=registry_catalog, today=TODAY, actor="court")
        assert first[0].created and not again[0].created
        assert first[0].id == again[0].id
        assert ledger.count_records() == 1

    def test_same_key_other_content_conflicts(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        self.submit(ledger, registry_catalog, refuse())
        with pytest.raises(Conflict, match="c-1"):
            self.submit(ledger, registry_catalog, refuse(ref="(2024) Zhi 2"))
        assert ledger.count_records() == 1

    def test_key_is_per_authority_and_optional(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        other = NewRecord(PERSON, "city.late_fee", "city", date(2024, 2, 1), "fee 1", None, "c-1")
        ids = self.submit(
            ledger, registry_catalog, refuse(), other, refuse(key=None), refuse(key=None)
        )
        assert len(set(ids)) == 4

    def test_submit_is_all_or_nothing(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        bad = NewRecord("123", "court.refuse", "court", date(2024, 1, 1), "x")
        with pytest.raises(ImportRejected) as caught:
            self.submit(ledger, registry_catalog, refuse(), bad)
        assert caught.value.problems[0][:2] == (2, "subject")
        assert ledger.count_records() == 0

    @pytest.mark.parametrize(
        ("record", "error"),
        [
            (NewRecord("1234", "court.refuse", "court", date(2024, 1, 1), "x"), InvalidSubjectId),
            (NewRecord(PERSON, "court.refuze", "court", date(2024, 1, 1), "x"), UnknownRecordType),
            (NewRecord(PERSON, "court.refuse", "city", date(2024, 1, 1), "x"), OutsideMandate),
            (NewRecord(PERSON, "court.refuse", "court", date(2030, 1, 1), "x"), FutureDate),
        ],
    )
    def test_a_single_bad_record_raises_its_own_error(
        self, ledger: Ledger, registry_catalog: Loaded, record: NewRecord, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            self.submit(ledger, registry_catalog, record)
        assert ledger.count_records() == 0

    def test_unknown_record(self, ledger: Ledger) -> None:
        for rid in ("1", "x", "-3"):
            with pytest.raises(NotFound):
                ledger.record(rid)
            with pytest.raises(NotFound):
                ledger.append_event(LifecycleEvent(rid, EventKind.fulfilled, TODAY))

    # -- events --------------------------------------------------------------------------------

    def test_events_are_appended_never_updates(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        (rid,) = self.submit(ledger, registry_catalog, refuse())
        before = ledger.record(rid)
        filed = LifecycleEvent(rid, EventKind.objection_filed, date(2024, 1, 20), PERSON, "wrong")
        upheld = LifecycleEvent(rid, EventKind.objection_upheld, date(2024, 2, 1), "court", "")
        ledger.append_event(filed)
        ledger.append_event(upheld)
        assert ledger.events_for(rid) == [filed, upheld]
        assert ledger.record(rid) == before
        assert ledger.count_records() == 1

    def test_event_client_key_is_idempotent(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        (rid,) = self.submit(ledger, registry_catalog, refuse())
        ev = LifecycleEvent(rid, EventKind.fulfilled, date(2024, 3, 1), "court", "paid")
        assert ledger.append_event(ev, client_key="e-1") == ev
        assert ledger.append_event(ev, client_key="e-1") == ev
        assert len(ledger.events_for(rid)) == 1
        with pytest.raises(Conflict):
            ledger.append_event(
                LifecycleEvent(rid, EventKind.fulfilled, date(2024, 3, 2), "court", "paid"),
                client_key="e-1",
            )

    def test_records_and_events_are_never_updated_or_deleted(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        """The ledger issues INSERTs only, except on the projection table."""
        engine = ledger._engine
        statements: list[str] = []

        def spy(*args: object) -> None:
            statements.append(str(args[2]).strip().upper())

        sa.event.listen(engine, "before_cursor_execute", spy)
        try:
            (rid,) = self.submit(ledger, registry_catalog, refuse())
            ledger.append_event(LifecycleEvent(rid, EventKind.fulfilled, TODAY, "court"))
            self.submit(ledger, registry_catalog, refuse())
        finally:
            sa.event.remove(engine, "before_cursor_execute", spy)
        writes = [s for s in statements if s.startswith(("UPDATE", "DELETE"))]
        assert writes and all(s.startswith("DELETE FROM PROJECTION ") for s in writes)

    # -- facts ---------------------------------------------------------------------------------

    def test_facts_include_organisations_the_subject_represents(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        role = NewRecord(PERSON, "samr.legal_rep", "samr", date(2023, 1, 1), "reg 1", ORG)
        org_rec = NewRecord(ORG, "samr.abnormal", "samr", date(2024, 2, 1), "abn 1")
        unrelated = refuse(subject=OTHER)
        role_id, org_id, other_id = self.submit(ledger, registry_catalog, role, org_rec, unrelated)
        ev = LifecycleEvent(org_id, EventKind.objection_filed, date(2024, 2, 5), ORG, "no")
        ledger.append_event(ev)
        facts = ledger.facts(PERSON)
        records = [f for f in facts if isinstance(f, Record)]
        assert {r.id for r in records} == {role_id, org_id}
        assert [f for f in facts if isinstance(f, LifecycleEvent)] == [ev]
        assert other_id not in {r.id for r in records}
        assert [f.id for f in ledger.facts(ORG) if isinstance(f, Record)] == [org_id]
        assert ledger.facts("91350100M0001TGQXM") == []

    def test_role_records_need_an_organisation(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        missing = NewRecord(PERSON, "samr.legal_rep", "samr", date(2023, 1, 1), "reg 1")
        person = NewRecord(PERSON, "samr.legal_rep", "samr", date(2023, 1, 1), "reg 1", OTHER)
        stray = NewRecord(PERSON, "court.refuse", "court", date(2023, 1, 1), "x", ORG)
        for bad, field in (
            (missing, "counterpart"),
            (person, "counterpart"),
            (stray, "counterpart"),
        ):
            with pytest.raises(Exception) as caught:
                self.submit(ledger, registry_catalog, bad)
            assert getattr(caught.value, "field", None) == field

    # -- audit ---------------------------------------------------------------------------------

    def test_audit_chain_verifies(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        self.submit(ledger, registry_catalog, refuse())
        ledger.log_access(actor="airline", action="check", subject=PERSON, purpose="boarding")
        ledger.log_access(
            actor="subject", action="profile", subject=PERSON, purpose="access", detail={"n": 1}
        )
        assert ledger.verify_audit() is True
        log = ledger.access_log(PERSON)
        assert [e.action for e in log] == ["records.submit", "check", "profile"]
        assert log[-1].detail == {"n": 1}
        assert log[1].prev_hash == log[0].hash

    def test_audit_tampering_is_detected_naming_the_seq(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        for purpose in ("a", "b", "c"):
            ledger.log_access(actor="x", action="check", subject=PERSON, purpose=purpose)
        self.raw(ledger, "UPDATE audit_log SET purpose = 'innocent' WHERE seq = 2")
        with pytest.raises(LedgerError, match="seq 2"):
            ledger.verify_audit()

    def test_audit_deletion_is_detected(self, ledger: Ledger) -> None:
        for purpose in ("a", "b", "c"):
            ledger.log_access(actor="x", action="check", subject=PERSON, purpose=purpose)
        self.raw(ledger, "DELETE FROM audit_log WHERE seq = 2")
        with pytest.raises(LedgerError, match="seq 2"):
            ledger.verify_audit()

    def test_audit_relinking_is_detected(self, ledger: Ledger) -> None:
        for purpose in ("a", "b", "c"):
            ledger.log_access(actor="x", action="check", subject=PERSON, purpose=purpose)
        self.raw(ledger, f"UPDATE audit_log SET prev_hash = '{'1' * 64}' WHERE seq = 3")
        with pytest.raises(LedgerError, match="seq 3"):
            ledger.verify_audit()

    def _checks(self, ledger: Ledger, *purposes: str, subject: str = PERSON) -> None:
        ledger.append_accesses(
            [
                ("consumer:k", "check restrict.flight", subject, p, '{"decision":"allow"}')
                for p in purposes
            ]  # fmt: skip
        )

    def test_checks_are_in_the_access_log_before_and_after_indexing(self, ledger: Ledger) -> None:
        ledger.log_access(actor="x", action="profile", subject=PERSON, purpose="p0")
        self._checks(ledger, "c1", "c2")
        self._checks(ledger, "other", subject=OTHER)
        ledger.log_access(actor="x", action="profile", subject=PERSON, purpose="p3")
        self._checks(ledger, "c4")
        before = [(e.seq, e.purpose) for e in ledger.access_log(PERSON)]
        assert before == [(1, "p0"), (2, "c1"), (3, "c2"), (5, "p3"), (6, "c4")]
        assert ledger.index_checks() == 4
        assert ledger.index_checks() == 0  # nothing new
        self._checks(ledger, "c7")  # after the mark: found by the scan
        after = [(e.seq, e.purpose) for e in ledger.access_log(PERSON)]
        assert after == [*before, (7, "c7")]
        assert [e.purpose for e in ledger.access_log(OTHER)] == ["other"]
        assert ledger.verify_audit() is True

    def test_a_check_hidden_from_its_subject_is_detected(self, ledger: Ledger) -> None:
        self._checks(ledger, "a", "b", "c")
        ledger.index_checks()
        self.raw(ledger, "DELETE FROM audit_check_index WHERE seq = 2")
        assert [e.purpose for e in ledger.access_log(PERSON)] == ["a", "c"]
        with pytest.raises(LedgerError, match="seq 2: entry not indexed"):
            ledger.verify_audit()

    def test_an_index_entry_without_its_check_is_detected(self, ledger: Ledger) -> None:
        self._checks(ledger, "a")
        ledger.log_access(actor="x", action="profile", subject=PERSON, purpose="p")
        ledger.index_checks()
        self.raw(ledger, f"INSERT INTO audit_check_index (subject, seq) VALUES ('{OTHER}', 2)")
        with pytest.raises(LedgerError, match="seq 2: no such check entry"):
            ledger.verify_audit()

    def test_index_rows_past_the_mark_are_not_shown_twice_nor_in_the_way(
        self, ledger: Ledger
    ) -> None:
        # what a stepwise indexer leaves when stopped half-way through a pass
        self._checks(ledger, "a", "b", "c")
        self.raw(ledger, f"INSERT INTO audit_check_index (subject, seq) VALUES ('{PERSON}', 2)")
        assert [e.purpose for e in ledger.access_log(PERSON)] == ["a", "b", "c"]
        assert ledger.verify_audit() is True
        assert ledger.index_checks() == 2  # the other two; the row there is kept
        assert [e.purpose for e in ledger.access_log(PERSON)] == ["a", "b", "c"]
        assert ledger.verify_audit() is True

    def test_upgrading_indexes_the_checks_already_written(self, ledger: Ledger) -> None:

        self._checks(ledger, "a", "b")
        engine = sa.create_engine(ledger.url)
        try:
            downgrade(engine, "0002")
            ledger.log_access(actor="x", action="check m", subject=PERSON, purpose="c")
        finally:
            engine.dispose()
        ledger.init()  # 0002 -> head
        assert ledger.index_checks() == 0  # the upgrade indexed all three
        assert [e.purpose for e in ledger.access_log(PERSON)] == ["a", "b", "c"]
        assert ledger.verify_audit() is True

    def test_upgrading_keeps_idempotency(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        """Migrations 0013 (digests as bytes, the counterpart index partial), 0016 (no
        digests: the columns compared) and 0017 (the writes' subjects keyed anew) and back,
        on a registry with records, a role record and events: the digests are converted,
        made again from the columns on the way down, and dropped on the way up, so that the
        same records are still recognised and other content still refused; the writes' lists
        of subjects are kept."""

        def content_hash(*content: str | None) -> bytes:  # as the ledger stored it until 0016
            return hashlib.sha256("\x1f".join(v or "" for v in content).encode()).digest()

        role = NewRecord(PERSON, "samr.legal_rep", "samr", date(2024, 1, 5), "rep 1", ORG, "r-1")
        rid, role_id = self.submit(ledger, registry_catalog, refuse(), role)
        event = LifecycleEvent(rid, EventKind.objection_filed, date(2024, 1, 20), PERSON, "no")
        ledger.append_event(event)
        digest = content_hash(PERSON, "court.refuse", "court", "2024-01-10", "(2024) Zhi 1", None)
        assert len(digest) == 32
        engine = sa.create_engine(ledger.url)
        stored = sa.text("SELECT content_hash FROM records WHERE id = :id")
        named = ledger.changes_since(0)
        logged = [(e.seq, e.action) for e in ledger.access_log(PERSON)]
        assert "records.submit" in {a for _, a in logged}
        role_digest = content_hash(PERSON, "samr.legal_rep", "samr", "2024-01-05", "rep 1", ORG)
        try:
            downgrade(engine, "0015")
            with engine.connect() as conn:
                assert bytes(conn.execute(stored, {"id": int(rid)}).scalar()) == digest
                assert bytes(conn.execute(stored, {"id": int(role_id)}).scalar()) == role_digest
            downgrade(engine, "0012")
            with engine.connect() as conn:
                assert conn.execute(stored, {"id": int(rid)}).scalar() == digest.hex()
            ledger.init()  # 0012 -> head
            with engine.connect() as conn:
                columns = {c["name"] for c in sa.inspect(conn).get_columns("records")}
                assert "content_hash" not in columns
        finally:
            engine.dispose()
        again = ledger.submit([refuse()], catalog=registry_catalog, today=TODAY, actor="court")
        assert again[0].id == rid and not again[0].created
        with pytest.raises(Conflict, match="c-1"):
            self.submit(ledger, registry_catalog, refuse(ref="(2024) Zhi 2"))
        assert ledger.events_for(rid) == [event]
        assert ledger.count_records() == 2
        # the writes' lists of subjects went down to 0012 and back (0017 keys them anew)
        assert ledger.verify_audit() is True
        assert ledger.changes_since(0)[1] == named[1] == {PERSON}
        seen = [(e.seq, e.action) for e in ledger.access_log(PERSON)]
        assert seen[: len(logged)] == logged
        facts = ledger.facts(PERSON)
        assert sorted(f.id for f in facts if isinstance(f, Record)) == sorted([rid, role_id])
        assert event in facts
        if ledger.url.startswith("sqlite"):  # the role records by organisation, by the index
            query = "EXPLAIN QUERY PLAN SELECT subject FROM records WHERE counterpart = :c"
            with engine.connect() as conn:
                plan = conn.execute(sa.text(query), {"c": ORG}).all()
            assert "ix_records_counterpart" in str(plan)

    def test_a_session_works_while_open_and_its_key_is_live(self, ledger: Ledger) -> None:
        token = ledger.create_key(role="subject", principal=PERSON, actor="test")
        assert ledger.open_session("sc_000000000000_nope", seconds=60) is None
        session = ledger.open_session(token, seconds=3_600)
        assert session is not None and session.startswith("ss_") and token not in session
        key = ledger.session_key(session)
        assert key is not None and (key.role, key.principal) == ("subject", PERSON)
        other = ledger.open_session(token, seconds=3_600)
        assert other is not None and other != session
        ledger.end_session(session)
        assert ledger.session_key(session) is None  # signed out
        assert ledger.session_key(other) is not None  # the other stays open
        assert ledger.session_key("ss_" + "A" * 43) is None
        assert ledger.session_key(token) is None  # the key is not a session
        expired = ledger.open_session(token, seconds=0)
        assert expired is not None and ledger.session_key(expired) is None
        ledger.revoke_key(token.split("_")[1], actor="test")
        assert ledger.session_key(other) is None  # the key is revoked
        with pytest.raises(InputError, match="seconds"):
            ledger.open_session(token, seconds=-1)

    def raw(self, ledger: Ledger, sql: str) -> None:
        engine = sa.create_engine(ledger.url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    # -- projection ----------------------------------------------------------------------------

    def test_projection_replace_per_subject(self, ledger: Ledger) -> None:
        one = ProjectedMeasure("restrict.flight", "debtors", "consumption", date(2024, 1, 1), None)
        two = ProjectedMeasure("restrict.train", "debtors", "consumption", None, date(2024, 3, 1))
        ledger.replace_projection(PERSON, [one, two], as_of=TODAY)
        ledger.replace_projection(OTHER, [one], as_of=TODAY)
        got = ledger.active_measures(PERSON)
        assert [(m.measure, m.computed_as_of) for m in got] == [
            ("restrict.flight", TODAY),
            ("restrict.train", TODAY),
        ]
        assert [m.measure for m in ledger.active_measures(PERSON, on=TODAY)] == ["restrict.flight"]
        ledger.replace_projection(PERSON, [], as_of=TODAY)
        assert ledger.active_measures(PERSON) == []
        assert len(ledger.active_measures(OTHER)) == 1

    def test_submit_refreshes_the_projection_through_roles(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        role = NewRecord(PERSON, "samr.legal_rep", "samr", date(2023, 1, 1), "reg 1", ORG)
        self.submit(ledger, registry_catalog, role)
        assert ledger.active_measures(PERSON) == []
        # the organisation is listed as a debtor: its legal representative is restricted too
        self.submit(ledger, registry_catalog, refuse(subject=ORG))
        (mine,) = ledger.active_measures(PERSON)
        assert (mine.measure, mine.list, mine.since) == (
            "restrict.flight",
            "debtors",
            date(2024, 1, 10),
        )
        assert [m.measure for m in ledger.active_measures(ORG)] == ["restrict.flight"]

    def test_refresh_projections_after_an_event(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        (rid,) = self.submit(ledger, registry_catalog, refuse())
        assert len(ledger.active_measures(PERSON)) == 1
        ledger.append_event(LifecycleEvent(rid, EventKind.revoked, date(2024, 2, 1), "court"))
        project = default_projector(registry_catalog, TODAY)
        assert ledger.refresh_projections([PERSON], project=project, as_of=TODAY) == 1
        assert ledger.active_measures(PERSON) == []

    # -- bulk ----------------------------------------------------------------------------------

    def test_bulk_import_is_idempotent(self, ledger: Ledger, registry_catalog: Loaded) -> None:
        checker = RecordChecker(registry_catalog, today=TODAY)
        rows = [
            checker.check(PERSON, "court.refuse", "court", "2024-01-01", f"ref {i}", None, f"k{i}")
            for i in range(50)
        ]
        project = default_projector(registry_catalog, TODAY)
        first = ledger.import_records(rows, actor="court", as_of=TODAY, project=project)
        second = ledger.import_records(rows, actor="court", as_of=TODAY, project=project)
        assert (first.imported, first.skipped) == (50, 0)
        assert (second.imported, second.skipped) == (0, 50)
        assert ledger.count_records() == 50
        assert ledger.verify_audit()

    def test_an_import_names_its_records_subjects_by_their_ids(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        """An import names the subjects of the records it added by the range of their ids
        (one row), and a row each only for the others it refreshed (a role holder); the
        access log, the poller's changes and the chain's check read both; a range changed is
        detected; down to 0017 and back, the subjects are named a row each and then still."""

        role = NewRecord(OTHER, "samr.legal_rep", "samr", date(2024, 1, 5), "rep 1", ORG, "r-1")
        self.submit(ledger, registry_catalog, refuse(), role)
        before = ledger.last_audit_seq()
        checker = RecordChecker(registry_catalog, today=TODAY)
        rows = [
            checker.check(s, t, a, "2024-02-01", f"imp {i}", None, f"i{i}")
            for i, (s, t, a) in enumerate(
                [
                    (PERSON, "court.refuse", "court"),
                    (ORG, "court.refuse", "court"),
                    (PERSON, "city.late_fee", "city"),
                ]  # fmt: skip
            )
        ]
        project = default_projector(registry_catalog, TODAY)
        ledger.import_records(rows, actor="court", as_of=TODAY, project=project)
        seq = ledger.last_audit_seq()
        assert ledger.changes_since(before) == (seq, {PERSON, ORG, OTHER})
        engine = sa.create_engine(ledger.url)
        try:
            with engine.connect() as conn:
                ranges = conn.execute(sa.text("SELECT seq, first_id, last_id FROM audit_records"))
                assert ranges.all() == [(seq, 3, 5)]
                listed = conn.execute(
                    sa.text("SELECT subject FROM audit_subjects WHERE seq = :s"), {"s": seq}
                )
                assert listed.scalars().all() == [OTHER]  # the role holder alone
            for subject in (PERSON, ORG, OTHER):
                assert seq in [e.seq for e in ledger.access_log(subject)], subject
            assert ledger.verify_audit() is True
            downgrade(engine, "0017")
            with engine.connect() as conn:
                listed = conn.execute(
                    sa.text("SELECT subject FROM audit_subjects WHERE seq = :s ORDER BY subject"),
                    {"s": seq},
                )
                assert listed.scalars().all() == sorted([PERSON, ORG, OTHER])
            ledger.init()  # 0017 -> head
            assert ledger.changes_since(before) == (seq, {PERSON, ORG, OTHER})
            assert ledger.verify_audit() is True
            # a range is covered by the chain: one fewer record named is found out
            ledger.import_records(
                [checker.check(ORG, "samr.abnormal", "samr", "2024-03-01", "x", None, "x1"),
                 checker.check(OTHER, "city.late_fee", "city", "2024-03-01", "y", None, "y1")],
                actor="court", as_of=TODAY, project=project,
            )  # fmt: skip
            assert ledger.verify_audit() is True
            with engine.begin() as conn:
                last = "(SELECT max(seq) FROM audit_records)"
                conn.execute(sa.text(f"UPDATE audit_records SET last_id = last_id - 1 "
                                     f"WHERE seq = {last}"))  # fmt: skip
        finally:
            engine.dispose()
        with pytest.raises(LedgerError, match="list of subjects"):
            ledger.verify_audit()

    def test_the_subjects_seen_are_those_of_records_and_named_organisations(
        self, ledger: Ledger, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``subjects()`` lists, in order and page by page, the subjects of filed and imported
        records and the organisations role records name, each once; down to 0018 the
        ``subjects`` table is rebuilt from the records with each one's kind and first sight,
        and back at the head it is gone."""

        from socialcredit.registry.ledger import records as records_module

        monkeypatch.setattr(records_module, "SUBJECTS_PAGE", 2)
        assert list(ledger.subjects()) == []
        role = NewRecord(OTHER, "samr.legal_rep", "samr", date(2024, 1, 5), "rep 1", ORG, "r-1")
        self.submit(ledger, registry_catalog, refuse(), role)
        assert list(ledger.subjects()) == sorted([PERSON, OTHER, ORG])
        checker = RecordChecker(registry_catalog, today=TODAY)
        imported = ["110101195001010009", "110101195001020004", "11010119500103000X"]
        rows = [
            checker.check(s, "city.late_fee", "city", "2024-02-01", f"imp {i}", None, f"i{i}")
            for i, s in enumerate([*imported, PERSON])
        ]
        project = default_projector(registry_catalog, TODAY)
        ledger.import_records(rows, actor="city", as_of=TODAY, project=project)
        seen = sorted([PERSON, OTHER, ORG, *imported])
        assert list(ledger.subjects()) == seen
        engine = sa.create_engine(ledger.url)
        try:
            downgrade(engine, "0018")
            with engine.connect() as conn:
                table = conn.execute(sa.text("SELECT subject, kind FROM subjects ORDER BY subject"))
                kinds = {ORG: "organisation"}
                assert table.all() == [(s, kinds.get(s, "person")) for s in seen]
                first = conn.execute(
                    sa.text(
                        "SELECT s.first_seen = (SELECT min(entered_at) FROM records r "
                        "WHERE r.subject = s.subject OR r.counterpart = s.subject) "
                        "FROM subjects s"
                    )  # fmt: skip
                )
                assert all(first.scalars())
            ledger.init()  # 0018 -> head
            assert not sa.inspect(engine).has_table("subjects")
        finally:
            engine.dispose()
        assert list(ledger.subjects()) == seen

    def test_a_role_holders_measures_name_the_role_and_keep_their_days_down_to_0019(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        """The legal representative of a listed company is restricted through his role, and
        his projected measures say so (``via_role``), the company's own do not; down to 0019
        the role leaves the grounds and the measures stay as they were."""
        role = NewRecord(OTHER, "samr.legal_rep", "samr", date(2024, 1, 5), "rep 1", ORG, "r-1")
        listing = NewRecord(ORG, "court.refuse", "court", date(2024, 1, 10), "(2024) 9", None,
                            "c-9")  # fmt: skip
        self.submit(ledger, registry_catalog, role, listing)
        held = ledger.active_measures(OTHER)
        assert held and {m.via_role for m in held} == {"legal_representative"}
        own = ledger.active_measures(ORG)
        assert own and {m.via_role for m in own} == {None}

        def days(ms: Sequence[ProjectedMeasure]) -> list[tuple[Any, ...]]:
            return [(m.measure, m.list, m.memorandum, m.since, m.until) for m in ms]

        engine = sa.create_engine(ledger.url)
        try:
            downgrade(engine, "0019")
            ledger.init()  # 0019 -> head: the grounds name no role until projected again
        finally:
            engine.dispose()
        after = ledger.active_measures(OTHER)
        assert days(after) == days(held) and {m.via_role for m in after} == {None}
        assert days(ledger.active_measures(ORG)) == days(own)

    def test_a_subject_filed_on_while_an_import_is_staged_is_projected_with_both(
        self, ledger: Ledger, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Another writer files about a subject the import touches after the import read the
        ledger: the swap re-projects that subject, so neither write's effect is lost."""
        checker = RecordChecker(registry_catalog, today=TODAY)
        rows = [checker.check(PERSON, "city.late_fee", "city", "2024-01-01", "fee 1", None, "f1")]
        project = default_projector(registry_catalog, TODAY)
        staged = Staging.add_refreshed
        with Ledger.open(self.url) as other:

            def file_meanwhile(staging: Staging, subjects: set[str]) -> None:
                other.submit([refuse()], catalog=registry_catalog, today=TODAY, actor="court")
                staged(staging, subjects)

            monkeypatch.setattr(Staging, "add_refreshed", file_meanwhile)
            ledger.import_records(rows, actor="city", as_of=TODAY, project=project)
        assert ledger.count_records() == 2
        after_import = ledger.active_measures(PERSON)
        assert after_import, "the court's record filed meanwhile lost its measures"
        ledger.refresh_projections([PERSON], project=project, as_of=TODAY)
        key = [(m.measure, m.list, m.memorandum, m.since, m.until) for m in after_import]
        assert key == [(m.measure, m.list, m.memorandum, m.since, m.until)
                       for m in ledger.active_measures(PERSON)]  # fmt: skip
        assert ledger.verify_audit()

    def test_a_key_filed_while_an_import_is_staged_refuses_the_import(
        self, ledger: Ledger, registry_catalog: Loaded, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        checker = RecordChecker(registry_catalog, today=TODAY)
        rows = [checker.check(OTHER, "court.refuse", "court", "2024-01-01", f"r{i}", None, f"k{i}")
                for i in range(3)]  # fmt: skip
        project = default_projector(registry_catalog, TODAY)
        staged = Staging.add_refreshed
        with Ledger.open(self.url) as other:

            def file_meanwhile(staging: Staging, subjects: set[str]) -> None:
                other.submit([refuse(key="k1")], catalog=registry_catalog, today=TODAY,
                             actor="court")  # fmt: skip
                staged(staging, subjects)

            monkeypatch.setattr(Staging, "add_refreshed", file_meanwhile)
            with pytest.raises(ImportRejected) as caught:
                ledger.import_records(rows, actor="court", as_of=TODAY, project=project)
        assert [(n, f) for n, f, _m in caught.value.problems] == [(2, "client_key")]
        assert "while this import ran" in caught.value.problems[0][2]
        assert ledger.count_records() == 1  # the other writer's, nothing of the import
        monkeypatch.undo()  # run again: the key now names another record, as usual
        with pytest.raises(ImportRejected, match="line 2: client_key: .* different content"):
            ledger.import_records(rows, actor="court", as_of=TODAY, project=project)
        assert ledger.verify_audit()

    # -- names ---------------------------------------------------------------------------------

    def test_a_name_is_per_list_given_by_the_authority_that_first_published_the_subject_there(
        self, ledger: Ledger
    ) -> None:
        """The court names its debtor on its list; the city, first to list the same person on
        its own list, names them there; the market regulator, listing them second on the
        city's list, may not rename them on it; and no one renames the court's entry."""
        catalog = load(DATA / "registry.toml", Path(__file__).with_name("names_catalog.toml"))

        def file(rec: NewRecord) -> None:
            ledger.submit([rec], catalog=catalog, today=TODAY, actor=rec.authority)

        day = date(2024, 2, 1)
        file(NewRecord(PERSON, "court.refuse", "court", day, "z1", subject_name="Zhang San"))
        file(NewRecord(PERSON, "city.late_fee", "city", day, "f1", subject_name="Zhang S."))
        with pytest.raises(InputError, match="on list 'late_payers'") as caught:
            file(NewRecord(PERSON, "samr.unpaid_fee", "samr", day, "u1", subject_name="Other"))
        assert caught.value.field == "subject_name"
        with pytest.raises(InputError, match="puts no one on a published list"):
            file(NewRecord(OTHER, "samr.legal_rep", "samr", day, "r1", counterpart=ORG,
                           subject_name="Nobody"))  # fmt: skip
        both = [(PERSON, "debtors"), (PERSON, "late_payers")]
        assert ledger.names(both) == {both[0]: "Zhang San", both[1]: "Zhang S."}
        assert ledger.count_records() == 2  # the refused filings wrote nothing
        file(NewRecord(PERSON, "city.late_fee", "city", day, "f2", subject_name="Zhang San"))
        assert ledger.names(both) == {both[0]: "Zhang San", both[1]: "Zhang San"}
        named = [e.detail for e in ledger.access_log(PERSON) if e.action == "subject.name"]
        assert named == [
            {"list": "debtors", "name": "Zhang San", "previous": None},
            {"list": "late_payers", "name": "Zhang S.", "previous": None},
            {"list": "late_payers", "name": "Zhang San", "previous": "Zhang S."},
        ]
        assert ledger.verify_audit()

    def test_a_name_given_before_names_were_per_list_stands_for_every_list(
        self, ledger: Ledger, registry_catalog: Loaded
    ) -> None:
        ledger.submit([refuse()], catalog=registry_catalog, today=TODAY, actor="court")
        engine = sa.create_engine(ledger.url)
        with engine.begin() as conn:  # as migration 0010 keeps an earlier name
            conn.execute(sa.text("INSERT INTO subject_names (subject, list, name, authority, "
                                 "given_at) VALUES (:s, '', 'Old Name', 'court', :at)"),
                         {"s": PERSON, "at": datetime(2024, 1, 1, tzinfo=UTC)})  # fmt: skip
        engine.dispose()
        assert ledger.names([(PERSON, "debtors")]) == {(PERSON, "debtors"): "Old Name"}
        renamed = NewRecord(PERSON, "court.refuse", "court", date(2024, 1, 11), "z2",
                            client_key="c-2", subject_name="New Name")  # fmt: skip
        ledger.submit([renamed], catalog=registry_catalog, today=TODAY, actor="court")
        assert ledger.names([(PERSON, "debtors")]) == {(PERSON, "debtors"): "New Name"}

    # -- catalogs in force ---------------------------------------------------------------------

    def test_catalog_versions_are_activated_retired_and_audited(self, ledger: Ledger) -> None:
        text = (DATA / "registry.toml").read_text(encoding="utf-8")
        meta = {"source": "registry.toml", "catalog_id": "registry-test", "title": "T",
                "bundled": False, "content": text, "actor": "admin"}  # fmt: skip
        first = ledger.activate_catalog(version="1", in_force_from=date(2020, 1, 1), **meta)
        with pytest.raises(InputError, match="in force already"):
            ledger.activate_catalog(version="1", in_force_from=date(2021, 1, 1), **meta)
        with pytest.raises(InputError, match="not after the day"):
            ledger.retire_catalog(first.id, retired_from=date(2020, 1, 1), actor="admin")
        with pytest.raises(NotFound):
            ledger.retire_catalog(first.id + 99, retired_from=date(2021, 1, 1), actor="admin")
        retired = ledger.retire_catalog(first.id, retired_from=date(2021, 1, 1), actor="admin")
        second = ledger.activate_catalog(version="2", in_force_from=date(2021, 1, 1),
                                         **meta | {"content": text + "\n"})  # fmt: skip
        versions = ledger.catalog_versions()
        assert [(v.id, v.version, v.retired_from) for v in versions] == [
            (first.id, "1", date(2021, 1, 1)), (second.id, "2", None)]  # fmt: skip
        assert retired.in_force(date(2020, 12, 31)) and not retired.in_force(date(2021, 1, 1))
        assert second.in_force(date(2021, 1, 1)) and second.content.startswith("# A small")
        assert versions[0].activated_at.tzinfo is not None and versions[0].retired_by == "admin"
        assert ledger.verify_audit()


class TestSQLiteLedger(LedgerContract):
    @pytest.fixture(autouse=True)
    def _url(self, sqlite_url: str) -> None:
        self.url = sqlite_url

    def create_ledger(self) -> Ledger:
        return Ledger.open(self.url)

    @contextmanager
    def write_lock_held(self) -> Iterator[None]:
        other = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
        finally:
            other.close()

    def test_plain_path_means_sqlite(self, tmp_path: object) -> None:
        with Ledger.open(f"{tmp_path}/plain.db") as ledger:
            assert ledger.url.startswith("sqlite:///")
            ledger.init()
            assert ledger.count_records() == 0

    def test_sqlite_pragmas(self, ledger: Ledger) -> None:
        with ledger._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0

    def test_unreachable_database_is_a_ledger_error(self, tmp_path: object) -> None:
        with Ledger.open(f"{tmp_path}/missing/dir/x.db") as ledger, pytest.raises(LedgerError):
            ledger.init()


@pytest.mark.postgres
class TestPostgresLedger(LedgerContract):
    @pytest.fixture(autouse=True)
    def _url(self, pg_url: str) -> None:
        self.url = pg_url

    def create_ledger(self) -> Ledger:
        return Ledger.open(self.url)

    @contextmanager
    def write_lock_held(self) -> Iterator[None]:
        import psycopg
        from sqlalchemy.engine import make_url

        from socialcredit.registry.ledger.dialect import _AUDIT_LOCK

        plain = make_url(self.url).set(drivername="postgresql")
        with psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute("SELECT pg_advisory_lock(%s)", (_AUDIT_LOCK,))
            yield
