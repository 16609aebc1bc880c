"""Will a generation (or a gallery) fit in memory? Estimated before anything is allocated.

A ``--batch`` too large for the machine used to die inside NumPy or torch with a MemoryError
traceback after the run directory was made. The estimate counts the large arrays a generation
holds at once: parent and child genomes, the expressed images, and one chunk of model inputs
(at most ``--max-batch``) with its normalised copy. The model's own activations come on top, so
this is a lower bound: a batch it refuses can never fit; one it accepts may still be too much
for a large network.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from evolve.errors import RunError

FLOAT32 = 4


def available_memory(device: str = "cpu") -> int | None:
    """Bytes free where a generation lives: the GPU's free memory for a CUDA device, else the
    host's MemAvailable (/proc/meminfo, else sysconf); None when it cannot be told."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.mem_get_info(torch.device(device))[0])
        return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def generation_bytes(
    population: int,
    genes_per_genome: int,
    image_shape: tuple[int, int, int],
    model_input_shape: tuple[int, int, int],
    views: int = 1,
    max_batch: int = 1024,
    samples: int = 1,
) -> int:
    """Bytes of the large arrays one generation of ``population`` genomes holds at once
    (``samples``: transformed views per image under ``--robust``)."""
    genomes = 2 * population * genes_per_genome * FLOAT32  # parents and their children
    images = 2 * population * math.prod(image_shape) * FLOAT32  # expressed, and one temporary
    # --robust: the repeated images, their noise and the transformed views, all at once.
    robust = 3 * population * samples * math.prod(image_shape) * FLOAT32 if samples > 1 else 0
    chunk = min(population * views * samples, max_batch)
    model_inputs = 2 * chunk * math.prod(model_input_shape) * FLOAT32  # views and normalised
    return genomes + images + robust + model_inputs


def gallery_bytes(cells: int, channels: int, size: int, rendered: bool) -> int:
    """Bytes of the ``--size`` images of a gallery: float32 renders and 8-bit copies for an
    encoding that re-renders (CPPN), 8-bit upscaled copies for one that upscales (direct)."""
    per_value = 2 * FLOAT32 + 1 if rendered else 3
    return cells * channels * size * size * per_value


def gib(size: int) -> str:
    """``size`` bytes as a short human figure."""
    return f"{size / 2**30:,.1f} GiB" if size >= 2**30 else f"{size / 2**20:,.1f} MiB"


def check_fits(needed: int, what: str, device: str = "cpu") -> None:
    """Raise a one-line :class:`RunError` when ``needed`` bytes exceed the memory available on
    ``device`` (nothing is checked where that cannot be told)."""
    available = available_memory(device)
    if available is not None and needed > available:
        where = "GPU memory" if device.startswith("cuda") else "memory"
        raise RunError(
            f"{what} needs about {gib(needed)}, but only {gib(available)} of {where} is available"
        )


def check_generation_fits(
    batch: int, initial_population: int, encoding: Any, target: Any, samples: int = 1
) -> None:
    """Refuse (one-line :class:`RunError`) a ``--batch`` or ``--initial-population`` whose
    generation cannot fit in the memory of the target's device, before a run allocates it."""
    option, population = (
        ("--initial-population", initial_population)
        if initial_population > batch
        else ("--batch", batch)
    )
    needed = generation_bytes(
        population,
        int(getattr(encoding, "num_genes", 0)),  # CPPN genomes are small Python objects
        tuple(target.image_shape),
        tuple(target.spec.shape),
        target.views,
        target.max_batch,
        samples,
    )
    check_fits(
        needed, f"{option} {population:,} (genomes, images and model inputs)", str(target.device)
    )


def check_gallery_fits(size: int | None, cells: int, encoding_config: dict[str, Any]) -> None:
    """Refuse (one-line :class:`RunError`) a gallery ``--size`` too large for memory."""
    if size is None:
        return
    rendered = encoding_config.get("name") == "cppn"
    channels = int(encoding_config.get("channels", 3))
    check_fits(
        gallery_bytes(cells, channels, size, rendered), f"--size {size:,} for {cells} elites"
    )
