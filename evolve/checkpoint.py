"""Checkpoints: the archive, the run counters, the generator state and the encoding's state in
one ``.npz`` written atomically, so a run killed at any moment resumes from the last one exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from archives import ArchiveError, EliteArchive
from archives.atomic import atomic_save_npz
from archives.elite_archive import read_npz
from evolve.config import RunConfig, foreign_file
from evolve.encodings.base import Encoding
from evolve.errors import RunError
from evolve.map_elites import RunState

CHECKPOINT_FORMAT = "fooling-checkpoint"
CHECKPOINT_VERSION = 1
STATE_ARRAY_PREFIX = "state_"
#: The run id in ``run_state`` (absent, or null, in checkpoints of runs made before run ids).
RUN_ID_KEY = "run_id"


def save_checkpoint(
    path: Path,
    archive: EliteArchive,
    encoding: Encoding,
    state: RunState,
    extra: dict[str, Any],
    state_arrays: dict[str, np.ndarray] | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Write archive + state atomically. ``extra`` holds JSON-able bookkeeping (e.g. queries),
    ``state_arrays`` a run's own arrays (e.g. the images of a gradient ascent), saved in the
    same file so that a kill can never leave them out of step with the archive. ``run_id``: the
    run's identity (config.json's), which :func:`load_checkpoint` checks."""
    run_state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        RUN_ID_KEY: run_id,
        "generation": state.generation,
        "evaluations": state.evaluations,
        "elapsed_s": state.elapsed_s,
        "rng": state.rng.bit_generator.state,
        "encoding_state": encoding.state_dict(),
        **extra,
    }
    arrays = archive.to_arrays(encoding)
    arrays["run_state"] = np.array(json.dumps(run_state))
    for name, values in (state_arrays or {}).items():
        arrays[STATE_ARRAY_PREFIX + name] = values
    atomic_save_npz(path, arrays)


def load_checkpoint(
    path: Path, encoding: Encoding, config: RunConfig
) -> tuple[EliteArchive, RunState, dict[str, Any], dict[str, np.ndarray]]:
    """Read a checkpoint written by :func:`save_checkpoint` for the run described by ``config``.

    Restores the encoding's state in place; returns the archive, the run state, the extras and
    the state arrays (names without their prefix).
    """
    try:
        arrays = read_npz(path)
        state_arrays = {
            name[len(STATE_ARRAY_PREFIX) :]: arrays.pop(name)
            for name in list(arrays)
            if name.startswith(STATE_ARRAY_PREFIX)
        }
        if "run_state" not in arrays:
            raise ArchiveError("it holds no run state")
        run_state = json.loads(str(arrays.pop("run_state")))
        if run_state.get("format") != CHECKPOINT_FORMAT:
            raise ArchiveError("not a fooling checkpoint")
        if run_state.get("version") != CHECKPOINT_VERSION:
            raise ArchiveError(f"unsupported checkpoint version {run_state.get('version')}")
        foreign = foreign_file(run_state.get(RUN_ID_KEY), config.run_id)
        if foreign is not None:
            raise RunError(
                f"checkpoint {path} is not this run's: {foreign}; put the run's own "
                "checkpoint back, or start again with --overwrite"
            )
        archive = EliteArchive.from_arrays(arrays, encoding)
        if archive.class_names != config.class_names or list(archive.cell_classes) != list(
            config.cell_classes
        ):
            raise ArchiveError("its classes differ from this run's configuration")
        if len(archive.genomes) != archive.num_cells:
            raise ArchiveError("its genome store does not match its cells")
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = run_state["rng"]
        state = RunState(
            rng=rng,
            generation=int(run_state["generation"]),
            evaluations=int(run_state["evaluations"]),
            elapsed_s=float(run_state["elapsed_s"]),
        )
        if state.generation < -1 or state.evaluations < 0:
            raise ArchiveError("its generation or evaluation counter is negative")
        if not 0.0 <= state.elapsed_s < float("inf"):
            raise ArchiveError(f"elapsed_s must be a non-negative number, got {state.elapsed_s}")
        if archive.occupied.any() and int(archive.generation.max()) > state.generation:
            raise ArchiveError("an elite was found after the checkpoint's generation")
        encoding.load_state_dict(run_state.get("encoding_state", {}))
    except RunError:
        raise
    except ArchiveError as exc:
        raise RunError(f"checkpoint {path} is corrupt or foreign: {exc}") from None
    except (AttributeError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise RunError(f"checkpoint {path} is corrupt or foreign ({exc})") from None
    known = {"format", "version", "generation", "evaluations", "elapsed_s", "rng", "encoding_state"}
    known.add(RUN_ID_KEY)
    extra = {key: value for key, value in run_state.items() if key not in known}
    return archive, state, extra, state_arrays
