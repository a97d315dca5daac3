"""Dates as day numbers (``int32`` days since 1970-01-01) and calendar months, compiled.

The registry's batch evaluation and the simulator both count legal periods in calendar months
exactly as :func:`socialcredit.registry.dates.add_months` does (the day clamps to the month's
end); these Numba functions do it on day numbers inside kernels. "No date" is :data:`NEVER`.

>>> from_day(add_months(to_day(date(2024, 1, 31)), 1))
datetime.date(2024, 2, 29)
"""

from __future__ import annotations

from datetime import date

import numpy as np
from numba import njit

__all__ = ["EPOCH_ORDINAL", "NEVER", "add_months", "civil", "days_from_civil", "from_day", "to_day"]

NEVER = np.int32(2**31 - 1)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_day(d: date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def from_day(n: int) -> date | None:
    return None if n >= NEVER else date.fromordinal(int(n) + EPOCH_ORDINAL)


@njit(cache=True, nogil=True)
def civil(z: int) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """Days since 1970-01-01 -> (year, month, day) (H. Hinnant's algorithm)."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


@njit(cache=True, nogil=True)
def days_from_civil(y: int, m: int, d: int) -> int:  # pragma: no cover - compiled
    y -= 1 if m <= 2 else 0
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def add_months(day: int, months: int) -> int:  # pragma: no cover - compiled
    y, m, d = civil(day)
    idx = y * 12 + (m - 1) + months
    y2 = idx // 12
    m2 = idx - y2 * 12 + 1
    if m2 == 2:
        leap = (y2 % 4 == 0 and y2 % 100 != 0) or y2 % 400 == 0
        last = 29 if leap else 28
    elif m2 in (4, 6, 9, 11):
        last = 30
    else:
        last = 31
    return days_from_civil(y2, m2, min(d, last))
