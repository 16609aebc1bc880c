"""The CPPN (indirect) encoding: CPPN genomes rendered as images.

Genomes, mutation and the shipped profile live in the ``cppn`` package; this module adapts them
to the :class:`evolve.encodings.base.Encoding` protocol. A genome batch is a
:class:`cppn.population.CppnPopulation` (struct of arrays), bred by Numba kernels
(:class:`cppn.breeder.ArrayBreeder`) and compiled without neat-python objects; neat-python genomes
appear only at the edges (:meth:`CppnEncoding.neat_genomes`, e.g. for the gallery's network
export). Checkpoints hold plain numeric arrays (:mod:`cppn.population_io`); those of the previous
format (one JSON text per genome, key ``genomes``) are converted on loading.

Defaults and the original code (protocol.md, "CPPN"). The profile follows the original in every
respect it documents: inputs x, y, d, bias; the paper's four activations drawn uniformly; full
input->output initial wiring with weights uniform in [-10, 10]; new connections' weights uniform
in [-10, 10]; node splits keep the old weight on both links; per-weight polynomial mutation
(rate 0.1, eta 15); activation redraw 0.1; add/delete connection 0.5/0.3; split/delete node
0.5/0.2; no crossover. One deliberate difference: x and y default to "normalized" ([-1, 1], the
Picbreeder convention) while the original code feeds raw pixel indices ("raw", offered as an
option). Raw coordinates were not what made the original converge fast: against the MNIST LeNet,
five seeds to every digit >= 0.9999 (cap 300 generations, batch 200) took a median of 90
generations with normalized coordinates (all five seeds got there; 39-181 generations) and 241
with raw ones (two of five seeds never got there). With raw coordinates, x and y are pixel
indices of the encoding's own height and width at any rendering size, so a gallery re-render at a
larger size shows the same picture, finer (see :func:`cppn.image.input_grid`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archives import ArchiveError
from cppn import image, serialize
from cppn.breeder import ArrayBreeder
from cppn.convert import from_neat, to_neat
from cppn.genomes import CppnGenome
from cppn.population import CppnPopulation, PopulationError, concatenate
from cppn.population_io import from_rows, to_rows
from cppn.profile import load_profile
from cppn.program import PackedPrograms
from cppn.program_arrays import compile_arrays
from cppn.render import RENDERERS, render_genomes, resolve_renderer

#: Colour modes allowed per channel count; the first is the default.
COLORS_FOR_CHANNELS = {1: ("gray",), 3: ("hls", "hls_full", "rgb")}


class CppnEncoding:
    """CPPN genomes (x, y, d, bias -> 1 or 3 outputs) evolved by mutation only.

    ``color``: None picks "gray" for 1 channel and "hls" (the original code's 8-bit HLS with its
    0..255 hue quirk) for 3; see :data:`cppn.color.COLOR_MODES`. ``coordinates``: "normalized"
    (x, y in [-1, 1]) or "raw" (the original code's pixel indices). ``config_path``: a neat-python
    INI merged over ``cppn/default.cfg``; ``profile``: the merged profile's INI text, which
    :meth:`config` stores so that a run never reads the original file again. ``renderer``:
    "auto" (GPU when CUDA is available, else Numba), "numba", "numpy" or "gpu"; GPU renderers
    return torch tensors on the device.
    """

    name = "cppn"

    def __init__(
        self,
        channels: int = 1,
        height: int = 28,
        width: int = 28,
        color: str | None = None,
        coordinates: str = "normalized",
        config_path: str | None = None,
        renderer: str = "auto",
        profile: str | None = None,
    ) -> None:
        if channels not in COLORS_FOR_CHANNELS:
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        color = COLORS_FOR_CHANNELS[channels][0] if color is None else color
        if color not in COLORS_FOR_CHANNELS[channels]:
            raise ValueError(
                f"color {color!r} needs channels="
                f"{1 if color == 'gray' else 3}, got channels={channels}"
            )
        if coordinates not in image.COORDINATES:
            raise ValueError(f"coordinates must be one of {image.COORDINATES}")
        if renderer not in RENDERERS:
            raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
        if height < 1 or width < 1:
            raise ValueError(f"image size must be positive, got {height}x{width}")
        self.channels, self.height, self.width = int(channels), int(height), int(width)
        self.color, self.coordinates = color, coordinates
        self.config_path = None if config_path is None else str(config_path)
        self.renderer = renderer
        self.image_shape = (self.channels, self.height, self.width)
        # A stored merged profile wins over the file it came from: a run stays self-contained.
        self.profile = load_profile(self.config_path, num_outputs=self.channels, text=profile)
        self.breeder = ArrayBreeder(self.profile)

    @property
    def genome_config(self) -> Any:
        """neat-python's genome config (with the project's activations registered)."""
        return self.profile.genome_config

    def empty(self, n: int) -> CppnPopulation:
        """``n`` unoccupied genome cells."""
        return CppnPopulation.empty(n)

    def random(self, n: int, rng: np.random.Generator) -> CppnPopulation:
        """``n`` random genomes: the profile's initial wiring (inputs fully wired to outputs)."""
        return self.breeder.random(n, rng)

    def vary(
        self, parents: CppnPopulation, rng: np.random.Generator, generation: int
    ) -> CppnPopulation:
        """One mutated child per parent (mutation rates are constant: ``generation`` unused)."""
        del generation
        return self.breeder.vary(parents, rng)

    def concatenate(self, parts: list[CppnPopulation]) -> CppnPopulation:
        """Populations joined end to end."""
        return concatenate(parts)

    def express(self, genomes: CppnPopulation, size: tuple[int, int] | None = None) -> Any:
        """Images float32 [N, C, H, W] in [0, 1]; ``size`` = (height, width) overrides.

        At another size the picture is the same, sampled more finely or coarsely: with raw
        coordinates, x and y stay pixel indices of the encoding's own height and width.
        """
        return self.express_payload(self.payload(genomes), size)

    def payload(self, genomes: CppnPopulation) -> PackedPrograms:
        """What a worker needs to express ``genomes`` (:meth:`express_payload`): their compiled
        programs, packed (a few KB a genome, never rendered images)."""
        return compile_arrays(genomes, self.channels)

    def express_payload(self, programs: PackedPrograms, size: tuple[int, int] | None = None) -> Any:
        """Render programs :meth:`payload` compiled: the images :meth:`express` makes."""
        height, width = (self.height, self.width) if size is None else size
        return render_genomes(
            programs,
            self.genome_config,
            height,
            width,
            self.color,
            self.coordinates,
            resolve_renderer(self.renderer),
            native=(self.height, self.width),
        )

    def torch_renderer(self, genomes: CppnPopulation, device: Any = "cpu") -> Any:
        """A :class:`cppn.render_torch.TorchCppnRenderer` of ``genomes`` (all occupied) at this
        encoding's size, colour and coordinates: its ``render`` gives :meth:`express`'s images
        (this encoding's renderer is its reference) as a differentiable function of the
        genomes' link weights."""
        from cppn.render_torch import TorchCppnRenderer

        return TorchCppnRenderer(
            genomes, self.height, self.width, self.color, self.coordinates, device=device,
            native=(self.height, self.width), reference=resolve_renderer(self.renderer),
        )  # fmt: skip

    def neat_genomes(self, genomes: CppnPopulation) -> list[CppnGenome | None]:
        """The batch as neat-python genomes (None for empty cells), for export and reference."""
        return to_neat(genomes, self.genome_config)

    def to_arrays(self, genomes: CppnPopulation) -> dict[str, np.ndarray]:
        """Plain numeric arrays, one row per genome (see :func:`cppn.population_io.to_rows`)."""
        return to_rows(genomes)

    def from_arrays(self, arrays: dict[str, np.ndarray]) -> CppnPopulation:
        """Inverse of :meth:`to_arrays`; the previous format (``genomes``: JSON per genome) is
        converted. Bad arrays raise :class:`archives.ArchiveError` (one line)."""
        try:
            if "genomes" in arrays and "key" not in arrays:
                texts = np.asarray(arrays["genomes"])
                if texts.dtype.kind != "U":
                    raise PopulationError(f"genome JSON array has dtype {texts.dtype}")
                return from_neat(serialize.genomes_from_array(texts, self.genome_config))
            return from_rows(arrays, self.channels)
        except (ValueError, KeyError, TypeError) as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ArchiveError(f"CPPN genomes: {message}") from None

    def config(self) -> dict[str, Any]:
        """Constructor arguments plus ``name``."""
        return {
            "name": self.name,
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "color": self.color,
            "coordinates": self.coordinates,
            "config_path": self.config_path,
            "renderer": self.renderer,
            "profile": self.profile.text,
        }

    def state_dict(self) -> dict[str, Any]:
        """Genome-key, node-id and innovation counters."""
        return self.breeder.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.breeder.load_state_dict(state)
