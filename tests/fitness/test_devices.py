"""The one device resolver: targets (torch devices) and direct genomes (torch devices or host)."""

from __future__ import annotations

import pytest
import torch

from fitness.devices import HOST, genome_device, resolve_device
from fitness.target import TargetError


def test_auto_is_the_gpu_when_there_is_one() -> None:
    gpu = torch.cuda.is_available()
    assert resolve_device("auto") == ("cuda" if gpu else "cpu")
    assert resolve_device("auto", allow_host=True) == ("cuda" if gpu else HOST)
    assert resolve_device("cpu") == "cpu" and resolve_device(HOST, allow_host=True) == HOST


@pytest.mark.parametrize("name", ["tpu", "quantum", "cuda:x", "", "host"])
def test_unknown_device_names_are_one_line_target_errors(name: str) -> None:
    with pytest.raises(TargetError, match=r"device must be auto, cpu, cuda or cuda:N, got"):
        resolve_device(name)


def test_genomes_follow_the_target() -> None:
    assert genome_device("cpu") == HOST
    assert genome_device("cuda:1") == "cuda:1" and genome_device("auto") == "auto"
    if not torch.cuda.is_available():
        with pytest.raises(TargetError, match="no CUDA GPU"):
            resolve_device("cuda:0")
