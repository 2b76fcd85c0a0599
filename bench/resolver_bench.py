"""Resolver benchmark: promotion waves for 10,000 services and 50,000 dependencies.

Times DependencyGraph.waves() (Kahn generations plus the cycle check) against the floor, raw
networkx.topological_generations on the same graph, then a cyclic case (a few dependencies
pointing backwards, so CycleError names cycles and proposes cuts) and the same graph with those
edges passed as accepted breaks. Median of 5 runs.

Run: .venv/bin/python bench/resolver_bench.py [--services N] [--edges M] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gooseterm.resolver import CycleError, DependencyGraph, Edge

RUNS = 5


def random_dag(services: int, edges: int, rng: random.Random) -> list[Edge]:
    """`edges` distinct dependencies, each from a later service to an earlier one in a hidden
    random order, so the graph is acyclic but its names carry no hint of the order."""
    names = [f"svc-{i:05d}" for i in range(services)]
    rng.shuffle(names)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        a, b = rng.randrange(services), rng.randrange(services)
        if a != b:
            pairs.add((max(a, b), min(a, b)))
    kinds = ("runtime", "data", "security")
    return [Edge(names[a], names[b], rng.choice(kinds), rng.random() < 0.8) for a, b in pairs]


def median_seconds(run: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--back-edges", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    edges = random_dag(args.services, args.edges, rng)
    graph = DependencyGraph(edges)
    raw = nx.DiGraph((e.dependent, e.dependency) for e in edges)
    # Reversing a dependency (b now also depends on a) closes a cycle through every path a->b.
    back = [Edge(e.dependency, e.dependent) for e in rng.sample(edges, args.back_edges)]
    cyclic = DependencyGraph(edges + back)
    breaks = {(e.dependent, e.dependency) for e in back}
    # Closing the longest dependency chain on itself, several times over, makes one big tangle:
    # too many edges for the exact cut search, and more cycles than are listed.
    chain = nx.dag_longest_path(raw)
    spans = [Edge(chain[-1 - i], chain[i]) for i in range(args.back_edges)]
    tangled = DependencyGraph(edges + spans)

    def cycle_error(of: DependencyGraph) -> CycleError:
        try:
            of.waves()
        except CycleError as error:
            return error
        raise AssertionError("a cyclic graph planned without a CycleError")

    rows = [
        ("nx.topological_generations (floor)", lambda: list(nx.topological_generations(raw))),
        ("DependencyGraph.waves()", graph.waves),
        ("waves() of 10 services + dependencies", lambda: graph.waves(graph.services[:10])),
        (f"{len(back)} random edges reversed: CycleError", lambda: cycle_error(cyclic)),
        ("  the same, with those edges accepted", lambda: cyclic.waves(accepted_breaks=breaks)),
        (f"longest chain closed {len(spans)} times: CycleError", lambda: cycle_error(tangled)),
    ]
    print(f"{args.services:,} services, {args.edges:,} dependencies, median of {RUNS} runs")
    print(f"{'case':52} {'median ms':>10} {'min ms':>8}")
    for name, run in rows:
        median, fastest = median_seconds(run)
        print(f"{name:52} {median * 1e3:10.1f} {fastest * 1e3:8.1f}")
    print(f"acyclic: {len(graph.waves())} waves")
    for name, of, added in (("reversed", cyclic, back), ("chain", tangled, spans)):
        error = cycle_error(of)
        tangle = max(len(c) for c in nx.strongly_connected_components(of.graph))
        print(
            f"{name}: {len(error.cycles)}{'+' if error.more_cycles else ''} cycles named, "
            f"{len(error.cuts)} cuts ({'exact' if error.cuts_exact else 'greedy'}) for "
            f"{len(added)} added edges; largest tangle {tangle} services"
        )


if __name__ == "__main__":
    main()
