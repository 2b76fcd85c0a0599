"""The verifier an audit bundle carries: the package gooseterm.ledger.verifier joined into one file.

The package keeps one concept per module; an auditor gets the same code as one `verifier.py`,
read top to bottom and run as `python verifier.py BUNDLE`. One file rather than the folder because
a script is always run from its source: a folder run with `python -m` would load any bytecode
cached beside it (which a bundle could carry, differing from the source the auditor read) and would
write a `__pycache__` into the bundle under inspection.

The join is mechanical and checked: modules come in the order their relative imports need, each
under a header naming it; relative imports are dropped (the names they bring are then defined
above), the standard library and PyNaCl imports are gathered at the top, and a top-level name bound
differently in two modules is refused rather than shadowed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from gooseterm.ledger import verifier

PACKAGE = Path(verifier.__file__).parent
MAIN = "__main__"  # its `if __name__ == "__main__"` runs the command line, so it comes last


class JoinError(Exception):
    """The verifier package cannot be joined into one file without changing what a name means."""


def _relative_imports(tree: ast.Module, name: str) -> list[ast.ImportFrom]:
    """The module's `from .x import a, b` statements; any other relative form is refused."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level != 1 or not node.module or any(a.asname for a in node.names):
                raise JoinError(f"{name}.py: only `from .module import name` joins into one file")
            found.append(node)
    return found


def _bindings(tree: ast.Module, name: str) -> dict[str, tuple[str, ...]]:
    """What each top-level name of a module is bound to: an absolute import, or a definition here."""
    bound: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            bound.update({a.asname or a.name.split(".")[0]: ("import", a.name) for a in node.names})
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module != "__future__":
            bound.update({a.asname or a.name: ("from", node.module, a.name) for a in node.names})
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound[node.name] = ("defined in", name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        bound[n.id] = ("defined in", name)
    return bound


def _order(deps: dict[str, set[str]], reading: list[str]) -> list[str]:
    """Modules after everything they import, otherwise in the package's reading order (its
    `__init__` imports them leaves first); the command line's entry point last."""
    unlisted = set(deps) - set(reading) - {MAIN}
    if unlisted:
        raise JoinError(f"the package's __init__ does not import {', '.join(sorted(unlisted))}")
    order: list[str] = []
    pending = {m: set(deps[m]) for m in reading}
    while pending:
        ready = [m for m, d in pending.items() if d <= set(order)]
        if not ready:
            raise JoinError(f"the verifier's modules import each other in a cycle: {', '.join(sorted(pending))}")
        order.append(ready[0])
        del pending[ready[0]]
    return order + [MAIN]


def _imports(trees: dict[str, ast.Module]) -> str:
    """Every module's absolute imports, once each, for the top of the file."""
    plain: set[str] = set()
    named: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Import):
                plain.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module != "__future__":
                named.setdefault(node.module, set()).update(a.name for a in node.names)
    lines = [f"import {m}" for m in sorted(plain)] + [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(named.items())]
    return "\n".join(lines) + "\n"


def _section(name: str, source: str, tree: ast.Module) -> str:
    """One module's code under a header: its docstring as comments, without its imports (they are at the top)."""
    drop: set[int] = set()
    doc = ast.get_docstring(tree, clean=True) or ""
    for node in tree.body:
        if (node is tree.body[0] and doc) or isinstance(node, (ast.Import, ast.ImportFrom)):
            drop.update(range(node.lineno, node.end_lineno + 1))
    lines = [line for n, line in enumerate(source.split("\n"), 1) if n not in drop]
    header = [f"# {'=' * 98}", f"# {name}.py", *(f"# {line}".rstrip() for line in doc.split("\n"))]
    return "\n".join(header) + "\n\n" + "\n".join(lines).strip("\n") + "\n"


@functools.cache
def standalone_verifier() -> bytes:
    """The verifier package as one Python file, the same bytes for the same sources."""
    return join_package(PACKAGE)


def join_package(folder: Path) -> bytes:
    """A flat package (modules importing each other as `from .module import name`) as one file."""
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py")) if p.stem != "__init__"}
    if MAIN not in sources:
        raise JoinError(f"{folder} has no {MAIN}.py: the joined file would not run")
    trees = {name: ast.parse(text) for name, text in sources.items()}
    deps = {name: {node.module for node in _relative_imports(tree, name)} for name, tree in trees.items()}
    meaning: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, tree in trees.items():
        for symbol, bound in _bindings(tree, name).items():
            first = meaning.setdefault(symbol, (name, bound))
            if first[1] != bound:
                raise JoinError(f"{symbol} means one thing in {first[0]}.py and another in {name}.py")
    package = ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))
    reading = [node.module for node in _relative_imports(package, "__init__")]
    head = (f'"""{ast.get_docstring(package, clean=True)}\n\nThis file is that package joined into one by '
            'gooseterm.exports.standalone: one section\nper module, each after the modules it uses. '
            'Run it as `python verifier.py BUNDLE`.\n"""\n\n'
            "from __future__ import annotations\n\n" + _imports(trees))
    return (head + "".join("\n\n" + _section(name, sources[name], trees[name]) for name in _order(deps, reading))).encode()
