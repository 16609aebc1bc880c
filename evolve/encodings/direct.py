"""Direct encoding: one gene in [0, 1] per pixel and channel, as in the original code.

Variation follows Sferes2's ``evo_float`` as the original fooling code used it: pairs of parents
are crossed with SBX (eta 10) with probability ``crossover_rate``, then every gene of every child
mutates with probability ``mutation_rate`` by polynomial mutation (eta 15). The kernel is compiled
with Numba and runs pairs of children in parallel; each pair draws from a SplitMix64 stream seeded
from the run's one NumPy Generator, so a run is reproducible from its seed whatever the thread
count. Mutation visits only the genes that mutate (geometric gaps between them), so its cost scales
with the ~10% of genes that change rather than with the image size.

Where the target runs on a GPU, the genomes live there too (``device``): the population is a
torch tensor on the device from variation (:mod:`evolve.encodings.direct_torch`) through
expression to scoring, and only the archive's checkpoints come back to the host.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from archives.export import as_numpy
from cppn.color import HUE_SECTORS_PER_BYTE, bytes_to_image, outputs_to_image, to_byte
from cppn.streams import geometric, log_keep, polynomial_delta, uniform
from fitness.devices import HOST, resolve_device

#: Colour readings of 3-channel genes: "rgb" (the default) reads them as R, G, B; "hls" as 8-bit
#: H, L, S converted like the original code (hue byte 0..255 handed to OpenCV's 0..180 hue range);
#: "hls_full" with the hue byte spanning the colour circle once. See :mod:`cppn.color`.
COLORS = ("gray", "rgb", *HUE_SECTORS_PER_BYTE)
EPSILON = 1e-14
#: Floor of the halving schedule (``mutation_rate_at``). At 1e-12 a generation of even 1e9 genes
#: (4 GB of float32 genomes, e.g. 6,600 children of 224x224x3) mutates 0.001 genes on average:
#: one gene every thousand generations, so the schedule has in effect reached zero, yet the rate
#: is still far from the float limits (log1p(-rate) is exact, 1 - rate != 1 in float64, and the
#: gaps between mutated genes, at most ~3.7e13, fit an int64). Unbounded halving instead reached
#: 4.4e-17 at generation 51 * halve_every, where log(1 - rate) rounded to 0 and the kernel
#: divided by zero (generation 51,000 at the paper's setting, 1000).
MIN_MUTATION_RATE = 1e-12


@numba.njit(cache=True, inline="always")
def _sbx_beta_q(rand: float, beta: float, eta: float) -> float:
    alpha = 2.0 - beta ** (-(eta + 1.0))
    if rand <= 1.0 / alpha:
        return (rand * alpha) ** (1.0 / (eta + 1.0))
    return (1.0 / (2.0 - rand * alpha)) ** (1.0 / (eta + 1.0))


@numba.njit(cache=True)
def _sbx_pair(a: np.ndarray, b: np.ndarray, stream: np.ndarray, eta: float) -> None:
    """Bounded SBX on genes in [0, 1] (Deb & Agrawal), each gene crossed with probability 0.5."""
    for i in range(a.size):
        if uniform(stream) > 0.5:
            continue
        x1, x2 = a[i], b[i]
        if abs(x1 - x2) <= EPSILON:
            continue
        y1, y2 = min(x1, x2), max(x1, x2)
        spread = y2 - y1
        rand = uniform(stream)
        c1 = 0.5 * ((y1 + y2) - _sbx_beta_q(rand, 1.0 + 2.0 * y1 / spread, eta) * spread)
        c2 = 0.5 * ((y1 + y2) + _sbx_beta_q(rand, 1.0 + 2.0 * (1.0 - y2) / spread, eta) * spread)
        c1 = min(max(c1, 0.0), 1.0)
        c2 = min(max(c2, 0.0), 1.0)
        if uniform(stream) <= 0.5:
            a[i], b[i] = c2, c1
        else:
            a[i], b[i] = c1, c2


@numba.njit(cache=True)
def _mutate_row(row: np.ndarray, stream: np.ndarray, rate: float, eta: float) -> None:
    """Polynomial mutation of each gene with probability ``rate``, visiting only those genes."""
    # Gaps between mutated genes are geometric; log_keep (log1p) and geometric are safe for any
    # rate: a rate too small to ever succeed gives a gap past any row, never a division by zero.
    keep = log_keep(rate)
    size = row.size
    i = geometric(stream, keep) - 1
    while i < size:
        value = row[i] + polynomial_delta(uniform(stream), eta)
        row[i] = min(max(value, 0.0), 1.0)
        i += geometric(stream, keep)


@numba.njit(cache=True, parallel=True)
def vary_genes(
    genes: np.ndarray,
    seeds: np.ndarray,
    crossover_rate: float,
    crossover_eta: float,
    mutation_rate: float,
    mutation_eta: float,
) -> None:
    """In place: SBX on consecutive pairs of rows, then polynomial mutation of both children.

    Each pair draws from its own SplitMix64 stream seeded by ``seeds[pair]``, so pairs run in
    parallel and the result does not depend on the number of threads or their order.
    """
    rows = genes.shape[0]
    for pair in numba.prange((rows + 1) // 2):
        stream = seeds[pair : pair + 1].copy()
        first = 2 * pair
        if first + 1 < rows:
            if crossover_rate > 0.0 and uniform(stream) < crossover_rate:
                _sbx_pair(genes[first], genes[first + 1], stream, crossover_eta)
            _mutate_row(genes[first + 1], stream, mutation_rate, mutation_eta)
        _mutate_row(genes[first], stream, mutation_rate, mutation_eta)


class DirectEncoding:
    """Raw pixel genomes ``[N, C*H*W]`` (float32 genes in [0, 1]); pixel = floor(gene * 255).

    ``color``: None picks "rgb" for 3 channels and "gray" (plain values per channel) otherwise;
    3-channel genes can instead be read as 8-bit HLS ("hls", "hls_full"), see :data:`COLORS`.
    """

    name = "direct"

    def __init__(
        self,
        channels: int = 1,
        height: int = 28,
        width: int = 28,
        mutation_rate: float = 0.1,
        mutation_eta: float = 15.0,
        crossover_rate: float = 0.0,
        crossover_eta: float = 10.0,
        halve_every: int = 1000,
        color: str | None = None,
        device: str = HOST,
    ) -> None:
        if min(channels, height, width) < 1:
            raise ValueError("image shape must be positive")
        color = ("rgb" if channels == 3 else "gray") if color is None else color
        if color not in COLORS:
            raise ValueError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
        if (color != "gray") != (channels == 3):
            raise ValueError(f"color {color!r} does not fit channels={channels}")
        if not 0.0 <= mutation_rate <= 1.0 or not 0.0 <= crossover_rate <= 1.0:
            raise ValueError("mutation and crossover rates must lie in [0, 1]")
        if mutation_eta < 0 or crossover_eta < 0 or halve_every < 0:
            raise ValueError("eta values and halve_every must be >= 0")
        self.image_shape = (channels, height, width)
        self.mutation_rate = float(mutation_rate)
        self.mutation_eta = float(mutation_eta)
        self.crossover_rate = float(crossover_rate)
        self.crossover_eta = float(crossover_eta)
        self.halve_every = int(halve_every)
        self.color = color
        self.device = str(device)
        self.genome_device = resolve_device(self.device, allow_host=True)

    @property
    def on_device(self) -> bool:
        """Whether genomes are torch tensors (on ``genome_device``) rather than NumPy arrays."""
        return self.genome_device != HOST

    def _tensor(self, genes: Any) -> Any:
        import torch

        return torch.as_tensor(genes, dtype=torch.float32, device=self.genome_device)

    @property
    def num_genes(self) -> int:
        """Genes per genome: one per pixel and channel."""
        return int(np.prod(self.image_shape))

    def empty(self, n: int) -> np.ndarray:
        """Zeroed storage for ``n`` genomes."""
        if self.on_device:
            import torch

            return torch.zeros((n, self.num_genes), dtype=torch.float32, device=self.genome_device)
        return np.zeros((n, self.num_genes), dtype=np.float32)

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Genes uniform in [0, 1) (drawn on the host from the run's generator either way)."""
        genes = rng.random((n, self.num_genes), dtype=np.float32)
        return self._tensor(genes) if self.on_device else genes

    def mutation_rate_at(self, generation: int) -> float:
        """The per-gene mutation probability, halved every ``halve_every`` generations (paper),
        never below :data:`MIN_MUTATION_RATE` (nor above the starting rate, so a rate of 0 stays
        0): finite and non-increasing for any generation."""
        if self.halve_every <= 0:
            return self.mutation_rate
        halvings = max(0, generation // self.halve_every)
        halved = math.ldexp(self.mutation_rate, -min(halvings, 2000))  # 0.0 past the float range
        return max(halved, min(self.mutation_rate, MIN_MUTATION_RATE))

    def vary(self, parents: np.ndarray, rng: np.random.Generator, generation: int) -> np.ndarray:
        """Children of consecutive parent pairs: optional SBX, then polynomial mutation."""
        if self.on_device:
            from evolve.encodings.direct_torch import vary_genes_torch

            children = self._tensor(parents).clone()
            vary_genes_torch(
                children,
                int(rng.integers(0, 2**63)),
                self.crossover_rate,
                self.crossover_eta,
                self.mutation_rate_at(generation),
                self.mutation_eta,
            )
            return children
        children = np.array(parents, dtype=np.float32, copy=True)
        seeds = rng.integers(0, 2**63, size=(len(children) + 1) // 2, dtype=np.uint64)
        vary_genes(
            children,
            seeds,
            self.crossover_rate,
            self.crossover_eta,
            self.mutation_rate_at(generation),
            self.mutation_eta,
        )
        return children

    def concatenate(self, parts: list[Any]) -> Any:
        """Gene matrices joined row-wise (tensors on the genome device stay there)."""
        if self.on_device:
            import torch

            return torch.cat([self._tensor(part) for part in parts])
        return np.concatenate([np.asarray(part, dtype=np.float32) for part in parts])

    def express(self, genomes: Any, size: tuple[int, int] | None = None) -> Any:
        """8-bit images as float32 ``[N, C, H, W]`` in [0, 1]; ``size`` must be the genome's.

        A torch tensor on the genome device when genomes live there, else a NumPy array.
        """
        if size is not None and tuple(size) != self.image_shape[1:]:
            raise ValueError("the direct encoding renders only at its own resolution")
        if self.on_device:
            from evolve.encodings.direct_torch import express_torch

            return express_torch(self._tensor(genomes), self.image_shape, self.color)
        genes = np.asarray(genomes, dtype=np.float32).reshape(len(genomes), *self.image_shape)
        if self.color in HUE_SECTORS_PER_BYTE:
            return outputs_to_image(genes, self.color)  # bytes floor(gene * 255) read as H, L, S
        images = np.floor(genes * np.float32(255.0))
        images /= np.float32(255.0)
        return images

    def payload(self, genomes: Any) -> dict[str, np.ndarray]:
        """What a worker needs to express ``genomes`` (:meth:`express_payload`): their 8-bit
        pixel values, uint8 ``[N, C*H*W]``, a quarter of the float genes' bytes; expression
        quantises to them anyway."""
        genes = np.asarray(as_numpy(genomes), dtype=np.float32)
        return {"bytes": to_byte(genes).astype(np.uint8)}

    def express_payload(self, payload: dict[str, np.ndarray]) -> np.ndarray:
        """The images :meth:`express` makes of the genomes :meth:`payload` packed, bit for bit
        (NumPy, on the host)."""
        values = payload["bytes"]
        return bytes_to_image(values.reshape(len(values), *self.image_shape), self.color)

    def to_arrays(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """The gene matrix itself, on the host."""
        return {"genes": np.asarray(as_numpy(genomes), dtype=np.float32)}

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Check and return the gene matrix."""
        genes = arrays.get("genes")
        if genes is None or genes.ndim != 2 or genes.shape[1] != self.num_genes:
            raise ValueError(f"expected a gene matrix with {self.num_genes} genes per genome")
        if genes.dtype.kind not in "fiu":
            raise ValueError(f"genes must be numbers, got dtype {genes.dtype}")
        # Checked before the cast: 1e9 or NaN would otherwise become garbage pixels (and a
        # float64 1e300 an infinity) with no more than a warning.
        if not np.isfinite(genes).all():
            raise ValueError("genes hold NaN or infinite values")
        # Pixel floor(gene * 255) must be 0..255; an ascent stores (code + 0.5) / 255, a hair
        # above 1 for code 255.
        if genes.size and (genes.min() < 0.0 or genes.max() >= 256.0 / 255.0):
            raise ValueError("genes lie outside [0, 1]")
        genes = np.array(genes, dtype=np.float32)
        return self._tensor(genes) if self.on_device else genes

    def config(self) -> dict[str, Any]:
        """Settings, enough to rebuild the encoding."""
        c, h, w = self.image_shape
        return {
            "name": self.name,
            "channels": c,
            "height": h,
            "width": w,
            "mutation_rate": self.mutation_rate,
            "mutation_eta": self.mutation_eta,
            "crossover_rate": self.crossover_rate,
            "crossover_eta": self.crossover_eta,
            "halve_every": self.halve_every,
            "color": self.color,
            "device": self.device,
        }

    def state_dict(self) -> dict[str, Any]:
        """No mutable state."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """No mutable state."""
