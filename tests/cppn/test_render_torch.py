"""The differentiable torch renderer against the Numba renderer, and its gradients."""

import numpy as np
import pytest
import torch
from tolerances import TORCH_CPPN_OUTPUTS

from cppn import image, render_numba
from cppn.breeder import ArrayBreeder
from cppn.color import pixels_from_outputs
from cppn.levels import indexed_programs
from cppn.profile import load_profile
from cppn.program_arrays import compile_arrays
from cppn.render import render_genomes
from cppn.render_torch import TorchCppnRenderer, with_weights
from evolve.encodings.cppn import CppnEncoding

HEIGHT, WIDTH = 9, 7  # not square: rows and columns cannot be swapped unseen
PROFILES = {
    "default": ("", 12, 30),
    # Deep: mostly node splits, so chains of many hidden nodes (many levels).
    "deep": ("node_add_prob = 1\nnode_delete_prob = 0\nconn_delete_prob = 0.1\n", 6, 40),
    # Wide: many links per node.
    "wide": ("conn_add_prob = 1\nconn_delete_prob = 0\nnode_delete_prob = 0.05\n", 6, 50),
}


def evolved(tmp_path_factory, kind, channels, seed=0):
    """A population bred by the ArrayBreeder for some generations (hidden nodes, pruned ones)."""
    text, n, generations = PROFILES[kind]
    path = tmp_path_factory.mktemp("cfg") / f"{kind}.cfg"
    path.write_text(f"[DefaultGenome]\n{text}")
    profile = load_profile(path, num_outputs=channels)
    breeder = ArrayBreeder(profile)
    rng = np.random.default_rng(seed)
    population = breeder.random(n, rng)
    for _ in range(generations):
        population = breeder.vary(population, rng)
    return profile, population


@pytest.fixture(scope="module")
def populations(tmp_path_factory):
    return {
        (kind, channels): evolved(tmp_path_factory, kind, channels)
        for kind in PROFILES
        for channels in (1, 3)
    }


def numba_outputs(population, channels, coordinates):
    """The Numba kernel's raw outputs in float64 (render_outputs rounds them to float32)."""
    programs = compile_arrays(population, channels)
    grid = image.input_grid(HEIGHT, WIDTH, coordinates)
    out = np.empty((len(programs), channels, grid.shape[1]), dtype=np.float64)
    render_numba._render_kernel(programs.arrays(), grid, 0, 0.0, out)
    return out.reshape(len(programs), channels, HEIGHT, WIDTH)


def near_a_byte_boundary(outputs, atol):
    """Where an output's 8-bit value could change within ``atol`` (floor(|v| * 255))."""
    scaled = np.abs(outputs) * 255.0
    return np.abs(scaled - np.round(scaled)) <= 255.0 * atol


@pytest.mark.parametrize("kind", list(PROFILES))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
def test_outputs_match_the_numba_renderer(populations, kind, channels, coordinates):
    _, population = populations[kind, channels]
    color = "gray" if channels == 1 else "hls"
    if kind != "default":
        assert population.num_nodes.max() > 15  # hidden nodes, several levels
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, color, coordinates)
    with torch.no_grad():
        got = renderer.outputs(renderer.weights()).numpy()
    np.testing.assert_allclose(
        got, numba_outputs(population, channels, coordinates), **TORCH_CPPN_OUTPUTS
    )


@pytest.mark.parametrize("color", ["gray", "rgb", "hls", "hls_full"])
@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
def test_torch_images_are_the_numba_images_away_from_byte_boundaries(
    populations, color, coordinates
):
    channels = 1 if color == "gray" else 3
    profile, population = populations["default", channels]
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, color, coordinates, reference=None)
    with torch.no_grad():
        got = renderer.render(renderer.weights()).numpy()
    expected = render_genomes(
        population, profile.genome_config, HEIGHT, WIDTH, color, coordinates, "numba"
    )
    assert got.dtype == np.float32 and got.shape == expected.shape
    outputs = numba_outputs(population, channels, coordinates)
    # An HLS channel reads all three outputs of its pixel.
    near = near_a_byte_boundary(outputs, TORCH_CPPN_OUTPUTS["atol"]).any(axis=1, keepdims=True)
    differ = got != expected
    assert not (differ & ~near).any()
    assert differ.mean() < 0.01


@pytest.mark.parametrize("color", ["gray", "hls"])
def test_render_gives_the_reference_images_bit_for_bit(populations, color):
    channels = 1 if color == "gray" else 3
    profile, population = populations["wide", channels]
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, color, "raw")
    weights = renderer.weights().requires_grad_()
    images = renderer.render(weights)
    expected = render_genomes(population, profile.genome_config, HEIGHT, WIDTH, color, "raw")
    assert torch.equal(images.detach(), torch.from_numpy(expected))
    images.sum().backward()
    assert torch.isfinite(weights.grad).all() and weights.grad.abs().sum() > 0


def test_the_encodings_renderer_gives_express_images():
    encoding = CppnEncoding(channels=3, height=HEIGHT, width=WIDTH, coordinates="raw",
                            renderer="numba")  # fmt: skip
    rng = np.random.default_rng(3)
    genomes = encoding.random(5, rng)
    for generation in range(10):
        genomes = encoding.vary(genomes, rng, generation)
    renderer = encoding.torch_renderer(genomes)
    images = renderer.render(renderer.weights())
    assert torch.equal(images, torch.from_numpy(encoding.express(genomes)))


def test_gradients_are_finite_and_nonzero_and_skip_what_is_not_evaluated(populations):
    profile, population = populations["default", 3]
    population = population.copy()
    population.link_enabled[population.link_start[0]] = False  # a disabled link: not evaluated
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, "hls", "normalized", reference=None)
    weights = renderer.weights().requires_grad_()
    images = renderer.render(weights)
    expected = render_genomes(population, profile.genome_config, HEIGHT, WIDTH, "hls")
    assert (images.detach().numpy() != expected).mean() < 0.01
    projection = torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    (images * projection).sum().backward()
    grad = weights.grad
    assert torch.isfinite(grad).all()
    # Links the program leaves out (disabled, or into nodes that feed no output) get none.
    programs = indexed_programs(population, 3)
    real = np.arange(programs.link_weight.shape[1]) < programs.link_start[:, -1:]
    evaluated = np.zeros(len(grad), dtype=bool)
    evaluated[programs.link_weight[real].astype(np.int64)] = True
    assert not evaluated[population.link_start[0]] and not evaluated.all()
    assert (grad[~evaluated] == 0).all()
    assert (grad[evaluated] != 0).float().mean() > 0.25  # others sit in saturated activations
    per_genome = np.add.reduceat(grad.abs().numpy(), population.link_start[:-1])
    assert (per_genome > 0).mean() >= 0.5  # others may be saturated at every pixel
    # A genome's image depends on its own links only.
    g = int(np.argmax(per_genome))
    weights.grad = None
    renderer.render(weights)[g].sum().backward()
    own = np.zeros(len(weights), dtype=bool)
    own[population.link_start[g] : population.link_start[g + 1]] = True
    assert (weights.grad[~own] == 0).all() and (weights.grad[own] != 0).any()


@pytest.mark.parametrize("color", ["gray", "hls_full"])
@pytest.mark.parametrize("coordinates", ["normalized", "raw"])
def test_gradcheck_without_quantisation(populations, color, coordinates):
    channels = 1 if color == "gray" else 3
    _, population = populations["deep", channels]
    population = population[np.array([0, 1])]  # two genomes, some 20 nodes each
    renderer = TorchCppnRenderer(population, 4, 3, color, coordinates)
    weights = renderer.weights().requires_grad_()
    biases = (renderer.biases() + 0.1).requires_grad_()  # off zero: the affine step runs
    responses = (renderer.responses() * 0.9).requires_grad_()

    def images(w, b, r):
        return renderer.render(w, b, r, quantize=False, dtype=torch.float64)

    assert torch.autograd.gradcheck(images, (weights, biases, responses))


@pytest.mark.parametrize("color", ["gray", "rgb", "hls", "hls_full"])
def test_written_out_backward_equals_autograd_through_the_colour_twin(populations, color):
    channels = 1 if color == "gray" else 3
    _, population = populations["default", channels]
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, color, "raw", reference=None)
    projection = torch.randn((len(population), channels, HEIGHT, WIDTH),
                             generator=torch.Generator().manual_seed(1))  # fmt: skip
    for quantize in (True, False):
        rounding = "straight_through" if quantize else "none"
        ours = renderer.weights().requires_grad_()
        images = renderer.render(ours, quantize=quantize)
        (images * projection).sum().backward()
        twin = renderer.weights().requires_grad_()
        reference = pixels_from_outputs(renderer.outputs(twin), color, rounding)
        (reference * projection).sum().backward()
        assert torch.equal(images.detach(), reference.detach())
        torch.testing.assert_close(ours.grad, twin.grad, rtol=1e-9, atol=1e-9)


def test_with_weights_round_trips_through_the_numba_renderer(populations):
    profile, population = populations["default", 3]
    before = population.copy()
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH, "hls", "raw")
    weights = renderer.weights().requires_grad_()
    optimiser = torch.optim.SGD([weights], lr=0.01)
    for _ in range(3):  # a few steps of ascent: weights the population never had
        optimiser.zero_grad()
        (-renderer.render(weights).mean()).backward()
        optimiser.step()
    assert not np.array_equal(weights.detach().numpy(), population.link_weight)
    stepped = with_weights(population, weights)
    expected = render_genomes(stepped, profile.genome_config, HEIGHT, WIDTH, "hls", "raw")
    assert np.array_equal(renderer.render(weights).detach().numpy(), expected)
    torch_only = TorchCppnRenderer(population, HEIGHT, WIDTH, "hls", "raw", reference=None)
    with torch.no_grad():
        assert (torch_only.render(weights).numpy() != expected).mean() < 0.01
    # Only the weights changed; the population given is untouched.
    assert np.array_equal(stepped.link_weight, weights.detach().numpy())
    for name in ("key", "node_key", "node_activation", "link_in", "link_out", "link_enabled"):
        assert np.array_equal(getattr(stepped, name), getattr(population, name))
    assert np.array_equal(population.link_weight, before.link_weight)
    # Biases and responses are written too, and rendered by both.
    biases, responses = renderer.biases() + 0.25, renderer.responses() * 1.5
    both = with_weights(population, weights, biases, responses)
    assert np.array_equal(both.node_bias, biases.numpy())
    expected = render_genomes(both, profile.genome_config, HEIGHT, WIDTH, "hls", "raw")
    got = renderer.render(weights, biases, responses).detach().numpy()
    assert np.array_equal(got, expected)


def test_bad_shapes_and_options_are_refused(populations):
    _, population = populations["default", 1]
    renderer = TorchCppnRenderer(population, HEIGHT, WIDTH)
    with pytest.raises(ValueError, match="weights must have shape"):
        renderer.render(torch.zeros(3))
    with pytest.raises(ValueError, match="biases must have shape"):
        with_weights(population, population.link_weight, biases=np.zeros(2))
    with pytest.raises(ValueError, match="color"):
        TorchCppnRenderer(population, HEIGHT, WIDTH, color="cmyk")
    with pytest.raises(ValueError, match="reference"):
        TorchCppnRenderer(population, HEIGHT, WIDTH, reference="opengl")


def test_an_empty_batch_renders_to_no_images(populations):
    _, population = populations["default", 3]
    renderer = TorchCppnRenderer(population[np.zeros(0, dtype=np.int64)], 5, 4, "hls")
    assert renderer.render(renderer.weights()).shape == (0, 3, 5, 4)
