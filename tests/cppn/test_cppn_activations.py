"""The activation set: formulas, guards, and that every evaluator uses the same functions."""

import math

import numba
import numpy as np
import pytest

from cppn import activations
from cppn.profile import load_profile

Z = np.array(
    [
        -1e300,
        -800.0,
        -61.0,
        -5.0,
        -3.0,
        -1.0,
        -0.25,
        0.0,
        0.3,
        1.0,
        2.9,
        3.5,
        40.0,
        1e300,
        np.inf,
        -np.inf,
        np.nan,
    ]
)


def test_formulas_match_the_paper():
    z = np.linspace(-20, 20, 401)
    np.testing.assert_allclose(activations.sine(z), np.sin(z), atol=1e-15)
    np.testing.assert_allclose(activations.bipolar_sigmoid(z), 2 / (1 + np.exp(-z)) - 1, atol=1e-15)
    np.testing.assert_allclose(activations.gaussian(z), np.exp(-(z**2)), atol=1e-15)
    np.testing.assert_allclose(activations.linear(z), np.clip(z, -3, 3) / 3, atol=1e-15)


@pytest.mark.parametrize("name", activations.NAMES)
def test_guards_give_defined_bounded_values(name):
    f = activations.FUNCTIONS[activations.IDS[name]]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        values = f(Z)
    assert np.all(np.isfinite(values))
    assert np.all(np.abs(values) <= 1.0)
    assert f(np.nan) == f(0.0)  # NaN reads as 0


def test_sigmoid_saturates_without_overflow():
    assert activations.bipolar_sigmoid(-1e4) == -1.0
    assert activations.bipolar_sigmoid(1e4) == 1.0
    assert activations.gaussian(1e10) == 0.0


@pytest.mark.parametrize("name", activations.NAMES)
def test_scalar_numba_numpy_agree(name):
    f = activations.FUNCTIONS[activations.IDS[name]]
    jitted = numba.njit(f)
    vectorised = f(Z)
    for z, expected in zip(Z, vectorised, strict=True):
        assert float(f(float(z))) == pytest.approx(expected, abs=1e-15)
        assert jitted(float(z)) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("name", activations.NAMES)
def test_torch_twin_agrees(name):
    torch = pytest.importorskip("torch")
    act_id = activations.IDS[name]
    got = activations.apply_torch(act_id, torch.tensor(Z, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, activations.apply_numpy(act_id, Z), atol=1e-15)


def test_registered_with_neat_and_python_math_agrees():
    config = load_profile().genome_config
    for name, f in zip(activations.NAMES, activations.FUNCTIONS, strict=True):
        assert config.activation_defs.get(name) is f
    assert activations.bipolar_sigmoid(0.7) == pytest.approx(2 / (1 + math.exp(-0.7)) - 1)


def test_torch_sigmoid_gives_the_numba_renderers_bytes_where_it_saturates():
    """For |z| between 36.7 and 37.4, 2 / (1 + e) - 1 rounds to +-1.0 where the compiled
    renderers' (1 - e) / (1 + e) gives +-0.9999999999999999: bytes 255 against 254. The torch
    twin is written as they are; what remains is exp's last bit (Numba's own against libm's),
    which decides the byte for some z < 0."""
    torch = pytest.importorskip("torch")
    from cppn.render_numba import bipolar_sigmoid

    z = np.concatenate([np.linspace(30.0, 40.0, 2001), -np.linspace(30.0, 40.0, 2001)])
    got = activations.apply_torch(activations.IDS["bipolar_sigmoid"], torch.from_numpy(z))
    numba_bytes = np.floor(np.abs([bipolar_sigmoid(float(v)) for v in z]) * 255.0)
    torch_bytes = np.floor(np.abs(got.numpy()) * 255.0)
    numpy_bytes = np.floor(np.abs(activations.bipolar_sigmoid(z)) * 255.0)
    assert np.array_equal(torch_bytes[z > 0], numba_bytes[z > 0])
    assert np.mean(torch_bytes != numba_bytes) < 0.005 < 0.05 < np.mean(numpy_bytes != numba_bytes)
