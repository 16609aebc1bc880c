"""Shared fixtures: an isolated cache (FOOLING_HOME), the small real LeNet trained once, a small
finished run and a tiny retraining study (the CLI, report and browser tests read them)."""

from __future__ import annotations

import os
import shutil
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


#: How much the saturated LeNet scales its logits: the trained LeNet's logits gap of about 12
#: between the top two classes becomes 1,200, beyond float64's softmax at both ends (a class
#: trailing by more than about 745 has probability exactly 0.0), like a network distilled at
#: T = 100 (mean gap 539, docs/studies/distillation.md).
SATURATION = 100.0


@pytest.fixture(scope="session")
def saturated_lenet_weights(tmp_path_factory, lenet_target) -> Path:
    """A real weights file: the trained LeNet with its last layer (weights and bias) multiplied
    by :data:`SATURATION`, so its logits are 100 times larger and its float64 softmax rounds to
    exactly 0 or 1 for most classes of most images."""
    import torch

    state = {k: v.detach().clone() for k, v in lenet_target.model.state_dict().items()}
    state["fc2.weight"] *= SATURATION
    state["fc2.bias"] *= SATURATION
    path = tmp_path_factory.mktemp("saturated") / "lenet_x100.pt"
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def saturated_lenet_target(saturated_lenet_weights):
    """``mnist-lenet --weights`` :func:`saturated_lenet_weights`, loaded as a user would."""
    from fitness.loading import TargetOptions, load_target

    options = TargetOptions(weights=str(saturated_lenet_weights), device="cpu")
    return load_target(options, progress=False)


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


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, lenet_target):
    """A small finished run, shared by the tests that must not damage it."""
    from fooling.cli import main

    run = tmp_path_factory.mktemp("runs") / "run"
    main(["evolve", "--max-generations", "5", "--batch", "20", "--out", str(run), "-q"])
    return run


@pytest.fixture()
def run_copy(finished_run, tmp_path):
    """A copy of :func:`finished_run` that a test may change."""
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


# 2 rounds (DNN_1 -> DNN_2 -> DNN_3, then a final evolution against DNN_3), 2 runs a round.
TINY_STUDY = [
    "--rounds", "2", "--runs", "2", "--batch", "20", "--max-generations", "12",
    "--until", "0.99", "--collect-min", "0.2", "--per-round", "30", "--held-out", "4",
    "--epochs", "1", "--checkpoint-every", "4", "--device", "cpu", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """A tiny retraining study, run once per session through the command line (about a minute).
    Tests only read it; one that writes into a study works on a copy."""
    from fooling.cli import main

    study_dir = tmp_path_factory.mktemp("study") / "uninterrupted"
    main(["retrain", *TINY_STUDY, "--out", str(study_dir)])  # returns normally on success
    return study_dir
