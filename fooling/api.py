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
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from archives import EliteArchive
from archives.export import as_numpy
from evolve.config import RunConfig
from evolve.encodings import build_encoding
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.observers import Observer
from evolve.run_dir import CONFIG_FILE, SUMMARY_FILE, load_run_archive
from fitness.loading import TargetOptions
from fitness.loading import load_target as _load_target
from fitness.target import Target
from fooling.cli.declared import SCORING_OPTIONS, STOP_OPTIONS
from fooling.launch import evolve_new, evolve_resumed
from fooling.run_spec import RunSpec, run_spec


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
    out: str | Path | None = None,
    progress: bool | None = None,
    observers: Sequence[Observer] = (),
    **options: Any,
) -> Run:
    """Evolve one fooling image per class, as ``fooling evolve`` does, with the same options
    and defaults: the run's config.json is the one the command writes for the same options.

    ``target``: a :class:`Target` from :func:`load_target`, or a target as ``--target`` names
    it (a built-in name, a model file, ``package.module:factory``, ``NAME=WEIGHTS``), loaded
    with the target options below. ``out``: a run directory (resumable with ``fooling evolve
    --resume``, or with ``resume=True``); None evolves in memory. ``progress``: progress bars
    (default: none; ``quiet=False`` says the same). ``observers``:
    :class:`evolve.observers.Observer` objects told of the run's progress (e.g. a notebook
    callback, or :class:`evolve.tensorboard.TensorBoardLog`).

    ``options`` are the options of ``fooling evolve`` by their Python names
    (``--max-generations`` is ``max_generations``), each checked as the command checks it, a
    value as the command line would give it or as its Python value (``input_shape=(3, 32,
    32)``, ``robust="shift=2"``, ``emitter_setting=["cma.sigma=1.5"]``):

    - target: ``weights``, ``random_weights``, ``input_shape``, ``class_names_file``,
      ``input_scale``, ``mean``, ``std``, ``device``, ``max_batch``, ``model_outputs``,
      ``genome_size``, ``crops``, ``precision``, ``channels_last`` (for a target given by
      name), and ``only_classes``;
    - encoding: ``encoding`` ("direct" or "cppn"), ``mutation_rate``, ``mutation_eta``,
      ``crossover_rate``, ``crossover_eta``, ``halve_every``, ``cppn_config``, ``color``,
      ``coordinates``, ``renderer``;
    - children: ``batch``, ``initial_population``, ``seed``, ``emitter`` ("paper", "cma",
      "grad" or a split such as "cma:3,paper:1"), ``emitter_setting`` (``NAME.KEY=VALUE``
      strings), ``gradients``;
    - stop: ``until``, ``max_generations``, ``max_evaluations``, ``time_limit`` (seconds),
      ``threshold``; with none of the first four, the original code's generations;
    - scoring: ``robust`` (a transformation SPEC), ``robust_samples``, ``robust_reduce``,
      ``robust_elites``, ``chunk``, ``threads``, and Ray's ``workers``, ``ray_address``,
      ``worker_threads``, ``worker_gpus``, ``worker_timeout``, ``oversubscribe``;
    - output: ``checkpoint_every``, ``overwrite``, ``quiet``, ``tensorboard`` (a log folder),
      ``resume`` (continue the run in ``out``; only the stop and scoring options,
      ``tensorboard`` and ``observers`` may be given with it).

    An unknown name raises :class:`TypeError`; a bad value :class:`ValueError` naming it.
    """
    options = checked_options(options)
    progress = progress_of(progress, options)
    if options.pop("resume", False):
        return resumed(out, options, progress, observers)
    spec = spec_of(target, out, progress, options)
    loaded = None if isinstance(target, str) else target
    if out is not None:
        evolution, summary = evolve_new(spec, observers=observers, target=loaded)
        return Run(evolution.config, summary, evolution.archive, evolution.encoding, Path(out))
    with tempfile.TemporaryDirectory(prefix="fooling-") as folder:
        output = replace(spec.output, run_dir=Path(folder))
        evolution, summary = evolve_new(
            replace(spec, output=output), observers=observers, target=loaded
        )
    return Run(evolution.config, summary, evolution.archive, evolution.encoding)


def evolve_spec(
    target: Target | str = "mnist-lenet",
    *,
    out: str | Path | None = None,
    progress: bool | None = None,
    **options: Any,
) -> RunSpec:
    """The :class:`~fooling.run_spec.RunSpec` that :func:`evolve` makes of the same arguments
    (a new run's: without ``resume``): what it would run."""
    options = checked_options(options)
    progress = progress_of(progress, options)
    if options.pop("resume", False):
        raise TypeError("resume=True continues a run: it has no new specification")
    return spec_of(target, out, progress, options)


def spec_of(
    target: Target | str, out: str | Path | None, progress: bool, options: dict[str, Any]
) -> RunSpec:
    """The run spec of checked options (:func:`checked_options`) for ``target``: by name, or
    a loaded target's recorded options."""
    if isinstance(target, str):
        named: dict[str, Any] = {"target": target}
    elif target.options is None:
        raise ValueError("target must come from fooling.load_target (its options are recorded)")
    else:
        named = {"target_options": target.options}
    return run_spec({**options, **named, "out": out, "progress": progress})


def progress_of(progress: bool | None, options: dict[str, Any]) -> bool:
    """Progress bars: ``progress``, or ``quiet`` (popped from ``options``) said the other way;
    none by default."""
    if "quiet" in options:
        if progress is not None:
            raise TypeError("progress and quiet say the same thing: give one of them")
        return not options.pop("quiet")
    return bool(progress)


def checked_options(options: dict[str, Any]) -> dict[str, Any]:
    """``fooling evolve``'s options by name, each converted and checked by the command's own
    option (``"1,28,28"`` and ``(1, 28, 28)`` alike); an unknown name is a :class:`TypeError`,
    a bad value a :class:`ValueError`."""
    import click

    from fooling.cli.evolve import evolve as command

    params = {p.name: p for p in command.params if p.name not in ("target", "out")}
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise TypeError(
            f"unknown option(s): {', '.join(unknown)} (fooling.evolve takes the options of "
            "fooling evolve by their Python names, e.g. max_generations)"
        )
    context = click.Context(command)
    checked = {}
    for name, value in options.items():
        param = params[name]
        if value is not None and param.multiple and isinstance(value, str):
            value = (value,)
        if isinstance(value, list):
            value = tuple(value)
        try:
            checked[name] = None if value is None else param.type_cast_value(context, value)
        except click.BadParameter as exc:
            raise ValueError(f"{name}={value!r}: {exc.format_message()}") from None
    return checked


def resumed(
    out: str | Path | None, options: dict[str, Any], progress: bool, observers: Sequence[Observer]
) -> Run:
    """``resume=True``: continue the run in ``out`` with the stop and scoring options given."""
    if out is None:
        raise TypeError("resume=True continues the run in out: give out")
    allowed = {*STOP_OPTIONS, *SCORING_OPTIONS, "tensorboard"}
    refused = sorted(set(options) - allowed)
    if refused:
        raise TypeError(f"{', '.join(refused)}: cannot change when a run resumes")
    stop_given = {name: options[name] for name in STOP_OPTIONS if name in options}
    where = run_spec({name: options[name] for name in SCORING_OPTIONS if name in options}).scoring
    evolution, summary = evolve_resumed(
        Path(out),
        stop_given,
        where,
        tensorboard=options.get("tensorboard"),
        progress=progress,
        observers=observers,
    )
    return Run(evolution.config, summary, evolution.archive, evolution.encoding, Path(out))


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
