"""HyperLogLog counters as rows of a numpy array, for HyperBall.

One counter is ``2**log2m`` one-byte registers (Flajolet et al. 2007); the
union of two is their element-wise maximum. Node ids are hashed with
SplitMix64 under a seed, so the local and Spark jobs build identical
counters. Relative standard error about ``1.04 / sqrt(2**log2m)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["LOG2M", "alpha", "empty", "estimate", "singletons", "splitmix64"]

#: 64 registers a counter (64 bytes a node).
LOG2M = 6

_U64 = np.uint64


def splitmix64(values: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """The SplitMix64 finalizer of each value (array in, array out)."""
    z = np.array(values, dtype=np.uint64, ndmin=1)
    # uint64 array arithmetic wraps modulo 2**64, which the mixer relies on.
    z = z + _U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def _check(log2m: int) -> int:
    if not 4 <= log2m <= 16:
        raise ValueError(f"expected 4 <= log2m <= 16, got {log2m}")
    return 1 << log2m


def empty(count: int, *, log2m: int = LOG2M) -> npt.NDArray[np.uint8]:
    """``count`` counters of the empty set."""
    return np.zeros((count, _check(log2m)), dtype=np.uint8)


def singletons(items: npt.ArrayLike, *, log2m: int = LOG2M, seed: int = 0) -> npt.NDArray[np.uint8]:
    """One counter per item, each holding just that item.

    The low ``log2m`` bits of the hash pick the register; the register holds
    the position of the lowest set bit among the remaining bits (1-based).
    """
    m = _check(log2m)
    keys = np.array(items, dtype=np.uint64, ndmin=1)
    salt = splitmix64([seed])[0]
    hashed = splitmix64(keys ^ salt)
    index = (hashed & _U64(m - 1)).astype(np.intp)
    rest = hashed >> _U64(log2m)
    lowest = rest & (~rest + _U64(1))
    # The lowest set bit is a power of two, exact in float64, so log2 is exact.
    with np.errstate(divide="ignore"):
        zeros = np.log2(lowest.astype(np.float64))
    cap = 64 - log2m + 1
    rank = np.where(lowest == 0, cap, np.minimum(zeros + 1, cap)).astype(np.uint8)
    counters = np.zeros((keys.size, m), dtype=np.uint8)
    counters[np.arange(keys.size), index] = rank
    return counters


def alpha(m: int) -> float:
    # Flajolet et al. 2007, figure 3.
    return {16: 0.673, 32: 0.697, 64: 0.709}.get(m, 0.7213 / (1.0 + 1.079 / m))


def _inverse_powers(counters: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """``2.0 ** -counters`` as float32, built from the exponent bits.

    An IEEE 754 single with exponent field ``127 - k`` and zero mantissa is
    exactly ``2**-k``; registers are at most 61, so the field stays normal.
    Cheaper than a table lookup on large arrays.
    """
    exponent = np.uint32(127) - counters.astype(np.uint32)
    return (exponent << np.uint32(23)).view(np.float32)


def estimate(counters: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """The estimated cardinality of each counter (one per row).

    The raw estimate, with linear counting below ``2.5 m`` (the small-range
    correction of Flajolet et al.). 64-bit hashes need no large-range one.
    """
    if counters.ndim != 2:
        raise ValueError(f"expected a 2-d array of counters, got {counters.ndim} dimensions")
    m = counters.shape[1]
    raw = alpha(m) * m * m / _inverse_powers(counters).sum(axis=1, dtype=np.float64)
    zeros = (counters == 0).sum(axis=1)
    with np.errstate(divide="ignore"):
        linear = m * np.log(m / np.maximum(zeros, 1))
    estimates: npt.NDArray[np.float64] = np.where((raw <= 2.5 * m) & (zeros > 0), linear, raw)
    return estimates
