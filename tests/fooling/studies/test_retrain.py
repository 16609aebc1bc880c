"""The retraining study: real LeNet training and real evolution with tiny budgets."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

import evolve.map_elites
import fitness.retrainable
from archives import EliteArchive
from evolve.config import RunConfig
from evolve.encodings import build_encoding
from fitness.image_folder import load_image_folder, split_fraction
from fitness.loading import TargetOptions, load_target
from fitness.target import TargetError
from fooling.cli import main
from fooling.studies.fooling_set import FoolingSet, collect, image_digests, spread_draw
from fooling.studies.retrain import Study, StudyConfig

TIMING = ("_s", "seconds", "wall_s", "elapsed_s", "evaluations_per_s")
#: Identities and file digests: drawn at random for each study and run, or of files whose paths
#: (and zip timestamps) differ between two studies.
IDENTITY = ("study_id", "run_id", "sha256")


class Crash(Exception):
    """Stands in for kill -9: nothing after it runs, no final checkpoint is written."""


def untimed(value):
    """``value`` without wall-time, identity and digest fields (they differ between two
    identical studies)."""
    if isinstance(value, dict):
        return {
            k: untimed(v) for k, v in value.items() if not k.endswith(TIMING) and k not in IDENTITY
        }
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def results(study_dir):
    """What must be equal between two studies with the same seed."""
    state = json.loads((study_dir / "state.json").read_text())
    for network in state["networks"]:
        network.pop("target")  # absolute paths differ
    weights = {
        p.name: {k: v.numpy().tolist() for k, v in torch.load(p, weights_only=True).items()}
        for p in sorted((study_dir / "networks").glob("*.pt"))
    }
    fooling = {
        p.parent.name: {k: v.tolist() for k, v in np.load(p).items()}
        for p in sorted(study_dir.glob("round_*/fooling.npz"))
    }
    with open(study_dir / "rounds.csv") as handle:
        rows = [untimed(row) for row in csv.DictReader(handle)]
    state = untimed({k: v for k, v in state.items() if k not in ("sessions", "report_s")})
    return state, weights, fooling, rows


def test_study_writes_every_round_and_report(tiny_study):
    state = json.loads((tiny_study / "state.json").read_text())
    assert state["finished"] and len(state["networks"]) == 3 and len(state["rounds"]) == 3
    assert all(r["done"] for r in state["rounds"])
    for name in ("study.json", "rounds.csv", "fooling_shares.csv", "report.md", "rounds.png"):
        assert (tiny_study / name).is_file()
    assert (tiny_study / "round_01" / "gallery" / "grid.png").is_file()
    rows = list(csv.DictReader(open(tiny_study / "rounds.csv")))
    assert [int(r["network"]) for r in rows] == [1, 2, 3]
    assert all(0.5 < float(r["test_accuracy"]) <= 1 for r in rows)
    assert rows[0]["heldout_prev_round_fooling"] == ""  # DNN_1 has no fooling class
    assert 0.0 <= float(rows[1]["heldout_prev_round_fooling"]) <= 1.0
    fooled = state["rounds"][0]["collection"]
    assert fooled["train"] == 30 and fooled["held_out"] == 4
    # the training set grows by each round's fooling images, earlier rounds' kept
    second = state["rounds"][1]["collection"]["train"]
    assert [n["training"]["fooling_in_training"] for n in state["networks"]] == [0, 30, 30 + second]
    report = (tiny_study / "report.md").read_text()
    assert "| 3 |" in report and "99.99%" in report
    study = json.loads((tiny_study / "study.json").read_text())
    assert study["format"] == "fooling-retrain-study" and study["per_round"] == 30


def test_plot_compares_studies_and_refuses_a_mix(tiny_study, tmp_path, capsys):
    out = tmp_path / "compare.png"
    main(["plot", str(tiny_study), str(tiny_study), "--out", str(out)])
    assert out.stat().st_size > 1000
    run_dir = tiny_study / "round_01" / "run_1"
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", str(tiny_study), str(run_dir)])
    assert exit_info.value.code == 2
    assert "either one run directory or only study directories" in capsys.readouterr().err


def test_retrained_network_has_the_extra_class_and_fitness_counts_real_classes(tiny_study):
    options = TargetOptions(weights=str(tiny_study / "networks" / "dnn_02.pt"), device="cpu")
    target = load_target(options, progress=False)
    assert target.class_names == [*map(str, range(10)), "fooling"]
    run_dir = tiny_study / "round_02" / "run_1"
    config = RunConfig.load(run_dir / "config.json")
    assert config.class_names == target.class_names and config.cell_classes == list(range(10))
    assert config.elite_log_min == 0.2
    archive = EliteArchive.load(run_dir / "archive.npz", build_encoding(config.encoding))
    assert archive.probabilities.shape == (10, 11)
    np.testing.assert_allclose(archive.probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        archive.fitness, archive.probabilities[np.arange(10), np.arange(10)]
    )
    # a cell's fitness is its class's share of the 11-way softmax, "fooling" included
    # float32 softmax rows sum to 1 within ~1e-7 per entry
    assert np.all(archive.fitness <= 1.0 - archive.probabilities[:, 10] + 1e-6)
    fooling = FoolingSet.load(tiny_study / "round_01" / "fooling.npz")
    assert fooling.images.dtype == np.uint8 and fooling.images.shape[1:] == (1, 28, 28)
    assert len({im.tobytes() for im in fooling.images}) == len(fooling)  # no duplicates
    assert set(fooling.run) <= {1, 2} and np.all(fooling.fitness >= 0.2)


def test_resume_after_crashes_equals_uninterrupted(tiny_study, tmp_path, monkeypatch):
    config = StudyConfig.from_dict(json.loads((tiny_study / "study.json").read_text()))
    study_dir = tmp_path / "interrupted"
    real_step, real_train = evolve.map_elites.step, fitness.retrainable.train_classifier
    trainings = []

    def crashing_step(state, scheduler, evaluator, archive, batch):
        if evaluator.target.num_classes == 11 and state.generation == 9:  # round 2, run 1
            raise Crash
        return real_step(state, scheduler, evaluator, archive, batch)

    def crashing_train(model, *args, **kwargs):
        trainings.append(1)
        if len(trainings) == 1:  # the first training after resuming (DNN_3) is cut short
            raise Crash
        return real_train(model, *args, **kwargs)

    monkeypatch.setattr(evolve.map_elites, "step", crashing_step)
    with pytest.raises(Crash):
        Study.create(study_dir, config).run()
    state = json.loads((study_dir / "state.json").read_text())
    assert len(state["networks"]) == 2 and state["rounds"][0]["done"]
    assert "evolution" not in state["rounds"][1] and state["rounds"][1]["runs"] == []
    assert (study_dir / "round_02" / "run_1" / "checkpoint.npz").is_file()
    done_before = {
        p: p.stat().st_mtime_ns
        for p in [study_dir / "networks" / "dnn_02.pt", study_dir / "round_01" / "fooling.npz"]
    }

    monkeypatch.setattr(evolve.map_elites, "step", real_step)
    monkeypatch.setattr(fitness.retrainable, "train_classifier", crashing_train)
    with pytest.raises(Crash):
        Study.resume(study_dir).run()
    assert len(json.loads((study_dir / "state.json").read_text())["networks"]) == 2
    Study.resume(study_dir).run()

    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before  # rounds 1 not redone
    metrics = "round_02/run_1/metrics.jsonl"
    generations = [json.loads(line)["generation"] for line in open(study_dir / metrics)]
    assert generations == [json.loads(line)["generation"] for line in open(tiny_study / metrics)]
    assert generations[9] == 9  # the crashed run went past its crash point after resuming
    assert results(study_dir) == results(tiny_study)


def test_cli_refuses_bad_input(tiny_study, tmp_path, capsys):
    def fails(*args):
        with pytest.raises(SystemExit) as exit_info:
            main(["retrain", *args])
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    assert "already holds a study" in fails("--out", str(tiny_study))
    assert "cannot be given with --resume" in fails(
        "--resume", "--runs", "3", "--out", str(tiny_study)
    )
    assert "has no study.json" in fails("--resume", "--out", str(tmp_path / "x"))
    script = tmp_path / "model.pt2"  # any model file: a file cannot grow an output
    script.write_bytes(b"model")
    err = fails("--target", str(script), "--input-shape", "1,28,28", "--out", str(tmp_path / "s"))
    assert "num_classes" in err and err.count("\n") == 1
    err = fails("--target", "model_factories:lenet", "--input-shape", "1,28,28",
                "--train-dir", str(tmp_path), "--out", str(tmp_path / "s"))  # fmt: skip
    assert "num_classes" in err
    assert "budget" in fails("--max-generations", "0", "--out", str(tmp_path / "s"))
    assert not (tmp_path / "s").exists()


# ------------------------------------------------------------------------------ image folders
def write_folder(root, classes, per_class, size, mode, seed=0):
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = rng.integers(0, 60, shape, dtype=np.uint8)
            pixels[:, : size[0] // 3 * (label + 1)] += 150  # a class is a bright band
            Image.fromarray(pixels, mode).save(root / name / f"{i:03d}.png")


def test_image_folder_loads_resizes_and_labels(tmp_path):
    write_folder(tmp_path / "train", ["cat", "dog"], 3, (40, 30), "RGB")
    (tmp_path / "train" / ".hidden").mkdir()
    data = load_image_folder(tmp_path / "train", (1, 28, 28))
    assert data.images.shape == (6, 1, 28, 28) and data.images.dtype == np.uint8
    assert data.class_names == ["cat", "dog"] and data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    rgb = load_image_folder(tmp_path / "train", (3, 12, 16), ["dog", "cat"])
    assert rgb.images.shape == (6, 3, 12, 16) and rgb.class_names == ["dog", "cat"]
    assert rgb.labels.tolist() == [0, 0, 0, 1, 1, 1]
    dog, cat = rgb.images[rgb.labels == 0], rgb.images[rgb.labels == 1]
    assert dog.mean() > cat.mean() + 20  # dog's bright band is wider: labels follow the names
    with pytest.raises(TargetError, match="missing bird"):
        load_image_folder(tmp_path / "train", (1, 28, 28), ["cat", "dog", "bird"])
    (tmp_path / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(TargetError, match="cannot read image"):
        load_image_folder(tmp_path / "train", (1, 28, 28))
    with pytest.raises(TargetError, match="no class sub-folders"):
        load_image_folder(tmp_path / "train" / "dog", (1, 28, 28))
    train, test = split_fraction(np.array([0] * 10 + [1] * 3), 0.2, seed=0)
    assert len(test) == 3 and len(train) == 10 and not set(train) & set(test)


def test_users_factory_model_with_a_training_folder(tmp_path, capsys):
    write_folder(tmp_path / "train", ["a", "b", "c"], 12, (12, 12), "RGB")
    study_dir = tmp_path / "study"
    args = [
        "retrain", "--target", "retrain_factories:tiny_cnn", "--input-shape", "3,12,12",
        "--train-dir", str(tmp_path / "train"), "--rounds", "1", "--runs", "1", "--batch", "20",
        "--max-generations", "6", "--until", "0.9", "--collect-min", "0.3", "--epochs", "10",
        "--device", "cpu", "--quiet", "--no-gallery", "--out", str(study_dir),
    ]  # fmt: skip
    main(args)
    state = json.loads((study_dir / "state.json").read_text())
    assert state["data"]["classes"] == ["a", "b", "c"] and state["data"]["test_size"] == 3
    assert json.loads((study_dir / "study.json").read_text())["per_round"] == 11
    options = TargetOptions.from_dict(state["networks"][1]["target"])
    target = load_target(options, progress=False)
    assert target.class_names == ["a", "b", "c", "fooling"]
    config = RunConfig.load(study_dir / "round_02" / "run_1" / "config.json")
    assert config.cell_classes == [0, 1, 2] and config.encoding["channels"] == 3
    assert (study_dir / "networks" / "dnn_02.classes.txt").read_text().split() == [
        "a", "b", "c", "fooling",
    ]  # fmt: skip


# ------------------------------------------------------------------------------ collection
def test_collection_spreads_over_groups_drops_duplicates_and_is_seeded():
    groups = np.array([0] * 50 + [1] * 3 + [2] * 5)
    picked = spread_draw(groups, 9, np.random.default_rng(0))
    assert sorted(np.bincount(groups[picked], minlength=3)) == [3, 3, 3]
    images = np.zeros((6, 1, 2, 2), dtype=np.uint8)
    images[:, 0, 0, 0] = [1, 2, 2, 3, 4, 5]  # the third image repeats the second
    pool = FoolingSet(
        images, np.ones(6, int), np.arange(6), np.zeros(6, int), np.ones(6), np.zeros(6, bool)
    )
    seen = set(image_digests(images[[3]]))  # an earlier round already has the fourth image
    chosen, counts = collect(pool, 2, 1, np.random.default_rng(1), seen)
    assert counts == {"logged": 6, "distinct": 4, "train": 2, "held_out": 1}
    assert len({im.tobytes() for im in chosen.images}) == 3
    assert 3 not in chosen.images[:, 0, 0, 0]
    again, _ = collect(pool, 2, 1, np.random.default_rng(1), set(image_digests(images[[3]])))
    np.testing.assert_array_equal(again.images, chosen.images)
    short, counts = collect(pool, 10, 10, np.random.default_rng(1), set())
    assert counts["train"] + counts["held_out"] == 5 and counts["held_out"] == 2


def test_cppn_study_runs_a_round(tmp_path):
    study_dir = tmp_path / "cppn"
    main(["retrain", "--encoding", "cppn", "--rounds", "1", "--runs", "1", "--batch", "20",
          "--max-generations", "8", "--until", "0.99", "--collect-min", "0.2", "--per-round",
          "20", "--held-out", "4", "--epochs", "1", "--device", "cpu", "--quiet",
          "--out", str(study_dir)])  # fmt: skip
    state = json.loads((study_dir / "state.json").read_text())
    study = json.loads((study_dir / "study.json").read_text())
    assert state["finished"] and study["encoding"]["name"] == "cppn"
    assert 0 < state["rounds"][0]["collection"]["train"] <= 20
    assert (study_dir / "networks" / "dnn_02.pt").is_file()


def test_study_runs_with_the_cma_emitter(tmp_path):
    study_dir = tmp_path / "cma"
    main(["retrain", "--emitter", "cma", "--emitter-setting", "cma.lam=8", "--rounds", "1",
          "--runs", "1", "--batch", "40", "--initial-population", "10", "--max-evaluations",
          "400", "--until", "0.99", "--collect-min", "0.2", "--per-round", "20", "--held-out",
          "4", "--epochs", "1", "--device", "cpu", "--quiet", "--out", str(study_dir)])  # fmt: skip
    study = json.loads((study_dir / "study.json").read_text())
    assert study["emitters"] == [{"name": "cma", "share": 1.0, "lam": 8}]
    run = json.loads((study_dir / "round_01" / "run_1" / "config.json").read_text())
    assert run["emitters"] == study["emitters"]
    # The round's run was made by the CMA emitter: its strategies are in the checkpoint.
    checkpoint = np.load(study_dir / "round_01" / "run_1" / "checkpoint.npz")
    assert any(name.startswith("state_emitter.0.es.") for name in checkpoint.files)
    assert json.loads((study_dir / "state.json").read_text())["finished"]
