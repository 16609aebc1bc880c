"""The CUDA renderer: under the simulator and compiled to PTX anywhere; on a GPU where there is one.

The simulator and PTX checks run in subprocesses: NUMBA_ENABLE_CUDASIM must be set before
numba.cuda is first imported, and the PTX check replaces numba-cuda's device query, neither of
which may leak into this process.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # Keep the caller's PYTHONPATH after ours: packages may be installed there (a --target folder).
    paths = [str(ROOT), str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cuda_kernel_matches_the_cpu_renderer_under_the_simulator():
    pytest.importorskip("numba.cuda")
    result = run_python(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "cudasim_cases.py")],
        NUMBA_ENABLE_CUDASIM="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout


def test_cuda_kernel_compiles_to_ptx():
    result = run_python([str(HERE / "ptx_check.py")])
    assert result.returncode == 0, result.stdout + result.stderr
    if result.stdout.startswith("skip:"):
        pytest.skip(result.stdout.strip())
    assert result.stdout.startswith("ok:"), result.stdout


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda_available(), reason="no CUDA device")
def test_gpu_renderer_on_cuda(tmp_path):
    import torch

    sys.path.insert(0, str(ROOT / "tests" / "cppn"))
    from test_cppn_render import assert_same_8bit_images, evolved

    from cppn import image, render_cuda, render_numba
    from cppn.program import compile_population
    from cppn.render import render_genomes

    deep = "[DefaultGenome]\nnode_add_prob = 1\nnode_delete_prob = 0\nconn_delete_prob = 0.1\n"
    profile, genomes = evolved(tmp_path, "deep", deep, 8, 60)
    gc = profile.genome_config
    images = render_genomes(genomes, gc, 32, 32, "hls", renderer="gpu")
    assert images.is_cuda and images.dtype == torch.float32 and images.shape == (8, 3, 32, 32)
    reference = render_genomes(genomes, gc, 32, 32, "hls", renderer="numba")
    assert_same_8bit_images(images.cpu().numpy(), reference)
    # Raw outputs to the parity tolerance; the kernel writes on torch's current stream.
    programs = compile_population(genomes, gc)
    grid = image.input_grid(17, 19, "raw")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        raw = render_cuda.render_outputs(programs, grid)
        got = raw.cpu().numpy()
    np.testing.assert_allclose(got, render_numba.render_outputs(programs, grid), atol=1e-5, rtol=0)
