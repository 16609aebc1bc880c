"""The gradient emitter (``--gradients``): white-box gradient ascent per class, on the driver.

This module holds the direct encoding's emitter and what both encodings' share; the CPPN
encoding's ascends its networks' weights (:mod:`evolve.emitters.gradient_cppn`).

For each class still below the run's threshold (in turn, as :class:`~evolve.emitters.cma.
CmaEmitter` serves them) the emitter keeps parameters ``theta``: a logit image, at full
resolution or as a coarse ``channels x g x g`` grid upsampled bilinearly (``grad.grid``), whose
sigmoid is the image, as :class:`~evolve.emitters.parameters.GridImage` makes it. Each
generation it takes ``steps`` Adam steps (Kingma & Ba 2015, its default betas and epsilon) on
``log p(class | image(theta))``, each one forward and one backward pass of the target over the
classes served (:meth:`fitness.target.Target.differentiable_log_probabilities`), and emits the
image the last step reached as the class's one child. The model always sees the 8-bit image the
direct encoding expresses (straight-through quantisation, :mod:`fooling.attacks.steps`), so the
image optimised is the image saved and scored, and the child's genes express exactly it.

It is plain per-class gradient ascent, not CMA-MEGA (Fontaine & Nikolaidis 2021, which samples
coefficients of the objective's and the measures' gradients): with one cell per class there are
no measures to follow, and the objective's own gradient is the direction that pays.

A class's parameters start, the first time it is served, from its elite's genes in logit space
(averaged over the grid's cells; full resolution: the elite itself), whichever emitter found it;
after that they follow their own path. Its own passes count as queries
(:meth:`GradientEmitter.counters`: images forward and backward); the children are then scored by
the run's evaluator like any others. Everything it learns (parameters, Adam moments, step
counts, the cursor) is in :meth:`GradientEmitter.state`, so a resumed run continues exactly.
No random number is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from archives import EliteArchive
from archives.export import as_numpy
from evolve.emitters.base import EmitterError
from evolve.emitters.parameters import _LOGIT_MARGIN
from fitness.scores import Scores
from fitness.target import TargetError

#: Defaults, documented with their sources in docs/emitters_gradient.md.
DEFAULT_LR = 0.5
DEFAULT_STEPS = 1
DEFAULT_GRID = "full"
#: What each class ascends: its log-probability, or its log-odds (whose gradient does not
#: vanish as p nears 1).
OBJECTIVES = ("log_odds", "log_p")
DEFAULT_OBJECTIVE = "log_odds"
#: Adam's defaults (Kingma & Ba 2015), as torch.optim.Adam.
BETAS = (0.9, 0.999)
EPSILON = 1e-8
#: The state's arrays, each ``[cells, ...]``.
ARRAYS = ("theta", "m", "v", "t", "started")


def check_gradient(target: Any, image_shape: tuple[int, ...], cls: int) -> None:
    """Raise :class:`EmitterError` unless the target's forward pass gives a finite gradient of
    ``log p(cls)`` with respect to the pixels: one grey image, forward and backward, not counted
    as a query of the run."""
    if target is None or not hasattr(target, "differentiable_log_probabilities"):
        raise EmitterError("the grad emitter needs the run's target (white-box)")
    before = target.queries
    try:
        image = torch.full((1, *image_shape), 0.5, device=target.device, requires_grad=True)
        with torch.enable_grad():
            log_p = target.differentiable_log_probabilities(image)
            if not log_p.requires_grad:
                raise EmitterError(
                    f"{target.name or 'the target'}: its forward pass gives no gradient "
                    "(its output does not require grad), so --gradients cannot work"
                )
            (gradient,) = torch.autograd.grad(log_p[0, cls], image, allow_unused=True)
    except TargetError as exc:
        raise EmitterError(f"--gradients: {exc}") from None
    except RuntimeError as exc:
        raise EmitterError(
            f"the target's backward pass fails: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        target.queries = before
    if gradient is None or not torch.isfinite(gradient).all():
        raise EmitterError(
            "the target's gradient with respect to the image is missing or not finite"
        )


def check_settings(lr: Any, steps: Any, objective: Any) -> None:
    """Raise :class:`EmitterError` for a learning rate, step count or objective that cannot
    work (the settings both encodings' grad emitters share)."""
    if isinstance(lr, bool) or not (isinstance(lr, int | float) and 0 < lr < np.inf):
        raise EmitterError(f"grad lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise EmitterError(f"grad steps must be an integer >= 1, got {steps!r}")
    if objective not in OBJECTIVES:
        raise EmitterError(f"grad objective must be one of {', '.join(OBJECTIVES)}")


def class_objective(log_p: torch.Tensor, classes: torch.Tensor, objective: str) -> torch.Tensor:
    """The sum over images of ``log p(class)`` (``objective`` "log_p"), or of the class's
    log-odds ``log p - log(1 - p)`` ("log_odds"; ``1 - p`` as the log-sum of the other classes'
    probabilities, exact near p = 1)."""
    rows = torch.arange(len(log_p), device=log_p.device)
    own = log_p[rows, classes]
    if objective == "log_p":
        return own.sum()
    others = log_p.index_put((rows, classes), torch.tensor(-torch.inf, dtype=log_p.dtype))
    return (own - torch.logsumexp(others, dim=1)).sum()


class PerClassAscent:
    """What both encodings' grad emitters share: classes below the threshold served in turn
    (a cursor), the objective, the pass counters and the cursor's state checks. Subclasses set
    ``cell_classes``, ``threshold``, ``objective``, ``cursor`` and ``passes``."""

    name = "grad"
    min_children = 1
    cell_classes: np.ndarray
    threshold: float
    objective: str
    cursor: int
    passes: dict[str, int]

    def _objective(self, log_p: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """:func:`class_objective` with this emitter's objective."""
        return class_objective(log_p, classes, self.objective)

    def _cells_in_turn(self, archive: EliteArchive, slots: int) -> np.ndarray:
        """Up to ``slots`` cells below the threshold (all cells once none is), in turn."""
        waiting = np.flatnonzero(archive.cell_fitness() < self.threshold)
        if waiting.size == 0:
            waiting = np.arange(archive.num_cells)
        first = np.searchsorted(waiting, self.cursor)
        chosen = np.roll(waiting, -first)[:slots]
        self.cursor = int(chosen[-1]) + 1
        return np.sort(chosen)

    def _checked_cursor(self, values: dict[str, Any]) -> int:
        """The cursor of a saved state; anything else in ``values`` raises."""
        num_cells = len(self.cell_classes)
        cursor = values.get("cursor")
        if set(values) != {"cursor"} or not isinstance(cursor, int) or not 0 <= cursor <= num_cells:
            raise EmitterError("grad: its cursor is missing or out of range")
        return cursor

    def counters(self) -> dict[str, int]:
        """Images this process passed forward and backward through the target itself."""
        return dict(self.passes)


class GradientEmitter(PerClassAscent):
    """Per-class Adam ascent on ``log p(class)`` over a logit image (see the module docstring)."""

    def __init__(
        self,
        encoding: Any,
        archive_classes: np.ndarray,
        threshold: float,
        target: Any,
        *,
        lr: float = DEFAULT_LR,
        steps: int = DEFAULT_STEPS,
        grid: int | str = DEFAULT_GRID,
        objective: str = DEFAULT_OBJECTIVE,
    ) -> None:
        if encoding.name != "direct":
            raise EmitterError(
                "this grad emitter works on the direct encoding; CPPNs have "
                "evolve.emitters.gradient_cppn.CppnGradientEmitter"
            )
        if getattr(encoding, "color", "gray") not in ("gray", "rgb"):
            raise EmitterError(
                f"the grad emitter needs genes read as pixels (color gray or rgb), got "
                f"--color {encoding.color}"
            )
        check_settings(lr, steps, objective)
        channels, height, width = encoding.image_shape
        if grid == "full":
            shape = (channels, height, width)
        elif (
            isinstance(grid, int) and not isinstance(grid, bool) and 1 <= grid <= min(height, width)
        ):
            shape = (channels, grid, grid)
        else:
            raise EmitterError(f"grad grid must be full or an integer in [1, {min(height, width)}]")
        self.cell_classes = np.asarray(archive_classes, dtype=np.int64)
        if target is not None and tuple(target.image_shape) != tuple(encoding.image_shape):
            raise EmitterError("the grad emitter's target scores images of another shape")
        check_gradient(
            target, encoding.image_shape, int(self.cell_classes[0]) if len(self.cell_classes) else 0
        )
        self.encoding, self.target = encoding, target
        self.threshold = float(threshold)
        self.lr, self.steps, self.grid, self.objective = float(lr), steps, grid, objective
        self.shape, self.size = shape, (height, width)
        self.device = target.device
        num_cells = len(self.cell_classes)
        self.theta = torch.zeros((num_cells, *shape), dtype=torch.float32, device=self.device)
        self.m = torch.zeros_like(self.theta)
        self.v = torch.zeros_like(self.theta)
        self.t = np.zeros(num_cells, dtype=np.int64)  # Adam steps taken per cell
        self.started = np.zeros(num_cells, dtype=bool)
        self.cursor = 0
        self.passes = {"forward": 0, "backward": 0}  # this process's, in images

    def config(self) -> dict[str, Any]:
        """Settings for config.json."""
        return {
            "name": self.name,
            "lr": self.lr,
            "steps": self.steps,
            "grid": self.grid,
            "objective": self.objective,
        }

    # ------------------------------------------------------------------------- ask / tell
    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, count: int
    ) -> Any:
        """One child for each of up to ``count`` classes below the threshold: the image its
        parameters reach after ``steps`` Adam steps."""
        del rng, generation
        cells = self._cells_in_turn(archive, max(count, 1))
        self._start(archive, cells[~self.started[cells]])
        cells = cells[self.started[cells]]
        if not cells.size:
            return None
        for _ in range(self.steps):
            self._adam_step(cells, self._gradient(cells))
        with torch.no_grad():
            codes = self._codes(self.theta[cells])
        genes = ((codes.flatten(1) + 0.5) / 255.0).cpu().numpy()  # floor(gene * 255) = code
        return self.encoding.from_arrays({"genes": genes})

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """Nothing to learn from the scores: the gradient was the signal."""

    def _images(self, theta: torch.Tensor) -> torch.Tensor:
        """Continuous images in (0, 1) of parameters ``[k, C, g, g]``."""
        if tuple(theta.shape[-2:]) != self.size:
            theta = torch.nn.functional.interpolate(
                theta, size=self.size, mode="bilinear", align_corners=False
            )
        return torch.sigmoid(theta)

    def _codes(self, theta: torch.Tensor) -> torch.Tensor:
        """The 8-bit codes (0..255, floats) of the images of ``theta``."""
        return torch.round(self._images(theta) * 255.0)

    def _gradient(self, cells: np.ndarray) -> torch.Tensor:
        """d log p(class | 8-bit image) / d theta for ``cells``, chunk by chunk (one forward
        and one backward pass each)."""
        target, chunk = self.target, self.target.chunk_size
        classes = torch.as_tensor(self.cell_classes[cells], device=self.device)
        parts = []
        for start in range(0, len(cells), chunk):
            piece = slice(start, start + chunk)
            theta = self.theta[cells[piece]].detach().requires_grad_(True)
            with torch.enable_grad():
                images = self._images(theta)
                codes = torch.round(images.detach() * 255.0)
                # Straight-through (fooling.attacks.steps): the 8-bit image forward, the
                # gradient back to the continuous one.
                eight_bit = images + (codes / 255.0 - images).detach()
                log_p = target.differentiable_log_probabilities(eight_bit)
                (gradient,) = torch.autograd.grad(self._objective(log_p, classes[piece]), theta)
            self.passes["forward"] += len(theta)
            self.passes["backward"] += len(theta)
            if not torch.isfinite(gradient).all():
                raise TargetError("the model's gradient holds NaN or infinite values")
            parts.append(gradient)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    @torch.no_grad()
    def _adam_step(self, cells: np.ndarray, gradient: torch.Tensor) -> None:
        """One Adam ascent step of ``cells``' parameters (each cell its own step count)."""
        beta1, beta2 = BETAS
        index = torch.as_tensor(cells, device=self.device)
        self.t[cells] += 1
        steps = torch.as_tensor(self.t[cells], dtype=torch.float64, device=self.device)
        shape = (-1,) + (1,) * (gradient.ndim - 1)
        correction1 = (1.0 - beta1**steps).to(torch.float32).view(shape)
        correction2 = (1.0 - beta2**steps).to(torch.float32).view(shape)
        m = self.m[index] * beta1 + gradient * (1.0 - beta1)
        v = self.v[index] * beta2 + gradient * gradient * (1.0 - beta2)
        step = self.lr * (m / correction1) / ((v / correction2).sqrt() + EPSILON)
        self.m[index], self.v[index] = m, v
        self.theta[index] = self.theta[index] + step

    def _start(self, archive: EliteArchive, cells: np.ndarray) -> None:
        """Parameters of ``cells`` from their elites' genes in logit space (pooled to the grid);
        cells without an elite stay unstarted."""
        cells = cells[archive.occupied[cells]]
        if not cells.size:
            return
        genes = np.asarray(as_numpy(archive.genomes[cells]), dtype=np.float64)
        genes = np.clip(genes, _LOGIT_MARGIN, 1 - _LOGIT_MARGIN)
        logits = torch.as_tensor(np.log(genes / (1 - genes)), dtype=torch.float32)
        logits = logits.reshape(len(cells), self.shape[0], *self.size)
        if tuple(self.shape[1:]) != self.size:
            logits = torch.nn.functional.adaptive_avg_pool2d(logits, self.shape[1:])
        index = torch.as_tensor(cells, device=self.device)
        self.theta[index] = logits.to(self.device)
        self.m[index], self.v[index] = 0.0, 0.0
        self.t[cells] = 0
        self.started[cells] = True

    # ------------------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Parameters, Adam moments and step counts, which cells have started, the cursor."""
        arrays = {
            "theta": self.theta.cpu().numpy().copy(),
            "m": self.m.cpu().numpy().copy(),
            "v": self.v.cpu().numpy().copy(),
            "t": self.t.copy(),
            "started": self.started.copy(),
        }
        return {"cursor": self.cursor}, arrays

    def load_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state`; a damaged or foreign state raises :class:`EmitterError`."""
        num_cells = len(self.cell_classes)
        cursor = self._checked_cursor(values)
        if set(arrays) != set(ARRAYS):
            raise EmitterError(f"grad: expected the arrays {', '.join(ARRAYS)}")
        shape = (num_cells, *self.shape)
        for name in ("theta", "m", "v"):
            array = arrays[name]
            if array.dtype != np.float32 or array.shape != shape or not np.isfinite(array).all():
                raise EmitterError(f"grad: {name} must be finite float32 of shape {shape}")
        if (arrays["v"] < 0).any():
            raise EmitterError("grad: v must be >= 0")
        t, started = arrays["t"], arrays["started"]
        if t.dtype != np.int64 or t.shape != (num_cells,) or (t < 0).any():
            raise EmitterError(f"grad: t must be {num_cells} step counts >= 0")
        if started.dtype != np.bool_ or started.shape != (num_cells,):
            raise EmitterError(f"grad: expected a started flag for each of {num_cells} cells")
        self.theta, self.m, self.v = (
            torch.as_tensor(arrays[name].copy(), device=self.device) for name in ("theta", "m", "v")
        )
        self.t, self.started, self.cursor = t.copy(), started.copy(), cursor
