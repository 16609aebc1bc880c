"""Detection: do confidence-based out-of-distribution detectors flag fooling images?

Every elite of every run (re-scored from its 8-bit image, as ``fooling transfer`` does) and a
set of real in-distribution images are scored by one target. Two detectors read the target's
logits, in float64 so that saturated softmaxes (a distilled network's) still order:

- maximum softmax probability (MSP; Hendrycks & Gimpel 2017): flag low MSP. It is ranked by
  the log-odds against the top class, ``log((1 - MSP) / MSP) = logsumexp_{j != top} z_j -
  z_top``, which orders like MSP but never rounds: a saturated softmax gives MSP = 1.0 exactly
  (and ``log MSP`` = 0.0) for whole sets of images once the top logit leads by more than about
  37 (745 for the log), where the log-odds still differ;
- energy score (Liu et al. 2020, T = 1): flag high energy ``E = -logsumexp(logits)``.

Each detector's "flag" score is higher for images it deems out of distribution (the log-odds
against the top class, and ``E``). Per run and for all runs together: the AUROC of separating
fooling images (positives) from real ones, the false-positive rate on real images at 95%
true-positive rate, and the share of fooling images that slip through when the threshold flags
only 5% of real images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fitness.image_folder import read_image
from fitness.loading import TargetOptions, load_target
from fitness.scores import log_odds_from_log_probabilities
from fitness.target import Target, TargetError
from fooling.studies.roc import auroc, fpr_at_tpr, roc_curve, threshold_at_fpr
from fooling.studies.transfer import SourceRun, read_source, run_labels, target_options_for

#: Detector names, in report order.
DETECTORS = ("msp", "energy")
#: True-positive rate at which the false-positive rate is reported (the field's FPR95).
TPR = 0.95
#: Share of real images a deployed detector may flag: "slips through" is judged at this rate.
DEPLOYED_FPR = 0.05
TEST_DIGITS = "test-digits"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class Scores:
    """Per image, in float64: log-MSP, the log-odds against the top class, the energy; the
    top-1 class index."""

    log_msp: np.ndarray
    log_odds_against: np.ndarray
    energy: np.ndarray
    top1: np.ndarray

    def flag(self, detector: str) -> np.ndarray:
        """The detector's score, higher meaning "flag as not a real image"."""
        return self.log_odds_against if detector == "msp" else self.energy


def log_odds_against_top(logits: torch.Tensor) -> torch.Tensor:
    """``log((1 - p_top) / p_top)`` per row of float64 logits, without forming probabilities
    (-inf for a single class): minus the top class's log-odds, as evolution ranks them."""
    top = logits.argmax(dim=1, keepdim=True)
    log_odds = log_odds_from_log_probabilities(logits.log_softmax(dim=1))
    return -log_odds.gather(1, top).squeeze(1)


def detector_scores(target: Target, images: np.ndarray) -> Scores:
    """MSP and energy of ``images`` (float32 [N, C, H, W] in [0, 1]) from ``target``'s logits."""
    if target.outputs != "logits":
        raise TargetError(
            "detection reads logits: this target outputs probabilities "
            "(the energy score needs logits)"
        )
    logits = target.logits(images).double().cpu()
    log_p = logits.log_softmax(dim=1)
    return Scores(
        log_msp=log_p.max(dim=1).values.numpy(),
        log_odds_against=log_odds_against_top(logits).numpy(),
        energy=(-torch.logsumexp(logits, dim=1)).numpy(),
        top1=logits.argmax(dim=1).numpy(),
    )


def reference_images(reference: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, str]:
    """Real images as float32 ``[N, C, H, W]`` in [0, 1], and where they came from.

    ``test-digits``: the bundled MNIST test split (1x28x28 targets only). A folder: every image
    file in it and its sub-folders, converted and resized to ``shape``.
    """
    if reference == TEST_DIGITS:
        if shape != (1, 28, 28):
            raise TargetError(
                f"--reference {TEST_DIGITS} holds 1x28x28 digits, the target takes "
                f"{'x'.join(map(str, shape))} images: give a folder of real images"
            )
        from fitness.builtin import load_digits

        digits = load_digits(None)
        return digits.test_images[:, None].astype(np.float32) / 255.0, f"{digits.source} test"
    root = Path(reference)
    if not root.is_dir():
        raise TargetError(f"--reference {reference}: not {TEST_DIGITS} and no such folder")
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    if len(files) < 2:
        raise TargetError(f"--reference {reference}: need at least 2 images, found {len(files)}")
    images = np.stack([read_image(path, shape) for path in files])
    return images.astype(np.float32) / 255.0, f"folder:{root}"


def metrics(positive: np.ndarray, negative: np.ndarray) -> dict[str, float]:
    """AUROC, FPR at 95% TPR, and the share of positives not flagged at 5% FPR."""
    at_tpr = fpr_at_tpr(positive, negative, TPR)
    deployed = threshold_at_fpr(negative, DEPLOYED_FPR)
    return {
        "auroc": auroc(positive, negative),
        "fpr_at_95_tpr": at_tpr["fpr"],
        "tpr_reached": at_tpr["tpr"],
        "threshold_at_95_tpr": at_tpr["threshold"],
        "threshold_at_5_fpr": deployed,
        "slip_through_at_5_fpr": float((positive < deployed).mean()),
    }


def image_rows(source: SourceRun, target: Target, scores: Scores, real: Scores) -> list[dict]:
    """A row per elite: its scores and whether each detector lets it through at 5% FPR."""
    rows = []
    thresholds = {d: threshold_at_fpr(real.flag(d), DEPLOYED_FPR) for d in DETECTORS}
    for i, cls in enumerate(source.classes):
        row: dict[str, Any] = {
            "run": source.label,
            "class": source.class_names[int(cls)],
            "run_confidence": float(source.confidence[i]),
            "msp": float(np.exp(scores.log_msp[i])),
            "log_msp": float(scores.log_msp[i]),
            "msp_log_odds_against": float(scores.log_odds_against[i]),
            "energy": float(scores.energy[i]),
            "top1_class": target.class_names[int(scores.top1[i])],
        }
        for detector in DETECTORS:
            row[f"{detector}_slips_through"] = bool(scores.flag(detector)[i] < thresholds[detector])
        rows.append(row)
    return rows


def detect(
    run_dirs: list[Path],
    target_spec: str,
    reference: str,
    *,
    device: str = "auto",
    max_batch: int = 1024,
    progress: bool = False,
) -> dict[str, Any]:
    """Score the runs' elites and the reference images with ``target_spec``'s detectors.

    Returns ``images`` (a row per elite), ``summary`` (a row per run and detector, plus "all
    runs"), ``roc`` (curves per run and detector), ``reference`` (source and count) and the
    real images' score quantiles. Everything is read and checked before scoring.
    """
    paths = [Path(p) for p in run_dirs]
    sources = [read_source(p, label) for p, label in zip(paths, run_labels(paths), strict=True)]
    loaded: dict[TargetOptions, Target] = {}
    targets = []
    for source in sources:
        options = target_options_for(
            target_spec, source, device=device, max_batch=max_batch, option="--target"
        )
        if options not in loaded:
            loaded[options] = load_target(options, progress=progress)
        targets.append(loaded[options])
    first = targets[0]
    if any(t.fingerprint != first.fingerprint for t in targets):
        raise TargetError("--target loads differently for these runs; detect them separately")
    shapes = {t.image_shape for t in targets}
    if len(shapes) != 1:
        raise TargetError("the runs hold images of different sizes; detect them separately")
    real_images, real_source = reference_images(reference, first.image_shape)
    real = detector_scores(first, real_images)
    per_run = [detector_scores(t, s.images) for t, s in zip(targets, sources, strict=True)]
    images = [
        row
        for source, target, scores in zip(sources, targets, per_run, strict=True)
        for row in image_rows(source, target, scores, real)
    ]
    groups = [(s.label, scores) for s, scores in zip(sources, per_run, strict=True)]
    if len(groups) > 1:
        groups.append(("all runs", _concat(per_run)))
    summary, curves = [], []
    for label, scores in groups:
        for detector in DETECTORS:
            positive, negative = scores.flag(detector), real.flag(detector)
            summary.append(
                {
                    "run": label,
                    "detector": detector,
                    "fooling_images": int(positive.size),
                    "real_images": int(negative.size),
                    **metrics(positive, negative),
                }
            )
            fpr, tpr = roc_curve(positive, negative)
            curves.append({"run": label, "detector": detector, "fpr": fpr, "tpr": tpr})
    return {
        "images": images,
        "summary": summary,
        "roc": curves,
        "reference": {"source": real_source, "images": int(len(real_images))},
        "real_scores": {
            "msp_median": float(np.exp(np.median(real.log_msp))),
            "msp_5th_percentile": float(np.exp(np.percentile(real.log_msp, 5))),
            "energy_median": float(np.median(real.energy)),
            "energy_95th_percentile": float(np.percentile(real.energy, 95)),
        },
    }


def _concat(parts: list[Scores]) -> Scores:
    return Scores(
        log_msp=np.concatenate([p.log_msp for p in parts]),
        log_odds_against=np.concatenate([p.log_odds_against for p in parts]),
        energy=np.concatenate([p.energy for p in parts]),
        top1=np.concatenate([p.top1 for p in parts]),
    )
