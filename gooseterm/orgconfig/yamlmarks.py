"""YAML that remembers where each value came from, so a problem can name its file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gooseterm.adapters.documents import YamlTooLarge, check_yaml_node
from gooseterm.adapters.numbers import MAX_DIGITS
from gooseterm.orgconfig.issues import ConfigError, ConfigIssue, Loc, format_field

# libyaml parses about ten times faster; its nodes carry the same marks.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader reading numbers as YAML 1.2 does, in plain decimal only.

    YAML 1.1 (PyYAML's default) reads 1_000 as 1000, 017 as octal 15, 0x1F as 31 and 1:30 as 90,
    and a 5000-digit scalar raises a bare ValueError. Here those stay strings, so a field wanting
    a number names them; a whole number has at most MAX_DIGITS digits and no leading zero.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT_TAG, re.compile(rf"^[-+]?(?:0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


@dataclass
class YamlDocument:
    """A parsed YAML file with the 1-based (line, column) of every mapping key and list item."""

    file: Path
    data: Any
    marks: dict[Loc, tuple[int, int]]
    duplicate_keys: list[ConfigIssue] = field(default_factory=list)

    def locate(self, loc: Loc) -> tuple[int, int]:
        """Position of the deepest node along `loc`.

        Parts of `loc` that name no node are skipped: a missing field points at the mapping that
        lacks it, and validator-inserted parts of a pydantic `loc` are ignored.
        """
        found: Loc = ()
        for part in loc:
            if found + (part,) in self.marks:
                found = found + (part,)
        return self.marks[found]

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        """An issue at the node `loc` names."""
        line, column = self.locate(loc)
        return ConfigIssue(self.file, line, column, format_field(loc), message)


def parse_yaml(text: str, file: Path) -> YamlDocument:
    """Parse one YAML document, recording marks; a syntax error raises ConfigError with its line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        marks: dict[Loc, tuple[int, int]] = {(): (1, 1)}
        duplicates: list[ConfigIssue] = []
        if node is not None:
            check_yaml_node(node)
            # Walk before constructing: construction flattens `<<` merges into the node, which
            # would make an overridden merged key look like a duplicate.
            _walk(node, (), marks, duplicates, file, set())
        data = loader.construct_document(node) if node is not None else None
    except YamlTooLarge as exc:
        raise ConfigError([ConfigIssue(file, None, None, "", str(exc))]) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_issue(file, exc)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. a control character
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError([ConfigIssue(file, line, column, "", f"invalid YAML: {exc.reason} (character {exc.character!r})")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, None, None, "", f"invalid YAML: {' '.join(str(exc).split())}")]) from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, marks, duplicates)


def _walk(
    node: yaml.Node,
    path: Loc,
    marks: dict[Loc, tuple[int, int]],
    duplicates: list[ConfigIssue],
    file: Path,
    stack: set[int],
) -> None:
    if id(node) in stack:  # a recursive alias: its marks are already recorded once
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = key_node.value
            here = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in first_seen:
                duplicates.append(
                    ConfigIssue(
                        file, *here, format_field(path + (key,)),
                        f"duplicate key '{key}' (first at line {first_seen[key]}); "
                        "YAML would silently keep only the last one",
                    )
                )
            first_seen.setdefault(key, here[0])
            # The last occurrence is the one the data holds, so its marks win.
            marks[path + (key,)] = here
            _walk(value_node, path + (key,), marks, duplicates, file, stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks[path + (index,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, path + (index,), marks, duplicates, file, stack)
    stack.discard(id(node))


def _syntax_issue(file: Path, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        context_line = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{context_line})"
    if mark is None:
        return ConfigIssue(file, None, None, "", message)
    return ConfigIssue(file, mark.line + 1, mark.column + 1, "", message)
