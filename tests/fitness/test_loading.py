"""Loading targets: built-in, model files, package.module:factory, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tolerances import ACROSS_BATCHES

from fitness.builtin import save_state_dict
from fitness.errors import FoolingWarning
from fitness.lenet import LeNet
from fitness.loading import TargetOptions, load_target
from fitness.target import TargetError


@pytest.fixture(scope="module")
def scripted_lenet(tmp_path_factory, lenet_target):
    path = tmp_path_factory.mktemp("models") / "lenet.pt"
    torch.jit.script(lenet_target.model).save(str(path))
    return path


@pytest.fixture(scope="module")
def lenet_weights(tmp_path_factory, lenet_target):
    path = tmp_path_factory.mktemp("weights") / "lenet-state.pt"
    save_state_dict(lenet_target.model, path)
    return path


def test_builtin_lenet_is_trained_and_cached(lenet_target, fooling_home) -> None:
    cached = list((fooling_home / "targets").glob("mnist-lenet-*.pt"))
    assert len(cached) == 1
    again = load_target(TargetOptions(device="cpu"), progress=False)
    assert again.fingerprint == lenet_target.fingerprint  # reused, not retrained
    assert len(list((fooling_home / "targets").glob("mnist-lenet-*.pt"))) == 1


# TorchScript is deprecated (torch 2.13) but still read: this test keeps it working on purpose,
# so the deprecation warnings torch.jit.script/save/load raise here are expected.
@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_torchscript_target_scores_like_the_original(scripted_lenet, lenet_target, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"digit {i}" for i in range(10)) + "\n\n")
    target = load_target(
        TargetOptions(
            target=str(scripted_lenet),
            input_shape=(1, 28, 28),
            class_names_file=str(names),
            device="cpu",
        )
    )
    assert target.class_names[3] == "digit 3"
    images = np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(
        target.probabilities(images), lenet_target.probabilities(images), **ACROSS_BATCHES
    )


def test_factory_target_with_weights(lenet_weights, lenet_target) -> None:
    target = load_target(
        TargetOptions(
            target="model_factories:lenet",
            weights=str(lenet_weights),
            input_shape=(1, 28, 28),
            device="cpu",
        )
    )
    assert target.class_names == [str(i) for i in range(10)]
    assert target.fingerprint == lenet_target.fingerprint


def test_builtin_lenet_with_an_eleven_class_state_dict(tmp_path) -> None:
    save_state_dict(LeNet(11), tmp_path / "eleven.pt")
    target = load_target(TargetOptions(weights=str(tmp_path / "eleven.pt"), device="cpu"))
    assert target.class_names[-1] == "fooling" and target.num_classes == 11


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": "no-such-target"}, "unknown target 'no-such-target'"),
        ({"target": "/no/such/model.pt"}, "target file not found: /no/such/model.pt"),
        ({"target": "model.pt"}, "target file not found: model.pt"),
        ({"target": "model_factories:missing", "input_shape": (1, 28, 28)}, "cannot build model"),
        ({"target": "model_factories:not_a_module", "input_shape": (1, 28, 28)}, "not a Module"),
        ({"target": "model_factories:lenet"}, "--input-shape C,H,W is required"),
        ({"target": "model_factories:lenet", "input_shape": (1, 32, 32)}, "model fails on input"),
        ({"target": "model_factories:nan_model", "input_shape": (1, 28, 28)}, "NaN or inf"),
        ({"weights": "/no/such/weights.pt"}, "weights file not found"),
        ({"input_shape": (1, 28, 28)}, "applies to your own models only"),
    ],
)
def test_bad_targets_raise_one_clear_error(options, message) -> None:
    with pytest.raises(TargetError, match=message):
        load_target(TargetOptions(device="cpu", **options), progress=False)


def test_unreadable_and_wrong_model_files(tmp_path, exported_lenet) -> None:
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(TargetError, match="junk.pt2 is not a loadable torch.export program"):
        load_target(TargetOptions(target=str(junk), input_shape=(1, 28, 28), device="cpu"))
    with pytest.raises(TargetError, match="not a loadable torch.export program"):
        load_target(TargetOptions(target=str(junk), device="cpu"))  # before --input-shape
    with pytest.raises(TargetError, match="cannot load weights"):
        load_target(TargetOptions(weights=str(junk), device="cpu"))
    wrong_names = tmp_path / "names.txt"
    wrong_names.write_text("cat\ndog\n")
    with pytest.raises(TargetError, match=r"expected \[N, 2\] \(2 class names\)"):
        load_target(
            TargetOptions(
                target=str(exported_lenet),
                input_shape=(1, 28, 28),
                class_names_file=str(wrong_names),
                device="cpu",
            )
        )


# ------------------------------------------------------------------- factories: files, untrained
MY_MODELS = """
from torch import nn


def build():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
"""


def test_a_python_file_factory_works_as_the_readme_shows(tmp_path, monkeypatch) -> None:
    (tmp_path / "my_models.py").write_text(MY_MODELS)
    monkeypatch.chdir(tmp_path)
    options = TargetOptions(target="my_models.py:build", input_shape=(3, 8, 8), device="cpu")
    with pytest.warns(FoolingWarning, match="untrained"):
        target = load_target(options)
    assert target.class_names == ["0", "1", "2", "3"]
    stored = options.to_dict()
    assert stored["target"] == f"{tmp_path / 'my_models.py'}:build"  # absolute, for --resume
    monkeypatch.chdir(tmp_path.parent)
    with pytest.warns(FoolingWarning, match="untrained"):
        again = load_target(TargetOptions.from_dict(stored))
    assert again.fingerprint == target.fingerprint  # seeded: the same untrained network


def test_a_factory_without_weights_warns_once_unless_random_weights(capsys) -> None:
    options = TargetOptions(target="model_factories:lenet", input_shape=(1, 28, 28), device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_target(options)
    said = [str(w.message) for w in caught if issubclass(w.category, FoolingWarning)]
    assert len(said) == 1 and said[0].startswith("model_factories:lenet has no --weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FoolingWarning)  # no warning at all with random_weights
        load_target(TargetOptions(**{**options.__dict__, "random_weights": True}))
    assert capsys.readouterr().err == ""
    data = TargetOptions(**{**options.__dict__, "random_weights": True}).to_dict()
    assert TargetOptions.from_dict(data).random_weights is True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"target": "model_factories:lenet", "input_shape": (1, 28, 28), "weights": "w.pt"},
            "exclude each other",
        ),
        ({}, "applies to package.module:factory targets only"),
        (
            {"target": "missing_file.py:build", "input_shape": (1, 28, 28)},
            "factory file not found: missing_file.py",
        ),
    ],
)
def test_random_weights_misuse(options, message) -> None:
    with pytest.raises(TargetError, match=message):
        load_target(TargetOptions(device="cpu", random_weights=True, **options))
