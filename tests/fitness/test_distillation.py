"""Defensive distillation, really trained on real digits (a small subset, few epochs, to stay
fast: 1,000 digits, 2 epochs, T = 10): the deployed student is sharper than the soft labels it
learned from and than a network trained normally with the same settings, and it learns."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from fitness.builtin import LENET_SPEC, LenetSettings, load_digits
from fitness.cache import settings_key
from fitness.distillation import distil_lenet, sharpness
from fitness.lenet import LeNet
from fitness.training import accuracy, train_classifier

TEMPERATURE = 10.0
EPOCHS = 2
LEARNING_RATE = 3e-3  # a few steps must reach useful accuracy (the command's default is 1e-3)
BATCH = 32


@pytest.fixture(scope="module")
def small_digits():
    """Every 4th of the bundled real MNIST digits: 1,000 to train, 250 to test."""
    digits = load_digits(None)
    return replace(
        digits,
        train_images=digits.train_images[::4],
        train_labels=digits.train_labels[::4],
        test_images=digits.test_images[::4],
        test_labels=digits.test_labels[::4],
    )


@pytest.fixture(scope="module")
def distilled(small_digits):
    return distil_lenet(
        small_digits,
        LENET_SPEC,
        TEMPERATURE,
        epochs=EPOCHS,
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        seed=0,
        progress=False,
    )


@pytest.fixture(scope="module")
def standard(small_digits):
    torch.manual_seed(0)
    model = LeNet()
    train_classifier(
        model,
        LENET_SPEC,
        small_digits.train_images,
        small_digits.train_labels,
        epochs=EPOCHS,
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        seed=0,
        progress=False,
    )
    return model


def test_student_at_t1_is_sharper_than_the_teachers_soft_labels(distilled):
    _, _, info = distilled
    student, soft = info["student_sharpness"], info["teacher_sharpness_at_T"]
    assert student["mean_top1_probability"] > soft["mean_top1_probability"]
    assert student["mean_entropy"] < soft["mean_entropy"] / 5
    # The student learned the soft labels at T: its logits at T = 1 are about T times theirs.
    assert student["mean_logit_gap"] > 5 * soft["mean_logit_gap"]


def test_student_is_sharper_than_a_normally_trained_network(distilled, standard, small_digits):
    student, _, _ = distilled
    plain = sharpness(standard, LENET_SPEC, small_digits.test_images)
    ours = sharpness(student, LENET_SPEC, small_digits.test_images)
    assert ours["mean_logit_gap"] > 3 * plain["mean_logit_gap"]
    assert ours["mean_entropy"] < plain["mean_entropy"]


def test_distillation_learns_the_digits(distilled, small_digits):
    student, teacher, info = distilled
    test = (small_digits.test_images, small_digits.test_labels)
    assert info["teacher_test_accuracy"] == accuracy(teacher, LENET_SPEC, *test)
    # This short training reaches about 0.8 (teacher and student); 0.1 is chance.
    assert accuracy(student, LENET_SPEC, *test) > 0.65
    assert info["teacher_test_accuracy"] > 0.65
    assert info["student_train_agreement"] > 0.8


def test_soft_labels_train_like_hard_ones_at_temperature_1(small_digits):
    """One-hot soft labels and class indices are the same cross-entropy: same weights."""
    images, labels = small_digits.train_images[:128], small_digits.train_labels[:128]
    models = []
    for target in (labels, np.eye(10, dtype=np.float32)[labels]):
        torch.manual_seed(0)
        model = LeNet()
        train_classifier(model, LENET_SPEC, images, target, epochs=1, seed=0, progress=False)
        models.append(model)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b)  # one process, same kernels: only summation order


def test_a_plain_lenet_keeps_its_cache_key():
    """Adding the distillation setting must not retrain every cached LeNet: the plain key is
    the one computed before the field existed."""
    old = settings_key(
        {
            "epochs": 10,
            "batch_size": 64,
            "learning_rate": 1e-3,
            "seed": 0,
            "data_dir": None,
            "data": "abc",
            "arch": "lenet",
        }
    )
    assert LenetSettings().cache_key("abc") == old
    assert LenetSettings(distill_temperature=20.0).cache_key("abc") != old
    assert LenetSettings(distill_temperature=20.0).cache_key("abc") != LenetSettings(
        distill_temperature=100.0
    ).cache_key("abc")
