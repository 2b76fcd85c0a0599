"""2 Graph: the dependency graph as promotion layers (or its cycles, named, when it has any) and
an expandable tree that reads "depends on" or, with `r`, "depended on by"; the service under
the cursor is highlighted in the layers together with its edges."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

from ...graphview import edge_label
from ...resolver import Edge
from ..actions import bindings
from ..widgets.lists import FilterBar, NavTree, matches
from ..widgets.look import colour, muted, state_glyph
from ..widgets.panels import Panel
from .base import DashboardScreen

LAYERS_DELAY = 0.12
"""Seconds the cursor rests before the layers redraw its highlight (keeps key repeat smooth)."""


class GraphScreen(DashboardScreen):
    """Layers, cycles and a tree of dependencies."""

    MODE = "graph"
    AUTO_FOCUS = "#graph-tree"
    BINDINGS = bindings("graph")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reverse = False
        """The tree reads "depended on by" instead of "depends on"."""
        self._children: dict[str, list[tuple[str, Edge]]] = {}
        self._parents: dict[str, list[tuple[str, Edge]]] = {}
        self._states: dict[str, str] = {}
        self._shown: tuple | None = None
        self._layers_timer = None
        self.focus_service: str | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="graph-body"):
            with Vertical(id="graph-left"):
                yield FilterBar(id="graph-filter")
                tree: NavTree = NavTree("services", id="graph-tree")
                tree.show_root = False
                tree.border_title = "depends on"
                yield tree
            with VerticalScroll(id="graph-right"):
                yield Panel("Edges", id="graph-edges")
                yield Panel("Layers", id="graph-layers")

    # -- data ----------------------------------------------------------------------------------

    def show_snapshot(self, snapshot) -> None:
        states = {s.service: s.state for s in snapshot.services}
        key = (tuple(snapshot.graph.edges()), tuple(sorted(states.items())))
        if key == self._shown:  # same graph and states: keep the tree as the person left it
            return
        self._shown = key
        self._states = states
        children: dict[str, list[tuple[str, Edge]]] = {}
        parents: dict[str, list[tuple[str, Edge]]] = {}
        for e in snapshot.graph.edges():
            children.setdefault(e.dependent, []).append((e.dependency, e))
            parents.setdefault(e.dependency, []).append((e.dependent, e))
        self._children = {k: sorted(v, key=lambda i: i[0]) for k, v in children.items()}
        self._parents = {k: sorted(v, key=lambda i: i[0]) for k, v in parents.items()}
        self._build_tree(self.focus_service)
        self._render_focus(now=True)

    def _links(self, service: str) -> list[tuple[str, Edge]]:
        return (self._parents if self.reverse else self._children).get(service, [])

    def _label(self, service: str, edge: Edge | None = None, note: str = "") -> Text:
        snap = self.app.snapshot
        state = self._states.get(service, snap.initial if snap else "")
        glyph, tone = state_glyph(state, snap.initial, snap.compliant) if snap else ("·", "dim")
        label = Text.assemble((f"{glyph} ", colour(self.app, tone)), service)
        if edge is not None:
            label.append(f"  {edge_label(edge)}", style="dim")
        if note:
            label.append(f"  {note}", style=colour(self.app, "error") if note == "(cycle)" else "dim")
        return label

    def _build_tree(self, keep: str | None) -> None:
        tree = self.query_one(NavTree)
        tree.border_title = "depended on by" if self.reverse else "depends on"
        query = self.query_one("#graph-filter", FilterBar).value
        tree.clear()
        snap = self.app.snapshot
        services = snap.graph.services if snap else []
        select = None
        for service in services:
            if not matches(query, service):
                continue
            node = tree.root.add(self._label(service), data=(service, (service,)), allow_expand=bool(self._links(service)))
            if service == keep:
                select = node
        if select is not None:
            tree.move_cursor(select, animate=False)
        elif tree.root.children:
            tree.move_cursor(tree.root.children[0], animate=False)

    def _expand(self, node: TreeNode) -> None:
        service, path = node.data
        if node.children:
            return
        for child, edge in self._links(service):
            if child in path:
                node.add_leaf(self._label(child, edge, "(cycle)"), data=(child, (*path, child)))
            else:
                node.add(self._label(child, edge), data=(child, (*path, child)), allow_expand=bool(self._links(child)))

    # -- events ----------------------------------------------------------------------------------

    @on(Tree.NodeExpanded, "#graph-tree")
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        if event.node.data is not None:
            self._expand(event.node)

    @on(Tree.NodeHighlighted, "#graph-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.focus_service = event.node.data[0]
            self._render_focus()

    @on(Input.Changed, "#graph-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._build_tree(self.focus_service)

    @on(Input.Submitted, "#graph-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(NavTree).focus()

    def action_filter(self) -> None:
        """Filter the tree's services."""
        self.query_one("#graph-filter", FilterBar).open()

    def action_back(self) -> None:
        """Close the filter."""
        bar = self.query_one("#graph-filter", FilterBar)
        if bar.active:
            bar.close()
            self._build_tree(self.focus_service)
            self.query_one(NavTree).focus()

    def action_toggle_direction(self) -> None:
        """Toggle the tree between "depends on" and "depended on by"."""
        self.reverse = not self.reverse
        self._build_tree(self.focus_service)
        self.notify("tree: " + ("what depends on each service" if self.reverse else "what each service depends on"), timeout=2)

    def action_expand_all(self) -> None:
        """Expand the node under the cursor all the way (cycles stop themselves)."""
        tree = self.query_one(NavTree)
        node = tree.cursor_node
        if node is None or node.data is None:
            return
        stack = [node]
        while stack:
            n = stack.pop()
            if n.allow_expand:
                self._expand(n)
                n.expand()
                stack += list(n.children)

    # -- the right-hand side -----------------------------------------------------------------------

    def _render_focus(self, now: bool = False) -> None:
        """The edges panel now; the layers (hundreds of names on a big graph) once the cursor rests."""
        snap = self.app.snapshot
        if snap is None:
            return
        self._render_edges(self.focus_service, colour(self.app, "accent"), colour(self.app, "primary"))
        if self._layers_timer is not None:
            self._layers_timer.stop()
        if now:
            self._render_layers()
        else:
            self._layers_timer = self.set_timer(LAYERS_DELAY, self._render_layers)

    def _render_layers(self) -> None:
        self._layers_timer = None
        snap = self.app.snapshot
        focus = self.focus_service
        deps = {d for d, _ in self._children.get(focus, [])}
        dependents = {d for d, _ in self._parents.get(focus, [])}
        accent, warn, err = colour(self.app, "accent"), colour(self.app, "primary"), colour(self.app, "error")
        view = snap.graph_view
        layers = self.query_one("#graph-layers", Panel)
        text = Text()  # one Text, shown as one Content: far cheaper to lay out than a Group of lines
        if view.cycle_error is not None:
            layers.border_title = "Cycles: no promotion order until they are cut"
            for cycle in view.cycles:
                text.append("  ")
                for i, name in enumerate((*cycle, cycle[0])):
                    if i:
                        text.append(" → ", style=err)
                    text.append(name, style="bold reverse" if name == focus else "")
                text.append("\n")
            if view.cycle_error.more_cycles:
                text.append("  … more cycles\n", style="dim")
            text.append("fewest dependencies to cut: ", style="dim")
            text.append(", ".join(f"{a} → {b}" for a, b in view.cycle_error.cuts), style=err)
        else:
            layers.border_title = f"Layers: {len(view.services)} services, {len(view.edges)} dependencies (dependencies first)"
            width = len(str(len(view.layers)))
            tones = {}
            for n, layer in enumerate(view.layers, 1):
                text.append(f"{n:>{width}}  ", style="dim")
                for i, name in enumerate(layer):
                    if i:
                        text.append("  ")
                    glyph, tone = state_glyph(self._states.get(name, snap.initial), snap.initial, snap.compliant)
                    if tone not in tones:
                        tones[tone] = colour(self.app, tone)
                    text.append(f"{glyph} ", style=tones[tone])
                    style = ("bold reverse" if name == focus else f"bold {accent}" if name in deps
                             else f"bold {warn}" if name in dependents else "")
                    text.append(name, style=style)
                text.append("\n")
            text.append("highlighted: ", style="dim")
            text.append("the service", style="bold reverse")
            text.append("  ")
            text.append("what it depends on", style=f"bold {accent}")
            text.append("  ")
            text.append("what depends on it", style=f"bold {warn}")
        layers.update(Content.from_rich_text(text))

    def _render_edges(self, focus: str | None, accent: str, warn: str) -> None:
        panel = self.query_one("#graph-edges", Panel)
        if focus is None:
            panel.border_title = "Edges"
            panel.update(muted("move the cursor onto a service"))
            return
        panel.border_title = focus
        lines = [Text.assemble(muted("depends on       "), *_joined(self._children.get(focus, []), accent))]
        lines.append(Text.assemble(muted("depended on by   "), *_joined(self._parents.get(focus, []), warn)))
        panel.update(Group(*lines))


def _joined(items: list[tuple[str, Edge]], style: str) -> list:
    if not items:
        return [("nothing", "dim")]
    out: list = []
    for i, (name, edge) in enumerate(items):
        if i:
            out.append(", ")
        out += [(name, f"bold {style}"), (f" ({edge_label(edge)})", "dim")]
    return out
