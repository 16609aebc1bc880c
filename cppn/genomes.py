"""CPPN genomes: neat-python 2.0 ``DefaultGenome`` with the paper's mutation operators.

neat-python supplies the genome, its innovation tracker and its structural mutations; its
Population/species machinery is not used (MAP-Elites picks the parents). neat-python draws from
Python's global ``random`` module, so every call that reaches neat seeds that module from the
caller's NumPy Generator (and restores its previous state afterwards): the result depends on the
Generator alone.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from neat.genome import DefaultGenome
from neat.innovation import InnovationTracker

from cppn.profile import CppnProfile


class CppnGenome(DefaultGenome):
    """A neat-python genome whose node split follows the paper.

    neat-python gives the incoming link of a split weight 1 and keeps the split connection as a
    disabled gene; the original (Sferes2) code gives both new links the old weight and removes the
    split connection. Nothing re-enables genes here (``enabled_mutate_rate = 0``), so a disabled
    gene would only be dead weight in every copy and every file.
    """

    def mutate_add_node(self, config: Any) -> None:
        """Split a random connection with a new hidden node (both links keep its weight)."""
        if not self.connections:
            if config.check_structural_mutation_surer():
                self.mutate_add_connection(config)
            return
        # Same draws and innovation bookkeeping as neat's own mutate_add_node.
        split = random.choice(list(self.connections.values()))
        node_id = config.get_new_node_key(self.nodes)
        node = self.create_node(config, node_id)
        node.bias = 0.0  # as neat: the new node starts neutral whatever the bias init
        self.nodes[node_id] = node
        i, o = split.key
        tracker = config.innovation_tracker
        in_innovation = tracker.get_innovation_number(i, node_id, "add_node_in")
        out_innovation = tracker.get_innovation_number(node_id, o, "add_node_out")
        del self.connections[split.key]
        self.add_connection(config, i, node_id, split.weight, split.enabled, in_innovation)
        self.add_connection(config, node_id, o, split.weight, split.enabled, out_innovation)


class _NodeCounter:
    """Iterator handed to neat as ``genome_config.node_indexer`` so its value can be saved."""

    def __init__(self, next_id: int) -> None:
        self.next_id = next_id

    def __iter__(self) -> _NodeCounter:
        return self

    def __next__(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value


@contextlib.contextmanager
def python_random_from(rng: np.random.Generator) -> Iterator[None]:
    """Seed Python's global ``random`` (which neat-python uses) from ``rng``; restore it after."""
    saved = random.getstate()
    random.seed(int(rng.integers(2**63)))
    try:
        yield
    finally:
        random.setstate(saved)


def polynomial_mutation(
    values: np.ndarray, rng: np.random.Generator, rate: float, eta: float, low: float, high: float
) -> np.ndarray:
    """Deb's polynomial mutation as in the original code, on ``values`` within [low, high].

    Each value mutates with probability ``rate``: normalised to [0, 1], shifted by
    delta = (2r)^(1/(eta+1)) - 1 if r < 0.5 else 1 - (2(1-r))^(1/(eta+1)), clipped, scaled back.
    Random numbers are drawn for every value, so the stream does not depend on which mutate.
    """
    mask = rng.random(values.shape) < rate
    r = rng.random(values.shape)
    power = 1.0 / (eta + 1.0)
    delta = np.where(r < 0.5, (2.0 * r) ** power - 1.0, 1.0 - (2.0 * (1.0 - r)) ** power)
    unit = (values - low) / (high - low)
    mutated = np.clip(unit + delta, 0.0, 1.0) * (high - low) + low
    return np.where(mask, mutated, values)


class CppnBreeder:
    """Creates and mutates CPPN genomes; owns the counters that must survive a resume."""

    def __init__(self, profile: CppnProfile) -> None:
        self.profile = profile
        gc = profile.genome_config
        self.next_genome_key = 0
        self.tracker = InnovationTracker()
        self.nodes = _NodeCounter(gc.num_outputs)
        gc.innovation_tracker = self.tracker
        gc.node_indexer = self.nodes

    def _begin_batch(self) -> None:
        """Start a new "generation" for neat's innovation tracker (bounded memory)."""
        gc = self.profile.genome_config
        self.tracker.reset_generation()
        # Re-attach in case another breeder shares this profile's genome_config.
        gc.innovation_tracker = self.tracker
        gc.node_indexer = self.nodes

    def _new_key(self) -> int:
        key = self.next_genome_key
        self.next_genome_key += 1
        return key

    def random(self, n: int, rng: np.random.Generator) -> list[CppnGenome]:
        """``n`` new genomes: inputs fully connected to outputs, random weights and activations."""
        self._begin_batch()
        genomes = []
        with python_random_from(rng):
            for _ in range(n):
                genome = CppnGenome(self._new_key())
                genome.configure_new(self.profile.genome_config)
                genomes.append(genome)
        return genomes

    def vary(self, parents: Sequence[CppnGenome], rng: np.random.Generator) -> list[CppnGenome]:
        """One mutated copy (new key) per parent; no crossover."""
        self._begin_batch()
        gc = self.profile.genome_config
        children = []
        with python_random_from(rng):
            for parent in parents:
                child = copy.deepcopy(parent)
                child.key = self._new_key()
                child.fitness = None
                # neat's mutate: structural mutations (each tried once), then per-gene attribute
                # mutation, where only activations change under the default profile.
                child.mutate(gc)
                self._mutate_weights(child, rng)
                children.append(child)
        return children

    def _mutate_weights(self, genome: CppnGenome, rng: np.random.Generator) -> None:
        """The paper's polynomial weight mutation, which neat-python does not offer."""
        if not genome.connections:
            return
        gc = self.profile.genome_config
        genes = list(genome.connections.values())
        weights = np.array([cg.weight for cg in genes], dtype=np.float64)
        weights = polynomial_mutation(
            weights,
            rng,
            self.profile.weight_polynomial_rate,
            self.profile.weight_polynomial_eta,
            gc.weight_min_value,
            gc.weight_max_value,
        )
        for cg, w in zip(genes, weights, strict=True):
            cg.weight = float(w)

    def state_dict(self) -> dict[str, int]:
        """Counters to checkpoint so that resumed runs never reuse a key or innovation."""
        return {
            "next_genome_key": self.next_genome_key,
            "next_node_id": self.nodes.next_id,
            "innovation_counter": self.tracker.global_counter,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.next_genome_key = int(state["next_genome_key"])
        self.nodes.next_id = int(state["next_node_id"])
        self.tracker.global_counter = int(state["innovation_counter"])
        self.tracker.reset_generation()
