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

from evolve.config import StopConditions
from evolve.emitters import emitter_settings
from evolve.encodings import build_encoding
from evolve.errors import Interrupted
from evolve.run_dir import removed_on_failure
from fitness.retrainable import TrainSettings, retrainable
from fooling.cli import declared
from fooling.cli.options import check_threads
from fooling.cli.param_types import UNIT, FiniteFloat
from fooling.cli.resume import given_on_command_line
from fooling.launch import scoring, tensorboard_logs
from fooling.run_spec import cluster_settings, encoding_config, target_options
from fooling.studies.retrain import Study, StudyConfig

DEFAULTS = StudyConfig(target={}, encoding={})
DEFAULT_RUNS = DEFAULTS.runs
DEFAULT_MAX_GENERATIONS = DEFAULTS.stop.max_generations
DEFAULT_EPOCHS = DEFAULTS.train.epochs
# Options a resumed study may not change (it reads them from study.json).
RESUME_OPTIONS = {
    "out",
    "resume",
    "quiet",
    "progress",
    "tensorboard",
    *(name for name in declared.SCORING_OPTIONS if name != "threads"),
}


@click.command("retrain")
@declared.apply(declared.TARGET, declared.WEIGHTS, declared.MODEL, declared.ENCODING)
@click.option("--rounds", type=click.IntRange(min=1), default=15, show_default=True)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNS,
    show_default=True,
    help="Independent MAP-Elites runs per round.",
)
@declared.apply(
    declared.SEED,
    declared.BATCH,
    declared.INITIAL_POPULATION,
    declared.UNTIL,
    declared.MAX_GENERATIONS,
    declared.MAX_EVALUATIONS,
    declared.TIME_LIMIT,
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
@declared.apply(declared.TRAINING)
@click.option("--fine-tune", is_flag=True, help="Start DNN_{i+1} from DNN_i (default: scratch).")
@declared.apply(declared.DATA_DIR)
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
@declared.apply(
    declared.CHECKPOINT_EVERY,
    declared.THREADS,
    declared.CHUNK,
    declared.EMITTER,
    declared.EMITTER_SETTING,
    declared.RAY,
    declared.TENSORBOARD,
)
@click.option("--no-gallery", is_flag=True, help="Skip each round's gallery.")
@declared.apply(declared.OUT, declared.RESUME, declared.OVERWRITE, declared.QUIET)
@click.option("--progress", is_flag=True, help="Progress bars for runs and training.")
@click.pass_context
def retrain(ctx: click.Context, **kwargs: Any) -> None:
    """Retraining study: evolve fooling images against DNN_i, add them as a "fooling" class,
    train DNN_{i+1}, repeat for --rounds rounds, then attack the last network too.

    Writes study.json, state.json, networks/, round_NN/ (runs, fooling.npz, gallery), rounds.csv,
    fooling_shares.csv, report.md and rounds.png. Ctrl-C or kill -9 and --resume continues (with
    it, only where runs are scored, --tensorboard and what it prints may be given). --target
    NAME=WEIGHTS is --target NAME --weights WEIGHTS.
    """
    study_dir = Path(kwargs["out"])
    cluster = cluster_settings(kwargs, kwargs["oversubscribe"])
    check_threads(kwargs["threads"], kwargs["oversubscribe"])  # not given: the study's own
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
    options = target_options(kwargs)  # the options retrain has; the others keep their defaults
    if options.target == "mnist-lenet":
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
    # Options not given take the study's defaults (StudyConfig): the command declares none.
    until = DEFAULTS.threshold if kwargs["until"] is None else kwargs["until"]
    generations = kwargs["max_generations"]
    stop = StopConditions(
        max_generations=DEFAULT_MAX_GENERATIONS if generations is None else generations or None,
        max_evaluations=kwargs["max_evaluations"],
        time_limit_s=kwargs["time_limit"],
        until=until,
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
        threshold=until,
        collect_min=kwargs["collect_min"],
        per_round=kwargs["per_round"],
        held_out=kwargs["held_out"],
        train=TrainSettings(kwargs["epochs"], kwargs["batch_size"], kwargs["learning_rate"]),
        fine_tune=kwargs["fine_tune"],
        data_dir=None if kwargs["data_dir"] is None else str(Path(kwargs["data_dir"]).resolve()),
        train_dir=None if kwargs["train_dir"] is None else str(Path(kwargs["train_dir"]).resolve()),
        test_dir=None if kwargs["test_dir"] is None else str(Path(kwargs["test_dir"]).resolve()),
        test_fraction=kwargs["test_fraction"],
        checkpoint_every=given_or(kwargs["checkpoint_every"], DEFAULTS.checkpoint_every),
        gallery=not kwargs["no_gallery"],
        threads=given_or(kwargs["threads"], DEFAULTS.threads),
        chunk=kwargs["chunk"],
        emitters=emitter_settings(kwargs["emitter"], kwargs["emitter_setting"]),
    )


def given_or(value: Any, default: Any) -> Any:
    """An option's value, or the study's default where it was not given (None)."""
    return default if value is None else value
