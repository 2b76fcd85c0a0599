"""Fuzz the org config loader on generated folders: the example org with one scalar replaced by
number-shaped or arbitrary text, or one file replaced by generated YAML. Only ConfigError, whose
every issue is one line; bounded time and memory; YAML 1.1 number forms never become numbers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gooseterm.orgconfig import bundled_config_dir, load_org
from gooseterm.orgconfig.issues import ConfigError

from .fuzzing import FUZZ, JSON_VALUES, NUMBER_TEXT, bounded

CONFIG = bundled_config_dir()
FILES = sorted(str(p.relative_to(CONFIG)) for p in CONFIG.rglob("*.yaml") if "ci" not in p.parts and "templates" not in p.parts)
_SCALAR = re.compile(r"(?m)(?<=: )[^\n#{}\[\]]+?(?=\s*(?:#.*)?$)")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("org")


def _load(root: Path) -> object:
    outcome = bounded(load_org, root, allowed=(ConfigError,), one_line=False)
    if isinstance(outcome, ConfigError):
        assert outcome.issues and all("\n" not in str(issue) for issue in outcome.issues), str(outcome)
    return outcome


def _fresh(folder: Path) -> Path:
    root = folder / "config"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(CONFIG, root)
    return root


CONFIG_FUZZ = settings(FUZZ, max_examples=40)
"""Fewer: each example copies and loads a whole config folder."""


@CONFIG_FUZZ
@given(st.sampled_from(FILES), st.integers(min_value=0, max_value=10_000), st.one_of(NUMBER_TEXT, st.text(max_size=20)))
@example("approvals.yaml", 0, "1_0")  # YAML 1.1 read required: 1_0 as 10
@example("approvals.yaml", 0, "02")  # and 02 as octal
@example("approvals.yaml", 0, "9" * 4301)  # PyYAML's int() raised a bare ValueError
@example("approvals.yaml", 2, "٣h")  # \d took other scripts' digits in a duration
@example("approvals.yaml", 2, "99999999999w")  # timedelta overflowed: OverflowError
@example("rules.yaml", 0, "1e400%")
@example("approvals.yaml", 0, "\x1f")  # PyYAML's reader error was three lines with no line number
def test_one_scalar_replaced(folder: Path, name: str, which: int, text: str) -> None:
    root = _fresh(folder)
    path = root / name
    source = path.read_text()
    spots = list(_SCALAR.finditer(source))
    spot = spots[which % len(spots)]
    path.write_text(source[:spot.start()] + text + source[spot.end():])
    _load(root)


@pytest.mark.parametrize("text", ["1_0", "02", "0x2", "1:30", "9" * 4301, "٣", "2.0"])
def test_a_yaml_1_1_or_non_ascii_number_is_refused_with_its_line(folder: Path, text: str) -> None:
    root = _fresh(folder)
    path = root / "approvals.yaml"
    source = path.read_text()
    assert "    required: 2\n" in source
    path.write_text(source.replace("    required: 2\n", f"    required: {text}\n", 1))
    refused = _load(root)
    assert isinstance(refused, ConfigError), f"required: {text[:20]} was read"
    line = source[:source.index("    required: 2")].count("\n") + 1
    assert any(i.line == line and i.field.endswith("required") for i in refused.issues), str(refused)


def test_a_plain_decimal_is_still_read(folder: Path) -> None:
    root = _fresh(folder)
    path = root / "approvals.yaml"
    path.write_text(path.read_text().replace("    required: 2\n", "    required: 1\n", 1))
    org = _load(root)
    assert not isinstance(org, ConfigError) and 1 in [p.required for p in org.approvals.policies]


@CONFIG_FUZZ
@given(st.sampled_from(FILES), JSON_VALUES)
def test_one_file_replaced(folder: Path, name: str, document: object) -> None:
    root = _fresh(folder)
    (root / name).write_text(yaml.safe_dump(document))
    _load(root)
