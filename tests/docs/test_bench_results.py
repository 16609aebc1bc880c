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
from docs_hooks import (  # noqa: E402
    MARKER,
    expand,
    format_cell,
    on_page_content,
    on_page_markdown,
    render,
    value,
)


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


def test_a_value_marker_renders_its_figure_as_its_table_cell_or_as_formatted() -> None:
    # a table's cell by its row's first cells and its column, with the column's format
    assert value("gpu_lite0_h200", ["fp32, 400", "CPPN loop (evals/s)"]) == "10,925"
    assert value("gpu_lite0_h200", ["bf16, 400", "CPPN efficiency"]) == "0.73"
    assert value("bench_mnist", ["200 (default)", "time to fool, median, s (goal <= 2)"]) == "2.50"
    # a row named by its first cell alone; a format spec of one's own
    assert value("ray_ceiling", ["2 Ray workers (null), this driver", "run 2"]) == "16,592"
    assert value("gpu_lite0_h200", ["fp32, 400", "CPPN efficiency", ".0%"]) == "76%"
    # flat figures by their key
    assert value("gpu_checks_h200", ["paper's ImageNet run: seconds"]) == "149"
    assert value("gpu_checks_h200", ["the same with --robust, median best confidence"]) == "0.595"
    text = "took <!-- value: gpu_checks_h200 | paper's ImageNet run: seconds --> s."
    assert expand(text) == "took 149 s."
    # as the site builds it: in the middle of a sentence, with spaces around the parts
    page = type("Page", (), {"file": type("File", (), {"src_uri": "benchmarks/gpu.md"})()})()
    marker = "<!--value:gpu_lite0_h200|fp32, 400|CPPN efficiency|.1%-->"
    assert on_page_markdown(f"at {marker}, less", page, None, None) == "at 76.0%, less"


def test_a_row_is_named_by_its_first_cell_and_any_later_cells_and_continues_the_row_above() -> None:
    # robustness_mnist: a run's second line ("", ..., "print-photo") is the same run's
    paired_346 = "MNIST direct, `--robust`, K = 8, paired, 346 (all 10 at 0.9999)"
    assert (
        value("robustness_mnist", ["MNIST direct, standard, SPEC", "median of means"]) == "0.9552"
    )
    assert (
        value("robustness_mnist", ["MNIST direct, standard, print-photo", "median of means"])
        == "0.9867"
    )
    assert value("robustness_mnist", [f"{paired_346}, print-photo", "views >= 0.9999"]) == "77%"
    # cells skipped in between, in order only; and still exactly one row
    assert value("gpu_lite0_h200", ["fp32, 400", "CPPN loop (evals/s)"]) == "10,925"
    with pytest.raises(ResultError, match="no row named"):
        value("robustness_mnist", ["MNIST direct, standard, print-photo, 24400", "worst p5"])
    with pytest.raises(ResultError, match="2 rows named"):
        value("robustness_mnist", ["MNIST direct, `--robust`, K = 8, paired, SPEC", "worst p5"])


def test_a_value_marker_that_names_nothing_fails_the_build() -> None:
    from mkdocs.exceptions import PluginError

    for marker, message in [
        ("<!-- value: no_such_result | x -->", "no file"),
        ("<!-- value: gpu_checks_h200 | no such figure -->", "no figure 'no such figure'"),
        ("<!-- value: gpu_lite0_h200 | fp32, 400 | no column -->", "no column 'no column'"),
        ("<!-- value: gpu_lite0_h200 | fp32, 800 | CPPN efficiency -->", "no row named"),
        ("<!-- value: gpu_lite0_h200 | fp32 | CPPN efficiency -->", "2 rows named 'fp32'"),
        ("<!-- value: gpu_lite0_h200 | CPPN efficiency -->", r"ROW \| COLUMN"),
        ("<!-- value: gpu_lite0_h200 | fp32, 400 | precision | .1f -->", "not a number"),
        ("<!-- value: gpu_checks_h200 | tests/gpu passed | q -->", "format 'q'"),
        ("<!-- value: -->", "without a result name"),
    ]:
        with pytest.raises(ResultError, match=message):
            expand(f"a sentence with {marker} in it\n")
    page = type("Page", (), {"file": type("File", (), {"src_uri": "x.md"})()})()
    with pytest.raises(PluginError, match="x.md: result 'no_such_result'"):
        on_page_markdown("<!-- value: no_such_result | x -->", page, None, None)


def test_value_markers_in_code_are_left_as_written() -> None:
    text = (
        "write `<!-- value: NAME | KEY -->` where a figure goes:\n\n"
        "```markdown\n<!-- value: NAME | ROW | COLUMN -->\n```\n\n"
        "    ~~~\n    <!-- value: NAME | KEY -->\n    ~~~\n"
    )
    assert expand(text) == text
    assert expand(text, values=False) == text
    # a code span ends with its paragraph: a lone backtick does not hide a later marker
    lone = "a ` alone\n\n<!-- value: gpu_checks_h200 | tests/gpu passed --> tests"
    assert expand(lone) == "a ` alone\n\n5 tests"


def test_every_page_renders_its_value_markers() -> None:
    quoted = 0
    for page in pages():
        markdown = page.read_text(encoding="utf-8")
        quoted += markdown.count("<!-- value:")
        expand(markdown)  # raises on a marker that names nothing
    assert quoted >= 10  # the pages' sentences quote their figures through markers


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


def about(value: float) -> str:
    """``value`` to two significant figures, as the README quotes counts: ``~570``, ``~31,000``."""
    return f"~{float(f'{value:.2g}'):,.0f}"


def test_the_readme_quotes_the_cma_emitter_s_evaluations_as_measured() -> None:
    figures = load_result("queries_mnist")["figures"]
    median = figures["columns"].index("evaluations to fool all (median)")
    rows = {row[0]: row[median] for row in figures["rows"]}
    assert (about(566), about(30_632)) == ("~570", "~31,000")
    quoted = f"# {about(rows['direct/cma'])} images, not {about(rows['direct/paper'])}"
    assert quoted in (ROOT / "README.md").read_text(encoding="utf-8")
