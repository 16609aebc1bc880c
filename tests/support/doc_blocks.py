"""The code blocks of README.md and docs/: found, and checked against the code they show.

A block is a fenced ```` ```bash ```` or ```` ```python ```` block (indented ones in lists too).
Two markers change what the tests do with it:

- ``<!-- test: run -->`` on the line before a bash block: its commands are run for real;
- ```` ```python title="my_models.py" ```` (any language): the block is a file's content, written
  to that file before the page's later blocks run.

Every ``fooling ...`` command line of a bash block is parsed by the real click commands, without
running it (:func:`parse_fooling`), so a renamed option, a removed choice or a bad value fails.
"""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
RUN_MARKER = "<!-- test: run -->"
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)(?P<info>[^`]*)$")
TITLE = re.compile(r'title="([^"]+)"')
#: Leading ``NAME=value`` words of a shell line (environment for the command).
ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    title: str | None  # a file name: the block is that file's content
    code: str
    run: bool  # preceded by RUN_MARKER

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page of the documentation."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match or not match["lang"]:
            index += 1
            continue
        indent = len(match["indent"])
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end][indent:])
            end += 1
        before = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        title = TITLE.search(match["info"])
        found.append(
            Block(
                page=page,
                line=index + 1,
                lang=match["lang"],
                title=title.group(1) if title else None,
                code="\n".join(body) + "\n",
                run=before == RUN_MARKER,
            )
        )
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def command_lines(code: str) -> list[list[str]]:
    """The shell words of each command in a bash block: continuation lines joined, comments and
    leading ``NAME=value`` words dropped, ``&&``/``;``-separated commands split."""
    commands: list[list[str]] = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, ";"]:
            if word in (";", "&&", "||"):
                while current and ENV_WORD.match(current[0]):
                    current.pop(0)
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
    return commands


def parse_fooling(args: list[str]) -> None:
    """Parse ``fooling ARGS`` with the real commands, without running them.

    Raises click's usage errors for an unknown command or option, a bad choice or value. Paths
    need not exist (the pages name files that their earlier steps make): every parameter is
    still converted and checked, which a first missing path would otherwise stop.
    """
    from fooling.cli import cli

    with cli.make_context("fooling", list(args[:1]), resilient_parsing=False) as group:
        command = cli.get_command(group, args[0])
        if command is None:
            raise click.UsageError(f"no such command: fooling {args[0]}")
        saved = [(param, param.type) for param in command.params]
        for param, kind in saved:
            if isinstance(kind, click.Path) and kind.exists:
                param.type = copy.copy(kind)
                param.type.exists = False
        try:
            command.make_context(args[0], list(args[1:]), parent=group).close()
        except click.exceptions.Exit:  # --help or --version: parsed, and fine
            pass
        finally:
            for param, kind in saved:
                param.type = kind


def script_options(script: Path) -> set[str]:
    """The ``--options`` a script under scripts/ names (argparse or a shell ``case``), with
    those it takes from ``bench_results.add_result_options`` (``--name``, ``--label``,
    ``--results-dir``)."""
    text = script.read_text(encoding="utf-8")
    options = set(re.findall(r"""["'(|\s](--[a-z][a-z0-9-]*)""", text))
    if "add_result_options(" in text:
        options |= {"--name", "--label", "--results-dir"}
    return options
