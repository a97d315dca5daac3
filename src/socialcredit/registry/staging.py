"""A bulk import staged beside the ledger, then moved in by one short transaction.

An import of a million records takes minutes; written in one transaction it would hold the
ledger's write lock all that time, and every other writer (filing authorities, the chainer
that moves a serving registry's reads into the audit chain) would wait behind it. So
:meth:`~socialcredit.registry.ledger.Ledger.import_staged` works in two steps on one
connection of its own:

1. *Staging*, in one read transaction (:meth:`Staging.snapshot`: every read sees the ledger as
   of its start; SQLite's read transaction in WAL mode, PostgreSQL's ``REPEATABLE READ``): the
   new rows stream into a temporary table (``staged_records``: ``executemany`` on SQLite,
   ``COPY`` on PostgreSQL, no index while they come), numbered in the order they come;
   then set statements find the keys already present or given twice (:meth:`duplicates`),
   index the rows, list the subjects (``staged_refreshed``; into an empty PostgreSQL ledger,
   as they are projected: :meth:`Staging.lists_while_projecting`) and those to project from
   all their facts (``staged_full``), and the touched subjects are projected inside
   :meth:`Staging.shadowing`, where the unqualified name ``records`` is a temporary view of
   the ledger's records and the staged ones together, and ``projection`` and
   ``projection_grounds`` temporary tables of the same shape. Temporary tables are the
   connection's own: no writer waits for them, no reader sees them, and they die with the
   connection, so a process killed while staging leaves nothing.
2. *The swap* (:meth:`Staging.move`), one write transaction: set statements move the staged
   rows, subjects and projection into the ledger (where the import at least doubles the
   records, the records' secondary indexes are dropped first and built again after, which
   sorts once instead of inserting at random); the caller adds what must see the ledger as it
   is now (keys filed meanwhile, subjects another writer touched, the audit entry).

The dialects differ only here: SQLite's temporary schema is ``temp`` and the ledger's ``main``;
PostgreSQL's are ``pg_temp`` and the connection's current schema; both look an unqualified
name up in the temporary schema first, which is what :meth:`Staging.shadowing` relies on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

STAGED_RECORDS = "staged_records"
STAGED_HOLDERS = "staged_holders"
STAGED_REFRESHED = "staged_refreshed"
STAGED_FULL = "staged_full"
STAGED_FACTS = "staged_facts"
STAGED_PROJECTION = "staged_projection"
STAGED_GROUNDS = "staged_grounds"
PROJECTION_COLUMNS = ("subject", "ground", "since", "until", "computed_as_of")
GROUND_COLUMNS = ("id", "list", "memorandum", "measures", "via_role")

STAGED_COLUMNS = (
    "subject",
    "subject_kind",
    "record_type",
    "authority",
    "decided_on",
    "decision_ref",
    "counterpart",
    "client_key",
    "type_no",
    "day_no",
    "line",
)
"""A staged row's values, in order: the record's (``decided_on`` as ISO text), then the
rulebook's number of its type (-1 if the rulebook has none), its day number (days since
1970-01-01) and the line of the file it came from."""

StagedRow = tuple[str, str, str, str, str, str, str | None, str | None, int, int, int]

Problem = tuple[int, str, str]
MAX_PROBLEMS = 10_000
"""Problems listed when an import is refused; beyond, one more entry says how many more."""

_BATCH = 20_000
_SQLITE_TEMP_CACHE_KIB = 262_144
"""The import connection's page cache for its temporary tables, and for the ledger's (SQLite's
default is 2 MiB and the ledger's connections' 64 MiB; a national import stages gigabytes and
moves them into indexes of hundreds of megabytes). The connection is closed after."""
_PG_WORK_MEM = "256MB"
"""PostgreSQL's memory for the import's sorts and hashes (its default, 4 MB, sorts a million
staged rows on disk)."""
_PG_TEMP_BUFFERS = "256MB"
"""PostgreSQL's cache of the session's temporary tables (its default, 8 MB, reads a staged
table of gigabytes through a keyhole); set before the first temporary table, in the
import's own session, which is closed after."""

_LOCK_STEP_MS = 200
"""How long one request of :meth:`Staging.records_alone` waits for the records table."""
_LOCK_PAUSE = 0.3
"""Seconds between two such requests, in which the readers queued behind one go on."""
_LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a lock not granted within ``lock_timeout``."""

_PACKED = "WITH (fillfactor = 100)"
"""A PostgreSQL index built after a bulk load: its pages packed full."""

_SQLITE_TYPES = {"decided_on": "TEXT", "type_no": "INTEGER",
                 "day_no": "INTEGER", "line": "INTEGER"}  # fmt: skip
_PG_TYPES = {
    "subject": "varchar(18)",
    "subject_kind": "varchar(12)",
    "record_type": "varchar(120)",
    "authority": "varchar(120)",
    "decided_on": "date",
    "decision_ref": "text",
    "counterpart": "varchar(18)",
    "client_key": "varchar(200)",
    "type_no": "integer",
    "day_no": "integer",
    "line": "bigint",
}
_NULLABLE = frozenset({"counterpart", "client_key"})


def subjects_digest(subjects: Iterable[str]) -> str:
    """SHA-256 of subjects given sorted, one per line: what an audit entry's
    ``subjects_sha256`` holds (:func:`socialcredit.registry.ledger.chain._subjects_digest`),
    computed as they stream from the staged table."""
    digest = hashlib.sha256()
    for subject in subjects:
        digest.update(subject.encode() + b"\n")
    return digest.hexdigest()


class Staging:
    """The temporary tables of one import on its connection ``conn``; ``columns``: the
    ledger's records table's columns other than ``id``, in its order."""

    def __init__(self, conn: Connection, *, sqlite: bool, columns: Sequence[str]) -> None:
        self.conn = conn
        self.sqlite = sqlite
        self.columns = tuple(columns)
        self.temp = "temp" if sqlite else "pg_temp"
        self.ph = "?" if sqlite else "%s"
        self._main: str | None = None
        self.offset = 0
        """What a staged id adds to be the id the row would take (set by :meth:`create`)."""
        self.bytewise = "" if sqlite else ' COLLATE "C"'
        """How the stage orders subjects where any order will do: PostgreSQL's bytewise
        collation sorts several times faster than a locale's (SQLite's is bytewise)."""
        self._copy: Any = None
        self._rows = 0
        """Rows staged (added, less the duplicates dropped): counted, not scanned for."""

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

    def _scalar(self, sql: str, params: Any = None) -> int:
        return int(self._sql(sql, params).scalar() or 0)

    def _index(self, name: str, table: str, columns: str, *, where: str = "",
               unique: bool = False) -> None:  # fmt: skip
        # SQLite names the index's schema, PostgreSQL puts it beside its table
        qualified = f"temp.{name}" if self.sqlite else name
        kind = "UNIQUE INDEX" if unique else "INDEX"
        self._sql(f"CREATE {kind} {qualified} ON {table} ({columns}){where}")

    def _driver(self) -> Any:
        return self.conn.connection.driver_connection

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

    # ---------------------------------------------------------------------------- the rows

    def create(self, first_id: int) -> None:
        """The staged tables; the rows will take the ids from ``first_id`` on, in the order
        they come (the swap shifts them if others were filed since)."""
        self.offset = first_id - 1
        if self.sqlite:
            self._sql(f"PRAGMA temp.cache_size = -{_SQLITE_TEMP_CACHE_KIB}")
            self._sql(f"PRAGMA main.cache_size = -{_SQLITE_TEMP_CACHE_KIB}")
        else:
            self._sql(f"SET temp_buffers = '{_PG_TEMP_BUFFERS}'")
            self._sql(f"SET LOCAL work_mem = '{_PG_WORK_MEM}'")
        self._create_records()
        rowid = " WITHOUT ROWID" if self.sqlite else ""
        # the refreshed subjects that are no staged row's subject (role holders)
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_HOLDERS} "
                  f"(subject VARCHAR(18) PRIMARY KEY){rowid}")  # fmt: skip
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_REFRESHED} "
                  f"(subject VARCHAR(18) PRIMARY KEY){rowid}")  # fmt: skip
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_FULL} (subject VARCHAR(18) PRIMARY KEY){rowid}")

    def _create_records(self) -> None:
        """``staged_records``, without an index: SQLite numbers its rows (the rowid), a
        PostgreSQL identity column does there."""
        types = _SQLITE_TYPES if self.sqlite else _PG_TYPES
        cols = ", ".join(f"{c} {types.get(c, 'TEXT')}{'' if c in _NULLABLE else ' NOT NULL'}"
                         for c in STAGED_COLUMNS)  # fmt: skip
        key = "INTEGER PRIMARY KEY" if self.sqlite else "bigint GENERATED BY DEFAULT AS IDENTITY"
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_RECORDS} (id {key}, {cols})")

    def add(self, rows: Sequence[StagedRow]) -> None:
        """Rows in :data:`STAGED_COLUMNS` order, after those added before."""
        if not rows:
            return
        self._rows += len(rows)
        names = ", ".join(STAGED_COLUMNS)
        if self.sqlite:
            marks = ", ".join(["?"] * len(STAGED_COLUMNS))
            cursor = self._driver().cursor()
            try:
                cursor.executemany(f"INSERT INTO {STAGED_RECORDS} ({names}) VALUES ({marks})", rows)
            finally:
                cursor.close()
            return
        cursor = self._driver().cursor()
        with cursor.copy(f"COPY {STAGED_RECORDS} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def count(self) -> int:
        """How many rows are staged."""
        return self._rows

    def duplicates(self, *, ledger_empty: bool, unique: bool = False) -> tuple[int, list[Problem]]:
        """Rows whose ``(authority, client_key)`` is stored in the ledger, or on an earlier
        staged row: with the same content they are skipped (deleted from the stage, and the
        rest numbered again without gaps); with other content each is a problem naming its
        line (the first :data:`MAX_PROBLEMS`, then how many more). Returns how many were
        skipped, or the problems (then nothing is deleted). ``unique``: no two staged rows share
        a key (known otherwise), so only the ledger's keys are looked at."""
        if self.sqlite and not unique:  # PostgreSQL groups the keys in a hash table
            self._key_index()
        main = self.main

        def stored(row: str) -> str:
            if ledger_empty:
                return "1 = 0"
            return (f"EXISTS (SELECT 1 FROM {main}.records r WHERE r.authority = {row}.authority "
                    f"AND r.client_key = {row}.client_key)")  # fmt: skip

        # rows whose key is stored, r: the stored record
        known = (f"{STAGED_RECORDS} s JOIN {main}.records r ON r.authority = s.authority "
                 "AND r.client_key = s.client_key")  # fmt: skip
        # the rows after the first of each key given more than once, f: that first row
        later = (f"{STAGED_RECORDS} s JOIN (SELECT authority, client_key, min(id) AS first "
                 f"FROM {STAGED_RECORDS} WHERE client_key IS NOT NULL "
                 "GROUP BY authority, client_key HAVING count(*) > 1) d "
                 "ON d.authority = s.authority AND d.client_key = s.client_key "
                 f"AND s.id > d.first JOIN {STAGED_RECORDS} f ON f.id = d.first "
                 f"WHERE NOT {stored('f')}")  # fmt: skip
        # how many of each, and of those how many with other content
        other = self._other_content("s", "{0}")
        differ = f"CASE WHEN {other} THEN 1 ELSE 0 END"
        counts = [(0, 0)] if ledger_empty else self._sql(
            f"SELECT count(*), sum({differ.format('r')}) FROM {known}").all()  # fmt: skip
        counts += [(0, 0)] if unique else self._sql(
            f"SELECT count(*), sum({differ.format('f')}) FROM {later}").all()  # fmt: skip
        (stored_n, stored_bad), (later_n, later_bad) = (
            (int(n), int(bad or 0)) for n, bad in counts
        )
        if stored_bad or later_bad:
            problems: list[Problem] = []
            rows = self._sql(
                f"SELECT s.line, s.client_key, s.authority, r.id FROM {known} "
                f"WHERE {other.format('r')} ORDER BY s.line LIMIT {MAX_PROBLEMS}"
            ) if stored_bad else []  # fmt: skip
            for line, key, authority, rid in rows:
                problems.append((int(line), "client_key", f"{key!r} already names record {rid} "
                                 f"of {authority!r} with different content"))  # fmt: skip
            rows = self._sql(
                f"SELECT s.line, s.client_key, s.authority, f.line FROM {later} "
                f"AND {other.format('f')} ORDER BY s.line LIMIT {MAX_PROBLEMS}"
            ) if later_bad else []  # fmt: skip
            for line, key, authority, first_line in rows:
                problems.append((int(line), "client_key", f"{key!r} of {authority!r} is used on "
                                 f"line {first_line} for a different record"))  # fmt: skip
            problems.sort()
            more = stored_bad + later_bad - MAX_PROBLEMS
            if more > 0:
                del problems[MAX_PROBLEMS:]
                problems.append((problems[-1][0], "client_key", f"and {more:,} more key(s) "
                                 "given for different content, on the lines after"))  # fmt: skip
            return 0, problems
        if stored_n:  # each with the same content
            self._sql(f"DELETE FROM {STAGED_RECORDS} WHERE id IN "
                      f"(SELECT s.id FROM {STAGED_RECORDS} s WHERE {stored('s')})")  # fmt: skip
        if later_n:
            self._sql(f"DELETE FROM {STAGED_RECORDS} WHERE id IN (SELECT s.id FROM {later})")
        if stored_n or later_n:
            self._renumber()
        self._rows -= stored_n + later_n
        return stored_n + later_n, []

    def _other_content(self, row: str, stored: str) -> str:
        """SQL: the rows ``row`` and ``stored`` differ in content (the columns idempotency
        compares, :data:`~socialcredit.registry.ledger.schema.RECORD_CONTENT`)."""
        from socialcredit.registry.ledger.schema import RECORD_CONTENT

        differs = "IS NOT" if self.sqlite else "IS DISTINCT FROM"  # NULL-safe
        return "(" + " OR ".join(f"{row}.{c} {differs} {stored}.{c}" for c in RECORD_CONTENT) + ")"

    def _key_index(self) -> None:
        self._index("staged_records_key", STAGED_RECORDS, "authority, client_key",
                    where=" WHERE client_key IS NOT NULL")  # fmt: skip

    def _renumber(self) -> None:
        """Number the staged rows 1, 2, ... again in their order (rows were skipped)."""
        if not self.sqlite:
            self._sql(f"UPDATE {STAGED_RECORDS} s SET id = n.rank FROM (SELECT id, "
                      f"row_number() OVER (ORDER BY id) AS rank FROM {STAGED_RECORDS}) n "
                      "WHERE s.id = n.id")  # fmt: skip
            return
        names = ", ".join(STAGED_COLUMNS)
        self._sql(f"ALTER TABLE {self.temp}.{STAGED_RECORDS} RENAME TO staged_old")
        self._create_records()
        self._sql(f"INSERT INTO {STAGED_RECORDS} ({names}) SELECT {names} FROM staged_old "
                  "ORDER BY id")  # fmt: skip
        self._sql(f"DROP TABLE {self.temp}.staged_old")  # and its index of keys

    def index(self) -> None:
        """The indexes the projection reads the staged rows by (built once, after the load):
        the role records by organisation; on SQLite every row by subject, covering what the
        subjects and the bulk projection read in the order they read it (PostgreSQL sorts
        them bytewise, and groups them in a hash table, faster than it builds such an index
        in a locale's collation)."""
        if self.sqlite:
            self._index("staged_records_subject", STAGED_RECORDS,
                        "subject, day_no, id, type_no, subject_kind")  # fmt: skip
        self._index("staged_records_counterpart", STAGED_RECORDS, "counterpart",
                    where=" WHERE counterpart IS NOT NULL")  # fmt: skip

    def lists_while_projecting(self, *, ledger_empty: bool) -> bool:
        """Whether the touched subjects are listed by the bulk projection's pass over the
        staged rows (:meth:`plain_rows` with ``list_subjects``, then :meth:`list_full`)
        rather than by :meth:`fill_subjects` before it: on PostgreSQL into an empty ledger,
        where that pass sorts every staged row by subject anyway and a listing of its own
        would group them all once more (28 s of a 15-million-record import). SQLite reads
        the subjects off the stage's index of subjects; a ledger holding records needs the
        touched subjects first, to find those it already has."""
        return ledger_empty and not self.sqlite

    def fill_subjects(self) -> int:
        """``staged_refreshed``: every subject of the staged rows (the touched subjects;
        until :meth:`add_refreshed`, no other); returns how many there are."""
        self._sql(f"INSERT INTO {STAGED_REFRESHED} (subject) "
                  f"SELECT subject FROM {STAGED_RECORDS} "
                  f"GROUP BY subject ORDER BY subject{self.bytewise}")  # fmt: skip
        return self._scalar(f"SELECT count(*) FROM {STAGED_REFRESHED}")

    def list_full(self) -> int:
        """After :meth:`plain_rows` listed the others: the subjects of ``staged_full`` into
        ``staged_refreshed`` (into an empty ledger, every one of them is touched: a staged
        role record's subject); returns how many subjects are listed in all."""
        self._sql(f"INSERT INTO {STAGED_REFRESHED} (subject) SELECT subject FROM {STAGED_FULL}")
        return self._scalar(f"SELECT count(*) FROM {STAGED_REFRESHED}")

    def role_holders(self, *, ledger_empty: bool) -> set[str]:
        """Persons whose role records (the ledger's or staged) name a touched subject as the
        organisation: their projection depends on the touched subjects' records."""
        # from the role records (few, indexed by counterpart) to the touched subjects; no
        # DISTINCT, which SQLite would answer by reading every row in the order of subjects
        touched = f"EXISTS (SELECT 1 FROM {STAGED_REFRESHED} t WHERE t.subject = {{}}.counterpart)"
        if self.lists_while_projecting(ledger_empty=ledger_empty):  # none listed yet: the
            # organisations named that have staged rows, their few names hashed and the
            # stage read once (not all its subjects hashed to look a few up)
            touched = (f"{{}}.counterpart IN (SELECT t.subject FROM {STAGED_RECORDS} t WHERE "
                       f"t.subject IN (SELECT c.counterpart FROM {STAGED_RECORDS} c "
                       "WHERE c.counterpart IS NOT NULL))")  # fmt: skip
        found = {str(s) for (s,) in self._sql(
            f"SELECT s.subject FROM {STAGED_RECORDS} s "
            f"WHERE s.counterpart IS NOT NULL AND {touched.format('s')}")}  # fmt: skip
        if not ledger_empty:
            found.update(str(s) for (s,) in self._sql(
                f"SELECT r.subject FROM {self.main}.records r "
                f"WHERE r.counterpart > '' AND {touched.format('r')}"))  # fmt: skip
        return found

    def fill_full(self, holders: Iterable[str], *, ledger_empty: bool) -> int:
        """``staged_full``: the subjects projected from all their facts (the reference's way):
        those with records in the ledger already, those holding a legal role (a staged role
        record, or one in ``holders``); the others are projected from their staged rows
        alone, in bulk. Returns how many there are."""
        if not ledger_empty:
            self._sql(f"INSERT INTO {STAGED_FULL} (subject) SELECT t.subject FROM "
                      f"{STAGED_REFRESHED} t WHERE EXISTS (SELECT 1 FROM "
                      f"{self.main}.records r WHERE r.subject = t.subject)")  # fmt: skip
        self._sql(f"INSERT INTO {STAGED_FULL} (subject) SELECT subject FROM {STAGED_RECORDS} "
                  "WHERE counterpart IS NOT NULL ON CONFLICT (subject) DO NOTHING")  # fmt: skip
        self._load(STAGED_FULL, ("subject",), [(s,) for s in sorted(holders)],
                   ignore_conflicts=True)  # fmt: skip
        return self._scalar(f"SELECT count(*) FROM {STAGED_FULL}")

    def full_subjects(self, size: int) -> Iterator[list[str]]:
        """The subjects of ``staged_full`` in order, ``size`` at a time."""
        after = ""
        ph = self.ph
        while True:
            page = [str(s) for (s,) in self._sql(
                f"SELECT subject FROM {STAGED_FULL} WHERE subject > {ph} ORDER BY subject "
                f"LIMIT {int(size)}", (after,))]  # fmt: skip
            if page:
                yield page
            if len(page) < size:
                return
            after = page[-1]

    def _stream(self, sql: str, size: int) -> Iterator[list[Any]]:
        """The rows of a query, ``size`` at a time, never all in memory (PostgreSQL: through a
        server-side cursor)."""
        driver = self._driver()
        cursor = driver.cursor() if self.sqlite else driver.cursor(name="staged_stream")
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def plain_rows(
        self, size: int, *, list_subjects: bool = False
    ) -> Iterator[list[tuple[str, int, int]]]:
        """``(subject, type_no, day_no)`` of the staged rows of subjects not in
        ``staged_full``, by subject, day and id, about ``size`` rows at a time and never a
        subject's rows split between two; with ``list_subjects``, each page's subjects go
        into ``staged_refreshed`` as it is given (:meth:`lists_while_projecting`)."""
        carry: list[tuple[str, int, int]] = []
        for fetched in self._stream(
            f"SELECT s.subject, s.type_no, s.day_no FROM {STAGED_RECORDS} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {STAGED_FULL} f WHERE f.subject = s.subject) "
            f"ORDER BY s.subject{self.bytewise}, s.day_no, s.id",
            size,
        ):
            rows = carry + fetched if carry else fetched
            last = rows[-1][0]
            cut = len(rows)
            while cut > 0 and rows[cut - 1][0] == last:
                cut -= 1
            carry = rows[cut:]
            if cut:
                page = rows[:cut]
                if list_subjects:
                    self._list_page(page)
                yield page
        if carry:
            if list_subjects:
                self._list_page(carry)
            yield carry

    def _list_page(self, rows: Sequence[tuple[str, int, int]]) -> None:
        """A page's subjects (sorted, none in another page) into ``staged_refreshed``."""
        self._load(
            STAGED_REFRESHED, ("subject",), [(s,) for s in dict.fromkeys(r[0] for r in rows)]
        )

    def add_refreshed(self, subjects: set[str]) -> None:
        """Subjects the swap names as refreshed, besides the touched ones (added before, by
        :meth:`fill_subjects`, or by :meth:`plain_rows` and :meth:`list_full`); once."""
        others = [(s,) for s in sorted(subjects - self.refreshed(subjects))]
        self._load(STAGED_REFRESHED, ("subject",), others)
        self._load(STAGED_HOLDERS, ("subject",), others)

    def refreshed(self, among: Iterable[str]) -> set[str]:
        """Those of ``among`` that the import refreshes."""
        wanted = sorted(set(among))
        found: set[str] = set()
        for start in range(0, len(wanted), 5_000):
            part = wanted[start : start + 5_000]
            marks = ", ".join([self.ph] * len(part))
            sql = f"SELECT subject FROM {STAGED_REFRESHED} WHERE subject IN ({marks})"
            found.update(str(s) for (s,) in self._sql(sql, tuple(part)))
        return found

    def refreshed_digest(self) -> tuple[int, str]:
        """How many subjects the import refreshes, and their digest (:func:`subjects_digest`)."""
        count = self._scalar(f"SELECT count(*) FROM {STAGED_REFRESHED}")
        pages = self._stream(f"SELECT subject FROM {STAGED_REFRESHED} ORDER BY subject", 50_000)
        return count, subjects_digest(s for page in pages for (s,) in page)

    def _load(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *,
              ignore_conflicts: bool = False) -> None:  # fmt: skip
        """Rows into a temporary table: ``executemany`` on SQLite, ``COPY`` on PostgreSQL
        (through a table of the same shape where conflicts are ignored)."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.sqlite:
            verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
            sql = f"{verb} INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"
            for start in range(0, len(rows), _BATCH):
                self._sql(sql, rows[start : start + _BATCH])
            return
        target = f"{table}_in" if ignore_conflicts else table
        if ignore_conflicts:
            self._sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} "
                      f"AS SELECT {names} FROM {table} WHERE 1 = 0")  # fmt: skip
        cursor = self._driver().cursor()
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if ignore_conflicts:
            self._sql(f"INSERT INTO {table} ({names}) SELECT DISTINCT {names} FROM {target} "
                      "ON CONFLICT DO NOTHING")  # fmt: skip
            self._sql(f"TRUNCATE {target}")

    def name_in_audit(self, seq: int, shift: int, count: int) -> None:
        """The refreshed subjects as those the audit entry ``seq`` names (in the swap, after
        :meth:`move` of ``count`` rows by ``shift``): the staged rows' subjects by the range
        of ids the rows took (``audit_records``), the others (role holders) a row each."""
        main, first = self.main, self.offset + shift + 1
        if count:
            self._sql(f"INSERT INTO {main}.audit_records (seq, first_id, last_id) "
                      f"VALUES ({int(seq)}, {int(first)}, {int(first + count - 1)})")  # fmt: skip
        self._sql(f"INSERT INTO {main}.audit_subjects (seq, subject) SELECT {int(seq)}, "
                  f"subject FROM {STAGED_HOLDERS} ORDER BY subject")  # fmt: skip

    # ---------------------------------------------------------------------- the projection

    @contextmanager
    def shadowing(self, entered_at: str) -> Iterator[None]:
        """Inside, on this connection: ``records`` reads the ledger's records and the staged
        ones of the subjects in ``staged_full`` and of the organisations their role records
        name (``entered_at``: the staged rows' entry time, as SQL), and
        ``projection`` and ``projection_grounds`` are empty temporary tables of the same
        shape, so that the ledger's projection code stages the touched subjects' projection
        unchanged. After: the view is dropped and the staged projection is
        ``staged_projection`` (its grounds ``staged_grounds``)."""
        main = self.main
        self._sql(f"CREATE TEMPORARY TABLE projection AS "
                  f"SELECT * FROM {main}.projection WHERE 1 = 0")  # fmt: skip
        self._sql(f"CREATE TEMPORARY TABLE projection_grounds AS "
                  f"SELECT * FROM {main}.projection_grounds WHERE 1 = 0")  # fmt: skip
        # the grounds' ids are unique (the projection code adds them ON CONFLICT DO NOTHING)
        self._index("projection_grounds_id", "projection_grounds", "id", unique=True)
        record_cols = ", ".join(self.columns)
        staged_cols = ", ".join(f"{entered_at} AS entered_at" if c == "entered_at" else c
                                for c in self.columns)  # fmt: skip
        # the staged rows the full projection reads: its subjects', and those of every
        # organisation a role record of theirs (staged, or in the ledger) names
        self._sql(f"CREATE TEMPORARY TABLE {STAGED_FACTS} AS SELECT * FROM {STAGED_RECORDS} "
                  f"WHERE subject IN (SELECT subject FROM {STAGED_FULL} UNION SELECT counterpart "
                  f"FROM {STAGED_RECORDS} WHERE counterpart IS NOT NULL UNION SELECT "
                  f"r.counterpart FROM {main}.records r JOIN {STAGED_FULL} f ON f.subject = "
                  "r.subject WHERE r.counterpart IS NOT NULL)")  # fmt: skip
        self._index("staged_facts_subject", STAGED_FACTS, "subject")
        self._sql(f"CREATE TEMPORARY VIEW records AS SELECT id, {record_cols} FROM "
                  f"{main}.records UNION ALL SELECT id + {int(self.offset)} AS id, "
                  f"{staged_cols} FROM {self.temp}.{STAGED_FACTS}")  # fmt: skip
        yield
        self._sql(f"DROP VIEW {self.temp}.records")
        self._sql(f"ALTER TABLE {self.temp}.projection RENAME TO {STAGED_PROJECTION}")
        self._sql(f"ALTER TABLE {self.temp}.projection_grounds RENAME TO {STAGED_GROUNDS}")

    def add_projection(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Projection rows ``(subject, ground, since, until, computed_as_of)`` (dates as ISO
        text) into the shadowing ``projection``."""
        self._load("projection", PROJECTION_COLUMNS, rows)

    # ----------------------------------------------------------------------------- the swap

    def id_shift(self) -> int:
        """How far the staged ids move: the records filed since the snapshot (in the swap)."""
        latest = self._scalar(f"SELECT max(id) FROM {self.main}.records")
        return latest - self.offset

    def keys_filed_since(self, shift: int) -> list[Problem]:
        """Staged rows whose ``(authority, client_key)`` a record filed since the snapshot
        (``shift`` of them, the last ids) holds: the import is to be run again, and will
        then skip or refuse that line as usual."""
        first = self.offset + 1
        return sorted(
            (
                int(line),
                "client_key",
                f"{key!r} of {authority!r} was filed as record {rid} "
                "while this import ran: import the file again",
            )  # fmt: skip
            for line, key, authority, rid in self._sql(
                f"SELECT s.line, s.client_key, s.authority, r.id FROM {self.main}.records r "
                f"JOIN {STAGED_RECORDS} s ON s.authority = r.authority "
                f"AND s.client_key = r.client_key WHERE r.id >= {int(first)} "
                f"AND r.id < {int(first + shift)}"
            )
        )

    def _record_indexes(self) -> list[tuple[str, str, str]]:
        """The ledger's secondary indexes on ``records`` (not the unique key): name, columns
        and, for a partial one, its ``WHERE`` clause."""
        from socialcredit.registry.ledger.schema import t_records

        out = []
        for index in sorted(t_records.indexes, key=lambda i: str(i.name)):
            if index.unique:
                continue  # pragma: no cover - the schema has none such
            where = index.dialect_options["sqlite" if self.sqlite else "postgresql"]["where"]
            cols = ", ".join(c.name for c in index.columns)
            out.append((str(index.name), cols, "" if where is None else f" WHERE {where}"))
        return out

    def _record_keys(self) -> list[tuple[str, str]]:
        """The records table's UNIQUE constraints: name, columns."""
        import sqlalchemy as sa

        from socialcredit.registry.ledger.schema import t_records

        return sorted(
            (str(c.name), ", ".join(col.name for col in c.columns))
            for c in t_records.constraints
            if isinstance(c, sa.UniqueConstraint)
        )

    def records_alone(self, patience: float, *, restore_ms: int) -> bool:
        """Whether the swap has the ledger's ``records`` to itself, as dropping the table's
        indexes and constraint needs: always on SQLite (its write lock is enough, and its
        readers read on from the WAL); on PostgreSQL once the table's ACCESS EXCLUSIVE lock is
        granted, which also shuts readers out until the swap commits. A request for that lock
        queues every later reader behind it, so it is made a fifth of a second at a time
        (:data:`_LOCK_STEP_MS`) with pauses in between, in which readers go on, until
        ``patience`` seconds have passed: ``False`` then, the table left as it was. The
        transaction's ``lock_timeout`` is set back to ``restore_ms`` after."""
        if self.sqlite:
            return True
        deadline = time.monotonic() + patience
        self._sql(f"SET LOCAL lock_timeout = {_LOCK_STEP_MS}")
        while True:
            savepoint = self.conn.begin_nested()
            try:
                self._sql(f"LOCK TABLE {self.main}.records IN ACCESS EXCLUSIVE MODE")
            except DBAPIError as exc:
                savepoint.rollback()
                if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                    raise  # the swap fails with it: no setting to restore
                if time.monotonic() < deadline:
                    time.sleep(_LOCK_PAUSE)
                    continue
                granted = False
            else:
                savepoint.commit()
                granted = True
            self._sql(f"SET LOCAL lock_timeout = {int(restore_ms)}")
            return granted

    def move(self, shift: int, entered_at: Any, *, rebuild: bool) -> None:
        """The swap's set statements: the staged records (ids moved by ``shift``; entry time
        ``entered_at`` as the driver stores it) and projection into the ledger; every
        refreshed subject's projection replaced by its staged one. ``rebuild``: drop the
        records' secondary indexes first and build them again after (worth it where the
        import at least doubles the table; on PostgreSQL its key's UNIQUE constraint too:
        only once :meth:`records_alone` said yes)."""
        main, ph = self.main, self.ph
        names = ", ".join(c for c in self.columns)
        values = ", ".join(ph if c == "entered_at" else c for c in self.columns)
        indexes = self._record_indexes() if rebuild else []
        for name, _cols, _where in indexes:
            self._sql(f"DROP INDEX {main}.{name}")
        unique = self._record_keys() if rebuild and not self.sqlite else []
        for name, _cols in unique:  # SQLite cannot drop a table's own UNIQUE constraint
            self._sql(f"ALTER TABLE {main}.records DROP CONSTRAINT {name}")
        # SQLite: in id order, the table's pages are written once each (its rowid order)
        order = " ORDER BY id" if self.sqlite else ""
        self._sql(f"INSERT INTO {main}.records (id, {names}) SELECT id + "
                  f"{int(self.offset + shift)}, {values} FROM {STAGED_RECORDS}{order}",
                  (entered_at,))  # fmt: skip
        # PostgreSQL fills the pages of an index it builds to 90% unless told otherwise,
        # leaving room for inserts in the middle; built after a load that at least doubled
        # the table, the index is packed full, and later inserts split what they need
        for name, cols, where in indexes:
            if self.sqlite:
                self._sql(f"CREATE INDEX {main}.{name} ON records ({cols}){where}")
            else:
                self._sql(f"CREATE INDEX {name} ON {main}.records ({cols}) {_PACKED}{where}")
        for name, cols in unique:
            self._sql(f"ALTER TABLE {main}.records ADD CONSTRAINT {name} UNIQUE ({cols}) "
                      f"{_PACKED}")  # fmt: skip
        if not self.sqlite:  # the ids were given: the sequence moves past them
            self._sql(f"SELECT setval(pg_get_serial_sequence('{main}.records', 'id'), "
                      f"(SELECT max(id) FROM {main}.records)) WHERE EXISTS "
                      f"(SELECT 1 FROM {main}.records)")  # fmt: skip
        grounds = ", ".join(GROUND_COLUMNS)
        self._sql(f"INSERT INTO {main}.projection_grounds ({grounds}) "
                  # WHERE true: SQLite would otherwise read ON CONFLICT as part of the SELECT
                  f"SELECT {grounds} FROM {STAGED_GROUNDS} WHERE true "
                  "ON CONFLICT (id) DO NOTHING")  # fmt: skip
        if self._scalar(f"SELECT 1 FROM {main}.projection LIMIT 1"):
            self._sql(f"DELETE FROM {main}.projection WHERE subject IN "
                      f"(SELECT subject FROM {STAGED_REFRESHED})")  # fmt: skip
        cols = ", ".join(PROJECTION_COLUMNS)
        # in index order: each index page is written once (unsorted, 3 times slower)
        self._sql(f"INSERT INTO {main}.projection ({cols}) "
                  f"SELECT {cols} FROM {STAGED_PROJECTION} ORDER BY subject")  # fmt: skip
