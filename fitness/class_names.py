"""What a class name may be, checked wherever names enter the tool.

A class name becomes part of a file name (gallery PNGs, ``safe_name``), a CSV cell, a Markdown
table, a web page and a JSON field. A name is therefore 1 to :data:`MAX_CLASS_NAME` characters,
printable (no newline, tab or other control character) and without leading or trailing
whitespace; the names of one target are distinct. ImageNet's longest name has 30 characters.
Names are checked where they enter: class-names files, a model's own names, image sub-folders,
``--only-classes`` and config.json read back (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The longest class name accepted (characters).
MAX_CLASS_NAME = 100


def class_name_problem(name: object) -> str | None:
    """What is wrong with one class name (a short phrase), or None."""
    if not isinstance(name, str):
        return f"a class name must be text, got {type(name).__name__}"
    shown = repr(name if len(name) <= 40 else name[:40] + "...")
    if not name:
        return "a class name is empty"
    if len(name) > MAX_CLASS_NAME:
        return f"class name {shown} has {len(name):,} characters (at most {MAX_CLASS_NAME} allowed)"
    if not name.isprintable():
        return f"class name {shown} holds a control character (newline, tab, ...)"
    if name != name.strip():
        return f"class name {shown} starts or ends with whitespace"
    return None


def class_names_problem(names: Sequence[object]) -> str | None:
    """What is wrong with a target's class names (the first problem), or None."""
    for name in names:
        problem = class_name_problem(name)
        if problem is not None:
            return problem
    if len(set(names)) != len(names):
        return "repeats a name"
    return None
