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
