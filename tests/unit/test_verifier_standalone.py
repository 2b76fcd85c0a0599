"""The verifier stays standalone: each of its modules, the package folder copied anywhere, and the
one-file verifier.py a bundle carries load nothing but the standard library and PyNaCl; the join
into one file loses no name and refuses a package it cannot join faithfully."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gooseterm.exports.standalone import JoinError, join_package, standalone_verifier
from gooseterm.ledger import verifier

PACKAGE = Path(verifier.__file__).parent
MODULES = sorted(f"gooseterm.ledger.verifier.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")
# What a module of the verifier may load beyond the standard library: PyNaCl and its compiled parts,
# multiprocessing's alias of the main module, and, inside gooseterm, only the packages that hold the
# verifier. What the interpreter loaded before (site's path hooks) is not counted.
ALLOWED_TOP = {"nacl", "_sodium", "_cffi_backend", "__mp_main__"}
PARENTS = {"gooseterm", "gooseterm.ledger"}
PROBE = """
import importlib, sys
before = set(sys.modules)
{load}
foreign = sorted(
    m for m in set(sys.modules) - before
    if (top := m.split(".")[0]) not in sys.stdlib_module_names and top not in {allowed_top!r}
    and m not in {parents!r} and m != {own!r} and not m.startswith({own!r} + ".")
)
print(",".join(foreign))
"""


def foreign_modules(load: str, own: str = "gooseterm.ledger.verifier") -> str:
    """Run `load` in a fresh isolated interpreter: the modules it loaded outside the standard library,
    PyNaCl and `own` (the verifier under test, under the name it was loaded as), comma-separated."""
    probe = PROBE.format(load=load, allowed_top=ALLOWED_TOP, parents=PARENTS, own=own)
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("module", ["gooseterm.ledger.verifier", *MODULES])
def test_each_verifier_module_loads_only_the_standard_library_and_pynacl(module: str) -> None:
    assert foreign_modules(f"importlib.import_module({module!r})") == ""


def test_the_probe_notices_a_module_from_outside() -> None:
    assert foreign_modules("importlib.import_module('gooseterm.ledger.store')") != ""
    assert "yaml" in foreign_modules("import yaml").split(",")


def test_the_package_folder_runs_wherever_it_is_copied(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "verifier", ignore=shutil.ignore_patterns("__pycache__"))
    load = f"sys.path.insert(0, {str(tmp_path)!r}); import verifier"
    assert foreign_modules(load, own="verifier") == ""
    run = subprocess.run([sys.executable, "-m", "verifier", str(tmp_path / "nothing-here")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stderr) == (2, f"verifier: no such file or folder: {tmp_path / 'nothing-here'}\n")


def test_the_bundled_file_loads_only_the_standard_library_and_pynacl(tmp_path: Path) -> None:
    script = tmp_path / "verifier.py"
    script.write_bytes(standalone_verifier())
    load = (f"import importlib.util\nspec = importlib.util.spec_from_file_location('bundled', {str(script)!r})\n"
            "sys.modules['bundled'] = module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)")
    assert foreign_modules(load, own="bundled") == ""


def test_the_bundled_file_defines_every_public_name_of_the_package(tmp_path: Path) -> None:
    script = tmp_path / "verifier.py"
    script.write_bytes(standalone_verifier())
    spec = importlib.util.spec_from_file_location("bundled_verifier", script)
    bundled = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bundled  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(bundled)
    finally:
        del sys.modules[spec.name]
    assert [name for name in verifier.__all__ if not hasattr(bundled, name)] == []
    assert bundled.FAULT_CLASSES == verifier.FAULT_CLASSES


def test_the_bundled_file_is_the_same_bytes_every_time() -> None:
    assert join_package(PACKAGE) == join_package(PACKAGE) == standalone_verifier()


def toy_package(folder: Path, **modules: str) -> Path:
    """A package of `modules` (name -> source) whose __init__ imports them in the given order."""
    folder.mkdir()
    modules.setdefault("__main__", "from .a import f\n\nif __name__ == '__main__':\n    f()\n")
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    (folder / "__init__.py").write_text('"""A toy."""\n' + "".join(f"from .{m} import *\n" for m in modules if m != "__main__"))
    return folder


def test_a_toy_package_joins_into_a_file_that_runs(tmp_path: Path) -> None:
    toy = toy_package(tmp_path / "toy", b="import json\n\n\ndef g():\n    return json.dumps(1)\n",
                      a="import json\n\nfrom .b import g\n\n\ndef f():\n    print(g(), json.dumps(2))\n")
    (tmp_path / "toy.py").write_bytes(join_package(toy))
    run = subprocess.run([sys.executable, "-I", str(tmp_path / "toy.py")], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, "1 2\n"), run.stderr
    assert (tmp_path / "toy.py").read_text().count("import json") == 1


@pytest.mark.parametrize(("modules", "error"), [
    ({"a": "def f():\n    pass\n", "b": "def f():\n    pass\n"}, "f means one thing in a.py and another in b.py"),
    ({"a": "from json import loads as f\n", "b": "from .a import f\nf = 1\n"}, "f means one thing"),
    ({"a": "from .b import g\n\n\ndef f():\n    pass\n", "b": "from .a import f\n\n\ndef g():\n    pass\n"}, "in a cycle"),
    ({"a": "from . import b\n\n\ndef f():\n    pass\n", "b": "x = 1\n"}, "only `from .module import name`"),
    ({"a": "from .b import x as y\n\n\ndef f():\n    pass\n", "b": "x = 1\n"}, "only `from .module import name`"),
])
def test_a_package_that_would_change_meaning_when_joined_is_refused(tmp_path: Path, modules: dict, error: str) -> None:
    with pytest.raises(JoinError, match=error):
        join_package(toy_package(tmp_path / "toy", **modules))


def test_a_package_without_an_entry_point_is_refused(tmp_path: Path) -> None:
    toy = toy_package(tmp_path / "toy", a="def f():\n    pass\n")
    (toy / "__main__.py").unlink()
    with pytest.raises(JoinError, match="no __main__.py"):
        join_package(toy)
