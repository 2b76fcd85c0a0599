"""The dependency resolver: promotion waves, cycles and their cuts, the reverse view."""

from __future__ import annotations

import random
import time

import pytest

from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.resolver import (
    CYCLE_REPORT_LIMIT,
    CycleError,
    DependencyGraph,
    Edge,
    Offender,
    UnknownServiceError,
)


@pytest.fixture(scope="module")
def example() -> DependencyGraph:
    """The shipped example org: a -> b (runtime), a -> c (data, optional), b -> c (security)."""
    return DependencyGraph.from_services(load_org(bundled_config_dir()).services.values())


def graph(*pairs: str, optional: tuple[str, ...] = ()) -> DependencyGraph:
    """A graph from 'a>b' strings (a depends on b); pairs listed in `optional` are optional."""
    return DependencyGraph(
        Edge(*pair.split(">"), required=pair not in optional) for pair in pairs
    )


def cycle_error(of: DependencyGraph, **kwargs: object) -> CycleError:
    with pytest.raises(CycleError) as caught:
        of.waves(**kwargs)
    return caught.value


# Waves


def test_example_org_promotes_c_then_b_then_a(example: DependencyGraph) -> None:
    assert example.waves() == [["service-c"], ["service-b"], ["service-a"]]


def test_planning_one_service_brings_its_required_dependencies(example: DependencyGraph) -> None:
    assert example.waves(["service-b"]) == [["service-c"], ["service-b"]]
    assert example.waves(["service-a"]) == [["service-c"], ["service-b"], ["service-a"]]


def test_optional_dependencies_order_but_are_not_pulled_in() -> None:
    g = graph("a>b", "a>c", optional=("a>c",))
    assert g.waves(["a"]) == [["b"], ["a"]]
    assert g.waves(["a", "c"]) == [["b", "c"], ["a"]]


def test_without_dependencies_only_the_chosen_services_are_planned(
    example: DependencyGraph,
) -> None:
    assert example.waves(["service-a"], include_dependencies=False) == [["service-a"]]
    assert example.waves(["service-a", "service-c"], include_dependencies=False) == [
        ["service-c"],
        ["service-a"],
    ]


def test_waves_are_sorted_within_and_earliest_possible() -> None:
    g = graph("z>y", "y>x", "m>x", "b>x")
    assert g.waves() == [["x"], ["b", "m", "y"], ["z"]]


def test_a_service_without_dependencies_is_in_the_first_wave() -> None:
    g = DependencyGraph([Edge("a", "b")], services=["lonely"])
    assert g.waves() == [["b", "lonely"], ["a"]]


def test_unknown_service_is_refused_with_a_suggestion(example: DependencyGraph) -> None:
    with pytest.raises(UnknownServiceError, match="did you mean service-a"):
        example.waves(["service-aa"])
    with pytest.raises(UnknownServiceError):
        example.dependents("nope")


# Cycles


def test_a_cycle_is_named_with_its_cut() -> None:
    error = cycle_error(graph("a>b", "b>c", "c>a", "d>a"))
    assert error.cycles == [("a", "b", "c")]
    assert len(error.cuts) == 1 and error.cuts_exact
    assert "a -> b -> c -> a" in str(error)
    assert "the minimum (exact search)" in str(error)
    assert "record a manual review" in str(error)


def test_two_cycles_sharing_an_edge_need_one_cut() -> None:
    error = cycle_error(graph("a>b", "b>a", "b>c", "c>a"))
    assert error.cycles == [("a", "b"), ("a", "b", "c")]
    assert error.cuts == [("a", "b")]
    assert error.cuts_exact
    assert not error.more_cycles


def test_disjoint_cycles_each_need_a_cut() -> None:
    error = cycle_error(graph("a>b", "b>a", "x>y", "y>z", "z>x", "s>s"))
    assert error.cycles == [("s",), ("a", "b"), ("x", "y", "z")]
    assert len(error.cuts) == 3
    assert ("s", "s") in error.cuts
    assert "s -> s" in str(error)


def test_only_the_planned_services_are_checked_for_cycles() -> None:
    g = graph("a>b", "b>a", "c>d")
    assert g.waves(["c"]) == [["d"], ["c"]]
    assert cycle_error(g, services=["a"]).cycles == [("a", "b")]


def test_accepted_breaks_let_a_cyclic_graph_plan() -> None:
    g = graph("a>b", "b>a", "b>c", "c>a")
    cuts = set(cycle_error(g).cuts)
    assert g.waves(accepted_breaks=cuts) == [["a"], ["c"], ["b"]]


def test_an_accepted_break_that_is_not_an_edge_changes_nothing(
    example: DependencyGraph,
) -> None:
    assert example.waves(accepted_breaks={("service-c", "service-a")}) == example.waves()


def test_a_long_cycle_needs_one_cut() -> None:
    ring = [f"s{i:02d}>s{(i + 1) % 30:02d}" for i in range(30)]
    error = cycle_error(graph(*ring))
    assert len(error.cycles) == 1 and len(error.cycles[0]) == 30
    assert len(error.cuts) == 1 and error.cuts_exact


def test_a_dense_tangle_is_cut_by_the_heuristic_and_its_listing_capped() -> None:
    names = [f"n{i}" for i in range(7)]
    complete = graph(*(f"{a}>{b}" for a in names for b in names if a != b))
    error = cycle_error(complete)  # 2,365 cycles: more than listed or searched
    assert error.more_cycles
    assert len(error.cycles) == CYCLE_REPORT_LIMIT
    assert "and more" in str(error)
    assert not error.cuts_exact
    assert "Eades-Lin-Smyth heuristic" in str(error)
    assert len(error.cuts) == 21  # one edge of every pair: here the heuristic is optimal


def test_exact_search_beats_the_heuristic_where_it_can() -> None:
    # Found by comparing both on random tangles: Eades-Lin-Smyth cuts b>a and d>c here.
    error = cycle_error(graph("a>d", "b>a", "c>a", "c>b", "d>b", "d>c"))
    assert error.cuts_exact
    assert error.cuts == [("a", "d")]


def test_layers_never_raise_and_put_a_cycle_in_one_layer() -> None:
    g = graph("a>b", "b>a", "c>a", "b>d")
    assert g.layers() == [["d"], ["a", "b"], ["c"]]


# The reverse view and dependency state


def test_dependencies_required_and_optional(example: DependencyGraph) -> None:
    assert example.dependencies("service-a") == ["service-b", "service-c"]
    assert example.dependencies("service-a", required_only=True) == ["service-b"]
    assert example.dependencies("service-c") == []


def test_dependents_direct_and_transitive(example: DependencyGraph) -> None:
    assert example.dependents("service-c") == ["service-a", "service-b"]
    assert example.dependents("service-b") == ["service-a"]
    assert graph("a>b", "b>c").dependents("c", transitive=True) == ["a", "b"]
    assert graph("a>b", "b>c").dependents("c") == ["b"]


def test_edges_carry_kind_and_requirement(example: DependencyGraph) -> None:
    assert example.edges() == [
        Edge("service-a", "service-b", "runtime", True),
        Edge("service-a", "service-c", "data", False),
        Edge("service-b", "service-c", "security", True),
    ]


def test_compliance_state_passes_when_every_dependency_is_compliant(
    example: DependencyGraph,
) -> None:
    check = example.validate_compliance_state(
        "service-a", {"service-b": "compliant", "service-c": "compliant"}
    )
    assert check.ok and not check.blocking and not check.warnings
    assert check.reason == "service-a: every dependency is compliant"


def test_a_required_dependency_not_compliant_blocks(example: DependencyGraph) -> None:
    check = example.validate_compliance_state(
        "service-a", {"service-b": "compliance_ready", "service-c": "compliant"}
    )
    assert not check.ok
    assert check.blocking == (Offender("service-b", "runtime", True, "compliance_ready"),)
    assert "blocked: service-b (runtime, required) is compliance_ready" in check.reason


def test_an_optional_dependency_not_compliant_only_warns(example: DependencyGraph) -> None:
    check = example.validate_compliance_state(
        "service-a", {"service-b": "compliant", "service-c": "sandbox"}
    )
    assert check.ok
    assert check.warnings == (Offender("service-c", "data", False, "sandbox"),)


def test_a_dependency_with_no_recorded_state_is_not_compliant(example: DependencyGraph) -> None:
    check = example.validate_compliance_state("service-b", {})
    assert check.blocking == (Offender("service-c", "security", True, None),)
    assert "is in no recorded state" in str(check)


def test_the_compliant_state_name_comes_from_the_caller(example: DependencyGraph) -> None:
    check = example.validate_compliance_state("service-b", {"service-c": "gold"}, compliant="gold")
    assert check.ok


# Scale


@pytest.mark.slow
def test_ten_thousand_services_plan_in_under_a_second() -> None:
    rng = random.Random(7)
    names = [f"svc-{i:05d}" for i in range(10_000)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < 50_000:
        a, b = rng.randrange(10_000), rng.randrange(10_000)
        if a != b:
            pairs.add((max(a, b), min(a, b)))
    g = DependencyGraph(Edge(names[a], names[b]) for a, b in pairs)
    start = time.perf_counter()
    waves = g.waves()
    assert time.perf_counter() - start < 1.0
    assert sum(map(len, waves)) == 10_000
