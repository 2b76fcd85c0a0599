"""Properties of the resolver on random graphs: waves respect every edge, and cycle reports are
true, complete and cut with as few edges as an exhaustive search finds."""

from __future__ import annotations

import itertools

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from gooseterm.resolver import CycleError, DependencyGraph, Edge

Graph = tuple[list[str], list[tuple[str, str]]]
"""Node names, and (dependent, dependency) pairs."""

# Two cores: keep runs short; the shapes that matter appear within a few dozen examples.
FAST = settings(max_examples=60, deadline=None)


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 12) -> Graph:
    """Nodes and acyclic edges: each edge goes from a later to an earlier node of a hidden order."""
    names = st.from_regex(r"[a-z]{1,3}", fullmatch=True)
    nodes = draw(st.lists(names, min_size=1, max_size=max_nodes, unique=True))
    order = draw(st.permutations(nodes))
    pairs = [(order[i], order[j]) for i in range(len(order)) for j in range(i)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    return nodes, edges


@st.composite
def digraphs(
    draw: st.DrawFn, max_nodes: int = 6, max_edges: int = 12
) -> Graph:
    """Nodes and any edges, self-loops included, so many of them are cyclic."""
    nodes = [f"n{i}" for i in range(draw(st.integers(1, max_nodes)))]
    pairs = list(itertools.product(nodes, repeat=2))
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=max_edges))
    return nodes, edges


def build(nodes: list[str], edges: list[tuple[str, str]]) -> DependencyGraph:
    return DependencyGraph((Edge(a, b) for a, b in edges), services=nodes)


def acyclic_without(
    edges: list[tuple[str, str]], cuts: set[tuple[str, str]], nodes: list[str]
) -> bool:
    remaining = nx.DiGraph([e for e in edges if e not in cuts])
    remaining.add_nodes_from(nodes)
    return nx.is_directed_acyclic_graph(remaining)


def minimum_cut_size(nodes: list[str], edges: list[tuple[str, str]]) -> int:
    """The minimum feedback arc set size, by trying every edge subset in order of size."""
    for size in range(len(edges) + 1):
        for cuts in itertools.combinations(edges, size):
            if acyclic_without(edges, set(cuts), nodes):
                return size
    raise AssertionError("removing every edge leaves a cycle")


@FAST
@given(dags())
def test_every_dependency_is_in_an_earlier_wave(graph: Graph) -> None:
    nodes, edges = graph
    waves = build(nodes, edges).waves()
    wave_of = {node: i for i, wave in enumerate(waves) for node in wave}
    assert sorted(node for wave in waves for node in wave) == sorted(nodes)  # each exactly once
    for dependent, dependency in edges:
        assert wave_of[dependency] < wave_of[dependent]
    for i, wave in enumerate(waves):
        assert wave == sorted(wave)
        if i:  # as early as possible: something in the previous wave held each node back
            assert all(any(wave_of[d] == i - 1 for a, d in edges if a == n) for n in wave)


@FAST
@given(dags(), st.data())
def test_a_plan_for_some_services_holds_them_and_their_required_dependencies(
    graph: Graph, data: st.DataObject
) -> None:
    nodes, edges = graph
    chosen = data.draw(st.lists(st.sampled_from(nodes), min_size=1, unique=True))
    planned = {node for wave in build(nodes, edges).waves(chosen) for node in wave}
    closure = nx.DiGraph(edges)
    closure.add_nodes_from(nodes)
    assert planned == set(chosen).union(*(nx.descendants(closure, c) for c in chosen))


@FAST
@given(digraphs())
def test_cycle_error_iff_cyclic_with_true_complete_cycles_and_minimum_cuts(
    graph: Graph,
) -> None:
    nodes, edges = graph
    reference = nx.DiGraph(edges)
    reference.add_nodes_from(nodes)
    try:
        build(nodes, edges).waves()
    except CycleError as error:
        assert not nx.is_directed_acyclic_graph(reference)
        for cycle in error.cycles:
            assert len(set(cycle)) == len(cycle)
            assert all((a, b) in edges for a, b in zip(cycle, cycle[1:] + cycle[:1]))
        assert len(error.cycles) == sum(1 for _ in nx.simple_cycles(reference))
        assert acyclic_without(edges, set(error.cuts), nodes)
        assert error.cuts_exact  # a dozen edges never exhaust the exact search
        assert len(error.cuts) == minimum_cut_size(nodes, edges)
    else:
        assert nx.is_directed_acyclic_graph(reference)


@settings(max_examples=30, deadline=None)
@given(digraphs(max_nodes=30, max_edges=90))
def test_heuristic_cuts_break_every_cycle_and_none_is_superfluous(
    graph: Graph,
) -> None:
    nodes, edges = graph
    g = build(nodes, edges)
    try:
        g.waves()
    except CycleError as error:
        cuts = set(error.cuts)
        assert acyclic_without(edges, cuts, nodes)
        for cut in cuts:  # putting any one cut back closes a cycle
            assert not acyclic_without(edges, cuts - {cut}, nodes)
        planned = g.waves(accepted_breaks=cuts)
        assert sorted(node for wave in planned for node in wave) == sorted(nodes)
