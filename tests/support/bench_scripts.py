"""Running a benchmark script of scripts/ on a tiny setting, and checking the result file it
writes: that it follows the schema, says where it was measured, and that the page showing the
script's earlier result would show it (the tests of tests/scripts)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# The scripts import bench_results from their own folder (python puts it on their path); the
# tests import it, and the docs hook, from there too.
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import bench_results  # noqa: E402
import docs_hooks  # noqa: E402
from doc_blocks import pages  # noqa: E402


def run_script(script: str, *args: Any, timeout: float = 900, **kwargs: Any) -> str:
    """Run ``python scripts/SCRIPT ARGS`` (``.sh``: with bash) and return what it printed;
    fail with its output if it fails."""
    runner = ["bash"] if script.endswith(".sh") else [sys.executable]
    done = subprocess.run(
        [*runner, str(SCRIPTS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        **kwargs,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def read_result(directory: Path, name: str) -> dict[str, Any]:
    """The result ``directory/NAME.json``, checked against the schema, with its machine, date
    and commit recorded."""
    result = bench_results.load_result(name, directory)
    machine = result["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and machine["torch"], machine
    assert result["date"] and result["commit"], "a new result records its date and commit"
    assert result["command"] and result["command"].startswith(("python scripts/", "bash scripts/"))
    assert "--results-dir" not in result["command"], "where a file went is not what was measured"
    return result


def column(result: dict[str, Any], header: str) -> list[Any]:
    """The cells of one column of a table result, top to bottom."""
    index = result["figures"]["columns"].index(header)
    return [row[index] for row in result["figures"]["rows"]]


def page_showing(name: str) -> Path:
    """The page whose ``<!-- results: ... -->`` marker names ``name``."""
    for page in pages():
        for match in docs_hooks.MARKER.finditer(page.read_text(encoding="utf-8")):
            if name in match.group(1).split():
                return page
    raise AssertionError(f"no page shows the result {name!r}")


def render_in_place_of(result: dict[str, Any], shown: str) -> str:
    """The page that shows the committed result ``shown``, rendered as the site would be with
    ``result`` written under that name instead (the other results it shows stay as they are)."""
    page = page_showing(shown)
    replacement = copy.deepcopy(result) | {"name": shown}
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results"
        shutil.copytree(bench_results.RESULTS_DIR, results)
        (results / f"{shown}.json").write_text(json.dumps(replacement), encoding="utf-8")
        saved, docs_hooks.RESULTS_DIR = docs_hooks.RESULTS_DIR, results
        try:
            uri = page.relative_to(ROOT / "docs").as_posix() if page.name != "README.md" else None
            # The tables only: a tiny setting's rows are not the ones the page's sentences
            # quote (``<!-- value: ... -->``), which the committed results resolve.
            return docs_hooks.expand(page.read_text(encoding="utf-8"), uri, values=False)
        finally:
            docs_hooks.RESULTS_DIR = saved


def assert_page_shows(result: dict[str, Any], shown: str) -> str:
    """Render the page of ``shown`` with ``result`` in its place, and check that every figure of
    ``result`` is in it, as the table formats it, with the commit it was measured at."""
    text = render_in_place_of(result, shown)
    figures = result["figures"]
    if "columns" in figures:
        formats = figures.get("formats") or [None] * len(figures["columns"])
        assert " | ".join(figures["columns"]) + " |" in text
        for row in figures["rows"]:
            cells = [docs_hooks.format_cell(v, f) for v, f in zip(row, formats, strict=True)]
            assert " | ".join(cells) + " |" in text, f"row {cells} is not on the page"
    else:
        for key, value in figures.items():
            assert f"| {key} | {docs_hooks.format_cell(value)}" in text, key
    assert f"commit `{result['commit']}`" in text
    return text
