"""Colour direct genomes: plain RGB genes, or genes read as the original code's 8-bit HLS."""

from __future__ import annotations

import numpy as np
import pytest

from cppn.color import outputs_to_image
from evolve.encodings import DirectEncoding, build_encoding


def genes_of(h: float, l_: float, s: float) -> np.ndarray:
    """One 1x1 genome whose channel genes are h, l, s."""
    return np.array([[h, l_, s]], dtype=np.float32)


def test_default_colour_per_channel_count():
    assert DirectEncoding(channels=3).color == "rgb"
    assert DirectEncoding(channels=1).color == "gray"
    assert DirectEncoding(channels=2).color == "gray"  # plain values per channel


@pytest.mark.parametrize(
    ("channels", "color"), [(1, "hls"), (1, "rgb"), (3, "gray"), (2, "hls_full"), (3, "cmyk")]
)
def test_colour_must_fit_the_channels(channels, color):
    with pytest.raises(ValueError, match="color"):
        DirectEncoding(channels=channels, color=color)


def test_rgb_genes_are_the_pixels():
    encoding = DirectEncoding(channels=3, height=2, width=3)
    genes = encoding.random(4, np.random.default_rng(0))
    images = encoding.express(genes)
    assert images.shape == (4, 3, 2, 3) and images.dtype == np.float32
    assert np.array_equal(np.rint(images.reshape(4, -1) * 255), np.floor(genes * np.float32(255)))


def test_hls_genes_use_the_cppn_conversion():
    encoding = DirectEncoding(channels=3, height=5, width=7, color="hls")
    genes = encoding.random(6, np.random.default_rng(1))
    images = encoding.express(genes)
    assert images.shape == (6, 3, 5, 7) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.array_equal(images, outputs_to_image(genes.reshape(6, 3, 5, 7), "hls"))


def test_hls_reads_bytes_like_opencv_with_the_hue_quirk():
    red = DirectEncoding(3, 1, 1, color="hls").express(genes_of(0.0, 0.5, 1.0))
    # L byte 127, S byte 255: OpenCV's 8-bit HLS->RGB gives (254, 0, 0)
    assert np.allclose(red.ravel() * 255, [254, 0, 0])
    # Hue byte 60 is 120 degrees (green) on OpenCV's 0..180 scale, which the original code used
    # for hue bytes 0..255; "hls_full" spreads 0..255 over the circle (byte 85 ~ 120 degrees).
    green = DirectEncoding(3, 1, 1, color="hls").express(genes_of(60.5 / 255, 0.5, 1.0))
    assert np.allclose(green.ravel() * 255, [0, 254, 0])
    full = DirectEncoding(3, 1, 1, color="hls_full").express(genes_of(60.5 / 255, 0.5, 1.0))
    r, g, b = full.ravel() * 255  # byte 60 ~ 85 degrees: a yellow-green
    assert g == pytest.approx(254) and 100 < r < 200 and b == 0
    gray = DirectEncoding(3, 1, 1, color="hls").express(genes_of(0.3, 0.5, 0.0))
    assert np.allclose(gray.ravel(), gray.ravel()[0])  # no saturation: a grey


def test_colour_is_kept_in_the_config_and_old_configs_still_load():
    encoding = DirectEncoding(channels=3, height=8, width=8, color="hls", crossover_rate=0.5)
    config = encoding.config()
    assert config["color"] == "hls"
    assert build_encoding(config).config() == config
    old = {k: v for k, v in config.items() if k != "color"}
    assert build_encoding(old).color == "rgb"


def test_variation_is_unchanged_by_colour():
    rgb = DirectEncoding(channels=3, height=4, width=4, crossover_rate=0.5)
    hls = DirectEncoding(channels=3, height=4, width=4, crossover_rate=0.5, color="hls")
    parents = rgb.random(6, np.random.default_rng(2))
    a = rgb.vary(parents, np.random.default_rng(3), 1)
    b = hls.vary(parents, np.random.default_rng(3), 1)
    assert np.array_equal(a, b)
