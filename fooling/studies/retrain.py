"""The retraining study: evolve fooling images, add them as an extra class, retrain, repeat.

Nguyen, Yosinski & Clune (2015), section 3.3: DNN_1 is the normally trained network. Round i
evolves fooling images against DNN_i in several independent MAP-Elites runs, collects about as
many of them as one real class has training images (plus a held-out share), adds them to the
training set labelled "fooling" (earlier rounds' fooling images stay), and trains DNN_{i+1}. The
study ends with one more evolution, against the last network, so every retrained network is
attacked. Against an 11-class network the archive's cells are the 10 real classes only: the
softmax counts what the network gives to "fooling" against an image.

STUDY_DIR holds::

    study.json            the whole configuration (enough to rerun the study)
    state.json            progress and results, written atomically after every step
    networks/dnn_01.pt    each network's weights (state dict; +.pt2 program for a user's model)
    round_01/run_1 ...    MAP-Elites run directories (resumable on their own)
    round_01/fooling.npz  the round's fooling images (train and held-out)
    round_01/gallery/     the elites of the round's first run, re-scored as 8-bit PNGs
    rounds.csv  fooling_shares.csv  report.md  rounds.png

A killed study (even kill -9) continues with ``fooling retrain --resume --out STUDY_DIR``: done
steps are read from state.json, an interrupted run continues from its own checkpoint, and an
interrupted collection, training or evaluation is redone. Every random choice is seeded from the
study's seed, so a resumed study gives the same networks, images and figures as an uninterrupted
one (on the same machine and thread count; wall times differ).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from archives.atomic import atomic_write_json
from evolve.config import (
    DEFAULT_THRESHOLD,
    StopConditions,
    foreign_file,
    new_run_id,
)
from evolve.encodings import build_encoding
from evolve.errors import RunError
from evolve.memory import check_fits, generation_bytes
from evolve.observers import Observer
from evolve.run_dir import ELITE_LOG_FILE
from fitness.loading import TargetOptions, load_target
from fitness.retrainable import (
    TrainingSet,
    TrainSettings,
    predict_classes,
    retrainable,
    train_network,
    training_set,
)
from fitness.target import Target, TargetError
from fooling.run_spec import RunSpec, run_spec
from fooling.studies.fooling_set import FoolingSet, collect, image_digests, pool_from_logs
from fooling.studies.retrain_state import (
    DIGESTS,
    check_files,
    config_problem,
    digests_of,
    file_digest,
    network_files,
    state_problem,
)
from fooling.studies.study import (
    STATE_FILE,
    StudyState,
    derived_seed,
    fixed_threads,
    prepare_study_dir,
    read_json,
    read_state,
    remove_study,
    run_round,
    summarise_runs,
)

STUDY_FILE = "study.json"
STUDY_FORMAT = "fooling-retrain-study"
STATE_FORMAT = "fooling-retrain-state"
VERSION = 1
NETWORKS_DIR = "networks"
FOOLING_FILE = "fooling.npz"
REPORT_FILES = ("rounds.csv", "fooling_shares.csv", "report.md", "rounds.png")
# What --overwrite removes: only what a study writes (round_NN folders are matched separately).
STUDY_ARTIFACTS = (STUDY_FILE, STATE_FILE, NETWORKS_DIR, *REPORT_FILES)


#: Generations per run: the original code's MNIST direct runs (docs/protocol.md); a run stops
#: earlier once every class reaches the threshold.
DEFAULT_MAX_GENERATIONS = 1010


@dataclass
class StudyConfig:
    """Everything a study was asked to do (study.json)."""

    target: dict[str, Any]  # TargetOptions of DNN_1's family (with --weights: DNN_1 itself)
    encoding: dict[str, Any]  # the encoding's config(), for the target's image shape
    rounds: int = 15
    runs: int = 3
    seed: int = 0
    batch: int = 200
    initial_population: int = 200
    stop: StopConditions = field(
        default_factory=lambda: StopConditions(
            max_generations=DEFAULT_MAX_GENERATIONS, until=DEFAULT_THRESHOLD
        )
    )
    threshold: float = DEFAULT_THRESHOLD
    collect_min: float = 0.99
    per_round: int | None = None  # fooling images added per round; None: one real class's count
    held_out: int | None = None  # extra fooling images held out per round; None: per_round // 10
    train: TrainSettings = field(default_factory=TrainSettings)
    fine_tune: bool = False
    data_dir: str | None = None
    train_dir: str | None = None
    test_dir: str | None = None
    test_fraction: float = 0.1
    checkpoint_every: int = 20
    gallery: bool = True
    # CPU threads for torch and numba, fixed (not "all cores") because results are reproducible
    # for a fixed count only. 2 suits the small LeNet; 1 is faster on an oversubscribed machine.
    threads: int = 2
    # Images scored together in each run (evolve.evaluator.chunk_bounds), in this process and on
    # Ray workers alike; None (studies made before chunks): a generation in one call.
    chunk: int | None = None
    # What makes each run's children (evolve.emitters settings); None (studies made before
    # emitters): the paper's operators.
    emitters: list[dict[str, Any]] | None = None
    # Written at creation into study.json and state.json, which must agree (None: a study made
    # before study ids).
    study_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, tagged with the format and version."""
        return {"format": STUDY_FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = STUDY_FILE) -> StudyConfig:
        """Inverse of :meth:`to_dict`; a :class:`RunError` naming the problem."""
        data = dict(data)
        if data.pop("format", None) != STUDY_FORMAT:
            raise RunError(f"{where} is not a fooling retraining study")
        if data.pop("version", None) != VERSION:
            raise RunError(f"{where} has an unsupported study version")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise RunError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        try:
            data["stop"] = StopConditions(**data.get("stop", {}))
            data["train"] = TrainSettings(**data.get("train", {}))
            config = cls(**data)
        except TypeError as exc:
            raise RunError(f"{where} is corrupt ({exc})") from None
        problem = config.problem()
        if problem is not None:
            raise RunError(f"{where}: {problem}")
        return config

    def problem(self) -> str | None:
        """What is wrong with a study.json's values (:func:`config_problem`), or None."""
        return config_problem(self)


# Purposes of derived seeds, after the round number.
SEED_RUN, SEED_COLLECT, SEED_TRAIN, SEED_SPLIT = 0, 1, 2, 3


class Study(StudyState):
    """A retraining study in ``study_dir``: its configuration, data, networks and progress."""

    def __init__(
        self,
        study_dir: Path,
        config: StudyConfig,
        state: dict[str, Any],
        *,
        log: Callable[[str], None] = lambda line: None,
        progress: bool = False,
    ) -> None:
        super().__init__(study_dir, state)
        self.config = config
        self.log = log
        self.progress = progress
        # Makes each run's evaluator (encoding, target, chunk): Ray workers with --workers;
        # None scores in this process.
        self.evaluators: Callable[[Any, Target, int | None], Any] | None = None
        # What each run reports to beyond its folder (run folder -> observers; --tensorboard).
        self.observers: Callable[[Path], Sequence[Observer]] | None = None
        self.family = retrainable(TargetOptions.from_dict(config.target), config.train_dir)
        self.data: TrainingSet | None = None

    # ------------------------------------------------------------------------------ set-up
    @classmethod
    def create(
        cls,
        study_dir: Path,
        config: StudyConfig,
        *,
        overwrite: bool = False,
        log: Callable[[str], None] = lambda line: None,
        progress: bool = False,
    ) -> Study:
        """A new study: validate, load the data, then prepare the folder and write study.json."""
        study_dir = Path(study_dir)
        prepare_study_dir(study_dir, STUDY_FILE, overwrite)
        study = cls(study_dir, config, {}, log=log, progress=progress)
        study.check_generation_fits()
        data = study.training_data()
        counts = data.class_counts()
        if config.per_round is None:
            config.per_round = int(np.median(counts))
        if config.held_out is None:
            config.held_out = config.per_round // 10
        if overwrite:
            remove_study(study_dir, STUDY_ARTIFACTS)
        study_dir.mkdir(parents=True, exist_ok=True)
        config.study_id = new_run_id()
        atomic_write_json(study_dir / STUDY_FILE, config.to_dict())
        study.state = {
            "format": STATE_FORMAT,
            "version": VERSION,
            "study_id": config.study_id,
            "data": {
                "source": data.source,
                "classes": data.class_names,
                "train_size": int(len(data.train_labels)),
                "test_size": int(len(data.test_labels)),
            },
            "networks": [],
            "rounds": [],
            "finished": False,
            "sessions": [],
        }
        study.save_state()
        return study

    @classmethod
    def resume(
        cls,
        study_dir: Path,
        *,
        log: Callable[[str], None] = lambda line: None,
        progress: bool = False,
    ) -> Study:
        """The study in ``study_dir``, to continue where state.json says it stopped."""
        study_dir = Path(study_dir)
        config = StudyConfig.from_dict(
            read_json(study_dir / STUDY_FILE, "retraining study"), str(study_dir / STUDY_FILE)
        )
        state = read_state(study_dir, "retraining study", STATE_FORMAT, VERSION)
        foreign = foreign_file(state.get("study_id"), config.study_id)
        if foreign is not None:
            foreign = foreign.replace("run", "study")
            raise RunError(f"{study_dir / STATE_FILE} is not this study's: {foreign}")
        problem = state_problem(state, config)
        if problem is not None:
            raise RunError(f"{study_dir / STATE_FILE}: {problem}")
        return cls(study_dir, config, state, log=log, progress=progress)

    def check_generation_fits(self) -> None:
        """Refuse a --batch whose generation cannot fit in memory before the study starts
        (its first run would only begin after DNN_1 is trained)."""
        c = self.config
        spec = self.family.spec
        needed = generation_bytes(
            max(c.batch, c.initial_population),
            int(getattr(build_encoding(c.encoding), "num_genes", 0)),
            tuple(spec.shape),
            tuple(spec.shape),
            max_batch=int(c.target.get("max_batch", 1024)),
        )
        option = "--initial-population" if c.initial_population > c.batch else "--batch"
        population = max(c.batch, c.initial_population)
        check_fits(needed, f"{option} {population:,} (genomes, images and model inputs)")

    def check_files(self) -> None:
        """The files the state vouches for are those the study wrote, checked before it writes
        anything (:func:`fooling.studies.retrain_state.check_files`)."""
        check_files(self.dir, self.state, self.round_dir, FOOLING_FILE)

    def training_data(self) -> TrainingSet:
        """The real classes' train and test data (loaded once)."""
        if self.data is None:
            c = self.config
            self.data = training_set(
                self.family,
                data_dir=c.data_dir,
                train_dir=c.train_dir,
                test_dir=c.test_dir,
                test_fraction=c.test_fraction,
                seed=derived_seed(c.seed, 0, SEED_SPLIT),
            )
        return self.data

    def network_options(self, index: int) -> TargetOptions:
        """Target options of DNN_index."""
        return TargetOptions.from_dict(self.state["networks"][index - 1]["target"])

    @property
    def real_classes(self) -> list[int]:
        """Indices of the real classes in every network's output."""
        return list(range(len(self.family.class_names)))

    # ------------------------------------------------------------------------------ the loop
    def run(self) -> dict[str, Any]:
        """Run (or continue) the study to its end with ``config.threads`` CPU threads."""
        self.check_files()
        with fixed_threads(self.config.threads):
            return self._run()

    def _run(self) -> dict[str, Any]:
        config = self.config
        if not self.state["networks"]:
            self.first_network()
        for index in range(1, config.rounds + 2):
            if index <= len(self.state["rounds"]) and self.state["rounds"][index - 1].get("done"):
                continue
            if index > len(self.state["rounds"]):
                self.state["rounds"].append({"round": index, "runs": []})
                self.save_state()
            record = self.state["rounds"][index - 1]
            if "evolution" not in record:
                self.evolve(index, record)
            final = index == config.rounds + 1
            if not final:
                if "collection" not in record:
                    self.collect(index, record)
                if len(self.state["networks"]) < index + 1:
                    self.train(index)
                if "evaluation" not in self.state["networks"][index]:
                    self.evaluate(index + 1)
            record["done"] = True
            self.state["finished"] = final
            self.save_state()
            self.write_reports()
        return self.state

    def first_network(self) -> None:
        """DNN_1: the given weights, or trained now on the real classes like every later one."""
        options = TargetOptions.from_dict(self.config.target)
        started = time.perf_counter()
        training: dict[str, Any] | None = None
        if options.weights is None:
            data = self.training_data()
            self.log(f"training DNN_1 on {len(data.train_labels):,} images ({data.source})")
            model, history = train_network(
                self.family,
                len(self.family.class_names),
                data.train_images,
                data.train_labels,
                self.config.train,
                seed=derived_seed(self.config.seed, 1, SEED_TRAIN),
                progress=self.progress,
            )
            (self.dir / NETWORKS_DIR).mkdir(exist_ok=True)
            options = self.family.save(
                model, len(self.family.class_names), self.dir / NETWORKS_DIR / "dnn_01"
            )
            training = {
                "seconds": time.perf_counter() - started,
                "train_size": int(len(data.train_labels)),
                "fooling_in_training": 0,
                "history": history,
            }
        target = options.to_dict()
        self.state["networks"].append(
            {
                "network": 1,
                "target": target,
                "training": training,
                DIGESTS: digests_of(network_files(target)),
            }
        )
        self.save_state()
        self.evaluate(1)

    def load(self, index: int) -> Target:
        """DNN_index as a target; its output classes must be the study's."""
        target = load_target(self.network_options(index), progress=self.progress)
        names = self.family.names_for(target.num_classes)
        if target.class_names != names:
            raise TargetError(
                f"DNN_{index} has classes {target.class_names[:12]}, expected {names[:12]}"
            )
        if tuple(target.image_shape) != self.family.spec.shape:
            raise TargetError(
                "retraining needs evolved images at the model's input size "
                f"({self.family.spec.shape}), not {tuple(target.image_shape)}"
            )
        return target

    def evolve(self, index: int, record: dict[str, Any]) -> None:
        """Round ``index``'s runs against DNN_index, each resumed where it stopped."""
        config = self.config
        target = self.load(index)
        encoding = build_encoding(config.encoding)
        folder = self.round_dir(index)

        def run_done(run: int, summary: dict[str, Any]) -> None:
            self.save_state()
            reached = summary["all_at_threshold"]
            self.log(
                f"round {index} run {run}/{config.runs} vs DNN_{index}: "
                f"{summary['classes_at_threshold']}/{len(self.real_classes)} classes >= "
                f"{config.threshold} after {summary['evaluations']:,} evaluations"
                + (f" (all at {reached['evaluations']:,})" if reached else " (not all reached)")
                + f", median {summary['median_confidence']:.6f}, {summary['wall_s']:.1f} s"
            )

        run_round(
            folder,
            config.runs,
            record["runs"],
            target,
            encoding,
            lambda run: self.spec_of(index, run),
            progress=self.progress,
            where=f"round {index}, run {{run}}",
            resume_command=f"fooling retrain --resume --out {self.dir}",
            on_run_done=run_done,
            evaluators=self.evaluators,
            observers=self.observers,
        )
        started = time.perf_counter()
        record["evolution"] = summarise_runs(record["runs"], config.threshold)
        if config.gallery:
            from fooling.reports.gallery import make_gallery

            make_gallery(folder / "run_1", folder / "gallery", progress=False)
            record["gallery_s"] = time.perf_counter() - started
        self.save_state()

    def spec_of(self, index: int, run: int) -> RunSpec:
        """What run ``run`` of round ``index`` asks for: DNN_index, real classes only, elites
        logged from ``collect_min``; its folder is the round's (:func:`run_round`)."""
        c = self.config
        return run_spec(
            {
                "target_options": self.network_options(index),
                "cells": self.real_classes,
                "encoding": c.encoding["name"],
                "batch": c.batch,
                "initial_population": c.initial_population,
                "seed": derived_seed(c.seed, index, SEED_RUN, run),
                "max_generations": c.stop.max_generations,
                "max_evaluations": c.stop.max_evaluations,
                "time_limit": c.stop.time_limit_s,
                "until": c.stop.until,
                "threshold": c.threshold,
                "checkpoint_every": c.checkpoint_every,
                "chunk": c.chunk,
                "emitters": c.emitters,
                "elite_log_min": c.collect_min,
            }
        )

    def fooling_sets(self, upto: int) -> list[FoolingSet]:
        """The collected fooling images of rounds 1..upto."""
        return [FoolingSet.load(self.round_dir(i) / FOOLING_FILE) for i in range(1, upto + 1)]

    def collect(self, index: int, record: dict[str, Any]) -> None:
        """Draw round ``index``'s fooling images from its runs' elite logs."""
        started = time.perf_counter()
        c = self.config
        encoding = build_encoding(c.encoding)
        folder = self.round_dir(index)
        logs = [folder / f"run_{run}" / ELITE_LOG_FILE for run in range(1, c.runs + 1)]
        pool = pool_from_logs(logs, encoding, self.real_classes)
        seen: set[bytes] = set()
        for earlier in self.fooling_sets(index - 1):
            seen.update(image_digests(earlier.images))
        rng = np.random.default_rng(derived_seed(c.seed, index, SEED_COLLECT))
        chosen, counts = collect(pool, c.per_round, c.held_out, rng, seen)
        chosen.save(folder / FOOLING_FILE)
        record["collection"] = {
            **counts,
            "seconds": time.perf_counter() - started,
            DIGESTS: file_digest(folder / FOOLING_FILE),
        }
        self.save_state()
        self.log(
            f"round {index}: {counts['train']} fooling images for training and "
            f"{counts['held_out']} held out, from {counts['distinct']:,} distinct of "
            f"{counts['logged']:,} logged elites >= {c.collect_min}"
        )

    def train(self, index: int) -> None:
        """Train DNN_{index+1} on the real classes plus rounds 1..index's fooling images."""
        started = time.perf_counter()
        data = self.training_data()
        fooling = [s.train_images for s in self.fooling_sets(index)]
        extra = np.concatenate(fooling) if fooling else data.train_images[:0]
        images = np.concatenate([data.train_images, extra])
        fooling_label = len(self.family.class_names)
        labels = np.concatenate([data.train_labels, np.full(len(extra), fooling_label)])
        start_from = None
        if self.config.fine_tune:
            start_from = {
                k: v.detach().cpu() for k, v in self.load(index).model.state_dict().items()
            }
        network = index + 1
        self.log(
            f"training DNN_{network} on {len(images):,} images ({len(extra):,} fooling)"
            + (f", fine-tuning DNN_{index}" if start_from is not None else "")
        )
        model, history = train_network(
            self.family,
            fooling_label + 1,
            images,
            labels,
            self.config.train,
            seed=derived_seed(self.config.seed, network, SEED_TRAIN),
            start_from=start_from,
            progress=self.progress,
        )
        (self.dir / NETWORKS_DIR).mkdir(exist_ok=True)
        options = self.family.save(
            model, fooling_label + 1, self.dir / NETWORKS_DIR / f"dnn_{network:02d}"
        )
        target = options.to_dict()
        self.state["networks"].append(
            {
                "network": network,
                "target": target,
                DIGESTS: digests_of(network_files(target)),
                "training": {
                    "seconds": time.perf_counter() - started,
                    "train_size": int(len(labels)),
                    "fooling_in_training": int(len(extra)),
                    "fine_tuned_from": index if start_from is not None else None,
                    "history": history,
                },
            }
        )
        self.save_state()

    def evaluate(self, network: int) -> None:
        """DNN_network's clean test accuracy and the share of each round's fooling images it
        labels "fooling" (training and held-out images separately)."""
        started = time.perf_counter()
        data = self.training_data()
        target = self.load(network)
        fooling_index = len(self.family.class_names)
        predicted = predict_classes(target, data.test_images)
        evaluation: dict[str, Any] = {
            "test_accuracy": float((predicted == data.test_labels).mean()),
            "test_labelled_fooling": float((predicted == fooling_index).mean()),
            "fooling_detected": [],
        }
        for source, images in enumerate(self.fooling_sets(network - 1), start=1):
            for split, subset in (
                ("train", images.train_images),
                ("held_out", images.held_out_images),
            ):
                labels = predict_classes(target, subset)
                evaluation["fooling_detected"].append(
                    {
                        "round": source,
                        "split": split,
                        "images": int(len(subset)),
                        "share": float((labels == fooling_index).mean()) if len(subset) else None,
                    }
                )
        evaluation["seconds"] = time.perf_counter() - started
        self.state["networks"][network - 1]["evaluation"] = evaluation
        self.save_state()
        held = [d for d in evaluation["fooling_detected"] if d["split"] == "held_out"]
        self.log(
            f"DNN_{network}: test accuracy {evaluation['test_accuracy']:.4f}"
            + (
                f", held-out fooling images of round {network - 1} labelled fooling: "
                f"{held[-1]['share']:.3f}"
                if held and held[-1]["share"] is not None
                else ""
            )
        )

    def write_reports(self) -> None:
        """rounds.csv, fooling_shares.csv, report.md and rounds.png from the state so far."""
        from fooling.reports.retrain import write_reports

        started = time.perf_counter()
        write_reports(self.dir, self.config, self.state)
        self.state.setdefault("report_s", 0.0)
        self.state["report_s"] += time.perf_counter() - started
        self.save_state()
