"""The one definition of "fooled": the classifier gives the class at least the threshold.

The paper counts an image as fooling a network when the network labels it with >= 99.99%
confidence (``DEFAULT_THRESHOLD``). Archives, run summaries, stop conditions and studies all ask
here, so a change of definition (e.g. a strict inequality) happens in one place.
"""

from __future__ import annotations

import numpy as np

#: The paper's confidence for "fooled" (99.99%).
DEFAULT_THRESHOLD = 0.9999


def fooled(confidence: np.ndarray | float, threshold: float) -> np.ndarray:
    """Boolean mask: which confidences count as fooling at ``threshold`` (>=)."""
    return np.asarray(confidence) >= threshold


def count_fooled(confidence: np.ndarray, threshold: float) -> int:
    """How many of ``confidence`` count as fooling at ``threshold``."""
    return int(fooled(confidence, threshold).sum())


def all_fooled(confidence: np.ndarray, threshold: float) -> bool:
    """Whether there is at least one confidence and every one counts as fooling."""
    confidence = np.asarray(confidence)
    return bool(confidence.size) and bool(fooled(confidence, threshold).all())
