"""What a run does besides making progress, as observers of its loop: metrics, progress and the
elite log are built in; others are attached from outside (``Evolution(..., observers=[...])``,
``fooling.evolve(..., observers=[...])``, ``--tensorboard``). Each one is told when the run
starts, after every step, before every checkpoint is written, and when the run ends, and sees
the run through a read-only :class:`evolve.view.RunView`.

The hooks, in the order the loop calls them::

    started(run)                 once, before the first generation of this process
    generation_done(run, cells)  after each generation (``cells``: the archive cells it improved)
    saving(run)                  before each checkpoint: write what a resume relies on
    finished(run, reason)        once, also when interrupted or failed (``reason`` may be None)

A resumed run starts again from its last checkpoint: an observer that writes a log of its own
keeps what it wrote up to ``run.state.generation`` at ``started`` and drops the rest, so that
the log holds what an uninterrupted run's would (:class:`MetricsWriter`, :class:`EliteLogger`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm.auto import tqdm

from archives.elite_log import EliteLog
from evolve.run_dir import ELITE_LOG_FILE, METRICS_FILE, metrics_kept
from evolve.view import RunView


class Observer:
    """A run observer; every hook does nothing unless overridden."""

    def started(self, run: RunView) -> None:
        """The loop is about to run its first generation in this process."""

    def generation_done(self, run: RunView, improved: np.ndarray) -> None:
        """A generation was scored and inserted; ``improved`` lists the cells it improved."""

    def saving(self, run: RunView) -> None:
        """A checkpoint is about to be written."""

    def finished(self, run: RunView, reason: str | None) -> None:
        """The loop ended (``reason``: why; may be None when interrupted or failed)."""


class MetricsWriter(Observer):
    """A JSON line per generation in metrics.jsonl (thinned after generation 1,000, see
    :func:`evolve.run_dir.metrics_kept`, and the run's last generation); flushed before every
    checkpoint, so a resumed run finds every line up to its checkpoint (later ones are cut)."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._written = -1  # the generation of the last line written

    def started(self, run: RunView) -> None:
        """Open metrics.jsonl for appending."""
        self._file = open(run.run_dir / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        # A resumed run's file already ends at its checkpoint: never write that generation again.
        self._written = run.state.generation

    def generation_done(self, run: RunView, improved: np.ndarray) -> None:
        """Append this generation's record, if the log keeps it."""
        if metrics_kept(run.state.generation):
            self._write(run)

    def _write(self, run: RunView) -> None:
        assert self._file is not None
        self._file.write(json.dumps(run.metrics_record()) + "\n")
        self._written = run.state.generation

    def saving(self, run: RunView) -> None:
        """Flush, so the file holds every generation the checkpoint holds."""
        if self._file is not None:
            self._file.flush()

    def finished(self, run: RunView, reason: str | None) -> None:
        """Write the last generation of a run that ended (if thinning skipped it); close."""
        if self._file is not None:
            if reason is not None and self._written != run.state.generation:
                self._write(run)
            self._file.close()
            self._file = None


class ProgressBar(Observer):
    """A tqdm bar of generations with evaluations/s and the min and median class confidence."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def started(self, run: RunView) -> None:
        """Open the bar at the run's generation, out of --max-generations; generation 0 (the
        initial population) is not counted, so a 1010-generation run shows 1010."""
        total = run.config.stop.max_generations
        self._bar = tqdm(
            total=total,
            initial=max(run.state.generation, 0),
            unit="gen",
            desc="evolving",
            disable=not self.enabled,
            dynamic_ncols=True,
        )

    def generation_done(self, run: RunView, improved: np.ndarray) -> None:
        """Advance by one generation; show speed, confidences and (on Ray) workers alive and
        retries."""
        if not self.enabled:  # quiet runs (-q, studies, the API) skip the statistics
            return
        state, stats = run.state, run.archive.stats(run.config.threshold)
        if state.generation > 0:
            self._bar.update(1)
        extra = "".join(f" {n} {key}" for key, n in run.evaluator_status.items())
        self._bar.set_postfix_str(
            f"{state.evaluations / max(state.elapsed_s, 1e-9):,.0f} evals/s "
            f"min {stats['min']:.5f} median {stats['median']:.5f}{extra}",
            refresh=False,
        )

    def finished(self, run: RunView, reason: str | None) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()


class EliteLogger(Observer):
    """Keeps every new elite at or above ``config.elite_log_min`` in elite_log.npz.

    The log is saved before each checkpoint; a resumed run truncates it to the checkpoint's
    generation (:meth:`restore`, before anything is written), so it holds exactly what an
    uninterrupted run's would.
    """

    def __init__(self, minimum: float, log: EliteLog | None = None) -> None:
        self.minimum = minimum
        self.log = log if log is not None else EliteLog()

    def restore(self, run_dir: Path, generation: int) -> None:
        """Read the run's elite log, if it has one, cut back to ``generation``."""
        path = Path(run_dir) / ELITE_LOG_FILE
        if path.exists():
            self.log = EliteLog.load(path)
            self.log.truncate(generation)

    def generation_done(self, run: RunView, improved: np.ndarray) -> None:
        """Log the improved cells whose new elite reaches the minimum."""
        if improved.size == 0:
            return
        fitness = run.archive.fitness
        cells = improved[fitness[improved] >= self.minimum]
        if cells.size:
            self.log.append(
                run.elite_arrays(cells),
                cells,
                run.state.generation,
                fitness[cells],
            )

    def saving(self, run: RunView) -> None:
        """Write the log (before the checkpoint: a resume truncates the log to that)."""
        self.log.save(run.run_dir / ELITE_LOG_FILE)
