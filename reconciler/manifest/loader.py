"""Manifest files -> `Desired`, or a `DiagnosticError` with every problem in every file."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from reconciler.gc_tuning import builds_acyclic_data
from reconciler.diagnostics import Diagnostic, DiagnosticError, Location, did_you_mean
from reconciler.manifest.files import ManifestFile, ReadFailed, discover, read_text
from reconciler.manifest.models import ConfigValue, Desired, DesiredResource
from reconciler.manifest.references import BadReference, resolve
from reconciler.manifest.validation import CheckedDocument, check_document
from reconciler.manifest.yaml_source import parse_documents
from reconciler.secrets import Sensitive


@builds_acyclic_data
def load_desired(
    paths: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    unavailable_secrets: list[Diagnostic] | None = None,
) -> Desired:
    """Read, validate and resolve the manifests at `paths` (files or directories).

    `env` is where `${env:NAME}` looks (default: the process environment);
    `variables` is where `${var:NAME}` looks (the selected target's vars, or None).
    With `unavailable_secrets` (validate, offline), an unset ${env:} variable or an
    absent ${file:} secret is noted there and stands in as an empty sensitive value
    instead of being an error.
    Raises DiagnosticError listing all problems; nothing partial is returned.
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    discovered = discover(paths)
    diagnostics: list[Diagnostic] = list(discovered.diagnostics)
    digest = hashlib.sha256()
    checked: list[tuple[ManifestFile, CheckedDocument]] = []
    read: list[str] = []

    for file in discovered.files:
        try:
            data, text = read_text(file.path, file.display)
        except ReadFailed as exc:
            diagnostics.append(exc.diagnostic)
            continue
        read.append(file.display)
        _update_digest(digest, file.display, data)
        parsed = parse_documents(text, file.display)
        diagnostics.extend(parsed.diagnostics)
        if not parsed.documents and not parsed.diagnostics:
            diagnostics.append(
                Diagnostic(
                    "no resources in file",
                    Location(file.display, 1, 1),
                    hint="add a SyncConnector, ErpConnection or QuoteConnection, or remove the file",
                )
            )
        for document in parsed.documents:
            result = check_document(document)
            diagnostics.extend(
                dataclasses.replace(d, resource=result.resource) for d in document.diagnostics
            )
            diagnostics.extend(result.diagnostics)
            checked.append((file, result))

    documents = [result for _, result in checked]
    diagnostics.extend(_duplicate_names(documents))
    diagnostics.extend(_broken_references(documents))

    resources: list[DesiredResource] = []
    for file, result in checked:
        # Resolved even for invalid documents, so reference errors show up in the same run.
        config, problems = _resolve_config(result, file.path.parent, environment, variables, unavailable_secrets)
        diagnostics.extend(problems)
        if result.manifest is None:
            continue
        resources.append(
            DesiredResource(
                manifest=result.manifest,
                location=result.document.root,
                config=config,
                node_locations=dict(result.document.locations),
            )
        )

    if diagnostics:
        raise DiagnosticError(diagnostics)
    return Desired(tuple(resources), digest.hexdigest(), tuple(read))


def _update_digest(digest: "hashlib._Hash", display: str, data: bytes) -> None:
    # Length-prefixed so that no two different file sets hash alike.
    name = display.encode("utf-8")
    digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
    digest.update(data)


def _duplicate_names(documents: list[CheckedDocument]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    first: dict[tuple[str, str], CheckedDocument] = {}
    for document in documents:
        if document.kind is None or document.name is None:
            continue
        key = (document.kind, document.name)
        if key not in first:
            first[key] = document
            continue
        earlier = first[key].locate(("metadata", "name"))
        problems.append(
            Diagnostic(
                f"duplicate {document.kind} name '{document.name}': also defined at {earlier}",
                document.locate(("metadata", "name")),
                document.resource,
                hint=f"metadata.name is the CRM DisplayName and must be unique per kind; rename or remove one",
            )
        )
    return problems


def _broken_references(documents: list[CheckedDocument]) -> list[Diagnostic]:
    names: dict[str, list[str]] = {}
    for document in documents:
        if document.kind is not None and document.name is not None:
            names.setdefault(document.kind, []).append(document.name)
    problems: list[Diagnostic] = []
    for document in documents:
        if document.kind == "ErpConnection":
            field, target = "connector", "SyncConnector"
        elif document.kind == "QuoteConnection":
            field, target = "erpConnection", "ErpConnection"
        else:
            continue
        spec = document.document.data.get("spec")
        wanted = spec.get(field) if isinstance(spec, dict) else None
        if not isinstance(wanted, str) or not wanted:
            continue  # missing or mistyped: reported by validation
        known = names.get(target, [])
        if wanted in known:
            continue
        hint = did_you_mean(wanted, known)
        if hint is None:
            hint = (
                f"known {target}s: {', '.join(sorted(known))}"
                if known
                else f"define a {target} with metadata.name '{wanted}'"
            )
        problems.append(
            Diagnostic(
                f"spec.{field}: no {target} named '{wanted}' in the manifests",
                document.locate(("spec", field)),
                document.resource,
                hint,
            )
        )
    return problems


def _resolve_config(
    document: CheckedDocument, manifest_dir: Path, env: Mapping[str, str], variables: Mapping[str, str] | None,
    unavailable: list[Diagnostic] | None,
) -> tuple[dict[str, ConfigValue], list[Diagnostic]]:
    spec = document.document.data.get("spec") if isinstance(document.document.data, dict) else None
    raw = spec.get("config") if isinstance(spec, dict) else None
    if not isinstance(raw, dict):
        return {}, []
    config: dict[str, ConfigValue] = {}
    problems: list[Diagnostic] = []
    for key, value in raw.items():
        if not isinstance(value, str):
            config[key] = value
            continue
        try:
            config[key] = resolve(value, manifest_dir=manifest_dir, env=env, variables=variables)
        except BadReference as exc:
            problem = Diagnostic(
                f"config value '{key}': {exc.problem.message}",
                document.locate(("spec", "config", key)),
                document.resource,
                exc.problem.hint,
            )
            if exc.problem.unavailable and unavailable is not None:
                unavailable.append(problem)
                config[key] = Sensitive("", reference=value)
            else:
                problems.append(problem)
    return config, problems
