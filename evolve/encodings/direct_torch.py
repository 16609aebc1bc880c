"""The direct encoding's variation and expression as torch ops, for genomes that live on a device.

Same operators as the Numba kernel in :mod:`evolve.encodings.direct` (SBX with eta 10 on pairs of
consecutive rows, each gene crossed with probability 0.5; then polynomial mutation, eta 15, of
each gene with probability ``rate``), written as whole-tensor ops so a GPU does a generation's
variation without the genes leaving it. The random draws come from a torch generator seeded from
the run's NumPy generator, so a run is reproducible from its seed on a given device (the numbers
differ from the Numba kernel's, which draws from its own streams). Work is chunked by rows to keep
the temporaries of 224x224 colour genomes within a bounded size.
"""

from __future__ import annotations

from typing import Any

import torch

from cppn.color import pixels_from_outputs

EPSILON = 1e-14
#: Upper bound on genes per chunk: a handful of float32 temporaries of this size (~256 MiB each).
MAX_CHUNK_GENES = 1 << 26


def _rows_per_chunk(genes_per_row: int) -> int:
    rows = max(2, MAX_CHUNK_GENES // max(genes_per_row, 1))
    return rows - rows % 2  # whole pairs


def _polynomial_delta(r: torch.Tensor, eta: float) -> torch.Tensor:
    power = 1.0 / (eta + 1.0)
    low = torch.pow(2.0 * r, power) - 1.0
    high = 1.0 - torch.pow(2.0 * (1.0 - r), power)
    return torch.where(r < 0.5, low, high)


def _sbx_beta_q(rand: torch.Tensor, beta: torch.Tensor, eta: float) -> torch.Tensor:
    alpha = 2.0 - torch.pow(beta, -(eta + 1.0))
    power = 1.0 / (eta + 1.0)
    near = torch.pow(rand * alpha, power)
    far = torch.pow(1.0 / (2.0 - rand * alpha), power)
    return torch.where(rand <= 1.0 / alpha, near, far)


def _sbx_pairs(
    a: torch.Tensor, b: torch.Tensor, rate: float, eta: float, generator: torch.Generator
) -> None:
    """In place: bounded SBX of rows ``a[i]`` and ``b[i]``, each pair crossed with ``rate``."""
    pairs, genes = a.shape
    draw = lambda *shape: torch.rand(shape, generator=generator, device=a.device)  # noqa: E731
    crossed = draw(pairs, 1) < rate
    chosen = (draw(pairs, genes) <= 0.5) & crossed & ((a - b).abs() > EPSILON)
    low, high = torch.minimum(a, b), torch.maximum(a, b)
    spread = (high - low).clamp_min(EPSILON)  # only read where chosen, i.e. spread > EPSILON
    rand = draw(pairs, genes)
    total = low + high
    c1 = 0.5 * (total - _sbx_beta_q(rand, 1.0 + 2.0 * low / spread, eta) * spread)
    c2 = 0.5 * (total + _sbx_beta_q(rand, 1.0 + 2.0 * (1.0 - high) / spread, eta) * spread)
    c1, c2 = c1.clamp(0.0, 1.0), c2.clamp(0.0, 1.0)
    swap = draw(pairs, genes) <= 0.5
    first, second = torch.where(swap, c2, c1), torch.where(swap, c1, c2)
    a.copy_(torch.where(chosen, first, a))
    b.copy_(torch.where(chosen, second, b))


#: Below this rate the mutation mask is drawn in float64: float32 uniforms are multiples of 2^-24,
#: so ``rand < rate`` would mutate with probability ceil(rate * 2^24) / 2^24 (6e-8 for any smaller
#: rate) instead of ``rate``; from 2^-14 up that rounding is below 0.1% of the rate.
FLOAT64_MASK_BELOW = 2.0**-14


def _mutate(rows: torch.Tensor, rate: float, eta: float, generator: torch.Generator) -> None:
    """In place: polynomial mutation of each gene with probability ``rate`` (any rate in [0, 1],
    any eta >= 0: the mask is a comparison and the step a bounded power, nothing divides)."""
    if not rate > 0.0:
        return
    shape, device = rows.shape, rows.device
    dtype = torch.float64 if rate < FLOAT64_MASK_BELOW else torch.float32
    mutated = torch.rand(shape, generator=generator, device=device, dtype=dtype) < rate
    delta = _polynomial_delta(torch.rand(shape, generator=generator, device=device), eta)
    rows.copy_(torch.where(mutated, (rows + delta).clamp(0.0, 1.0), rows))


def vary_genes_torch(
    genes: torch.Tensor,
    seed: int,
    crossover_rate: float,
    crossover_eta: float,
    mutation_rate: float,
    mutation_eta: float,
) -> None:
    """In place on ``genes`` [N, G] (float32, any device): SBX on consecutive row pairs, then
    polynomial mutation of every row. ``seed`` seeds the one torch generator used."""
    generator = torch.Generator(device=genes.device)
    generator.manual_seed(int(seed))
    rows = genes.shape[0]
    step = _rows_per_chunk(genes.shape[1])
    for start in range(0, rows, step):
        chunk = genes[start : start + step]
        pairs = chunk.shape[0] // 2
        if crossover_rate > 0.0 and pairs:
            first, second = chunk[0 : 2 * pairs : 2], chunk[1 : 2 * pairs : 2]
            _sbx_pairs(first, second, crossover_rate, crossover_eta, generator)
        _mutate(chunk, mutation_rate, mutation_eta, generator)


def express_torch(genes: torch.Tensor, image_shape: tuple[int, int, int], color: str) -> Any:
    """8-bit images float32 [N, C, H, W] on the genes' device (twin of the NumPy expression)."""
    return pixels_from_outputs(genes.reshape(len(genes), *image_shape), color)
