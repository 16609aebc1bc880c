"""Render a population of CPPN genomes with a chosen renderer: the one entry point."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from cppn import image
from cppn.population import CppnPopulation
from cppn.program import PackedPrograms, compile_population
from cppn.program_arrays import compile_arrays

RENDERERS = ("auto", "numba", "numpy", "gpu")


def resolve_renderer(renderer: str) -> str:
    """'auto' -> 'gpu' when torch sees CUDA, else 'numba'; other names are checked."""
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    if renderer != "auto":
        return renderer
    try:
        import torch
    except ImportError:
        return "numba"
    return "gpu" if torch.cuda.is_available() else "numba"


@lru_cache(maxsize=8)
def _grid(height: int, width: int, coordinates: str, native: tuple[int, int] | None) -> np.ndarray:
    grid = image.input_grid(height, width, coordinates, native)
    grid.flags.writeable = False
    return grid


def render_programs(
    programs: PackedPrograms,
    height: int,
    width: int,
    color: str = "gray",
    coordinates: str = "normalized",
    renderer: str = "numba",
    device: Any = "cuda",
    native: tuple[int, int] | None = None,
) -> Any:
    """Images float32 [N, C, height, width] in [0, 1] for compiled programs.

    NumPy array for the 'numba' and 'numpy' renderers; a torch tensor on CUDA ``device`` for
    'gpu' (the Numba CUDA kernel, one launch). ``native``: the genomes' own (height, width), which
    raw coordinates are pixel indices of (see :func:`cppn.image.input_grid`); None means
    (height, width).
    """
    name = resolve_renderer(renderer)
    if len(programs) == 0:
        empty = np.zeros((0, programs.output_slot.shape[1], height, width), dtype=np.float32)
        if name == "gpu":
            import torch

            return torch.from_numpy(empty).to(device)
        return empty
    native = None if native is None else (int(native[0]), int(native[1]))
    grid = _grid(int(height), int(width), coordinates, native)
    if name == "numba":
        from cppn import render_numba

        return render_numba.render(programs, grid, height, width, color)
    if name == "numpy":
        from cppn import render_numpy

        return render_numpy.render(programs, grid, height, width, color)
    from cppn import render_cuda

    return render_cuda.render(programs, grid, height, width, color, device)


def render_genomes(
    genomes: Sequence[Any] | CppnPopulation | PackedPrograms,
    genome_config: Any,
    height: int,
    width: int,
    color: str = "gray",
    coordinates: str = "normalized",
    renderer: str = "numba",
    device: Any = "cuda",
    native: tuple[int, int] | None = None,
) -> Any:
    """Images float32 [N, C, height, width] in [0, 1] for neat-python genomes, a
    :class:`~cppn.population.CppnPopulation` (compiled without neat objects), or programs already
    compiled and packed.

    Compiles them (:func:`cppn.program_arrays.compile_arrays` for a population,
    :func:`cppn.program.compile_population` for neat genomes) and renders the programs with
    :func:`render_programs`, which documents the arguments.
    """
    if isinstance(genomes, CppnPopulation):
        programs = compile_arrays(genomes, int(genome_config.num_outputs))
    elif isinstance(genomes, PackedPrograms):
        programs = genomes
    else:
        programs = compile_population(genomes, genome_config)
    return render_programs(programs, height, width, color, coordinates, renderer, device, native)
