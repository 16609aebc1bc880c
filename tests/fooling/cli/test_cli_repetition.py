"""``fooling repetition RUN_DIR``: a row per elite, noise-like elites reported as without
repetition, and a folder that is not a run is one line."""

from __future__ import annotations

import csv
import json

from cli_helpers import assert_one_line_error, run_cli


def test_repetition_on_a_run(finished_run, tmp_path, capsys):
    out = tmp_path / "repetition"
    code, stdout, err = run_cli(capsys, "repetition", finished_run, "--out", out, "-q")
    assert code == 0, err
    with open(out / "repetition.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((out / "repetition.json").read_text())["summary"]
    assert len(rows) == summary["elites"] > 0
    # Early direct-encoding elites are noise: no motif, reported as such and left alone.
    plain = [row for row in rows if row["repetition"] == "False"]
    assert len(plain) == summary["without_repetition"] > 0
    assert all(row["confidence_after"] == "" and row["pixels_changed"] == "0" for row in plain)
    assert "without detectable repetition" in stdout
    code, _, err = run_cli(capsys, "repetition", tmp_path, "--out", tmp_path / "again")
    assert_one_line_error(code, err, "not a fooling run directory")
    assert not (tmp_path / "again").exists()
