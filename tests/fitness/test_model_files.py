"""Model files (torch.export .pt2, TorchScript) and weights files that are not what they claim."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from tolerances import ACROSS_BATCHES

from fitness.builtin import read_state_dict
from fitness.lenet import LeNet
from fitness.loading import TargetOptions, load_target
from fitness.target import TargetError


def export(model: torch.nn.Module, path, dynamic: bool = True) -> None:
    """Save ``model`` as a torch.export program, with a dynamic batch dimension or a fixed 2."""
    shapes = ({0: torch.export.Dim("batch", min=1)},) if dynamic else None
    program = torch.export.export(model.eval(), (torch.zeros(2, 1, 28, 28),), dynamic_shapes=shapes)
    torch.export.save(program, str(path))


def test_exported_program_scores_any_batch_size_like_the_original(exported_lenet, lenet_target):
    target = load_target(
        TargetOptions(target=str(exported_lenet), input_shape=(1, 28, 28), device="cpu")
    )
    assert target.class_names == [str(i) for i in range(10)]
    images = np.random.default_rng(1).random((7, 1, 28, 28), dtype=np.float32)
    for size in (1, 3, 7):
        np.testing.assert_allclose(
            target.probabilities(images[:size]),
            lenet_target.probabilities(images[:size]),
            **ACROSS_BATCHES,
        )


def test_exported_program_with_a_fixed_batch_size_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "static.pt2"
    export(LeNet(), path, dynamic=False)
    with pytest.raises(TargetError, match=r"static.pt2 only takes batches of exactly 2.*Dim"):
        load_target(TargetOptions(target=str(path), input_shape=(1, 28, 28), device="cpu"))


def test_a_damaged_pt2_names_the_file(tmp_path):
    path = tmp_path / "junk.pt2"
    path.write_text("not a program\n")
    with pytest.raises(TargetError, match=r"junk.pt2 is not a loadable torch.export program"):
        load_target(TargetOptions(target=str(path), input_shape=(1, 28, 28), device="cpu"))


def write_bad_weights(folder, exported_lenet):
    """Files a person might hand to --weights by mistake, with the words the error must say."""
    (folder / "notes.txt").write_text("these are my weights\n")
    (folder / "random.bin").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 999)))
    (folder / "empty.pt").write_bytes(b"")
    torch.save(LeNet(), folder / "whole_model.pt")  # a pickled module, not a state dict
    with open(folder / "arrays.pkl", "wb") as handle:
        pickle.dump({"w": np.zeros(3)}, handle)
    return {
        "notes.txt": "not a PyTorch weights file",
        "random.bin": "not a PyTorch weights file",
        "empty.pt": "the file is empty",
        "whole_model.pt": "pickled objects other than tensors",
        "arrays.pkl": "pickled objects other than tensors",
        str(exported_lenet): "torch.export program; give it as --target",
    }


def test_weights_that_are_not_a_state_dict_are_explained(tmp_path, exported_lenet):
    for name, words in write_bad_weights(tmp_path, exported_lenet).items():
        path = tmp_path / name
        with pytest.raises(TargetError, match=f"cannot load weights .*{path.name}: .*{words}"):
            read_state_dict(path)


def test_an_old_style_torch_pickle_of_a_state_dict_still_loads(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save(LeNet().state_dict(), path, _use_new_zipfile_serialization=False)
    assert set(read_state_dict(path)) == set(LeNet().state_dict())
