"""The run directory: its file names, and the readers every part of the tool shares.

RUN_DIR holds ``config.json`` (enough to rerun), ``metrics.jsonl`` (a line per generation, thinned
after generation 1,000: :func:`metrics_kept`),
``summary.json`` (at each checkpoint and at the end), ``checkpoint.npz`` (archive and run state),
``archive.npz`` / ``archive.json`` (the final archive and its statistics) and, when asked for,
``elite_log.npz``. The runner writes them; the gallery, plots and studies read them through here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from archives import ArchiveError, EliteArchive, all_fooled
from archives.atomic import atomic_write, remove_stale_temporaries
from archives.first_reached import FirstReached
from evolve.config import foreign_file
from evolve.errors import RunError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.npz"
ARCHIVE_FILE = "archive.npz"
ARCHIVE_STATS_FILE = "archive.json"
ELITE_LOG_FILE = "elite_log.npz"
PLOT_FILE = "confidence.png"
# Written by ``fooling plot`` beside PLOT_FILE: confidence over evaluations, and per class the
# first evaluation at the threshold (names derived from the plot's, see evaluations_plot_files).
EVALUATIONS_PLOT_SUFFIX = "_evaluations.png"
REACHED_CSV_SUFFIX = "_reached.csv"
GALLERY_DIR = "gallery"
# Written by ``fooling ascent`` beside the files above (its settings and start images).
ASCENT_FILE = "ascent.json"
STARTS_FILE = "starts.npz"
# What --overwrite removes: only files this tool writes, never anything else in the folder.
RUN_ARTIFACTS = (
    CONFIG_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    CHECKPOINT_FILE,
    ARCHIVE_FILE,
    ARCHIVE_STATS_FILE,
    ELITE_LOG_FILE,
    PLOT_FILE,
    PLOT_FILE.removesuffix(".png") + EVALUATIONS_PLOT_SUFFIX,
    PLOT_FILE.removesuffix(".png") + REACHED_CSV_SUFFIX,
    GALLERY_DIR,
    ASCENT_FILE,
    STARTS_FILE,
)


LOCK_FILE = ".lock"


class RunDirLock:
    """The one writer of a run directory: an exclusive ``fcntl`` lock on RUN_DIR/.lock.

    The kernel drops the lock when the process ends, however it ends (kill -9 included), so a
    crashed run never blocks its own ``--resume``. A second ``evolve`` or ``--resume`` on a
    directory in use gets a one-line :class:`RunError`. Holding the lock, the writer removes
    temporary files an earlier process left when killed in the middle of an atomic write.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._handle: Any = None

    def acquire(self) -> RunDirLock:
        """Take the lock (creating the directory); raise :class:`RunError` if it is taken."""
        import fcntl

        if self._handle is not None:
            return self
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise RunError(f"{self.run_dir} exists and is not a directory")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The file stays empty: writing a pid into it would change the directory on every
        # attempt, and a failed attempt must leave it exactly as it was.
        handle = open(self.run_dir / LOCK_FILE, "a", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RunError(
                f"{self.run_dir} is in use by another fooling process (one writer at a time)"
            ) from None
        self._handle = handle
        remove_stale_temporaries(self.run_dir)
        return self

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@contextmanager
def removed_on_failure(folder: Path, keep: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """For a command writing into ``folder``: when the ``with`` block fails and the folder did
    not exist before it, remove the folder (everything in it is the command's), unless
    ``keep()`` says what it holds is worth keeping (a run's checkpoint, to resume)."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        yield
    except BaseException:
        if created and folder.is_dir() and not keep():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def prepare_new_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Create ``run_dir`` for a new run; refuse to clobber an earlier run unless ``overwrite``."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} exists and is not a directory")
    existing = [name for name in RUN_ARTIFACTS if (run_dir / name).exists()]
    if existing and not overwrite:
        raise RunError(
            f"{run_dir} already holds a run ({existing[0]}); use --resume to continue it "
            "or --overwrite to start again"
        )
    for name in existing:
        path = run_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


def _metrics_problem(record: Any, previous: int | None) -> str | None:
    """What is wrong with one parsed metrics record, or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("generation", "evaluations"):
        value = record.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"{key} must be a non-negative integer, got {value!r}"
    elapsed = record.get("elapsed_s")
    if not isinstance(elapsed, int | float) or isinstance(elapsed, bool) or not elapsed >= 0:
        return f"elapsed_s must be a non-negative number, got {elapsed!r}"
    best = record.get("best_confidence")
    if not isinstance(best, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in best
    ):
        return "best_confidence must be a list of confidences in [0, 1]"
    if previous is not None and record["generation"] <= previous:
        return f"generation {record['generation']} out of order after {previous}"
    return None


def iter_metrics(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each record of a metrics.jsonl as (line, record), streamed (bounded memory).

    A torn last line (no newline: a kill -9 during a write) is skipped: the checkpoint, not the
    log, is what a run continues from. Any other line that is not UTF-8, not a record of the
    right types, or out of order is a :class:`RunError` naming the file, line and field.
    """
    if not path.exists():
        return
    previous: int | None = None
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, start=1):
            torn = not raw.endswith(b"\n")
            try:
                line = raw.decode("utf-8").rstrip("\n")
                record = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if torn:
                    return
                what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not JSON"
                raise RunError(f"{path}: line {number} is {what}") from None
            problem = _metrics_problem(record, previous)
            if problem is not None:
                if torn:
                    return
                raise RunError(f"{path}: line {number}: {problem}")
            previous = record["generation"]
            yield line, record


#: Generations kept at full detail in metrics.jsonl; beyond, see :func:`metrics_kept`.
FULL_DETAIL_GENERATIONS = 1000


def metrics_kept(generation: int) -> bool:
    """Whether metrics.jsonl keeps a line for ``generation``.

    Every generation below 1,000, then every 10th below 10,000, every 100th below 100,000, and
    so on: about 900 lines per decade, so a log grows with the logarithm of a run's length
    (300,000 MNIST generations: ~3,000 lines, ~1.3 MB, instead of 117 MB), while the early
    generations, where confidences move, stay whole. The last generation of a run is written
    too. Long runs lose no state by this: checkpoints, not the log, are what runs resume from.
    """
    step = 1
    while generation >= FULL_DETAIL_GENERATIONS * step:
        step *= 10
    return generation % step == 0


def read_metrics(run_dir: Path, thinned: bool = False) -> list[dict[str, Any]]:
    """The records of a run's metrics.jsonl (at least one), streamed.

    ``thinned``: keep only the generations :func:`metrics_kept` keeps, and the last one, so
    that even a log written before thinning existed fits in bounded memory (plots).
    """
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise RunError(f"{run_dir} has no {METRICS_FILE}")
    records: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for _, record in iter_metrics(path):
        last = record
        if not thinned or metrics_kept(record["generation"]):
            records.append(record)
    if last is None:
        raise RunError(f"{path} holds no generation yet")
    if not records or records[-1] is not last:
        records.append(last)
    return records


def truncate_metrics(path: Path, last_generation: int) -> None:
    """Drop metric lines after the checkpoint (and a torn last line) before a resumed run.

    The whole file is read and checked before it is replaced (atomically), streaming into the
    replacement so that memory stays bounded however long the log is.
    """
    if not path.exists():
        return
    for _ in iter_metrics(path):  # check everything first: a bad file changes nothing
        pass

    def write(handle: Any) -> None:
        for line, record in iter_metrics(path):
            if record["generation"] <= last_generation:
                handle.write((line + "\n").encode("utf-8"))

    atomic_write(path, write)


def check_metrics_match(path: Path, state: Any, checkpoint: Path) -> None:
    """Refuse a checkpoint whose counters differ from metrics.jsonl's line for its generation
    (a checkpoint copied from another run of the same classes, e.g. one made before run ids):
    resuming would mix two runs in one log. Nothing to compare where that line is thinned out."""
    for _, record in iter_metrics(path):
        if record["generation"] == state.generation:
            if record["evaluations"] != state.evaluations:
                raise RunError(
                    f"checkpoint {checkpoint} is not this run's: at generation "
                    f"{state.generation} it counts {state.evaluations:,} evaluations, "
                    f"{path.name} {record['evaluations']:,}"
                )
            return
        if record["generation"] > state.generation:
            return


def first_at_threshold(path: Path, threshold: float) -> dict[str, Any] | None:
    """The first generation in metrics.jsonl at which every class was >= ``threshold``."""
    for _, record in iter_metrics(path):
        best = record.get("best_confidence") or []
        if all_fooled(best, threshold):
            return {
                "threshold": threshold,
                **{key: record[key] for key in ("generation", "evaluations", "elapsed_s")},
            }
    return None


def first_reached_from_metrics(
    path: Path, cell_classes: list[int], threshold: float
) -> FirstReached:
    """Per class, the first generation in metrics.jsonl at which it was >= ``threshold``; the
    evaluations are unknown (:meth:`FirstReached.from_generations`)."""
    records = (record for _, record in iter_metrics(path))
    return FirstReached.from_generations(cell_classes, threshold, records)


def read_first_reached(
    run_dir: Path, cell_names: list[str], cell_classes: list[int], threshold: float
) -> FirstReached:
    """When each class first met ``threshold``: summary.json's ``reached`` where it was written
    at that threshold, else the generations metrics.jsonl gives (evaluations unknown)."""
    summary_path = run_dir / SUMMARY_FILE
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        summary = None
    except (OSError, ValueError) as exc:
        raise RunError(f"{summary_path} is unreadable or corrupt ({exc})") from None
    if (
        isinstance(summary, dict)
        and isinstance(summary.get("reached"), dict)
        and summary.get("threshold") == threshold
    ):
        reached = summary["reached"]
        try:
            entries = [reached.get(name) for name in cell_names]
            return FirstReached.from_entries(cell_classes, threshold, entries)
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"{summary_path}: reached is malformed ({exc})") from None
    return first_reached_from_metrics(run_dir / METRICS_FILE, cell_classes, threshold)


def load_run_archive(run_dir: Path, encoding: Any, config: Any = None) -> EliteArchive:
    """The final archive, else the last checkpoint's (a run killed before it ended).

    With the run's ``config`` (:class:`evolve.config.RunConfig`), an archive of another run
    (another run id, other classes) is refused by name."""
    for name in (ARCHIVE_FILE, CHECKPOINT_FILE):
        path = run_dir / name
        if path.exists():
            try:
                archive = EliteArchive.load(path, encoding)
            except ArchiveError as exc:
                raise RunError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from None
            if config is None:
                return archive
            foreign = foreign_file(archive.run_id, config.run_id)
            if foreign is None and (
                archive.class_names != list(config.class_names)
                or archive.cell_classes.tolist() != list(config.cell_classes)
            ):
                foreign = "its classes differ from config.json's"
            if foreign is not None:
                raise RunError(f"{path} is not this run's archive: {foreign}")
            return archive
    raise RunError(f"{run_dir} has no archive.npz or checkpoint.npz yet")
