"""The per-class archive: insertion semantics, statistics, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from archives import ArchiveError, EliteArchive
from evolve.encodings import DirectEncoding

ENCODING = DirectEncoding(channels=1, height=2, width=2)


def make_archive(classes: int = 3) -> EliteArchive:
    return EliteArchive(range(classes), [f"c{i}" for i in range(classes)], ENCODING.empty(classes))


def genomes(n: int) -> np.ndarray:
    return np.arange(n * 4, dtype=np.float32).reshape(n, 4) / (n * 4)


def test_a_candidate_takes_every_class_it_beats() -> None:
    archive = make_archive()
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    improved = archive.insert(genomes(2), probs, generation=0, evaluations_before=0)
    assert sorted(improved) == [0, 1, 2]
    # Candidate 0 holds classes 0 and 1 although its argmax is class 0 only.
    np.testing.assert_array_equal(archive.genomes[0], genomes(2)[0])
    np.testing.assert_array_equal(archive.genomes[1], genomes(2)[0])
    np.testing.assert_array_equal(archive.genomes[2], genomes(2)[1])
    np.testing.assert_allclose(archive.fitness, [0.5, 0.3, 0.8])
    np.testing.assert_allclose(archive.probabilities[1], probs[0])
    assert list(archive.evaluation) == [1, 1, 2]


def test_replacement_is_strict_and_first_of_equals_wins() -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.4, 0.4, 0.2]]), 0, 0)
    tie = np.array([[0.4, 0.3, 0.3], [0.2, 0.5, 0.3], [0.2, 0.3, 0.5]])
    improved = archive.insert(genomes(3) + 1, tie, generation=1, evaluations_before=1)
    assert sorted(improved) == [1, 2]
    assert archive.generation[0] == 0  # 0.4 does not beat 0.4
    np.testing.assert_array_equal(archive.genomes[0], genomes(1)[0])
    np.testing.assert_array_equal(archive.genomes[1], genomes(3)[1] + 1)
    np.testing.assert_array_equal(archive.genomes[2], genomes(3)[2] + 1)
    assert list(archive.evaluation) == [1, 1 + 2, 1 + 3]
    assert list(archive.generation) == [0, 1, 1]


def test_ties_inside_a_batch_go_to_the_first_candidate() -> None:
    archive = make_archive(1)
    archive.insert(genomes(3), np.array([[0.7], [0.7], [0.1]]), 0, 10)
    np.testing.assert_array_equal(archive.genomes[0], genomes(3)[0])
    assert archive.evaluation[0] == 11


def test_cells_can_cover_a_subset_of_classes() -> None:
    archive = EliteArchive([2, 0], ["a", "b", "c"], ENCODING.empty(2))
    archive.insert(genomes(2), np.array([[0.1, 0.1, 0.8], [0.6, 0.3, 0.1]]), 0, 0)
    assert archive.cell_names == ["c", "a"]
    np.testing.assert_allclose(archive.fitness, [0.8, 0.6])


def with_values(archive: EliteArchive, **fields: np.ndarray) -> EliteArchive:
    """The archive as stored, with some fields replaced (as a hand-edited file would be)."""
    arrays = {**archive.to_arrays(ENCODING), **fields}
    return EliteArchive.from_arrays(arrays, ENCODING)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("fitness", [np.nan, 0.5, 0.5], "fitness holds NaN"),
        ("fitness", [1.5, 0.5, 0.5], r"fitness outside \[0, 1\]"),
        ("probabilities", np.full((3, 3), -0.1), "probabilities hold NaN or negative"),
        ("generation", [-5, 0, 0], "negative generation"),
        ("evaluation", [0, 1, 1], "negative generation or evaluation"),
        ("fitness", [0.5, 0.5], "inconsistent shapes"),
        ("scorings", [0, 1, 1], "scorings count is below 1"),
        ("scorings", [1, 1], "inconsistent shapes"),
    ],
)
def test_stored_values_are_checked(field: str, value, message: str) -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.5, 0.3, 0.2]]), 0, 0)
    with pytest.raises(ArchiveError, match=message):
        with_values(archive, **{field: np.array(value)})


def test_statistics_count_empty_cells_as_zero() -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.99995, 0.00004, 0.00001]]), 0, 0)
    archive = with_values(archive, fitness=np.array([0.99995, 0.00004, -np.inf]))  # 3rd empty
    assert not archive.fitness.flags.writeable
    stats = archive.stats(threshold=0.9999)
    assert stats["coverage"] == pytest.approx(2 / 3)
    assert stats["min"] == 0.0
    assert stats["max"] == pytest.approx(0.99995)
    assert stats["qd_score"] == pytest.approx(0.99995 + 0.00004)
    assert stats["cells_at_threshold"] == 1
    assert not archive.all_at(0.9999)


def test_save_and_load_round_trip(tmp_path) -> None:
    archive = make_archive()
    archive.insert(genomes(2), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]), 3, 7)
    archive.rescore(np.array([0, 2]), np.full((2, 3), 1 / 3), average=True)
    archive.save(tmp_path / "a.npz", ENCODING)
    loaded = EliteArchive.load(tmp_path / "a.npz", ENCODING)
    for field in ("genomes", "fitness", "probabilities", "generation", "evaluation", "scorings"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(archive, field))
    assert loaded.class_names == archive.class_names
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]  # no temporary file left behind


def test_corrupt_and_foreign_files_are_named(tmp_path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ArchiveError, match="corrupt"):
        EliteArchive.load(tmp_path / "bad.npz", ENCODING)
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(ArchiveError, match="corrupt or foreign"):
        EliteArchive.load(tmp_path / "foreign.npz", ENCODING)
    with pytest.raises(ArchiveError, match="no such file"):
        EliteArchive.load(tmp_path / "missing.npz", ENCODING)


def test_genomes_of_another_shape_are_refused(tmp_path) -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.5, 0.3, 0.2]]), 0, 0)
    archive.save(tmp_path / "a.npz", ENCODING)
    with pytest.raises(ArchiveError, match="gene"):
        EliteArchive.load(tmp_path / "a.npz", DirectEncoding(channels=1, height=3, width=3))


def test_rescore_changes_scores_not_elites() -> None:
    """Rescoring (noisy robust fitness) gives elites fresh scores, lower or higher; the images,
    generations and evaluations that found them stay, and a later child must beat the new score."""
    archive = make_archive()
    archive.insert(genomes(2), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]), 0, 0)
    fresh = np.array([[0.2, 0.7, 0.1], [0.6, 0.1, 0.3]])
    archive.rescore(np.array([0, 2]), fresh)
    np.testing.assert_allclose(archive.fitness, [0.2, 0.3, 0.3])
    np.testing.assert_allclose(archive.probabilities[2], fresh[1])
    np.testing.assert_array_equal(archive.genomes[2], genomes(2)[1])
    assert list(archive.evaluation) == [1, 1, 2] and list(archive.generation) == [0, 0, 0]
    improved = archive.insert(genomes(1), np.array([[0.25, 0.0, 0.0]]), 1, 2)
    assert list(improved) == [0]  # 0.25 beats the rescored 0.2, not the 0.5 it entered with
    with pytest.raises(ValueError, match="occupied"):
        make_archive().rescore(np.array([0]), np.ones((1, 3)) / 3)


def test_averaged_rescores_keep_the_running_mean_of_every_score() -> None:
    """--robust-elites average: an elite's fitness is the mean of its entry score and every
    rescore since, so its estimate sharpens with age; a new elite starts again from one score."""
    archive = make_archive()
    archive.insert(genomes(2), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]), 0, 0)
    assert list(archive.scorings) == [1, 1, 1]
    archive.rescore(np.array([0, 2]), np.array([[0.2, 0.7, 0.1], [0.6, 0.1, 0.3]]), average=True)
    archive.rescore(np.array([0]), np.array([[0.8, 0.1, 0.1]]), average=True)
    np.testing.assert_allclose(archive.fitness, [(0.5 + 0.2 + 0.8) / 3, 0.3, (0.8 + 0.3) / 2])
    np.testing.assert_allclose(archive.probabilities[0], np.array([1.5, 1.1, 0.4]) / 3)
    np.testing.assert_allclose(archive.probabilities[0].sum(), 1.0)
    assert list(archive.scorings) == [3, 1, 2]
    improved = archive.insert(genomes(1), np.array([[0.51, 0.0, 0.0]]), 1, 2)
    assert list(improved) == [0] and list(archive.scorings) == [1, 1, 2]
    np.testing.assert_allclose(archive.fitness[0], 0.51)


def test_archives_saved_before_scorings_were_counted_read_one_per_elite(tmp_path) -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.5, 0.3, 0.2]]), 0, 0)
    arrays = archive.to_arrays(ENCODING)
    del arrays["scorings"]
    old = EliteArchive.from_arrays(arrays, ENCODING)
    assert list(old.scorings) == [1, 1, 1]
    empty = EliteArchive.from_arrays(
        {k: v for k, v in make_archive().to_arrays(ENCODING).items() if k != "scorings"}, ENCODING
    )
    assert list(empty.scorings) == [0, 0, 0]


# ------------------------------------------------------------------ ties broken by log-odds
def test_equal_probabilities_are_ranked_by_log_odds() -> None:
    """Probabilities that round to exactly 0.0 or 1.0 tie; the log-odds still order them."""
    archive = make_archive(2)
    archive.insert(genomes(1), np.array([[0.0, 1.0]]), 0, 0, log_odds=np.array([[-1200.0, 40.0]]))
    batch = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    log_odds = np.array([[-1300.0, 39.0], [-900.0, 45.0], [-900.0, 38.0]])
    improved = archive.insert(genomes(3) + 1, batch, 1, 1, log_odds=log_odds)
    assert sorted(improved) == [0, 1]
    np.testing.assert_array_equal(archive.log_odds, [-900.0, 45.0])
    np.testing.assert_array_equal(archive.fitness, [0.0, 1.0])  # what readers show: unchanged
    assert list(archive.evaluation) == [1 + 2, 1 + 2]  # the first of the best (-900 twice)
    # Equal log-odds as well: the elite stays (strict), as with equal probabilities before.
    same = archive.insert(genomes(1), np.array([[0.0, 1.0]]), 2, 4, log_odds=log_odds[1:2])
    assert same.size == 0


def test_a_higher_probability_wins_whatever_the_log_odds_say() -> None:
    """The probability decides every comparison it can: log-odds that disagree with it by
    rounding cannot change a decision the probability made before."""
    archive = make_archive(1)
    archive.insert(genomes(1), np.array([[0.5]]), 0, 0, log_odds=np.array([[5.0]]))
    improved = archive.insert(genomes(1) + 1, np.array([[0.6]]), 1, 1, log_odds=np.array([[1.0]]))
    assert list(improved) == [0] and archive.log_odds[0] == 1.0
    assert archive.insert(genomes(1), np.array([[0.55]]), 2, 2, log_odds=[[9.0]]).size == 0


def test_without_log_odds_equal_probabilities_still_tie() -> None:
    """Log-odds derived from probabilities (no logits): -inf at 0 and +inf at 1, no tie broken."""
    archive = make_archive(2)
    archive.insert(genomes(1), np.array([[0.0, 1.0]]), 0, 0)
    np.testing.assert_array_equal(archive.log_odds, [-np.inf, np.inf])
    scored = np.array([[0.0, 1.0]])
    assert archive.insert(genomes(1) + 1, scored, 1, 1, log_odds=[[-5.0, 60.0]]).tolist() == [0]


def test_insert_assigned_and_rescore_keep_log_odds() -> None:
    archive = make_archive(2)
    archive.insert_assigned(
        genomes(2), np.zeros((2, 2)), np.array([0, 1]), 0, 0, log_odds=np.full((2, 2), -800.0)
    )
    better = np.array([[-700.0, -900.0], [-900.0, -900.0]])
    replaced = archive.insert_assigned(
        genomes(2) + 1, np.zeros((2, 2)), np.array([0, 1]), 1, 2, log_odds=better
    )
    assert list(replaced) == [0]
    archive.rescore(np.array([1]), np.array([[0.0, 0.0]]), log_odds=np.array([[0.0, -750.0]]))
    np.testing.assert_array_equal(archive.log_odds, [-700.0, -750.0])


def test_log_odds_round_trip_and_are_checked(tmp_path) -> None:
    archive = make_archive()
    archive.insert(genomes(1), np.array([[0.0, 1.0, 0.0]]), 0, 0, log_odds=[[-800, 50, -900]])
    archive.save(tmp_path / "a.npz", ENCODING)
    np.testing.assert_array_equal(
        EliteArchive.load(tmp_path / "a.npz", ENCODING).log_odds, [-800.0, 50.0, -900.0]
    )
    with pytest.raises(ArchiveError, match="log_odds hold NaN"):
        with_values(archive, log_odds=np.array([np.nan, 50.0, -900.0]))
    with pytest.raises(ArchiveError, match="inconsistent shapes"):
        with_values(archive, log_odds=np.zeros(2))


def version_1_arrays(archive: EliteArchive) -> dict[str, np.ndarray]:
    """What the previous code wrote: format version 1, no log_odds array."""
    import json

    arrays = archive.to_arrays(ENCODING)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "version": 1}))
    del arrays["log_odds"]
    return arrays


def test_a_version_1_archive_loads_with_log_odds_from_its_probabilities(tmp_path) -> None:
    archive = make_archive(4)
    archive.insert(genomes(1), np.array([[0.0, 1.0, 0.25, 0.75]]), 0, 0)
    np.savez(tmp_path / "v1.npz", **version_1_arrays(archive))
    loaded = EliteArchive.load(tmp_path / "v1.npz", ENCODING)
    np.testing.assert_array_equal(loaded.fitness, archive.fitness)
    np.testing.assert_array_equal(loaded.log_odds[:2], [-np.inf, np.inf])
    np.testing.assert_allclose(loaded.log_odds[2:], [np.log(1 / 3), np.log(3)], rtol=1e-12)
    # Saved again, it is a current archive.
    loaded.save(tmp_path / "v2.npz", ENCODING)
    assert "log_odds" in np.load(tmp_path / "v2.npz").files


def test_an_unknown_archive_version_is_refused_by_name(tmp_path) -> None:
    import json

    arrays = make_archive().to_arrays(ENCODING)
    arrays["meta"] = np.array(json.dumps({**json.loads(str(arrays["meta"])), "version": 3}))
    with pytest.raises(ArchiveError, match="archive format version 3 is not supported"):
        EliteArchive.from_arrays(arrays, ENCODING)


def reference_winners(fitness, keys, old_fitness, old_keys):
    """Insertion's rule written out in NumPy: per cell the first row with the highest
    (probability, log-odds); it wins where it beats the elite strictly, ties by log-odds."""
    top = fitness == fitness.max(axis=0)
    top_keys = np.where(top, keys, -np.inf).max(axis=0)
    best = np.argmax(top & (keys == top_keys), axis=0)
    columns = np.arange(fitness.shape[1])
    f, k = fitness[best, columns], keys[best, columns]
    cells = np.flatnonzero((f > old_fitness) | ((f == old_fitness) & (k > old_keys)))
    return cells, best[cells]


def test_insert_follows_the_rule_on_batches_full_of_ties() -> None:
    # Few distinct values, so that probabilities tie within a batch and with the elites, and
    # log-odds ties too: every branch of the rule is taken many times.
    rng = np.random.default_rng(7)
    archive = make_archive(5)
    for generation in range(60):
        rows = int(rng.integers(1, 9))
        probabilities = rng.integers(0, 4, size=(rows, 5)) / 4
        log_odds = rng.integers(0, 3, size=(rows, 5)).astype(np.float64)
        old_fitness, old_keys = archive.fitness.copy(), archive.log_odds.copy()
        cells, winners = reference_winners(probabilities, log_odds, old_fitness, old_keys)
        batch = genomes(rows) + generation
        improved = archive.insert(batch, probabilities, generation, 0, log_odds=log_odds)
        np.testing.assert_array_equal(improved, cells)
        np.testing.assert_array_equal(archive.fitness[cells], probabilities[winners, cells])
        np.testing.assert_array_equal(archive.log_odds[cells], log_odds[winners, cells])
        np.testing.assert_array_equal(archive.genomes[cells], batch[winners])
        np.testing.assert_array_equal(archive.evaluation[cells], winners + 1)


def test_a_nan_score_never_takes_a_cell() -> None:
    archive = make_archive(2)
    probabilities = np.array([[np.nan, 0.2], [0.5, np.nan]])
    improved = archive.insert(genomes(2), probabilities, generation=0, evaluations_before=0)
    np.testing.assert_array_equal(improved, [0, 1])
    np.testing.assert_array_equal(archive.fitness, [0.5, 0.2])
    assert archive.insert(genomes(1), np.array([[np.nan, np.nan]]), 1, 2).size == 0
    assert archive.insert(genomes(0), np.zeros((0, 2)), 2, 3).size == 0
