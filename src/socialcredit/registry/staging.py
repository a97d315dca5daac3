"""A bulk import staged beside the ledger, then moved in by one short transaction.

An import of a million records takes minutes; written in one transaction it would hold the
ledger's write lock all that time, and a serving registry's audit writer (whose entries hold
every check's answer back) would wait behind it until checks were refused. So
:meth:`~socialcredit.registry.ledger.Ledger.import_records` works in two steps on one
connection of its own:

1. *Staging*, in one read transaction (:meth:`Staging.snapshot`: every read sees the ledger as
   of its start; SQLite's read transaction in WAL mode, PostgreSQL's ``REPEATABLE READ``): the
   new rows go to temporary tables (``staged_records`` with the ids they would take,
   ``staged_subjects``), and the touched subjects are projected by the ledger's own projection
   code inside :meth:`Staging.shadowing`, where the unqualified name ``records`` is a temporary
   view of the ledger's records and the staged ones together, and ``projection`` and
   ``projection_grounds`` temporary tables of the same shape. Temporary tables are the
   connection's own: no writer waits for them, no reader sees them, and they die with the
   connection, so a process killed while staging leaves nothing.
2. *The swap* (:meth:`Staging.move`), one write transaction: set statements move the staged
   rows, subjects and projection into the ledger; the caller adds what must see the ledger as
   it is now (keys filed meanwhile, subjects another writer touched, the audit entry).

The dialects differ only here: SQLite's temporary schema is ``temp`` and the ledger's ``main``;
PostgreSQL's are ``pg_temp`` and the connection's current schema; both look an unqualified
name up in the temporary schema first, which is what :meth:`Staging.shadowing` relies on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

STAGED_RECORDS = "staged_records"
STAGED_SUBJECTS = "staged_subjects"
STAGED_REFRESHED = "staged_refreshed"
STAGED_PROJECTION = "staged_projection"
STAGED_GROUNDS = "staged_grounds"
PROJECTION_COLUMNS = ("subject", "ground", "since", "until", "computed_as_of")
GROUND_COLUMNS = ("id", "list", "memorandum", "measures")
_BATCH = 20_000


class Staging:
    """The temporary tables of one import on its connection ``conn``; ``columns``: the
    records table's columns other than ``id``, in the order the staged rows give them."""

    def __init__(self, conn: Connection, *, sqlite: bool, columns: Sequence[str]) -> None:
        self.conn = conn
        self.sqlite = sqlite
        self.columns = tuple(columns)
        self.temp = "temp" if sqlite else "pg_temp"
        self.ph = "?" if sqlite else "%s"
        self._main: str | None = None

    @property
    def main(self) -> str:
        """The schema the ledger's tables are in, quoted."""
        if self._main is None:
            if self.sqlite:
                self._main = "main"
            else:
                name = self.conn.exec_driver_sql("SELECT current_schema()").scalar_one()
                self._main = '"' + str(name).replace('"', '""') + '"'
        return self._main

    def _sql(self, sql: str, params: Any = None) -> Any:
        if params is None:
            return self.conn.exec_driver_sql(sql)
        return self.conn.exec_driver_sql(sql, params)

    def _index(self, table: str, column: str) -> None:
        name = f"{table}_{column}"
        if self.sqlite:  # SQLite names the index's schema, PostgreSQL puts it beside its table
            self._sql(f"CREATE INDEX temp.{name} ON {table} ({column})")
        else:
            self._sql(f"CREATE INDEX {name} ON {table} ({column})")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction over the ledger (writes go to temporary tables only)."""
        if self.sqlite:
            with self.conn.begin():
                yield
            return
        default = self.conn.default_isolation_level
        self.conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            with self.conn.begin():
                yield
        finally:  # the swap must read what is committed when it holds the lock
            self.conn.execution_options(isolation_level=default or "READ COMMITTED")

    def create(self) -> None:
        main = self.main
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_RECORDS} AS "
                  f"SELECT * FROM {main}.records WHERE 1 = 0")  # fmt: skip
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_SUBJECTS} "
                  "(subject VARCHAR(18) PRIMARY KEY, kind VARCHAR(12) NOT NULL)")  # fmt: skip
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_REFRESHED} (subject VARCHAR(18) PRIMARY KEY)")

    def _load(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows into a temporary table: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""
        names = ", ".join(columns)
        if self.sqlite:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"
            for start in range(0, len(rows), _BATCH):
                self._sql(sql, rows[start : start + _BATCH])
            return
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def add_records(self, rows: Sequence[tuple[Any, ...]], first_id: int) -> None:
        """``rows``: the records' column values in :attr:`columns` order; they take the ids
        from ``first_id`` on, in order (the swap shifts them if others were filed since)."""
        numbered = [(first_id + i, *r) for i, r in enumerate(rows)]
        self._load(STAGED_RECORDS, ("id", *self.columns), numbered)
        self._index(STAGED_RECORDS, "subject")
        self._index(STAGED_RECORDS, "counterpart")

    def add_subjects(self, kinds: dict[str, str]) -> None:
        self._load(STAGED_SUBJECTS, ("subject", "kind"), list(kinds.items()))

    def add_refreshed(self, subjects: set[str]) -> None:
        self._load(STAGED_REFRESHED, ("subject",), [(s,) for s in sorted(subjects)])

    def name_in_audit(self, seq: int) -> None:
        """The refreshed subjects as those the audit entry ``seq`` names (in the swap)."""
        self._sql(f"INSERT INTO audit_subjects (seq, subject) "
                  f"SELECT {int(seq)}, subject FROM {STAGED_REFRESHED}")  # fmt: skip

    @contextmanager
    def shadowing(self) -> Iterator[None]:
        """Inside, on this connection: ``records`` reads the ledger's records and the staged
        ones together, and ``projection`` and ``projection_grounds`` are empty temporary
        tables of the same shape, so that the ledger's projection code stages the touched
        subjects' projection unchanged. After: the view is dropped and the staged projection
        is ``staged_projection`` (its grounds ``staged_grounds``)."""
        main = self.main
        self._sql(f"CREATE TEMPORARY TABLE projection AS "
                  f"SELECT * FROM {main}.projection WHERE 1 = 0")  # fmt: skip
        self._index("projection", "subject")
        self._sql(f"CREATE TEMPORARY TABLE projection_grounds AS "
                  f"SELECT * FROM {main}.projection_grounds WHERE 1 = 0")  # fmt: skip
        # the grounds' ids are unique (the projection code adds them ON CONFLICT DO NOTHING)
        where = "temp." if self.sqlite else ""
        self._sql(f"CREATE UNIQUE INDEX {where}projection_grounds_id ON projection_grounds (id)")
        self._sql(f"CREATE TEMPORARY VIEW records AS SELECT * FROM {main}.records "
                  f"UNION ALL SELECT * FROM {self.temp}.{STAGED_RECORDS}")  # fmt: skip
        yield
        self._sql(f"DROP VIEW {self.temp}.records")
        self._sql(f"ALTER TABLE {self.temp}.projection RENAME TO {STAGED_PROJECTION}")
        self._sql(f"ALTER TABLE {self.temp}.projection_grounds RENAME TO {STAGED_GROUNDS}")

    def id_shift(self, first_id: int) -> int:
        """How far the staged ids move: the records filed since the snapshot (in the swap)."""
        latest = self._sql(f"SELECT max(id) FROM {self.main}.records").scalar()
        return int(latest or 0) + 1 - first_id

    def move(self, shift: int, subjects_seen: Any) -> None:
        """The swap's set statements: the staged records (ids moved by ``shift``), subjects
        (first seen ``subjects_seen``, as the driver stores it) and projection into the
        ledger; every refreshed subject's projection replaced by its staged one."""
        main, ph = self.main, self.ph
        names = ", ".join(self.columns)
        self._sql(f"INSERT INTO {main}.records (id, {names}) SELECT id + {int(shift)}, "
                  f"{names} FROM {STAGED_RECORDS}")  # fmt: skip
        if not self.sqlite:  # the ids were given: the sequence moves past them
            self._sql(f"SELECT setval(pg_get_serial_sequence('{main}.records', 'id'), "
                      f"(SELECT max(id) FROM {main}.records)) WHERE EXISTS "
                      f"(SELECT 1 FROM {main}.records)")  # fmt: skip
        # WHERE true: SQLite would otherwise read ON CONFLICT as part of the SELECT
        self._sql(f"INSERT INTO {main}.subjects (subject, kind, first_seen) "
                  f"SELECT subject, kind, {ph} FROM {STAGED_SUBJECTS} WHERE true "
                  "ON CONFLICT (subject) DO NOTHING", (subjects_seen,))  # fmt: skip
        grounds = ", ".join(GROUND_COLUMNS)
        self._sql(f"INSERT INTO {main}.projection_grounds ({grounds}) "
                  f"SELECT {grounds} FROM {STAGED_GROUNDS} WHERE true "
                  "ON CONFLICT (id) DO NOTHING")  # fmt: skip
        self._sql(f"DELETE FROM {main}.projection WHERE subject IN "
                  f"(SELECT subject FROM {STAGED_REFRESHED})")  # fmt: skip
        cols = ", ".join(PROJECTION_COLUMNS)
        # in index order: each index page is written once (unsorted, 3 times slower)
        self._sql(f"INSERT INTO {main}.projection ({cols}) "
                  f"SELECT {cols} FROM {STAGED_PROJECTION} ORDER BY subject")  # fmt: skip
