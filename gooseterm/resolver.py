"""The dependency graph: promotion order in waves, cycles with the fewest cuts, reverse view."""

from __future__ import annotations

import difflib
import heapq
import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx

from gooseterm.orgconfig import DependencyKind, Service

CYCLE_REPORT_LIMIT = 1000
"""At most this many cycles are named; a dense tangle has exponentially many."""
EXACT_CYCLE_LIMIT = 2000
"""A tangle (strongly connected component) with at most this many cycles gets an exact search
for its minimum cut; beyond, the Eades-Lin-Smyth heuristic's cut stands."""
EXACT_SEARCH_BUDGET = 200_000
"""Cycle tests the exact search may spend on one tangle before settling for the heuristic."""


class Edge(NamedTuple):
    """`dependent` depends on `dependency`."""

    dependent: str
    dependency: str
    kind: DependencyKind = "runtime"
    required: bool = True


class UnknownServiceError(LookupError):
    """A service name that is not in the graph."""

    def __init__(self, name: str, known: Collection[str]) -> None:
        self.name = name
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"unknown service '{name}' ({len(known)} services known{hint})")


class CycleError(Exception):
    """The dependencies loop, so there is no promotion order.

    `cycles` names every elementary cycle (up to CYCLE_REPORT_LIMIT; `more_cycles` says if
    there were more), each as the services in dependency order, the first depending on the
    second and the last on the first. `cuts` are dependencies whose removal breaks every
    cycle: a minimum set when `cuts_exact`, else a small one from the Eades-Lin-Smyth heuristic
    in which no cut is superfluous (a tangle too large to search exhaustively).
    """

    def __init__(
        self,
        cycles: list[tuple[str, ...]],
        more_cycles: bool,
        cuts: list[tuple[str, str]],
        cuts_exact: bool,
    ) -> None:
        self.cycles = cycles
        self.more_cycles = more_cycles
        self.cuts = cuts
        self.cuts_exact = cuts_exact
        count = f"{len(cycles)}{'+' if more_cycles else ''}"
        lines = [f"dependency cycles ({count}); there is no promotion order:"]
        lines += [f"  {' -> '.join((*cycle, cycle[0]))}" for cycle in cycles]
        if more_cycles:
            lines.append(f"  and more (only the first {len(cycles)} are listed)")
        how = (
            "the minimum (exact search)"
            if cuts_exact
            else "a small set, not proven minimum (Eades-Lin-Smyth heuristic: a tangle has "
            "too many cycles to search exhaustively)"
        )
        noun = "dependency" if len(cuts) == 1 else "dependencies"
        lines.append(f"cutting {len(cuts)} {noun} breaks them all, {how}:")
        lines += [f"  {a} -> {b}" for a, b in cuts]
        lines.append(
            "remove these dependencies from the service specs, or record a manual review of "
            "each cut and pass it as an accepted break"
        )
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Offender:
    """A dependency that is not in the compliant state; `state` is None if none is recorded."""

    dependency: str
    kind: DependencyKind
    required: bool
    state: str | None


@dataclass(frozen=True)
class DependencyCheck:
    """Whether a service's dependencies allow its promotion (plan 3.2)."""

    service: str
    blocking: tuple[Offender, ...]
    warnings: tuple[Offender, ...]

    @property
    def ok(self) -> bool:
        """True when every required dependency is compliant."""
        return not self.blocking

    @property
    def reason(self) -> str:
        """One line naming each offender with its state, or saying all is well."""

        def describe(o: Offender) -> str:
            need = "required" if o.required else "optional"
            return f"{o.dependency} ({o.kind}, {need}) is {o.state or 'in no recorded state'}"

        if not self.blocking and not self.warnings:
            return f"{self.service}: every dependency is compliant"
        parts = [f"blocked: {describe(o)}" for o in self.blocking]
        parts += [f"warning: {describe(o)}" for o in self.warnings]
        return f"{self.service}: " + "; ".join(parts)

    def __str__(self) -> str:
        return self.reason


class DependencyGraph:
    """Services and their dependencies; an edge points from a service to what it depends on."""

    def __init__(self, edges: Iterable[Edge], services: Iterable[str] = ()) -> None:
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(services)
        for edge in edges:
            self._graph.add_edge(
                edge.dependent, edge.dependency, kind=edge.kind, required=edge.required
            )

    @classmethod
    def from_services(cls, services: Iterable[Service]) -> DependencyGraph:
        """The graph of the services' specs."""
        services = list(services)
        return cls(
            (
                Edge(service.name, ref.name, kind, ref.required)
                for service in services
                for kind, _, ref in service.spec.dependencies.by_kind()
            ),
            (service.name for service in services),
        )

    @property
    def graph(self) -> nx.DiGraph:
        """A read-only networkx view: edges service -> dependency with `kind` and `required`."""
        return self._graph.copy(as_view=True)

    @property
    def services(self) -> list[str]:
        """Every service, sorted."""
        return sorted(self._graph)

    def edges(self) -> list[Edge]:
        """Every dependency, sorted."""
        return sorted(
            Edge(a, b, data["kind"], data["required"])
            for a, b, data in self._graph.edges(data=True)
        )

    def dependencies(self, service: str, required_only: bool = False) -> list[str]:
        """What `service` depends on directly, sorted."""
        return sorted(
            dependency
            for dependency, data in self._successors(service).items()
            if data["required"] or not required_only
        )

    def dependents(self, service: str, transitive: bool = False) -> list[str]:
        """Who depends on `service`: directly, or through any chain when `transitive`."""
        self._require(service)
        if transitive:
            return sorted(nx.ancestors(self._graph, service))
        return sorted(self._graph.pred[service])

    def validate_compliance_state(
        self, service: str, states: Mapping[str, str], compliant: str = "compliant"
    ) -> DependencyCheck:
        """Check `service`'s direct dependencies against their states: required ones must be
        `compliant`; optional ones that are not only warn. A missing state counts as not."""
        blocking, warnings = [], []
        for dependency, data in sorted(self._successors(service).items()):
            state = states.get(dependency)
            if state != compliant:
                offender = Offender(dependency, data["kind"], data["required"], state)
                (blocking if data["required"] else warnings).append(offender)
        return DependencyCheck(service, tuple(blocking), tuple(warnings))

    def waves(
        self,
        services: Iterable[str] | None = None,
        include_dependencies: bool = True,
        accepted_breaks: Collection[tuple[str, str]] = frozenset(),
    ) -> list[list[str]]:
        """Promotion order: waves whose services depend only on earlier waves, each sorted.

        `services` limits the plan (None: every service); `include_dependencies` adds their
        required dependencies, transitively. `accepted_breaks` are (dependent, dependency)
        edges to ignore, each backed by a recorded manual review. Raises CycleError.
        """
        selected = None if services is None else self._select(services, include_dependencies)
        nodes = self._graph if selected is None else selected
        breaks = set(accepted_breaks)
        waves, stuck = _generations(nodes, self._graph.succ, self._graph.pred, breaks)
        if stuck:
            raise _cycle_error(self._graph.subgraph(stuck), breaks)
        return waves

    def layers(self) -> list[list[str]]:
        """Display layers: like waves() of every service, but a cycle's members share a layer
        instead of raising."""
        condensed = nx.condensation(self._graph)
        members = condensed.graph["mapping"]
        groups: dict[int, list[str]] = {}
        for name, component in members.items():
            groups.setdefault(component, []).append(name)
        layers, _ = _generations(condensed, condensed.succ, condensed.pred, set())
        return [sorted(name for c in layer for name in groups[c]) for layer in layers]

    def _select(self, services: Iterable[str], include_dependencies: bool) -> set[str]:
        selected = set()
        for name in services:
            self._require(name)
            selected.add(name)
        if include_dependencies:
            frontier = list(selected)
            while frontier:
                for dependency, data in self._graph.succ[frontier.pop()].items():
                    if data["required"] and dependency not in selected:
                        selected.add(dependency)
                        frontier.append(dependency)
        return selected

    def _successors(self, service: str) -> Mapping[str, Mapping[str, object]]:
        self._require(service)
        return self._graph.succ[service]

    def _require(self, service: str) -> None:
        if service not in self._graph:
            raise UnknownServiceError(service, self._graph)


def _generations(
    nodes: Iterable, succ: Mapping, pred: Mapping, breaks: set[tuple[str, str]]
) -> tuple[list[list], list]:
    """Kahn's algorithm by generations over `nodes`, dependencies first.

    Returns the sorted generations and the nodes left over, which lie on or behind a cycle.
    Written out rather than nx.topological_generations so that a subset and ignored edges need
    no subgraph copy, and so that a cycle yields what is stuck instead of an exception.
    """
    pending = dict.fromkeys(nodes, 0)
    for node in pending:
        pending[node] = sum(
            1
            for dep in succ[node]
            if dep in pending and (not breaks or (node, dep) not in breaks)
        )
    wave = sorted(node for node, count in pending.items() if count == 0)
    generations = []
    while wave:
        generations.append(wave)
        following = []
        for dependency in wave:
            for dependent in pred[dependency]:
                if dependent in pending and (not breaks or (dependent, dependency) not in breaks):
                    pending[dependent] -= 1
                    if pending[dependent] == 0:
                        following.append(dependent)
        wave = sorted(following)
    placed = sum(len(w) for w in generations)
    stuck = [] if placed == len(pending) else [n for n, c in pending.items() if c > 0]
    return generations, stuck


def _cycle_error(candidates: nx.DiGraph, breaks: set[tuple[str, str]]) -> CycleError:
    """Name the cycles among `candidates` (which may include nodes merely behind a cycle) and
    propose cuts per strongly connected component: every cycle lies inside one."""
    # Sorted construction makes which cycles are listed, and the cuts, deterministic.
    graph = nx.DiGraph()
    for node in sorted(candidates):
        for dependency in sorted(candidates.succ[node]):
            if (node, dependency) not in breaks:
                graph.add_edge(node, dependency)
    tangles = [
        component
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1 or any(graph.has_edge(n, n) for n in component)
    ]
    # Most stuck nodes merely wait behind a cycle; search for cycles only among the tangles.
    core = graph.subgraph(set().union(*tangles))
    found = list(itertools.islice(nx.simple_cycles(core), CYCLE_REPORT_LIMIT + 1))
    cycles = sorted((_rotate(c) for c in found[:CYCLE_REPORT_LIMIT]), key=lambda c: (len(c), c))
    cuts: list[tuple[str, str]] = []
    exact = True
    for component in tangles:
        tangle = graph.subgraph(component)
        heuristic = _greedy_cuts(tangle)
        minimum = _minimum_cuts(tangle, heuristic)
        exact = exact and minimum is not None
        cuts += heuristic if minimum is None else minimum
    return CycleError(cycles, len(found) > CYCLE_REPORT_LIMIT, sorted(cuts), exact)


def _rotate(cycle: list[str]) -> tuple[str, ...]:
    """The cycle starting at its smallest name, so the same cycle always reads the same."""
    start = cycle.index(min(cycle))
    return tuple(cycle[start:] + cycle[:start])


class _OutOfBudget(Exception):
    pass


def _minimum_cuts(
    tangle: nx.DiGraph, heuristic: list[tuple[str, str]]
) -> list[tuple[str, str]] | None:
    """A minimum feedback arc set of a strongly connected `tangle`, or None if the search
    would be too long.

    The fewest edges that meet every cycle is a minimum hitting set of the cycles' edge sets:
    branch on the edges of the shortest cycle not yet hit, pruned by the best cut so far
    (starting from the heuristic's) against a lower bound, the number of edge-disjoint cycles
    not yet hit, each of which needs a cut of its own.
    """
    cycles = list(itertools.islice(nx.simple_cycles(tangle), EXACT_CYCLE_LIMIT + 1))
    if len(cycles) > EXACT_CYCLE_LIMIT:
        return None
    edges = sorted(tangle.edges())
    bit = {edge: 1 << i for i, edge in enumerate(edges)}
    masks = sorted(
        (sum(bit[(a, b)] for a, b in zip(cycle, cycle[1:] + cycle[:1])) for cycle in cycles),
        key=int.bit_count,
    )
    best = sum(bit[edge] for edge in heuristic)
    budget = EXACT_SEARCH_BUDGET

    def search(chosen: int, unhit: list[int]) -> None:
        nonlocal best, budget
        budget -= len(unhit) + 1
        if budget < 0:
            raise _OutOfBudget
        if not unhit:
            best = chosen
            return
        disjoint, covered = 0, 0
        for mask in unhit:
            if not mask & covered:
                covered |= mask
                disjoint += 1
        if chosen.bit_count() + disjoint >= best.bit_count():
            return
        branches = unhit[0]
        while branches:
            low = branches & -branches
            search(chosen | low, [mask for mask in unhit if not mask & low])
            branches ^= low

    try:
        search(0, masks)
    except _OutOfBudget:
        return None
    return [edge for edge in edges if best & bit[edge]]


def _greedy_cuts(tangle: nx.DiGraph) -> list[tuple[str, str]]:
    """A feedback arc set from the Eades-Lin-Smyth ordering (Inf. Process. Lett. 47, 1993),
    then pruned: a cut whose edge can be put back without closing a cycle is dropped."""
    loops = sorted((a, b) for a, b in tangle.edges() if a == b)
    succ = {n: {m for m in tangle.succ[n] if m != n} for n in sorted(tangle)}
    pred = {n: {m for m in tangle.pred[n] if m != n} for n in succ}
    out = {n: len(succ[n]) for n in succ}
    inn = {n: len(pred[n]) for n in succ}
    alive = set(succ)
    rank = {n: i for i, n in enumerate(succ)}  # deterministic tie-break
    sinks = [n for n in succ if out[n] == 0]
    sources = [n for n in succ if inn[n] == 0 and out[n] > 0]
    heap = [(inn[n] - out[n], rank[n], n) for n in succ]
    heapq.heapify(heap)
    left: list[str] = []
    right: list[str] = []

    def remove(node: str) -> None:
        alive.discard(node)
        for m in succ[node]:
            if m in alive:
                inn[m] -= 1
                heapq.heappush(heap, (inn[m] - out[m], rank[m], m))
                if inn[m] == 0 and out[m] > 0:
                    sources.append(m)
        for m in pred[node]:
            if m in alive:
                out[m] -= 1
                heapq.heappush(heap, (inn[m] - out[m], rank[m], m))
                if out[m] == 0:
                    sinks.append(m)

    while alive:
        if sinks:
            node = sinks.pop()
            if node in alive:
                right.append(node)
                remove(node)
        elif sources:
            node = sources.pop()
            if node in alive:
                left.append(node)
                remove(node)
        else:
            key, _, node = heapq.heappop(heap)
            if node in alive and key == inn[node] - out[node]:  # skip stale entries
                left.append(node)
                remove(node)
    position = {n: i for i, n in enumerate(left + right[::-1])}
    backward = sorted((a, b) for a in succ for b in succ[a] if position[b] < position[a])
    acyclic = nx.DiGraph(tangle)
    acyclic.remove_edges_from(loops + backward)
    cuts = []
    for a, b in backward:
        if nx.has_path(acyclic, b, a):
            cuts.append((a, b))
        else:
            acyclic.add_edge(a, b)
    return loops + cuts
