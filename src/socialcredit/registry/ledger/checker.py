"""Validation of records against the catalogs in force (:class:`RecordChecker`)."""

from __future__ import annotations

from datetime import date, datetime

from stdnum.cn import ric

from socialcredit.errors import (
    FutureDate,
    InputError,
    InvalidSubjectId,
    OutsideMandate,
    UnknownRecordType,
)
from socialcredit.policy.loader import CatalogIndex, Loaded, did_you_mean
from socialcredit.policy.schema import STATED_EXCLUSIONS, Exclusion, Nature
from socialcredit.registry import subjects as subject_ids
from socialcredit.registry.ledger.schema import EARLIEST_DECISION
from socialcredit.registry.ledger.values import (
    MAX_CLIENT_KEY,
    MAX_REF,
    ValidRecord,
    _expected_text,
    check_text,
    text_problem,
)


def add_years(day: date, years: int) -> date:
    """``day`` plus whole years (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


INDIVIDUAL_BUSINESS = "92"
"""USCC prefix of an individual industrial and commercial household (registration authority 9,
category 2, GB 32100-2015): not an organisation in which a legal role can be held."""


_EXCLUDED_BECAUSE: dict[Exclusion, str] = {
    Exclusion.minors: "a person under 18",
    Exclusion.security_given: "the debtor gave sufficient and effective security",
    Exclusion.assets_seized: "assets seized, impounded or frozen cover the debt",
    Exclusion.unable_to_pay: "the debtor is not able to perform",
    Exclusion.campus_loan_student: "a full-time student who is a debtor in a campus-loan case",
}


class RecordChecker:
    """Validates records against a catalog, with caches that make bulk imports fast.

    Checks: known record type (with a suggestion), known authority acting within its mandate,
    subject ID valid and of a kind the record type allows, decision date an ISO date not after
    ``today``, a decision reference, a valid organisation as counterpart for role records
    (and no counterpart for other records), and no exclusion of a list or order the record
    enters: a person under 18 on the decision date where it excludes minors, and the facts the
    filing states (``excluding_facts``: security given, seized assets covering the debt,
    inability to pay, a student in a campus-loan case) where it excludes them. A refusal names
    the subject, the list or order and the exclusion.
    """

    def __init__(self, catalog: Loaded | CatalogIndex, *, today: date) -> None:
        self.index = catalog.index if isinstance(catalog, Loaded) else catalog
        self.today = today
        self._types = {
            code: (tuple(rt.subject_kinds), rt.nature is Nature.role)
            for code, rt in self.index.record_types.items()
        }
        self._mandate = self.index.mandate
        self._excluded: dict[str, dict[Exclusion, str]] = {}
        """record type -> exclusion -> the first list or order it enters that excludes it"""
        for lst in self.index.catalog.lists:
            for code in lst.entry.record_types:
                for exclusion in lst.exclusions_for(code):
                    self._excluded.setdefault(code, {}).setdefault(exclusion, f"list {lst.id}")
        for order in self.index.catalog.orders:
            for code in order.record_types:
                for exclusion in order.excludes:
                    self._excluded.setdefault(code, {}).setdefault(exclusion, f"order {order.id}")
        self._subjects: dict[str, tuple[str, str] | InputError] = {}
        self._orgs: dict[str, str | InputError] = {}
        self._dates: dict[str, date | InputError] = {}

    def check(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object = None,
        client_key: object = None,
        excluding_facts: object = None,
    ) -> ValidRecord:
        """The normalised record, or raise the first :class:`InputError` found."""
        problems = self.problems(
            subject,
            record_type,
            authority,
            decided_on,
            decision_ref,
            counterpart,
            client_key,
            excluding_facts,
        )
        if isinstance(problems, ValidRecord):
            return problems
        raise problems[0]

    def problems(
        self,
        subject: object,
        record_type: object,
        authority: object,
        decided_on: object,
        decision_ref: object,
        counterpart: object = None,
        client_key: object = None,
        excluding_facts: object = None,
    ) -> ValidRecord | list[InputError]:
        """The normalised record, or every problem with it. ``excluding_facts``: a list of
        names (or one text of names separated by ``;``, as a CSV cell gives it)."""
        errors: list[InputError] = []
        kinds: tuple[str, ...] = ("person", "organisation")
        is_role = False
        rt = record_type if isinstance(record_type, str) else None
        if rt is None:
            errors.append(UnknownRecordType("record_type", _expected_text(record_type)))
        else:
            info = self._types.get(rt)
            if info is None:
                hint = did_you_mean(rt, self._types)
                errors.append(UnknownRecordType("record_type", f"unknown type {rt!r}{hint}"))
                rt = None
            else:
                kinds, is_role = info

        if not isinstance(authority, str):
            errors.append(InputError("authority", _expected_text(authority)))
        else:
            mandate = self._mandate.get(authority)
            if mandate is None:
                hint = did_you_mean(authority, self._mandate)
                errors.append(InputError("authority", f"unknown authority {authority!r}{hint}"))
            elif rt is not None and rt not in mandate:
                errors.append(
                    OutsideMandate(
                        "authority", f"{authority!r} may not issue records of type {rt!r}"
                    )
                )

        subj = self._subject(subject, kinds)
        if isinstance(subj, InputError):
            errors.append(subj)

        day = self._date(decided_on)
        if isinstance(day, InputError):
            errors.append(day)
        elif (
            rt is not None
            and Exclusion.minors in self._excluded.get(rt, {})
            and not isinstance(subj, InputError)
            and subj[1] == "person"
        ):
            born = ric.get_birth_date(subj[0])
            if day < add_years(born, 18):
                errors.append(
                    InputError(
                        "subject",
                        f"{subj[0]} was a minor on {day} (born {born}): "
                        f"{self._excluded[rt][Exclusion.minors]} never reaches minors",
                    )
                )
        if excluding_facts is not None and excluding_facts != "":
            who = subject if isinstance(subject, str) else "the subject"
            errors += self._exclusion_problems(who, rt, excluding_facts)

        ref = decision_ref
        if not isinstance(ref, str):
            errors.append(InputError("decision_ref", _expected_text(ref)))
        elif not ref.strip():
            errors.append(InputError("decision_ref", "is empty: name the decision"))
        else:
            try:
                check_text(ref, "decision_ref", max_len=MAX_REF)
            except InputError as exc:
                errors.append(exc)

        other: str | None = None
        if is_role:
            if counterpart is None or counterpart == "":
                errors.append(
                    InputError("counterpart", "a role record must name the organisation (USCC)")
                )
            else:
                org = self._org(counterpart)
                if isinstance(org, InputError):
                    errors.append(org)
                else:
                    other = org
        elif counterpart is not None and counterpart != "" and rt is not None:
            errors.append(
                InputError("counterpart", f"records of type {rt!r} do not name a counterpart")
            )

        key: str | None = None
        if client_key is not None and client_key != "":
            if not isinstance(client_key, str):
                errors.append(InputError("client_key", _expected_text(client_key)))
            elif len(client_key) > MAX_CLIENT_KEY:
                errors.append(InputError("client_key", "is longer than 200 characters"))
            elif (why := text_problem(client_key)) is not None:
                errors.append(InputError("client_key", why))
            else:
                key = client_key

        if errors:
            return errors
        assert isinstance(subj, tuple) and isinstance(day, date)
        assert isinstance(rt, str) and isinstance(authority, str) and isinstance(ref, str)
        ref = ref.strip()
        return ValidRecord(
            subj[0],
            subj[1],
            rt,
            authority,
            day,
            ref,
            other,
            key,
        )

    def _exclusion_problems(self, who: str, rt: str | None, value: object) -> list[InputError]:
        """Why the stated facts refuse the record (an exclusion of a list or order it enters),
        or are not facts this registry reads."""
        field = "excluding_facts"
        if isinstance(value, str):
            names: list[object] = [v.strip() for v in value.split(";") if v.strip()]
        elif isinstance(value, list | tuple):
            names = list(value)
        else:
            return [InputError(field, f"expected a list of names, got {type(value).__name__}")]
        expected = ", ".join(sorted(e.value for e in STATED_EXCLUSIONS))
        out: list[InputError] = []
        for name in dict.fromkeys(n if isinstance(n, str) else repr(n) for n in names):
            if name == Exclusion.minors.value:
                out.append(InputError(field, "minors is read from the subject's resident ID; "
                                             "do not state it"))  # fmt: skip
                continue
            if name not in {e.value for e in STATED_EXCLUSIONS}:
                hint = did_you_mean(name, [e.value for e in STATED_EXCLUSIONS])
                out.append(InputError(field, f"unknown fact {name!r}{hint} (expected {expected})"))
                continue
            if rt is None:
                continue  # the record type's problem is reported already
            where = self._excluded.get(rt, {}).get(Exclusion(name))
            if where is None:
                out.append(
                    InputError(
                        field,
                        f"{name} excludes no list or order that records of type {rt!r} enter; "
                        "a filed record would not keep it: remove it",
                    )
                )
            else:
                out.append(
                    InputError(
                        field,
                        f"{who} may not be filed under {rt!r}: {where} excludes {name} "
                        f"({_EXCLUDED_BECAUSE[Exclusion(name)]})",
                    )
                )
        return out

    def _subject(self, value: object, kinds: tuple[str, ...]) -> tuple[str, str] | InputError:
        if not isinstance(value, str):
            return InvalidSubjectId("subject", _expected_text(value))
        found = self._subjects.get(value)
        if found is None:
            try:
                found = subject_ids.validate(value, field="subject")
            except InputError as exc:
                found = exc
            if len(self._subjects) < 4_000_000:
                self._subjects[value] = found
        if isinstance(found, InputError):
            if len(kinds) == 1:
                # explain against the one kind the record type allows
                try:
                    subject_ids.validate(value, field="subject", kind=kinds[0])  # type: ignore[arg-type]
                except InputError as exc:
                    return exc
            return found
        if found[1] not in kinds:
            allowed = " or ".join(_article(k) for k in kinds)
            return InputError(
                "subject",
                f"{found[0]!r} is {_article(found[1])}; this record type is for {allowed}",
            )
        return found

    def _org(self, value: object) -> str | InputError:
        if not isinstance(value, str):
            return InvalidSubjectId("counterpart", _expected_text(value))
        hit = self._orgs.get(value)
        if hit is not None:
            return hit
        result: str | InputError
        try:
            result = subject_ids.validate(value, field="counterpart", kind="organisation")[0]
        except InputError as exc:
            result = exc
        if isinstance(result, str) and result.startswith(INDIVIDUAL_BUSINESS):
            result = InvalidSubjectId(
                "counterpart",
                f"{result} is an individual business (code beginning {INDIVIDUAL_BUSINESS}, "
                "GB 32100-2015): a person's household trade, in which no one holds a legal "
                "organisational role; it cannot carry measures to a household member",
            )
        self._orgs[value] = result
        return result

    def _date(self, value: object) -> date | InputError:
        if isinstance(value, date) and not isinstance(value, datetime):
            day: date | InputError = value
        elif isinstance(value, str):
            hit = self._dates.get(value)
            if hit is not None:
                return hit
            day = _parse_iso(value)
            if len(self._dates) < 100_000:
                self._dates[value] = day
        else:
            return InputError("decided_on", _expected_text(value, "a date (YYYY-MM-DD)"))
        if isinstance(day, date) and day > self.today:
            return FutureDate("decided_on", f"{day} is after today ({self.today})")
        if isinstance(day, date) and day < EARLIEST_DECISION:
            return InputError(
                "decided_on",
                f"{day} is before {EARLIEST_DECISION}: not a decision this registry holds",
            )
        return day


def _parse_iso(value: str) -> date | InputError:
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return InputError("decided_on", f"{value!r} is not a date (expected YYYY-MM-DD)")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
