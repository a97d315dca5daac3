"""The examples in module docstrings are documentation: they must stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "socialcredit.identifiers",
    "socialcredit.registry.subjects",
    "socialcredit.registry.dates",
    "socialcredit.daycount",
    "socialcredit.rules.decide",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
