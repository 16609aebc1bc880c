"""Reading model files (``torch.export`` programs and TorchScript) and weights files, with errors
a person understands: each names the file and says what it is instead of what was expected.

``.pt2`` files are ``torch.export`` programs (``torch.export.save``), the recommended format:
TorchScript is deprecated since torch 2.13 but still read. An exported program scores batches of
any size only if it was exported with a dynamic batch dimension; one with a fixed batch size is
refused at load with the line of code that exports it properly (chunking every batch to the
exported size would hide a slow path, and a fixed size of 1 would score images one by one).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from fitness.errors import TargetError, first_line

#: How to export a model so that it takes any batch size (quoted in the error for a fixed one).
EXPORT_HINT = (
    "export it with a dynamic batch dimension: torch.export.export(model, (torch.zeros(2, C, H, "
    "W),), dynamic_shapes=({0: torch.export.Dim('batch', min=1)},)), then torch.export.save"
)
EXPORTED_SUFFIX = ".pt2"


class ExportedModel(torch.nn.Module):
    """An exported program as a module: ``eval()``/``train()`` only set the flag, because an
    exported graph is fixed in the mode it was exported in (its own module refuses them)."""

    def __init__(self, program: torch.nn.Module) -> None:
        super().__init__()
        self.program = program

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The exported graph applied to ``x``."""
        return self.program(x)

    def train(self, mode: bool = True) -> ExportedModel:
        """Set the flag only (see the class docstring)."""
        self.training = mode
        return self


def load_model_file(path: Path, device: str = "cpu") -> torch.nn.Module:
    """The model in ``path``: a ``.pt2`` exported program or a TorchScript file, on ``device``."""
    if path.suffix == EXPORTED_SUFFIX:
        return load_exported(path, device)
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError/ValueError/zip errors for bad files
        hint = "" if zipfile.is_zipfile(path) else " (not a zip archive)"
        raise TargetError(
            f"{path} is not a loadable TorchScript model{hint}: {first_line(exc)}"
        ) from None


def load_exported(path: Path, device: str = "cpu") -> ExportedModel:
    """A ``torch.export`` program from ``path``, checked to take any batch size."""
    try:
        program = torch.export.load(str(path))
    except Exception as exc:  # a damaged archive or one torch.export.save did not write
        hint = "" if zipfile.is_zipfile(path) else " (not a zip archive)"
        raise TargetError(
            f"{path} is not a loadable torch.export program{hint}: {first_line(exc)}"
        ) from None
    inputs = [
        node.meta.get("val")
        for node in program.graph.nodes
        if node.op == "placeholder" and node.name in program.graph_signature.user_inputs
    ]
    if len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor) or inputs[0].ndim < 2:
        raise TargetError(f"{path}: the exported program must take one image batch [N, C, H, W]")
    batch = inputs[0].shape[0]
    if isinstance(batch, int):  # a SymInt when the batch dimension was exported as dynamic
        raise TargetError(f"{path} only takes batches of exactly {batch} images; {EXPORT_HINT}")
    if torch.device(device).type != "cpu":  # constants baked into the graph move with it
        program = torch.export.passes.move_to_device_pass(program, device)
    return ExportedModel(program.module())


def weights_error(path: Path, exc: BaseException) -> TargetError:
    """The error for a weights file ``torch.load(weights_only=True)`` could not read: what the
    file is (empty, text, a model file, a pickle of other objects) rather than torch's text."""
    detail = first_line(exc)
    try:
        head = path.read_bytes()[:2]
    except OSError:
        head = b""
    if not head:
        reason = "the file is empty"
    elif head != b"PK" and head[:1] != b"\x80":  # text, random bytes...
        reason = (
            "not a PyTorch weights file (neither a zip archive nor a pickle); "
            "torch.save(model.state_dict(), path) writes one"
        )
    elif "Weights only load failed" in detail:  # a pickle (zipped or not) of other objects
        reason = (
            "it holds pickled objects other than tensors (a whole pickled model, NumPy "
            "arrays?); save model.state_dict() with torch.save instead"
        )
    elif head == b"PK":  # a zip archive: torch.save's format, or a model file given as weights
        names = zipfile.ZipFile(path).namelist() if zipfile.is_zipfile(path) else []
        if any(name.endswith("models/model.json") for name in names):
            reason = "it is a torch.export program; give it as --target, not --weights"
        elif any(name.endswith("constants.pkl") for name in names):
            reason = "it is a TorchScript model; give it as --target, not --weights"
        else:
            reason = f"a zip archive, but not a state dict written by torch.save ({detail})"
    else:  # a pickle (protocol 2+), the old torch.save format among them
        reason = f"a pickle torch cannot read as a state dict ({detail})"
    return TargetError(f"cannot load weights {path}: {reason}")
