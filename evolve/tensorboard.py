"""Watching a run live in TensorBoard: an observer that writes the run's progress as an event
log (``torch.utils.tensorboard``; the ``tensorboard`` package, extra ``fooling[tensorboard]``).

``tensorboard --logdir DIR`` then shows, by generation (a gradient ascent's step):

- ``best_confidence/<class>``: the best confidence found for each class;
- ``run/coverage``, ``run/classes_at_threshold``, ``run/min_confidence``,
  ``run/median_confidence``, ``run/evaluations``;
- ``run/evaluations_per_s``: images scored per second of the run's clock since the previous
  point (at a process's first point, the run's average so far);
- ``elites``: the elites' images as one grid (the first ``max_images`` occupied cells), every
  ``images_every`` generations and at the end.

Scalars are written at the generations metrics.jsonl keeps (every one up to 1,000, then
thinned: :func:`evolve.run_dir.metrics_kept`) and at the last. A resumed run continues the same
log: when it starts, the events written after its checkpoint's generation (by a process that
stopped before its next checkpoint) are removed from DIR's event files, so the log holds each
step once, as an uninterrupted run's would; a new run starts DIR's log afresh.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from evolve.errors import RunError
from evolve.observers import Observer
from evolve.run_dir import metrics_kept
from evolve.view import RunView

#: Generations between two image grids, unless told otherwise.
DEFAULT_IMAGES_EVERY = 100
#: Cells in an image grid at most (ImageNet's 1,000 would make a grid of 150 million pixels).
DEFAULT_MAX_IMAGES = 100
#: Seconds between two flushes of the log to disk while the run goes on.
FLUSH_SECS = 10
#: Where an event file's name says it is one (TensorBoard's own test).
EVENTS_MARK = "tfevents"


def summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``; a one-line :class:`RunError` where the
    tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise RunError(
            "TensorBoard logs need the tensorboard package: pip install 'fooling[tensorboard]'"
        ) from None
    return SummaryWriter


def event_files(log_dir: Path, recursive: bool = False) -> list[Path]:
    """The TensorBoard event files in ``log_dir`` (and below it, with ``recursive``)."""
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        return []
    found = log_dir.rglob("*") if recursive else log_dir.iterdir()
    return sorted(p for p in found if p.is_file() and EVENTS_MARK in p.name)


def check_log_dir(log_dir: Path, overwrite: bool, recursive: bool = False) -> None:
    """Refuse a file, or (unless ``overwrite``) a folder that already holds a TensorBoard log,
    for a new run or study: its log would mix with the earlier one."""
    log_dir = Path(log_dir)
    if log_dir.exists() and not log_dir.is_dir():
        raise RunError(f"--tensorboard {log_dir} exists and is not a directory")
    if not overwrite and event_files(log_dir, recursive):
        raise RunError(
            f"--tensorboard {log_dir} already holds a TensorBoard log; use --overwrite to "
            "replace it, or another directory"
        )


def truncate_events(log_dir: Path, generation: int, recursive: bool = False) -> None:
    """Remove the events of steps after ``generation`` from the event files in ``log_dir``
    (every event for ``generation`` -1); a file left with no summary is deleted."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    for path in event_files(log_dir, recursive):
        records = list(RawEventFileLoader(str(path)).Load())
        events = [Event.FromString(record) for record in records]
        kept = [r for r, e in zip(records, events, strict=True) if e.step <= generation]
        if len(kept) == len(records):
            continue
        if not any(e.HasField("summary") for e in events if e.step <= generation):
            path.unlink()
            continue
        partial = path.with_name(f".{path.name.replace(EVENTS_MARK, 'events')}.partial")
        with open(partial, "wb") as file:
            writer = RecordWriter(file)
            for record in kept:
                writer.write(record)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)


def tag_of(name: str) -> str:
    """A class name as a TensorBoard tag part (a slash would nest it)."""
    return name.replace("/", "_")


class TensorBoardLog(Observer):
    """Writes a run's progress to ``log_dir`` as a TensorBoard event log (module docstring).

    Made before the run (the tensorboard package is checked here: a one-line
    :class:`RunError` without it); ``log_dir`` is created when the run starts.
    """

    def __init__(
        self,
        log_dir: str | Path,
        *,
        images_every: int = DEFAULT_IMAGES_EVERY,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        if images_every < 1 or max_images < 1:
            raise ValueError("images_every and max_images must be >= 1")
        self._writer_class = summary_writer_class()
        self.log_dir = Path(log_dir)
        self.images_every = images_every
        self.max_images = max_images
        self._writer: Any = None
        self._scalars_at = -1  # the generation of the last scalars written
        self._images_at = -1
        self._last: tuple[int, float] | None = None  # (evaluations, elapsed_s) at that point

    def started(self, run: RunView) -> None:
        """Cut the log back to the run's generation (a new run: empty it), then open it; a
        TensorBoard watching DIR drops what it showed beyond that step too (``purge_step``)."""
        generation = run.state.generation
        truncate_events(self.log_dir, generation)
        self._writer = self._writer_class(
            str(self.log_dir), purge_step=generation + 1, flush_secs=FLUSH_SECS
        )
        self._scalars_at = self._images_at = generation
        self._last = None

    def generation_done(self, run: RunView, improved: np.ndarray) -> None:
        """Scalars on the generations the metrics keep; the image grid every
        ``images_every``."""
        generation = run.state.generation
        if metrics_kept(generation):
            self._write_scalars(run)
        if generation % self.images_every == 0:
            self._write_images(run)

    def saving(self, run: RunView) -> None:
        """Flush, so the log on disk reaches the checkpoint."""
        if self._writer is not None:
            self._writer.flush()

    def finished(self, run: RunView, reason: str | None) -> None:
        """Write the last generation of a run that ended (if not written yet); close."""
        if self._writer is None:
            return
        if reason is not None and run.state.started:
            if self._scalars_at != run.state.generation:
                self._write_scalars(run)
            if self._images_at != run.state.generation:
                self._write_images(run)
        self._writer.close()
        self._writer = None

    def _write_scalars(self, run: RunView) -> None:
        state, archive = run.state, run.archive
        step, writer = state.generation, self._writer
        for name, value in zip(archive.cell_names, archive.cell_fitness(), strict=True):
            writer.add_scalar(f"best_confidence/{tag_of(name)}", float(value), step)
        stats = archive.stats(run.config.threshold)
        writer.add_scalar("run/coverage", stats["coverage"], step)
        writer.add_scalar("run/classes_at_threshold", stats["cells_at_threshold"], step)
        writer.add_scalar("run/min_confidence", stats["min"], step)
        writer.add_scalar("run/median_confidence", stats["median"], step)
        writer.add_scalar("run/evaluations", state.evaluations, step)
        evaluations, elapsed = self._last if self._last is not None else (0, 0.0)
        if state.elapsed_s > elapsed:
            rate = (state.evaluations - evaluations) / (state.elapsed_s - elapsed)
            writer.add_scalar("run/evaluations_per_s", rate, step)
        self._last = (state.evaluations, state.elapsed_s)
        self._scalars_at = step

    def _write_images(self, run: RunView) -> None:
        cells = np.flatnonzero(run.archive.occupied)[: self.max_images]
        if cells.size:
            images = run.elite_images(cells)
            self._writer.add_images("elites", images, run.state.generation, dataformats="NCHW")
        self._images_at = run.state.generation
