"""A case for every option of ``fooling evolve``: a value other than its default, as the command
line gives it and as :func:`fooling.evolve` takes it (tests/fooling/test_run_spec.py runs each
both ways and compares the config.json they write; tests/ray runs the Ray ones).

Values may hold ``{weights}`` (a real LeNet state dict), ``{names}`` (a class names file),
``{ini}`` (a CPPN profile) and ``{tmp}`` (the test's folder), filled in by :func:`fill`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Every run of a case: one generation of ten children, on the built-in LeNet.
BASE_CLI = ["--batch", "10", "--max-generations", "1", "-q"]
BASE_API: dict[str, Any] = {"batch": 10, "max_generations": 1}

#: A factory model (tests/support/model_factories.py) used untrained, for the options that
#: describe a user's model.
FACTORY_CLI = ["--target", "model_factories:lenet", "--input-shape", "1,28,28", "--random-weights"]
FACTORY_API: dict[str, Any] = {
    "target": "model_factories:lenet",
    "input_shape": (1, 28, 28),
    "random_weights": True,
}
CPPN_CLI, CPPN_API = ["--encoding", "cppn"], {"encoding": "cppn"}
ROBUST_CLI, ROBUST_API = ["--robust", "shift=1"], {"robust": "shift=1"}

#: Option name -> (command-line arguments, keywords of fooling.evolve). Where an option only
#: means something with another, the case gives that one too.
CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    # the target
    "target": (["--target", "mnist-lenet={weights}"], {"target": "mnist-lenet={weights}"}),
    "weights": (["--weights", "{weights}"], {"weights": "{weights}"}),
    "random_weights": (FACTORY_CLI, FACTORY_API),
    "input_shape": (FACTORY_CLI, {**FACTORY_API, "input_shape": "1,28,28"}),
    "class_names_file": (
        [*FACTORY_CLI, "--class-names", "{names}"],
        {**FACTORY_API, "class_names_file": "{names}"},
    ),
    "input_scale": ([*FACTORY_CLI, "--input-scale", "2"], {**FACTORY_API, "input_scale": 2}),
    "mean": ([*FACTORY_CLI, "--mean", "0.5"], {**FACTORY_API, "mean": [0.5]}),
    "std": ([*FACTORY_CLI, "--std", "0.25"], {**FACTORY_API, "std": (0.25,)}),
    "device": (["--device", "cpu"], {"device": "cpu"}),
    "max_batch": (["--max-batch", "7"], {"max_batch": 7}),
    "model_outputs": (
        [
            *("--target", "model_factories:softmax_probabilities", "--input-shape", "1,28,28"),
            *("--random-weights", "--model-outputs", "probabilities"),
        ],
        {
            "target": "model_factories:softmax_probabilities",
            "input_shape": (1, 28, 28),
            "random_weights": True,
            "model_outputs": "probabilities",
        },
    ),
    "genome_size": (["--genome-size", "32"], {"genome_size": "32"}),
    "crops": (
        ["--genome-size", "32,30", "--crops", "center"],
        {"genome_size": (32, 30), "crops": "center"},
    ),
    "precision": (["--precision", "bf16"], {"precision": "bf16"}),
    "channels_last": (["--channels-last"], {"channels_last": True}),
    "only_classes": (["--only-classes", "7,1"], {"only_classes": "7,1"}),
    # the encoding
    "encoding": (CPPN_CLI, CPPN_API),
    "mutation_rate": (["--mutation-rate", "0.2"], {"mutation_rate": 0.2}),
    "mutation_eta": (["--mutation-eta", "12"], {"mutation_eta": 12}),
    "crossover_rate": (["--crossover-rate", "0.5"], {"crossover_rate": 0.5}),
    "crossover_eta": (["--crossover-eta", "8"], {"crossover_eta": 8.0}),
    "halve_every": (["--halve-every", "3"], {"halve_every": 3}),
    "cppn_config": ([*CPPN_CLI, "--cppn-config", "{ini}"], {**CPPN_API, "cppn_config": "{ini}"}),
    "color": (["--color", "gray"], {"color": "gray"}),
    "coordinates": ([*CPPN_CLI, "--coordinates", "raw"], {**CPPN_API, "coordinates": "raw"}),
    "renderer": ([*CPPN_CLI, "--renderer", "numpy"], {**CPPN_API, "renderer": "numpy"}),
    # the children
    "batch": (["--batch", "12"], {"batch": 12}),
    "initial_population": (["--initial-population", "7"], {"initial_population": 7}),
    "seed": (["--seed", "5"], {"seed": 5}),
    "emitter": (
        ["--emitter", "cma:1,paper:1", "--batch", "20"],
        {"emitter": "cma:1,paper:1", "batch": 20},
    ),
    "emitter_setting": (
        ["--emitter", "cma", "--emitter-setting", "cma.sigma=0.3"],
        {"emitter": "cma", "emitter_setting": "cma.sigma=0.3"},
    ),
    "gradients": (["--gradients"], {"gradients": True}),
    # stopping
    "until": (["--until", "0.5"], {"until": 0.5}),
    "max_generations": (["--max-generations", "2"], {"max_generations": 2}),
    "max_evaluations": (["--max-evaluations", "25"], {"max_evaluations": 25}),
    "time_limit": (["--time-limit", "100"], {"time_limit": 100}),
    "threshold": (["--threshold", "0.5"], {"threshold": 0.5}),
    # scoring
    "robust": (ROBUST_CLI, ROBUST_API),
    "robust_samples": ([*ROBUST_CLI, "--robust-samples", "2"], {**ROBUST_API, "robust_samples": 2}),
    "robust_reduce": (
        [*ROBUST_CLI, "--robust-reduce", "min"],
        {**ROBUST_API, "robust_reduce": "min"},
    ),
    "robust_elites": (
        [*ROBUST_CLI, "--robust-elites", "rescore"],
        {**ROBUST_API, "robust_elites": "rescore"},
    ),
    "chunk": (["--chunk", "7"], {"chunk": 7}),
    "threads": (["--threads", "1"], {"threads": 1}),
    # Ray: without --workers or --ray-address the run is scored here (tests/ray starts them)
    "workers": (["--workers", "1", "--oversubscribe"], {"workers": 1, "oversubscribe": True}),
    "ray_address": (["--ray-address", "{address}"], {"ray_address": "{address}"}),
    "worker_threads": (["--worker-threads", "2"], {"worker_threads": 2}),
    "worker_gpus": (["--worker-gpus", "0.5"], {"worker_gpus": 0.5}),
    "worker_timeout": (["--worker-timeout", "30"], {"worker_timeout": 30}),
    "oversubscribe": (["--oversubscribe"], {"oversubscribe": True}),
    # the output
    "checkpoint_every": (["--checkpoint-every", "3"], {"checkpoint_every": 3}),
    "out": ([], {}),  # every case writes one: a folder of the test's
    "resume": ([], {}),  # test_run_spec: a run continued both ways
    "overwrite": (["--overwrite"], {"overwrite": True}),  # over an earlier run (test_run_spec)
    "quiet": ([], {"quiet": False}),  # the command without -q: progress bars both ways
    "tensorboard": (["--tensorboard", "{tmp}/tb_cli"], {"tensorboard": "{tmp}/tb_api"}),
}
#: The cases that start or join a Ray cluster (run by tests/ray/test_run_spec_ray.py).
RAY_CASES = ("workers", "ray_address")


def fill(value: Any, places: dict[str, str]) -> Any:
    """``value`` with its ``{name}`` placeholders filled in (in lists, tuples and dicts too)."""
    if isinstance(value, str):
        return value.format(**places)
    if isinstance(value, list | tuple):
        return type(value)(fill(v, places) for v in value)
    if isinstance(value, dict):
        return {k: fill(v, places) for k, v in value.items()}
    return value


def case_arguments(name: str, places: dict[str, str]) -> tuple[list[str], str, dict[str, Any]]:
    """A case's command-line arguments (after the base ones; a later repeat of an option wins)
    and its fooling.evolve target and keywords (over the base ones)."""
    args, keywords = fill(CASES[name], places)
    if name == "quiet":
        cli = [a for a in BASE_CLI if a != "-q"]
    else:
        cli = list(BASE_CLI)
    keywords = {**BASE_API, **keywords}
    target = keywords.pop("target", "mnist-lenet")
    return [*cli, *args], target, keywords


def comparable(run_dir: Path) -> dict[str, Any]:
    """A run's config.json without its run id (drawn anew for every run)."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    config.pop("run_id")
    return config
