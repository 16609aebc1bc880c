"""Transfer: do images evolved against one network fool another?

Every elite of every source run is re-scored from its 8-bit image (exactly the bytes ``fooling
gallery`` writes as PNG) by each target, which gives, per (run, class, target): the probability
the target gives the class the image was evolved for, and the target's own top-1 class and its
probability. A target named without an input description (a model file, a factory) takes the
run's: input shape, scaling, mean and std, class names and output kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from archives import count_fooled
from archives.export import to_uint8_nchw
from evolve.errors import RunError
from fitness.builtin import LENET_SPEC
from fitness.imagenet import IMAGENET_TARGETS
from fitness.loading import BUILTIN_TARGETS, TargetOptions, load_target, split_weights
from fitness.target import InputSpec, Target, TargetError


@dataclass(frozen=True)
class SourceRun:
    """The elites of one run as 8-bit images, with what the run knew about them."""

    label: str
    run_dir: Path
    target_options: TargetOptions
    target_fingerprint: str
    class_names: list[str]  # the run target's classes
    classes: np.ndarray  # class index (into class_names) each elite was evolved for
    confidence: np.ndarray  # the confidence the run recorded for each elite
    images: np.ndarray  # float32 [n, C, H, W], values k / 255 as read back from the PNG


def eight_bit(images: np.ndarray) -> np.ndarray:
    """Float images as their 8-bit PNG holds them (rounded to k / 255), float32 in [0, 1]."""
    return to_uint8_nchw(images).astype(np.float32) / np.float32(255.0)


def read_source(run_dir: Path, label: str) -> SourceRun:
    """A run directory's occupied elites (final archive, else the last checkpoint's)."""
    from fooling.api import read_run

    return source_of(read_run(run_dir), run_dir, label)


def source_of(run: Any, run_dir: Path, label: str) -> SourceRun:
    """The occupied elites of ``run`` (:func:`fooling.api.read_run`'s result, read from
    ``run_dir``)."""
    cells = np.flatnonzero(run.archive.occupied)
    if cells.size == 0:
        raise RunError(f"{run_dir} has no elites yet")
    try:
        options = TargetOptions.from_dict(run.config.target)
    except TypeError as exc:
        raise RunError(f"{run_dir}/config.json has bad target options: {exc}") from None
    return SourceRun(
        label=label,
        run_dir=Path(run_dir),
        target_options=options,
        target_fingerprint=run.config.target_fingerprint,
        class_names=list(run.config.class_names),
        classes=run.archive.cell_classes[cells],
        confidence=np.asarray(run.archive.fitness[cells], dtype=np.float64),
        images=eight_bit(run.images()),
    )


def run_labels(run_dirs: list[Path]) -> list[str]:
    """Short names for the runs: the folder name, or the path where two names collide."""
    names = [path.name or str(path) for path in run_dirs]
    return [
        name if names.count(name) == 1 else str(path)
        for name, path in zip(names, run_dirs, strict=True)
    ]


def source_input_spec(options: TargetOptions) -> InputSpec:
    """The input description of a run's target, without loading the model."""
    if options.target == "mnist-lenet":
        return LENET_SPEC
    if options.target in IMAGENET_TARGETS:
        return IMAGENET_TARGETS[options.target].spec
    return options.input_spec()


def target_options_for(
    spec: str,
    source: SourceRun,
    *,
    device: str = "auto",
    max_batch: int = 1024,
    option: str = "--to",
) -> TargetOptions:
    """How to load ``--to spec`` for scoring ``source``'s images.

    Built-in targets know their input; a model file or a factory takes the run's input
    description. Images keep the run's size and reach the model through the run's crops when
    they are at least the model's input size, else they are resized. ``option``: the option
    that named ``spec``, for messages.
    """
    name, weights = split_weights(spec, option)
    run = source.target_options
    channels, height, width = source.images.shape[1:]
    if name in BUILTIN_TARGETS:
        options = TargetOptions(target=name, weights=weights, device=device, max_batch=max_batch)
        model_spec = source_input_spec(options)
    else:
        model_spec = source_input_spec(run)
        options = TargetOptions(
            target=name,
            weights=weights,
            input_shape=model_spec.shape,
            class_names_file=run.class_names_file,
            input_scale=model_spec.scale,
            mean=model_spec.mean,
            std=model_spec.std,
            outputs=run.outputs if run.target not in BUILTIN_TARGETS else "logits",
            device=device,
            max_batch=max_batch,
        )
    if model_spec.channels != channels:
        raise TargetError(
            f"--to {spec}: the model takes {model_spec.channels}-channel images, "
            f"{source.run_dir} holds {channels}-channel ones"
        )
    large_enough = height >= model_spec.height and width >= model_spec.width
    crops = run.crops if large_enough else "resize"
    return replace(options, image_size=(height, width), crops=crops)


def class_map(source: SourceRun, target: Target, spec: str) -> np.ndarray:
    """For each of the run's classes, the target's output index: by name, else by position
    when the target has as many classes as the run (a model without class names)."""
    index_of = {name: i for i, name in enumerate(target.class_names)}
    if all(name in index_of for name in source.class_names):
        return np.array([index_of[name] for name in source.class_names], dtype=np.int64)
    if target.num_classes == len(source.class_names):
        return np.arange(len(source.class_names), dtype=np.int64)
    missing = next(name for name in source.class_names if name not in index_of)
    raise TargetError(f"--to {spec} has no class {missing!r} (the run in {source.run_dir} has)")


def score(source: SourceRun, target: Target, spec: str) -> list[dict[str, Any]]:
    """One row per elite of ``source``: what ``target`` makes of its 8-bit image."""
    mapping = class_map(source, target, spec)
    probabilities = target.probabilities(source.images)
    evolved = mapping[source.classes]
    rows = np.arange(len(evolved))
    top = probabilities.argmax(axis=1)
    same = target.fingerprint == source.target_fingerprint
    return [
        {
            "run": source.label,
            "class": source.class_names[int(source.classes[i])],
            "target": spec,
            "same_network": same,
            "run_confidence": float(source.confidence[i]),
            "confidence": float(probabilities[i, evolved[i]]),
            "top1_class": target.class_names[int(top[i])],
            "top1_confidence": float(probabilities[i, top[i]]),
            "top1_is_evolved": bool(top[i] == evolved[i]),
        }
        for i in rows
    ]


def summarise(rows: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """Per (run, target): images, median confidence, share >= threshold, share top-1."""
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        pairs.setdefault((row["run"], row["target"]), []).append(row)
    summary = []
    for (run, target), members in pairs.items():
        confidence = np.array([m["confidence"] for m in members])
        summary.append(
            {
                "run": run,
                "target": target,
                "same_network": members[0]["same_network"],
                "images": len(members),
                "median_confidence": float(np.median(confidence)),
                "fooled": count_fooled(confidence, threshold),
                "share_fooled": count_fooled(confidence, threshold) / len(members),
                "share_top1": sum(m["top1_is_evolved"] for m in members) / len(members),
            }
        )
    return summary


def transfer(
    run_dirs: list[Path],
    to: list[str],
    *,
    threshold: float,
    device: str = "auto",
    max_batch: int = 1024,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Score every elite of every run with every target: (rows, per-pair summary).

    Every run and target is read and loaded before any scoring, so bad input fails early.
    """
    sources = [
        read_source(Path(path), label)
        for path, label in zip(run_dirs, run_labels([Path(p) for p in run_dirs]), strict=True)
    ]
    targets: dict[tuple[int, str], Target] = {}
    loaded: dict[TargetOptions, Target] = {}
    for index, source in enumerate(sources):
        for spec in to:
            options = target_options_for(spec, source, device=device, max_batch=max_batch)
            if options not in loaded:
                loaded[options] = load_target(options, progress=progress)
            targets[index, spec] = loaded[options]
            class_map(source, loaded[options], spec)  # a missing class is bad input: say it now
    rows = [
        row
        for index, source in enumerate(sources)
        for spec in to
        for row in score(source, targets[index, spec], spec)
    ]
    return rows, summarise(rows, threshold)
