"""fooling: evolve images that a classifier labels with near certainty as some class although no
person would see that class in them (Nguyen, Yosinski & Clune, CVPR 2015).

The Python API (the ``fooling`` command does the same from the shell)::

    import fooling

    lenet = fooling.load_target("mnist-lenet")
    run = fooling.evolve(lenet, until=0.9999, max_generations=300, seed=0)
    print(run.confidence)                  # {"0": 0.99993..., ...}
    images = run.images()                  # float32 [10, 1, 28, 28]

:func:`read_run` opens a run directory written by ``fooling evolve`` (or ``evolve(out=...)``).
``evolve(..., observers=[...])`` takes :class:`Observer` objects that watch the run through a
read-only :class:`RunView`, e.g. a :class:`TensorBoardLog`; :class:`FoolingWarning` is the
class of every warning the library gives.
"""

from evolve.observers import Observer
from evolve.tensorboard import TensorBoardLog
from evolve.view import RunView
from fitness.errors import FoolingWarning
from fooling.api import Run, evolve, load_target, read_run

__all__ = [
    "FoolingWarning",
    "Observer",
    "Run",
    "RunView",
    "TensorBoardLog",
    "evolve",
    "load_target",
    "read_run",
]
