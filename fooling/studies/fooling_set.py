"""A round's fooling images, drawn from its runs' elite logs (every elite across generations).

Each run logs every new elite at or above the study's ``collect_min`` confidence. The pool of a
round is every logged elite of every run, as 8-bit images; identical images (within the round and
with any earlier round's) are dropped, keeping the first. Images are then drawn evenly over the
(run, class) groups: a random order within each group, a random order of groups, and the groups'
first images, then their second images, and so on, so no single run or class dominates the set.
The draw is split into images for training and held-out images. Everything is deterministic given
the generator's seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archives.atomic import atomic_save_npz
from archives.elite_archive import read_npz
from archives.elite_log import EliteLog
from archives.export import to_uint8_nchw
from evolve.encodings.base import Encoding


def image_digests(images: np.ndarray) -> list[bytes]:
    """A digest per uint8 image: equal digests mean identical 8-bit images."""
    return [
        hashlib.blake2b(np.ascontiguousarray(i).tobytes(), digest_size=16).digest() for i in images
    ]


@dataclass
class FoolingSet:
    """Images (uint8 ``[N, C, H, W]``) with where each came from, split train / held-out."""

    images: np.ndarray
    run: np.ndarray  # 1-based run number within the round
    cell: np.ndarray  # class index in the target's output
    generation: np.ndarray
    fitness: np.ndarray
    held_out: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.images)

    @property
    def train_images(self) -> np.ndarray:
        """Images added to the training set."""
        return self.images[~self.held_out]

    @property
    def held_out_images(self) -> np.ndarray:
        """Images kept out of training, to test detection of unseen fooling images."""
        return self.images[self.held_out]

    def save(self, path: Path) -> None:
        """Write atomically as ``.npz``."""
        atomic_save_npz(
            path,
            {
                "images": self.images,
                "run": self.run,
                "cell": self.cell,
                "generation": self.generation,
                "fitness": self.fitness,
                "held_out": self.held_out,
            },
        )

    @classmethod
    def load(cls, path: Path) -> FoolingSet:
        """Read a set written by :meth:`save`."""
        arrays = read_npz(path)
        return cls(**{key: arrays[key] for key in cls.__dataclass_fields__})


def pool_from_logs(
    log_paths: list[Path], encoding: Encoding, cell_classes: list[int], chunk: int = 1024
) -> FoolingSet:
    """Every logged elite of the runs (in run order, then log order) as 8-bit images."""
    parts: list[dict[str, np.ndarray]] = []
    for run, path in enumerate(log_paths, start=1):
        if not path.exists():
            continue
        log = EliteLog.load(path)
        if not len(log):
            continue
        columns = log.columns()
        arrays = log.genome_arrays()
        # Chunk before from_arrays: genomes that live on a GPU go there a chunk at a time.
        chunks = (
            encoding.from_arrays({key: rows[start : start + chunk] for key, rows in arrays.items()})
            for start in range(0, len(log), chunk)
        )
        images = np.concatenate([to_uint8_nchw(encoding.express(part)) for part in chunks])
        parts.append(
            {
                "images": images,
                "run": np.full(len(images), run, dtype=np.int64),
                "cell": np.asarray(cell_classes, dtype=np.int64)[columns["cell"]],
                "generation": columns["generation"],
                "fitness": columns["fitness"],
            }
        )
    if not parts:
        shape = encoding.image_shape
        return FoolingSet(
            np.zeros((0, *shape), dtype=np.uint8),
            *(np.zeros(0, dtype=np.int64) for _ in range(3)),
            np.zeros(0),
            np.zeros(0, dtype=bool),
        )
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return FoolingSet(**merged, held_out=np.zeros(len(merged["images"]), dtype=bool))


def unique_rows(pool: FoolingSet, seen: set[bytes]) -> np.ndarray:
    """Indices of the first occurrence of each image not in ``seen`` (``seen`` grows)."""
    keep = []
    for index, digest in enumerate(image_digests(pool.images)):
        if digest not in seen:
            seen.add(digest)
            keep.append(index)
    return np.asarray(keep, dtype=np.int64)


def spread_draw(groups: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` positions drawn evenly over ``groups``: round-robin over shuffled groups."""
    labels = np.unique(groups)
    order = rng.permutation(len(labels))
    members = [rng.permutation(np.flatnonzero(groups == labels[g])) for g in order]
    picked = []
    for rank in range(max((len(m) for m in members), default=0)):
        picked.extend(int(m[rank]) for m in members if rank < len(m))
        if len(picked) >= count:
            break
    return np.asarray(picked[:count], dtype=np.int64)


def collect(
    pool: FoolingSet,
    train_count: int,
    held_out_count: int,
    rng: np.random.Generator,
    seen: set[bytes],
) -> tuple[FoolingSet, dict[str, int]]:
    """Draw up to ``train_count + held_out_count`` distinct images not in ``seen``.

    When the pool is short, the held-out share shrinks in proportion. Returns the set and counts.
    """
    unique = unique_rows(pool, seen)
    groups = pool.run[unique] * (1 + int(pool.cell.max(initial=0))) + pool.cell[unique]
    wanted = train_count + held_out_count
    drawn = unique[spread_draw(groups, wanted, rng)]
    held = held_out_count if len(drawn) >= wanted else len(drawn) * held_out_count // max(wanted, 1)
    held_out = np.zeros(len(drawn), dtype=bool)
    held_out[rng.permutation(len(drawn))[:held]] = True
    chosen = FoolingSet(
        pool.images[drawn],
        pool.run[drawn],
        pool.cell[drawn],
        pool.generation[drawn],
        pool.fitness[drawn],
        held_out,
    )
    counts = {
        "logged": len(pool),
        "distinct": len(unique),
        "train": int((~held_out).sum()),
        "held_out": int(held_out.sum()),
    }
    return chosen, counts
