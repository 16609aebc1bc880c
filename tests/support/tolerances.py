"""Tolerances for comparing float32 model outputs that were not computed in one identical call.

PyTorch picks different kernels (blocking, SIMD width, summation order) for different batch
sizes, memory layouts and CPU models, so the same image scored in another batch differs in the
last bits of float32 (4e-8 measured on Intel Xeon, where AMD EPYC happened to agree exactly).
The relative error of a float32 logit after a few hundred multiply-adds is about 1e-6; softmax
turns an absolute logit error e into a relative probability error of about e, so probabilities
agree to 1e-5 relative (logits of up to ~10), and any probability below 1e-7 is noise. Exact
equality is only asserted for results of one identical call in one process.
"""

from __future__ import annotations

# Probabilities from float32 models, scored in different batches or layouts.
ACROSS_BATCHES = {"rtol": 1e-5, "atol": 1e-7}

# Raw outputs of the differentiable CPPN renderer (cppn/render_torch.py) against the Numba
# renderer's, both float64 in [-1, 1]. They differ in rounding only: Numba fuses multiply-adds,
# sums a node's links in another order and computes sine and exp by its own polynomials (within
# 2.3e-16 of libm); weights up to 10 and chains of up to ~40 levels amplify that. Measured: at
# most 7e-11 on the parity tests' deep and wide genomes (up to 63 nodes, 39 levels), 5e-13 on
# default genomes at 224 x 224 with raw coordinates; 1e-9 leaves a margin of 14.
TORCH_CPPN_OUTPUTS = {"rtol": 0.0, "atol": 1e-9}
