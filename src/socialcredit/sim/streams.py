"""Counter-based random streams for the simulator's kernels, compiled.

A stream is a one-element ``uint64`` array: the key mixed from (seed, a unit, a day) by
:func:`stream_key`, advanced by one counter per draw and mixed by SplitMix64. A unit's draws
depend on nothing but its key and its own events, so results are the same on any number of
threads and any split of the work.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["below", "geometric", "lgamma", "mix", "poisson", "stream_key", "thin", "uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def mix(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def stream_key(seed: int, region: int, day: int) -> np.uint64:  # pragma: no cover - compiled
    k = mix(np.uint64(seed) + _GOLDEN)
    k = mix(k ^ (np.uint64(region) * np.uint64(0xD1B54A32D192ED03)))
    return mix(k ^ (np.uint64(day) * np.uint64(0xABC98388FB8FAC03)))


@njit(cache=True, nogil=True)
def uniform(state: npt.NDArray[np.uint64]) -> float:  # pragma: no cover - compiled
    state[0] += _GOLDEN
    return float(mix(state[0]) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def below(state: npt.NDArray[np.uint64], n: int) -> int:  # pragma: no cover - compiled
    return min(int(uniform(state) * n), n - 1)


@njit(cache=True, nogil=True)
def poisson(state: npt.NDArray[np.uint64], lam: float) -> int:  # pragma: no cover - compiled
    """Poisson(lam): multiplication for small lam, PTRS (Hormann 1993) for large."""
    if lam <= 0.0:
        return 0
    if lam < 30.0:
        limit = np.exp(-lam)
        k = 0
        p = uniform(state)
        while p > limit:
            k += 1
            p *= uniform(state)
        return k
    slam = np.sqrt(lam)
    loglam = np.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(state) - 0.5
        v = uniform(state)
        us = 0.5 - abs(u)
        k = int(np.floor((2.0 * a / us + b) * u + lam + 0.43))
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        lhs = np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b)
        rhs = -lam + k * loglam - lgamma(k + 1.0)
        if lhs <= rhs:
            return k


@njit(cache=True, nogil=True)
def lgamma(x: float) -> float:  # pragma: no cover - compiled
    """log Gamma(x) for x >= 1 (Stirling series; exact enough for PTRS's acceptance test)."""
    if x < 10.0:
        acc = 0.0
        while x < 10.0:
            acc -= np.log(x)
            x += 1.0
        return acc + lgamma(x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 / 1260))
    return float((x - 0.5) * np.log(x) - x + 0.9189385332046728 + series)


@njit(cache=True, nogil=True)
def geometric(state: npt.NDArray[np.uint64], p: float) -> int:  # pragma: no cover - compiled
    """Trials until the first success (>= 1)."""
    if p <= 0.0:
        return 1 << 30
    if p >= 1.0:
        return 1
    u = uniform(state)
    return 1 + int(np.floor(np.log(1.0 - u) / np.log(1.0 - p)))


@njit(cache=True, nogil=True)
def thin(state: npt.NDArray[np.uint64], n: int, p: float) -> int:  # pragma: no cover
    """Binomial(n, p) by n trials (n is a day's denials in one group: small)."""
    if p <= 0.0:
        return 0
    k = 0
    for _ in range(n):
        if uniform(state) < p:
            k += 1
    return k
