"""A run in its directory: its method's steps, stop conditions, checkpoints and signals.

The loop is the step (:meth:`Evolution.step`, the method's: MAP-Elites by default,
:mod:`evolve.method`), a stop check and periodic checkpoints; metrics, progress, the elite log
and anything attached from outside are observers (:mod:`evolve.observers`), which see the run
through a read-only :class:`evolve.view.RunView`. File names and readers are in
:mod:`evolve.run_dir`.
"""

from __future__ import annotations

import gc
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from archives import EliteArchive
from archives.atomic import atomic_write_json
from archives.first_reached import FirstReached
from evolve.checkpoint import load_checkpoint, save_checkpoint
from evolve.config import RunConfig
from evolve.distributed.cluster import WorkersLost
from evolve.encodings.base import Encoding
from evolve.errors import Interrupted, RunError
from evolve.evaluator import Evaluator, LocalEvaluator, evaluator_status
from evolve.map_elites import MapElites, RunState
from evolve.memory import check_generation_fits
from evolve.method import Method
from evolve.observers import EliteLogger, MetricsWriter, Observer, ProgressBar
from evolve.run_dir import (
    ARCHIVE_FILE,
    ARCHIVE_STATS_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    RunDirLock,
    check_metrics_match,
    first_at_threshold,
    first_reached_from_metrics,
    prepare_new_run_dir,
    truncate_metrics,
)
from evolve.view import RunView
from fitness import Target

#: What the runner itself keeps in a checkpoint's run state, beside its method's values.
RUNNER_STATE_KEYS = ("target_queries", "reached", "first_reached")


@contextmanager
def signals_caught() -> Iterator[list[int]]:
    """Turn SIGINT/SIGTERM into a flag checked between generations (so a checkpoint is whole)."""
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def young_objects_only_collected() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off everything alive before the loop starts.

    Breeding with neat-python objects (the reference breeder, which CPPN profiles beyond the
    array path fall back to) creates and drops thousands of gene objects a generation, which
    triggers collections; each full one would otherwise walk every object torch, the target and
    the imports created (measured: 9 of the 18 ms of per-generation host work at batch 200 on
    MNIST, before genomes became arrays). Genes form no reference cycles, so reference counting
    frees them; freezing only spares the walk, and costs nothing where no objects are made.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def finite_or_none(value: float) -> float | None:
    """A float for JSON, None for +-inf (log-odds of an empty cell, or of a probability of
    exactly 0 or 1 in an archive written before log-odds were kept)."""
    return float(value) if np.isfinite(value) else None


class Evolution:
    """One run: a configuration, its target and encoding, the archive and the run state.

    ``evaluator`` scores genomes (default: :class:`evolve.evaluator.LocalEvaluator` over the
    encoding and ``target``); ``target`` is still needed for its identity (fingerprint, shape).
    ``method`` makes each step (default: :class:`evolve.map_elites.MapElites` with the emitters
    ``config`` names). ``observers`` are told of the run's progress after the built-in ones
    (elite log, metrics, progress bar), through a read-only :class:`evolve.view.RunView`.
    """

    def __init__(
        self,
        run_dir: Path,
        config: RunConfig,
        target: Target,
        encoding: Encoding,
        *,
        progress: bool = True,
        evaluator: Evaluator | None = None,
        method: Method | None = None,
        observers: Sequence[Observer] = (),
    ) -> None:
        if target.fingerprint != config.target_fingerprint:
            raise RunError("the target's weights differ from those this run was started with")
        if list(config.class_names) != list(target.class_names):
            raise RunError("the run's class_names differ from the target's classes")
        if tuple(encoding.image_shape) != target.image_shape:
            raise RunError(
                f"the encoding makes images of shape {tuple(encoding.image_shape)} but the target "
                f"expects {target.image_shape}"
            )
        self.run_dir = Path(run_dir)
        self.config = config
        self.target = target
        self.encoding = encoding
        self.evaluator = (
            evaluator
            if evaluator is not None
            else LocalEvaluator(encoding, target, config.chunk, config.robust_scoring())
        )
        self.method: Method = (
            method if method is not None else MapElites.for_run(config, encoding, target)
        )
        self.archive = EliteArchive(
            config.cell_classes, config.class_names, encoding.empty(len(config.cell_classes))
        )
        self.archive.run_id = config.run_id
        self.state = RunState(rng=np.random.default_rng(config.seed))
        self.target_queries = 0  # answered in earlier processes of this run
        self.reached: dict[str, Any] | None = None  # when every class first met the threshold
        # When each class first met it, to the evaluation (told by the archive's inserts).
        self.first_reached = FirstReached(config.cell_classes, config.threshold)
        self.archive.first_reached = self.first_reached
        self.elite_logger = (
            EliteLogger(config.elite_log_min) if config.elite_log_min is not None else None
        )
        self.observers: tuple[Observer, ...] = (
            *([self.elite_logger] if self.elite_logger is not None else []),
            MetricsWriter(),
            ProgressBar(progress),
            *observers,
        )
        self.view = RunView(self)
        self._clock_base: tuple[float, float] | None = None  # (elapsed_s, perf_counter) at start
        self.lock = RunDirLock(self.run_dir)

    # ---------------------------------------------------------------------------- set-up
    @classmethod
    def create(
        cls,
        run_dir: Path,
        config: RunConfig,
        target: Target,
        encoding: Encoding,
        *,
        overwrite: bool = False,
        progress: bool = True,
        evaluator: Evaluator | None = None,
        method: Method | None = None,
        observers: Sequence[Observer] = (),
    ) -> Evolution:
        """A new run: check that a generation fits in memory (before any file or folder is
        made), then lock the directory, prepare it and write config.json."""
        robust = config.robust_scoring()
        samples = robust.samples if robust is not None else 1
        check_generation_fits(config.batch, config.initial_population, encoding, target, samples)
        config.ensure_run_id()
        evolution = cls(
            run_dir,
            config,
            target,
            encoding,
            progress=progress,
            evaluator=evaluator,
            method=method,
            observers=observers,
        )
        with evolution._locked_while_failing():
            prepare_new_run_dir(evolution.run_dir, overwrite)
            config.save(evolution.run_dir / CONFIG_FILE)
        return evolution

    @classmethod
    def resume(
        cls,
        run_dir: Path,
        config: RunConfig,
        target: Target,
        encoding: Encoding,
        *,
        progress: bool = True,
        evaluator: Evaluator | None = None,
        method: Method | None = None,
        observers: Sequence[Observer] = (),
    ) -> Evolution:
        """Continue a run from its last checkpoint (from scratch if it had none yet).

        Everything is read and checked before anything is written: a resume that fails leaves
        config.json and metrics.jsonl as they were.
        """
        evolution = cls(
            run_dir,
            config,
            target,
            encoding,
            progress=progress,
            evaluator=evaluator,
            method=method,
            observers=observers,
        )
        with evolution._locked_while_failing():
            evolution._restore(config, encoding)
        return evolution

    def _restore(self, config: RunConfig, encoding: Encoding) -> None:
        """Load the checkpoint (the method's state too) and the elite log, cut the metrics back
        to the checkpoint, and record the (possibly new) stop conditions; every read comes
        before the first write."""
        checkpoint = self.run_dir / CHECKPOINT_FILE
        first_reached = None
        if checkpoint.exists():
            self.archive, self.state, extra, arrays = load_checkpoint(checkpoint, encoding, config)
            self.method.load_state(self, extra, arrays, checkpoint)
            self.archive.run_id = config.run_id
            check_metrics_match(self.run_dir / METRICS_FILE, self.state, checkpoint)
            self.target_queries = int(extra.get("target_queries", 0))
            self.reached = extra.get("reached")
            first_reached = self._saved_first_reached(extra, checkpoint)
            if self.elite_logger is not None:
                self.elite_logger.restore(self.run_dir, self.state.generation)
        truncate_metrics(self.run_dir / METRICS_FILE, self.state.generation)
        if not self.reached or self.reached.get("threshold") != config.threshold:
            # --until may have changed the threshold: when was it first met? Ask the metrics.
            self.reached = first_at_threshold(self.run_dir / METRICS_FILE, config.threshold)
        if first_reached is None or first_reached.threshold != config.threshold:
            # The evaluations are not in the metrics: the generations are (from_generations).
            first_reached = first_reached_from_metrics(
                self.run_dir / METRICS_FILE, config.cell_classes, config.threshold
            )
        self.first_reached = self.archive.first_reached = first_reached
        config.save(self.run_dir / CONFIG_FILE)  # records stop conditions changed on resume

    def _saved_first_reached(self, extra: dict[str, Any], path: Path) -> FirstReached | None:
        """The checkpoint's :class:`FirstReached` (None in checkpoints written before it)."""
        saved = extra.get("first_reached")
        if saved is None:
            return None
        try:
            return FirstReached.from_dict(saved, self.config.cell_classes)
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"checkpoint {path} is corrupt: {exc}") from None

    @contextmanager
    def _locked_while_failing(self) -> Iterator[None]:
        """Take the run directory's lock; give it back if what follows fails (a run that goes
        on keeps it until :meth:`run` ends)."""
        self.lock.acquire()
        try:
            yield
        except BaseException:
            self.lock.release()
            raise

    # ---------------------------------------------------------------------------- reporting
    @property
    def queries(self) -> int:
        """Images the target has scored for this run, over all its processes."""
        return self.target_queries + self.evaluator.queries

    def summary(self, stop_reason: str) -> dict[str, Any]:
        """The run's headline figures (summary.json)."""
        stats = self.archive.stats(self.config.threshold)
        return {
            "stop_reason": stop_reason,
            "generations": max(self.state.generation, 0),
            "evaluations": self.state.evaluations,
            "elapsed_s": self.state.elapsed_s,
            "evaluations_per_s": self.state.evaluations / self.state.elapsed_s
            if self.state.elapsed_s > 0
            else None,
            "best_confidence": self.archive.best_by_class(),
            "classes_at_threshold": stats["cells_at_threshold"],
            "threshold": self.config.threshold,
            "all_at_threshold": self._all_at_threshold(),
            "reached": {
                name: self.first_reached.entry(cell)
                for cell, name in enumerate(self.archive.cell_names)
            },
            "median_confidence": stats["median"],
            "min_confidence": stats["min"],
            # What ranks the weakest cell where its confidence rounds to 0 (fitness.scores).
            "min_log_odds": finite_or_none(self.archive.log_odds.min())
            if self.archive.num_cells
            else None,
            "coverage": stats["coverage"],
            "qd_score": stats["qd_score"],
            "target_queries": self.queries,
            **self.method.summary(self),
        }

    def _all_at_threshold(self) -> dict[str, Any] | None:
        """When every class first met the threshold: the generation-level record, and the
        exact evaluation (the last class's first; None where one class's is unknown)."""
        if self.reached is None:
            return None
        return {**self.reached, "evaluation": self.first_reached.all_evaluation()}

    def metrics_record(self) -> dict[str, Any]:
        """This generation's line of metrics.jsonl."""
        stats = self.archive.stats(self.config.threshold)
        return {
            "generation": self.state.generation,
            "evaluations": self.state.evaluations,
            "elapsed_s": round(self.state.elapsed_s, 6),
            "best_confidence": self.archive.cell_fitness().tolist(),
            "coverage": stats["coverage"],
            "qd_score": stats["qd_score"],
            "min": stats["min"],
            "median": stats["median"],
            **evaluator_status(self.evaluator),
            **self.method.counters(self),
        }

    def checkpoint(self, stop_reason: str) -> None:
        """Let observers save what a resume relies on, then write checkpoint and summary
        atomically."""
        for observer in self.observers:
            observer.saving(self.view)
        values, arrays = self.method.state(self)
        clash = set(values) & set(RUNNER_STATE_KEYS)
        if clash:
            raise ValueError(f"the method's state may not use the runner's keys {sorted(clash)}")
        save_checkpoint(
            self.run_dir / CHECKPOINT_FILE,
            self.archive,
            self.encoding,
            self.state,
            {
                **values,
                "target_queries": self.queries,
                "reached": self.reached,
                "first_reached": self.first_reached.to_dict(),
            },
            arrays,
            run_id=self.config.run_id,
        )
        atomic_write_json(self.run_dir / SUMMARY_FILE, self.summary(stop_reason))

    def save_archive(self) -> None:
        """Write the archive and its statistics (archive.npz, archive.json)."""
        self.archive.save(self.run_dir / ARCHIVE_FILE, self.encoding)
        stats = self.archive.stats(self.config.threshold)
        cells = [
            {
                "class": name,
                "class_index": int(self.archive.cell_classes[i]),
                "confidence": float(self.archive.cell_fitness()[i]),
                "log_odds": finite_or_none(self.archive.log_odds[i]),
                "generation": int(self.archive.generation[i]),
                "evaluation": int(self.archive.evaluation[i]),
                "reached": self.first_reached.entry(i),
            }
            for i, name in enumerate(self.archive.cell_names)
        ]
        atomic_write_json(self.run_dir / ARCHIVE_STATS_FILE, {"stats": stats, "cells": cells})

    # ---------------------------------------------------------------------------- the loop
    def stop_reason(self) -> str | None:
        """Why the run should stop now, or ``None`` to go on."""
        stop, state = self.config.stop, self.state
        if stop.until is not None and state.started and self.archive.all_at(stop.until):
            return "threshold"
        if stop.max_generations is not None and state.generation >= stop.max_generations:
            return "max_generations"
        if stop.max_evaluations is not None and state.evaluations >= stop.max_evaluations:
            return "max_evaluations"
        if stop.time_limit_s is not None and state.elapsed_s >= stop.time_limit_s:
            return "time_limit"
        return None

    def step(self) -> np.ndarray:
        """One step of the method (generation 0: the initial population); return the improved
        cells.

        Updates the run's clock, notes when every class first reaches the threshold and, unless
        a stop condition now holds, lets the method do what is due before its next step.
        """
        self._start_clock()
        improved = self.method.step(self)
        self._end_generation()
        if self.stop_reason() is None:
            self.method.advance(self)
        return improved

    def _start_clock(self) -> None:
        """Anchor the run's clock at the first step (a resumed run continues its elapsed_s)."""
        if self._clock_base is None:
            self._clock_base = (self.state.elapsed_s, time.perf_counter())

    def _end_generation(self) -> None:
        """Advance elapsed_s; note the first generation at which every class met the threshold."""
        state = self.state
        base_elapsed, started = self._clock_base
        state.elapsed_s = base_elapsed + (time.perf_counter() - started)
        if self.reached is None and self.archive.all_at(self.config.threshold):
            self.reached = {
                "threshold": self.config.threshold,
                "generation": state.generation,
                "evaluations": state.evaluations,
                **self.method.counters(self),
                "elapsed_s": state.elapsed_s,
            }

    def _step_or_checkpoint(self) -> np.ndarray:
        """:meth:`step`; if the evaluator has lost every worker, put the run back to before the
        step (the generator, counters and encoding state: the archive and the emitters' state
        are not touched before scoring ends; rescoring elites under --robust does touch the
        archive, and is never done on Ray workers, :func:`fooling.cli.scoring.make_evaluator`),
        checkpoint there and re-raise with the resume command."""
        state = self.state
        before = (
            state.rng.bit_generator.state,
            state.generation,
            state.evaluations,
            self.encoding.state_dict(),
        )
        try:
            return self.step()
        except WorkersLost as exc:
            state.rng.bit_generator.state, state.generation, state.evaluations = before[:3]
            self.encoding.load_state_dict(before[3])
            if state.started:
                self.checkpoint("workers_lost")
                self.save_archive()
            reason = f"{exc}; checkpoint at generation {max(state.generation, 0)}"
            raise WorkersLost(
                f"{reason}; continue with: fooling evolve --resume --out {self.run_dir}", reason
            ) from None

    def run(self) -> dict[str, Any]:
        """Step until a stop condition holds; checkpoint every ``config.checkpoint_every``
        generations, at the end and on SIGINT/SIGTERM.

        Raises :class:`Interrupted` after checkpointing when a signal arrives.
        """
        self.lock.acquire()
        try:
            return self._loop()
        finally:
            self.lock.release()

    def _loop(self) -> dict[str, Any]:
        reason = self.stop_reason()
        if reason is None:
            self.method.advance(self)  # e.g. a step a stopped process left to its successor
        completed = False
        with signals_caught() as received, young_objects_only_collected():
            for observer in self.observers:
                observer.started(self.view)
            try:
                while reason is None:
                    improved = self._step_or_checkpoint()
                    for observer in self.observers:
                        observer.generation_done(self.view, improved)
                    reason = self.stop_reason()
                    if reason is None and self.state.generation % self.config.checkpoint_every == 0:
                        self.checkpoint("running")
                    if received:
                        self.checkpoint("interrupted")
                        self.save_archive()
                        raise Interrupted(
                            received[0],
                            f"interrupted at generation {self.state.generation}; checkpoint "
                            f"saved; continue with: fooling {self.config.method} --resume "
                            f"--out {self.run_dir}",
                        )
                self.checkpoint(reason)
                completed = True
            finally:
                for observer in self.observers:
                    observer.finished(self.view, reason if completed else None)
        self.save_archive()
        return self.summary(reason)
