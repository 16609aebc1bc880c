"""Fault injection for the reliability tests: damage a copy of a run or study directory as a
user, a full disk or another run would, then check that the command refuses it in one line,
exits 2 and changes nothing on disk (:func:`assert_refused`).

Every helper works on real files (no mocks): swap a file in from another run, truncate one,
delete one, edit a JSON field by its dotted path, or rewrite one array of an ``.npz``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from cli_helpers import assert_one_line_error, run_cli, snapshot

from archives.atomic import atomic_save_npz
from archives.elite_archive import read_npz

#: :func:`edit_json`'s value that deletes the field instead of setting it.
DELETE = object()


def swap_file(source: Path, destination: Path) -> None:
    """Copy ``source`` (another run's or study's file) over ``destination``."""
    shutil.copyfile(source, destination)


def truncate_file(path: Path, keep: float = 0.5) -> None:
    """Cut ``path`` to the first ``keep`` share of its bytes (a disk full during a write
    that was not atomic, or a copy interrupted)."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])


def delete_file(path: Path) -> None:
    """Remove ``path`` (a file a run or study relies on)."""
    Path(path).unlink()


def _walk(data: Any, keys: list[str]) -> tuple[Any, Any]:
    """The container holding the last of ``keys`` and that key (list indices as integers)."""
    for key in keys[:-1]:
        data = data[int(key)] if isinstance(data, list) else data[key]
    last = keys[-1]
    return data, int(last) if isinstance(data, list) else last


def edit_json(path: Path, field: str, value: Any) -> None:
    """Set (or, with :data:`DELETE`, remove) ``field`` of a JSON file: a dotted path whose
    numeric parts index lists, e.g. ``networks.0.evaluation.test_accuracy``. A callable
    ``value`` gets the old value and returns the new one (``lambda runs: runs * 3``)."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    container, key = _walk(data, field.split("."))
    if value is DELETE:
        del container[key]
    else:
        container[key] = value(container[key]) if callable(value) else value
    path.write_text(json.dumps(data), encoding="utf-8")


def read_json_field(path: Path, field: str) -> Any:
    """The value of a dotted ``field`` of a JSON file (as :func:`edit_json` names it)."""
    container, key = _walk(json.loads(Path(path).read_text(encoding="utf-8")), field.split("."))
    return container[key]


def edit_npz(path: Path, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite array ``name`` of an ``.npz`` as ``change(old)`` (e.g. genes set to NaN); every
    other array stays as it was."""
    arrays = read_npz(path)
    arrays[name] = change(arrays[name])
    atomic_save_npz(path, arrays)


def assert_refused(capsys: Any, watched: Path, args: list[Any], *fragments: str) -> str:
    """Run ``fooling ARGS``: it must fail in one line naming ``fragments``, exit 2, and leave
    every file under ``watched`` (and whether ``watched`` exists) as it was. Returns the
    line."""
    watched = Path(watched)
    existed = watched.exists()
    before = snapshot(watched) if existed else None
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, *fragments)
    assert watched.exists() == existed, f"{watched} was created or removed"
    if existed:
        assert snapshot(watched) == before, f"{watched} changed"
    return err.strip()
