"""Manifests: YAML files -> validated `Desired` state (docs/architecture.md)."""

from reconciler.manifest.loader import load_desired
from reconciler.manifest.schema import manifest_json_schema

__all__ = ["load_desired", "manifest_json_schema"]
