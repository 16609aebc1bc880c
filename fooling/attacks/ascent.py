"""Gradient ascent on each class's log-probability, all classes in one batch; from test images
with an epsilon it is targeted PGD (one step: FGSM).

The run is a :class:`evolve.runner.Evolution` whose method (:class:`GradientAscent`, see
:mod:`evolve.method`) takes gradient steps instead of generations, so it writes the same run
directory (config.json, metrics.jsonl per step, summary.json, archive.npz with direct-encoding
genes) with the same observers, stop conditions, checkpoints and signal handling. Image ``i`` is
optimised for cell ``i`` and competes only for it; the model always scores the 8-bit image that
is saved (straight-through quantisation), so the archive's confidences are those of the PNG
files.

Each step: one forward pass over the batch (scores every image), then, unless the run stops
there, one backward pass; the objective is ``log p(class | x) - l2 * ||model input||^2``. The
image moves by ``lr`` along the steepest-ascent direction of ``norm`` (sign of the gradient for
L-inf, the normalised gradient for L2), is clipped to [0, 1], blurred every ``blur_every`` steps
when ``blur`` > 0, and projected onto the ``epsilon`` ball around its start when one is given.

A run resumes exactly (``fooling ascent --resume``): the checkpoint holds the continuous images
beside the archive and counters, and the start images are drawn again from the seed (and checked
against starts.npz). There is no optimiser state to keep (plain steepest-ascent steps, no
momentum) and no randomness after the start. A run that stopped after scoring, before its
gradient step, takes that step first when it is continued, so that it follows the path of a run
that never stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archives import ArchiveError
from archives.atomic import atomic_save_npz, atomic_write_json
from archives.elite_archive import read_npz
from evolve.config import RunConfig, foreign_file
from evolve.encodings.base import Encoding
from evolve.encodings.direct import DirectEncoding
from evolve.errors import RunError
from evolve.observers import Observer
from evolve.run_dir import ASCENT_FILE, STARTS_FILE
from evolve.runner import Evolution
from fitness.devices import genome_device
from fitness.scores import Scores, log_odds_from_log_probabilities
from fitness.target import Target, TargetError
from fitness.transforms import TRANSFORMS
from fooling.attacks.steps import (
    ascent_direction,
    eight_bit_codes,
    gaussian_blur,
    project,
    straight_through,
)
from fooling.launch import launch, relaunch
from fooling.run_spec import RunSpec

STARTS = ("noise", "zeros", "test-images")
#: Image-sized arrays in a checkpoint (``evolve.checkpoint``'s state arrays).
IMAGES_STATE = "ascent_images"
PASSES = ("forward_calls", "backward_calls", "backward_evaluations")
#: The largest --blur sigma (pixels), the same bound as robustness's blur transform: the kernel
#: grows with sigma (3 sigma each side), and 1e6 took minutes a step.
MAX_BLUR = TRANSFORMS["blur"].high


@dataclass(frozen=True)
class AscentSettings:
    """What ``fooling ascent`` was asked to do (stored in ascent.json)."""

    start: str = "noise"
    lr: float = 0.01
    norm: str = "linf"
    l2: float = 0.0
    blur: float = 0.0
    blur_every: int = 4
    epsilon: float | None = None
    test_dir: str | None = None

    def problem(self, image_shape: tuple[int, ...] | None = None) -> str | None:
        """What is wrong with the settings (one line), or None. With the images' ``image_shape``
        an L2 step or epsilon is also held to the image cube's diameter."""
        if self.start not in STARTS:
            return f"--start must be one of {', '.join(STARTS)}"
        if self.norm not in ("linf", "l2"):
            return "--norm must be linf or l2"
        if self.epsilon is not None and self.epsilon < 0:
            return f"--epsilon must be >= 0, got {self.epsilon}"
        if self.epsilon is not None and self.start != "test-images":
            return "--epsilon needs --start test-images (PGD starts from real images)"
        if self.test_dir is not None and self.start != "test-images":
            return "--test-dir needs --start test-images"
        if not self.lr > 0 or self.l2 < 0 or self.blur < 0 or self.blur_every < 1:
            return "--lr must be > 0, --l2 and --blur >= 0, --blur-every >= 1"
        if self.blur > MAX_BLUR:
            return f"--blur must be at most {MAX_BLUR:g} pixels, got {self.blur:g}"
        # Pixel units: under L-inf no step or ball beyond 1 means anything (pixels lie in
        # [0, 1]); under L2 none beyond the diameter of the image cube, sqrt(C * H * W).
        largest, unit = 1.0, "1 (pixels lie in [0, 1])"
        if self.norm == "l2":
            largest, unit = math.inf, ""
            if image_shape is not None:
                largest = math.sqrt(math.prod(image_shape))
                unit = f"{largest:.4g} (the L2 diameter of these images)"
        for option, value in (("--lr", self.lr), ("--epsilon", self.epsilon)):
            if value is not None and value > largest:
                return f"{option} must be at most {unit} under --norm {self.norm}, got {value:g}"
        return None


def read_settings(
    path: Path, run_id: str | None = None, image_shape: tuple[int, ...] | None = None
) -> AscentSettings:
    """The settings an ascent.json holds, for the run ``run_id`` (config.json's; None: a run
    made before run ids); :class:`RunError` naming the file and the problem."""
    if not path.is_file():
        raise RunError(f"{path.parent} has no {path.name}: not a fooling ascent run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        settings = AscentSettings(**data["settings"])
        numbers = (settings.lr, settings.l2, settings.blur, settings.epsilon or 0.0)
        if not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers):
            raise ValueError("lr, l2, blur and epsilon must be finite numbers")
        problem = settings.problem(image_shape)
        foreign = foreign_file(data.get("run_id"), run_id)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
    if foreign is not None:
        raise RunError(f"{path} is not this run's: {foreign}")
    if problem is not None:
        raise RunError(f"{path}: {problem}")
    return settings


@dataclass(frozen=True)
class StartImages:
    """The images each class starts from: float32 ``[n, C, H, W]`` in [0, 1] and, for test
    images, their 8-bit codes, true labels (target class index; -1: none) and indices."""

    images: np.ndarray
    labels: np.ndarray | None = None
    indices: np.ndarray | None = None
    source: str = ""


def test_images(target: Target, test_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Labelled real images for PGD: uint8 ``[N, C, H, W]``, labels indexing the target's
    classes (-1 where a folder is no class of it), and where they came from."""
    if test_dir is not None:
        from fitness.image_folder import load_image_folder

        folder = load_image_folder(test_dir, target.image_shape)
        index_of = {name: i for i, name in enumerate(target.class_names)}
        names = np.array([index_of.get(name, -1) for name in folder.class_names], dtype=np.int64)
        return folder.images, names[folder.labels], folder.source
    if target.class_names[:10] != [str(d) for d in range(10)] or target.image_shape != (1, 28, 28):
        raise TargetError("--start test-images needs --test-dir DIR for targets other than MNIST")
    from fitness.builtin import load_digits

    digits = load_digits(None)
    return digits.test_images[:, None], digits.test_labels, f"{digits.source} test split"


def start_images(
    settings: AscentSettings, target: Target, classes: list[int], rng: np.random.Generator
) -> StartImages:
    """One start image per class: uniform noise, black, or a real image of another class
    (for class c, one of the next class's, drawn with the run's generator)."""
    shape = (len(classes), *target.image_shape)
    if settings.start == "noise":
        return StartImages(rng.random(shape, dtype=np.float32))
    if settings.start == "zeros":
        return StartImages(np.zeros(shape, dtype=np.float32))
    pixels, labels, source = test_images(target, settings.test_dir)
    chosen = []
    for position, cls in enumerate(classes):
        wanted = classes[(position + 1) % len(classes)] if len(classes) > 1 else -2
        pool = np.flatnonzero(labels == wanted)
        if pool.size == 0:
            pool = np.flatnonzero(labels != cls)
        if pool.size == 0:
            raise TargetError(f"no test image of a class other than {target.class_names[cls]}")
        chosen.append(int(pool[rng.integers(pool.size)]))
    indices = np.array(chosen, dtype=np.int64)
    images = pixels[indices].astype(np.float32) / np.float32(255.0)
    return StartImages(images, labels[indices], indices, source)


def start_ascent(
    spec: RunSpec,
    target: Target,
    settings: AscentSettings,
    *,
    observers: Sequence[Observer] = (),
) -> Evolution:
    """A new ascent run of ``spec`` (its cells, seed, stop, threshold and output; one image per
    cell in each step) against the loaded ``target``: pick the start images, then create the
    run directory (config.json, ascent.json, starts.npz) through :func:`fooling.launch.launch`.
    Images are stored as direct-encoding genes."""
    encoding = DirectEncoding(*target.image_shape, device=genome_device(str(target.device)))
    cells = spec.target.cells_of(target.class_names)
    starts = start_images(settings, target, cells, np.random.default_rng(spec.emitters.seed))
    run = launch(
        spec,
        observers=observers,
        target=target,
        encoding=encoding,
        method=GradientAscent(settings, starts, cells, target),
    )
    atomic_write_json(
        run.run_dir / ASCENT_FILE, {"settings": asdict(settings), "run_id": run.config.run_id}
    )
    arrays = {"images": np.rint(starts.images * 255.0).astype(np.uint8)}
    if starts.labels is not None and starts.indices is not None:
        arrays.update({"labels": starts.labels, "indices": starts.indices})
    atomic_save_npz(run.run_dir / STARTS_FILE, arrays)
    return run


def resume_ascent(
    run_dir: Path,
    config: RunConfig,
    target: Target,
    encoding: Encoding,
    *,
    progress: bool = True,
    observers: Sequence[Observer] = (),
) -> Evolution:
    """Continue an ascent run: read ascent.json, draw the start images again from the seed
    (they must be those in starts.npz), then restore the archive, counters and images from the
    checkpoint (:meth:`evolve.runner.Evolution.resume`). Nothing is written before all is
    read."""
    run_dir = Path(run_dir)
    settings = read_settings(run_dir / ASCENT_FILE, config.run_id, tuple(target.image_shape))
    starts = start_images(
        settings, target, list(config.cell_classes), np.random.default_rng(config.seed)
    )
    path = run_dir / STARTS_FILE
    try:
        saved = read_npz(path)
    except ArchiveError as exc:
        raise RunError(str(exc)) from None
    eight_bit = np.rint(starts.images * 255.0).astype(np.uint8)
    if not np.array_equal(saved.get("images"), eight_bit):
        raise RunError(
            f"{path}: the run's start images differ from those its seed and test images "
            "give now (were --test-dir's files changed?)"
        )
    return relaunch(
        run_dir,
        config,
        target,
        encoding,
        progress=progress,
        method=GradientAscent(settings, starts, list(config.cell_classes), target),
        observers=observers,
    )


class GradientAscent:
    """Gradient ascent as a run's method (:class:`evolve.method.Method`; see the module
    docstring): every step scores the current images and inserts each for its own class; the
    gradient move follows when the run goes on (:meth:`advance`)."""

    def __init__(
        self,
        settings: AscentSettings,
        starts: StartImages,
        cell_classes: list[int],
        target: Target,
    ) -> None:
        self.settings, self.starts, self.target = settings, starts, target
        self.cells = np.arange(len(cell_classes))  # image i competes for cell i only
        self.classes = torch.as_tensor(cell_classes, device=target.device)
        self.origin = torch.as_tensor(starts.images, device=target.device)
        self.images = self.origin.clone()  # every image at its start, no pass made yet
        self.passes = dict.fromkeys(PASSES, 0)
        self.moved_at = -1  # the step after whose scoring the images last moved
        # The gradient of the step just scored, until it is taken (None: none kept, e.g. in a
        # resumed run whose last process stopped after scoring).
        self._gradient_of: Callable[[], torch.Tensor] | None = None

    # ------------------------------------------------------------------------------ checkpoints
    def state(self, run: Evolution) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The pass counts, whether the images took the last step's move, and the images."""
        moved = self.moved_at == run.state.generation
        return (
            {"ascent": {**self.passes, "moved": moved}},
            {IMAGES_STATE: self.images.detach().cpu().numpy()},
        )

    def load_state(
        self, run: Evolution, values: dict[str, Any], arrays: dict[str, np.ndarray], path: Path
    ) -> None:
        """Take back the images and pass counts (:meth:`state`), checked."""
        saved, images = values.get("ascent"), arrays.get(IMAGES_STATE)
        if not isinstance(saved, dict) or images is None:
            raise RunError(
                f"checkpoint {path} holds no ascent state (written before ascent runs could "
                "resume): start the run again with --overwrite"
            )
        counts = [saved.get(name) for name in PASSES]
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise RunError(f"checkpoint {path}: ascent pass counts must be integers >= 0")
        if not isinstance(saved.get("moved"), bool):
            raise RunError(f"checkpoint {path}: ascent.moved must be true or false")
        shape = tuple(self.images.shape)
        if images.shape != shape or images.dtype != np.float32:
            raise RunError(f"checkpoint {path}: ascent images must be float32 of shape {shape}")
        if not (np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0):
            raise RunError(f"checkpoint {path}: ascent images must lie in [0, 1]")
        self.images = torch.as_tensor(images, device=self.target.device)
        self.passes = dict(zip(PASSES, counts, strict=True))
        self.moved_at = run.state.generation if saved["moved"] else -1
        self._gradient_of = None

    def advance(self, run: Evolution) -> None:
        """Take the gradient step of the images last scored, if they have not moved since.

        In a process that continues a run stopped after scoring, before its gradient step,
        there is no gradient kept: the images are scored again and the step taken before the
        next one, so that the continued run follows the path of an uninterrupted one. That
        forward and backward pass count like any other.
        """
        state = run.state
        if self.moved_at == state.generation:  # moved already (or nothing scored yet)
            return
        if self._gradient_of is not None:
            gradient_of, self._gradient_of = self._gradient_of, None
            self._move(gradient_of(), state.generation)
            return
        started = time.perf_counter()
        codes = eight_bit_codes(self.images, self._origin_if_bounded())
        _, gradient_of = self._score(codes, with_gradient=True)
        if gradient_of is not None:  # always, with with_gradient=True
            self._move(gradient_of(), state.generation)
        state.evaluations += len(self.cells)
        state.elapsed_s += time.perf_counter() - started

    # ------------------------------------------------------------------------------ one step
    def _origin_if_bounded(self) -> torch.Tensor | None:
        return self.origin if self.settings.epsilon is not None else None

    def step(self, run: Evolution) -> np.ndarray:
        """Score the current 8-bit images (one forward pass) and insert each for its own class;
        the gradient step (one backward pass) follows in :meth:`advance` unless the run stops
        here."""
        state = run.state
        state.generation += 1
        stop = run.config.stop
        last = stop.max_generations is not None and state.generation >= stop.max_generations
        codes = eight_bit_codes(self.images, self._origin_if_bounded())
        scores, self._gradient_of = self._score(codes, with_gradient=not last)
        genes = (codes.flatten(1) + 0.5) / 255.0  # the direct encoding's floor(gene * 255)
        genomes = genes if run.encoding.on_device else genes.cpu().numpy().astype(np.float32)
        improved = run.archive.insert_assigned(
            genomes,
            scores.probabilities,
            self.cells,
            state.generation,
            state.evaluations,
            log_odds=scores.log_odds,
        )
        state.evaluations += len(self.cells)
        return improved

    def _score(
        self, codes: torch.Tensor, with_gradient: bool
    ) -> tuple[Scores, Callable[[], torch.Tensor] | None]:
        """Scores of the 8-bit images (probabilities and log-odds), and a function giving the
        objective's gradient with respect to the continuous images.

        A batch that fits one forward pass keeps its graph until the caller asks for the
        gradient, so a run that stops at this step makes no backward pass. A larger batch goes
        in chunks of the target's batch size, each backward right after its forward (memory
        stays bounded; a run stopped by --until then makes one backward pass it does not use).
        """
        chunk = self.target.chunk_size
        single = len(codes) <= chunk
        parts, gradients, pending = [], [], []  # parts: detached log-probabilities
        for start in range(0, len(codes), chunk):
            piece = slice(start, start + chunk)
            x = self.images[piece].detach().requires_grad_(with_gradient)
            with torch.set_grad_enabled(with_gradient):
                log_p = self.target.differentiable_log_probabilities(
                    straight_through(x, codes[piece])
                )
                self.passes["forward_calls"] += 1
                parts.append(log_p.detach())
                if not with_gradient:
                    continue
                rows = torch.arange(len(x), device=log_p.device)
                objective = log_p[rows, self.classes[piece]].sum()
                if self.settings.l2 > 0:
                    prepared = self.target.spec.prepare(x)
                    objective = objective - self.settings.l2 * prepared.pow(2).sum()
            if single:
                pending.append((objective, x))
            else:
                gradients.append(self._backward(objective, x))
        log_p = torch.cat(parts)
        scores = Scores(
            log_p.exp().cpu().numpy(), log_odds_from_log_probabilities(log_p).cpu().numpy()
        )
        if not with_gradient:
            return scores, None
        if single:
            return scores, lambda: self._backward(*pending[0])
        return scores, lambda: torch.cat(gradients)

    def _backward(self, objective: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """One backward pass: the gradient of ``objective`` with respect to ``images``."""
        (gradient,) = torch.autograd.grad(objective, images)
        self.passes["backward_calls"] += 1
        self.passes["backward_evaluations"] += len(images)
        if not torch.isfinite(gradient).all():
            raise TargetError("the model's gradient holds NaN or infinite values")
        return gradient

    @torch.no_grad()
    def _move(self, gradient: torch.Tensor, step: int) -> None:
        """The gradient step, blur and projection described in the module docstring."""
        settings = self.settings
        images = self.images + settings.lr * ascent_direction(gradient, settings.norm)
        if settings.blur > 0 and (step + 1) % settings.blur_every == 0:
            images = gaussian_blur(images, settings.blur)
        images = images.clamp(0.0, 1.0)
        if settings.epsilon is not None:
            images = project(images, self.origin, settings.epsilon, settings.norm)
        self.images = images
        self.moved_at = step

    # ------------------------------------------------------------------------------ reporting
    def counters(self, run: Evolution) -> dict[str, int]:
        """The backward passes so far (images): in each metrics line, and in the record of
        when every class was first fooled."""
        return {"backward_evaluations": self.passes["backward_evaluations"]}

    def summary(self, run: Evolution) -> dict[str, Any]:
        """The method and the forward and backward passes."""
        return {
            "method": "pgd" if self.settings.epsilon is not None else "ascent",
            "steps": max(run.state.generation, 0),
            "forward_evaluations": run.state.evaluations,
            **self.passes,
        }
