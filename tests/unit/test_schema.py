"""The committed editor schema: no drift from the models, examples pass it, templates pass it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from storyboard.spec.model import Shot
from storyboard.spec.schema import schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "storyboard.schema.json"
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(doc)
    return jsonschema.Draft202012Validator(doc)


def errors(validator: jsonschema.Draft202012Validator, doc: Any) -> list[str]:
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc))


def minimal(**shot: Any) -> dict[str, Any]:
    return {"version": 1, "name": "t", "shots": [{"prompt": "a fox", **shot}]}


def test_committed_schema_matches_the_models() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "schemas/storyboard.schema.json is out of date; run "
        "`storyboard schema -o schemas/storyboard.schema.json` and commit it"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_passes_the_schema(validator: jsonschema.Draft202012Validator, example: Path) -> None:
    assert errors(validator, yaml.safe_load(example.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "shot",
    [
        {"duration": "{{ d }}"},
        {"seed": "{{ base_seed + 1 }}", "watermark": "{% if wm %}true{% else %}false{% endif %}"},
        {"resolution": "{{ res }}", "ratio": "{{ ratio }}", "id": "shot-{{ n }}"},
        {"trim": {"start": "{{ cut }}"}, "images": [{"path": "media/{{ photo }}.jpg", "role": "{{ role }}"}]},
    ],
    ids=["duration", "seed-and-bool", "enums-and-pattern", "nested"],
)
def test_templated_values_pass_the_schema(validator: jsonschema.Draft202012Validator, shot: dict[str, Any]) -> None:
    assert errors(validator, minimal(**shot)) == []


@pytest.mark.parametrize(
    ("shot", "path"),
    [
        ({"duration": "four"}, "shots.0.duration"),
        ({"duration": 4.5}, "shots.0.duration"),
        ({"duration": 31}, "shots.0.duration"),
        ({"resolution": "2k"}, "shots.0.resolution"),
        ({"chain": "yes"}, "shots.0.chain"),
        ({"id": "my shot"}, "shots.0.id"),
        ({"images": "{{ pictures }}"}, "shots.0.images"),  # a template renders to a string, never a list
        ({"trim": "{{ t }}"}, "shots.0.trim"),
        ({"images": [{"path": "a.jpg", "role": "middle"}]}, "shots.0.images.0.role"),
        ({"durration": 4}, "shots.0"),
    ],
    ids=[
        "word",
        "float",
        "too-long",
        "enum",
        "bool",
        "pattern",
        "list-template",
        "mapping-template",
        "role",
        "unknown-key",
    ],  # fmt: skip
)
def test_wrong_values_fail_the_schema(
    validator: jsonschema.Draft202012Validator, shot: dict[str, Any], path: str
) -> None:
    found = errors(validator, minimal(**shot))
    assert len(found) == 1
    assert found[0].startswith(f"{path}: ")


def test_caption_shorthand_and_a_missing_name_pass_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    without_name = {k: v for k, v in minimal(caption="灯塔").items() if k != "name"}
    assert errors(validator, without_name) == []
    assert errors(validator, minimal(caption={"text": "灯塔", "size": "{{ s }}"})) == []
    assert errors(validator, minimal(caption=5)) == ["shots.0.caption: 5 is not valid under any of the given schemas"]


def test_version_accepts_only_the_number_1(validator: jsonschema.Draft202012Validator) -> None:
    assert errors(validator, {**minimal(), "version": 2}) == ["version: 1 was expected"]
    assert "version: '{{ v }}' is not of type 'integer'" in errors(validator, {**minimal(), "version": "{{ v }}"})


def test_field_descriptions_come_from_the_model_docstrings() -> None:
    doc = schema()
    prompt = doc["$defs"]["Shot"]["properties"]["prompt"]
    assert prompt["description"] == Shot.model_fields["prompt"].description
    assert prompt["description"] == "What happens in the shot (at most 1000 characters)."
    undocumented = [
        f"{name}.{field}"
        for name, definition in [("Storyboard", doc), *doc["$defs"].items()]
        for form in [definition, *definition.get("anyOf", [])]  # Caption: a string, or the mapping
        for field, prop in form.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undocumented == []
    assert all(definition.get("description") for definition in doc["$defs"].values())
