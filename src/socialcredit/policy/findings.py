"""What the checker reports: a :class:`Finding` with a stable code, and the codes' titles.

A leaf module: it imports nothing from the project, so that :mod:`socialcredit.errors` can name
:class:`Finding` (``CatalogRefused`` carries them) without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CODES", "Finding", "Profile", "Severity"]


class Severity(StrEnum):
    error = "error"
    warning = "warning"


class Profile(StrEnum):
    """The legal profile cross-domain measures (SC009) are judged by."""

    cn_2021 = "cn-2021"
    eu_ai_act = "eu-ai-act"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    location: str
    message: str
    help: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {
            "code": self.code,
            "severity": self.severity.value,
            "location": self.location,
            "message": self.message,
        }
        if self.help:
            out["help"] = self.help
        return out

    def __str__(self) -> str:
        return f"{self.code} {self.severity.value} {self.location}: {self.message}"


#: Every code with a one-line title (``docs/guardrails.md`` has the rule and its source).
CODES: dict[str, str] = {
    "SC000": "catalog cannot be loaded",
    "SC001": "missing legal basis (blank or a placeholder)",
    "SC002": "protected domain, or a record type in a consumption domain",
    "SC003": "deduction or blacklist for lawful or civic conduct, or a scored role",
    "SC004": "incentive for lawful conduct",
    "SC005": "publication window out of bounds for severity",
    "SC006": "list without a duration, or lasting more than 60 months",
    "SC007": "list without a usable way off",
    "SC008": "dependence on another subject other than through a legal role",
    "SC009": "cross-domain measure",
    "SC010": "inadmissible record source",
    "SC011": "record that never stops having effect, or has effect too long",
    "SC012": "unknown reference",
    "SC013": "record type that cannot be issued or cannot apply",
    "SC014": "can never apply",
    "SC015": "blacklist fed by records that are not serious",
    "SC016": "inconsistent scoring scheme",
    "SC017": "score-based list that needs no record, or is entered only by earning points",
    "SC018": "incentive that works as a restriction",
    "SC019": "domains related across categories",
    "SC020": "a local file reuses the id of a bundled catalog",
    "SC021": "label names a protected subject",
    "SC022": "authority kind does not fit what it does",
    "SC023": "label names another category than the one declared",
    "SC024": "list or scheme reached by records about a kind of subject it does not hold",
}
