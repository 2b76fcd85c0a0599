"""The dependency graph for people (`gooseterm graph`): layers, trees, DOT and JSON; cycles shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.orgs import service_yaml, write_config

from gooseterm import graphview
from gooseterm.cli import main
from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.resolver import DependencyGraph, Edge, UnknownServiceError


@pytest.fixture
def example() -> DependencyGraph:
    return DependencyGraph.from_services(load_org(bundled_config_dir()).services.values())


def cyclic() -> DependencyGraph:
    """a -> b -> a, with c depending on a and d on nothing."""
    return DependencyGraph([Edge("a", "b"), Edge("b", "a", "data"), Edge("c", "a", "security", False)], ["d"])


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_example_layers_put_dependencies_first(example: DependencyGraph) -> None:
    v = graphview.view(example)
    assert v.layers == [["service-c"], ["service-b"], ["service-a"]]
    assert v.cycles == []


def test_text_shows_layers_then_a_tree_per_service(example: DependencyGraph) -> None:
    assert graphview.to_text(graphview.view(example)).splitlines() == [
        "3 services, 3 dependencies",
        "layers (dependencies first; each depends only on layers above it):",
        "  1  service-c",
        "  2  service-b",
        "  3  service-a",
        "",
        "service-a depends on",
        "├── service-b  runtime",
        "│   └── service-c  security",
        "└── service-c  data, optional",
        "",
        "service-b depends on",
        "└── service-c  security",
        "",
        "service-c depends on nothing",
    ]


def test_reverse_tree_shows_who_depends_on_a_service(example: DependencyGraph) -> None:
    v = graphview.view(example, "service-c", reverse=True)
    assert v.services == ["service-a", "service-b", "service-c"]
    assert graphview.tree(v, "service-c") == [
        "service-c is depended on by",
        "├── service-a  data, optional",
        "└── service-b  security",
        "    └── service-a  runtime",
    ]
    assert graphview.tree(v, "service-a") == ["service-a is depended on by nothing"]


def test_focus_keeps_the_service_and_what_it_depends_on(example: DependencyGraph) -> None:
    v = graphview.view(example, "service-b")
    assert v.services == ["service-b", "service-c"]
    assert [(e.dependent, e.dependency) for e in v.edges] == [("service-b", "service-c")]
    assert v.layers == [["service-c"], ["service-b"]]
    text = graphview.to_text(v)
    assert "service-a" not in text and text.endswith("service-b depends on\n└── service-c  security")


def test_unknown_focus_is_refused(example: DependencyGraph) -> None:
    with pytest.raises(UnknownServiceError, match="service-x"):
        graphview.view(example, "service-x")


def test_json_has_services_edges_layers_and_cycles(example: DependencyGraph) -> None:
    data = graphview.to_json(graphview.view(example))
    assert data["services"] == ["service-a", "service-b", "service-c"]
    assert data["edges"] == [
        {"dependent": "service-a", "dependency": "service-b", "kind": "runtime", "required": True},
        {"dependent": "service-a", "dependency": "service-c", "kind": "data", "required": False},
        {"dependent": "service-b", "dependency": "service-c", "kind": "security", "required": True},
    ]
    assert data["layers"] == [["service-c"], ["service-b"], ["service-a"]]
    assert data["cycles"] == [] and data["cuts"] == []


def test_dot_labels_kinds_and_dashes_optional_edges(example: DependencyGraph) -> None:
    dot = graphview.to_dot(graphview.view(example))
    assert dot.startswith("digraph dependencies {") and dot.endswith("}")
    assert '  "service-a" -> "service-b" [label="runtime"];' in dot
    assert '  "service-a" -> "service-c" [label="data", style=dashed];' in dot
    assert "color=red" not in dot
    reverse = graphview.to_dot(graphview.view(example, reverse=True))
    assert '  "service-c" -> "service-b" [label="security"];' in reverse


def test_a_cycle_is_listed_instead_of_layers() -> None:
    v = graphview.view(cyclic())
    assert v.layers == [] and v.cycles == [("a", "b")]
    text = graphview.to_text(v)
    assert "layers" not in text
    assert "dependency cycles (1); there is no promotion order:\n  a -> b -> a" in text
    assert "cutting 1 dependency breaks them all" in text
    data = graphview.to_json(v)
    assert data["cycles"] == [["a", "b"]] and data["layers"] == []
    assert data["cuts_exact"] is True and len(data["cuts"]) == 1


def test_cyclic_trees_stop_where_the_path_returns() -> None:
    v = graphview.view(cyclic())
    assert graphview.tree(v, "c") == [
        "c depends on",
        "└── a  security, optional",
        "    └── b  runtime",
        "        └── a  data  (cycle)",
    ]


def test_dot_colours_the_edges_of_a_cycle() -> None:
    dot = graphview.to_dot(graphview.view(cyclic()))
    assert '"a" -> "b" [label="runtime", color=red];' in dot
    assert '"b" -> "a" [label="data", color=red];' in dot
    assert '"c" -> "a" [label="security", style=dashed];' in dot
    assert '  "d";' in dot


def test_a_shared_dependency_is_expanded_once_per_tree() -> None:
    diamond = DependencyGraph([Edge("top", "left"), Edge("top", "right"), Edge("left", "base"), Edge("right", "base"), Edge("base", "root")])
    assert graphview.tree(graphview.view(diamond), "top") == [
        "top depends on",
        "├── left  runtime",
        "│   └── base  runtime",
        "│       └── root  runtime",
        "└── right  runtime",
        "    └── base  runtime  (see above)",
    ]


def test_a_long_chain_needs_no_recursion() -> None:
    n = sys.getrecursionlimit() + 100
    chain = DependencyGraph([Edge(f"s{i}", f"s{i + 1}") for i in range(n)])
    lines = graphview.tree(graphview.view(chain, "s0"), "s0")
    assert len(lines) == n + 1 and lines[-1].endswith(f"└── s{n}  runtime")


def test_cli_graph_text_dot_and_json() -> None:
    text = run("graph")
    assert text.exit_code == 0 and "  1  service-c" in text.output
    dot = run("graph", "--dot")
    assert dot.exit_code == 0 and dot.output.startswith("digraph dependencies {")
    data = json.loads(run("graph", "--json", "--reverse", "service-b").output)
    assert data["services"] == ["service-a", "service-b"] and data["reverse"] is True and data["focus"] == "service-b"


def test_cli_graph_of_a_cyclic_config_shows_the_cycle(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cyclic", {
        "a": service_yaml("a", ["b"]), "b": service_yaml("b", ["c"]), "c": service_yaml("c", ["a"]), "d": service_yaml("d", ["a"]),
    })
    result = run("--config", str(root), "graph")
    assert result.exit_code == 0
    assert "  a -> b -> c -> a" in result.output
    assert "d depends on\n└── a  runtime\n    └── b  runtime\n        └── c  runtime\n            └── a  runtime  (cycle)" in result.output
    data = json.loads(run("--config", str(root), "graph", "--json").output)
    assert data["cycles"] == [["a", "b", "c"]] and data["layers"] == []


def test_cli_graph_of_an_unknown_service_exits_2() -> None:
    result = run("graph", "service-x")
    assert result.exit_code == 2
    assert "unknown service 'service-x'" in result.stderr


def test_headless_modules_import_neither_textual_nor_rich() -> None:
    code = (
        "import sys, gooseterm.graphview, gooseterm.metrics, gooseterm.configcheck, gooseterm.onboarding, "
        "gooseterm.cli.config_cmds; print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
