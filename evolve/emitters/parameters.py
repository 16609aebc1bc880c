"""Continuous parameters for the evolution strategies to search, and the genomes they make.

- :class:`GridImage` (direct encoding): a coarse grid of ``channels x g x g`` values in logit
  space, bilinearly upsampled to the image and squashed by a sigmoid into genes in [0, 1]. A
  digit's worth of structure lives in a 7x7 grid, so the strategy searches 49 numbers, not 784;
  every pixel stays reachable near 0 and 1 (the sigmoid saturates) and genes never leave [0, 1].
- :class:`CppnWeights` (CPPN encoding): the connection weights of a fixed network, the class's
  elite when its strategy (re)starts (its *base*). Structure does not change under the strategy;
  the paper emitter, run beside it, still adds nodes and links.

Both map samples ``[k, lam, n]`` for the cells ``which`` to one genome batch of ``k * lam``
children (cell-major), and read a strategy's starting mean from a cell's elite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from archives import EliteArchive
from archives.export import as_numpy
from evolve.emitters.base import EmitterError

#: Genes are read back to logits with this margin, so an elite at exactly 0 or 1 starts its
#: strategy at a finite mean (logit(0.001) = -6.9, beyond which a sigmoid gene is 0 in 8 bits).
_LOGIT_MARGIN = 1e-3


def default_grid(height: int, width: int) -> int:
    """A grid a quarter of the image's smaller side, at most 16 (7 for MNIST's 28x28, 16 for
    ImageNet's 224: 768 numbers for three channels), at least 2."""
    return int(max(2, min(min(height, width) // 4, 16)))


class GridImage:
    """Direct genomes from a ``channels x grid x grid`` logit grid (see the module docstring)."""

    def __init__(self, encoding: Any, grid: int) -> None:
        channels, height, width = encoding.image_shape
        if not 1 <= grid <= min(height, width):
            raise EmitterError(f"grid must be in [1, {min(height, width)}], got {grid}")
        self.encoding = encoding
        self.grid, self.channels, self.size = int(grid), channels, (height, width)
        self.dimension = channels * self.grid * self.grid
        # Bilinear upsampling is separable and linear: rows, then columns, each a fixed matrix
        # (torch's interpolation of the unit vectors, align_corners=False). Two small matrix
        # products cost a tenth of torch's interpolate call inside the loop, where its thread
        # pool competes with the forward pass's.
        self._rows = _upsampling_matrix(self.grid, height)  # [H, g]
        self._columns = _upsampling_matrix(self.grid, width).T.copy()  # [g, W]

    def genes(self, samples: np.ndarray) -> np.ndarray:
        """float32 genes ``[N, C*H*W]`` of parameter rows ``[N, n]``."""
        grid = np.asarray(samples, dtype=np.float32).reshape(-1, self.grid, self.grid)
        image = self._rows @ grid @ self._columns  # [N * C, H, W]
        np.negative(image, out=image)
        with np.errstate(over="ignore"):  # exp(> 88) is inf in float32: its sigmoid is 0, exactly
            np.exp(image, out=image)
        image += np.float32(1.0)
        np.reciprocal(image, out=image)  # the sigmoid of the upsampled logits
        return image.reshape(len(samples), -1)

    def genomes(self, which: np.ndarray, samples: np.ndarray) -> Any:
        """The children of ``samples`` ``[k, lam, n]`` as the encoding's genome batch."""
        del which  # the grid alone makes the image
        genes = self.genes(samples.reshape(-1, self.dimension))
        return self.encoding.from_arrays({"genes": genes})

    def start(self, archive: EliteArchive, cells: np.ndarray) -> np.ndarray:
        """Starting means ``[len(cells), n]``: each elite's genes in logit space, averaged over
        the grid's cells (an empty cell starts at 0, mid-grey)."""
        means = np.zeros((len(cells), self.dimension))
        full = cells[archive.occupied[cells]]
        if full.size:
            genes = np.asarray(as_numpy(archive.genomes[full]), dtype=np.float64)
            genes = np.clip(genes, _LOGIT_MARGIN, 1 - _LOGIT_MARGIN)
            logits = torch.as_tensor(np.log(genes / (1 - genes))).reshape(
                len(full), self.channels, *self.size
            )
            pooled = torch.nn.functional.adaptive_avg_pool2d(logits, self.grid)
            means[archive.occupied[cells]] = pooled.reshape(len(full), -1).numpy()
        return means

    def state(self) -> dict[str, np.ndarray]:
        """Nothing beyond the strategies: the grid alone makes the image."""
        return {}

    def load_state(self, arrays: dict[str, np.ndarray], num_cells: int) -> None:
        """Nothing to restore."""
        if arrays:
            raise EmitterError(f"unexpected arrays for a grid image: {sorted(arrays)[0]}")


def _upsampling_matrix(grid: int, size: int) -> np.ndarray:
    """float32 ``[size, grid]``: torch's 1-D linear interpolation (align_corners=False) of a
    ``grid``-long signal to ``size`` samples, as a matrix."""
    unit = torch.eye(grid, dtype=torch.float64)[:, None, :]  # [grid, 1, grid]
    columns = torch.nn.functional.interpolate(unit, size=size, mode="linear", align_corners=False)
    return columns[:, 0, :].T.numpy().astype(np.float32)


class CppnWeights:
    """CPPN genomes whose first ``dimension`` connection weights are the strategy's parameters
    (see the module docstring); other weights and the structure are the base genome's."""

    def __init__(self, encoding: Any, num_cells: int, dimension: int) -> None:
        if dimension < 1:
            raise EmitterError(f"the weight dimension must be >= 1, got {dimension}")
        self.encoding = encoding
        self.dimension = int(dimension)
        self.bases = encoding.empty(num_cells)  # each cell's base network
        profile = encoding.profile.genome_config
        self.bounds = (float(profile.weight_min_value), float(profile.weight_max_value))

    def genomes(self, which: np.ndarray, samples: np.ndarray) -> Any:
        """``lam`` copies of each cell's base with its weights replaced by the samples (clipped
        to the profile's weight range; the strategy keeps the unclipped samples)."""
        k, lam, n = samples.shape
        children = self.bases[np.repeat(which, lam)]
        counts = children.num_links
        starts = children.link_start[:-1]
        used = np.minimum(counts, n)
        low, high = self.bounds
        values = np.clip(samples.reshape(k * lam, n), low, high)
        weights = children.link_weight
        for j in np.flatnonzero(used):  # k * lam small rows; slicing beats a fancy index here
            weights[starts[j] : starts[j] + used[j]] = values[j, : used[j]]
        return children

    def start(self, archive: EliteArchive, cells: np.ndarray) -> np.ndarray:
        """Make each cell's elite its base; the means are the base's first ``dimension``
        weights (zero-padded). Cells without an elite keep no base (the caller skips them)."""
        means = np.zeros((len(cells), self.dimension))
        full = cells[archive.occupied[cells]]
        if full.size:
            self.bases[full] = archive.genomes[full]
            bases = self.bases[full]
            for row, j in enumerate(np.flatnonzero(archive.occupied[cells])):
                start, count = bases.link_start[row], min(bases.num_links[row], self.dimension)
                means[j, :count] = bases.link_weight[start : start + count]
        return means

    def state(self) -> dict[str, np.ndarray]:
        """The base networks, as the encoding stores genomes (plain arrays)."""
        arrays = self.encoding.to_arrays(self.bases)
        return {f"base.{name}": values for name, values in arrays.items()}

    def load_state(self, arrays: dict[str, np.ndarray], num_cells: int) -> None:
        """Restore the base networks."""
        own = {name[len("base.") :]: v for name, v in arrays.items() if name.startswith("base.")}
        if set(arrays) - {f"base.{name}" for name in own}:
            raise EmitterError("unexpected arrays for CPPN weights")
        try:
            bases = self.encoding.from_arrays(own)
        except (ValueError, KeyError) as exc:
            raise EmitterError(f"base networks: {exc}") from None
        if len(bases) != num_cells:
            raise EmitterError(f"expected {num_cells} base networks, got {len(bases)}")
        self.bases = bases
