"""CPPN genomes: neat-python 2.0 ``DefaultGenome`` with the paper's mutation operators.

neat-python supplies the genome, its innovation tracker and its structural mutations; its
Population/species machinery is not used (MAP-Elites picks the parents). neat-python draws from
Python's global ``random`` module, so every call that reaches neat seeds that module from the
caller's NumPy Generator (and restores its previous state afterwards): the result depends on the
Generator alone.
"""

from __future__ import annotations

import contextlib
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

    def mutate_structure(self, config: Any) -> None:
        """The structural half of neat's ``DefaultGenome.mutate`` (same draws, same order).

        Attribute mutation, the other half, is done for a whole batch by
        :meth:`CppnBreeder.vary`.
        """
        if config.single_structural_mutation:
            div = max(
                1,
                config.node_add_prob
                + config.node_delete_prob
                + config.conn_add_prob
                + config.conn_delete_prob,
            )
            r = random.random()
            if r < config.node_add_prob / div:
                self.mutate_add_node(config)
            elif r < (config.node_add_prob + config.node_delete_prob) / div:
                self.mutate_delete_node(config)
            elif r < (config.node_add_prob + config.node_delete_prob + config.conn_add_prob) / div:
                self.mutate_add_connection(config)
            elif (
                r
                < (
                    config.node_add_prob
                    + config.node_delete_prob
                    + config.conn_add_prob
                    + config.conn_delete_prob
                )
                / div
            ):
                self.mutate_delete_connection()
            return
        if random.random() < config.node_add_prob:
            self.mutate_add_node(config)
        if random.random() < config.node_delete_prob:
            self.mutate_delete_node(config)
        if random.random() < config.conn_add_prob:
            self.mutate_add_connection(config)
        if random.random() < config.conn_delete_prob:
            self.mutate_delete_connection()

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


def _copy_gene(gene: Any) -> Any:
    copy = object.__new__(type(gene))
    copy.__dict__ = gene.__dict__.copy()
    return copy


def copy_genome(genome: DefaultGenome, key: int) -> CppnGenome:
    """A copy of ``genome`` under a new key, fitness unset: new gene objects, same attributes.

    Gene attributes are immutable values (numbers, strings, tuples), so copying each gene's
    ``__dict__`` is a full copy; about 20x faster than ``copy.deepcopy`` of the genome.
    """
    child = CppnGenome(key)
    child.nodes = {k: _copy_gene(gene) for k, gene in genome.nodes.items()}
    child.connections = {k: _copy_gene(gene) for k, gene in genome.connections.items()}
    return child


def share_genome(genome: DefaultGenome, key: int) -> CppnGenome:
    """A child of ``genome`` under a new key that shares its gene objects (copy on write).

    Only the two gene dicts are copied (C-level, ~50x faster than :func:`copy_genome`). Safe
    where nothing writes to a gene object in place: structural mutations only add genes to or
    delete them from the child's own dicts, and :class:`CppnBreeder` replaces a gene by a
    mutated copy. The one in-place write neat-python makes, re-enabling an existing connection
    in ``mutate_add_connection``, is a no-op where every gene is enabled (see
    :func:`_genes_stay_enabled`).
    """
    child = CppnGenome(key)
    child.nodes = genome.nodes.copy()
    child.connections = genome.connections.copy()
    return child


def _genes_stay_enabled(genome_config: Any) -> bool:
    """Whether every connection gene is created enabled (none is ever disabled here)."""
    return str(getattr(genome_config, "enabled_default", "True")).lower() in ("true", "1")


def _only_activations_mutate(genome_config: Any) -> bool:
    """Whether the activation is the one gene attribute neat's per-gene mutation could change."""
    for gene_type in (genome_config.node_gene_type, genome_config.connection_gene_type):
        for attribute in gene_type._gene_attributes:
            if attribute.name == "activation" and gene_type is genome_config.node_gene_type:
                continue
            for item in attribute._config_items:
                if item.endswith(("rate", "_add")):
                    if float(getattr(genome_config, f"{attribute.name}_{item}", 0.0)) > 0.0:
                        return False
    return True


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
    """Creates and mutates CPPN genomes; owns the counters that must survive a resume.

    The reference breeder, for tests and benchmarks only: runs breed
    :class:`cppn.population.CppnPopulation` batches with :class:`cppn.breeder.ArrayBreeder`,
    which is tested to be statistically the same breeder and falls back to this one (converting
    at the edge) for profiles its kernels do not implement; it also makes the initial genomes.
    """

    def __init__(self, profile: CppnProfile) -> None:
        self.profile = profile
        gc = profile.genome_config
        self.next_genome_key = 0
        self.tracker = InnovationTracker()
        self.nodes = _NodeCounter(gc.num_outputs)
        gc.innovation_tracker = self.tracker
        gc.node_indexer = self.nodes
        # Attribute mutation is vectorised unless the config asks neat for more than activations.
        self._fast_attributes = _only_activations_mutate(gc)
        # Children share their parent's gene objects only where no gene is written in place.
        self._share_genes = self._fast_attributes and _genes_stay_enabled(gc)

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
        """One mutated copy (new key) per parent; no crossover.

        Each child is a copy of its parent (sharing its gene objects, :func:`share_genome`,
        when the profile allows; else :func:`copy_genome`), then gets neat's
        structural mutations (each tried once, drawn from Python's ``random`` seeded from
        ``rng``), then attribute mutation over the whole batch: activations redrawn and weights
        mutated polynomially, each with one vectorised draw from ``rng``. A config that turns on
        any other neat attribute mutation (bias, response, neat's Gaussian weight mutation, ...)
        gets neat's own per-gene mutation instead of the vectorised activation redraw.
        """
        self._begin_batch()
        gc = self.profile.genome_config
        children = []
        copy = share_genome if self._share_genes else copy_genome
        with python_random_from(rng):
            for parent in parents:
                child = copy(parent, self._new_key())
                child.mutate_structure(gc)
                if not self._fast_attributes:
                    for cg in child.connections.values():
                        cg.mutate(gc)
                    for ng in child.nodes.values():
                        ng.mutate(gc)
                children.append(child)
        if self._fast_attributes:
            self._mutate_activations(children, rng)
        self._mutate_weights(children, rng)
        return children

    def _mutate_activations(self, genomes: Sequence[CppnGenome], rng: np.random.Generator) -> None:
        """Redraw each node's activation uniformly with probability activation_mutate_rate."""
        gc = self.profile.genome_config
        rate = float(gc.activation_mutate_rate)
        if rate <= 0.0:
            return
        owners, keys = _gene_slots([genome.nodes for genome in genomes])
        if not keys:
            return
        hit = np.flatnonzero(rng.random(len(keys)) < rate)
        options = list(gc.activation_options)
        choices = rng.integers(len(options), size=hit.size)
        for i, c in zip(hit.tolist(), choices.tolist(), strict=True):
            genes, key = owners[i], keys[i]
            gene = _copy_gene(genes[key])  # copy on write: the parent may share this gene
            gene.activation = options[c]
            genes[key] = gene

    def _mutate_weights(self, genomes: Sequence[CppnGenome], rng: np.random.Generator) -> None:
        """The paper's polynomial weight mutation (which neat-python lacks), batch-vectorised."""
        owners, keys = _gene_slots([genome.connections for genome in genomes])
        if not keys:
            return
        gc = self.profile.genome_config
        weights = np.fromiter(
            (owners[i][key].weight for i, key in enumerate(keys)), dtype=np.float64, count=len(keys)
        )
        mutated = polynomial_mutation(
            weights,
            rng,
            self.profile.weight_polynomial_rate,
            self.profile.weight_polynomial_eta,
            gc.weight_min_value,
            gc.weight_max_value,
        )
        changed = np.flatnonzero(mutated != weights)
        for i, w in zip(changed.tolist(), mutated[changed].tolist(), strict=True):
            genes, key = owners[i], keys[i]
            gene = _copy_gene(genes[key])  # copy on write, as above
            gene.weight = w
            genes[key] = gene

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


def _gene_slots(gene_dicts: Sequence[dict]) -> tuple[list[dict], list[Any]]:
    """Every gene of a batch as (its genome's gene dict, its key), in one flat order."""
    owners: list[dict] = []
    keys: list[Any] = []
    for genes in gene_dicts:
        owners.extend([genes] * len(genes))
        keys.extend(genes)
    return owners, keys
