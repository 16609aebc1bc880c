"""Shared fixtures: an isolated cache (FOOLING_HOME) and the small real LeNet trained once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Test helpers (model factories for package.module:factory targets, CLI runners, tolerances)
# live in tests/support, which goes on the path; tests/ itself must not, or its folders that
# mirror the packages (tests/fooling, tests/evolve, ...) would shadow them in subprocesses.
SUPPORT_DIR = Path(__file__).resolve().parent / "support"
sys.path.insert(0, str(SUPPORT_DIR))


@pytest.fixture(scope="session", autouse=True)
def fooling_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test (and subprocess) trains and caches targets in one temporary FOOLING_HOME."""
    home = tmp_path_factory.mktemp("fooling_home")
    os.environ["FOOLING_HOME"] = str(home)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(SUPPORT_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return home


@pytest.fixture(scope="session")
def lenet_target(fooling_home: Path):
    """The built-in mnist-lenet, really trained on the bundled digits (cached for the session)."""
    from fitness.loading import TargetOptions, load_target

    return load_target(TargetOptions(device="cpu"), progress=False)


@pytest.fixture(scope="session")
def exported_lenet(tmp_path_factory, lenet_target) -> Path:
    """The trained LeNet as a torch.export program (.pt2) with a dynamic batch dimension."""
    import torch

    path = tmp_path_factory.mktemp("exported") / "lenet.pt2"
    program = torch.export.export(
        lenet_target.model.eval(),
        (torch.zeros(2, 1, 28, 28),),
        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
    )
    torch.export.save(program, str(path))
    return path
