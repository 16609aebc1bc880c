"""Packed CPPN programs laid out densely, for the tests that check their link layout."""

from __future__ import annotations

import numpy as np

from cppn.program import PackedPrograms


def dense_links(programs: PackedPrograms) -> tuple[np.ndarray, np.ndarray]:
    """Links as [N, K, F] (source, weight) with F the largest fan-in; padding has weight 0:
    node ``k`` of genome ``g`` reads ``source[g, k, :fan_in]`` with those weights."""
    n, k = programs.activation.shape
    fan_in = np.diff(programs.link_start, axis=1)
    width = max(1, int(fan_in.max(initial=0)))
    source = np.zeros((n, k, width), dtype=np.int64)
    weight = np.zeros((n, k, width), dtype=np.float64)
    # Scatter every link at once: its node is the number of the genome's nodes whose links
    # end at or before it, found by one binary search over every genome's link ends laid
    # end to end (offset by genome, so they are sorted); its place is what precedes it.
    g, link = np.nonzero(np.arange(programs.link_source.shape[1]) < programs.link_start[:, -1:])
    span = programs.link_source.shape[1] + 1
    ends = (programs.link_start[:, 1:].astype(np.int64) + np.arange(n)[:, None] * span).ravel()
    node = np.searchsorted(ends, link + g * span, side="right") - g * k
    place = link - programs.link_start[g, node]
    source[g, node, place] = programs.link_source[g, link]
    weight[g, node, place] = programs.link_weight[g, link]
    return source, weight
