"""The editor JSON Schema of the storyboard format, generated from the pydantic models.

Owns: generation of `schemas/storyboard.schema.json`, including how templated values pass:
every non-string field also accepts a string containing a Jinja expression (`{{ ... }}` or
`{% ... %}`), because templates are rendered before validation. Must not import the loader,
plan, client or CLI.
"""

from __future__ import annotations

import json
from typing import Any

from storyboard.model import Storyboard

__all__ = ["SCHEMA_ID", "TEMPLATE_STRING", "schema", "schema_text"]

SCHEMA_ID = "https://storyboard.dev/schemas/storyboard.schema.json"
TEMPLATE_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{.*\}\}|\{%.*%\}",
    "description": "A Jinja2 template, rendered before validation.",
}
_KEEP_OUTSIDE = ("description", "default", "title")


def _allow_template(prop: dict[str, Any]) -> dict[str, Any]:
    if prop.get("type") == "string" and set(prop) <= {"type", *_KEEP_OUTSIDE}:
        return prop  # a free string already accepts templates
    outer = {k: prop[k] for k in _KEEP_OUTSIDE if k in prop}
    inner = {k: v for k, v in prop.items() if k not in _KEEP_OUTSIDE}
    return {**outer, "anyOf": [inner, TEMPLATE_STRING]}


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a storyboard file."""
    doc = Storyboard.model_json_schema(by_alias=True)
    for definition in [doc, *doc.get("$defs", {}).values()]:
        props = definition.get("properties", {})
        for name, prop in props.items():
            if name == "version":
                continue
            props[name] = _allow_template(prop)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **doc}


def schema_text() -> str:
    """The schema as committed: indented JSON with a trailing newline."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
