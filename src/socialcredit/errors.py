"""The project's exceptions: one root, a branch per layer.

::

    SocialCreditError
    ├── CatalogError            a catalog cannot be read, parsed or resolved
    │   └── CatalogRefused      it parses, but the checker found errors (carries the findings)
    ├── InputError              bad input from a user or an authority (names the field)
    │   ├── InvalidSubjectId    a resident ID or USCC that fails validation
    │   ├── UnknownRecordType   a record type no loaded catalog defines
    │   ├── OutsideMandate      an authority filing a record type it may not issue
    │   ├── FutureDate          a decision dated after today / the evaluation date
    │   └── ImportRejected      a bulk import with bad lines (carries every line's errors)
    ├── WorkflowError           a due-process step that is not allowed now (e.g. repair too early)
    ├── NotFound                a record, subject or catalog that does not exist
    └── LedgerError             the store failed; database errors are translated into this
        └── Conflict            an idempotency key reused with different content

Every error has a message fit to show a person; ``InputError`` also names the field.
"""

from __future__ import annotations

from collections.abc import Sequence

from socialcredit.policy.findings import Finding  # a leaf module: no import cycle


class SocialCreditError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code = 2


class CatalogError(SocialCreditError):
    """A catalog file cannot be read, parsed, or its references resolved."""


class CatalogRefused(CatalogError):
    """The guardrail checker found errors; the registry will not load this catalog."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.findings = list(findings)


class InputError(SocialCreditError, ValueError):
    """Bad input. ``field`` names what was wrong, ``message`` says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidSubjectId(InputError):
    """A resident identity number or Unified Social Credit Code that is not valid."""


class UnknownRecordType(InputError):
    """A record type that no loaded catalog defines."""


class OutsideMandate(InputError):
    """An authority filed a record type outside its mandate."""


class FutureDate(InputError):
    """A date later than allowed (a decision cannot be dated in the future)."""


class ImportRejected(InputError):
    """A bulk import with bad lines. Nothing was written.

    ``problems`` is a list of ``(line_number, field, message)``.
    """

    def __init__(self, problems: Sequence[tuple[int, str, str]]) -> None:
        self.problems = list(problems)
        shown = "; ".join(f"line {n}: {f}: {m}" for n, f, m in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            "file", f"{len(self.problems)} bad line(s), nothing imported: {shown}{more}"
        )


class WorkflowError(SocialCreditError):
    """A due-process step that is not allowed in the current state."""


class NotFound(SocialCreditError):
    """Something asked for that does not exist."""


class LedgerError(SocialCreditError):
    """The ledger store failed."""


class Conflict(LedgerError):
    """An idempotency key was reused for different content."""
