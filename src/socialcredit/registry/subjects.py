"""Subject identifiers: the 18-digit resident identity number and the 18-character USCC.

Validation is python-stdnum's (``stdnum.cn.ric``, ``stdnum.cn.uscc``); this module only turns its
exceptions into ours, with a message that says which part is wrong, and caches the slow part
(the birth-place lookup) per region prefix so bulk imports stay fast.

>>> validate("34052419800101001X")
('34052419800101001X', 'person')
>>> validate("91110000600037341L")
('91110000600037341L', 'organisation')
>>> validate("340524198001010015")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
socialcredit.errors.InvalidSubjectId: subject: '340524198001010015' is neither ... nor ...
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Literal

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from socialcredit.errors import InvalidSubjectId

SubjectKind = Literal["person", "organisation"]

KNOWN_PILOT_CODES: frozenset[str] = frozenset({"91350100M0001TGQXM"})
"""USCCs issued in early pilots whose check character fails GB 32100-2015 but which are lawful
registrations (FACTS.md). Listed one by one: there is no rule that tells them apart."""

_REASONS: dict[type[Exception], str] = {
    stdnum_errors.InvalidLength: "it must have 18 characters",
    stdnum_errors.InvalidFormat: "it has characters not allowed in this position",
    stdnum_errors.InvalidChecksum: "its check character does not match",
    stdnum_errors.InvalidComponent: "its birth date or region code does not exist",
}


def _reason(exc: Exception) -> str:
    for cls, text in _REASONS.items():
        if isinstance(exc, cls):
            return text
    return str(exc) or "it is malformed"


def validate(
    value: object, *, field: str = "subject", kind: SubjectKind | None = None
) -> tuple[str, SubjectKind]:
    """Return ``(normalised_id, kind)`` or raise :class:`InvalidSubjectId` naming ``field``.

    Without ``kind``, a number that is a valid resident ID is a person, one that is a valid USCC
    an organisation (a USCC may be all digits, so shape alone cannot tell them apart).
    """
    if type(value) is str and kind != "organisation" and _plain_ric(value):
        return value, "person"  # the common case, answered without stdnum
    if not isinstance(value, str):
        raise InvalidSubjectId(field, f"expected a text identifier, got {type(value).__name__}")
    number = value.strip().upper()
    if not number:
        raise InvalidSubjectId(field, "is empty")
    if kind == "person":
        return _validate_ric(number, field), "person"
    if kind == "organisation":
        return _validate_uscc(number, field), "organisation"
    try:
        return _validate_ric(number, field), "person"
    except InvalidSubjectId as as_person:
        try:
            return _validate_uscc(number, field), "organisation"
        except InvalidSubjectId as as_org:
            if number[:17].isdigit():  # could be either: say why it is neither
                why_person = as_person.message.split(": ", 1)[-1]
                why_org = as_org.message.split(": ", 1)[-1]
                raise InvalidSubjectId(
                    field,
                    f"{number!r} is neither a valid resident ID ({why_person}) "
                    f"nor a valid USCC ({why_org})",
                ) from None
            raise as_org from None


def _plain_ric(value: str) -> bool:
    """Whether ``value`` is, as it stands, a valid resident ID: 17 ASCII digits and the right
    check character, a birth date that exists and a region code known in that year. What
    :func:`_validate_ric` accepts without change, in a fifth of its time (the check path
    validates every ID it is asked about); anything else goes the long way, which also says
    what is wrong."""
    return ric_shaped(value) and born_in_known_place(value[:14])


def ric_shaped(value: str) -> bool:
    """Whether ``value`` has, as it stands, a resident ID's shape: 17 ASCII digits and their
    check character (GB 11643-1999: the weights are 2**k mod 11, and 13 = 2 mod 11, so the
    digits read in base 13 give the weighted sum). With :func:`born_in_known_place` of its
    first 14 digits, what :func:`validate` accepts unchanged as a person; a bulk import's
    parser (:mod:`~socialcredit.registry.importing`) keeps the second's answer for each
    birth place and date, which many IDs share."""
    if len(value) != 18:
        return False
    head = value[:17]
    if not (head.isascii() and head.isdigit()):
        return False
    return value[17] == _CHECKS[(1 - 2 * int(head, 13)) % 11]


_CHECKS = "0123456789X"
"""The check character of each remainder."""


@lru_cache(maxsize=65536)
def born_in_known_place(head: str) -> bool:
    """Region code and birth date (``head``: the first 14 digits) both exist."""
    try:
        year = int(head[6:10])
        date(year, int(head[10:12]), int(head[12:14]))
    except ValueError:
        return False
    return _place_known(head[:6], year)


def _validate_ric(number: str, field: str) -> str:
    try:
        if len(number) != 18 or not number.isalnum():
            number = ric.compact(number)  # strip spaces and separators, as stdnum allows
        if len(number) != 18:
            raise stdnum_errors.InvalidLength()
        if not (number[:17].isascii() and number[:17].isdigit()):
            raise stdnum_errors.InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise stdnum_errors.InvalidChecksum()
        try:
            year = int(number[6:10])
            date(year, int(number[10:12]), int(number[12:14]))
        except ValueError:
            raise stdnum_errors.InvalidComponent() from None
        _check_place(number[:6], year)
    except stdnum_errors.ValidationError as exc:
        raise InvalidSubjectId(
            field, f"{number!r} is not a valid resident ID: {_reason(exc)}"
        ) from None
    return number


@lru_cache(maxsize=65536)
def _place_known(prefix: str, year: int) -> bool:
    try:
        # the answer depends on the region prefix and the birth year alone
        ric.get_birth_place(f"{prefix}{year:04d}01010000")
    except stdnum_errors.ValidationError:
        return False
    except KeyError:
        # python-stdnum 2.2 knows the province and prefecture of some prefixes but no county
        # under them, and fails with KeyError instead of answering; the province is known.
        return True
    return True


def _check_place(prefix: str, year: int) -> None:
    if not _place_known(prefix, year):
        raise stdnum_errors.InvalidComponent()


def _validate_uscc(number: str, field: str) -> str:
    try:
        return str(uscc.validate(number))
    except stdnum_errors.ValidationError as exc:
        compact = uscc.compact(number)
        if compact in KNOWN_PILOT_CODES:
            return str(compact)
        raise InvalidSubjectId(field, f"{number!r} is not a valid USCC: {_reason(exc)}") from None
