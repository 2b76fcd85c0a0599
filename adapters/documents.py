"""Untrusted evidence bytes into XML, JSON, YAML or text documents, safely and with honest errors."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import yaml
from defusedxml import DefusedXmlException

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.numbers import MAX_DIGITS, NumberError, finite

MAX_EVIDENCE_BYTES = 64 * 1024 * 1024
"""Largest evidence file accepted (64 MiB); bigger input is refused before any parsing."""

# A YAML alias can point at a big subtree many times over, so a small file can stand for a huge
# tree (the YAML form of "billion laughs"). The composed node graph is measured before anything is
# built from it: its size once every alias is expanded, and its depth.
MAX_YAML_NODES = 1_000_000
MAX_YAML_DEPTH = 100
"""Deepest nesting of mappings and lists accepted; no report or config nests anywhere near it."""


class YamlTooLarge(Exception):
    """A YAML document refused before it is built: too many nodes once its aliases are expanded, an
    alias inside itself, or nesting deeper than MAX_YAML_DEPTH. The message says which, in one line."""


def check_yaml_node(root: yaml.Node) -> None:
    """Raise YamlTooLarge unless the composed document stays within MAX_YAML_NODES and MAX_YAML_DEPTH.

    Each node is measured once (an alias shares its anchor's node), so this takes time linear in
    the text, however many times an alias repeats a subtree.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node): (nodes once expanded, height)
    open_nodes: set[int] = set()  # the nodes on the path being walked: a child among them is a cycle
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        children = _yaml_children(node)
        if children_done:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(c)][0] for c in children)
            height = 1 + max((sizes[id(c)][1] for c in children), default=0)
            sizes[key] = (size, height)
            if size > MAX_YAML_NODES:
                raise YamlTooLarge(f"YAML expands to more than {MAX_YAML_NODES} nodes (aliases repeat a subtree); "
                                   "write the data out plainly, without anchors and aliases (&name / *name)")
            continue
        if key in open_nodes:
            raise YamlTooLarge("a YAML alias refers to a node that contains it (a recursive document); "
                               "write the data out plainly, without anchors and aliases (&name / *name)")
        if key in sizes:
            depth += sizes[key][1] - 1
        if depth > MAX_YAML_DEPTH:
            raise YamlTooLarge(f"YAML nests deeper than {MAX_YAML_DEPTH} levels; check what produced the file")
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def _yaml_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def safe_load_bounded(text: str | bytes, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """yaml.safe_load, refusing (YamlTooLarge) a document that check_yaml_node refuses before it is built."""
    parser = loader(text)
    try:
        node = parser.get_single_node()
        if node is None:
            return None
        check_yaml_node(node)
        return parser.construct_document(node)
    finally:
        parser.dispose()


def check_size(data: bytes, source: str | None) -> None:
    """Refuse evidence larger than MAX_EVIDENCE_BYTES."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceError(
            f"evidence is {len(data)} bytes, over the limit of {MAX_EVIDENCE_BYTES} bytes (64 MiB)",
            path=source,
            hint="Record a smaller report, e.g. without captured stdout/stderr, or split it",
        )


def load_xml(data: bytes, source: str | None) -> Element:
    """Parse XML with DTDs (and so entity declarations and external entities) refused."""
    check_size(data, source)
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        doctype_at = data.find(b"<!DOCTYPE")
        raise EvidenceError(
            "the XML has a document type declaration (<!DOCTYPE ...>), which is refused",
            path=source,
            line=data.count(b"\n", 0, doctype_at) + 1 if doctype_at >= 0 else None,
            field="<!DOCTYPE>",
            hint="A DTD can declare entities that expand without bound or read local files; "
            "test and coverage tools never need one, so remove it (the predefined entities "
            "&amp; &lt; &gt; &quot; &apos; and character references still work)",
        ) from None
    except ParseError as exc:
        raise EvidenceError(
            f"not well-formed XML: {exc}",
            path=source,
            line=exc.position[0],
            hint="The file is probably truncated or was not written by the tool; re-run the tool",
        ) from None
    except (LookupError, ValueError) as exc:
        # The XML declaration names an encoding Python lacks, or one expat cannot stream.
        raise EvidenceError(
            f"the XML declares an encoding that cannot be read ({exc})",
            path=source,
            line=1,
            hint="Write the report as UTF-8",
        ) from None


def load_json(data: bytes, source: str | None) -> Any:
    """Parse strict JSON (strict_loads): RFC 8259 without NaN or Infinity, with bounded numbers."""
    check_size(data, source)
    try:
        return strict_loads(data)
    except JsonNumberError as exc:
        raise _bad_number(data, exc, source) from None
    except json.JSONDecodeError as exc:
        raise EvidenceError(
            f"not valid JSON: {exc.msg} at column {exc.colno}",
            path=source,
            line=exc.lineno,
            hint="The file is probably truncated or was not written by the tool; re-run the tool",
        ) from None
    except UnicodeDecodeError as exc:
        raise _undecodable(data, exc, source) from None
    except RecursionError:
        raise _too_deep(source) from None


class JsonNumberError(NumberError):
    """A number strict JSON refuses; `text` is how the document wrote it."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        super().__init__(problem)


def strict_loads(data: bytes | str) -> Any:
    """json.loads, raising JsonNumberError for what it would read wrongly or not at all: the bare
    literals NaN and Infinity (not JSON), integers longer than MAX_DIGITS digits (Python refuses
    4301 with a bare ValueError) and numbers beyond a 64-bit float (1e400 would read as Inf)."""
    return json.loads(data, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)


def load_yaml(data: bytes, source: str | None) -> Any:
    """Parse YAML with the safe loader (no Python tags), refusing alias bombs."""
    check_size(data, source)
    try:
        return safe_load_bounded(data)
    except YamlTooLarge as exc:
        raise EvidenceError(str(exc), path=source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise EvidenceError(
            f"not valid YAML: {exc.problem or exc.context}",
            path=source,
            line=mark.line + 1 if mark else None,
            hint="Check the indentation and quoting around that line",
        ) from None
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a scalar that looks like a timestamp but is no date (2024-13-45).
        raise EvidenceError(f"not valid YAML: {exc}", path=source) from None
    except RecursionError:
        raise _too_deep(source) from None


def load_text(data: bytes, source: str | None) -> str:
    """Decode UTF-8 text (a leading byte-order mark is dropped)."""
    check_size(data, source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _undecodable(data, exc, source) from None


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise JsonNumberError(text, f"an integer of {digits} digits is longer than the {MAX_DIGITS} allowed")
    return int(text)


def _finite_float(text: str) -> float:
    try:
        return finite(float(text))
    except NumberError:
        raise JsonNumberError(text, f"{text[:40]} is too large for a 64-bit float") from None


def _bad_number(data: bytes, exc: JsonNumberError, source: str | None) -> EvidenceError:
    # json's hooks see a number's text but not where it is: its first occurrence gives the line.
    at = data.find(exc.text.encode())
    return EvidenceError(
        str(exc),
        path=source,
        line=data.count(b"\n", 0, at) + 1 if at >= 0 else None,
        hint=f'Write it as a string ("{exc.text[:20]}") if the value really is not a number',
    )


def _refuse_constant(name: str) -> None:
    raise JsonNumberError(name, f"JSON does not allow the bare literal {name}")


def _undecodable(data: bytes, exc: UnicodeDecodeError, source: str | None) -> EvidenceError:
    return EvidenceError(
        f"bytes at offset {exc.start} are not valid {exc.encoding}",
        path=source,
        line=data.count(b"\n", 0, exc.start) + 1,
        hint="Write the report as UTF-8",
    )


def _too_deep(source: str | None) -> EvidenceError:
    return EvidenceError(
        "document is nested too deeply to read",
        path=source,
        hint="No real report nests this deep; check what produced the file",
    )

