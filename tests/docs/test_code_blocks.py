"""The README's and the documentation's code blocks are true: their commands parse with the real
commands, the scripts they name exist and take the options they pass, and the blocks marked to
run (and every Python block) run. The README's Python API block runs in tests/fooling/test_api.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from doc_blocks import (
    ROOT,
    Block,
    all_blocks,
    blocks,
    command_lines,
    pages,
    parse_fooling,
    script_options,
)

BASH = [block for block in all_blocks() if block.lang == "bash"]
COMMANDS = [(block, words) for block in BASH for words in command_lines(block.code)]
FOOLING = [(block, words) for block, words in COMMANDS if words[0] == "fooling"]
SCRIPTS = [
    (block, words)
    for block, words in COMMANDS
    if words[0] in ("bash", "python") and len(words) > 1 and words[1].startswith("scripts/")
]
README = ROOT / "README.md"


def runnable(page: Path) -> bool:
    """Whether a page has blocks to execute: bash blocks marked to run, or Python (the README's
    one Python block is the API example, run by tests/fooling/test_api.py)."""
    return page != README and any(
        (block.lang == "bash" and block.run) or (block.lang == "python" and not block.title)
        for block in blocks(page)
    )


def test_the_pages_have_commands_to_check() -> None:
    # A collector that found nothing would pass everything below.
    assert len(FOOLING) >= 40 and len(SCRIPTS) >= 2
    assert {b.page.name for b, _ in FOOLING} >= {"README.md", "evolve.md", "robustness.md"}
    assert any(runnable(page) for page in pages())


@pytest.mark.parametrize("block, words", FOOLING, ids=[f"{b.where}:{w[1]}" for b, w in FOOLING])
def test_fooling_commands_parse(block: Block, words: list[str]) -> None:
    try:
        parse_fooling(words[1:])
    except click.ClickException as exc:
        pytest.fail(f"{block.where}: `{' '.join(words)}`: {exc.format_message()}")


def test_a_wrong_option_is_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        parse_fooling(["evolve", "--untill", "0.9999"])
    with pytest.raises(click.BadParameter):
        parse_fooling(["evolve", "--encoding", "pixels"])
    with pytest.raises(click.UsageError):
        parse_fooling(["evolv"])
    # a path the page has not made yet does not hide a bad value after it
    with pytest.raises(click.BadParameter):
        parse_fooling(["gallery", "runs/none", "--size", "big"])


@pytest.mark.parametrize("block, words", SCRIPTS, ids=[f"{b.where}:{w[1]}" for b, w in SCRIPTS])
def test_scripts_exist_and_take_their_options(block: Block, words: list[str]) -> None:
    script = ROOT / words[1]
    assert script.is_file(), f"{block.where}: no {words[1]}"
    unknown = {w.split("=")[0] for w in words[2:] if w.startswith("--")} - script_options(script)
    assert not unknown, f"{block.where}: {words[1]} takes no {', '.join(sorted(unknown))}"


@pytest.fixture
def page_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """A fresh folder for a page's blocks, and an environment whose ``fooling`` and ``python``
    are this checkout's (not whatever an editable install elsewhere points at)."""
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    launcher = bin_dir / "fooling"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fooling "$@"\n')
    launcher.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "scripts"), *filter(None, [env.get("PYTHONPATH")])]
    )
    work = tmp_path / "page"
    work.mkdir()
    return work, env


@pytest.mark.parametrize(
    "page", [p for p in pages() if runnable(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_page_runs(page: Path, page_dir, lenet_target) -> None:
    """The page's file blocks are written, its Python blocks and bash blocks marked to run are
    run, in the page's order, in one fresh folder (``lenet_target``: LeNet trained once)."""
    work, env = page_dir
    for number, block in enumerate(blocks(page)):
        if block.title:
            (work / block.title).write_text(block.code, encoding="utf-8")
            continue
        if block.lang == "python":
            script = work / f"_block_{number}.py"
            script.write_text(block.code, encoding="utf-8")
            command = [sys.executable, script.name]
        elif block.lang == "bash" and block.run:
            command = ["bash", "-euo", "pipefail", "-c", block.code]
        else:
            continue
        done = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{block.where} failed:\n{done.stdout}\n{done.stderr}"
