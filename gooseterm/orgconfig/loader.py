"""Reading a config directory: every problem in every file, each with its file and line."""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Collection, Sequence
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, ValidationError

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.files import read_inside

from gooseterm.orgconfig.config import (
    APPROVALS_FILE,
    ORG_FILE,
    RULES_FILE,
    RUNBOOKS_FILE,
    STATES_FILE,
    OrgConfig,
    reference_problems,
    service_file,
)
from gooseterm.orgconfig.issues import ConfigError, ConfigIssue, Loc
from gooseterm.orgconfig.models import (
    ApprovalPolicies,
    Organisation,
    RuleBook,
    Runbooks,
    Service,
    ServiceFile,
    StateMachine,
)
from gooseterm.orgconfig.yamlmarks import YamlDocument, parse_yaml

_SECTIONS: dict[str, type[BaseModel]] = {
    ORG_FILE: Organisation,
    STATES_FILE: StateMachine,
    RULES_FILE: RuleBook,
    APPROVALS_FILE: ApprovalPolicies,
    RUNBOOKS_FILE: Runbooks,
}
SERVICE_TEMPLATE = "templates/service.yaml"


def bundled_config_dir() -> Path:
    """The example organisation shipped with gooseterm (the repo's `config/` in a checkout)."""
    # An installed wheel carries config/ as gooseterm/_config. Look there first: in an
    # installed tree, parents[2] is site-packages, where another distribution's config/ may be.
    packaged = Path(__file__).resolve().parents[1] / "_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def load_org(
    path: Path,
    *,
    validators: Collection[str] | None = None,
    actions: Collection[str] | None = None,
) -> OrgConfig:
    """Load and check a config directory; raise ConfigError listing every problem found.

    `validators` and `actions`, when given, are the names registered in code; gates, rules and
    runbook steps naming anything else are reported.
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigError([ConfigIssue(root, None, None, "", "not a directory")])
    issues: list[ConfigIssue] = []
    documents: dict[str, YamlDocument] = {}
    sections: dict[str, Any] = {}
    for relative, model in _SECTIONS.items():
        document, section = _load_file(root, relative, model, issues)
        if document is not None:
            documents[relative] = document
        sections[relative] = section
    issues += _unknown_files(root)

    services, known = _load_services(root, documents, issues)
    for problem in reference_problems(
        org=sections[ORG_FILE],
        services=services,
        states=sections[STATES_FILE],
        rules=sections[RULES_FILE],
        approvals=sections[APPROVALS_FILE],
        runbooks=sections[RUNBOOKS_FILE],
        known_services=known,
        validators=validators,
        actions=actions,
    ):
        issues.append(documents[problem.file].issue(problem.loc, problem.message))
    for document in documents.values():
        issues += document.duplicate_keys
    if issues:
        raise ConfigError(issues)
    return OrgConfig(
        org=sections[ORG_FILE],
        services=services,
        states=sections[STATES_FILE],
        rules=sections[RULES_FILE],
        approvals=sections[APPROVALS_FILE],
        runbooks=sections[RUNBOOKS_FILE],
        root=root,
    )


def render_service_template(
    config_dir: Path, name: str, owners: Sequence[str], description: str = ""
) -> str:
    """The text of services/NAME.yaml for `gooseterm onboard NAME`, from the org's template.

    Placeholders: ${name}, ${owner} (owners as YAML flow items) and ${description}. Falls
    back to the bundled template when the org has none. Raises ConfigError if the result is
    not a valid service file, e.g. because NAME is not a valid service name.
    """
    folder = Path(config_dir)
    if not (folder / SERVICE_TEMPLATE).is_file():
        folder = bundled_config_dir()
    template_path = folder / SERVICE_TEMPLATE
    issues: list[ConfigIssue] = []
    template = _read_text(folder, template_path, issues)
    if template is None:
        raise ConfigError(issues)
    try:
        text = Template(template).substitute(
            name=name,
            owner=", ".join(json.dumps(owner) for owner in owners),
            description=json.dumps(description),
        )
    except (KeyError, ValueError) as exc:
        message = f"bad placeholder {exc}; use ${{name}}, ${{owner}} and ${{description}}"
        raise ConfigError([ConfigIssue(template_path, None, None, "", message)]) from None
    _validate(parse_yaml(text, Path(config_dir) / service_file(name)), ServiceFile)
    return text


def _validate(document: YamlDocument, model: type[BaseModel]) -> BaseModel:
    """Validate a parsed document; raise ConfigError with one issue per pydantic error."""
    # An empty file is an empty mapping: report its missing fields, not "None is not a dict".
    data = {} if document.data is None else document.data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_issues(document, model, exc)) from None


def _load_file(
    root: Path, relative: str, model: type[BaseModel], issues: list[ConfigIssue]
) -> tuple[YamlDocument | None, Any]:
    """Parse and validate one file, appending its problems; the section is None if any."""
    file = root / relative
    if not file.exists() and not file.is_symlink():
        message = f"missing; start from the example in {bundled_config_dir() / relative}"
        issues.append(ConfigIssue(file, None, None, "", message))
        return None, None
    text = _read_text(root, file, issues)
    if text is None:
        return None, None
    try:
        document = parse_yaml(text, file)
    except ConfigError as exc:
        issues += exc.issues
        return None, None
    try:
        return document, _validate(document, model)
    except ConfigError as exc:
        issues += exc.issues
        return document, None


def _read_text(root: Path, file: Path, issues: list[ConfigIssue]) -> str | None:
    """A config file's text, or None with the issue appended. Read as evidence is (adapters.files):
    a link out of the config folder, a device or an oversized file is refused unread, so no
    error can quote what it points at."""
    try:
        return read_inside(file, root).decode("utf-8")
    except EvidenceError as exc:
        issues.append(ConfigIssue(file, None, None, "", f"{exc.problem}; {exc.hint}" if exc.hint else exc.problem))
    except UnicodeDecodeError as exc:
        issues.append(ConfigIssue(file, None, None, "", f"cannot read: {exc}"))
    return None


def _load_services(
    root: Path, documents: dict[str, YamlDocument], issues: list[ConfigIssue]
) -> tuple[dict[str, Service], set[str]]:
    """The valid services by name, and every name a service file claims (valid or not), so
    that a broken file does not also make its dependents report it unknown."""
    directory = root / "services"
    if not directory.is_dir():
        issues.append(ConfigIssue(directory, None, None, "", "missing services/ directory"))
        return {}, set()
    services: dict[str, Service] = {}
    known: set[str] = set()
    loaded: list[tuple[Path, YamlDocument, Service]] = []
    for file in sorted(directory.iterdir()):
        if file.suffix == ".yml":
            issues.append(ConfigIssue(file, None, None, "", "rename to .yaml to be loaded"))
            continue
        if file.suffix != ".yaml" or not file.is_file():
            continue
        relative = service_file(file.stem)
        document, section = _load_file(root, relative, ServiceFile, issues)
        known.add(file.stem)
        if document is None or section is None:
            continue
        documents[relative] = document
        loaded.append((file, document, section.service))
    claimed_by: dict[str, list[Path]] = {}
    for file, _, service in loaded:
        claimed_by.setdefault(service.name, []).append(file)
    for file, document, service in loaded:
        if service.name == file.stem:
            services[file.stem] = service
            continue
        # Only a misnamed file can clash with another, so one issue says both.
        known.add(service.name)
        message = f"name '{service.name}' does not match the file name '{file.name}'"
        others = [str(other) for other in claimed_by[service.name] if other != file]
        if others:
            verb = "names" if len(others) == 1 else "name"
            message += f", and {', '.join(others)} also {verb} '{service.name}'"
        issues.append(document.issue(("service", "name"), message + "; rename one so they agree"))
    return services, known


def _unknown_files(root: Path) -> list[ConfigIssue]:
    found = []
    for file in sorted(root.iterdir()):
        if file.suffix in (".yaml", ".yml") and file.name not in _SECTIONS:
            close = difflib.get_close_matches(file.name, list(_SECTIONS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            found.append(
                ConfigIssue(
                    file, None, None, "",
                    f"unknown config file (expected {', '.join(_SECTIONS)}){hint}",
                )
            )
    return found


def _validation_issues(
    document: YamlDocument, model: type[BaseModel], exc: ValidationError
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "extra_forbidden":
            allowed = _fields_at(model, loc[:-1])
            message = f"unknown field '{loc[-1]}'" + (
                f" (allowed: {', '.join(allowed)})" if allowed else ""
            )
        else:
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] != "value_error" and isinstance(
                error["input"], (str, int, float, bool)
            ):
                message += f" (got {error['input']!r})"
        issues.append(document.issue(loc, message))
    return issues


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names (as written in YAML) of the model found at `loc`, or [] if none is."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (f for name, f in annotation.model_fields.items() if part in (name, f.alias)),
                None,
            )
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(f.alias or name for name, f in annotation.model_fields.items())
    return []


def _unwrap(annotation: Any) -> Any:
    """The model inside Annotated[...] or X | None, else the annotation itself."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation
