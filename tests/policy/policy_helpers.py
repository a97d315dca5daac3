"""Shared by the policy tests (a unique module name: the tests run without packages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: A minimal admissible catalog (extends the bundled cn-common): zero findings under either
#: profile. Each checker test breaks one thing in it.
GOOD = """
[catalog]
id = "t"
title = "Test catalog"
version = "1"
extends = ["cn-common"]

[[record_types]]
code = "court.refuse"
title = "Able to perform but refuses"
domain = "judicial"
severity = "serious"
nature = "default"
legal_basis = "RT basis"
issuers = ["court"]
publication = { min_months = 12, max_months = 24 }

[[lists]]
id = "debtors"
title = "Dishonest debtors"
kind = "blacklist"
legal_basis = "List basis"
authority = "court"
entry = { record_types = ["court.refuse"] }
duration_months = 24
removal = ["fulfilment", "repair", "expiry"]

[[measures]]
id = "m.judicial"
title = "Enforcement measure"
kind = "restriction"
domain = "judicial"
legal_basis = "Measure basis"

[[memoranda]]
id = "memo"
title = "Memorandum"
legal_basis = "Memo basis"
lists = ["debtors"]
measures = ["m.judicial"]
"""

Writer = Callable[..., Path]

Run = Callable[..., tuple[int, str, str]]
