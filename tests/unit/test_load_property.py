"""Property: whatever text `load_text()` is given, it returns a storyboard or raises ConfigError.

Inputs are random text, random YAML-ish text, and random mutations of valid storyboards
(dropped keys, changed types, junk values, swapped shots, random Unicode, character-level
damage to the YAML). Anything other than `Loaded` or `ConfigError` -- a KeyError, a
RecursionError, a pydantic error leaking out -- fails the test. A storyboard that loads must
also plan, since planning trusts what loading checked.

A second property compares the loader with the emulator, which implements the API's rules
independently, from docs/protocol.md: every request of a storyboard the loader accepts must be
accepted by the emulator's request validation, or money would be spent on a 400.
"""

from __future__ import annotations

import base64
import copy
import functools
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from storyboard.emulator.validate import BadRequest, validate_create
from storyboard.engine.plan import ShotJob, make_plan
from storyboard.errors import ConfigError
from storyboard.seedance.capabilities import MODELS
from storyboard.spec.load import Loaded, load_text
from storyboard.spec.model import RATIOS, RESOLUTIONS

from support.board_media import make_media

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LABEL = "fuzz.yaml"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

BASES: list[dict[str, Any]] = [
    {
        "version": 1,
        "name": "fox",
        "vars": {"coat": "red", "d": 4},
        "defaults": {"model": "doubao-seedance-1-0-pro-250528", "resolution": "480p", "ratio": "16:9",
                     "duration": 4, "seed": 7},
        "output": {"transition": {"type": "crossfade", "duration": 0.5},
                   "music": {"path": "media/rain.mp3", "volume": 0.4}},
        "shots": [
            {"id": "meet", "prompt": "A girl in a {{ coat }} coat", "images": [{"path": "media/a.jpg"}]},
            {"id": "walk", "prompt": "She walks", "chain": True, "duration": "{{ d }}"},
            {"id": "fox", "prompt": "The fox", "images": [{"from": "walk"},
                                                         {"url": "https://e.com/x.png", "role": "last_frame"}],
             "trim": {"start": 0.5, "end": 3.5}, "caption": {"text": "狐狸"}},
        ],
    },
    {
        "version": 1,
        "name": "refs",
        "shots": [
            {"prompt": "reference shot", "model": "doubao-seedance-2-0-260128", "resolution": "4k",
             "images": [{"path": "media/b.png", "role": "reference_image"},
                        {"url": "https://e.com/y.png", "role": "reference_image"}]},
            {"prompt": "frames shot", "model": "doubao-seedance-1-0-lite-i2v-250428", "frames": 57,
             "ratio": "adaptive", "images": [{"from": "shot-1"}]},
            {"prompt": "audio", "model": "doubao-seedance-1-5-pro-251215", "generate_audio": True,
             "duration": -1, "ratio": "9:16"},
        ],
    },
]  # fmt: skip

KEYS = ["version", "name", "vars", "defaults", "output", "shots", "id", "prompt", "images", "path", "url",
        "from", "role", "model", "resolution", "ratio", "duration", "frames", "seed", "chain", "trim",
        "transition", "caption", "music", "size", "<<"]  # fmt: skip
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from([
        "{{ coat }}", "{{ nope }}", "{% if %}", "{{ d * 'x' }}", "{{ ''.__class__ }}", "16:9", "adaptive",
        "4k", "first_frame", "reference_image", "media/a.jpg", "media/tiny.png", "media/notimage.jpg",
        "shot-1", "walk", "-1", "121", "doubao-seedance-2-5-260628", "x" * 1200, "--dur 5",
    ]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(KEYS), st.integers(), max_size=2),
)  # fmt: skip
YAML_BITS = [":", "- ", "{", "}", "[", "]", "&a ", "*a", "<<: ", "<<: {", "!!int ", "!!float ", "!!timestamp ",
             "!!binary ", "!!python/object ", "!custom ", "? [", "\t", "\n", "'", '"',
             "---\n", "? ", "|\n", "%", "@", "{{", "}}", "{%", "#", "\\", "\x00", "\ufeff", "  "]  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "replace", "insert", "swap", "unicode"]))
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        if op == "drop":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(JUNK)
        elif op == "unicode":
            parent[path[-1]] = draw(st.text(min_size=1, max_size=40))
        elif op == "insert":
            target = parent[path[-1]]
            if isinstance(target, dict):
                target[draw(st.sampled_from(KEYS) | st.text(max_size=8))] = draw(JUNK)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(JUNK))
        elif isinstance(doc.get("shots"), list) and len(doc["shots"]) > 1:  # swap
            i, j = draw(st.permutations(range(len(doc["shots"]))))[:2]
            doc["shots"][i], doc["shots"][j] = doc["shots"][j], doc["shots"][i]
    return doc


def _damaged(text: str, draw: st.DrawFn) -> str:
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.sampled_from(YAML_BITS)) + text[at + cut :]
    return text


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_media(tmp_path_factory.mktemp("fuzz")).parent


def yaml_lines(text: str) -> int:
    """Lines as YAML counts them, plus the empty one after a final break (where EOF errors point)."""
    return len(re.split("\r\n|[\r\n\x85\u2028\u2029]", text))


def outcome(text: str, base_dir: Path) -> Loaded | ConfigError:
    try:
        loaded = load_text(text, label=LABEL, base_dir=base_dir)
    except ConfigError as exc:
        assert exc.issues, "a ConfigError must carry at least one issue"
        assert all(str(i).startswith(LABEL) for i in exc.issues)
        assert any(i.severity == "error" for i in exc.issues)
        lines = yaml_lines(text)
        for issue in exc.issues:  # a position, when given, is inside the file
            assert (issue.line, issue.col) == (0, 0) or (1 <= issue.line <= lines and issue.col >= 1), str(issue)
        return exc
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"load_text raised {type(exc).__name__}: {exc!r}\n--- input ---\n{text}")
    assert isinstance(loaded, Loaded)
    plan = make_plan(loaded, service="fuzz")
    assert len(plan.jobs) == len(loaded.board.shots)
    return loaded


def test_the_bases_are_valid(base_dir: Path) -> None:
    for doc in BASES:
        assert isinstance(outcome(yaml.safe_dump(doc, allow_unicode=True), base_dir), Loaded)


@SETTINGS
@given(text=st.text(max_size=300))
def test_random_text(base_dir: Path, text: str) -> None:
    outcome(text, base_dir)


@SETTINGS
@given(data=st.data())
def test_random_yaml_documents_with_damage(base_dir: Path, data: st.DataObject) -> None:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    tree = data.draw(
        st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
            st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4), max_leaves=15)
    )  # fmt: skip
    outcome(_damaged(yaml.safe_dump(tree, allow_unicode=True), data.draw), base_dir)


@SETTINGS
@given(data=st.data())
def test_mutated_valid_storyboards(base_dir: Path, data: st.DataObject) -> None:
    doc = data.draw(mutated())
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    outcome(_damaged(text, data.draw) if data.draw(st.booleans()) else text, base_dir)


@SETTINGS
@given(data=st.data(), example=st.sampled_from(sorted(EXAMPLES.glob("*.yaml"))))
def test_damaged_example_files(data: st.DataObject, example: Path) -> None:
    outcome(_damaged(example.read_text(encoding="utf-8"), data.draw), example.parent)


# --- the loader's rules against the emulator's -----------------------------------------------


@functools.lru_cache(maxsize=64)
def _frame_uri(width: int, height: int) -> str:
    """A PNG of the upstream clip's size: what render puts in a chained first-frame slot."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _sent_body(job: ShotJob, jobs: dict[str, ShotJob]) -> dict[str, object]:
    body = copy.deepcopy(job.request)
    for frame in job.chained:
        upstream = jobs[frame.upstream]
        body["content"][frame.slot]["image_url"]["url"] = _frame_uri(upstream.width, upstream.height)
    return body


@st.composite
def generated_boards(draw: st.DrawFn) -> dict[str, Any]:
    """Storyboards built from the capability table's vocabulary, many of them valid."""
    shots: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        shot: dict[str, Any] = {"id": f"s{i}", "prompt": draw(st.sampled_from(["a fox", "雪 --rs 720p", "x" * 999]))}
        for name, values in (
            ("model", sorted(MODELS)), ("resolution", RESOLUTIONS), ("ratio", RATIOS),
            ("duration", [-1, 2, 4, 5, 12, 15, 30]), ("frames", [29, 57, 121, 289]),
            ("generate_audio", [True, False]), ("camerafixed", [True, False]), ("seed", [-1, 0, 4294967295]),
            ("return_last_frame", [True]),
        ):  # fmt: skip
            if draw(st.integers(0, 2)) == 0:
                shot[name] = draw(st.sampled_from(values))
        images = []
        for _ in range(draw(st.integers(0, 3))):
            source = draw(st.sampled_from(["path", "path", "url", "from"]))
            if source == "from" and i == 0:
                source = "path"
            value = {"path": draw(st.sampled_from(["media/a.jpg", "media/b.png"])),
                     "url": "https://example.com/x.png", "from": f"s{draw(st.integers(0, max(i - 1, 0)))}"}[source]  # fmt: skip
            images.append(
                {source: value, "role": draw(st.sampled_from(["first_frame", "last_frame", "reference_image"]))}
            )
        if images:
            shot["images"] = images
        if i and draw(st.booleans()):
            shot["chain"] = True
        shots.append(shot)
    return {"version": 1, "name": "generated", "shots": shots}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=generated_boards())
def test_what_the_loader_accepts_the_api_accepts(base_dir: Path, doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    result = outcome(text, base_dir)
    if isinstance(result, ConfigError):
        return
    jobs = {job.id: job for job in make_plan(result, service="fuzz").jobs}
    for job in jobs.values():
        try:
            validate_create(_sent_body(job, jobs))
        except BadRequest as exc:
            pytest.fail(f"the loader accepted shot {job.id} but the API would answer 400: {exc}\n{text}")
