"""The user cache directory where trained weights are kept between runs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def fooling_home() -> Path:
    """``$FOOLING_HOME``, else ``$XDG_CACHE_HOME/fooling``, else ``~/.cache/fooling``."""
    if os.environ.get("FOOLING_HOME"):
        return Path(os.environ["FOOLING_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fooling"


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable hash of JSON-able settings."""
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
