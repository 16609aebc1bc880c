"""The one CSV writer every report uses."""

from __future__ import annotations

import csv

from fooling.reports.tables import write_csv


def read(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_named_columns_order_and_limit_the_table(tmp_path) -> None:
    path = tmp_path / "t.csv"
    rows = [{"b": 0.1234567890123, "a": "x", "extra": 1}, {"a": "y", "b": None}]
    write_csv(path, rows, ["a", "b"])
    assert read(path) == [["a", "b"], ["x", "0.1234567890123"], ["y", ""]]


def test_without_columns_the_union_of_keys_in_first_seen_order(tmp_path) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, [{"round": 1, "fooled": 3}, {"round": 2, "clean": 0.97}])
    assert read(path) == [["round", "fooled", "clean"], ["1", "3", ""], ["2", "", "0.97"]]
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left beside it
