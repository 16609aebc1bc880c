"""Breeds a :class:`~cppn.population.CppnPopulation` with the compiled kernels of cppn.mutation.

The profile's rates and options are read from the validated :class:`~cppn.profile.CppnProfile`.
Where a user profile turns on what the kernels do not implement (neat's own attribute mutations
of bias, response, weight, aggregation or enabled, or connections created disabled), variation
falls back to the neat-python reference breeder (:class:`cppn.genomes.CppnBreeder`), converting
at the edge: same semantics, neat's speed; :attr:`ArrayBreeder.fallback_reason` says why.
Initial genomes always come from neat's ``configure_new`` (once per run, so its speed does not
matter and every initial_connection type neat knows is supported).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from cppn import activations, mutation
from cppn.convert import from_neat, to_neat
from cppn.genome_arrays import GenomeArrays
from cppn.genomes import CppnBreeder, _genes_stay_enabled, _only_activations_mutate
from cppn.population import LINK_FIELDS, NODE_FIELDS, CppnPopulation
from cppn.profile import CppnProfile
from cppn.streams import child_seeds


def _float_init(gc: Any, name: str) -> dict[str, Any] | None:
    """neat's init settings of a float attribute as MutationSettings' fields (NAME_gaussian,
    NAME_mean, NAME_stdev, NAME_min, NAME_max); None for an init type the kernels lack."""
    kind = str(getattr(gc, f"{name}_init_type")).lower()
    if "gauss" in kind or "normal" in kind:
        gaussian = True
    elif "uniform" in kind:
        gaussian = False
    else:
        return None
    return {
        f"{name}_gaussian": gaussian,
        f"{name}_mean": float(getattr(gc, f"{name}_init_mean")),
        f"{name}_stdev": float(getattr(gc, f"{name}_init_stdev")),
        f"{name}_min": float(getattr(gc, f"{name}_min_value")),
        f"{name}_max": float(getattr(gc, f"{name}_max_value")),
    }


def _unused_init(name: str, gc: Any) -> dict[str, Any]:
    """Init fields for a profile the kernels do not serve (they never run): zeros, and the
    weight bounds, which polynomial mutation reads too."""
    fields = {f"{name}_gaussian": True, f"{name}_mean": 0.0, f"{name}_stdev": 0.0}
    low, high = (
        (float(gc.weight_min_value), float(gc.weight_max_value)) if name == "weight" else (0.0, 0.0)
    )
    return {**fields, f"{name}_min": low, f"{name}_max": high}


def kernel_settings(profile: CppnProfile) -> tuple[mutation.MutationSettings, str | None]:
    """The mutation kernels' settings, and why the kernels cannot serve this profile (None when
    they can)."""
    gc = profile.genome_config
    default = str(gc.activation_default)
    reason = None
    response, weight = _float_init(gc, "response"), _float_init(gc, "weight")
    if not _only_activations_mutate(gc):
        reason = "the profile mutates gene attributes other than activation (neat's own mutation)"
    elif not _genes_stay_enabled(gc):
        reason = "the profile creates disabled connections (enabled_default is not True)"
    elif response is None or weight is None:
        reason = "the profile uses an init_type other than gaussian or uniform"
    if reason is not None or response is None or weight is None:
        response, weight = _unused_init("response", gc), _unused_init("weight", gc)
    settings = mutation.MutationSettings(
        add_node=float(gc.node_add_prob),
        delete_node=float(gc.node_delete_prob),
        add_connection=float(gc.conn_add_prob),
        delete_connection=float(gc.conn_delete_prob),
        single_structural=bool(gc.single_structural_mutation),
        surer=bool(gc.check_structural_mutation_surer()),
        activation_rate=float(gc.activation_mutate_rate),
        activation_default=(
            -1 if default.lower() in ("none", "random") else int(activations.IDS[default])
        ),
        activation_options=np.array(
            [activations.IDS[name] for name in gc.activation_options], dtype=np.int32
        ),
        **response,
        **weight,
        weight_rate=float(profile.weight_polynomial_rate),
        weight_eta=float(profile.weight_polynomial_eta),
        num_outputs=int(gc.num_outputs),
    )
    return settings, reason


class ArrayBreeder:
    """Creates and mutates CPPN populations; owns the counters that must survive a resume."""

    def __init__(self, profile: CppnProfile) -> None:
        self.profile = profile
        self.settings, self.fallback_reason = kernel_settings(profile)
        self.next_genome_key = 0
        self.next_node_key = int(profile.genome_config.num_outputs)
        self.innovation_counter = 0
        self._reference = CppnBreeder(profile)
        # Working arrays of earlier calls, which the children returned then kept (as views).
        self._pool: list[dict[str, np.ndarray]] = []

    def _with_reference(self, call: Any) -> Any:
        """Run ``call(reference_breeder)`` with the counters handed over and taken back."""
        self._reference.load_state_dict(self.state_dict())
        result = call(self._reference)
        self.load_state_dict(self._reference.state_dict())
        return result

    def random(self, n: int, rng: np.random.Generator) -> CppnPopulation:
        """``n`` new genomes by neat's ``configure_new`` (the profile's initial wiring)."""
        return from_neat(self._with_reference(lambda ref: ref.random(n, rng)))

    def vary(self, parents: CppnPopulation, rng: np.random.Generator) -> CppnPopulation:
        """One mutated child (new key) per parent; no crossover. Parents must be occupied."""
        if not parents.occupied.all():
            raise ValueError("cannot vary an empty cell")
        if self.fallback_reason is not None:
            gc = self.profile.genome_config
            genomes = to_neat(parents, gc)
            return from_neat(self._with_reference(lambda ref: ref.vary(genomes, rng)))
        n = len(parents)
        seeds = child_seeds(rng, n)
        # Each child's capacity slot: its parent's genes and room for a node and three links
        # more (the parents' starts plus one and three per genome before it).
        room = np.arange(n + 1, dtype=np.int64)
        cap_nodes = parents.node_start - parents.node_start[0] + room
        cap_links = parents.link_start - parents.link_start[0] + 3 * room
        work = self._working_arrays(int(cap_nodes[-1]), int(cap_links[-1]))
        node_start, link_start, self.next_node_key, self.innovation_counter = mutation.breed(
            parents.arrays(),
            GenomeArrays(cap_nodes, cap_links, **work),
            seeds,
            self.settings,
            self.next_node_key,
            self.innovation_counter,
        )
        # The children keep the working arrays, trimmed (the slack is a node and three links
        # per child): no second allocation and copy.
        columns = {k: a[: node_start[-1]] for k, a in work.items() if k in NODE_FIELDS}
        columns.update({k: a[: link_start[-1]] for k, a in work.items() if k in LINK_FIELDS})
        keys = np.arange(self.next_genome_key, self.next_genome_key + n, dtype=np.int64)
        self.next_genome_key += n
        return CppnPopulation(keys, node_start, link_start, **columns)

    def _working_arrays(self, num_nodes: int, num_links: int) -> dict[str, np.ndarray]:
        """Node and link columns of at least these lengths (contents undefined), by name.

        Arrays from an earlier call are reused once nothing but this pool refers to them (the
        children made in them, and every view of those, are gone): fresh arrays of a few MB cost
        a page fault per 4 KB on first touch, as much as the mutation itself at 100 nodes, and
        the allocator hands such sizes back to the system when they are freed.
        """
        for pool in self._pool:
            # 2: the pool's reference and getrefcount's argument; a view would hold another.
            if all(sys.getrefcount(pool[k]) == 2 for k in pool) and (
                pool["node_key"].size >= num_nodes and pool["link_in"].size >= num_links
            ):
                work = pool
                break
        else:
            headroom = 1.25  # genomes grow a little every generation
            work = {k: np.empty(int(num_nodes * headroom), dtype=t) for k, t in NODE_FIELDS.items()}
            work.update(
                {k: np.empty(int(num_links * headroom), dtype=t) for k, t in LINK_FIELDS.items()}
            )
            # Parents and children alive at once need two sets; a third covers a caller that
            # keeps one generation more. Dropping the oldest leaves its arrays to its users.
            self._pool = [work, *self._pool[:2]]
        return {k: a[: num_nodes if k in NODE_FIELDS else num_links] for k, a in work.items()}

    def state_dict(self) -> dict[str, int]:
        """Counters to checkpoint so that resumed runs never reuse a key or innovation."""
        return {
            "next_genome_key": self.next_genome_key,
            "next_node_id": self.next_node_key,
            "innovation_counter": self.innovation_counter,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.next_genome_key = int(state["next_genome_key"])
        self.next_node_key = int(state["next_node_id"])
        self.innovation_counter = int(state["innovation_counter"])
