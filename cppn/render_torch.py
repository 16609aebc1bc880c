"""A differentiable CPPN renderer in torch: a population's images as a function of its link
weights (and node biases and responses), for search that follows gradients.

A batch of any mix of topologies is evaluated level by level (:mod:`cppn.levels`): per level, a
gather, weigh and add per group of links (one multiply-add per link and pixel, no padding), then
one torch call per activation present; the Python loop runs over levels and source levels (the
deepest genome's depth), never over genomes, nodes or pixels. Both stages, the network and the
colour conversion, have their backward pass written out (:class:`_Network`, :class:`_Pixels`):
autograd's own graph kept a copy of every link's source row and some forty intermediates of the
images' size (peak process memory 3.3 GB where these need 1.7 GB: 50 genomes of some 22 nodes,
224 x 224 x 3, measured on a 2-core CPU).

Forward values are the Numba renderer's up to rounding. A node is evaluated by the same formula,
activation(bias + response * sum(weight * source)), with the same guards
(:func:`cppn.activations.apply_torch`, whose sigmoid is written as Numba's), in float64. What
differs: Numba fuses each multiply-add (one rounding instead of two), sums a node's links in link
order (here by source level, in link order within one), and computes sine and exp by its own
polynomials (within 2.3e-16 of libm). Raw outputs agree to 1e-9 (measured: 7e-11 at most, on
genomes of up to 63 nodes and 39 levels; ``tests/support/tolerances.py``, ``TORCH_CPPN_OUTPUTS``),
so the torch images are the Numba images except where an output lies that close to an 8-bit
boundary. That is not rare: a saturated sigmoid or a sine at its peak gives +-1 to within an ulp,
right on the boundary between bytes 254 and 255 (40 of 3 million channel values differed, 20
genomes at 224 x 224 x 3 with raw coordinates). So by default :meth:`TorchCppnRenderer.render`
returns the ``reference`` renderer's images (the encoding's own, compiled and rendered from the
same parameters: about a third more CPU time, 0.6 -> 0.8 s for 20 genomes of some 10 nodes at
224 x 224 x 3, forward and backward, one thread, roughly measured on a loaded 2-core machine) with
the torch images' gradient: bit for bit what the archive stores, and scores.

Colour and 8-bit quantisation are :func:`cppn.color.pixels_from_outputs`, the torch twin of the
encoding's conversion, with straight-through rounding: the forward pass gives exactly the 8-bit
values, the backward pass takes each rounding's derivative as 1. ``quantize=False`` drops the
roundings (a smooth surrogate, for gradient checks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cppn import image
from cppn.activations import apply_torch
from cppn.color import COLOR_MODES, HUE_SECTORS_PER_BYTE, bytes_torch, pixels_from_outputs
from cppn.levels import LevelPlan, plan_levels
from cppn.population import CppnPopulation
from cppn.program_arrays import compile_arrays
from cppn.render import RENDERERS, render_programs, resolve_renderer


def _derivative(activation: int, pre: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """d activation / d pre-activation, as torch's autograd would give it for
    :func:`cppn.activations.apply_torch` (the guards pass no gradient where they clip)."""
    x = pre.clamp(-60.0, 60.0)  # where the guards do not clip, x is pre
    if activation == 0:
        return torch.where(torch.isfinite(pre), torch.cos(pre.nan_to_num(0.0, 0.0, 0.0)), 0.0)
    if activation == 1:
        e = torch.exp(-x)
        slope = 2.0 * e / ((1.0 + e) * (1.0 + e))
    elif activation == 2:
        slope = -2.0 * x * value
    else:
        return (pre.abs() <= 3.0).to(pre.dtype) / 3.0
    return torch.where(pre.abs() <= 60.0, slope, 0.0)


class _Network(torch.autograd.Function):
    """The raw outputs [N * C, P] of a renderer's levels, with the backward pass written out
    (autograd's own graph saved a copy of every link's source row and a few intermediates per
    activation). Keeps each level's values and pre-activations (and link sums, with biases)."""

    @staticmethod
    def forward(
        ctx: Any,
        renderer: TorchCppnRenderer,
        weights: torch.Tensor,
        biases: torch.Tensor | None,
        responses: torch.Tensor | None,
    ) -> torch.Tensor:
        out, values, pres, sums = renderer._evaluate(weights, biases, responses)
        ctx.renderer, ctx.depth = renderer, len(values)
        ctx.save_for_backward(weights, biases, responses, *values, *pres, *sums)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weights, biases, responses, *saved = ctx.saved_tensors
        d = ctx.depth
        values, pres, sums = saved[:d], saved[d : 2 * d], saved[2 * d :]
        grads = ctx.renderer._backpropagate(
            grad, weights, biases, responses, values, pres, sums, ctx.needs_input_grad[1:]
        )
        return None, *grads


def _byte_slope(v: torch.Tensor) -> torch.Tensor:
    """d byte / d output of cppn.color's torch ``bytes_torch`` with its floor straight through:
    255 sign(v) where |v| <= 1 (the clamp passes its bound), 0 elsewhere and at v = 0."""
    return torch.where(v.abs() <= 1.0, torch.sign(v) * 255.0, 0.0)


def _hls_backward(
    outputs: torch.Tensor, grad: torch.Tensor, hue_scale: float, rounding: str
) -> torch.Tensor:
    """Gradient of the outputs [N, 3, ...] through cppn.color's ``_hls_channel`` of their bytes,
    each rounding's derivative 1, min's at a tie 0 (torch's halves), clamp's at its bounds 1.

    Per channel c: value_c = L - S min(L, 1 - L) clamp(ramp_c(k_c), -1, 1) with L, S the
    lightness and saturation bytes / 255 and k_c = (n_c + 2 hue_scale H) mod 12; the three
    channels' gradients enter through three sums over c.
    """
    h, lum, s = (bytes_torch(outputs[:, i], rounding) for i in range(3))
    light, saturation = lum / 255.0, s / 255.0
    low = torch.minimum(light, 1.0 - light)
    total = grad.sum(1)  # sum of g_c
    shade = torch.zeros_like(h)  # sum of g_c clamp(ramp_c)
    turn = torch.zeros_like(h)  # sum of g_c d clamp(ramp_c) / d k_c
    for channel, n in enumerate((0.0, 8.0, 4.0)):
        k = torch.remainder(n + 2.0 * (h * hue_scale), 12.0)
        ramp = torch.minimum(k - 3.0, 9.0 - k)
        g = grad[:, channel]
        shade.addcmul_(g, ramp.clamp(-1.0, 1.0))
        turn.addcmul_(g, torch.where(ramp.abs() <= 1.0, torch.sign(6.0 - k), 0.0))
    low_slope = torch.sign((1.0 - light) - light)  # d min(L, 1 - L) / d L
    grad_l = (total - saturation * low_slope * shade) / 255.0
    grad_s = -(low * shade) / 255.0
    grad_h = turn * saturation * low * (-2.0 * hue_scale)
    slopes = [_byte_slope(outputs[:, i]) for i in range(3)]
    return torch.stack([grad_h * slopes[0], grad_l * slopes[1], grad_s * slopes[2]], dim=1)


class _Pixels(torch.autograd.Function):
    """:func:`cppn.color.pixels_from_outputs` with rounding "straight_through" or "none", its
    backward written out: autograd's graph kept some forty intermediates of the images' size
    (2.4 GB for 50 images of 224 x 224 x 3), this keeps the outputs only. Tests hold it to
    autograd through the twin."""

    @staticmethod
    def forward(
        ctx: Any, outputs: torch.Tensor, color: str, rounding: str, dtype: Any
    ) -> torch.Tensor:
        ctx.save_for_backward(outputs)
        ctx.color, ctx.rounding = color, rounding
        # The same values: straight-through rounding is exact rounding forward.
        return pixels_from_outputs(outputs, color, "none" if rounding == "none" else "exact", dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (outputs,) = ctx.saved_tensors
        grad = grad.to(outputs.dtype)
        if ctx.color in ("gray", "rgb"):
            return grad * _byte_slope(outputs) / 255.0, None, None, None
        scale = HUE_SECTORS_PER_BYTE[ctx.color]
        return _hls_backward(outputs, grad, scale, ctx.rounding), None, None, None


class TorchCppnRenderer:
    """Renders a fixed batch of CPPN genomes as a differentiable function of their continuous
    parameters (see the module docstring).

    ``height``, ``width``, ``color``, ``coordinates`` and ``native`` mean what they mean to
    :func:`cppn.render.render_genomes` (the CPPN encoding passes ``native`` = its own size);
    ``color`` "gray" takes 1 output, the others 3. ``dtype`` is the arithmetic's (float64 gives
    the Numba renderer's values to rounding; float32 is faster and differs by far more where raw
    coordinates or chains of sines amplify errors). ``reference``: the renderer ("numba", "gpu",
    ... of :data:`cppn.render.RENDERERS`) whose 8-bit images :meth:`render` returns in the
    forward pass, the torch images' gradient passing straight through, so that they are bit for
    bit the images that renderer gives; None returns the torch images themselves. Raises
    :class:`cppn.program_arrays.CompileError` for a genome that cannot be compiled.
    """

    def __init__(
        self,
        population: CppnPopulation,
        height: int,
        width: int,
        color: str = "gray",
        coordinates: str = "normalized",
        device: Any = "cpu",
        dtype: torch.dtype = torch.float64,
        native: tuple[int, int] | None = None,
        reference: str | None = "numba",
    ) -> None:
        if color not in COLOR_MODES:
            raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
        if reference is not None and reference not in RENDERERS:
            raise ValueError(f"reference must be None or one of {RENDERERS}, got {reference!r}")
        self.height, self.width, self.color = int(height), int(width), color
        self.coordinates, self.reference = coordinates, reference
        self.native = None if native is None else (int(native[0]), int(native[1]))
        self.device, self.dtype = torch.device(device), dtype
        self.num_genomes = len(population)
        self.num_outputs = 1 if color == "gray" else 3
        self._population = population.copy()
        # x * 1 + 0 is x exactly: the default profile's nodes need no affine step.
        self._affine = bool(
            np.any(population.node_bias != 0.0) or np.any(population.node_response != 1.0)
        )
        grid = image.input_grid(self.height, self.width, coordinates, self.native)
        self._grid = torch.as_tensor(grid, dtype=dtype, device=self.device)
        self._plan = LevelPlan((), ())
        if self.num_genomes:
            self._plan = plan_levels(population, self.num_outputs).convert(
                lambda array: torch.as_tensor(array, dtype=torch.int64, device=self.device)
            )

    def _evaluate(
        self, weights: torch.Tensor, biases: torch.Tensor | None, responses: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Raw outputs [N * C, P], and per level (1..depth) its values, pre-activations and
        (with biases) link sums."""
        pixels = self._grid.shape[1]
        values, pres, sums = [self._grid], [], []
        for level in self._plan.levels:
            z = torch.zeros((level.size, pixels), dtype=self.dtype, device=self.device)
            for links in level.links:
                sources = values[links.source].index_select(0, links.source_rows)
                z.index_add_(0, links.target_rows, sources.mul_(weights[links.parameter, None]))
            pre = z
            if biases is not None:
                sums.append(z)
                node = level.node_parameter
                pre = biases[node, None] + responses[node, None] * z
            if len(level.activations) == 1:
                value = apply_torch(level.activations[0][0], pre)
            else:
                value = torch.empty_like(pre)
                for activation, a, b in level.activations:
                    value[a:b] = apply_torch(activation, pre[a:b])
            pres.append(pre)
            values.append(value)
        out = torch.empty((self.num_genomes * self.num_outputs, pixels), dtype=self.dtype,
                          device=self.device)  # fmt: skip
        for level, rows, positions in self._plan.outputs:
            out.index_copy_(0, positions, values[level].index_select(0, rows))
        return out, values[1:], pres, sums

    def _backpropagate(
        self,
        grad: torch.Tensor,
        weights: torch.Tensor,
        biases: torch.Tensor | None,
        responses: torch.Tensor | None,
        values: list[torch.Tensor],
        pres: list[torch.Tensor],
        sums: list[torch.Tensor],
        needs: tuple[bool, ...],
    ) -> tuple[torch.Tensor | None, ...]:
        """Gradients of weights, biases and responses (None where not needed) from the outputs'
        gradient ``grad`` [N * C, P], level by level from the last."""
        values = [self._grid, *values]
        grad_w = torch.zeros_like(weights) if needs[0] else None
        grad_b = torch.zeros_like(biases) if biases is not None and needs[1] else None
        grad_r = torch.zeros_like(responses) if responses is not None and needs[2] else None
        pending: list[torch.Tensor | None] = [None] * len(values)  # gradient of each level

        def into(level: int, rows: torch.Tensor, rows_grad: torch.Tensor) -> None:
            if pending[level] is None:
                pending[level] = torch.zeros_like(values[level])
            pending[level].index_add_(0, rows, rows_grad)

        for level, rows, positions in self._plan.outputs:
            into(level, rows, grad.index_select(0, positions))
        for index in range(len(self._plan.levels), 0, -1):
            level, g = self._plan.levels[index - 1], pending[index]
            pending[index] = None  # set: every node feeds an output (compile_arrays prunes)
            pre, value = pres[index - 1], values[index]
            for activation, a, b in level.activations:
                g[a:b] *= _derivative(activation, pre[a:b], value[a:b])
            if biases is not None:
                node = level.node_parameter
                if grad_b is not None:
                    grad_b.index_add_(0, node, g.sum(1))
                if grad_r is not None:
                    grad_r.index_add_(0, node, (g * sums[index - 1]).sum(1))
                g = g * responses[node, None]
            for links in level.links:
                g_links = g.index_select(0, links.target_rows)
                if grad_w is not None:
                    sources = values[links.source].index_select(0, links.source_rows)
                    grad_w.index_add_(0, links.parameter, (g_links * sources).sum(1))
                if links.source > 0:
                    into(links.source, links.source_rows,
                         g_links.mul_(weights[links.parameter, None]))  # fmt: skip
        return grad_w, grad_b, grad_r

    def _parameter(self, name: str, values: Any, default: np.ndarray) -> torch.Tensor:
        if values is None:
            values = torch.as_tensor(default)
        elif not isinstance(values, torch.Tensor):
            values = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if tuple(values.shape) != default.shape:
            raise ValueError(f"{name} must have shape {default.shape}, got {tuple(values.shape)}")
        return values.to(device=self.device, dtype=self.dtype)

    def weights(self) -> torch.Tensor:
        """The population's link weights, [num links] in its link order (disabled links too)."""
        return self._parameter("weights", None, self._population.link_weight).clone()

    def biases(self) -> torch.Tensor:
        """The population's node biases, [num nodes] in its node order."""
        return self._parameter("biases", None, self._population.node_bias).clone()

    def responses(self) -> torch.Tensor:
        """The population's node responses, [num nodes] in its node order."""
        return self._parameter("responses", None, self._population.node_response).clone()

    def outputs(
        self,
        weights: Any,
        biases: Any | None = None,
        responses: Any | None = None,
    ) -> torch.Tensor:
        """Raw CPPN outputs [N, C, H, W] in ``dtype``, differentiable with respect to the
        parameters given as tensors; None takes the population's values."""
        pop = self._population
        weights = self._parameter("weights", weights, pop.link_weight)
        if self._affine or biases is not None or responses is not None:
            biases = self._parameter("biases", biases, pop.node_bias)
            responses = self._parameter("responses", responses, pop.node_response)
        shape = (self.num_genomes, self.num_outputs, self.height, self.width)
        if not self.num_genomes:
            return torch.zeros(shape, dtype=self.dtype, device=self.device)
        return _Network.apply(self, weights, biases, responses).view(shape)

    def render(
        self,
        weights: Any,
        biases: Any | None = None,
        responses: Any | None = None,
        quantize: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Images [N, C, H, W] in [0, 1] (float32, or ``dtype``), differentiable with respect to
        the parameters given as tensors (None takes the population's values).

        ``quantize``: the encoding's 8-bit images forward (``reference``'s, when set), rounding
        straight through backward; False: no rounding at all (a smooth function, for gradient
        checks; ``reference`` is not used).
        """
        outputs = self.outputs(weights, biases, responses)
        rounding = "straight_through" if quantize else "none"
        images = _Pixels.apply(outputs, self.color, rounding, dtype)
        if not quantize or self.reference is None or not self.num_genomes:
            return images
        exact = self.reference_images(weights, biases, responses).to(self.device, dtype)
        return exact + (images - images.detach())  # adding exactly zero: the values are exact's

    def reference_images(
        self, weights: Any, biases: Any | None = None, responses: Any | None = None
    ) -> torch.Tensor:
        """The ``reference`` renderer's images float32 [N, C, H, W] of the population with these
        parameters (no gradient): what the CPPN encoding's ``express`` gives for them."""
        population = with_weights(self._population, weights, biases, responses)
        images = render_programs(
            compile_arrays(population, self.num_outputs), self.height, self.width, self.color,
            self.coordinates, resolve_renderer(self.reference), self.device, self.native,
        )  # fmt: skip
        return torch.as_tensor(images, device=self.device)


def _column(name: str, values: Any, like: np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.array(values, dtype=np.float64)  # a copy
    if array.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape}, got {array.shape}")
    return array


def with_weights(
    population: CppnPopulation,
    weights: Any,
    biases: Any | None = None,
    responses: Any | None = None,
) -> CppnPopulation:
    """A copy of ``population`` with its link weights (and node biases, responses) replaced:
    arrays or tensors in the population's link (node) order, as :class:`TorchCppnRenderer`
    takes them. Values are written as they are (no clipping to the profile's weight range)."""
    out = population.copy()
    out.link_weight = _column("weights", weights, population.link_weight)
    if biases is not None:
        out.node_bias = _column("biases", biases, population.node_bias)
    if responses is not None:
        out.node_response = _column("responses", responses, population.node_response)
    return out
