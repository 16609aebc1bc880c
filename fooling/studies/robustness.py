"""Robustness: how much of an elite's confidence survives random transformations?

Every elite of every run is re-scored from its 8-bit image (the bytes ``fooling gallery`` writes
as PNG) by the run's own target, once as it is ("clean") and under ``samples`` random
transformations drawn from a generator seeded with ``seed``, independent of the draws that a
``--robust`` run was evolved under (held-out draws). Per (run, class): mean, median, 5th
percentile and minimum of the evolved class's probability over the views, and the share of
views still >= 0.5 and >= the run's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evolve.config import RunConfig
from evolve.errors import RunError
from evolve.memory import check_fits
from fitness.loading import load_target
from fitness.robust import RobustScoring
from fitness.target import Target
from fitness.transforms import TransformSpec
from fooling.studies.transfer import SourceRun, run_labels, source_of

#: study.json's format: ``fooling report DIR`` finds the robustness study's report by it.
ROBUSTNESS_FORMAT = "fooling-robustness-study"
#: Views scored per draw: a fixed number, so the draws (and the figures) do not depend on
#: --max-batch, which only splits the forward passes.
IMAGES_PER_DRAW = 512
#: Transformed views of each elite kept for the grid picture.
EXAMPLE_VIEWS = 4


@dataclass
class RunScores:
    """One run's elites under the transformations."""

    source: SourceRun
    config: RunConfig
    summary: dict[str, Any]
    clean: np.ndarray  # [n] probability of the evolved class, untransformed 8-bit image
    views: np.ndarray  # [samples, n] the same under each transformed view
    examples: np.ndarray  # [EXAMPLE_VIEWS, n, C, H, W] the first views, float32
    example_scores: np.ndarray  # [EXAMPLE_VIEWS, n]
    transforms: TransformSpec  # as applied to this run's images (a preset loses colour on gray)


def evolved_with(config: RunConfig) -> str:
    """How a run scored its images: "standard", or its --robust settings."""
    scoring = config.robust_scoring()
    if scoring is None:
        return "standard"
    return f"robust ({scoring.samples} views, {scoring.reduce}): {scoring.transforms.describe()}"


def score_run(
    source: SourceRun,
    target: Target,
    transforms: TransformSpec,
    samples: int,
    seed: int,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clean [n], views [samples, n], example views, their scores) for one run's elites."""
    count = len(source.classes)
    evolved = np.arange(count), source.classes
    clean = target.probabilities(source.images)[evolved]
    scoring = RobustScoring(transforms, samples)
    rng = np.random.default_rng(seed)
    per_draw = max(1, IMAGES_PER_DRAW // count)
    scores = np.empty((samples, count))
    examples = None
    with tqdm(total=samples * count, unit="img", disable=not progress, desc=source.label) as bar:
        for start in range(0, samples, per_draw):
            k = min(per_draw, samples - start)
            views = scoring.views(source.images, rng, k)
            probabilities = target.probabilities(views).reshape(k, count, -1)
            scores[start : start + k] = probabilities[:, evolved[0], evolved[1]]
            if examples is None:
                keep = min(EXAMPLE_VIEWS, k)
                examples = views[: keep * count].reshape(keep, count, *views.shape[1:])
                examples = examples.detach().cpu().numpy()
            bar.update(k * count)
    return clean, scores, examples, scores[: len(examples)]


def class_rows(result: RunScores, transforms: str, threshold: float | None) -> list[dict[str, Any]]:
    """One row per elite: the spread of its confidence over the views."""
    source, views = result.source, result.views
    limit = result.config.threshold if threshold is None else threshold
    rows = []
    for i, cls in enumerate(source.classes):
        column = views[:, i]
        rows.append(
            {
                "run": source.label,
                "evolved_with": evolved_with(result.config),
                "transforms": transforms,
                "class": source.class_names[int(cls)],
                "samples": len(column),
                "run_confidence": float(source.confidence[i]),
                "clean_confidence": float(result.clean[i]),
                "mean": float(column.mean()),
                "median": float(np.median(column)),
                "p5": float(np.percentile(column, 5)),
                "min": float(column.min()),
                "share_ge_0.5": float((column >= 0.5).mean()),
                "threshold": limit,
                "share_ge_threshold": float((column >= limit).mean()),
            }
        )
    return rows


def run_summary(result: RunScores, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per run: what evolving it cost, and how much confidence survives over all its elites."""
    views = result.views
    limit = rows[0]["threshold"]
    return {
        "run": result.source.label,
        "run_dir": str(result.source.run_dir),
        "evolved_with": evolved_with(result.config),
        "generations": result.summary.get("generations"),
        "evaluations": result.summary.get("evaluations"),
        "target_queries": result.summary.get("target_queries"),
        "elapsed_s": result.summary.get("elapsed_s"),
        "transform_ranges": result.transforms.to_dict(),
        "classes": len(rows),
        "median_clean": float(np.median(result.clean)),
        "median_mean": float(np.median([row["mean"] for row in rows])),
        "median_median": float(np.median([row["median"] for row in rows])),
        "min_p5": float(min(row["p5"] for row in rows)),
        "share_ge_0.5": float((views >= 0.5).mean()),
        "threshold": limit,
        "share_ge_threshold": float((views >= limit).mean()),
    }


def robustness(
    run_dirs: list[Path],
    transforms: TransformSpec,
    *,
    samples: int,
    seed: int = 1,
    threshold: float | None = None,
    device: str = "auto",
    max_batch: int = 1024,
    progress: bool = False,
) -> tuple[list[RunScores], list[dict[str, Any]], list[dict[str, Any]]]:
    """Score every run's elites: (per-run results, per-class rows, per-run summaries).

    Every run and its target are read and loaded before any scoring, so bad input fails early.
    Each run draws from its own generator seeded with ``seed``: runs of the same image shape
    see the same transformations (common random numbers), which makes them comparable.
    ``threshold`` None: each run's own.
    """
    from fooling.api import read_run

    labels = run_labels([Path(p) for p in run_dirs])
    loaded, targets = [], {}
    for path, label in zip(run_dirs, labels, strict=True):
        run = read_run(Path(path))  # once: its elites, config and summary
        source, config = source_of(run, Path(path), label), run.config
        transforms.for_images(source.images.shape[1])  # a colour shift of gray images: say now
        options = replace(source.target_options, device=device, max_batch=max_batch)
        if options not in targets:  # runs against one network share it
            targets[options] = load_target(options, progress=progress)
        target = targets[options]
        if target.fingerprint != source.target_fingerprint:
            raise RunError(f"the target's weights differ from those {path} was evolved against")
        loaded.append((source, config, run.summary, target))
    elites = sum(len(source.classes) for source, *_ in loaded)
    # Every view's score is kept (float64, [samples, elites] per run) until the report is written.
    check_fits(8 * samples * elites, f"--samples {samples:,} for {elites:,} elites")
    results, rows, summaries = [], [], []
    for source, config, summary, target in loaded:
        applied = transforms.for_images(source.images.shape[1])
        clean, views, examples, example_scores = score_run(
            source, target, applied, samples, seed, progress
        )
        result = RunScores(source, config, summary, clean, views, examples, example_scores, applied)
        run_rows = class_rows(result, transforms.describe(), threshold)
        results.append(result)
        rows += run_rows
        summaries.append(run_summary(result, run_rows))
    return results, rows, summaries
