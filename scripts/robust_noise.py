"""Why a --robust run with independent views stalls: how much of a child's score against its
parent's is the views it drew, and how much is what the mutation changed
(docs/studies/robustness.md, "Findings").

For every elite of a direct-encoding run against the built-in LeNet, ``--children`` children
(the run's own mutation) and the elite are scored ``--draws`` times under K views of the run's
SPEC, once with every image drawing its own views (``rescore``, ``average``, ``keep``) and once
with all of them seeing the same K views (``paired``). Printed per class: the elite's mean score
over the paired draws; the standard deviation of (child - elite) in each mode, averaged over
the children; the mean absolute true difference (child - elite over the paired draws).

    python scripts/robust_noise.py runs/robustness/mnist_direct_robust_rescore [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from fitness.robust import RobustScoring
from fitness.target import Target
from fooling.api import load_target, read_run


def sample_probabilities(
    scoring: RobustScoring,
    target: Target,
    images: Any,
    rng: np.random.Generator,
    shared: bool = False,
) -> np.ndarray:
    """Probabilities ``[K, N, num_classes]`` of the K random views of each image that
    ``scoring`` draws (``shared``: the same views for all), scored in one call to the target."""
    views = scoring.views(images, rng, scoring.samples, shared)
    return target.probabilities(views).reshape(scoring.samples, len(views) // scoring.samples, -1)


def main() -> None:
    """Score each elite and its children under independent and under shared views."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a --robust run directory, direct encoding")
    parser.add_argument("--children", type=int, default=20, help="children per elite")
    parser.add_argument("--draws", type=int, default=30, help="scorings of each image and mode")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    run = read_run(args.run)
    scoring = run.config.robust_scoring()
    if scoring is None or run.encoding.name != "direct":
        parser.error(f"{args.run} is not a --robust run of the direct encoding")
    target = load_target("mnist-lenet")
    if target.fingerprint != run.config.target_fingerprint:
        parser.error(f"{args.run} was not evolved against the built-in mnist-lenet")
    encoding = run.encoding
    rng = np.random.default_rng(args.seed)
    archive = run.archive
    rows = []
    for cell in np.flatnonzero(archive.occupied):
        cls = int(archive.cell_classes[cell])
        elite = np.asarray(archive.genomes[cell : cell + 1])
        children = encoding.vary(np.repeat(elite, args.children, axis=0), rng, 1)
        images = encoding.express(np.concatenate([elite, children]))
        spread = {}
        for shared in (False, True):
            draws = np.array(
                [
                    sample_probabilities(scoring, target, images, rng, shared).mean(axis=0)[:, cls]
                    for _ in range(args.draws)
                ]
            )  # [draws, 1 + children]
            spread[shared] = draws
        paired = spread[True]
        row = {
            "class": archive.class_names[cls],
            "elite_mean": float(paired[:, 0].mean()),
            "sd_child_minus_elite_independent": float(
                np.std(spread[False][:, 1:] - spread[False][:, :1], axis=0).mean()
            ),
            "sd_child_minus_elite_paired": float(
                np.std(paired[:, 1:] - paired[:, :1], axis=0).mean()
            ),
            "true_abs_child_minus_elite": float(
                np.abs(paired.mean(axis=0)[1:] - paired.mean(axis=0)[0]).mean()
            ),
        }
        rows.append(row)
        print(
            f"{row['class']}: elite {row['elite_mean']:.3f}; sd(child - elite) independent "
            f"{row['sd_child_minus_elite_independent']:.3f}, paired "
            f"{row['sd_child_minus_elite_paired']:.3f}; |true difference| "
            f"{row['true_abs_child_minus_elite']:.4f}",
            flush=True,
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"run": str(args.run), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
