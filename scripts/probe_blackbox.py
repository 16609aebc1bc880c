"""What limits black-box fooling on ImageNet: probes of issue 22's black-box goal, on classes
drawn by a seed the benchmark does not use (``--class-seed``, default 7; the benchmark's classes
are ``default_rng(2026)``'s, so nothing here is tuned on them).

Each probe records ``docs/benchmarks/results/probe_blackbox_PROBE.json`` (:mod:`bench_results`):

- ``overlap``: do evaluations made for one image inform another's search? The gradient of a
  class's log-odds with respect to a ``g x g`` logit grid (white-box, for the measurement only)
  at ``--images`` random images: the cosine between the gradients at two different images. Near
  0 means each class's search must learn its own direction from its own evaluations.
- ``transfer``: white-box ascent on sibling networks (EfficientNet-Lite1, -Lite2, at 224), the
  images then scored once by Lite0: does a surrogate's gradient reach the target?
- ``nes``: score-based gradient estimation (antithetic NES, rank-shaped, Adam) on a ``g x g``
  logit grid per class: best confidence after ``--budget`` evaluations per class.
- ``square``: random search with squares of 0/1 colours (Square Attack's proposal and schedule,
  Andriushchenko et al., ECCV 2020), one proposal per class and step, kept if it raises the
  class's log-odds: best confidence after ``--budget`` evaluations per class.

Evaluations count images Lite0 scored; white-box passes are not counted (they are the probe's
instrument, not a method).

    python scripts/probe_blackbox.py overlap transfer nes square
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from bench_results import write_result

import fooling

SIZE = 224


class Scorer:
    """Lite0's log-odds of images in [0, 1], counting evaluations."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.evaluations = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """``[N, 3, 224, 224]`` -> ``[N, 1000]`` log-odds."""
        self.evaluations += len(images)
        return self.target.scores(np.ascontiguousarray(images, dtype=np.float32)).log_odds


def upsample(theta: torch.Tensor) -> torch.Tensor:
    """A ``[N, 3, g, g]`` grid bilinearly at 224 x 224."""
    if theta.shape[-1] == SIZE:
        return theta
    return F.interpolate(theta, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def grid_images(theta: np.ndarray, grid: int) -> np.ndarray:
    """Images of logit grids ``[N, 3 * g * g]``: the sigmoid of the upsampled grid."""
    t = torch.as_tensor(theta, dtype=torch.float32).reshape(-1, 3, grid, grid)
    return torch.sigmoid(upsample(t)).numpy()


def class_log_odds(log_p: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Row ``i``'s log-odds of ``classes[i]``: ``log p - log(1 - p)`` from log-probabilities."""
    rows = torch.arange(len(log_p))
    others = log_p.index_put((rows, classes), torch.tensor(-torch.inf, dtype=log_p.dtype))
    return log_p[rows, classes] - torch.logsumexp(others, dim=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Confidence of a log-odds."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def probe_overlap(target: Any, classes: list[int], args: argparse.Namespace) -> dict:
    """Cosines between one class's log-odds gradients at different random images."""
    torch.manual_seed(args.seed)
    rows = []
    for grid in (16, SIZE):
        theta = torch.randn(args.images, 3, grid, grid)
        for cls in classes:
            theta_ = theta.clone().requires_grad_(True)
            log_p = target.differentiable_log_probabilities(torch.sigmoid(upsample(theta_)))
            objective = class_log_odds(log_p, torch.full((args.images,), cls)).sum()
            (gradient,) = torch.autograd.grad(objective, theta_)
            unit = gradient.reshape(args.images, -1)
            unit = unit / unit.norm(dim=1, keepdim=True)
            cosines = (unit @ unit.T)[~torch.eye(args.images, dtype=torch.bool)]
            rows.append([grid, cls, target.class_names[cls], float(cosines.mean()),
                         float(cosines.abs().max())])  # fmt: skip
    return {
        "columns": ["grid", "class", "name", "mean cosine", "largest |cosine|"],
        "rows": rows,
        "formats": [None, None, None, ".3f", ".3f"],
    }


def probe_transfer(target: Any, classes: list[int], args: argparse.Namespace) -> dict:
    """Ascent on Lite1 and Lite2 (their gradients), scored once by Lite0."""
    surrogates = {
        name: fooling.load_target(f"imagenet-efficientnet-{name}", image_size=(SIZE, SIZE))
        for name in ("lite1", "lite2")
    }
    wanted = torch.as_tensor(classes)
    rows = []
    for grid in (16, SIZE):
        for names in (["lite1"], ["lite1", "lite2"]):
            torch.manual_seed(args.seed)
            theta = torch.randn(len(classes), 3, grid, grid).requires_grad_(True)
            optimiser = torch.optim.Adam([theta], lr=0.5 if grid < SIZE else 0.1)
            for _ in range(args.steps):
                images = torch.sigmoid(upsample(theta))
                objective = sum(
                    class_log_odds(surrogates[n].differentiable_log_probabilities(images), wanted)
                    for n in names
                )
                optimiser.zero_grad()
                (-objective.sum()).backward()
                optimiser.step()
            with torch.no_grad():
                images = torch.sigmoid(upsample(theta))
                own = torch.stack(
                    [class_log_odds(surrogates[n].differentiable_log_probabilities(images), wanted)
                     for n in names]
                ).mean(0)  # fmt: skip
            lite0 = target.scores(images.numpy()).log_odds[np.arange(len(classes)), classes]
            for cls, mine, theirs in zip(
                classes, sigmoid(own.numpy()), sigmoid(lite0), strict=True
            ):
                rows.append(["+".join(names), grid, cls, float(mine), float(theirs)])
    return {
        "columns": ["surrogates", "grid", "class", "surrogates' confidence", "Lite0 confidence"],
        "rows": rows,
        "formats": [None, None, None, ".4f", ".4f"],
    }


def probe_nes(target: Any, classes: list[int], args: argparse.Namespace) -> dict:
    """Antithetic NES per class on a logit grid, rank-shaped, Adam (Ilyas et al. 2018)."""
    score, rng = Scorer(target), np.random.default_rng(args.seed)
    k, pairs, grid = len(classes), args.pairs, args.grid
    dimension = 3 * grid * grid
    theta = rng.normal(size=(k, dimension))
    m, v, best = np.zeros_like(theta), np.zeros_like(theta), np.full(k, -np.inf)
    step = 0
    while score.evaluations < args.budget * k:
        noise = rng.normal(size=(k, pairs, dimension))
        points = np.concatenate([theta[:, None] + args.sigma * noise,
                                 theta[:, None] - args.sigma * noise], axis=1)  # fmt: skip
        log_odds = score(grid_images(points.reshape(-1, dimension), grid))
        own = log_odds.reshape(k, 2 * pairs, -1)[np.arange(k), :, classes]
        best = np.maximum(best, own.max(axis=1))
        ranks = own.argsort(axis=1).argsort(axis=1) / (2 * pairs - 1) - 0.5
        gradient = ((ranks[:, :pairs] - ranks[:, pairs:])[..., None] * noise).sum(1)
        step += 1
        m = 0.9 * m + 0.1 * gradient
        v = 0.999 * v + 0.001 * gradient**2
        theta += args.lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return per_class_table(target, classes, best, score.evaluations // k)


def square_fraction(iteration: int, first: float) -> float:
    """Square Attack's schedule of the square's share of the image (for 10,000 queries)."""
    for halvings, bound in enumerate((10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)):
        if iteration <= bound:
            return first / 2**halvings
    return first / 2**9


def probe_square(target: Any, classes: list[int], args: argparse.Namespace) -> dict:
    """Random search with 0/1-coloured squares from vertical stripes, one proposal a class."""
    score, rng = Scorer(target), np.random.default_rng(args.seed)
    k, rows = len(classes), np.arange(len(classes))
    images = np.repeat(rng.integers(0, 2, (k, 3, 1, SIZE)).astype(np.float32), SIZE, axis=2)
    best = score(images)[rows, classes]
    iteration = 0
    while score.evaluations < args.budget * k:
        side = max(int(round(np.sqrt(square_fraction(iteration, 0.1) * SIZE * SIZE))), 1)
        iteration += 1
        proposals = images.copy()
        corners = rng.integers(0, SIZE - side + 1, (k, 2))
        colours = rng.integers(0, 2, (k, 3, 1, 1)).astype(np.float32)
        for i, (r, c) in enumerate(corners):
            proposals[i, :, r : r + side, c : c + side] = colours[i]
        own = score(proposals)[rows, classes]
        better = own > best
        images[better], best[better] = proposals[better], own[better]
    return per_class_table(target, classes, best, score.evaluations // k)


def per_class_table(target: Any, classes: list[int], best: np.ndarray, spent: int) -> dict:
    """Best confidence per class after ``spent`` evaluations each."""
    confidence = sigmoid(best)
    rows = [
        [c, target.class_names[c], spent, float(p)]
        for c, p in zip(classes, confidence, strict=True)
    ]
    rows.append(["median", "", spent, float(statistics.median(confidence))])
    return {
        "columns": ["class", "name", "evaluations per class", "best confidence"],
        "rows": rows,
        "formats": [None, None, ",.0f", ".4f"],
    }


PROBES = {"overlap": probe_overlap, "transfer": probe_transfer, "nes": probe_nes,
          "square": probe_square}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probes", nargs="+", choices=sorted(PROBES))
    parser.add_argument("--class-seed", type=int, default=7, help="classes drawn by this seed")
    parser.add_argument("--classes", type=int, default=3, help="how many classes to draw")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=8, help="overlap: random images")
    parser.add_argument("--steps", type=int, default=40, help="transfer: ascent steps")
    parser.add_argument("--budget", type=int, default=1000, help="evaluations per class")
    parser.add_argument("--grid", type=int, default=16, help="nes: logit grid side")
    parser.add_argument("--pairs", type=int, default=10, help="nes: antithetic pairs a step")
    parser.add_argument("--sigma", type=float, default=1.0, help="nes: sampling step (logits)")
    parser.add_argument("--lr", type=float, default=0.3, help="nes: Adam step (logits)")
    parser.add_argument("--results-dir", type=Path, help="default: docs/benchmarks/results")
    args = parser.parse_args()
    target = fooling.load_target("imagenet-efficientnet-lite0")
    drawn = np.random.default_rng(args.class_seed).choice(target.num_classes, args.classes, False)
    classes = sorted(int(c) for c in drawn)
    for probe in args.probes:
        started = time.perf_counter()
        figures = PROBES[probe](target, classes, args)
        settings = {k: v for k, v in vars(args).items() if k not in ("probes", "results_dir")}
        path = write_result(
            f"probe_blackbox_{probe}",
            figures,
            title=f"Black-box probe on ImageNet Lite0: {probe}",
            command=f"python scripts/probe_blackbox.py {probe} "
            + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings.items()),
            notes=f"classes {classes} (default_rng({args.class_seed})); "
            f"{time.perf_counter() - started:.0f} s",
            **({"results_dir": args.results_dir} if args.results_dir else {}),
        )
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
