"""The grad emitter (``--gradients``) on CPPNs: per-class Adam ascent of a network's weights
through the differentiable renderer (:mod:`cppn.render_torch`).

Each class served (those below the threshold, in turn, as the direct encoding's
:class:`~evolve.emitters.gradient.GradientEmitter` serves them) has a *base* network: its elite
when the class is first served, as :class:`~evolve.emitters.parameters.CppnWeights` makes it for
the CMA emitter. The parameters are the base's link weights (and its node biases and responses
where the profile lets them vary: a range ``min < max``; the shipped profile fixes both). Each
generation takes ``steps`` Adam steps on the class's log-odds (or ``log p``) of the image
:meth:`cppn.render_torch.TorchCppnRenderer.render` makes of them: forward, the encoding's own
8-bit image, bit for bit; backward, the torch renderer's gradient with each rounding passed
straight through. After each step the parameters are clipped to the profile's range. The child
is the base with the new parameters (the structure never changes), so its genes express exactly
the image the next step ascends from; the base keeps the new parameters, so the base *is* the
class's last child.

A class restarts (a new base, Adam's moments and step count reset) when its elite is no longer
the network the emitter started from or one of its own children: another emitter (``paper``'s
mutations, which also change structure, or ``cma``) found a better image for it. The emitter
tells its own children from others' by the elite's evaluation number
(:attr:`archives.EliteArchive.evaluation`): it notes the number of the elite it starts from and
of each of its children that becomes the elite (after insertion, in :meth:`tell`); any other
number restarts the class the next time it is served. Its own children that do not beat the
elite change nothing: the class follows its own path, as the direct emitter's do.

Its forward and backward passes are counted as the direct emitter's are. Its state (the bases as
the encoding stores genomes, Adam's moments as flat arrays aligned with the bases' link and node
arrays, step counts, the evaluation numbers noted, which classes have started, the cursor) is in
:meth:`CppnGradientEmitter.state`, so a resumed run continues exactly. No random number is drawn.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import torch

from archives import ArchiveError, EliteArchive
from evolve.emitters.base import EmitterError
from evolve.emitters.gradient import (
    BETAS,
    DEFAULT_OBJECTIVE,
    DEFAULT_STEPS,
    EPSILON,
    PerClassAscent,
    check_gradient,
    check_settings,
)
from fitness.scores import Scores
from fitness.target import TargetError

#: Adam's step size on CPPN parameters, in weight units (see docs/emitters_gradient.md).
DEFAULT_LR = 1.0
#: Each kind of parameter: the population's column, and the offsets column it is split by.
GROUPS = {
    "weight": ("link_weight", "link_start"),
    "bias": ("node_bias", "node_start"),
    "response": ("node_response", "node_start"),
}
#: The state's arrays besides the bases (``base.*``) and each group's ``m`` and ``v``.
ROW_ARRAYS = ("t", "started", "seen")


def trainable_groups(genome_config: Any) -> dict[str, tuple[float, float]]:
    """The parameter groups a profile lets vary, with their ranges: the weights always, biases
    and responses where their range is not one value."""
    groups = {}
    for group in GROUPS:
        low = float(getattr(genome_config, f"{group}_min_value"))
        high = float(getattr(genome_config, f"{group}_max_value"))
        if group == "weight" or low < high:
            groups[group] = (low, high)
    return groups


def _positions(starts: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Indices into a flat column of the entries of ``cells`` (CSR ``starts``), cell by cell:
    the order of the same column in the gathered population ``population[cells]``."""
    counts = starts[cells + 1] - starts[cells]
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts[cells] - offsets, counts)


def _relayout(
    values: np.ndarray, old: np.ndarray, new: np.ndarray, reset: np.ndarray
) -> np.ndarray:
    """A flat column laid out by CSR offsets ``old`` moved to offsets ``new``: cells in
    ``reset`` zero, every other cell's entries copied (their counts are the same in both)."""
    counts = np.diff(new)
    cell = np.repeat(np.arange(len(counts)), counts)
    place = np.arange(int(new[-1]), dtype=np.int64) - new[cell]
    out = np.zeros(int(new[-1]), dtype=np.float64)
    keep = ~reset[cell]
    out[keep] = values[old[cell[keep]] + place[keep]]
    return out


def _same_genome(a: Any, b: Any) -> bool:
    """Whether two one-genome populations hold the same network, gene for gene."""
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))


class CppnGradientEmitter(PerClassAscent):
    """Per-class Adam ascent on a class's log-odds over its base network's weights (see the
    module docstring)."""

    def __init__(
        self,
        encoding: Any,
        archive_classes: np.ndarray,
        threshold: float,
        target: Any,
        *,
        lr: float = DEFAULT_LR,
        steps: int = DEFAULT_STEPS,
        objective: str = DEFAULT_OBJECTIVE,
        grid: Any = None,
    ) -> None:
        if encoding.name != "cppn":
            raise EmitterError(f"this grad emitter ascends CPPN weights, got {encoding.name}")
        if grid is not None:
            raise EmitterError(
                "grad grid is a direct-encoding setting; a CPPN's parameters are its weights"
            )
        check_settings(lr, steps, objective)
        self.cell_classes = np.asarray(archive_classes, dtype=np.int64)
        if target is not None and tuple(target.image_shape) != tuple(encoding.image_shape):
            raise EmitterError("the grad emitter's target scores images of another shape")
        check_gradient(
            target, encoding.image_shape, int(self.cell_classes[0]) if len(self.cell_classes) else 0
        )
        self.encoding, self.target, self.device = encoding, target, target.device
        self.threshold = float(threshold)
        self.lr, self.steps, self.objective = float(lr), steps, objective
        self.groups = trainable_groups(encoding.profile.genome_config)
        num_cells = len(self.cell_classes)
        self.bases = encoding.empty(num_cells)  # each class's network, its last child's weights
        self.m = {group: np.zeros(0) for group in self.groups}  # aligned with the bases' columns
        self.v = {group: np.zeros(0) for group in self.groups}
        self.t = np.zeros(num_cells, dtype=np.int64)  # Adam steps since the class's base was set
        self.started = np.zeros(num_cells, dtype=bool)
        self.seen = np.full(num_cells, -1, dtype=np.int64)  # the elite's evaluation, if on path
        self.cursor = 0
        self.passes = {"forward": 0, "backward": 0}  # this process's, in images
        self._pending: np.ndarray | None = None  # the cells of the children asked for

    def config(self) -> dict[str, Any]:
        """Settings for config.json."""
        return {"name": self.name, "lr": self.lr, "steps": self.steps, "objective": self.objective}

    # ------------------------------------------------------------------------- ask / tell
    def ask(
        self, archive: EliteArchive, rng: np.random.Generator, generation: int, count: int
    ) -> Any:
        """One child for each of up to ``count`` classes below the threshold: its base network
        with the parameters ``steps`` Adam steps reach."""
        del rng, generation
        self._pending = None
        cells = self._cells_in_turn(archive, max(count, 1))
        elsewhere = self.started[cells] & (archive.evaluation[cells] != self.seen[cells])
        self._start(archive, cells[~self.started[cells] | elsewhere])
        cells = cells[self.started[cells]]
        if not cells.size:
            return None
        chunk = self.target.chunk_size
        pieces = [cells[start : start + chunk] for start in range(0, len(cells), chunk)]
        renderers = [self.encoding.torch_renderer(self.bases[p], self.device) for p in pieces]
        for _ in range(self.steps):
            gradients = [self._gradient(p, r) for p, r in zip(pieces, renderers, strict=True)]
            joined = {g: np.concatenate([part[g] for part in gradients]) for g in self.groups}
            self._adam_step(cells, joined)
        self._pending = cells
        return self.bases[cells]

    def tell(
        self, children: Any, scores: Scores, archive: EliteArchive, improved: np.ndarray
    ) -> None:
        """Note which of its children became their class's elite (the gradient was the signal;
        the scores teach nothing more)."""
        del scores, improved
        cells, self._pending = self._pending, None
        if cells is None:
            return
        for row in np.flatnonzero(archive.evaluation[cells] != self.seen[cells]):
            cell = cells[row]
            if _same_genome(archive.genomes[[cell]], children[[row]]):
                self.seen[cell] = archive.evaluation[cell]

    def _parameters(self, cells: np.ndarray) -> dict[str, torch.Tensor]:
        """Each group's parameters of ``cells`` (in ``bases[cells]``'s order) as leaf tensors
        that require grad."""
        out = {}
        for group in self.groups:
            column, starts = GROUPS[group]
            values = getattr(self.bases, column)[_positions(getattr(self.bases, starts), cells)]
            out[group] = torch.as_tensor(values, dtype=torch.float64).requires_grad_(True)
        return out

    def _gradient(self, cells: np.ndarray, renderer: Any) -> dict[str, np.ndarray]:
        """d objective / d parameters of ``cells`` (one chunk; ``renderer`` of their bases):
        one forward and one backward pass of the target."""
        classes = torch.as_tensor(self.cell_classes[cells], device=self.device)
        params = self._parameters(cells)
        with torch.enable_grad():
            images = renderer.render(params["weight"], params.get("bias"), params.get("response"))
            log_p = self.target.differentiable_log_probabilities(images)
            gradients = torch.autograd.grad(self._objective(log_p, classes), list(params.values()))
        self.passes["forward"] += len(cells)
        self.passes["backward"] += len(cells)
        out = {}
        for group, gradient in zip(params, gradients, strict=True):
            if not torch.isfinite(gradient).all():
                raise TargetError("the model's gradient holds NaN or infinite values")
            out[group] = gradient.detach().cpu().numpy().astype(np.float64)
        return out

    def _adam_step(self, cells: np.ndarray, gradients: dict[str, np.ndarray]) -> None:
        """One Adam ascent step of ``cells``' parameters (each cell its own step count), each
        parameter clipped to its range after the step."""
        beta1, beta2 = BETAS
        self.t[cells] += 1
        for group, (low, high) in self.groups.items():
            column, starts = GROUPS[group]
            offsets = getattr(self.bases, starts)
            index = _positions(offsets, cells)
            steps = np.repeat(self.t[cells], offsets[cells + 1] - offsets[cells]).astype(float)
            gradient = gradients[group]
            m = self.m[group][index] * beta1 + gradient * (1.0 - beta1)
            v = self.v[group][index] * beta2 + gradient * gradient * (1.0 - beta2)
            step = (
                self.lr * (m / (1.0 - beta1**steps)) / (np.sqrt(v / (1.0 - beta2**steps)) + EPSILON)
            )
            values = getattr(self.bases, column)
            values[index] = np.clip(values[index] + step, low, high)
            self.m[group][index], self.v[group][index] = m, v

    def _start(self, archive: EliteArchive, cells: np.ndarray) -> None:
        """Make ``cells``' elites their bases, with fresh Adam moments and step counts; cells
        without an elite stay unstarted."""
        cells = cells[archive.occupied[cells]]
        if not cells.size:
            return
        before = {group: getattr(self.bases, GROUPS[group][1]).copy() for group in self.groups}
        self.bases[cells] = archive.genomes[cells]
        reset = np.zeros(len(self.cell_classes), dtype=bool)
        reset[cells] = True
        for group in self.groups:
            after = getattr(self.bases, GROUPS[group][1])
            self.m[group] = _relayout(self.m[group], before[group], after, reset)
            self.v[group] = _relayout(self.v[group], before[group], after, reset)
        self.t[cells] = 0
        self.started[cells] = True
        self.seen[cells] = archive.evaluation[cells]

    # ------------------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The bases (as the encoding stores genomes), each group's Adam moments, step counts,
        the elites' evaluation numbers noted, which cells have started, the cursor."""
        arrays = {f"base.{k}": v for k, v in self.encoding.to_arrays(self.bases).items()}
        for group in self.groups:
            arrays[f"{group}.m"] = self.m[group].copy()
            arrays[f"{group}.v"] = self.v[group].copy()
        arrays.update(t=self.t.copy(), started=self.started.copy(), seen=self.seen.copy())
        return {"cursor": self.cursor}, arrays

    def load_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state`; a damaged or foreign state raises :class:`EmitterError`."""
        num_cells = len(self.cell_classes)
        cursor = self._checked_cursor(values)
        moments = {f"{group}.{name}" for group in self.groups for name in ("m", "v")}
        own = {k[len("base.") :]: v for k, v in arrays.items() if k.startswith("base.")}
        if not own or set(arrays) - {f"base.{k}" for k in own} != moments | set(ROW_ARRAYS):
            expected = ", ".join(["base.*", *sorted(moments), *ROW_ARRAYS])
            raise EmitterError(f"grad: expected the arrays {expected}")
        try:
            bases = self.encoding.from_arrays(own)
        except ArchiveError as exc:
            raise EmitterError(f"grad: base networks: {exc}") from None
        t, started, seen = (arrays[name] for name in ROW_ARRAYS)
        if t.dtype != np.int64 or t.shape != (num_cells,) or (t < 0).any():
            raise EmitterError(f"grad: t must be {num_cells} step counts >= 0")
        if started.dtype != np.bool_ or started.shape != (num_cells,):
            raise EmitterError(f"grad: expected a started flag for each of {num_cells} cells")
        if seen.dtype != np.int64 or seen.shape != (num_cells,):
            raise EmitterError(f"grad: seen must be {num_cells} evaluation numbers")
        if len(bases) != num_cells or not np.array_equal(bases.occupied, started):
            raise EmitterError("grad: expected a base network for each started cell, only those")
        m, v = {}, {}
        for group in self.groups:
            column = getattr(bases, GROUPS[group][0])
            if not np.isfinite(column).all():
                raise EmitterError(f"grad: the bases' {group}s must be finite")
            for name, store in (("m", m), ("v", v)):
                array = arrays[f"{group}.{name}"]
                if array.dtype != np.float64 or array.shape != column.shape:
                    raise EmitterError(
                        f"grad: {group}.{name} must be float64 aligned with the bases' {group}s"
                    )
                if not np.isfinite(array).all():
                    raise EmitterError(f"grad: {group}.{name} must be finite")
                store[group] = array.copy()
            if (v[group] < 0).any():
                raise EmitterError(f"grad: {group}.v must be >= 0")
        self.bases, self.m, self.v = bases, m, v
        self.t, self.started, self.seen, self.cursor = t.copy(), started.copy(), seen.copy(), cursor
