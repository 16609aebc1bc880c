"""Repetition removal: does an elite's confidence rest on its repeated motif?

The paper noticed that many fooling images repeat a motif, and that removing the repetitions
lowers the confidence. Here, per elite:

1. **Detection.** The image (mean over channels, mean removed) is correlated with itself shifted
   by ``(dy, 0)`` for ``dy`` = 1 .. H/2 and by ``(0, dx)`` for ``dx`` = 1 .. W/2, over the
   overlapping pixels only (Pearson correlation; no wrap-around). A period is a peak of that
   curve: a shift of at least 2 where the correlation is a local maximum, at least
   ``min_correlation`` (default 0.5), and at least 0.2 above the lowest correlation at a shorter
   shift (a smooth image correlates highly at small shifts, but falls without rising again).
   Of the peaks within 10% of the highest, the shortest is the period (a motif repeated k times
   peaks at every multiple of its period). No period on either axis: the image is reported as
   having no detectable repetition and left alone.
2. **Removal.** The motif copy (the period-sized cell of the period grid, anchored at the
   top-left corner) that holds the image centre is kept; every other pixel along a repeated axis
   is set to the image's background, its per-channel median.
3. **Control.** As many pixels as step 2 changed, drawn at random (seeded), are set to the same
   background, separating "fewer repetitions" from "fewer pixels".

Where it fails: motifs repeated along a diagonal lattice only, or with a period that is not a
whole number of pixels, correlate weakly along the two axes and may go undetected; repetition at
more than half the image size (fewer than two copies) is not looked for; a motif whose copies vary
(CPPN patterns that change smoothly) counts as repeated only while its copies correlate above the
threshold; a median background is a poor fill for images with no dominant background.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Shorter shifts are no period: neighbouring pixels correlate in any image.
MIN_SHIFT = 2
#: How far the correlation must rise at a period above its lowest value at shorter shifts.
PROMINENCE = 0.2
#: Within this fraction of the highest peak, the shortest shift is the period (a motif repeated
#: k times peaks at every multiple of its period).
NEAR_BEST = 0.9


@dataclass(frozen=True)
class Repetition:
    """The detected periods (None: no repetition along that axis) and their correlations."""

    period_y: int | None
    period_x: int | None
    correlation_y: float
    correlation_x: float

    @property
    def found(self) -> bool:
        """Whether a repetition was detected along either axis."""
        return self.period_y is not None or self.period_x is not None


def shifted_correlation(gray: np.ndarray, dy: int, dx: int) -> float:
    """Pearson correlation of a 2-D image with itself shifted by (dy, dx) >= 0, over the
    overlap; 0 where either part is constant."""
    height, width = gray.shape
    a = gray[: height - dy, : width - dx].ravel()
    b = gray[dy:, dx:].ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 1e-12 else 0.0


def axis_period(gray: np.ndarray, axis: int, min_correlation: float) -> tuple[int | None, float]:
    """(period, its correlation) along ``axis`` (0: rows, 1: columns); (None, the highest
    correlation at a shift >= 2) when the curve has no peak that qualifies."""
    limit = gray.shape[axis] // 2
    scores = [
        shifted_correlation(gray, s if axis == 0 else 0, s if axis == 1 else 0)
        for s in range(1, limit + 1)
    ]  # scores[k] is the correlation at shift k + 1
    peaks = []
    for k in range(MIN_SHIFT - 1, len(scores)):
        after = scores[k + 1] if k + 1 < len(scores) else -np.inf
        is_peak = scores[k] >= scores[k - 1] and scores[k] >= after
        if is_peak and scores[k] >= min_correlation and scores[k] - min(scores[:k]) >= PROMINENCE:
            peaks.append((k + 1, scores[k]))
    if not peaks:
        return None, max(scores[MIN_SHIFT - 1 :], default=0.0)
    best = max(score for _, score in peaks)
    return next((shift, score) for shift, score in peaks if score >= NEAR_BEST * best)


def detect(image: np.ndarray, min_correlation: float = 0.5) -> Repetition:
    """The repetition in one float image ``[C, H, W]`` (see the module docstring)."""
    gray = np.asarray(image, dtype=np.float64).mean(axis=0)
    period_y, corr_y = axis_period(gray, 0, min_correlation)
    period_x, corr_x = axis_period(gray, 1, min_correlation)
    return Repetition(period_y, period_x, corr_y, corr_x)


def background(image: np.ndarray) -> np.ndarray:
    """The fill colour: the per-channel median, shape ``[C, 1, 1]``."""
    return np.median(image.reshape(image.shape[0], -1), axis=1).reshape(-1, 1, 1)


def kept_mask(shape: tuple[int, int], repetition: Repetition) -> np.ndarray:
    """Boolean ``[H, W]``: the one motif copy that is kept (the cell holding the centre)."""
    height, width = shape
    keep = np.ones(shape, dtype=bool)
    for axis, period, size in ((0, repetition.period_y, height), (1, repetition.period_x, width)):
        if period is None:
            continue
        start = (size // 2 // period) * period
        inside = np.zeros(size, dtype=bool)
        inside[start : start + period] = True
        keep &= inside[:, None] if axis == 0 else inside[None, :]
    return keep


def remove_repetition(image: np.ndarray, repetition: Repetition) -> tuple[np.ndarray, int]:
    """The image with every motif copy but one set to the background, and how many pixels
    were set."""
    keep = kept_mask(image.shape[1:], repetition)
    out = np.where(keep[None], image, background(image))
    return out.astype(image.dtype), int((~keep).sum())


def random_blanking(image: np.ndarray, pixels: int, rng: np.random.Generator) -> np.ndarray:
    """The control: ``pixels`` pixels drawn at random set to the background."""
    height, width = image.shape[1:]
    chosen = rng.choice(height * width, size=pixels, replace=False)
    mask = np.zeros(height * width, dtype=bool)
    mask[chosen] = True
    out = np.where(mask.reshape(1, height, width), background(image), image)
    return out.astype(image.dtype)


def repetition_study(
    run_dir: Path,
    *,
    seed: int = 0,
    min_correlation: float = 0.5,
    device: str = "auto",
    progress: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Detect, remove and control every elite of a run, scored by the run's own target.

    Returns a row per elite and the 8-bit images (before, after, control) of those with a
    repetition, for the grid.
    """
    from dataclasses import replace

    from evolve.errors import RunError
    from fitness.loading import load_target
    from fooling.studies.transfer import eight_bit, read_source

    source = read_source(Path(run_dir), Path(run_dir).name)
    target = load_target(replace(source.target_options, device=device), progress=progress)
    if target.fingerprint != source.target_fingerprint:
        raise RunError("the target's weights differ from those this run was evolved against")
    rng = np.random.default_rng(seed)
    found, after, control = [], [], []
    repetitions = [detect(image, min_correlation) for image in source.images]
    removed = []
    for index, (image, repetition) in enumerate(zip(source.images, repetitions, strict=True)):
        if not repetition.found:
            removed.append(0)
            continue
        without, pixels = remove_repetition(image, repetition)
        found.append(index)
        removed.append(pixels)
        after.append(eight_bit(without[None])[0])
        control.append(eight_bit(random_blanking(image, pixels, rng)[None])[0])
    batch = [source.images, np.stack(after), np.stack(control)] if found else [source.images]
    scored = target.probabilities(np.concatenate(batch))
    count = len(source.images)
    classes = source.classes
    before_p = scored[np.arange(count), classes]
    position = {index: k for k, index in enumerate(found)}
    rows = []
    for index, repetition in enumerate(repetitions):
        row: dict[str, Any] = {
            "class": source.class_names[int(classes[index])],
            "repetition": repetition.found,
            "period_y": repetition.period_y,
            "period_x": repetition.period_x,
            "correlation_y": round(repetition.correlation_y, 4),
            "correlation_x": round(repetition.correlation_x, 4),
            "pixels_changed": removed[index],
            "confidence_before": float(before_p[index]),
            "confidence_after": None,
            "confidence_control": None,
        }
        if index in position:
            k = position[index]
            row["confidence_after"] = float(scored[count + k, classes[index]])
            row["confidence_control"] = float(scored[count + len(found) + k, classes[index]])
        rows.append(row)
    images = {
        "before": source.images[found],
        "after": np.stack(after) if found else source.images[:0],
        "control": np.stack(control) if found else source.images[:0],
    }
    return rows, images
