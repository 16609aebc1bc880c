"""``fooling gallery``: export a run's elites as pictures and arrays, and re-score the 8-bit PNGs.

An 8-bit PNG can change an image (the CPPN renders in float), so every elite is re-scored from
the PNG file itself and both confidences are reported, with the PNG's top classes. gallery.json
holds everything a page needs (:mod:`fooling.reports.gallery_html` builds ``index.html`` from it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_save_npz, atomic_write_json
from archives.export import as_numpy, read_png, to_uint8, upscale_nearest, write_grid, write_png
from evolve.config import RunConfig
from evolve.encodings import build_encoding
from evolve.errors import RunError
from evolve.memory import check_gallery_fits
from evolve.run_dir import CONFIG_FILE, GALLERY_DIR, load_run_archive, read_first_reached
from fitness.class_names import MAX_CLASS_NAME
from fitness.loading import TargetOptions, load_target


def safe_name(name: str) -> str:
    """A class name usable in a file name (at most :data:`MAX_CLASS_NAME` characters, so that
    a name from a run made before the policy still fits a file system's 255 bytes)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:MAX_CLASS_NAME] or "class"


def make_gallery(
    run_dir: Path,
    out_dir: Path | None = None,
    *,
    size: int | None = None,
    columns: int = 5,
    grid: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Write grid.png, a PNG per elite, elites.npz and gallery.json; return the latter's data.

    ``grid=False`` skips grid.png: matplotlib needs about a minute for 1000 labelled elites, and
    such a grid is unreadable anyway (the HTML gallery is the way to browse them).
    """
    config = RunConfig.load(run_dir / CONFIG_FILE)
    check_gallery_fits(size, len(config.cell_classes), config.encoding)
    encoding = build_encoding(config.encoding)
    archive = load_run_archive(run_dir, encoding, config)
    if not archive.occupied.any():
        raise RunError(f"{run_dir} has no elites yet: there is nothing to show")
    first = read_first_reached(
        run_dir, archive.cell_names, list(archive.cell_classes), config.threshold
    )
    target = load_target(TargetOptions.from_dict(config.target), progress=progress)
    if target.fingerprint != config.target_fingerprint:
        raise RunError("the target's weights differ from those this run was evolved against")
    out_dir = out_dir or run_dir / GALLERY_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "elites").mkdir(exist_ok=True)

    cells = np.flatnonzero(archive.occupied)
    names = [archive.cell_names[c] for c in cells]
    images = as_numpy(encoding.express(archive.genomes[cells])).astype(np.float32)
    pixels = to_uint8(images)
    png_paths = []
    for cell, name, image in zip(cells, names, pixels, strict=True):
        path = out_dir / "elites" / f"{cell:04d}_{safe_name(name)}.png"
        write_png(path, image)
        png_paths.append(path)
    rescored = (
        target.probabilities(np.stack([read_png(p) for p in png_paths]))
        if len(cells)
        else (np.zeros((0, archive.probabilities.shape[1])))
    )
    class_of_cell = archive.cell_classes[cells]
    png_confidence = rescored[np.arange(len(cells)), class_of_cell]

    large = None
    if size is not None and len(cells):
        large = render_large(encoding, archive.genomes[cells], pixels, size)
        for cell, name, image in zip(cells, names, large, strict=True):
            write_png(out_dir / "elites" / f"{cell:04d}_{safe_name(name)}_{size}.png", image)
    networks = export_networks(encoding, archive.genomes[cells], cells, names, out_dir)

    title = f"{config.target.get('target')} · {encoding.name} encoding"
    if grid:
        labels = [f"{n}\n{c:.8f}" for n, c in zip(names, archive.fitness[cells], strict=True)]
        write_grid(
            out_dir / "grid.png", large if large is not None else pixels, labels, columns, title
        )
    atomic_save_npz(
        out_dir / "elites.npz",
        {
            "images": images,
            "class_index": class_of_cell,
            "confidence": archive.fitness[cells],
            "confidence_png": png_confidence,
            "probabilities": archive.probabilities[cells],
        },
    )
    top = top_classes(rescored, target.class_names)
    result = {
        "run_dir": str(run_dir),
        "out_dir": str(out_dir),
        "title": title,
        "encoding": encoding.name,
        "threshold": config.threshold,
        "cells": [
            {
                "class": name,
                "class_index": int(class_of_cell[i]),
                "confidence": float(archive.fitness[cells[i]]),
                "confidence_png": float(png_confidence[i]),
                "png_argmax": target.class_names[int(rescored[i].argmax())],
                "top5": top[i],
                "png": str(png_paths[i].relative_to(out_dir)),
                "generation": int(archive.generation[cells[i]]),
                "evaluation": int(archive.evaluation[cells[i]]),
                # Queries to success: when the class first met the run's threshold (or None).
                "reached": first.entry(int(cells[i])),
                **({"network": networks[i]} if networks else {}),
                **(
                    {"png_large": f"elites/{cells[i]:04d}_{safe_name(name)}_{size}.png"}
                    if large is not None
                    else {}
                ),
            }
            for i, name in enumerate(names)
        ],
    }
    atomic_write_json(out_dir / "gallery.json", result)
    return result


def top_classes(
    probabilities: np.ndarray, class_names: list[str], k: int = 5
) -> list[list[dict[str, Any]]]:
    """Per row of ``probabilities``, its ``k`` most probable classes, most probable first."""
    k = min(k, probabilities.shape[1]) if probabilities.ndim == 2 else 0
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [{"class": class_names[c], "probability": float(row[c])} for c in ranks]
        for row, ranks in zip(probabilities, order, strict=True)
    ]


def render_large(encoding: Any, genomes: np.ndarray, pixels: np.ndarray, size: int) -> np.ndarray:
    """Elites at ``size`` x ``size``: re-rendered where the encoding can, else upscaled."""
    if encoding.name == "cppn":
        return to_uint8(encoding.express(genomes, size=(size, size)))
    return np.stack([upscale_nearest(image, size) for image in pixels])


def export_networks(
    encoding: Any, genomes: np.ndarray, cells: np.ndarray, names: list[str], out_dir: Path
) -> list[dict[str, str]]:
    """CPPN elites: each network as JSON and as a picture; nothing for other encodings."""
    if encoding.name != "cppn":
        return []
    from cppn.network_export import draw_network, write_network_json

    (out_dir / "networks").mkdir(exist_ok=True)
    exported = []
    for cell, name, genome in zip(cells, names, encoding.neat_genomes(genomes), strict=True):
        stem = out_dir / "networks" / f"{cell:04d}_{safe_name(name)}"
        write_network_json(genome, encoding.genome_config, stem.with_suffix(".json"))
        draw_network(genome, encoding.genome_config, stem.with_suffix(".png"))
        exported.append(
            {
                "json": str(stem.with_suffix(".json").relative_to(out_dir)),
                "png": str(stem.with_suffix(".png").relative_to(out_dir)),
            }
        )
    return exported
