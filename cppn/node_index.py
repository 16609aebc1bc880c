"""Node key -> position within one genome, for compiled kernels: an open-addressing hash table.

Genome node keys are arbitrary non-negative integers; kernels that walk links need the position
of each end in the genome's node arrays. A table of twice the node count (a power of two) with
linear probing answers each lookup in O(1), cheaper than sorting the keys and bisecting.
"""

from __future__ import annotations

import numba
import numpy as np

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True)
def table_size(n: int) -> int:
    """Slots for ``n`` keys: the smallest power of two >= 2n (at least 2)."""
    size = 2
    while size < 2 * n:
        size *= 2
    return size


@numba.njit(cache=True, inline="always")
def _slot(key: int, mask: int) -> int:
    return int((np.uint64(key) * _MULTIPLIER) >> np.uint64(32)) & mask


@numba.njit(cache=True)
def build(keys: np.ndarray, n: int, table: np.ndarray) -> None:
    """Index ``keys[:n]`` into ``table`` (length from :func:`table_size`), positions as values."""
    table[:] = -1
    mask = table.size - 1
    for i in range(n):
        s = _slot(keys[i], mask)
        while table[s] >= 0:
            s = (s + 1) & mask
        table[s] = i


@numba.njit(cache=True, inline="always")
def find(table: np.ndarray, keys: np.ndarray, key: int) -> int:
    """Position of ``key`` in the indexed ``keys``, or -1 (also for negative keys: inputs)."""
    if key < 0:
        return -1
    mask = table.size - 1
    s = _slot(key, mask)
    while True:
        i = table[s]
        if i < 0:
            return -1
        if keys[i] == key:
            return i
        s = (s + 1) & mask
