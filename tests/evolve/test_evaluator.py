"""Fixed-size chunks: their bounds, and in-process scoring chunk by chunk on the real LeNet."""

from __future__ import annotations

import numpy as np
from tolerances import ACROSS_BATCHES

from evolve.encodings import build_encoding
from evolve.evaluator import LocalEvaluator, chunk_bounds


def test_chunk_bounds_cover_the_batch_in_fixed_chunks() -> None:
    assert chunk_bounds(40, 16) == [(0, 16), (16, 32), (32, 40)]
    assert chunk_bounds(32, 16) == [(0, 16), (16, 32)]
    assert chunk_bounds(10, 256) == [(0, 10)]
    assert chunk_bounds(10, None) == [(0, 10)]  # runs made before chunks: one call
    assert chunk_bounds(0, 16) == []


def test_chunked_scoring_is_scoring_each_chunk(lenet_target) -> None:
    encoding = build_encoding({"name": "cppn", "channels": 1, "height": 28, "width": 28})
    genomes = encoding.random(40, np.random.default_rng(0))
    queries = lenet_target.queries
    chunked = LocalEvaluator(encoding, lenet_target, chunk=16)(genomes)
    assert lenet_target.queries - queries == 40
    # Each chunk's rows are exactly what scoring that chunk alone gives (same call, same batch).
    last = lenet_target.scores(encoding.express(genomes[32:40]))
    np.testing.assert_array_equal(chunked.probabilities[32:], last.probabilities)
    np.testing.assert_array_equal(chunked.log_odds[32:], last.log_odds)
    whole = LocalEvaluator(encoding, lenet_target)(genomes)
    # other batch sizes: tolerance
    np.testing.assert_allclose(chunked.probabilities, whole.probabilities, **ACROSS_BATCHES)
