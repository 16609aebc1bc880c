"""``fooling retrain``: the retraining study with an extra "fooling images" class.

Examples::

    fooling retrain --rounds 15 --out study15                 # mnist-lenet, direct encoding
    fooling retrain -e cppn --runs 5 --epochs 10 --out study_cppn
    fooling retrain --resume --out study15                    # after Ctrl-C or kill -9

    # your own model: factory(num_classes=K) builds it; train/<class>/<image files>
    fooling retrain --target mypkg.models:small_cnn --input-shape 3,32,32 \\
        --train-dir data/train --test-dir data/test --out study_mine

See :mod:`fooling.studies.retrain` for the study and :mod:`fitness.image_folder` for the
folder layout.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from evolve.config import DEFAULT_CHUNK, DEFAULT_THRESHOLD, StopConditions
from evolve.encodings import ENCODING_NAMES, build_encoding
from evolve.errors import Interrupted
from evolve.run_dir import removed_on_failure
from fitness.loading import TargetOptions
from fitness.retrainable import TrainSettings, retrainable
from fooling.cli.evolve import SCORING_OPTIONS
from fooling.cli.options import (
    MODEL_OPTIONS,
    UNIT,
    apply_options,
    check_threads,
    cluster_settings_from,
    emitter_options,
    emitters_from,
    encoding_config,
    ray_options,
    tensorboard_logs,
    tensorboard_option,
)
from fooling.cli.param_types import FiniteFloat
from fooling.cli.resume import given_on_command_line
from fooling.cli.scoring import scoring
from fooling.studies.retrain import Study, StudyConfig

DEFAULTS = StudyConfig(target={}, encoding={})
DEFAULT_RUNS = DEFAULTS.runs
DEFAULT_MAX_GENERATIONS = DEFAULTS.stop.max_generations
DEFAULT_EPOCHS = DEFAULTS.train.epochs
# Options a resumed study may not change (it reads them from study.json).
RESUME_OPTIONS = {
    "run_dir",
    "resume",
    "quiet",
    "progress",
    "tensorboard",
    *(name for name in SCORING_OPTIONS if name != "threads"),
}


def model_options(func: Any) -> Any:
    """The options describing a user's model, as ``fooling evolve`` has them."""
    return apply_options(func, MODEL_OPTIONS)


@click.command("retrain")
@click.option(
    "--target",
    "-t",
    default="mnist-lenet",
    show_default=True,
    help="mnist-lenet, or package.module:factory where factory(num_classes=K) builds your model.",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    help="DNN_1's state dict (default: DNN_1 is trained by the study like every later network).",
)
@model_options
@click.option(
    "--encoding",
    "-e",
    type=click.Choice(ENCODING_NAMES),
    default="direct",
    show_default=True,
)
@click.option("--rounds", type=click.IntRange(min=1), default=15, show_default=True)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNS,
    show_default=True,
    help="Independent MAP-Elites runs per round.",
)
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--batch", "-b", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--initial-population", type=click.IntRange(min=1), help="Default: --batch.")
@click.option(
    "--until",
    type=UNIT,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="A run stops once every real class is >= this confidence (the threshold reported).",
)
@click.option(
    "--max-generations",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_GENERATIONS,
    show_default=True,
    help="Per-run budget in generations (0: none).",
)
@click.option("--max-evaluations", type=click.IntRange(min=1), help="Per-run budget in images.")
@click.option(
    "--time-limit",
    type=FiniteFloat(min=0, min_open=True),
    help="Per-run budget in seconds (makes results depend on the machine's speed).",
)
@click.option(
    "--collect-min",
    type=UNIT,
    default=0.99,
    show_default=True,
    help="Fooling images are logged elites at or above this confidence (0.9999 = the paper's "
    "threshold: fewer images once retraining makes it hard to reach).",
)
@click.option(
    "--per-round",
    type=click.IntRange(min=1),
    help="Fooling images added to training per round (default: a real class's count).",
)
@click.option(
    "--held-out",
    type=click.IntRange(min=0),
    help="Extra fooling images per round kept out of training (default: --per-round / 10).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULT_EPOCHS, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--learning-rate", type=FiniteFloat(min=0, min_open=True), default=1e-3, show_default=True
)
@click.option("--fine-tune", is_flag=True, help="Start DNN_{i+1} from DNN_i (default: scratch).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="mnist-lenet: folder of MNIST IDX files (default: the bundled 5,000 digits).",
)
@click.option(
    "--train-dir",
    type=click.Path(file_okay=False),
    help="Training images in class sub-folders (any target).",
)
@click.option(
    "--test-dir", type=click.Path(file_okay=False), help="Test images in class sub-folders."
)
@click.option(
    "--test-fraction",
    type=FiniteFloat(0.0, 1.0, max_open=True),
    default=0.1,
    show_default=True,
    help="Without --test-dir: share of each --train-dir class held out for testing.",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Runs checkpoint every N generations.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=DEFAULTS.threads,
    show_default=True,
    help="CPU threads for scoring and training (results are reproducible for a fixed count).",
)
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK,
    show_default=True,
    help="Images scored together in each run, in this process and on each Ray worker alike.",
)
@emitter_options
@ray_options
@tensorboard_option
@click.option("--no-gallery", is_flag=True, help="Skip each round's gallery.")
@click.option(
    "--out", "-o", "run_dir", required=True, type=click.Path(file_okay=False), help="Study folder."
)
@click.option("--resume", is_flag=True, help="Continue the study in --out.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier study in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No per-step lines.")
@click.option("--progress", is_flag=True, help="Progress bars for runs and training.")
@click.pass_context
def retrain(ctx: click.Context, **kwargs: Any) -> None:
    """Retraining study: evolve fooling images against DNN_i, add them as a "fooling" class,
    train DNN_{i+1}, repeat for --rounds rounds, then attack the last network too.

    Writes study.json, state.json, networks/, round_NN/ (runs, fooling.npz, gallery), rounds.csv,
    fooling_shares.csv, report.md and rounds.png. Ctrl-C or kill -9 and --resume continues.
    """
    study_dir = Path(kwargs["run_dir"])
    cluster = cluster_settings_from(kwargs)
    if "threads" in given_on_command_line(ctx, ["threads"]):  # the default (2) is the study's
        check_threads(kwargs["threads"], kwargs["oversubscribe"])
    log = (lambda line: None) if kwargs["quiet"] else click.echo
    studies: list[Study] = []

    def worth_keeping() -> bool:  # a new study that fails before DNN_1 is saved leaves nothing
        return bool(kwargs["resume"] or (studies and studies[0].state.get("networks")))

    try:
        with removed_on_failure(study_dir, keep=worth_keeping):
            if kwargs["resume"]:
                given = [
                    name
                    for name in given_on_command_line(ctx, ctx.params)
                    if name not in RESUME_OPTIONS
                ]
                if given:
                    raise click.UsageError(
                        f"--{given[0].replace('_', '-')} cannot be given with --resume "
                        "(the study reads its configuration from study.json)"
                    )
                logs = tensorboard_runs(kwargs["tensorboard"], new=False, overwrite=False)
                study = Study.resume(study_dir, log=log, progress=kwargs["progress"])
            else:
                config = study_config(kwargs)
                logs = tensorboard_runs(
                    kwargs["tensorboard"], new=True, overwrite=kwargs["overwrite"]
                )
                study = Study.create(
                    study_dir,
                    config,
                    overwrite=kwargs["overwrite"],
                    log=log,
                    progress=kwargs["progress"],
                )
                if logs is not None and kwargs["overwrite"]:  # the earlier study's log goes too
                    from evolve.tensorboard import truncate_events

                    truncate_events(Path(kwargs["tensorboard"]), -1, recursive=True)
            studies.append(study)
            if logs is not None:
                study.observers = lambda run_dir: logs(run_dir.relative_to(study_dir))
            with scoring(cluster, None) as evaluators:  # the study fixes its own --threads
                study.evaluators = evaluators
                state = study.run()
    except KeyboardInterrupt:
        raise Interrupted(
            signal.SIGINT,
            f"interrupted; continue with: fooling retrain --resume --out {study_dir}",
        ) from None
    rows = state["networks"]
    last = state["rounds"][-1]["evolution"]
    click.echo(
        f"{study.config.rounds} rounds done; DNN_{len(rows)} test accuracy "
        f"{rows[-1]['evaluation']['test_accuracy']:.4f}; evolution against it: "
        f"{last['classes_at_threshold']}/{len(last['best_confidence'])} classes >= "
        f"{study.config.threshold}, median best {last['median_confidence']:.6f}"
    )
    click.echo(f"results in {study_dir}/ (report.md, rounds.csv, rounds.png)")


def tensorboard_runs(
    log_dir: str | None, *, new: bool, overwrite: bool
) -> Callable[[Path], list[Any]] | None:
    """``--tensorboard DIR``: each run's TensorBoard log at its place in the study
    (DIR/round_NN/run_N), checked now; None without it."""
    if log_dir is None:
        return None
    return tensorboard_logs(log_dir, new=new, overwrite=overwrite, recursive=True)


def study_config(kwargs: dict[str, Any]) -> StudyConfig:
    """A study's configuration from the command line (checked, with the encoding resolved)."""
    options = TargetOptions(
        target=kwargs["target"],
        weights=kwargs["weights"],
        input_shape=kwargs["input_shape"],
        class_names_file=kwargs["class_names_file"],
        input_scale=kwargs["input_scale"],
        mean=kwargs["mean"],
        std=kwargs["std"],
        device=kwargs["device"],
        max_batch=kwargs["max_batch"],
    )
    if kwargs["target"] == "mnist-lenet":
        for name in ("input_shape", "class_names_file", "mean", "std"):
            if kwargs[name] is not None:
                raise click.UsageError(
                    f"--{name.replace('_', '-')} applies to your own models only"
                )
    elif kwargs["data_dir"] is not None:
        raise click.UsageError("--data-dir applies to mnist-lenet; use --train-dir")
    if kwargs["test_dir"] is not None and kwargs["train_dir"] is None:
        raise click.UsageError("--test-dir needs --train-dir")
    family = retrainable(options, kwargs["train_dir"])
    stop = StopConditions(
        max_generations=kwargs["max_generations"] or None,
        max_evaluations=kwargs["max_evaluations"],
        time_limit_s=kwargs["time_limit"],
        until=kwargs["until"],
    )
    if stop.max_generations is None and stop.max_evaluations is None and stop.time_limit_s is None:
        raise click.UsageError(
            "give each run a budget (--max-generations, --max-evaluations or --time-limit)"
        )
    return StudyConfig(
        target=options.to_dict(),
        encoding=build_encoding(
            encoding_config(kwargs["encoding"], family.spec.shape, kwargs["device"])
        ).config(),
        rounds=kwargs["rounds"],
        runs=kwargs["runs"],
        seed=kwargs["seed"],
        batch=kwargs["batch"],
        initial_population=kwargs["initial_population"] or kwargs["batch"],
        stop=stop,
        threshold=kwargs["until"],
        collect_min=kwargs["collect_min"],
        per_round=kwargs["per_round"],
        held_out=kwargs["held_out"],
        train=TrainSettings(kwargs["epochs"], kwargs["batch_size"], kwargs["learning_rate"]),
        fine_tune=kwargs["fine_tune"],
        data_dir=None if kwargs["data_dir"] is None else str(Path(kwargs["data_dir"]).resolve()),
        train_dir=None if kwargs["train_dir"] is None else str(Path(kwargs["train_dir"]).resolve()),
        test_dir=None if kwargs["test_dir"] is None else str(Path(kwargs["test_dir"]).resolve()),
        test_fraction=kwargs["test_fraction"],
        checkpoint_every=kwargs["checkpoint_every"],
        gallery=not kwargs["no_gallery"],
        threads=kwargs["threads"],
        chunk=kwargs["chunk"],
        emitters=emitters_from(kwargs),
    )
