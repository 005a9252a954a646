"""Mermaid diagrams generated from machine declarations (docs/machines/*.md).

The graph is extracted into a plain model first, then rendered, so that other renderers can
share the model. Nodes are ordered by a walk from the entry, never alphabetically.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.framework.definition import LET_THROUGH, NodeSpec, walk
from domain.framework.machine import Machine


@dataclass(frozen=True, slots=True)
class Edge:
    """One declared exit."""

    source: str
    target: str
    happy: bool


@dataclass(frozen=True, slots=True)
class Graph:
    """A machine's declared graph."""

    machine: str
    entry: str
    nodes: tuple[NodeSpec, ...]
    edges: tuple[Edge, ...]


def graph_of(machine: type[Machine]) -> Graph:
    """Extract the declared graph of a machine class."""
    nodes = tuple(walk(machine.entry, machine.nodes))
    edges: list[Edge] = []
    for spec in nodes:
        edges.extend(Edge(spec.name, target, True) for target in spec.happy)
        edges.extend(Edge(spec.name, target, False) for target in spec.unhappy)
    return Graph(machine.__name__, machine.entry, nodes, tuple(edges))


def render_markdown(machine: type[Machine]) -> str:
    """Return the Markdown page of a machine: docstring, Mermaid flowchart and exit table."""
    graph = graph_of(machine)
    doc = (machine.__doc__ or "").strip().splitlines()
    lines = [
        f"# {graph.machine}",
        "",
        doc[0] if doc else "",
        "",
        "Generated from the node declarations by `lts diagram`; do not edit by hand.",
        "Green edges are happy exits, red edges unhappy exits. Clean-up nodes (amber, marked",
        "in the table) are the only ones that still run once the job is asked to stop.",
        "",
        "```mermaid",
        "flowchart TD",
    ]
    for spec in graph.nodes:
        shape = f"([{spec.name}])" if spec.terminal or spec.entry else f"[{spec.name}]"
        lines.append(f"    {spec.name}{shape}")
    for edge in graph.edges:
        arrow = "-->" if edge.happy else "-.->"
        label = "ok" if edge.happy else "fail"
        lines.append(f"    {edge.source} {arrow}|{label}| {edge.target}")
    happy = [i for i, e in enumerate(graph.edges) if e.happy]
    unhappy = [i for i, e in enumerate(graph.edges) if not e.happy]
    if happy:
        lines.append(f"    linkStyle {','.join(map(str, happy))} stroke:#2a2,color:#2a2")
    if unhappy:
        lines.append(f"    linkStyle {','.join(map(str, unhappy))} stroke:#c22,color:#c22")
    lines.append("    classDef entry fill:#dfd,stroke:#2a2")
    lines.append("    classDef terminal fill:#eee,stroke:#555")
    lines.append("    classDef cleanup fill:#fec,stroke:#c80")
    lines.append(f"    class {graph.entry} entry")
    terminals = [spec.name for spec in graph.nodes if spec.terminal]
    if terminals:
        lines.append(f"    class {','.join(terminals)} terminal")
    cleanups = [spec.name for spec in graph.nodes if spec.cleanup]
    if cleanups:
        lines.append(f"    class {','.join(cleanups)} cleanup")
    lines += [
        "```",
        "",
        "| node | happy exits | unhappy exits | on exception |",
        "| --- | --- | --- | --- |",
    ]
    for spec in graph.nodes:
        if spec.on_exception == LET_THROUGH:
            on_exception = "let through"
        else:
            on_exception = spec.on_exception or "-"
        name = f"**{spec.name}** (entry)" if spec.entry else spec.name
        if spec.cleanup:
            name += " (clean-up)"
        lines.append(
            f"| {name} | {', '.join(spec.happy) or '-'} | {', '.join(spec.unhappy) or '-'} "
            f"| {on_exception} |"
        )
    return "\n".join(lines) + "\n"
