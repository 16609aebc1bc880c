"""PGD adversarial training's parts, on real digits and the session's trained LeNet: the attack
stays in its ball and in [0, 1], repeats under its seed, and takes most of a plain LeNet's
accuracy at epsilon 0.3; the settings keep older cache keys and refuse what does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fitness.adversarial import EpsilonSchedule, PgdAttack, robust_accuracy
from fitness.builtin import LENET_SPEC, LenetSettings, load_digits, trained_lenet
from fitness.cache import settings_key
from fitness.training import accuracy, as_unit_images

ATTACK = PgdAttack(epsilon=0.3, steps=10, step_size=0.075)


@pytest.fixture(scope="module")
def plain_lenet(fooling_home):
    model, _ = trained_lenet(LenetSettings(), progress=False)
    return model


@pytest.fixture(scope="module")
def test_digits():
    digits = load_digits(None)
    return digits.test_images[::5], digits.test_labels[::5]  # 200 real test digits


def test_pgd_stays_in_its_ball_and_repeats_under_its_seed(plain_lenet, test_digits):
    images = as_unit_images(test_digits[0][:50], LENET_SPEC)
    labels = torch.as_tensor(test_digits[1][:50])
    runs = [ATTACK(plain_lenet, LENET_SPEC, images, labels, torch.Generator().manual_seed(3))
            for _ in range(2)]  # fmt: skip
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    moved = runs[0] - images
    assert moved.abs().max() <= 0.3 + 1e-6 and moved.abs().max() > 0.29
    assert runs[0].min() >= 0.0 and runs[0].max() <= 1.0
    loss = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert loss(plain_lenet(runs[0]), labels) > loss(plain_lenet(images), labels) + 1.0


def test_a_plain_lenet_loses_most_of_its_accuracy_at_epsilon_0_3(plain_lenet, test_digits):
    clean = accuracy(plain_lenet, LENET_SPEC, *test_digits)
    robust = robust_accuracy(plain_lenet, LENET_SPEC, *test_digits, ATTACK, seed=0)
    assert clean > 0.9 and robust < 0.2
    assert robust_accuracy(plain_lenet, LENET_SPEC, *test_digits, ATTACK, seed=0) == robust
    strong = ATTACK.strong()
    assert (strong.steps, strong.step_size) == (40, pytest.approx(2.5 * 0.3 / 40))


def test_epsilon_grows_over_the_warmup_then_stays(plain_lenet, test_digits):
    images = as_unit_images(test_digits[0][:8], LENET_SPEC)
    labels = torch.as_tensor(test_digits[1][:8])
    schedule = EpsilonSchedule(ATTACK, warmup_epochs=1, batches_per_epoch=4, seed=0)
    radii = [float((schedule(plain_lenet, LENET_SPEC, images, labels) - images).abs().max())
             for _ in range(6)]  # fmt: skip
    assert radii[0] == 0.0  # the first batch is clean
    for radius, bound in zip(radii, [0.0, 0.075, 0.15, 0.225, 0.3, 0.3], strict=True):
        assert radius <= bound + 1e-6 and radius > bound - 0.02


def test_settings_keep_older_keys_and_refuse_what_does_not_fit():
    distilled = {"epochs": 10, "batch_size": 64, "learning_rate": 1e-3, "seed": 0,
                 "data_dir": None, "distill_temperature": 20.0, "data": "abc",
                 "arch": "lenet"}  # fmt: skip
    assert LenetSettings(distill_temperature=20.0).cache_key("abc") == settings_key(distilled)
    pgd = dict(adversarial="pgd", epsilon=0.3, pgd_steps=10, pgd_step_size=0.075,
               pgd_warmup_epochs=3)  # fmt: skip
    key = LenetSettings(**pgd).cache_key("abc")
    assert key not in (LenetSettings().cache_key("abc"), settings_key(distilled))
    assert LenetSettings(**{**pgd, "epsilon": 0.2}).cache_key("abc") != key
    assert LenetSettings(**pgd).pgd_attack() == ATTACK
    with pytest.raises(ValueError, match="exclude"):
        LenetSettings(**pgd, distill_temperature=5.0)
    with pytest.raises(ValueError, match="all of them"):
        LenetSettings(epsilon=0.3)
    with pytest.raises(ValueError, match="unknown"):
        LenetSettings(**{**pgd, "adversarial": "fgsm"})


def test_an_empty_set_has_no_robust_accuracy(plain_lenet):
    empty = np.zeros((0, 28, 28), dtype=np.uint8)
    assert np.isnan(robust_accuracy(plain_lenet, LENET_SPEC, empty, np.zeros(0), ATTACK))
