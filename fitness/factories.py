"""``--target`` factories: ``package.module:factory`` or ``path/to/file.py:factory``.

The file form imports the file by path (as docs/tutorials/own-classifier.md shows,
``my_models.py:build``), so a model defined next to the data needs no package and no PYTHONPATH.
Building is seeded, so a factory model without trained weights (``--random-weights``) is the
same network on every load and a run against it can be resumed (a resumed run checks the
target's weights fingerprint).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

#: Seed of the random initialisation of factory models (the same network on every load).
FACTORY_SEED = 0


def is_factory_target(target: str) -> bool:
    """Whether ``--target`` names a factory (``module:factory`` or ``file.py:factory``) rather
    than a built-in or a model file (a file path that exists wins, even with a colon in it)."""
    return ":" in target and not Path(target).exists()


def split_factory(target: str) -> tuple[str, str]:
    """``(module or file, factory name)``; the last colon splits, so ``C:\\m.py:build`` works."""
    source, _, name = target.rpartition(":")
    return source, name


def is_file_source(source: str) -> bool:
    """Whether the module part names a Python file rather than a dotted module."""
    return source.endswith(".py") or "/" in source or "\\" in source


def absolute_factory(target: str) -> str:
    """``target`` with a file source made absolute (stored in config.json for --resume)."""
    source, name = split_factory(target)
    return f"{Path(source).resolve()}:{name}" if is_file_source(source) else target


def _module_from_file(source: str) -> ModuleType:
    path = Path(source).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"factory file not found: {source}")
    # A name unique to the path: two runs' my_models.py in different folders do not collide.
    name = f"fooling_factory_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {source} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_factory(target: str) -> Callable[..., Any]:
    """The callable ``target`` names; import errors propagate (callers word them)."""
    source, name = split_factory(target)
    if is_file_source(source):
        module = _module_from_file(source)
    else:
        module = importlib.import_module(source)
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"{source} has no {name!r}") from None


def build_seeded(factory: Callable[..., Any], **kwargs: Any) -> Any:
    """``factory(**kwargs)`` with torch's generator seeded by :data:`FACTORY_SEED` (and restored
    afterwards), so random initial weights are the same on every build."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FACTORY_SEED)
        return factory(**kwargs)
