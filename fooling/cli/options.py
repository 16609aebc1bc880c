"""Options and parsing shared by the commands: number lists, class selections, the target's
options, and the encoding settings a command line asks for. Parsed once, here, at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from evolve.resources import check_cpus
from fitness.class_names import MAX_CLASS_NAME
from fitness.devices import genome_device
from fitness.loading import BUILTIN_TARGETS, TargetOptions
from fitness.target import CROPS, PRECISIONS
from fooling.cli.param_types import FiniteFloat

#: A probability or confidence.
UNIT = FiniteFloat(0.0, 1.0)


class NumberList(click.ParamType):
    """Comma-separated numbers, e.g. ``0.485,0.456,0.406``."""

    def __init__(self, kind: type = float, length: int | None = None, positive: bool = False):
        self.kind, self.length, self.positive = kind, length, positive
        self.name = f"{kind.__name__} list"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        """Parse the list, checking count and sign."""
        if isinstance(value, tuple):
            return value
        try:
            numbers = tuple(self.kind(part) for part in str(value).split(","))
        except ValueError:
            self.fail(
                f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx
            )
        if self.length is not None and len(numbers) != self.length:
            self.fail(f"{value!r} needs exactly {self.length} values", param, ctx)
        if self.positive and any(n <= 0 for n in numbers):
            self.fail(f"{value!r} must hold positive values", param, ctx)
        if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
            self.fail(f"{value!r} must hold finite values", param, ctx)
        return numbers


def select_cells(class_names: Sequence[str], only: str | None) -> list[int]:
    """Class indices named by ``only`` (comma-separated names or indices); all when ``None``."""
    if only is None:
        return list(range(len(class_names)))
    index_of = {name: i for i, name in enumerate(class_names)}
    cells: list[int] = []
    for part in (p.strip() for p in only.split(",")):
        if len(part) > MAX_CLASS_NAME:  # no class has such a name (fitness.class_names)
            raise click.BadParameter(
                f"{part[:40]!r}... has {len(part):,} characters; class names have at most "
                f"{MAX_CLASS_NAME}",
                param_hint="'--only-classes'",
            )
        if part in index_of:
            cell = index_of[part]
        elif part.isdigit() and int(part) < len(class_names):
            cell = int(part)
        else:
            raise click.BadParameter(
                f"{part!r} is neither a class name nor a class index", param_hint="'--only-classes'"
            )
        if cell in cells:
            raise click.BadParameter(
                f"class {part!r} is named twice", param_hint="'--only-classes'"
            )
        cells.append(cell)
    return cells


def distinct_run_dirs(paths: Sequence[str]) -> list[Path]:
    """RUN_DIR arguments as paths, each run once: ``base base`` or ``base ./base/`` (one folder
    under two spellings) would count its elites twice; a usage error names the repeat."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise click.UsageError(f"RUN_DIR {path} is given twice (also as {seen[key]})")
        seen[key] = path
    return [Path(p) for p in paths]


def distinct_values(values: Sequence[str], option: str) -> list[str]:
    """A repeatable option's values, each once (a model file named two ways counts once too):
    a usage error names the repeat."""
    seen: dict[str, str] = {}
    for value in values:
        key = str(Path(value).resolve()) if Path(value).is_file() else value.strip()
        if key in seen:
            raise click.UsageError(f"{option} {value} is given twice (also as {seen[key]})")
        seen[key] = value
    return list(values)


#: Options describing a user's model, shared by ``evolve`` and ``retrain``.
MODEL_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--input-shape",
        type=NumberList(int, 3, positive=True),
        help="C,H,W of your model's input.",
    ),
    click.option(
        "--class-names",
        "class_names_file",
        type=click.Path(dir_okay=False),
        help="File with one class name per line (default: 0..K-1; retrain: the --train-dir "
        "sub-folders, sorted).",
    ),
    click.option(
        "--input-scale",
        type=FiniteFloat(),
        default=1.0,
        show_default=True,
        help="Model input = (image * scale - mean) / std, image in [0, 1].",
    ),
    click.option("--mean", type=NumberList(float), help="Per-channel mean (comma list)."),
    click.option(
        "--std", type=NumberList(float, positive=True), help="Per-channel std (comma list)."
    ),
    click.option(
        "--device",
        default="auto",
        show_default=True,
        help="auto (CUDA if available), cpu, cuda, cuda:N. On a GPU the population stays on it "
        "(direct genes and CPPN renders).",
    ),
    click.option(
        "--max-batch",
        type=click.IntRange(min=1),
        default=1024,
        show_default=True,
        help="Largest number of model inputs (images x crops) in one forward pass.",
    ),
]


#: ``--random-weights``: a factory model used untrained on purpose (stored in config.json).
RANDOM_WEIGHTS_OPTION = click.option(
    "--random-weights",
    is_flag=True,
    help="Use a package.module:factory model untrained, on purpose (without it, a factory "
    "without --weights is used with a warning). Its initialisation is seeded.",
)


def apply_options(func: Any, options: Sequence[Callable[[Any], Any]]) -> Any:
    """Decorate ``func`` with click options, listed in the order --help shows them."""
    for option in reversed(options):
        func = option(func)
    return func


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
            help=(
                "Run the model in channels-last memory layout (faster convolutions on GPUs "
                "and, for LeNet, on the CPU)."
            ),
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


#: Settings of the direct encoding that ``fooling evolve`` takes from its options.
DIRECT_OPTIONS = ("mutation_rate", "mutation_eta", "crossover_rate", "crossover_eta", "halve_every")
#: Every encoding option :func:`encoding_config` reads (direct and CPPN).
ENCODING_OPTIONS = (*DIRECT_OPTIONS, "color", "cppn_config", "coordinates", "renderer")


def encoding_config(
    name: str,
    shape: tuple[int, int, int],
    target_device: str = "auto",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The encoding's settings for the target's image shape and device.

    ``options`` holds the command line's encoding options (``fooling evolve``); those absent keep
    the encoding's defaults (``fooling retrain``). Direct genomes live on the target's GPU.
    """
    channels, height, width = shape
    options = options or {}
    config: dict[str, Any] = {"name": name, "channels": channels, "height": height, "width": width}
    if options.get("color") is not None:
        config["color"] = options["color"]
    if name == "direct":
        config.update({key: options[key] for key in DIRECT_OPTIONS if key in options})
        config["device"] = genome_device(target_device)
        return config
    cppn_config = options.get("cppn_config")
    if cppn_config is not None:
        if not Path(cppn_config).is_file():
            raise click.BadParameter(f"file not found: {cppn_config}", param_hint="'--cppn-config'")
        config["config_path"] = str(Path(cppn_config).resolve())
    config.update({key: options[key] for key in ("coordinates", "renderer") if key in options})
    return config


#: Options that spread scoring over a Ray cluster (``fooling evolve`` and ``fooling retrain``);
#: a resumed run may change them all: results do not depend on them (docs/tutorials/ray.md).
RAY_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Score on N Ray workers: starts a local Ray cluster for them, or uses --ray-address "
        "(default there: as many as its CPUs / --worker-threads allow). Needs "
        "pip install 'fooling[ray]'.",
    ),
    click.option(
        "--ray-address",
        envvar="RAY_ADDRESS",
        help="Join this Ray cluster (made by `ray start --head`) instead of starting one "
        "[env: RAY_ADDRESS].",
    ),
    click.option(
        "--worker-threads",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="CPU threads of each Ray worker (torch and Numba).",
    ),
    click.option(
        "--worker-gpus",
        type=FiniteFloat(min=0),
        help="GPUs per Ray worker, fractions allowed (default: 1 when the cluster has GPUs, "
        "else 0).",
    ),
    click.option(
        "--worker-timeout",
        type=FiniteFloat(min=0, min_open=True),
        default=600.0,
        show_default=True,
        help="Seconds a chunk may take on a worker before the worker is restarted and the "
        "chunk sent to another (a worker's start may take at least 120 s).",
    ),
    click.option(
        "--oversubscribe",
        is_flag=True,
        help="Start a local Ray cluster (--workers x --worker-threads), or use --threads, beyond "
        "this machine's CPUs (refused without it).",
    ),
]


#: What makes each generation's children (evolve.emitters), for evolve and retrain alike.
EMITTER_OPTIONS = [
    click.option(
        "--emitter",
        default="paper",
        show_default=True,
        help="What makes the children: paper (the 2015 operators, the default), cma (a "
        "CMA-ES per class, far fewer evaluations) or grad (white-box gradient ascent per class, "
        "direct encoding), as NAME[:SHARE][,NAME[:SHARE]] to split each batch, e.g. "
        "cma:3,paper:1. See docs/emitters.md.",
    ),
    click.option(
        "--emitter-setting",
        "emitter_setting",
        multiple=True,
        metavar="NAME.KEY=VALUE",
        help="An emitter's setting, repeatable: cma.lam, cma.sigma, cma.grid (direct), "
        "cma.weights (CPPN), cma.covariance (sep or full); grad.lr, grad.steps, grad.grid "
        "(direct: full or N), grad.objective (log_odds or log_p).",
    ),
]


def emitter_options(func: Any) -> Any:
    """Decorate a command with :data:`EMITTER_OPTIONS`."""
    return apply_options(func, EMITTER_OPTIONS)


def emitters_from(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """Pop ``--emitter`` and ``--emitter-setting``: the run's emitter settings (config.json's
    ``emitters``); a bad spec raises :class:`evolve.emitters.EmitterError` (one line, exit 2)."""
    from evolve.emitters import emitter_settings

    return emitter_settings(kwargs.pop("emitter"), kwargs.pop("emitter_setting"))


def ray_options(func: Any) -> Any:
    """Decorate a command with :data:`RAY_OPTIONS`."""
    return apply_options(func, RAY_OPTIONS)


#: ``--device`` and ``--max-batch`` of the commands that re-score saved images (transfer, detect,
#: robustness).
RESCORE_OPTIONS = [
    click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N."),
    click.option(
        "--max-batch",
        type=click.IntRange(min=1),
        default=1024,
        show_default=True,
        help="Largest number of model inputs in one forward pass.",
    ),
]


def rescore_options(func: Any) -> Any:
    """Decorate a command with :data:`RESCORE_OPTIONS`."""
    return apply_options(func, RESCORE_OPTIONS)


def cluster_settings_from(kwargs: dict[str, Any]) -> Any:
    """Pop the Ray options: :class:`evolve.distributed.cluster.ClusterSettings`, or None to
    score in this process (neither --workers nor --ray-address given). A local cluster larger
    than this machine is refused here, before anything starts, unless --oversubscribe (which
    stays in ``kwargs`` for :func:`check_threads`)."""
    from evolve.distributed.cluster import ClusterSettings

    workers, address = kwargs.pop("workers"), kwargs.pop("ray_address")
    threads, gpus = kwargs.pop("worker_threads"), kwargs.pop("worker_gpus")
    timeout_s = kwargs.pop("worker_timeout")
    if workers is None and not address:
        return None
    if not address:
        asked = f"--workers {workers} x --worker-threads {threads}"
        check_cpus(workers * threads, asked, kwargs["oversubscribe"])
    return ClusterSettings(workers, address or None, threads, gpus, timeout_s)


def check_threads(threads: int | None, oversubscribe: bool) -> None:
    """Refuse ``--threads`` beyond this machine's CPUs unless ``--oversubscribe``."""
    if threads is not None:
        check_cpus(threads, f"--threads {threads}", oversubscribe)


#: ``--tensorboard DIR`` of the commands that run evolutions (evolve, retrain).
TENSORBOARD_OPTION = click.option(
    "--tensorboard",
    "tensorboard",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also write the run's progress (best confidence per class, coverage, evaluations/s, "
    "the elites' images) as a TensorBoard log in DIR, to watch with tensorboard --logdir DIR; "
    "--resume continues it. Needs the tensorboard extra: pip install 'fooling[tensorboard]'.",
)


def tensorboard_option(func: Any) -> Any:
    """Decorate a command with :data:`TENSORBOARD_OPTION`."""
    return TENSORBOARD_OPTION(func)


def tensorboard_logs(
    log_dir: str | None, *, new: bool, overwrite: bool, recursive: bool = False
) -> Callable[[Path], list[Any]]:
    """``--tensorboard DIR`` as a function of a run's path (relative to the command's output)
    to the observers its run gets: none without DIR; else a log in DIR (below it, at the run's
    relative path, for a study's runs). Checked now, before anything is written: the
    tensorboard package, and for a ``new`` run or study a DIR without an earlier log unless
    ``overwrite``."""
    if log_dir is None:
        return lambda relative: []
    from evolve.tensorboard import TensorBoardLog, check_log_dir, summary_writer_class

    summary_writer_class()
    if new:
        check_log_dir(Path(log_dir), overwrite, recursive)
    return lambda relative: [TensorBoardLog(Path(log_dir) / relative)]
