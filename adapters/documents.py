"""Untrusted evidence bytes into XML, JSON, YAML or text documents, safely and with honest errors."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import yaml
from defusedxml import DefusedXmlException

from adapters.errors import EvidenceError
from adapters.numbers import MAX_DIGITS, NumberError, finite

MAX_EVIDENCE_BYTES = 64 * 1024 * 1024
"""Largest evidence file accepted (64 MiB); bigger input is refused before any parsing."""

# A YAML alias can point at a big subtree many times over, so a small file can stand for a huge
# tree (the YAML form of "billion laughs"). Counting nodes as we walk the expanded tree bounds it.
MAX_YAML_NODES = 1_000_000


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
        document = yaml.safe_load(data)
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
    _check_expanded_size(document, source)
    return document


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


def _check_expanded_size(document: Any, source: str | None) -> None:
    seen = 0
    stack = [document]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise EvidenceError(
                f"YAML expands to more than {MAX_YAML_NODES} nodes (aliases repeat a subtree)",
                path=source,
                hint="Write the data out without anchors and aliases (&name / *name)",
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
