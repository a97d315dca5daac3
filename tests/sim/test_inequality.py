"""Inequality and mobility of scores, as the study report shows them."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.sim.common import gini


def test_gini_of_known_populations() -> None:
    assert gini(np.array([5]), np.array([10])) == 0.0
    assert gini(np.array([1, 2, 3, 4]), np.array([1, 1, 1, 1])) == pytest.approx(0.25)
    # counts are frequencies: the same as listing each value
    assert gini(np.array([1, 4]), np.array([3, 1])) == pytest.approx(
        gini(np.array([1, 1, 1, 4]), np.array([1, 1, 1, 1]))
    )
    # one agent holds everything
    assert gini(np.array([0, 100]), np.array([99, 1])) == pytest.approx(0.99)
