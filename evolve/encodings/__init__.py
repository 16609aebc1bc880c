"""Genome encodings: how a genome becomes an image and how children are made."""

from __future__ import annotations

from typing import Any

from evolve.encodings.base import Encoding
from evolve.encodings.direct import DirectEncoding

ENCODING_NAMES = ("direct", "cppn")


def build_encoding(config: dict[str, Any]) -> Encoding:
    """Rebuild an encoding from its ``config()`` dict."""
    params = {key: value for key, value in config.items() if key != "name"}
    name = config.get("name")
    if name == "direct":
        return DirectEncoding(**params)
    if name == "cppn":
        from evolve.encodings.cppn import CppnEncoding  # neat-python is only needed for CPPNs

        return CppnEncoding(**params)
    raise ValueError(f"unknown encoding {name!r}: choose from {', '.join(ENCODING_NAMES)}")


__all__ = ["DirectEncoding", "Encoding", "build_encoding"]
