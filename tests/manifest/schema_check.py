"""Validating a manifest against an official JSON schema (copied into tests/fixtures/schemas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema


def validator_for(schema_path: Path) -> Any:
    """A validator of the draft the schema declares, after checking the schema itself."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def errors_of(validator: Any, document: Any) -> list[str]:
    """Every validation error as `path: message`, in document order."""
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
