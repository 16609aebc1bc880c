"""Fixtures shared by the CLI tests: a small finished run, and a copy of it per test."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, lenet_target):
    """A small finished run, shared by the tests that must not damage it."""
    from fooling.cli import main

    run = tmp_path_factory.mktemp("runs") / "run"
    main(["evolve", "--max-generations", "5", "--batch", "20", "--out", str(run), "-q"])
    return run


@pytest.fixture()
def run_copy(finished_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy
