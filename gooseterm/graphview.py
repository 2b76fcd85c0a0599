"""The dependency graph for people: a layered overview, trees, Graphviz DOT and JSON.

Pure functions over a DependencyGraph that return strings and dicts; `gooseterm graph` prints
them and the dashboard draws them. A graph with cycles still renders: where the layers would
be, it lists every cycle and the fewest dependencies to cut (from CycleError), and the trees
mark the point where a path comes back on itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .resolver import CycleError, DependencyGraph, Edge


@dataclass(frozen=True)
class GraphView:
    """What is shown: the services and edges in view, their layers or their cycles."""

    services: list[str]
    edges: list[Edge]
    layers: list[list[str]]
    """Promotion waves, dependencies first; empty when the dependencies in view loop."""
    cycle_error: CycleError | None
    focus: str | None
    reverse: bool

    @property
    def cycles(self) -> list[tuple[str, ...]]:
        """Every cycle in view (up to the resolver's report limit)."""
        return self.cycle_error.cycles if self.cycle_error else []


def view(graph: DependencyGraph, service: str | None = None, reverse: bool = False) -> GraphView:
    """The whole graph, or `service` with everything it depends on (with `reverse`: everything
    that depends on it), transitively. Raises the resolver's UnknownServiceError."""
    edges = graph.edges()
    services = graph.services
    if service is not None:
        graph.dependencies(service)  # raises UnknownServiceError for a name not in the graph
        reach = nx.ancestors if reverse else nx.descendants
        keep = reach(graph.graph, service) | {service}
        services = sorted(keep)
        edges = [e for e in edges if e.dependent in keep and e.dependency in keep]
    try:
        layers = DependencyGraph(edges, services).waves()
        error = None
    except CycleError as exc:
        layers, error = [], exc
    return GraphView(services, edges, layers, error, service, reverse)


def edge_label(edge: Edge) -> str:
    """`runtime`, or `data, optional` for an optional dependency."""
    return edge.kind if edge.required else f"{edge.kind}, optional"


def to_json(v: GraphView) -> dict:
    """{services, edges, layers, cycles, cuts, ...}: the shape `gooseterm graph --json` prints."""
    err = v.cycle_error
    return {
        "services": v.services,
        "edges": [{"dependent": e.dependent, "dependency": e.dependency, "kind": e.kind, "required": e.required} for e in v.edges],
        "layers": v.layers,
        "cycles": [list(c) for c in v.cycles],
        "more_cycles": bool(err and err.more_cycles),
        "cuts": [{"dependent": a, "dependency": b} for a, b in (err.cuts if err else [])],
        "cuts_exact": bool(err and err.cuts_exact),
        "focus": v.focus,
        "reverse": v.reverse,
    }


def to_text(v: GraphView) -> str:
    """The layered overview (or the cycles), then one tree per service (or the focus's)."""
    n, m = len(v.services), len(v.edges)
    lines = [f"{n} service{'s' if n != 1 else ''}, {m} dependenc{'ies' if m != 1 else 'y'}"]
    if v.cycle_error is not None:
        lines += str(v.cycle_error).splitlines()
    else:
        lines.append("layers (dependencies first; each depends only on layers above it):")
        width = len(str(len(v.layers)))
        lines += [f"  {i:>{width}}  {', '.join(layer)}" for i, layer in enumerate(v.layers, 1)]
    for root in [v.focus] if v.focus else v.services:
        lines.append("")
        lines += tree(v, root)
    return "\n".join(lines)


def tree(v: GraphView, root: str) -> list[str]:
    """`root` and what it depends on (with `reverse`: what depends on it), as an indented tree.

    Each service is expanded once per tree; a later visit says "(see above)", and a path that
    returns to a service on itself says "(cycle)", so cyclic and diamond-shaped graphs stay finite.
    """
    children = _children(v)
    verb = "is depended on by" if v.reverse else "depends on"
    if not children.get(root):
        return [f"{root} {verb} nothing"]
    lines = [f"{root} {verb}"]
    expanded = {root}
    # Depth-first with an explicit stack: a 10,000-service chain must not hit the recursion limit.
    stack: list[tuple[list[tuple[str, Edge]], int, str, tuple[str, ...]]] = [(children[root], 0, "", (root,))]
    while stack:
        items, i, prefix, path = stack.pop()
        if i >= len(items):
            continue
        stack.append((items, i + 1, prefix, path))
        name, edge = items[i]
        last = i == len(items) - 1
        note = ""
        if name in path:
            note = "  (cycle)"
        elif name in expanded and children.get(name):
            note = "  (see above)"
        lines.append(f"{prefix}{'└── ' if last else '├── '}{name}  {edge_label(edge)}{note}")
        if not note and children.get(name):
            expanded.add(name)
            stack.append((children[name], 0, prefix + ("    " if last else "│   "), (*path, name)))
    return lines


def _children(v: GraphView) -> dict[str, list[tuple[str, Edge]]]:
    out: dict[str, list[tuple[str, Edge]]] = {}
    for e in v.edges:
        parent, child = (e.dependency, e.dependent) if v.reverse else (e.dependent, e.dependency)
        out.setdefault(parent, []).append((child, e))
    return {k: sorted(items, key=lambda item: item[0]) for k, items in out.items()}


def to_dot(v: GraphView) -> str:
    """Graphviz DOT: an arrow from a service to what it depends on (reversed with `reverse`),
    labelled with the kind; optional dependencies dashed, dependencies on a cycle red."""
    looping = set()
    if v.cycle_error is not None:
        sub = nx.DiGraph((e.dependent, e.dependency) for e in v.edges)
        for component in nx.strongly_connected_components(sub):
            looping |= {(a, b) for a, b in sub.subgraph(component).edges()}
    direction = "depended on by" if v.reverse else "depends on"
    lines = [
        "digraph dependencies {",
        f"  // gooseterm graph: an arrow reads \"{direction}\"",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    lines += [f"  {_quote(s)};" for s in v.services]
    for e in v.edges:
        attrs = [f"label={_quote(e.kind)}"]
        if not e.required:
            attrs.append("style=dashed")
        if (e.dependent, e.dependency) in looping:
            attrs.append("color=red")
        a, b = (e.dependency, e.dependent) if v.reverse else (e.dependent, e.dependency)
        lines.append(f"  {_quote(a)} -> {_quote(b)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


def _quote(name: str) -> str:
    """A DOT quoted ID: in one, only the double quote is escaped."""
    return '"' + name.replace('"', '\\"') + '"'
