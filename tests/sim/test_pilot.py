"""The pre-2020 pilot city score (``pilot-2018``): refused by the registry."""

from __future__ import annotations

import pytest

from socialcredit.errors import CatalogRefused
from socialcredit.policy.checker import Severity, check_paths, load_admissible


def test_the_registry_refuses_the_pilot_for_petitioning_and_an_unfounded_list() -> None:
    with pytest.raises(CatalogRefused) as info:
        load_admissible("pilot-2018")
    errors = {(f.code, f.location.split(": ", 1)[1]) for f in info.value.findings
              if f.severity is Severity.error}  # fmt: skip
    assert {code for code, _ in errors} == {"SC001", "SC002", "SC003", "SC009"}
    # petitioning: lawful expression, scored, with no legal basis
    assert ("SC002", "record_types[pilot.abnormal_petition].domain") in errors
    assert ("SC003", "schemes[pilot.personal].rules[pilot.abnormal_petition]") in errors
    assert ("SC001", "record_types[pilot.abnormal_petition].legal_basis") in errors
    # blood donation is health information
    assert ("SC002", "record_types[pilot.blood_donation].domain") in errors
    # the grade-D blacklist and its local memorandum rest on a normative document only
    assert ("SC001", "lists[pilot.untrustworthy].legal_basis") in errors
    assert ("SC001", "memoranda[pilot.local-joint-punishment].legal_basis") in errors
    assert any(code == "SC009" and "pilot.local-joint-punishment" in where
               for code, where in errors)  # fmt: skip
    # the Rongcheng catalog it extends is admissible on its own
    assert not [f for f in check_paths(["rongcheng"]) if f.severity is Severity.error]
