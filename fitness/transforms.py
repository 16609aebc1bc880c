"""Random image transformations for robust scoring: parse a SPEC, draw parameters, apply them.

A SPEC is comma-separated ``name=value`` pairs, e.g. ``shift=2,rotate=10,scale=0.9:1.1,
noise=0.02,jpeg=60:95``, or a preset name (:data:`PRESETS`). A value is ``lo:hi`` (drawn
uniformly from that range for every transformed image) or one number whose meaning depends on
the transform (:data:`TRANSFORMS`): a magnitude ``v`` gives ``[-v, v]`` for shifts, rotations,
brightness and colour shifts, ``[0, v]`` for noise, blur and perspective, ``[v, 1]`` for crops,
and the fixed value ``v`` for scale, contrast and JPEG quality.

Every draw comes from the NumPy Generator handed to :meth:`TransformSpec.draw` (during a run, the
run's own generator, so a resumed run draws exactly what an uninterrupted one would), always in
the same order whatever the order in the SPEC. A transform at its identity (``shift=0``,
``scale=1``) is dropped when parsed and draws nothing, so an identity SPEC leaves both the images
and the generator untouched. Images are transformed as a batch with torch on their device:
geometry first (one bilinear resampling through a per-image homography: where the camera is),
then contrast, brightness and colour (print and light), blur (optics), Gaussian noise (sensor)
and JPEG (storage), which goes through Pillow's real encoder on the host.
"""

from __future__ import annotations

import io
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fitness.errors import TransformSpecError


@dataclass(frozen=True)
class TransformKind:
    """One transform's SPEC rules: allowed range, what a single number means, its identity."""

    unit: str
    low: float  # smallest value allowed
    high: float  # largest value allowed
    single: str  # how "name=v" reads: "symmetric" [-v, v], "from_zero" [0, v], "to_one" [v, 1],
    # "fixed" [v, v]
    identity: float | None  # the value that changes nothing (None: always changes the image)
    integer: bool = False


#: The transforms, in the order they are applied (and their parameters drawn).
TRANSFORMS: dict[str, TransformKind] = {
    "perspective": TransformKind("corner move, fraction of the side", 0.0, 0.25, "from_zero", 0.0),
    "crop": TransformKind("fraction of the side kept, resized back", 0.1, 1.0, "to_one", 1.0),
    "scale": TransformKind("zoom factor", 0.25, 4.0, "fixed", 1.0),
    "rotate": TransformKind("degrees", -180.0, 180.0, "symmetric", 0.0),
    "shift": TransformKind("pixels, in x and in y", -256.0, 256.0, "symmetric", 0.0),
    "contrast": TransformKind("factor around the image's mean", 0.0, 4.0, "fixed", 1.0),
    "brightness": TransformKind("added to every pixel", -1.0, 1.0, "symmetric", 0.0),
    "color": TransformKind("added to each colour channel", -1.0, 1.0, "symmetric", 0.0),
    "blur": TransformKind("Gaussian sigma in pixels", 0.0, 8.0, "from_zero", 0.0),
    "noise": TransformKind("Gaussian noise standard deviation", 0.0, 1.0, "from_zero", 0.0),
    "jpeg": TransformKind("JPEG quality (Pillow)", 1.0, 100.0, "fixed", None, integer=True),
}

#: Named SPECs. "print-photo": a printed image photographed by a phone (Kurakin et al.): a
#: slightly tilted and off-centre view, blur, sensor noise, a lighting and colour cast, JPEG.
PRESETS: dict[str, str] = {
    "print-photo": "perspective=0.04,rotate=4,scale=0.95:1.05,shift=1,contrast=0.8:1.1,"
    "brightness=0.08,color=0.04,blur=0.3:1.2,noise=0.02,jpeg=70:95",
    "identity": "",
}


def _range(name: str, text: str) -> tuple[float, float]:
    """``lo:hi`` or one number, read by the transform's rules and checked against its limits."""
    kind = TRANSFORMS[name]
    try:
        parts = [float(part) for part in text.split(":")]
    except ValueError:
        raise TransformSpecError(f"{name}={text}: not a number or a lo:hi range") from None
    if len(parts) not in (1, 2) or not all(math.isfinite(p) for p in parts):
        raise TransformSpecError(f"{name}={text}: give one finite number or lo:hi")
    if len(parts) == 2:
        low, high = parts
    else:
        value = parts[0]
        if kind.single == "symmetric" and value < 0:
            raise TransformSpecError(
                f"{name}={text}: give a magnitude >= 0 (v means [-v, v]) or a lo:hi range"
            )
        if kind.single != "symmetric" and not kind.low <= value <= kind.high:
            raise TransformSpecError(
                f"{name}={text}: out of range; {name} ({kind.unit}) must lie in "
                f"[{kind.low:g}, {kind.high:g}]"
            )
        low, high = {
            "symmetric": (-abs(value), abs(value)),
            "from_zero": (0.0, value),
            "to_one": (value, 1.0),
            "fixed": (value, value),
        }[kind.single]
    if low > high:
        raise TransformSpecError(f"{name}={text}: the range's low end is above its high end")
    if low < kind.low or high > kind.high:
        raise TransformSpecError(
            f"{name}={text}: out of range; {name} ({kind.unit}) must lie in "
            f"[{kind.low:g}, {kind.high:g}]"
        )
    if kind.integer and (low != int(low) or high != int(high)):
        raise TransformSpecError(f"{name}={text}: must be whole numbers")
    if name == "scale" and low <= 0:
        raise TransformSpecError(f"{name}={text}: must be positive")
    return (low, high)


@dataclass(frozen=True)
class TransformSpec:
    """Parsed SPEC: each kept transform's ``(low, high)`` range, in application order."""

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: The preset it came from: a preset's colour shift is left out for gray images.
    preset: str | None = None

    @classmethod
    def parse(cls, text: str) -> TransformSpec:
        """A SPEC string or preset name; a :class:`TransformSpecError` naming what is wrong."""
        text = text.strip()
        if text in PRESETS:
            return replace(cls.parse(PRESETS[text]), preset=text)
        given: dict[str, tuple[float, float]] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep:
                if item in PRESETS:
                    raise TransformSpecError(
                        f"the preset {item!r} cannot be combined with other transforms: give it "
                        f"alone, or its transforms spelt out ({PRESETS[item] or 'none'})"
                    )
                known = ", ".join([*TRANSFORMS, *PRESETS])
                raise TransformSpecError(f"{item!r} is neither name=value nor a preset ({known})")
            if name not in TRANSFORMS:
                raise TransformSpecError(
                    f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})"
                )
            if name in given:
                raise TransformSpecError(f"transform {name!r} is given twice")
            given[name] = _range(name, value.strip())
        return cls.from_ranges(given)

    @classmethod
    def from_ranges(cls, ranges: dict[str, Any]) -> TransformSpec:
        """From ``{name: [low, high]}`` (config.json), checked like a SPEC; identities dropped."""
        if not isinstance(ranges, dict):
            raise TransformSpecError("transforms must be an object of name: [low, high]")
        kept: dict[str, tuple[float, float]] = {}
        for name in ranges:
            if name not in TRANSFORMS:
                raise TransformSpecError(f"unknown transform {name!r}")
        for name, kind in TRANSFORMS.items():  # application order, whatever the given order
            if name not in ranges:
                continue
            pair = ranges[name]
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
            ):
                raise TransformSpecError(f"{name}: must be [low, high], got {pair!r}")
            low, high = _range(name, f"{float(pair[0])!r}:{float(pair[1])!r}")
            if kind.identity is not None and low == high == kind.identity:
                continue  # changes nothing: drawing for it would only move the generator
            kept[name] = (low, high)
        return cls(kept)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-able ``{name: [low, high]}``."""
        return {name: [low, high] for name, (low, high) in self.ranges.items()}

    def describe(self) -> str:
        """The SPEC as ``name=lo:hi`` pairs (``identity`` when empty)."""
        if not self.ranges:
            return "identity"
        if self.preset is not None:
            return self.preset
        return ",".join(f"{name}={low:g}:{high:g}" for name, (low, high) in self.ranges.items())

    @property
    def is_identity(self) -> bool:
        """Whether the SPEC changes nothing."""
        return not self.ranges

    def for_images(self, channels: int) -> TransformSpec:
        """This SPEC for images of ``channels`` channels: a preset drops its colour shift for
        gray images; a colour shift asked for by name is an error there."""
        if self.preset is not None and channels != 3 and "color" in self.ranges:
            return replace(self, ranges={k: v for k, v in self.ranges.items() if k != "color"})
        self.check_channels(channels)
        return self

    def check_channels(self, channels: int) -> None:
        """Colour shifts need colour images."""
        if "color" in self.ranges and channels != 3:
            raise TransformSpecError(
                f"color shifts need a colour (3-channel) target; this one has {channels} channel(s)"
            )

    def draw(self, count: int, shape: tuple[int, int, int], rng: np.random.Generator) -> Draws:
        """Parameters for ``count`` images of ``shape`` (C, H, W), drawn from ``rng`` in a fixed
        order (one block per transform, in :data:`TRANSFORMS` order)."""
        channels, height, width = shape
        self.check_channels(channels)
        params: dict[str, np.ndarray] = {}
        for name, (low, high) in self.ranges.items():
            if name == "perspective":  # each corner's (dx, dy), as a fraction of the side
                params[name] = rng.uniform(low, high, (count, 4, 2)) * rng.choice(
                    (-1.0, 1.0), (count, 4, 2)
                )
            elif name == "crop":  # kept fraction, then where the kept part lies (x, y in [0, 1])
                params[name] = np.column_stack(
                    [rng.uniform(low, high, count), rng.uniform(0.0, 1.0, (count, 2))]
                )
            elif name == "shift":
                params[name] = rng.uniform(low, high, (count, 2))
            elif name == "color":
                params[name] = rng.uniform(low, high, (count, channels))
            elif name == "noise":
                sigma = rng.uniform(low, high, count)
                noise = rng.standard_normal((count, channels, height, width), dtype=np.float32)
                params[name] = sigma
                params["noise_values"] = noise
            elif name == "jpeg":
                params[name] = rng.integers(int(low), int(high), count, endpoint=True)
            else:
                params[name] = rng.uniform(low, high, count)
        return Draws(count, params)

    def apply(self, images: torch.Tensor, draws: Draws) -> torch.Tensor:
        """Transform float32 ``[count, C, H, W]`` images in [0, 1] (on any device) with
        ``draws``; the result is float32 in [0, 1] on the same device."""
        if images.shape[0] != draws.count:
            raise ValueError(f"{images.shape[0]} images for {draws.count} draws")
        if self.is_identity:
            return images
        p = draws.params
        x = images.to(torch.float32)
        if any(name in p for name in ("perspective", "crop", "scale", "rotate", "shift")):
            x = warp(x, homographies(p, x.shape[-2], x.shape[-1]))
        device = x.device

        def column(name: str) -> torch.Tensor:
            return torch.as_tensor(p[name], dtype=torch.float32, device=device).view(-1, 1, 1, 1)

        if "contrast" in p:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * column("contrast") + mean
        if "brightness" in p:
            x = x + column("brightness")
        if "color" in p:
            shift = torch.as_tensor(p["color"], dtype=torch.float32, device=device)
            x = x + shift[:, :, None, None]
        x = x.clamp(0.0, 1.0)
        if "blur" in p:
            x = gaussian_blur(x, p["blur"])
        if "noise" in p:
            noise = torch.as_tensor(p["noise_values"], device=device)
            x = (x + column("noise") * noise).clamp(0.0, 1.0)
        if "jpeg" in p:
            x = jpeg(x, p["jpeg"])
        return x


@dataclass(frozen=True)
class Draws:
    """The drawn parameters of ``count`` transformed images (arrays with ``count`` rows)."""

    count: int
    params: dict[str, np.ndarray]

    def repeat(self, times: int) -> Draws:
        """Each draw ``times`` times in a row (draw k at rows k * times .. k * times + times - 1):
        the same transformation for ``times`` images."""
        return Draws(
            self.count * times, {k: np.repeat(v, times, axis=0) for k, v in self.params.items()}
        )


def homographies(params: dict[str, np.ndarray], height: int, width: int) -> np.ndarray:
    """Per image, the 3x3 map from output to input coordinates (pixels from the centre)."""
    count = len(next(iter(params.values())))
    matrix = np.tile(np.eye(3), (count, 1, 1))
    half = np.array([width / 2.0, height / 2.0])
    if "crop" in params:  # the output shows a kept window of the input, enlarged
        kept, where = params["crop"][:, 0], params["crop"][:, 1:]
        offset = (2.0 * where - 1.0) * (1.0 - kept[:, None]) * half
        crop = np.tile(np.eye(3), (count, 1, 1))
        crop[:, 0, 0] = crop[:, 1, 1] = kept
        crop[:, :2, 2] = offset
        matrix = matrix @ crop
    if "scale" in params:  # the image appears s times larger
        scale = np.tile(np.eye(3), (count, 1, 1))
        scale[:, 0, 0] = scale[:, 1, 1] = 1.0 / params["scale"]
        matrix = matrix @ scale
    if "rotate" in params:
        angle = np.deg2rad(params["rotate"])
        cos, sin = np.cos(angle), np.sin(angle)
        rotate = np.tile(np.eye(3), (count, 1, 1))
        rotate[:, 0, 0], rotate[:, 0, 1] = cos, sin
        rotate[:, 1, 0], rotate[:, 1, 1] = -sin, cos
        matrix = matrix @ rotate
    if "shift" in params:  # the content moves by (dx, dy) pixels
        shift = np.tile(np.eye(3), (count, 1, 1))
        shift[:, :2, 2] = -params["shift"]
        matrix = matrix @ shift
    if "perspective" in params:  # the output's corners come from displaced input corners
        corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * half
        moved = corners[None] + params["perspective"] * 2.0 * half
        matrix = matrix @ corner_homographies(corners, moved)
    return matrix


def corner_homographies(source: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Per image, the homography taking the 4 ``source`` points to its 4 ``moved`` points."""
    count = len(moved)
    a = np.zeros((count, 8, 8))
    b = np.zeros((count, 8))
    for i, (x, y) in enumerate(source):
        u, v = moved[:, i, 0], moved[:, i, 1]
        a[:, 2 * i, 0:3] = (x, y, 1.0)
        a[:, 2 * i, 6], a[:, 2 * i, 7] = -u * x, -u * y
        a[:, 2 * i + 1, 3:6] = (x, y, 1.0)
        a[:, 2 * i + 1, 6], a[:, 2 * i + 1, 7] = -v * x, -v * y
        b[:, 2 * i], b[:, 2 * i + 1] = u, v
    h = np.linalg.solve(a, b[..., None])[..., 0]
    return np.concatenate([h, np.ones((count, 1))], axis=1).reshape(count, 3, 3)


def warp(images: torch.Tensor, matrices: np.ndarray) -> torch.Tensor:
    """Resample each image through its output -> input homography (bilinear). Pixels from
    outside the image repeat its border, so the warp adds no edge the network never saw."""
    count, _, height, width = images.shape
    device = images.device
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64) + 0.5 - height / 2.0,
        torch.arange(width, dtype=torch.float64) + 0.5 - width / 2.0,
        indexing="ij",
    )
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(-1, 3)  # [HW, 3]
    # float32 is ample: coordinates are pixels from the centre, errors far below a pixel.
    points = points.to(device=device, dtype=torch.float32)
    matrices_t = torch.as_tensor(matrices, dtype=torch.float32, device=device)
    mapped = torch.matmul(points, matrices_t.transpose(1, 2))  # [n, HW, 3]
    xy = mapped[..., :2] / mapped[..., 2:3]
    # Pixel coordinates from the centre -> grid_sample's [-1, 1] (align_corners=False).
    grid = xy / torch.tensor([width / 2.0, height / 2.0], device=device)
    grid = grid.reshape(count, height, width, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def gaussian_blur(images: torch.Tensor, sigmas: np.ndarray) -> torch.Tensor:
    """Blur each image with its own Gaussian sigma (pixels; 0 leaves it as it is): one
    separable grouped convolution for the whole batch, reflecting at the borders."""
    count, channels, height, width = images.shape
    radius = max(1, math.ceil(3.0 * float(np.max(sigmas))))
    radius = min(radius, height - 1, width - 1)  # reflection padding needs radius < side
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    safe = np.maximum(np.asarray(sigmas, dtype=np.float64), 1e-6)[:, None]
    kernels = np.exp(-0.5 * (offsets[None] / safe) ** 2)
    kernels /= kernels.sum(axis=1, keepdims=True)
    weight = torch.as_tensor(kernels, dtype=torch.float32, device=images.device)
    weight = weight.repeat_interleave(channels, dim=0)  # one kernel per (image, channel)
    x = images.reshape(1, count * channels, height, width)
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, weight[:, None, None, :], groups=count * channels)
    x = F.conv2d(x, weight[:, None, :, None], groups=count * channels)
    return x.reshape(count, channels, height, width)


#: With fewer images than this per thread, all are coded in the calling thread.
_JPEG_IMAGES_PER_THREAD = 8


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """One uint8 image [C, H, W] (1 or 3 channels) encoded as JPEG at ``quality`` and decoded."""
    from PIL import Image

    gray = image.shape[0] == 1
    mode = "L" if gray else "RGB"
    picture = Image.fromarray(image[0] if gray else image.transpose(1, 2, 0), mode)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        array = np.asarray(decoded.convert(mode))
    return array[None] if gray else array.transpose(2, 0, 1)


def jpeg(images: torch.Tensor, qualities: np.ndarray) -> torch.Tensor:
    """Each image through a real JPEG encoder and decoder (Pillow) at its quality; 8-bit in,
    8-bit out (as k / 255).

    Images are coded on a pool of torch's thread count: Pillow releases the GIL while it codes,
    and one image at a time was the whole cost of a robust ImageNet run on a GPU machine. Each
    image's result depends on it and its quality alone, so the pool changes nothing but time.
    """
    pixels = np.rint(images.detach().cpu().numpy() * 255.0).clip(0, 255).astype(np.uint8)
    out = np.empty_like(pixels)

    def code(rows: np.ndarray) -> None:
        for i in rows:
            out[i] = jpeg_round_trip(pixels[i], int(qualities[i]))

    workers = min(torch.get_num_threads(), len(pixels) // _JPEG_IMAGES_PER_THREAD)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(code, np.array_split(np.arange(len(pixels)), workers)))
    else:
        code(np.arange(len(pixels)))
    return torch.from_numpy(out.astype(np.float32) / np.float32(255.0)).to(images.device)
