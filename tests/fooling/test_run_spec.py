"""One run specification for every path into a run: for every option of ``fooling evolve`` (the
command's own list, so a new option cannot be forgotten), the command line and
:func:`fooling.evolve` build the same :class:`RunSpec` and write the same config.json and
results; and runs written before the specification existed keep their config.json and resume.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from run_spec_cases import BASE_API, BASE_CLI, CASES, RAY_CASES, case_arguments, comparable

import fooling
from fooling.api import evolve_spec
from fooling.cli.evolve import evolve as evolve_command
from fooling.run_spec import RunSpec, run_spec

#: Runs written by ``fooling evolve`` and ``fooling ascent`` before fooling/run_spec.py existed
#: (commit 140d614), with the options below: their config.json and checkpoint.npz (ascent: and
#: ascent.json, starts.npz), on the built-in LeNet trained as the test session trains it.
RUNS_FROM_MAIN = Path(__file__).parent / "runs_from_main"
MAIN_RUNS = {
    "direct": (
        "evolve",
        "--batch 20 --initial-population 15 --max-generations 3 --seed 2 --device cpu "
        "--only-classes 3,5,7 --mutation-rate 0.2 --mutation-eta 12 --crossover-rate 0.5 "
        "--crossover-eta 8 --halve-every 2 --robust shift=1,noise=0.01 --robust-samples 2 "
        "--robust-reduce min --robust-elites rescore --emitter cma:1,paper:1 "
        "--emitter-setting cma.sigma=0.3 --chunk 9 --checkpoint-every 2 --threshold 0.9 -q",
        "--max-generations 5",
    ),
    "cppn": (
        "evolve",
        "--encoding cppn --batch 10 --max-generations 3 --seed 3 --device cpu --coordinates raw "
        "--renderer numpy --until 0.999 --max-evaluations 5000 --time-limit 600 --emitter cma "
        "--emitter-setting cma.sigma=0.5 --checkpoint-every 2 -q",
        "--max-generations 4",
    ),
    "ascent": (
        "ascent",
        "--steps 3 --device cpu --seed 1 --only-classes 1,2 --checkpoint-every 2 -q",
        "--steps 5",
    ),
}


@pytest.fixture(scope="module")
def places(tmp_path_factory, saturated_lenet_weights) -> dict[str, str]:
    """What the cases' placeholders stand for: real files."""
    folder = tmp_path_factory.mktemp("places")
    names = folder / "classes.txt"
    names.write_text("\n".join(f"class_{i}" for i in range(10)), encoding="utf-8")
    ini = folder / "profile.ini"
    ini.write_text("[DefaultGenome]\nnode_add_prob = 0.4\n", encoding="utf-8")
    return {"weights": str(saturated_lenet_weights), "names": str(names), "ini": str(ini)}


def cli_spec(args: list[str]) -> RunSpec:
    """The spec ``fooling evolve ARGS`` runs: click's params through :func:`run_spec`."""
    context = evolve_command.make_context("evolve", list(args))
    return run_spec(context.params)


def without_paths(spec: RunSpec) -> RunSpec:
    """``spec`` without where it writes (the two ways write into two folders)."""
    return replace(spec, output=replace(spec.output, run_dir=None, tensorboard=None))


def archive_arrays(run_dir: Path) -> dict[str, np.ndarray]:
    """The final archive's arrays, without its metadata (which holds the run's own id)."""
    with np.load(run_dir / "archive.npz") as archive:
        return {key: archive[key] for key in archive.files if key != "meta"}


def assert_same_results(a: Path, b: Path) -> None:
    first, second = archive_arrays(a), archive_arrays(b)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_every_option_of_fooling_evolve_has_a_case() -> None:
    assert {param.name for param in evolve_command.params} == set(CASES)
    assert len(CASES) >= 50  # the count the report gives


def test_the_api_documents_every_option() -> None:
    named = {"target", "out"}  # fooling.evolve's own parameters
    missing = [
        param.name
        for param in evolve_command.params
        if param.name not in named and f"``{param.name}``" not in fooling.evolve.__doc__
    ]
    assert missing == []


def test_the_api_refuses_what_the_command_refuses() -> None:
    with pytest.raises(TypeError, match="unknown option.*max_generation\\b"):
        evolve_spec(max_generation=3)
    with pytest.raises(ValueError, match="batch=0"):
        evolve_spec(batch=0)
    with pytest.raises(ValueError, match="encoding='pixels'"):
        evolve_spec(encoding="pixels")
    with pytest.raises(TypeError, match="progress and quiet"):
        evolve_spec(progress=True, quiet=True)


def test_a_new_option_default_is_the_command_default() -> None:
    # Nothing given: the spec of `fooling evolve --out X` (the API's progress bars aside).
    assert without_paths(evolve_spec(quiet=False)) == without_paths(cli_spec(["--out", "x"]))


@pytest.mark.parametrize("name", [name for name in CASES if name not in RAY_CASES])
def test_the_command_line_and_the_api_give_the_same_config(
    name, places, tmp_path, capsys, lenet_target
) -> None:
    args, target, keywords = case_arguments(name, {**places, "tmp": str(tmp_path)})
    cli_dir, api_dir = tmp_path / "cli", tmp_path / "api"
    cli = cli_spec([*args, "--out", str(cli_dir)])
    api = evolve_spec(target, out=api_dir, **keywords)
    assert without_paths(cli) == without_paths(api)
    assert (cli.output.run_dir, api.output.run_dir) == (cli_dir, api_dir)
    if name == "overwrite":  # an earlier run in each folder, which the case replaces
        assert run_cli(capsys, "evolve", *BASE_CLI, "--seed", "9", "--out", cli_dir)[0] == 0
        fooling.evolve(out=api_dir, seed=9, **BASE_API)
    code, _, err = run_cli(capsys, "evolve", *args, "--out", cli_dir)
    assert code == 0, err
    run = fooling.evolve(target, out=api_dir, **keywords)
    if name == "resume":  # each continued the way it was started
        code, _, err = run_cli(capsys, "evolve", "--resume", "--max-generations", "2",
                               "--out", cli_dir, "-q")  # fmt: skip
        assert code == 0, err
        run = fooling.evolve(out=api_dir, resume=True, max_generations=2)
    assert comparable(cli_dir) == comparable(api_dir)
    assert_same_results(cli_dir, api_dir)
    assert run.run_dir == api_dir and run.config.run_id is not None
    if name == "resume":
        assert run.summary["generations"] == 2
    if name == "tensorboard":
        assert list((tmp_path / "tb_cli").glob("events.*")) and list(
            (tmp_path / "tb_api").glob("events.*")
        )
    if name == "quiet":  # progress bars, on stderr, both ways
        assert err.strip()


@pytest.mark.parametrize("name", MAIN_RUNS)
def test_a_run_written_before_keeps_its_config_and_resumes(
    name, tmp_path, capsys, lenet_target
) -> None:
    command, options, more = MAIN_RUNS[name]
    stored = json.loads((RUNS_FROM_MAIN / name / "config.json").read_text(encoding="utf-8"))
    # The same options write the same config.json today: its keys and values (the network's
    # fingerprint is this session's).
    new = tmp_path / "new"
    code, _, err = run_cli(capsys, command, *options.split(), "--out", new)
    assert code == 0, err
    now, before = comparable(new), dict(stored)
    before.pop("run_id")
    assert now.pop("target_fingerprint") == lenet_target.fingerprint
    before.pop("target_fingerprint")
    assert now == before
    # The run made before resumes, against this session's LeNet.
    old = tmp_path / "old"
    shutil.copytree(RUNS_FROM_MAIN / name, old)
    same_network = stored["target_fingerprint"] == lenet_target.fingerprint
    stored["target_fingerprint"] = lenet_target.fingerprint
    (old / "config.json").write_text(json.dumps(stored), encoding="utf-8")
    for run_dir in (old, new):
        code, _, err = run_cli(capsys, command, "--resume", *more.split(), "--out", run_dir, "-q")
        assert code == 0, err
    summary = json.loads((old / "summary.json").read_text(encoding="utf-8"))
    assert summary["generations" if command == "evolve" else "steps"] == int(more.split()[1])
    if same_network:  # trained as the fixture's LeNet was: the same results, exactly
        assert_same_results(old, new)
