"""The guardrail checker: is a catalog admissible?

The schema (:mod:`socialcredit.policy.schema`) only checks a catalog's *shape*. This package
judges its *content* against the project's guardrails and reports each problem as a
:class:`Finding` with a stable code (``SC000``-``SC024``, documented with their sources in
``docs/guardrails.md``). The registry loads catalogs through :func:`load_admissible`, which
refuses any catalog with an error finding; the simulator loads catalogs without checking them, so
that a refused regime can still be run and measured.

The rules live in one module per family; each is a small function over the merged catalog.
:func:`check` runs them all and returns the findings in a deterministic order (by code, then
location, then message).

=================  ===========================================================================
module             rules
=================  ===========================================================================
``basis``          SC001 legal basis, blank or a placeholder
``domains``        SC002 protected domains, SC009 cross-domain measures (of memoranda,
                   orders and perks), SC019 ``related`` across categories
``conduct``        SC003 deductions, listings, extensions and orders for lawful conduct or
                   a role, SC004 incentives
``windows``        SC005 publication windows, SC011 effect
``lists``          SC006 durations, SC007 ways off (of a list and of each of its terms),
                   SC015 blacklists of serious records
``law``            direct orders (SC001, SC006, SC007, SC012), extensions (SC006, SC012),
                   a course as a way off (SC007, SC012)
``roles``          SC008 reaching other subjects only through legal roles
``sources``        SC010 surveillance sources, SC022 authority kinds (of lists and orders)
``references``     SC012 unknown names, SC013 issuable record types, SC020 bundled ids,
                   SC024 subject kinds a list or scheme holds by construction
``reach``          the range analysis; SC014 never applies, SC016 consistent schemes
``shapes``         SC017 lists that need no record, SC018 incentives that work as
                   restrictions (read with the range analysis)
``labels``         SC021 labels naming protected subjects, SC023 labels naming another
                   category; reviewed exemptions
=================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from socialcredit.errors import CatalogError, CatalogRefused
from socialcredit.policy.checker import (
    basis,
    conduct,
    domains,
    labels,
    law,
    lists,
    reach,
    references,
    roles,
    shapes,
    sources,
    windows,
)
from socialcredit.policy.checker._base import (
    MAX_EFFECT_MONTHS,
    MAX_LIST_MONTHS,
    NEGATIVE_NATURES,
    PUBLICATION_BOUNDS,
    WAYS_OFF,
    Context,
)
from socialcredit.policy.findings import CODES, Finding, Profile, Severity
from socialcredit.policy.loader import Loaded, load

__all__ = [
    "CODES",
    "MAX_EFFECT_MONTHS",
    "MAX_LIST_MONTHS",
    "NEGATIVE_NATURES",
    "PUBLICATION_BOUNDS",
    "WAYS_OFF",
    "Finding",
    "Profile",
    "Severity",
    "check",
    "check_paths",
    "counts",
    "load_admissible",
    "load_findings",
]

RULES: tuple[Callable[[Context], None], ...] = (
    basis.sc001_legal_basis,
    domains.sc002_protected,
    conduct.sc003_sc004_lawful_and_roles,
    windows.sc005_publication,
    lists.sc006_sc007_lists,
    law.sc_orders,
    law.sc_extensions_and_courses,
    law.sc_releases,
    roles.sc008_roles,
    domains.sc009_cross_domain,
    sources.sc010_sources,
    windows.sc011_effect,
    references.sc012_references,
    references.sc012_operators,
    references.sc013_issuable,
    reach.sc014_never_applies,
    lists.sc015_blacklist_severity,
    reach.sc016_schemes,
    shapes.sc017_lists_by_score,
    shapes.sc018_incentives,
    domains.sc019_related_categories,
    references.sc020_bundled_ids,
    labels.sc021_protected_labels,
    sources.sc022_authority_kinds,
    labels.sc023_category_labels,
    references.sc024_kinds_held,
)
"""Every rule, in the order they run (the output is sorted anyway)."""


def check(loaded: Loaded, *, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Every finding for a loaded (merged) catalog, in a deterministic order."""
    ctx = Context(loaded, Profile(profile))
    for rule in RULES:
        rule(ctx)
    unique = set(ctx.findings)
    return sorted(unique, key=lambda f: (f.code, f.location, f.message, f.help))


def check_paths(refs: Sequence[str | Path], *, profile: Profile = Profile.cn_2021) -> list[Finding]:
    """Load ``refs`` (files or bundled ids, merged) and check them.

    A catalog that cannot be loaded gives ``SC000`` findings (one per problem the loader
    reports) instead of an exception.
    """
    try:
        loaded = load(*refs)
    except CatalogError as exc:
        where = str(refs[0]) if refs else "(no catalog)"
        return load_findings(exc, where)
    return check(loaded, profile=profile)


def load_findings(exc: CatalogError, where: str) -> list[Finding]:
    """``SC000`` findings for a loading error; each names the file (and field) at fault."""
    out = []
    for line in str(exc).splitlines() or [str(exc)]:
        location, sep, message = line.partition(": ")
        if not sep or not location.endswith(".toml"):
            location, message = where, line
        out.append(
            Finding(
                "SC000",
                Severity.error,
                location,
                message,
                "fix the file so that it loads (see docs/catalog-format.md)",
            )
        )
    return out


def load_admissible(*refs: str | Path, profile: Profile = Profile.cn_2021) -> Loaded:
    """Load and check; raise :class:`CatalogRefused` if the checker finds any error.

    This is how the registry loads catalogs: it never runs a catalog with an error finding.
    """
    loaded = load(*refs)
    findings = check(loaded, profile=profile)
    errors = [f for f in findings if f.severity is Severity.error]
    if errors:
        shown = "; ".join(f"{f.code} {f.location}: {f.message}" for f in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise CatalogRefused(
            f"catalog {loaded.id!r} refused under {Profile(profile).value}: "
            f"{len(errors)} error(s): {shown}{more}",
            findings,
        )
    return loaded


def counts(findings: Iterable[Finding]) -> tuple[int, int]:
    """``(errors, warnings)``."""
    errors = warnings = 0
    for f in findings:
        if f.severity is Severity.error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings
