"""What every study shares: a folder with a JSON state written atomically after each step,
resume from it, per-step seeds, fixed thread counts, and rounds of resumable MAP-Elites runs.

A study (retraining today; transfer, repetition removal, robustness, ... next) is a sequence of
steps, each of which records its result in ``state.json`` before the next starts, so a killed
study continues with the first step not recorded. Every random choice is seeded from the study's
seed and the step's place (:func:`derived_seed`), so a resumed study equals an uninterrupted one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from archives import count_fooled
from archives.atomic import atomic_write_json
from evolve.config import RunConfig
from evolve.distributed.cluster import WorkersLost
from evolve.encodings.base import Encoding
from evolve.errors import Interrupted, RunError
from evolve.observers import Observer
from evolve.run_dir import CONFIG_FILE
from fitness.target import Target
from fooling.launch import launch, relaunch
from fooling.run_spec import RunSpec, run_config

STATE_FILE = "state.json"


def derived_seed(seed: int, *path: int) -> int:
    """A 31-bit seed for one step of the study (round, run, purpose), independent of the rest."""
    return int(np.random.SeedSequence([seed, *path]).generate_state(1, np.uint32)[0] >> 1)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; a :class:`RunError` if it is missing or corrupt."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent} has no {path.name}: not a {what}") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path} is corrupt")
    return data


def read_state(study_dir: Path, what: str, state_format: str, version: int) -> dict[str, Any]:
    """A study's state.json, checked to be of ``state_format`` and ``version``."""
    state = read_json(study_dir / STATE_FILE, what)
    if state.get("format") != state_format or state.get("version") != version:
        raise RunError(f"{study_dir / STATE_FILE} is not a study state of this version")
    state.setdefault("sessions", [])
    return state


def prepare_study_dir(study_dir: Path, marker: str, overwrite: bool) -> None:
    """Refuse a path that is a file, or a folder that holds a study (``marker``) unless
    ``overwrite``. Nothing is written: a study checks everything before it creates files."""
    if study_dir.exists() and not study_dir.is_dir():
        raise RunError(f"{study_dir} exists and is not a directory")
    if (study_dir / marker).exists() and not overwrite:
        raise RunError(
            f"{study_dir} already holds a study; use --resume to continue it "
            "or --overwrite to start again"
        )


def remove_study(study_dir: Path, artifacts: Sequence[str]) -> None:
    """Delete what a study wrote in ``study_dir`` (``artifacts`` and round_NN folders) only."""
    for name in artifacts:
        path = study_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for path in study_dir.glob("round_[0-9][0-9]*"):
        if path.is_dir():
            shutil.rmtree(path)


@contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """torch and Numba on ``threads`` CPU threads, restored afterwards: results reproduce for a
    fixed thread count, not for "all cores"."""
    import numba
    import torch

    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        numba.set_num_threads(numba_threads)


class StudyState:
    """A study's folder and its state.json, saved atomically with each session's wall time."""

    def __init__(self, study_dir: Path, state: dict[str, Any]) -> None:
        self.dir = Path(study_dir)
        self.state = state
        self._started = time.perf_counter()
        self._session_index: int | None = None

    def save_state(self) -> None:
        """Write state.json atomically, with this process's wall time so far."""
        sessions = self.state.setdefault("sessions", [])
        elapsed = round(time.perf_counter() - self._started, 3)
        if self._session_index is None:
            sessions.append(elapsed)
            self._session_index = len(sessions) - 1
        sessions[self._session_index] = elapsed
        atomic_write_json(self.dir / STATE_FILE, self.state)

    def round_dir(self, index: int) -> Path:
        """Folder of round ``index`` (1-based)."""
        return self.dir / f"round_{index:02d}"


def run_round(
    folder: Path,
    runs: int,
    done: list[dict[str, Any]],
    target: Target,
    encoding: Encoding,
    make_spec: Callable[[int], RunSpec],
    *,
    progress: bool,
    where: str,
    resume_command: str,
    on_run_done: Callable[[int, dict[str, Any]], None],
    evaluators: Callable[[Encoding, Target, int | None], Any] | None = None,
    observers: Callable[[Path], Sequence[Observer]] | None = None,
) -> None:
    """Runs ``len(done) + 1 .. runs`` of a round in ``folder/run_N``, each resumed from its own
    checkpoint where it had started. ``make_spec(run)`` is what run ``run`` asks for (its folder,
    progress bars and the right to replace a run folder that never got its config.json are set
    here); a new run starts through :func:`fooling.launch.launch`. ``done`` holds the finished
    runs' summaries (with wall_s and seed added), and ``on_run_done(run, summary)`` is called
    after each is appended (save the state there). A signal re-raises :class:`Interrupted`, and
    a run that lost its Ray workers :class:`WorkersLost`, each saying ``where`` (with ``{run}``
    filled in) it stopped and the ``resume_command`` that continues the study.
    ``observers(run_dir)``: what each run reports to beyond its own files (e.g. a TensorBoard
    log)."""
    folder.mkdir(exist_ok=True)
    for run in range(len(done) + 1, runs + 1):
        started = time.perf_counter()
        run_dir = folder / f"run_{run}"
        target.queries = 0  # an Evolution counts its own run's queries on top of this
        try:
            spec = make_spec(run)
            spec = replace(
                spec,
                output=replace(spec.output, run_dir=run_dir, overwrite=True, progress=progress),
            )
            watchers = () if observers is None else observers(run_dir)
            if (run_dir / CONFIG_FILE).exists():
                config = same_run(
                    RunConfig.load(run_dir / CONFIG_FILE),
                    run_config(spec, target, encoding),
                    run_dir,
                )
                evolution = relaunch(
                    run_dir,
                    config,
                    target,
                    encoding,
                    evaluators=evaluators,
                    observers=watchers,
                    progress=progress,
                )
            else:
                evolution = launch(
                    spec,
                    observers=watchers,
                    target=target,
                    encoding=encoding,
                    evaluators=evaluators,
                )
            summary = evolution.run()
        except Interrupted as exc:
            raise Interrupted(
                exc.signum,
                f"interrupted in {where.format(run=run)}; checkpoint saved; "
                f"continue with: {resume_command}",
            ) from None
        except WorkersLost as exc:
            raise WorkersLost(
                f"{exc.reason} in {where.format(run=run)}; continue with: {resume_command}"
            ) from None
        summary["wall_s"] = time.perf_counter() - started
        summary["seed"] = evolution.config.seed
        summary["run_id"] = evolution.config.run_id
        done.append(summary)
        on_run_done(run, summary)


#: What a study's run is made of: a run folder that differs in one of these is another run.
RUN_IDENTITY = ("seed", "batch", "initial_population", "cell_classes", "class_names", "method")


def same_run(found: RunConfig, expected: RunConfig, run_dir: Path) -> RunConfig:
    """``found`` (a run folder's config.json, to resume) if it is the run the study would make
    there (``expected``); a :class:`RunError` naming the field otherwise (a run folder copied
    from another study or round)."""
    for key in (*RUN_IDENTITY, "target_fingerprint"):
        if getattr(found, key) != getattr(expected, key):
            raise RunError(
                f"{run_dir} is not this study's run: its {key} differs from the one the study "
                "gives it"
            )
    if found.encoding.get("name") != expected.encoding.get("name"):
        raise RunError(f"{run_dir} is not this study's run: its encoding differs")
    return found


def summarise_runs(runs: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Best confidence per class over the runs, its median and minimum, and the effort to reach
    the threshold in every class (per run; ``None`` where a run did not reach it)."""
    names = list(runs[0]["best_confidence"])
    best = {name: max(run["best_confidence"][name] for run in runs) for name in names}
    values = np.array(list(best.values()))
    reached = [run["all_at_threshold"] for run in runs]
    evaluations = [r["evaluations"] for r in reached if r]
    generations = [r["generation"] for r in reached if r]
    return {
        "best_confidence": best,
        "median_confidence": float(np.median(values)),
        "min_confidence": float(values.min()),
        "classes_at_threshold": count_fooled(values, threshold),
        "runs": len(runs),
        "runs_reached": len(evaluations),
        "evaluations_to_threshold": [r["evaluations"] if r else None for r in reached],
        "generations_to_threshold": [r["generation"] if r else None for r in reached],
        "median_evaluations_to_threshold": float(np.median(evaluations)) if evaluations else None,
        "median_generations_to_threshold": float(np.median(generations)) if generations else None,
        "evaluations": int(sum(run["evaluations"] for run in runs)),
        "seconds": float(sum(run["wall_s"] for run in runs)),
    }
