"""Graph: the layered overview, the tree in both directions, cycles named rather than hidden,
and the focused service's edges highlighted."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import SIZE, Demo, settle, text_of
from helpers.orgs import build_org, service_yaml, write_config
from textual.widgets import Tree

pytestmark = pytest.mark.anyio


def labels(nodes) -> list[str]:
    return [str(n.label) for n in nodes]


async def test_layers_tree_and_the_focused_services_edges(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        layers = text_of(app.screen.query_one("#graph-layers"))
        assert "1  ● service-c\n2  ◐ service-b\n3  ○ service-a" in layers
        edges = text_of(app.screen.query_one("#graph-edges"))
        assert "depends on       service-b (runtime), service-c (data, optional)" in edges
        tree = app.screen.query_one(Tree)
        await pilot.press("enter")
        await pilot.pause()
        assert labels(tree.root.children[0].children) == ["◐ service-b  runtime", "● service-c  data, optional"]
        await pilot.press("j")
        assert app.screen.focus_service == "service-b"
        edges = text_of(app.screen.query_one("#graph-edges"))
        assert "depends on       service-c (security)" in edges and "depended on by   service-a (runtime)" in edges


async def test_r_turns_the_tree_into_depended_on_by(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "r")
        await settle(pilot)
        tree = app.screen.query_one(Tree)
        assert tree.border_title == "depended on by"
        await pilot.press("G", "e")
        await pilot.pause()
        service_c = tree.root.children[-1]
        assert labels(service_c.children) == ["○ service-a  data, optional", "◐ service-b  security"]
        assert labels(service_c.children[1].children) == ["○ service-a  runtime"]


async def test_cycles_are_named_with_the_fewest_cuts_and_marked_in_the_tree(isolated_home: Path, app_for, tmp_path: Path) -> None:
    config = write_config(tmp_path / "org", {
        "api": service_yaml("api", depends_on=["db"]),
        "db": service_yaml("db", depends_on=["api"]),
        "web": service_yaml("web", depends_on=["api"]),
    })
    build_org(isolated_home, config).close()
    app = app_for(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        layers = app.screen.query_one("#graph-layers")
        assert layers.border_title.startswith("Cycles")
        text = text_of(layers)
        assert "api → db → api" in text and "fewest dependencies to cut:" in text
        await pilot.press("e")
        await pilot.pause()
        api = app.screen.query_one(Tree).root.children[0]
        assert labels(api.children) == ["○ db  runtime"]
        assert labels(api.children[0].children) == ["○ api  runtime  (cycle)"]


async def test_the_filter_narrows_the_tree(demo: Demo, app_for) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", *"-b")
        await pilot.pause()
        assert labels(app.screen.query_one(Tree).root.children) == ["◐ service-b"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen.query_one(Tree).root.children) == 3
