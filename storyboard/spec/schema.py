"""The editor JSON Schema of the storyboard format, generated from the pydantic models.

Owns: generation of `schemas/storyboard.schema.json`, including how templated values pass:
every scalar field with a type, range, choice or pattern also accepts a string containing a
Jinja expression (`{{ ... }}` or `{% ... %}`), because templates are rendered before
validation; mappings and lists do not, since a template always renders to a string. Must not
import the loader, plan, client or CLI.
"""

from __future__ import annotations

import json
from typing import Any

from storyboard.spec.model import Storyboard

__all__ = ["SCHEMA_ID", "TEMPLATE_STRING", "schema", "schema_text"]

SCHEMA_ID = "https://storyboard.dev/schemas/storyboard.schema.json"
TEMPLATE_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{.*\}\}|\{%.*%\}",
    "description": "A Jinja2 template, rendered before validation.",
}
_KEEP_OUTSIDE = ("description", "default", "title")


def _constrained_scalar(prop: dict[str, Any]) -> bool:
    """True when `prop` (or one of its anyOf branches) is a scalar a plain template string fails."""
    if "anyOf" in prop:
        return any(_constrained_scalar(branch) for branch in prop["anyOf"])
    if prop.get("type") in ("integer", "number", "boolean") or "enum" in prop or "const" in prop:
        return True
    return prop.get("type") == "string" and "pattern" in prop  # a length limit passes templates


def _allow_template(prop: dict[str, Any]) -> dict[str, Any]:
    # a free string already accepts templates; a mapping or list cannot come out of one
    if not _constrained_scalar(prop):
        return prop
    outer = {k: prop[k] for k in _KEEP_OUTSIDE if k in prop}
    inner = {k: v for k, v in prop.items() if k not in _KEEP_OUTSIDE}
    return {**outer, "anyOf": [inner, TEMPLATE_STRING]}


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a storyboard file."""
    doc = Storyboard.model_json_schema(by_alias=True)
    definitions = [doc, *doc.get("$defs", {}).values()]
    # a model with a shorthand (Caption: a plain string) keeps its mapping form in an anyOf branch
    objects = [d for definition in definitions for d in [definition, *definition.get("anyOf", [])]]
    for definition in objects:
        props = definition.get("properties", {})
        for name, prop in props.items():
            if name == "version":
                continue
            props[name] = _allow_template(prop)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **doc}


def schema_text() -> str:
    """The schema as committed: indented JSON with a trailing newline."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
