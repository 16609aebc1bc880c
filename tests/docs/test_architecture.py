"""What docs/architecture.md promises of the seams: parts plug in through declared protocols,
never by overriding another class's private method."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from evolve.map_elites import MapElites
from evolve.method import Method
from fooling.attacks.ascent import GradientAscent

PACKAGES = ("archives", "cppn", "fitness", "evolve", "fooling")
#: Third-party packages some modules need that a machine may lack (optional extras, GPUs).
OPTIONAL = {"ray", "tensorboard", "numba_cuda", "cupy", "playwright"}


def project_modules() -> list[ModuleType]:
    """Every module of the project's packages (those needing a missing optional package
    skipped; any other import error fails)."""
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            try:
                modules.append(importlib.import_module(info.name))
            except ModuleNotFoundError as exc:
                if (exc.name or "").split(".")[0] not in OPTIONAL:
                    raise
    return modules


def project_classes() -> list[type]:
    found = {
        cls
        for module in project_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__.split(".")[0] in PACKAGES
    }
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def private_overrides(classes: list[type]) -> list[str]:
    """``Class.name overrides Base`` for each private method (one leading underscore) a class
    defines that a base class of the project (any class in ``classes``' own modules) also
    defines."""
    ours = {cls.__module__.split(".")[0] for cls in classes}
    found = []
    for cls in classes:
        for name, value in vars(cls).items():
            if not name.startswith("_") or name.startswith("__"):
                continue
            if not isinstance(value, staticmethod | classmethod | property) and not callable(value):
                continue
            for base in cls.__mro__[1:]:
                if base.__module__.split(".")[0] in ours and name in vars(base):
                    found.append(f"{cls.__module__}.{cls.__qualname__}.{name} overrides {base}")
                    break
    return found


def test_no_class_overrides_another_classes_private_method() -> None:
    assert private_overrides(project_classes()) == []


def test_the_check_finds_an_override() -> None:
    class Base:
        def _hook(self) -> None: ...

    class Derived(Base):
        def _hook(self) -> None: ...

        def _own(self) -> None: ...

    found = private_overrides([Base, Derived])
    assert len(found) == 1 and "Derived._hook" in found[0]


def test_methods_follow_the_method_protocol() -> None:
    for method in (MapElites, GradientAscent):
        missing = [
            hook
            for hook in ("step", "advance", "state", "load_state", "counters", "summary")
            if not callable(getattr(method, hook, None))
        ]
        assert not missing, (method, missing)
    assert issubclass(MapElites, Method) and issubclass(GradientAscent, Method)
