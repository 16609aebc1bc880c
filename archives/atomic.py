"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Each write goes to a temporary file in the same directory, is fsync'ed, then renamed over the
destination (rename is atomic on POSIX), and the directory is fsync'ed so the rename survives a
power cut. A crash or kill -9 at any point leaves the previous version intact.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def _file_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's is owner-only)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories; the rename still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: Suffix of the temporary files :func:`atomic_write` makes (named ``.NAME.<random>.tmp``).
TEMP_SUFFIX = ".tmp"


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete temporary files that an atomic write killed midway left in ``directory``.

    Only safe while no other process writes there (the caller holds the directory's lock).
    Returns what was removed.
    """
    removed = []
    for path in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fileobj)`` on a temporary file, then atomically move it to ``path``."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (non-finite floats are rejected)."""
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``arrays`` as an uncompressed ``.npz`` (object arrays are refused)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {key!r} has dtype object; it would need pickle")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
