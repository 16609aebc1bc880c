"""A retraining study's state.json and the files it vouches for, checked before anything is
written (``fooling retrain --resume``, ``fooling report``).

state.json is read back by the study (to continue) and by its reports. Every field either of
them reads is checked here for its type and range, and the lists for their order and length (a
state whose lists were tripled names networks DNN_1, DNN_2, DNN_3, DNN_1, ...), so a damaged
state is one line naming the field, not a traceback after report files were already rewritten.

The files a state vouches for carry a SHA-256 digest in it, written when they were made: each
network's files (``networks/dnn_NN.*``, or the user's ``--weights``) and each round's
``fooling.npz``. A file that was truncated, replaced by another study's or deleted is refused by
name on ``--resume``. States written before digests existed are checked for the files' presence.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evolve.config import RunConfig, is_run_id
from evolve.errors import RunError
from evolve.run_dir import CONFIG_FILE
from fitness.class_names import class_names_problem

#: state.json's key for the digests of a network's files and of a round's fooling images.
DIGESTS = "sha256"


def file_digest(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def network_files(target: dict[str, Any]) -> list[Path]:
    """The files a network's target options load (weights, model program, class names)."""
    paths = [target.get("weights"), target.get("class_names_file")]
    if Path(str(target.get("target", ""))).suffix:  # a model file, not a built-in name
        paths.append(target.get("target"))
    return [Path(p) for p in paths if isinstance(p, str)]


def digests_of(paths: list[Path]) -> dict[str, str]:
    """``{path: sha256}`` of files just written, for state.json."""
    return {str(path): file_digest(path) for path in paths}


def files_problem(digests: Any, paths: list[Path], what: str) -> str | None:
    """Whether the files ``what`` depends on are those state.json vouches for (``digests``;
    None in states written before digests: they must at least exist)."""
    if digests is None:
        missing = next((p for p in paths if not p.is_file()), None)
        return None if missing is None else f"{what}: {missing} is missing"
    if not isinstance(digests, dict) or not digests:
        return f"{what}: {DIGESTS} must be an object of file digests"
    for name, expected in digests.items():
        path = Path(name)
        if not path.is_file():
            return f"{what}: {path} is missing"
        if file_digest(path) != expected:
            return f"{what}: {path} is not the file the study wrote (truncated or replaced)"
    return None


def check_files(
    study_dir: Path,
    state: dict[str, Any],
    round_dir: Callable[[int], Path],
    fooling_file: str,
) -> None:
    """Every file ``state`` vouches for is the one the study wrote (its SHA-256), and every run
    folder of a round not collected yet holds the run the state recorded; a :class:`RunError`
    naming the file otherwise. Nothing is written."""
    for network in state["networks"]:
        paths = network_files(network["target"])
        problem = files_problem(network.get(DIGESTS), paths, f"DNN_{network['network']}")
        if problem is not None:
            raise RunError(f"{study_dir}: {problem}; the study cannot continue")
    for index, record in enumerate(state["rounds"], start=1):
        path = round_dir(index) / fooling_file
        if "collection" in record:
            digest = record["collection"].get(DIGESTS)
            digests = None if digest is None else {str(path): digest}
            problem = files_problem(digests, [path], f"round {index}'s fooling images")
            if problem is not None:
                raise RunError(f"{study_dir}: {problem}; the study cannot continue")
            continue
        for run, summary in enumerate(record["runs"], start=1):
            run_dir = round_dir(index) / f"run_{run}"
            recorded = summary.get("run_id")
            found = RunConfig.load(run_dir / CONFIG_FILE).run_id
            if recorded is not None and found != recorded:
                raise RunError(
                    f"{run_dir} is not run {run} of round {index} of this study (run {found}, "
                    f"the study recorded {recorded})"
                )


# ------------------------------------------------------------------------------ field checks
def _int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _seconds(value: Any) -> bool:
    return _number(value) and value >= 0


def _unit(value: Any) -> bool:
    return _number(value) and 0.0 <= value <= 1.0


def _unit_or_none(value: Any) -> bool:
    return value is None or _unit(value)


class _Problem(Exception):
    """The first problem found (caught in :func:`state_problem`)."""


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise _Problem(f"{where}: {what}")


def _object(value: Any, where: str) -> dict[str, Any]:
    _need(isinstance(value, dict), where, "must be an object")
    return value


def _list(value: Any, where: str, longest: int | None = None) -> list[Any]:
    _need(isinstance(value, list), where, "must be a list")
    if longest is not None:
        _need(len(value) <= longest, where, f"has {len(value)} entries, at most {longest} expected")
    return value


def _check_evaluation(evaluation: dict[str, Any], where: str) -> None:
    for key in ("test_accuracy", "test_labelled_fooling"):
        _need(_unit(evaluation.get(key)), f"{where}.{key}", "must be a number in [0, 1]")
    _need(_seconds(evaluation.get("seconds")), f"{where}.seconds", "must be a number >= 0")
    detected = _list(evaluation.get("fooling_detected"), f"{where}.fooling_detected")
    for i, entry in enumerate(detected):
        at = f"{where}.fooling_detected[{i}]"
        entry = _object(entry, at)
        _need(_int(entry.get("round"), 1), f"{at}.round", "must be an integer >= 1")
        _need(entry.get("split") in ("train", "held_out"), f"{at}.split", "must be train/held_out")
        _need(_int(entry.get("images")), f"{at}.images", "must be an integer >= 0")
        _need(_unit_or_none(entry.get("share")), f"{at}.share", "must be null or in [0, 1]")


def _check_network(network: Any, index: int) -> None:
    where = f"networks[{index - 1}]"
    network = _object(network, where)
    _need(network.get("network") == index, f"{where}.network", f"must be {index} (DNN_{index})")
    _object(network.get("target"), f"{where}.target")
    training = network.get("training")
    if training is not None:
        training = _object(training, f"{where}.training")
        _need(_seconds(training.get("seconds")), f"{where}.training.seconds", "must be >= 0")
        for key in ("train_size", "fooling_in_training"):
            _need(_int(training.get(key)), f"{where}.training.{key}", "must be an integer >= 0")
    if "evaluation" in network:
        evaluation = _object(network["evaluation"], f"{where}.evaluation")
        _check_evaluation(evaluation, f"{where}.evaluation")


def _check_confidences(value: Any, where: str) -> None:
    best = _object(value, where)
    _need(all(_unit(v) for v in best.values()), where, "must map classes to numbers in [0, 1]")


def _check_run(run: Any, where: str) -> None:
    run = _object(run, where)
    _check_confidences(run.get("best_confidence"), f"{where}.best_confidence")
    for key in ("evaluations", "seed", "classes_at_threshold", "generations"):
        _need(_int(run.get(key)), f"{where}.{key}", "must be an integer >= 0")
    _need(_seconds(run.get("wall_s")), f"{where}.wall_s", "must be a number >= 0")
    _need(_unit(run.get("median_confidence")), f"{where}.median_confidence", "must be in [0, 1]")
    reached = run.get("all_at_threshold")
    if reached is not None:
        reached = _object(reached, f"{where}.all_at_threshold")
        for key in ("generation", "evaluations"):
            _need(_int(reached.get(key)), f"{where}.all_at_threshold.{key}", "must be >= 0")


def _check_evolution(evolution: dict[str, Any], where: str, runs: int) -> None:
    _check_confidences(evolution.get("best_confidence"), f"{where}.best_confidence")
    for key in ("median_confidence", "min_confidence"):
        _need(_unit(evolution.get(key)), f"{where}.{key}", "must be a number in [0, 1]")
    for key in ("classes_at_threshold", "runs", "runs_reached", "evaluations"):
        _need(_int(evolution.get(key)), f"{where}.{key}", "must be an integer >= 0")
    _need(evolution["runs"] == runs, f"{where}.runs", f"must be {runs} (the round's runs)")
    _need(evolution["runs_reached"] <= runs, f"{where}.runs_reached", f"must be <= {runs}")
    _need(_seconds(evolution.get("seconds")), f"{where}.seconds", "must be a number >= 0")
    for key in ("median_evaluations_to_threshold", "median_generations_to_threshold"):
        value = evolution.get(key)
        _need(value is None or _seconds(value), f"{where}.{key}", "must be null or >= 0")


def _check_round(record: Any, index: int, config: Any) -> None:
    where = f"rounds[{index - 1}]"
    record = _object(record, where)
    _need(record.get("round") == index, f"{where}.round", f"must be {index}")
    runs = _list(record.get("runs"), f"{where}.runs", config.runs)
    for i, run in enumerate(runs):
        _check_run(run, f"{where}.runs[{i}]")
    if "evolution" in record:
        _need(len(runs) == config.runs, f"{where}.runs", f"must hold {config.runs} finished runs")
        evolution = _object(record["evolution"], f"{where}.evolution")
        _check_evolution(evolution, f"{where}.evolution", config.runs)
    if "collection" in record:
        collection = _object(record["collection"], f"{where}.collection")
        for key in ("logged", "distinct", "train", "held_out"):
            _need(_int(collection.get(key)), f"{where}.collection.{key}", "must be >= 0")
        _need(_seconds(collection.get("seconds")), f"{where}.collection.seconds", "must be >= 0")
    if "gallery_s" in record:
        _need(_seconds(record["gallery_s"]), f"{where}.gallery_s", "must be a number >= 0")
    if record.get("done"):
        _need("evolution" in record, f"{where}.done", "set before the round's evolution")


def config_problem(config: Any) -> str | None:
    """What is wrong with a study.json's values (a
    :class:`~fooling.studies.retrain.StudyConfig`): "field: must be ...", or None."""
    if not isinstance(config.target, dict) or not isinstance(config.encoding, dict):
        return "target and encoding: must be objects"
    if not isinstance(config.encoding.get("name"), str):
        return "encoding: must name an encoding"
    for key in ("rounds", "runs", "batch", "initial_population", "checkpoint_every", "threads"):
        value = getattr(config, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return f"{key}: must be an integer >= 1, got {value!r}"
    for key in ("per_round", "held_out", "seed"):
        value = getattr(config, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"{key}: must be an integer >= 0, got {value!r}"
    for key in ("threshold", "collect_min", "test_fraction"):
        value = getattr(config, key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            return f"{key}: must be a number in [0, 1], got {value!r}"
    if config.study_id is not None and not is_run_id(config.study_id):
        return f"study_id: must be null or 32 hex digits, got {config.study_id!r}"
    return None


def state_problem(state: dict[str, Any], config: Any) -> str | None:
    """What is wrong with a retraining study's state (``"field: problem"``), or None.

    ``config``: the study's :class:`~fooling.studies.retrain.StudyConfig` (how many rounds and
    runs there can be)."""
    try:
        study_id = state.get("study_id")
        _need(study_id is None or is_run_id(study_id), "study_id", "must be 32 hex digits")
        data = _object(state.get("data"), "data")
        classes = _list(data.get("classes"), "data.classes")
        problem = class_names_problem(classes) if classes else "is empty"
        _need(problem is None, "data.classes", str(problem))
        for key in ("train_size", "test_size"):
            _need(_int(data.get(key)), f"data.{key}", "must be an integer >= 0")
        networks = _list(state.get("networks"), "networks", config.rounds + 1)
        for index, network in enumerate(networks, start=1):
            _check_network(network, index)
        rounds = _list(state.get("rounds"), "rounds", config.rounds + 1)
        for index, record in enumerate(rounds, start=1):
            _check_round(record, index, config)
        done = [bool(record.get("done")) for record in rounds]
        _need(done == sorted(done, reverse=True), "rounds", "a round is done after one that is not")
        _need(len(rounds) <= len(networks), "rounds", "evolve against networks not trained yet")
        for index in range(2, len(networks) + 1):
            collected = index - 1 <= len(rounds) and "collection" in rounds[index - 2]
            _need(collected, f"networks[{index - 1}]", f"round {index - 1} collected no images")
        _need(isinstance(state.get("finished"), bool), "finished", "must be true or false")
        sessions = _list(state.get("sessions"), "sessions")
        _need(all(_seconds(s) for s in sessions), "sessions", "must be a list of seconds >= 0")
        if "report_s" in state:
            _need(_seconds(state["report_s"]), "report_s", "must be a number >= 0")
    except _Problem as exc:
        return str(exc)
    return None
