"""The CUDA kernel under Numba's CUDA simulator, against the CPU renderer.

Not collected by the normal run (no test_ prefix): tests/gpu/test_gpu_render.py runs this file
with ``python -m pytest`` in a subprocess with ``NUMBA_ENABLE_CUDASIM=1``, which must be set
before numba.cuda is first imported. The simulator runs the kernel as Python, one thread per
(genome, pixel), calling the scalar pieces it shares with the CPU kernel; so images are small and
genomes few.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core import config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cppn"))  # test_cppn_render
from test_cppn_render import assert_same_8bit_images, evolved  # noqa: E402

from cppn import image, render_numba  # noqa: E402
from cppn.program import compile_population  # noqa: E402

pytestmark = pytest.mark.skipif(
    not config.ENABLE_CUDASIM, reason="run with NUMBA_ENABLE_CUDASIM=1 (see test_gpu_render.py)"
)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cfg")
    deep = "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\nconn_delete_prob = 0.1\n"
    wide = "[DefaultGenome]\nconn_add_prob = 1\nconn_delete_prob = 0\nnode_delete_prob = 0.05\n"
    made = {
        "default": evolved(tmp, "default", "", 4, 30),
        "deep": evolved(tmp, "deep", deep, 3, 50),
        "wide": evolved(tmp, "wide", wide, 3, 60, outputs=1),
    }
    return {k: compile_population(g, p.genome_config) for k, (p, g) in made.items()}


@pytest.mark.parametrize("kind", ["default", "deep", "wide"])
@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
def test_cuda_kernel_raw_outputs_match_the_cpu_renderer(programs, kind, coordinates):
    from cuda_host import render_host

    if kind == "deep":
        assert programs[kind].max_nodes > 20
    grid = image.input_grid(5, 6, coordinates)
    got = render_host(programs[kind], grid, "raw")
    expected = render_numba.render_outputs(programs[kind], grid)
    assert got.shape == expected.shape and got.dtype == np.float32
    # The CPU renderer is held to neat-python at 1e-5; the kernel is held to it at the same.
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("color", ["gray", "hls", "hls_full"])
def test_cuda_kernel_images_match_the_cpu_renderer(programs, color):
    from cuda_host import render_host

    kind = "wide" if color == "gray" else "default"
    grid = image.input_grid(7, 4)
    got = render_host(programs[kind], grid, color)
    expected = render_numba.render(programs[kind], grid, 7, 4, color).reshape(got.shape)
    assert_same_8bit_images(got, expected)
