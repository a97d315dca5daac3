"""Synthetic but valid identifiers for synthetic people and organisations.

Check characters come from python-stdnum (``stdnum.cn.ric``, ``stdnum.cn.uscc``); the only
arithmetic here is the GB 11714 organisation-code check inside a USCC, which stdnum does not
compute. Used by the demo and the simulator; no real person's number is ever produced on
purpose, and none is stored anywhere.

>>> resident_id(110101, date(1990, 3, 7), 803)
'11010119900307803X'
>>> from stdnum.cn import uscc
>>> uscc.is_valid(organisation_code(110000, 12345678))
True
"""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric, uscc

__all__ = ["organisation_code", "resident_id"]

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


RETIRED_COUNTY = 332121
"""GB/T 2260 address code of Jiaxing County, Zhejiang, withdrawn in 1981 and never given to
another place since (python-stdnum's table of codes: ``[-1981]``). The first resident identity
cards were issued in 1984, and a number carries the code in force where it was issued, so no
card carries this one; Unified Social Credit Codes, issued since 2015, carry their registrar's
code of the day, so none does either. The registry accepts the code for people born while it
was in force (up to 1981), so every synthetic resident (the demo's, the simulator's traced
agents) is born from 1935 to 1981."""


def resident_id(region: int, born: date, sequence: int) -> str:
    """An 18-digit resident identity number (GB 11643-1999) for ``region`` (six-digit GB/T 2260
    code), birth date and sequence (0-999; odd for men, even for women)."""
    body = f"{region:06d}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def organisation_code(region: int, serial: int, *, registrar: str = "9", kind: str = "1") -> str:
    """An 18-character Unified Social Credit Code (GB 32100-2015): registration authority
    ``registrar`` (9 = market regulation), entity ``kind`` (1 = enterprise), region, and a
    nine-character organisation code (GB 11714) built from ``serial``."""
    digits = f"{serial % 100_000_000:08d}"
    total = sum(int(d) * w for d, w in zip(digits, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    org_check = {10: "X", 11: "0"}.get(check, str(check))
    body = f"{registrar}{kind}{region:06d}{digits}{org_check}"
    return body + str(uscc.calc_check_digit(body))
