"""Small helpers of the ledger's modules: chunks, clocks, ids, dates."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from socialcredit.errors import NotFound

CHUNK = 5_000  # ids per IN (...) query; well under SQLite's 32766 variables


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def as_day(value: Any) -> date | None:
    """A date column as :meth:`Ledger.projection_table` gives it (ISO text, a date, or
    ``None``) as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _parse_id(record_id: str) -> int:
    try:
        rid = int(str(record_id))
    except ValueError:
        raise NotFound(f"record: no record {record_id!r}") from None
    if rid <= 0 or rid > 2**62:
        raise NotFound(f"record: no record {record_id!r}")
    return rid
