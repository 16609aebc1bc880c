"""Benchmark results as data: the result files follow the schema, every table a page asks for
exists, the tables keep their figures and machines, and the README quotes its set-up figures as
their result file has them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import ROOT, pages

# scripts/ is where benchmark scripts find bench_results (they run as `python scripts/X.py`);
# the docs hook imports it from there too.
sys.path.insert(0, str(ROOT / "scripts"))
from bench_results import (  # noqa: E402
    ResultError,
    add_result_options,
    all_results,
    check_result,
    command_line,
    load_result,
    machine_info,
    write_result,
)
from docs_hooks import MARKER, expand, format_cell, on_page_content, render  # noqa: E402


def marked_names() -> set[str]:
    """Every result a page shows."""
    return {
        name
        for page in pages()
        for match in MARKER.finditer(page.read_text(encoding="utf-8"))
        for name in match.group(1).split()
    }


@pytest.mark.parametrize("name", all_results())
def test_every_result_file_follows_the_schema(name: str) -> None:
    result = load_result(name)
    assert result["machine"]["cpu"], f"{name}: a result without its CPU says nothing"


def test_the_pages_show_results_that_exist_and_every_result_is_shown() -> None:
    shown, stored = marked_names(), set(all_results())
    assert len(stored) >= 30  # the README's dated figures, transcribed
    assert shown - stored == set(), "pages name results that have no file"
    # a committed result belongs on a page: add <!-- results: NAME --> where it is discussed
    assert stored - shown == set(), "result files that no page shows"


def test_a_table_keeps_its_figures_exactly_and_says_where_they_were_measured() -> None:
    text = render(["bench_mnist", "bench_mnist_earlier"], "benchmarks/mnist.md")
    # the README's cells: 0.998 and 2.50 (a column format keeps the trailing zero), 10,089
    assert "| 2026-11-25 instance | 200 (default) | 10,089 | 10,067 | 0.998 | 2.50 |" in text
    assert "| earlier instance | 100 | 16,388 | 15,315 | 0.94 | 1.17 |" in text
    assert "AMD EPYC, 2 cores, 24 GB, no GPU, torch 2.13.0+cpu; 2026-11-25" in text
    assert "date not recorded; commit not recorded" in text
    assert "[data](results/bench_mnist_earlier.json)" in text


def test_flat_figures_compare_side_by_side() -> None:
    text = render(["imagenet_cpu_demo", "imagenet_cpu_demo_558dfef"])
    assert "| figure | d0aab20 | 558dfef |" in text
    assert "| evolution, seconds | 862.6 | 720 |" in text
    assert "| gallery, seconds | 19.1 | – |" in text  # not measured in the rerun


def test_cells() -> None:
    assert format_cell(0.967, ",.4f") == "0.9670"
    assert format_cell(12_880, ",.2f") == "12,880"  # whole numbers keep their form
    assert format_cell(None) == "–" and format_cell("a | b") == "a \\| b"


def test_the_api_reference_shows_names_without_sphinx_roles() -> None:
    html = "a :class:<code>Target</code> from :func:<code>load_target</code>, or :note: x"
    assert on_page_content(html, None, None, None) == (
        "a <code>Target</code> from <code>load_target</code>, or :note: x"
    )


def test_a_marker_without_a_file_or_with_other_columns_fails() -> None:
    with pytest.raises(ResultError, match="no file"):
        expand("<!-- results: no_such_result -->\n")
    with pytest.raises(ResultError, match="other columns"):
        render(["bench_mnist", "cppn_host_path"])
    assert expand("text\n") == "text\n"


def test_the_schema_names_what_is_wrong() -> None:
    good = load_result("log_odds_cost")
    for change, message in [
        ({"date": "26 November"}, "'date'"),
        ({"commit": "HEAD"}, "'commit'"),
        ({"machine": {"cpu": "x"}}, "'machine'"),
        ({"figures": {"columns": ["a"], "rows": [[1, 2]]}}, "row 0"),
        ({"figures": {"a": [1]}}, "figure 'a'"),
        ({"name": "other"}, "'name'"),
    ]:
        with pytest.raises(ResultError, match=message):
            check_result(good | change, "log_odds_cost")


def test_write_result_records_machine_date_and_commit(tmp_path: Path) -> None:
    table = {"columns": ["batch", "evals/s"], "rows": [[200, 10067.5]]}
    path = write_result(
        "a_bench", table, command="python scripts/x.py", label="idle", results_dir=tmp_path
    )
    assert path == tmp_path / "a_bench.json"
    result = check_result(json.loads(path.read_text()), "a_bench")
    assert result["label"] == "idle"
    unlabelled = write_result("b_bench", table, results_dir=tmp_path)
    assert "label" not in json.loads(unlabelled.read_text())  # a merged table shows its date
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert result["commit"] == head and isinstance(result["dirty"], bool)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["date"])
    assert result["machine"] == machine_info() | {"memory_gb": result["machine"]["memory_gb"]}
    assert result["machine"]["torch"] and result["machine"]["cores"] >= 1
    with pytest.raises(ResultError):
        write_result("bad_bench", {"columns": ["a"], "rows": [[]]}, results_dir=tmp_path)
    assert not (tmp_path / "bad_bench.json").exists()


def test_the_result_options_and_the_recorded_command() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_result_options(parser, "a_bench")
    args = parser.parse_args(["--results-dir", "out"])
    assert (args.name, args.label, args.results_dir) == ("a_bench", None, Path("out"))
    argv = ["/somewhere/scripts/a.py", "--batch", "20", "--results-dir", "/tmp/r", "--json=x.json",
            "--out", "runs/x", "--label", "two words", "--name", "b"]  # fmt: skip
    assert command_line(argv) == "python scripts/a.py --batch 20 --label 'two words' --name b"


def minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def test_the_readme_quotes_its_set_up_figures_as_measured() -> None:
    result = load_result("setup_fresh_clone")
    figures = result["figures"]
    quickstart = figures["bash scripts/quickstart.sh after the set-up, seconds"]
    tests = figures["bash scripts/test.sh after the set-up, seconds"]
    expected = (
        f"Measured from a fresh clone on an {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores ({result['date'][:10]}): the set-up takes "
        f"{figures['set-up, seconds']} s and\n`.venv/` {figures['.venv/ on disk, GB']} GB of disk "
        "(torch is most of it); then `bash scripts/quickstart.sh` takes "
        f"{minutes(quickstart)} and\n`bash scripts/test.sh` {minutes(tests)}"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = readme.split("<!-- setup-figures", 1)[1].split("<!-- /setup-figures -->", 1)[0]
    assert expected in quoted
