"""The CPPN profile: neat-python's genome config plus the project's own mutation settings.

neat-python's parser splits lists on single spaces and silently ignores unknown keys in
[DefaultGenome], so every config (the shipped ``default.cfg`` and any user file merged over it) is
validated here first; every problem is a :class:`CppnConfigError` naming the offending key.
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from neat.genome import DefaultGenome, DefaultGenomeConfig

from cppn import activations

#: x, y, d (distance from the centre) and the constant bias input, in this order.
NUM_INPUTS = 4
GENOME_SECTION = "DefaultGenome"
CPPN_SECTION = "Cppn"
#: Sections of a full neat-python config that we accept and ignore (we run no Population).
IGNORED_SECTIONS = ("NEAT", "DefaultReproduction", "DefaultSpeciesSet", "DefaultStagnation")
CPPN_KEYS = {"weight_polynomial_rate": float, "weight_polynomial_eta": float}
SUPPORTED_AGGREGATIONS = ("sum",)


class CppnConfigError(ValueError):
    """A CPPN config file is invalid; the message is one line naming the key."""


@dataclass
class CppnProfile:
    """Everything that defines how CPPN genomes are built, mutated and read.

    ``genome_config`` is the neat-python ``DefaultGenomeConfig`` (with the project's activations
    registered); the profile itself has a ``genome_config`` attribute so it can stand in for a
    ``neat.Config`` where neat-python only reads that (e.g. ``FeedForwardNetwork.create``).
    """

    genome_config: DefaultGenomeConfig
    weight_polynomial_rate: float
    weight_polynomial_eta: float
    source: str
    text: str = ""  # the whole merged profile as INI text (what a run stores)

    @property
    def num_outputs(self) -> int:
        """Number of CPPN outputs (image channels)."""
        return int(self.genome_config.num_outputs)


def default_config_path() -> Path:
    """Path of the shipped ``default.cfg``."""
    return Path(str(resources.files("cppn").joinpath("default.cfg")))


def _read(path: Path, text: str | None = None) -> configparser.ConfigParser:
    """Parse the INI file at ``path``, or ``text`` (then ``path`` only names it in errors)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        if text is not None:
            parser.read_string(text, source=str(path))
        else:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f)
    except FileNotFoundError:
        raise CppnConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError:
        raise CppnConfigError(f"{path}: not UTF-8 text") from None
    except configparser.Error as e:
        raise CppnConfigError(f"{path}: unreadable INI: {str(e).splitlines()[0]}") from None
    return parser


def _merged_text(genome: dict[str, str], cppn: dict[str, str]) -> str:
    """The merged profile as an INI text that :func:`load_profile` reads back to itself."""
    lines = [f"[{GENOME_SECTION}]", *(f"{k} = {v}" for k, v in genome.items()), ""]
    lines += [f"[{CPPN_SECTION}]", *(f"{k} = {v}" for k, v in cppn.items()), ""]
    return "\n".join(lines)


def _genome_param_types() -> dict[str, type]:
    """Name -> type of every key neat-python's DefaultGenomeConfig understands."""
    parser = _read(default_config_path())
    params = dict(parser.items(GENOME_SECTION))
    params.update(num_inputs=str(NUM_INPUTS), num_outputs="1")
    config = DefaultGenome.parse_config(params)
    return {p.name: p.value_type for p in config._params}


def _check_value(key: str, value: str, value_type: type) -> str:
    """Type-check one [DefaultGenome] value, returning it normalised for neat's parser."""
    value = value.strip()
    if value_type is float:
        try:
            number = float(value)
        except ValueError:
            raise CppnConfigError(f"{key}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise CppnConfigError(f"{key}: must be finite, got {value!r}")
        if key.endswith(("_prob", "_rate")) and not 0.0 <= number <= 1.0:
            raise CppnConfigError(f"{key}: a probability must lie in [0, 1], got {value}")
    elif value_type is int:
        try:
            int(value)
        except ValueError:
            raise CppnConfigError(f"{key}: expected an integer, got {value!r}") from None
    elif value_type is bool:
        if value.lower() not in ("true", "false"):
            raise CppnConfigError(f"{key}: expected True or False, got {value!r}")
    elif value_type is list:
        items = value.split()
        if not items:
            raise CppnConfigError(f"{key}: empty list")
        if len(set(items)) != len(items):
            raise CppnConfigError(f"{key}: repeated entries in {value!r}")
        # neat splits on single spaces; hand it a list it cannot mis-split.
        value = " ".join(items)
    return value


def load_profile(
    path: str | Path | None = None, num_outputs: int = 1, text: str | None = None
) -> CppnProfile:
    """Load and validate a CPPN profile.

    ``path`` is a neat-python style INI file whose [DefaultGenome] (and optional [Cppn]) keys are
    merged over the shipped ``default.cfg``; ``None`` means the default profile alone. ``text``:
    the INI's contents given directly (e.g. a merged profile stored in a run's config.json;
    ``path`` then only names it). ``num_outputs`` is the number of image channels.
    The result's ``text`` is the whole merged profile, which a run stores so that it never
    depends on the original file (or on a later release's ``default.cfg``) again.
    """
    types = _genome_param_types()
    defaults = _read(default_config_path())
    genome = dict(defaults.items(GENOME_SECTION))
    cppn = dict(defaults.items(CPPN_SECTION))
    source = "default"
    if path is not None or text is not None:
        path = Path(path if path is not None else "stored profile")
        user = _read(path, text)
        source = str(path)
        for section in user.sections():
            if section not in (GENOME_SECTION, CPPN_SECTION, *IGNORED_SECTIONS):
                raise CppnConfigError(f"[{section}]: unknown section in {path}")
        if user.has_section(GENOME_SECTION):
            genome.update(user.items(GENOME_SECTION))
        if user.has_section(CPPN_SECTION):
            cppn.update(user.items(CPPN_SECTION))

    for key, value in list(genome.items()):
        if key not in types:
            raise CppnConfigError(f"{key}: unknown key in [{GENOME_SECTION}]")
        genome[key] = _check_value(key, value, types[key])
    for key in cppn:
        if key not in CPPN_KEYS:
            raise CppnConfigError(f"{key}: unknown key in [{CPPN_SECTION}]")
    _check_fixed(genome, "num_inputs", str(NUM_INPUTS))
    _check_fixed(genome, "num_outputs", str(num_outputs))
    _check_fixed(genome, "feed_forward", "true")
    for name in genome["activation_options"].split():
        if name not in activations.IDS:
            raise CppnConfigError(
                f"activation_options: {name!r} is not one of {' '.join(activations.NAMES)}"
            )
    for name in genome["aggregation_options"].split():
        if name not in SUPPORTED_AGGREGATIONS:
            raise CppnConfigError(f"aggregation_options: only 'sum' is supported, got {name!r}")
    if float(genome["weight_min_value"]) >= float(genome["weight_max_value"]):
        raise CppnConfigError("weight_min_value: must be below weight_max_value")

    rate = _check_value("weight_polynomial_rate", cppn["weight_polynomial_rate"], float)
    eta = _check_value("weight_polynomial_eta", cppn["weight_polynomial_eta"], float)
    if float(eta) < 0:
        raise CppnConfigError(f"weight_polynomial_eta: must be >= 0, got {eta}")

    default_activation = genome["activation_default"]
    if default_activation not in ("random", "none", *genome["activation_options"].split()):
        raise CppnConfigError(
            f"activation_default: {default_activation!r} is not 'random' or an activation option"
        )
    try:
        config = DefaultGenome.parse_config(dict(genome))
    except (RuntimeError, AssertionError, ValueError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CppnConfigError(f"[{GENOME_SECTION}]: {message}") from None
    activations.register(config)
    return CppnProfile(config, float(rate), float(eta), source, _merged_text(genome, cppn))


def _check_fixed(genome: dict[str, Any], key: str, required: str) -> None:
    """Keys the code owns: absent is fine (we set them); present must agree."""
    value = genome.get(key)
    if value is not None and value.lower() != required:
        raise CppnConfigError(f"{key}: must be {required} for this encoding, got {value}")
    genome[key] = required
