"""SARIF 2.1.0 logs into static-analysis facts, applying the spec's effective-level rules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError

SARIF_VERSION = "2.1.0"

LEVELS = ("error", "warning", "note", "none")
"""SARIF result levels (§3.27.10), most severe first."""

# §3.27.9: every result kind; only "fail" carries a severity.
_KINDS = frozenset({"pass", "open", "informational", "notApplicable", "review", "fail"})
# §3.35.3: a suppression in one of these states does not (yet) hide its result.
_UNSETTLED_SUPPRESSION = frozenset({"rejected", "underReview"})
_HINT_OUTPUT = "Record the tool's SARIF output (ruff --output-format sarif, bandit -f sarif, ...)"


class SarifFacts(BaseModel):
    """What a SARIF log says, with suppressed results counted apart."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["sarif"] = "sarif"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the log came from, as the caller named it."""
    runs: int
    """Runs in the log (0 when `runs` is empty or null)."""
    results: int
    """Results that are not suppressed, whatever their level."""
    by_level: dict[str, int]
    """Unsuppressed results by effective level: always the keys error, warning, note, none."""
    suppressed: int
    """Results hidden by an accepted (or status-less) suppression (§3.27.23, §3.35.3)."""
    execution_successful: bool
    """False when any run failed or its results cannot be trusted to be complete (see notes)."""
    tools: list[str]
    """Driver names of the runs, in order, each once."""
    baseline_states: dict[str, int]
    """Unsuppressed results by baselineState (§3.27.24), when the log has them."""
    notes: list[str]
    """Why execution_successful is False, and similar things a reviewer should know."""


def parse_sarif(data: bytes, source: str | None = None) -> SarifFacts:
    """Parse a SARIF 2.1.0 log and count its results by effective level."""
    log = load_json(data, source)
    if not isinstance(log, dict) or "version" not in log or "runs" not in log:
        raise EvidenceError(
            "not a SARIF log: expected a JSON object with 'version' and 'runs'",
            path=source,
            hint=_HINT_OUTPUT,
        )
    if log["version"] != SARIF_VERSION:
        raise EvidenceError(
            f"SARIF version {log['version']!r} is not supported; gooseterm reads {SARIF_VERSION}",
            path=source,
            line=_line_of(data, b'"version"'),
            field="version",
            hint="Ask the tool for SARIF 2.1.0 output (earlier drafts have a different structure)",
        )
    notes: list[str] = []
    if log["runs"] is None:
        # §3.13.4: null runs means the producer tried to compute its runs and failed.
        notes.append("runs is null: the producer failed before it could report any run (§3.13.4)")
    runs = _objects([] if log["runs"] is None else log["runs"], "runs", source)

    by_level = dict.fromkeys(LEVELS, 0)
    baseline_states: dict[str, int] = {}
    suppressed = 0
    tools: list[str] = []
    for where, run in runs:
        tool = _obj(run.get("tool"))
        name = _obj(tool.get("driver")).get("name")
        label = name if isinstance(name, str) else "(unnamed tool)"
        if label not in tools:
            tools.append(label)
        invocations = [_obj(invocation) for invocation in _list(run.get("invocations"))]
        notes.extend(f"{where} ({label}): {reason}" for reason in _run_failures(run, tool, invocations))
        results = [] if run.get("results") is None else run["results"]
        for result_where, result in _objects(results, f"{where}.results", source):
            if _is_suppressed(result):
                suppressed += 1
                continue
            by_level[_result_level(result, tool, invocations, result_where, source)] += 1
            state = result.get("baselineState")
            if isinstance(state, str):
                baseline_states[state] = baseline_states.get(state, 0) + 1

    return SarifFacts(
        source=source,
        runs=len(runs),
        results=sum(by_level.values()),
        by_level=by_level,
        suppressed=suppressed,
        execution_successful=not notes,
        tools=tools,
        baseline_states=baseline_states,
        notes=notes,
    )


def _run_failures(run: dict, tool: dict, invocations: list[dict]) -> list[str]:
    reasons = []
    if run.get("results") is None:
        # §3.14.23: results absent or null means the tool failed to start or to begin analysis.
        reasons.append("has no results array, which means the tool did not complete (§3.14.23)")
    for index, invocation in enumerate(invocations):
        if invocation.get("executionSuccessful") is False:
            reasons.append(f"invocations[{index}] reports executionSuccessful: false (§3.20.14)")
        overrides = _list(invocation.get("notificationConfigurationOverrides"))
        for prop in ("toolExecutionNotifications", "toolConfigurationNotifications"):
            for notification in map(_obj, _list(invocation.get(prop))):
                # §3.58.6: a notification's level defaults like a result's, via its descriptor.
                level = notification.get("level") or _configured_level(
                    tool, _obj(notification.get("descriptor")), "notifications", overrides
                )
                if level == "error":
                    # §3.20.21, §3.20.22: an error-level notification means the run failed.
                    message = _obj(notification.get("message"))
                    text = message.get("text") or f"message id {message.get('id')!r}"
                    reasons.append(f"invocations[{index}].{prop} has an error: {text}")
    return reasons


def _is_suppressed(result: dict) -> bool:
    # §3.27.23: an empty or absent array means not suppressed; otherwise read each status.
    return any(
        _obj(suppression).get("status") not in _UNSETTLED_SUPPRESSION
        for suppression in _list(result.get("suppressions"))
    )


def _result_level(result: dict, tool: dict, invocations: list[dict], where: str, source: str | None) -> str:
    kind = result.get("kind", "fail")
    if kind not in _KINDS:
        raise EvidenceError(
            f"result kind {kind!r} is not one of {', '.join(sorted(_KINDS))} (§3.27.9)",
            path=source,
            field=f"{where}.kind",
            hint=_HINT_OUTPUT,
        )
    if "level" in result:
        level = result["level"]
    elif kind != "fail":
        # §3.27.10: a result whose kind is not "fail" has no severity.
        level = "none"
    else:
        reference = {"id": result.get("ruleId"), "index": result.get("ruleIndex"), **_obj(result.get("rule"))}
        level = _configured_level(tool, reference, "rules", _rule_overrides(result, invocations))
    if level not in LEVELS:
        raise EvidenceError(
            f"result level {level!r} is not one of {', '.join(LEVELS)} (§3.27.10)",
            path=source,
            field=f"{where}.level",
            hint=_HINT_OUTPUT,
        )
    return level


def _rule_overrides(result: dict, invocations: list[dict]) -> list[Any]:
    # §3.27.10 reads overrides from the invocation named by provenance.invocationIndex; tools that
    # leave it out almost always have one invocation, so then every invocation's overrides count.
    index = _obj(result.get("provenance")).get("invocationIndex")
    chosen = [invocations[index]] if _is_index(index, invocations) else invocations
    return [override for invocation in chosen for override in _list(invocation.get("ruleConfigurationOverrides"))]


def _configured_level(tool: dict, reference: dict, collection: str, overrides: list[Any]) -> str:
    """§3.27.10 for a result without level: override, then descriptor default, then warning."""
    descriptor = _descriptor(tool, reference, collection)
    if descriptor is None:
        return "warning"
    for override in map(_obj, overrides):
        if _descriptor(tool, _obj(override.get("descriptor")), collection) is descriptor:
            level = _obj(override.get("configuration")).get("level")
            if level is not None:
                return level
    return _obj(descriptor.get("defaultConfiguration")).get("level") or "warning"


def _descriptor(tool: dict, reference: dict, collection: str) -> dict | None:
    """§3.52.3: find a rule or notification descriptor by index, else by id."""
    driver = _obj(tool.get("driver"))
    extensions = [_obj(extension) for extension in _list(tool.get("extensions"))]
    component_ref = reference.get("toolComponent")
    if isinstance(component_ref, dict):
        # §3.54.2: index picks an extension; else guid picks driver or extension; else the driver.
        index, guid = component_ref.get("index"), component_ref.get("guid")
        if index is not None:
            components = [extensions[index]] if _is_index(index, extensions) else []
        elif guid is not None:
            components = [c for c in [driver, *extensions] if c.get("guid") == guid]
        else:
            components = [driver]
    else:
        components = [driver]
    index = reference.get("index")
    for component in components:
        descriptors = _list(component.get(collection))
        # §3.52.5: the index identifies the descriptor even when ids repeat or disagree.
        if _is_index(index, descriptors):
            return _obj(descriptors[index])
    wanted = reference.get("id")
    if not isinstance(wanted, str):
        return None
    if not isinstance(component_ref, dict):
        # Lenient: a rule named only by id may live in an extension that the result fails to name.
        components = [driver, *extensions]
    for component in components:
        for descriptor in map(_obj, _list(component.get(collection))):
            # §3.52.4: the reference id is the descriptor id, or it plus one hierarchical component.
            known = descriptor.get("id")
            if isinstance(known, str) and (wanted == known or wanted.startswith(known + "/")):
                return descriptor
    return None


def _is_index(value: Any, items: list) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(items)


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _objects(value: Any, where: str, source: str | None) -> list[tuple[str, dict]]:
    """An array of objects, each with its JSON path; anything else is refused."""
    if not isinstance(value, list):
        raise _wrong_shape("an array", value, where, source)
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _wrong_shape("an object", item, f"{where}[{index}]", source)
    return [(f"{where}[{index}]", item) for index, item in enumerate(value)]


def _wrong_shape(expected: str, value: Any, where: str, source: str | None) -> EvidenceError:
    return EvidenceError(f"expected {expected}, found {_json_type(value)}", path=source, field=where, hint=_HINT_OUTPUT)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _line_of(data: bytes, needle: bytes) -> int | None:
    at = data.find(needle)
    return data.count(b"\n", 0, at) + 1 if at >= 0 else None
