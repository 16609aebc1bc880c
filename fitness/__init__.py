"""Targets: trained classifiers with their input spec, built-in models, training and scoring."""

from fitness.target import InputSpec, Target, TargetError

__all__ = ["InputSpec", "Target", "TargetError"]
