"""Transformation SPECs: parsing and its errors, seeded reproducible draws for every transform,
the identity, real JPEG, and the robust scoring's reduction over views (real LeNet)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from fitness.errors import TransformSpecError
from fitness.robust import RobustScoring
from fitness.transforms import PRESETS, TRANSFORMS, TransformSpec, jpeg, jpeg_round_trip

#: One SPEC per transform, each changing the image.
ONE_EACH = {
    "perspective": "perspective=0.05",
    "crop": "crop=0.7",
    "scale": "scale=0.8:1.2",
    "rotate": "rotate=15",
    "shift": "shift=3",
    "contrast": "contrast=0.5:1.5",
    "brightness": "brightness=0.2",
    "color": "color=0.2",
    "blur": "blur=0.5:2",
    "noise": "noise=0.1",
    "jpeg": "jpeg=20:60",
}


def images(channels: int, count: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(
        np.random.default_rng(seed).random((count, channels, 32, 32), dtype=np.float32)
    )


def transformed(spec: TransformSpec, x: torch.Tensor, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return spec.apply(x, spec.draw(len(x), tuple(x.shape[1:]), rng))


def test_every_transform_is_listed_once():
    assert set(ONE_EACH) == set(TRANSFORMS)


@pytest.mark.parametrize("name", list(ONE_EACH))
def test_every_transform_is_seeded_and_reproducible(name):
    spec = TransformSpec.parse(ONE_EACH[name])
    x = images(3)
    first, again = transformed(spec, x, 5), transformed(spec, x, 5)
    torch.testing.assert_close(first, again, rtol=0, atol=0)  # same seed, same process: exact
    assert not torch.equal(first, x), "the transform must change the images"
    assert not torch.equal(first, transformed(spec, x, 6)), "another seed draws other parameters"
    assert first.dtype == torch.float32 and first.shape == x.shape
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0


def test_draws_follow_the_generator_and_the_fixed_order():
    # The order in the SPEC does not matter: parameters are drawn in TRANSFORMS' order.
    a = TransformSpec.parse("jpeg=50:90,shift=2,rotate=10")
    b = TransformSpec.parse("rotate=10,shift=2,jpeg=50:90")
    assert a == b
    x = images(1)
    torch.testing.assert_close(transformed(a, x, 3), transformed(b, x, 3), rtol=0, atol=0)


def test_identity_spec_leaves_images_and_generator_untouched():
    for text in ("identity", "shift=0,rotate=0,scale=1,noise=0,crop=1", ""):
        spec = TransformSpec.parse(text)
        assert spec.is_identity
        rng = np.random.default_rng(9)
        before = rng.bit_generator.state
        x = images(1)
        assert spec.apply(x, spec.draw(len(x), (1, 32, 32), rng)) is x
        assert rng.bit_generator.state == before


def test_jpeg_is_pillows_real_encoder():
    spec = TransformSpec.parse("jpeg=40")  # one quality: every image at 40
    x = images(3, count=2)
    out = transformed(spec, x, 0)
    for i in range(2):
        pixels = np.rint(x[i].numpy() * 255).astype(np.uint8).transpose(1, 2, 0)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=40)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        np.testing.assert_array_equal(np.rint(out[i].numpy() * 255).transpose(1, 2, 0), decoded)


def test_jpeg_on_a_thread_pool_codes_every_image_as_one_thread_does():
    qualities = np.random.default_rng(0).integers(60, 96, size=40)
    x = images(3, count=40)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = jpeg(x, qualities)
        torch.set_num_threads(4)  # 4 workers of 10 images each
        pooled = jpeg(x, qualities)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(pooled, alone, rtol=0, atol=0)
    pixels = np.rint(x[7].numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        np.rint(pooled[7].numpy() * 255), jpeg_round_trip(pixels, int(qualities[7]))
    )


def test_geometry_moves_content_as_asked():
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 10] = 1.0  # one bright pixel at (row 10, column 10)
    spec = TransformSpec.parse("shift=3:3")  # exactly +3 pixels in x and in y
    out = transformed(spec, x, 0)
    assert out[0, 0].argmax().item() == 13 * 32 + 13
    torch.testing.assert_close(out.sum(), x.sum())


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("foo=1", "unknown transform 'foo'"),
        ("shift=abc", "not a number"),
        ("jpeg=0:50", "out of range"),
        ("jpeg=50.5", "whole numbers"),
        ("rotate=200", "out of range"),
        ("noise=-0.1", "out of range"),
        ("noise=2", "out of range"),
        ("scale=1.2:0.8", "low end is above"),
        ("crop=0", "out of range"),
        ("shift", "neither name=value nor a preset"),
        ("shift=1,shift=2", "given twice"),
        ("blur=nan", "finite"),
        ("shift=1:2:3", "lo:hi"),
    ],
)
def test_bad_specs_name_the_problem(spec, fragment):
    with pytest.raises(TransformSpecError, match=fragment.replace("(", r"\(")):
        TransformSpec.parse(spec)


def test_colour_shift_only_for_colour_images():
    spec = TransformSpec.parse("color=0.1,noise=0.01")
    with pytest.raises(TransformSpecError, match="colour"):
        spec.for_images(1)
    assert spec.for_images(3) is spec
    preset = TransformSpec.parse("print-photo")
    assert "color" in preset.ranges and "color" not in preset.for_images(1).ranges


def test_presets_parse_and_round_trip_through_json():
    for name in PRESETS:
        spec = TransformSpec.parse(name)
        assert TransformSpec.from_ranges(spec.to_dict()).ranges == spec.ranges
    scoring = RobustScoring(TransformSpec.parse("shift=2,jpeg=60:95"), 4, "min")
    assert RobustScoring.from_dict(scoring.to_dict()) == scoring


def test_robust_scoring_reduces_the_views_scored_in_one_call(lenet_target):
    digits = images(1, count=5)[:, :, 2:30, 2:30].contiguous()
    spec = TransformSpec.parse("shift=2,rotate=10,noise=0.05,jpeg=60:95")
    mean = RobustScoring(spec, 7, "mean")
    per_view = lenet_target.scores(mean.views(digits, np.random.default_rng(1), 7, shared=True))
    per_view = per_view.reshape_views(7)
    assert per_view.probabilities.shape == per_view.log_odds.shape == (7, 5, 10)
    queries = lenet_target.queries
    # The default policy (paired) shows every image the same views.
    assert mean.shared_views
    fitness = mean.scores(lenet_target, digits, np.random.default_rng(1))
    assert lenet_target.queries - queries == 35  # the 7 x 5 views, scored in one call
    np.testing.assert_array_equal(fitness.probabilities, per_view.probabilities.mean(axis=0))
    # The log-odds of the mean probability, taken from the views' log-odds: equal to the
    # log-odds of the mean probability up to float64 rounding where 1 - p keeps enough digits.
    p = per_view.probabilities.mean(axis=0)
    keep = p < 1 - 1e-6
    np.testing.assert_allclose(
        fitness.log_odds[keep], (np.log(p) - np.log1p(-p))[keep], rtol=1e-9, atol=1e-9
    )
    assert (fitness.log_odds[~keep] > 13).all()
    worst = RobustScoring(spec, 7, "min").scores(lenet_target, digits, np.random.default_rng(1))
    np.testing.assert_array_equal(worst.probabilities, per_view.probabilities.min(axis=0))
    np.testing.assert_array_equal(worst.log_odds, per_view.log_odds.min(axis=0))
    # One view of an identity SPEC is the plain score, same call shape, same process.
    plain = lenet_target.scores(digits)
    same = RobustScoring(TransformSpec.parse("identity"), 1).scores(
        lenet_target, digits, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(same.probabilities, plain.probabilities)
    np.testing.assert_array_equal(same.log_odds, plain.log_odds)


def test_paired_scoring_shows_every_image_the_same_views():
    """--robust-elites paired: view k is one transformation for all images (common random
    numbers), drawn as K draws; otherwise (and for held-out scoring) every image gets its own."""
    spec = TransformSpec.parse("shift=3,rotate=15,noise=0.1,jpeg=20:60")
    same = images(1, count=1).repeat(4, 1, 1, 1)  # four copies of one image
    rng = np.random.default_rng(0)
    paired = RobustScoring(spec, 3).views(same, rng, 3, shared=True).reshape(3, 4, 1, 32, 32)
    for k in range(3):
        for i in range(1, 4):
            torch.testing.assert_close(paired[k, i], paired[k, 0], rtol=0, atol=0)
    assert not torch.equal(paired[0, 0], paired[1, 0])  # the K views differ from each other
    after = np.random.default_rng(0)
    spec.draw(3, (1, 32, 32), after)  # paired views cost K draws, whatever the batch
    assert rng.random() == after.random()
    independent = RobustScoring(spec, 3).views(same, np.random.default_rng(0), 3)
    assert not torch.equal(independent[0], independent[1])
