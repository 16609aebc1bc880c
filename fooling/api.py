"""The Python API for notebooks and scripts: load a target, evolve, read a run's elites.

Everything here is what the ``fooling`` command does, as functions::

    import fooling

    lenet = fooling.load_target("mnist-lenet")                   # trained once, then cached
    run = fooling.evolve(lenet, until=0.9999, max_generations=300, seed=0)   # in memory
    run.confidence                                               # best confidence per class
    images = run.images()                                        # float32 [classes, C, H, W]
    again = fooling.read_run("runs/demo")                        # a run directory of the CLI
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from archives import DEFAULT_THRESHOLD, EliteArchive
from archives.export import as_numpy
from evolve.config import RunConfig, stop_conditions
from evolve.emitters import emitter_settings, with_gradients
from evolve.encodings import build_encoding
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.observers import Observer
from evolve.run_dir import CONFIG_FILE, SUMMARY_FILE, load_run_archive
from evolve.runner import Evolution
from fitness.loading import TargetOptions
from fitness.loading import load_target as _load_target
from fitness.robust import DEFAULT_ELITES, RobustScoring
from fitness.target import Target
from fitness.transforms import TransformSpec
from fooling.cli.options import ENCODING_OPTIONS, encoding_config, select_cells


@dataclass
class Run:
    """A finished (or stopped) run: its configuration, summary, archive and encoding.

    ``run_dir`` is None for a run evolved in memory.
    """

    config: RunConfig
    summary: dict[str, Any]
    archive: EliteArchive
    encoding: Encoding
    run_dir: Path | None = None

    @property
    def class_names(self) -> list[str]:
        """The class each elite was evolved for."""
        return self.archive.cell_names

    @property
    def confidence(self) -> dict[str, float]:
        """Best confidence the target gives each class (0 where no elite was found)."""
        return self.archive.best_by_class()

    def images(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The elites as float32 images [classes, C, H, W] in [0, 1] (``size``: re-render a
        CPPN at another (height, width)); empty cells are left out."""
        cells = np.flatnonzero(self.archive.occupied)
        genomes = self.archive.genomes[cells]
        images = self.encoding.express(genomes, size)
        return as_numpy(images).astype(np.float32)


def load_target(target: str = "mnist-lenet", **options: Any) -> Target:
    """A classifier to fool: a built-in name, a model file, or ``package.module:factory``.

    ``options`` are :class:`fitness.loading.TargetOptions` fields (``weights``, ``input_shape``,
    ``device``, ``precision``, ...). The built-in LeNet is trained on first use and cached.
    """
    known = {f.name for f in fields(TargetOptions)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown target option(s): {', '.join(sorted(unknown))}")
    return _load_target(TargetOptions(target=target, **options), progress=False)


def evolve(
    target: Target | str = "mnist-lenet",
    *,
    encoding: str = "direct",
    out: str | Path | None = None,
    batch: int = 200,
    seed: int = 0,
    until: float | None = None,
    max_generations: int | None = None,
    max_evaluations: int | None = None,
    time_limit: float | None = None,
    only_classes: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    overwrite: bool = False,
    progress: bool = False,
    robust: str | None = None,
    robust_samples: int = 8,
    robust_reduce: str = "mean",
    robust_elites: str = DEFAULT_ELITES,
    emitter: str = "paper",
    emitter_setting: Sequence[str] = (),
    gradients: bool = False,
    initial_population: int | None = None,
    observers: Sequence[Observer] = (),
    **encoding_options: Any,
) -> Run:
    """Evolve one fooling image per class, as ``fooling evolve`` does.

    ``target``: a :class:`Target` from :func:`load_target`, or a built-in name. ``out``: a run
    directory (resumable with ``fooling evolve --resume``); None evolves in memory. The run stops
    at the first of ``until`` (every class at that confidence), ``max_generations``,
    ``max_evaluations`` and ``time_limit`` (seconds); with none, after the original code's
    generations. ``robust``: a transformation SPEC (``"shift=2,jpeg=60:95"``, ``"print-photo"``)
    under which each image is scored ``robust_samples`` times, its fitness the ``robust_reduce``
    ("mean" or "min") of the views, its elites scored again each generation under the
    children's views (``robust_elites="paired"``; or ``"rescore"``, ``"average"``, ``"keep"``),
    as ``--robust``. ``emitter``: what makes the children, as ``--emitter`` (``"paper"``, the
    default, or ``"cma"``; ``"cma:3,paper:1"`` splits each batch); ``emitter_setting``: its
    ``NAME.KEY=VALUE`` settings, as ``--emitter-setting`` (e.g. ``["cma.sigma=1.5"]``).
    ``gradients``: as ``--gradients``, the grad emitter (white-box gradient ascent per class;
    ``emitter`` must then be the default or name ``grad``).
    ``initial_population``: random genomes in generation 0 (default: ``batch``).
    ``observers``: :class:`evolve.observers.Observer` objects told of the run's progress (e.g.
    a notebook callback, or :class:`evolve.tensorboard.TensorBoardLog` to watch it in
    TensorBoard).
    ``encoding_options``: the encoding's
    settings (``mutation_rate``, ``color``, ``coordinates``, ``cppn_config``, ...), as the
    command's options of the same names.
    """
    if isinstance(target, str):
        target = load_target(target)
    if target.options is None:
        raise ValueError("target must come from fooling.load_target (its options are recorded)")
    unknown = set(encoding_options) - set(ENCODING_OPTIONS)
    if unknown:
        raise TypeError(f"unknown encoding option(s): {', '.join(sorted(unknown))}")
    stop = stop_conditions(encoding, max_generations, max_evaluations, time_limit, until)
    emitters = emitter_settings(with_gradients(emitter) if gradients else emitter, emitter_setting)
    built = build_encoding(
        encoding_config(encoding, target.image_shape, target.options.device, encoding_options)
    )
    cells = select_cells(target.class_names, only_classes)
    scoring = None
    if robust is not None:
        transforms = TransformSpec.parse(robust).for_images(target.image_shape[0])
        scoring = RobustScoring(transforms, robust_samples, robust_reduce, robust_elites)
    config = RunConfig.for_target(
        target,
        built,
        cells,
        batch=batch,
        seed=seed,
        stop=stop,
        threshold=threshold,
        robust=scoring,
        emitters=emitters,
        initial_population=initial_population,
    )
    if out is not None:
        evolution = Evolution.create(
            Path(out),
            config,
            target,
            built,
            overwrite=overwrite,
            progress=progress,
            observers=observers,
        )
        summary = evolution.run()
        return Run(config, summary, evolution.archive, built, Path(out))
    with tempfile.TemporaryDirectory(prefix="fooling-") as folder:
        evolution = Evolution.create(
            Path(folder), config, target, built, progress=progress, observers=observers
        )
        summary = evolution.run()
    return Run(config, summary, evolution.archive, built)


def read_run(run_dir: str | Path) -> Run:
    """A run directory written by ``fooling evolve`` (or :func:`evolve` with ``out``): its
    configuration, summary and archive (the final one, else the last checkpoint's)."""
    import json

    run_dir = Path(run_dir)
    config = RunConfig.load(run_dir / CONFIG_FILE)
    try:
        built = build_encoding(config.encoding)
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run_dir / CONFIG_FILE} has a bad encoding: {exc}") from None
    archive = load_run_archive(run_dir, built, config)
    summary_path = run_dir / SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    return Run(config, summary, archive, built, run_dir)
