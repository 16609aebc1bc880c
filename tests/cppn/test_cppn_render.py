"""Renderers against neat-python's FeedForwardNetwork, and the pixel conventions."""

import colorsys

import numpy as np
import pytest
from cppn_layout import dense_links
from neat.nn import FeedForwardNetwork

from cppn import activations, image, render_numba, render_numpy
from cppn import color as color_module
from cppn.genomes import CppnBreeder
from cppn.profile import load_profile
from cppn.program import compile_population
from cppn.render import render_genomes


def evolved(tmp_path, name, text, n, generations, outputs=3, seed=0):
    path = tmp_path / f"{name}.cfg"
    path.write_text(text)
    profile = load_profile(path, num_outputs=outputs)
    breeder = CppnBreeder(profile)
    rng = np.random.default_rng(seed)
    pop = breeder.random(n, rng)
    for _ in range(generations):
        pop = breeder.vary(pop, rng)
    return profile, pop


@pytest.fixture(scope="module")
def populations(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cfg")
    return {
        "default": evolved(tmp, "default", "", 20, 40),
        # Deep: mostly node splits, so chains of many hidden nodes.
        "deep": evolved(
            tmp,
            "deep",
            "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\nconn_delete_prob = 0.1\n",
            8,
            60,
        ),
        # Wide: many connections per node.
        "wide": evolved(
            tmp,
            "wide",
            "[DefaultGenome]\nconn_add_prob = 1\nconn_delete_prob = 0\nnode_delete_prob = 0.05\n",
            8,
            80,
            outputs=1,
        ),
    }


def neat_outputs(profile, genomes, grid):
    out = np.empty((len(genomes), profile.num_outputs, grid.shape[1]))
    for i, genome in enumerate(genomes):
        net = FeedForwardNetwork.create(genome, profile)
        for p in range(grid.shape[1]):
            out[i, :, p] = net.activate([float(v) for v in grid[:, p]])
    return out


RENDERERS = {
    "numpy": render_numpy.render_outputs,
    "numba": render_numba.render_outputs,
}


@pytest.mark.parametrize("kind", ["default", "deep", "wide"])
@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_renderers_match_neat_python(populations, kind, coordinates, renderer):
    profile, genomes = populations[kind]
    if kind == "deep":
        assert max(len(g.nodes) for g in genomes) > 40
    if kind == "wide":
        assert max(len(g.connections) for g in genomes) > 60
    grid = image.input_grid(6, 7, coordinates)
    expected = neat_outputs(profile, genomes, grid)
    got = RENDERERS[renderer](compile_population(genomes, profile.genome_config), grid)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_images_quantise_outputs_to_8_bits(populations):
    profile, genomes = populations["default"]
    grid = image.input_grid(5, 4)
    expected = np.floor(np.clip(np.abs(neat_outputs(profile, genomes, grid)), 0, 1) * 255) / 255
    for renderer in ("numpy", "numba"):
        images = render_genomes(genomes, profile.genome_config, 5, 4, "rgb", renderer=renderer)
        assert images.dtype == np.float32 and images.shape == (20, 3, 5, 4)
        mismatch = np.abs(images - expected.reshape(images.shape)) > 1e-6
        assert mismatch.mean() < 0.01  # only floor() ties between float64 evaluations


@pytest.mark.parametrize("color, hue_degrees_per_byte", [("hls", 2.0), ("hls_full", 360 / 255)])
def test_hls_conversion_matches_colorsys(color, hue_degrees_per_byte):
    rng = np.random.default_rng(0)
    h, lum, s = rng.integers(0, 256, (3, 500)).astype(np.float64)
    scale = color_module.HUE_SECTORS_PER_BYTE[color]
    got = np.stack([color_module.hls_channel(h, lum, s, scale, n) for n in (0.0, 8.0, 4.0)])
    ref = np.array(
        [
            colorsys.hls_to_rgb((a * hue_degrees_per_byte % 360) / 360, b / 255, c / 255)
            for a, b, c in zip(h, lum, s, strict=True)
        ]
    ).T
    np.testing.assert_array_equal(got, np.rint(ref * 255) / 255)


def assert_same_8bit_images(got: np.ndarray, expected: np.ndarray) -> None:
    """8-bit images from two renderers: equal except where a level boundary splits them.

    NumPy, Numba and torch take sin/exp from different libraries (SIMD variants chosen per CPU),
    which differ in the last float32 bit; a value that lands within that of a rounding boundary
    goes to the neighbouring level. So: at most one level apart, and on almost no pixels.
    """
    assert got.shape == expected.shape
    levels = np.abs(np.rint(got * 255) - np.rint(expected * 255))
    assert levels.max() <= 1 and (levels > 0).mean() < 0.002


@pytest.mark.parametrize("color", ["hls", "hls_full"])
def test_colour_renderers_agree(populations, color):
    profile, genomes = populations["default"]
    args = (genomes, profile.genome_config, 9, 11, color)
    reference = render_genomes(*args, renderer="numpy")
    assert reference.shape == (20, 3, 9, 11)
    assert_same_8bit_images(render_genomes(*args, renderer="numba"), reference)


def test_input_grid_conventions():
    grid = image.input_grid(3, 5)
    assert grid.shape == (4, 15)
    x, y, d, bias = grid.reshape(4, 3, 5)
    np.testing.assert_allclose(x[0], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(y[:, 0], [-1, 0, 1])
    assert d[1, 2] == 0 and d[0, 0] == pytest.approx(np.sqrt(2))
    assert np.all(bias == 1)
    raw = image.input_grid(3, 5, "raw").reshape(4, 3, 5)
    np.testing.assert_array_equal(raw[0][0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(raw[1][:, 0], [0, 1, 2])
    np.testing.assert_array_equal(raw[2], d)


def test_any_resolution_and_degenerate_sizes(populations):
    profile, genomes = populations["default"]
    for h, w in [(1, 1), (1, 17), (300, 2), (64, 64)]:
        images = render_genomes(genomes[:3], profile.genome_config, h, w, "rgb")
        assert images.shape == (3, 3, h, w)
        assert images.min() >= 0 and images.max() <= 1
    assert render_genomes([], profile.genome_config, 4, 4, "rgb").shape[0] == 0


def test_compile_population_matches_packing_each_compiled_genome(populations):
    from dataclasses import fields

    from cppn.program import compile_genome, pack

    for profile, genomes in populations.values():
        gc = profile.genome_config
        fast = compile_population(genomes, gc)
        slow = pack([compile_genome(g, gc) for g in genomes])
        for f in fields(fast):
            a, b = getattr(fast, f.name), getattr(slow, f.name)
            assert a.dtype == b.dtype and a.shape == b.shape, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)


@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
def test_rendering_at_another_size_samples_the_same_picture(populations, coordinates):
    profile, genomes = populations["wide"]
    small = render_genomes(
        genomes, profile.genome_config, 28, 28, coordinates=coordinates, native=(28, 28)
    )
    large = render_genomes(
        genomes, profile.genome_config, 55, 55, coordinates=coordinates, native=(28, 28)
    )
    np.testing.assert_array_equal(large[:, :, ::2, ::2], small)


def test_raw_coordinates_are_pixel_indices_of_the_native_size():
    grid = image.input_grid(4, 7, "raw")
    assert grid[0].reshape(4, 7)[0].tolist() == list(range(7))
    assert grid[1].reshape(4, 7)[:, 0].tolist() == list(range(4))
    scaled = image.input_grid(7, 13, "raw", native=(4, 7))
    np.testing.assert_allclose(scaled[0].reshape(7, 13)[0], np.linspace(0, 6, 13))
    np.testing.assert_allclose(scaled[1].reshape(7, 13)[:, 0], np.linspace(0, 3, 7))
    np.testing.assert_array_equal(scaled[2], image.input_grid(7, 13)[2])  # d unchanged


def test_dense_links_lay_out_each_nodes_links_in_order(populations):
    for profile, genomes in populations.values():
        programs = compile_population(genomes, profile.genome_config)
        source, weight = dense_links(programs)
        fan_in = np.diff(programs.link_start, axis=1)
        assert source.shape[2] == max(1, fan_in.max())
        for g in range(len(programs)):
            for k in range(programs.max_nodes):
                a, b = programs.link_start[g, k], programs.link_start[g, k + 1]
                np.testing.assert_array_equal(source[g, k, : b - a], programs.link_source[g, a:b])
                np.testing.assert_array_equal(weight[g, k, : b - a], programs.link_weight[g, a:b])
                assert not source[g, k, b - a :].any() and not weight[g, k, b - a :].any()


def test_numba_scalar_activations_match_the_reference_functions():
    # The CPU and CUDA kernels' own sine and exp (Cephes polynomials, see cppn.render_numba)
    # against cppn.activations (NumPy's libm): a few ulp apart on values in [-1, 1], so 1e-14;
    # beyond SINE_LIMIT and at NaN / +-inf they take the reference's own route.
    rng = np.random.default_rng(0)
    z = np.concatenate(
        [
            rng.uniform(-10, 10, 2000),
            rng.uniform(-1e5, 1e5, 2000),
            10.0 ** rng.uniform(5, 30, 200) * rng.choice([-1, 1], 200),
            [0.0, -0.0, np.nan, np.inf, -np.inf, 60.0, -60.0, 27.0, -27.0, 3.0, -3.0],
        ]
    )
    shared = (
        render_numba.sine,
        render_numba.bipolar_sigmoid,
        render_numba.gaussian,
        render_numba.linear,
    )
    for act_id, function in enumerate(shared):
        expected = activations.apply_numpy(act_id, z)
        got = np.array([function(v) for v in z])
        per_pixel = np.array([render_numba.activate(act_id, v) for v in z])
        np.testing.assert_allclose(
            got, expected, rtol=0, atol=1e-14, err_msg=f"activation {act_id}"
        )
        np.testing.assert_array_equal(per_pixel, got)
        row = np.empty_like(z)
        render_numba._activate_row(act_id, 0.0, 1.0, z, row, len(z))
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-14, err_msg=f"row {act_id}")


def test_numba_scalar_colour_matches_cppn_color():
    rng = np.random.default_rng(1)
    v = np.concatenate([rng.uniform(-1.5, 1.5, 3000), [np.nan, 0.0, 1.0, -1.0, 1 / 255]])
    np.testing.assert_array_equal([render_numba.to_byte(x) for x in v], color_module.to_byte(v))
    h, lum, s = rng.integers(0, 256, (3, 2000)).astype(np.float64)
    for scale in color_module.HUE_SECTORS_PER_BYTE.values():
        for n in (0.0, 8.0, 4.0):
            got = [
                render_numba.hls_channel(*args, scale, n) for args in zip(h, lum, s, strict=True)
            ]
            np.testing.assert_array_equal(got, color_module.hls_channel(h, lum, s, scale, n))


def test_numba_results_do_not_depend_on_the_thread_count(populations):
    # Same machine, same code, same pixel blocks (set by the image size only): every pixel is
    # computed by the same instructions whichever thread takes its block, so bit-identical.
    numba = pytest.importorskip("numba")
    profile, genomes = populations["deep"]
    programs = compile_population(genomes, profile.genome_config)
    grid = image.input_grid(40, 45)  # two pixel blocks per genome
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = render_numba.render(programs, grid, 40, 45, "hls")
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = render_numba.render(programs, grid, 40, 45, "hls")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)
