"""The NumPy alias the CUDA renderer restores for numba-cuda (no GPU needed)."""

import types

import numpy as np
import pytest


def test_a_numpy_without_row_stack_gets_the_vstack_alias_back():
    render_cuda = pytest.importorskip("cppn.render_cuda")
    removed = types.SimpleNamespace(vstack=np.vstack)
    render_cuda.restore_removed_numpy_aliases(removed)
    assert removed.row_stack is np.vstack
    present = types.SimpleNamespace(vstack=np.vstack, row_stack=np.hstack)
    render_cuda.restore_removed_numpy_aliases(present)
    assert present.row_stack is np.hstack, "an existing row_stack is left alone"
