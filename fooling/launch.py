"""The one path from a :class:`~fooling.run_spec.RunSpec` to a run: :func:`launch` checks the
run directory, loads the target (unless given), builds the encoding, makes the run's config
(:func:`fooling.run_spec.run_config`) and creates the run with its observers (``--tensorboard``
and the caller's). ``fooling evolve``, :func:`fooling.evolve`, the retraining study's runs and
``fooling ascent`` all start their runs here; :func:`evolve_new` also sets up where it is
scored (:func:`scoring`) and runs it::

    spec = run_spec({"until": 0.9999, "out": "runs/demo"})
    evolution, summary = evolve_new(spec)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

from evolve.config import RunConfig, stop_conditions
from evolve.encodings import build_encoding
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.method import Method
from evolve.observers import Observer
from evolve.run_dir import CHECKPOINT_FILE, CONFIG_FILE, removed_on_failure
from evolve.runner import Evolution
from fitness.loading import load_target
from fitness.target import Target
from fooling.run_spec import RunSpec, ScoringSpec, run_config


def launch(
    spec: RunSpec,
    *,
    observers: Sequence[Observer] = (),
    target: Target | None = None,
    encoding: Encoding | None = None,
    evaluators: Callable[[Encoding, Target, int | None], Any] | None = None,
    method: Method | None = None,
) -> Evolution:
    """A new run of ``spec`` in ``spec.output.run_dir``, created and ready to ``run()``.

    Everything is checked before the directory is made: the TensorBoard log, an earlier run
    there (refused without ``overwrite``), the target (``target``: already loaded; else loaded
    now), the encoding (``encoding``: already built, as a study's or an ascent's; else built
    for the target) and the cells. ``evaluators``: a Ray evaluator factory (:func:`scoring`),
    None to score in this process; ``method``: another method than MAP-Elites (an ascent's).
    ``observers`` are told of the run's progress, after the ``--tensorboard`` log's.
    """
    output = spec.output
    if output.run_dir is None:
        raise ValueError("a run needs a directory: spec.output.run_dir")
    logs = tensorboard_logs(output.tensorboard, new=True, overwrite=output.overwrite)(Path())
    refuse_earlier_run(spec)
    if target is None:
        target = load_target(spec.target.options, progress=output.progress)
    if encoding is None:
        encoding = spec_encoding(spec, target)
    config = run_config(spec, target, encoding)
    return Evolution.create(
        output.run_dir,
        config,
        target,
        encoding,
        overwrite=output.overwrite,
        progress=output.progress,
        evaluator=make_evaluator(evaluators, encoding, target, config),
        method=method,
        observers=(*logs, *observers),
    )


def refuse_earlier_run(spec: RunSpec) -> None:
    """A :class:`RunError` where the spec's run directory holds a run and ``overwrite`` was not
    asked for (said before the target loads)."""
    run_dir = spec.output.run_dir
    if run_dir is not None and (run_dir / CONFIG_FILE).exists() and not spec.output.overwrite:
        raise RunError(
            f"{run_dir} already holds a run; use --resume to continue it or "
            "--overwrite to start again"
        )


def evolve_new(
    spec: RunSpec, *, observers: Sequence[Observer] = (), target: Target | None = None
) -> tuple[Evolution, dict[str, Any]]:
    """Launch ``spec`` and run it to its end where ``spec.scoring`` says (this process's
    threads, or Ray workers for the run's length): the run and its summary. A run that fails
    before its first checkpoint leaves no folder it created behind."""
    run_dir = spec.output.run_dir
    if run_dir is None:
        raise ValueError("a run needs a directory: spec.output.run_dir")
    with scoring(spec.scoring.cluster, spec.scoring.threads) as evaluators:
        with removed_on_failure(run_dir, keep=lambda: (run_dir / CHECKPOINT_FILE).exists()):
            evolution = launch(spec, observers=observers, target=target, evaluators=evaluators)
            return evolution, evolution.run()


def relaunch(
    run_dir: Path,
    config: RunConfig,
    target: Target,
    encoding: Encoding,
    *,
    evaluators: Callable[[Encoding, Target, int | None], Any] | None = None,
    observers: Sequence[Observer] = (),
    progress: bool = True,
    method: Method | None = None,
) -> Evolution:
    """The one path back into a stored run: ``run_dir``'s run, with ``config`` (its own
    config.json, checked or with new stop conditions), ready to ``run()`` on from its
    checkpoint. ``evaluators``, ``observers`` and ``method`` as for :func:`launch`."""
    return Evolution.resume(
        run_dir,
        config,
        target,
        encoding,
        progress=progress,
        evaluator=make_evaluator(evaluators, encoding, target, config),
        method=method,
        observers=tuple(observers),
    )


def evolve_resumed(
    run_dir: Path,
    stop_given: Mapping[str, Any],
    where: ScoringSpec,
    *,
    tensorboard: str | None = None,
    progress: bool = True,
    observers: Sequence[Observer] = (),
) -> tuple[Evolution, dict[str, Any]]:
    """Continue the run in ``run_dir`` from its own config.json and checkpoint (one that
    ``fooling evolve`` or :func:`fooling.evolve` wrote) to its end, scored as ``where`` says
    (``spec.scoring`` of the scoring options given): the run and its summary. ``stop_given``:
    stop options by name (``until``, ``max_generations``, ...), which replace the stored ones
    as a whole; ``tensorboard``: continue that log."""
    from fooling.cli.resume import load_for_resume  # fooling.cli's commands import this module

    logs = tensorboard_logs(tensorboard, new=False, overwrite=False)(Path())
    with scoring(where.cluster, where.threads) as evaluators:
        config, target, encoding = load_for_resume(run_dir, "evolve", progress)
        if stop_given:
            # With a new run's defaults: "--max-generations 2000" must continue a run that had
            # met its --until.
            config.stop = stop_conditions(
                config.encoding.get("name", "direct"),
                stop_given.get("max_generations"),
                stop_given.get("max_evaluations"),
                stop_given.get("time_limit"),
                stop_given.get("until"),
            )
        if "until" in stop_given:
            config.threshold = stop_given["until"]
        evolution = relaunch(
            run_dir,
            config,
            target,
            encoding,
            evaluators=evaluators,
            observers=(*logs, *observers),
            progress=progress,
        )
        return evolution, evolution.run()


def spec_encoding(spec: RunSpec, target: Target) -> Encoding:
    """The encoding ``spec`` asks for, built for ``target``'s images and device; a setting it
    refuses is a usage error."""
    try:
        return build_encoding(spec.encoding.config(target.image_shape, target.options.device))
    except ValueError as exc:
        from fooling.cli.errors import USER_ERRORS

        if isinstance(exc, USER_ERRORS):
            raise
        raise click.UsageError(str(exc)) from None


@contextmanager
def scoring(cluster: Any, threads: int | None) -> Iterator[Any]:
    """For the block's length: torch and Numba on ``threads`` threads (if given), and a
    factory of Ray evaluators (``cluster``: :class:`ClusterSettings`) or None (in-process)."""
    from fooling.studies.study import fixed_threads  # the studies import this module

    with ExitStack() as stack:
        if threads is not None:
            stack.enter_context(fixed_threads(threads))
        if cluster is None:
            yield None
            return
        from evolve.distributed.session import ray_evaluators

        yield stack.enter_context(ray_evaluators(cluster))


def make_evaluator(evaluators: Any, encoding: Any, target: Any, config: RunConfig) -> Any:
    """The run's evaluator: from the Ray factory, or None for the default in-process one.

    Robust scoring (``--robust``) draws its transformations from the run's generator in this
    process, so it is not offered on Ray workers: refused before any cluster starts. Emitters
    run here, the grad emitter's forward and backward passes on this process's copy of the
    target; the workers only score."""
    if evaluators is None:
        return None
    if config.robust is not None:
        raise RunError(
            "--robust runs are scored in this process: drop --workers/--ray-address "
            "(Ray workers do not draw the run's transformations)"
        )
    return evaluators(encoding, target, config.chunk)


def tensorboard_logs(
    log_dir: str | None, *, new: bool, overwrite: bool, recursive: bool = False
) -> Callable[[Path], list[Any]]:
    """``--tensorboard DIR`` as a function of a run's path (relative to the command's output)
    to the observers its run gets: none without DIR; else a log in DIR (below it, at the run's
    relative path, for a study's runs). Checked now, before anything is written: the
    tensorboard package, and for a ``new`` run or study a DIR without an earlier log unless
    ``overwrite``."""
    if log_dir is None:
        return lambda relative: []
    from evolve.tensorboard import TensorBoardLog, check_log_dir, summary_writer_class

    summary_writer_class()
    if new:
        check_log_dir(Path(log_dir), overwrite, recursive)
    return lambda relative: [TensorBoardLog(Path(log_dir) / relative)]
