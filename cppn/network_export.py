"""One genome's network for the gallery: a small JSON graph and a drawing of the DAG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cppn.program import compile_genome

INPUT_NAMES = ("x", "y", "d", "bias")


def network_graph(genome: Any, genome_config: Any) -> dict[str, Any]:
    """The expressed network (what the renderers evaluate) as a JSON-able graph.

    Nodes: inputs, then evaluated nodes in evaluation order, each with its depth (longest path
    from an input). Connections: enabled links that reach an output, with weights.
    """
    program = compile_genome(genome, genome_config)
    output_names = ("gray",) if len(genome_config.output_keys) == 1 else ("out0", "out1", "out2")
    slot_name = {i: name for i, name in enumerate(INPUT_NAMES)}
    nodes: list[dict[str, Any]] = [
        {"id": name, "kind": "input", "depth": 0} for name in INPUT_NAMES
    ]
    depth = {i: 0 for i in range(len(INPUT_NAMES))}
    connections: list[dict[str, Any]] = []
    for k, key in enumerate(program.node_keys.tolist()):
        slot = len(INPUT_NAMES) + k
        kind = "output" if key in genome_config.output_keys else "hidden"
        name = output_names[key] if kind == "output" else f"h{key}"
        slot_name[slot] = name
        links = range(program.link_start[k], program.link_start[k + 1])
        depth[slot] = 1 + max((depth[int(program.link_source[i])] for i in links), default=0)
        ng = genome.nodes[key]
        nodes.append(
            {
                "id": name,
                "kind": kind,
                "key": int(key),
                "activation": ng.activation,
                "bias": float(ng.bias),
                "response": float(ng.response),
                "depth": depth[slot],
            }
        )
        connections.extend(
            {
                "from": slot_name[int(program.link_source[i])],
                "to": name,
                "weight": float(program.link_weight[i]),
            }
            for i in links
        )
    return {"genome_key": genome.key, "nodes": nodes, "connections": connections}


def write_network_json(genome: Any, genome_config: Any, path: str | Path) -> Path:
    """Write :func:`network_graph` as indented JSON; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(network_graph(genome, genome_config), indent=1))
    return path


def draw_network(genome: Any, genome_config: Any, path: str | Path) -> Path:
    """Draw the expressed network (layered by depth) to an image file; returns the path.

    Edge colour: sign of the weight (red positive, blue negative); width: |weight|.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = network_graph(genome, genome_config)
    by_depth: dict[int, list[dict[str, Any]]] = {}
    for node in graph["nodes"]:
        by_depth.setdefault(node["depth"], []).append(node)
    position = {}
    for depth, members in by_depth.items():
        for i, node in enumerate(members):
            position[node["id"]] = (depth, i - (len(members) - 1) / 2)
    height = max(len(m) for m in by_depth.values())
    fig, ax = plt.subplots(figsize=(1.6 * (len(by_depth) + 1), 0.8 * height + 1.5))
    for c in graph["connections"]:
        (x0, y0), (x1, y1) = position[c["from"]], position[c["to"]]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "->",
                "color": "tab:red" if c["weight"] > 0 else "tab:blue",
                "lw": 0.3 + abs(c["weight"]) / 4,
                "alpha": 0.6,
            },
        )
    short = {"sine": "sin", "bipolar_sigmoid": "sig", "gaussian": "gau", "linear": "lin"}
    for node in graph["nodes"]:
        x, y = position[node["id"]]
        label = (
            node["id"]
            if node["kind"] == "input"
            else (f"{node['id']}\n{short.get(node['activation'], node['activation'])}")
        )
        color = {"input": "lightgray", "hidden": "khaki", "output": "lightgreen"}[node["kind"]]
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round", "facecolor": color},
        )
    ax.set_xlim(-0.5, len(by_depth) - 0.5)
    ax.set_ylim(-height / 2 - 0.5, height / 2 + 0.5)
    ax.axis("off")
    ax.set_title(f"CPPN genome {graph['genome_key']}", fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
