"""The cache's versioned ``ClipMeta`` record, read back exactly or refused with its warning, and the
journal's entries: written, read, removed, and an unreadable one taken as absent."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from storyboard.store.cache import META_VERSION, Cache, CachedClip, ClipMeta, ClipOrigin
from storyboard.store.journal import Journal, JournalEntry

from support.fake_service import PNG

KEY = "c0ffee" + "ab" * 29
CLIP = b"a clip of a fox"
ORIGIN = ClipOrigin(
    shot="fox",
    task_id="t1",
    model="doubao-seedance-1-0-pro-250528",
    tokens=29565,
    service="fake",
    request_digest={"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a fox"}]},
    created=1_700_000_000.5,
    seed=42,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(cache: Cache, *, frame: bool = True, key: str = KEY) -> CachedClip:
    staging = cache.staging_dir()
    (staging / "clip.mp4").write_bytes(CLIP)
    if frame:
        (staging / "frame.png").write_bytes(PNG)
    return cache.put(key, staging / "clip.mp4", staging / "frame.png" if frame else None, ORIGIN)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def rewrite_meta(cache: Cache, change: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    meta = cache.entry_dir(KEY) / "meta.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data.update(change)
    for name in drop:
        del data[name]
    meta.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def test_an_entry_put_reads_back_equal(cache: Cache) -> None:
    entry = put(cache)
    folder = cache.entry_dir(KEY)
    assert folder == cache.root / "clips" / "c0" / KEY
    assert entry == CachedClip(KEY, folder / "clip.mp4", folder / "last_frame.png", entry.meta)
    assert entry.meta == ClipMeta(
        **ORIGIN.model_dump(),
        version=META_VERSION,
        clip_sha256=sha(CLIP),
        clip_bytes=len(CLIP),
        last_frame_sha256=sha(PNG),
    )
    assert META_VERSION == 1
    assert files(folder).keys() == {"clip.mp4", "last_frame.png", "meta.json"}
    assert list(cache.staging_dir().iterdir()) == []  # moved, not copied
    assert json.loads((folder / "meta.json").read_text())["version"] == 1
    assert cache.get(KEY) == entry
    assert cache.warnings == []


def test_an_entry_without_a_frame_reads_back_without_one(cache: Cache) -> None:
    entry = put(cache, frame=False)
    assert entry.last_frame is None and entry.meta.last_frame_sha256 is None
    assert cache.get(KEY) == entry
    assert not (cache.entry_dir(KEY) / "last_frame.png").exists()


def test_an_absent_entry_is_a_silent_miss(cache: Cache) -> None:
    assert cache.get(KEY) is None
    assert cache.warnings == []


def test_an_entry_written_by_0_1_without_a_version_is_read(cache: Cache) -> None:
    entry = put(cache)
    rewrite_meta(cache, {}, drop=("version",))
    assert "version" not in json.loads((cache.entry_dir(KEY) / "meta.json").read_text())
    assert cache.get(KEY) == entry
    assert cache.warnings == []


def test_an_entry_written_before_seeds_were_kept_reads_without_one(cache: Cache) -> None:
    entry = put(cache)
    rewrite_meta(cache, {}, drop=("version", "seed"))
    read = cache.get(KEY)
    assert read is not None and read.meta.seed is None
    assert read == dataclasses.replace(entry, meta=entry.meta.model_copy(update={"seed": None}))


def test_fields_a_later_writer_added_are_ignored(cache: Cache) -> None:
    entry = put(cache)
    rewrite_meta(cache, {"duration": 5.0})
    assert cache.get(KEY) == entry


@pytest.mark.parametrize(("version", "shown"), [(99, "99"), (0, "0"), ("1", "'1'")])
def test_an_entry_of_another_format_version_is_a_miss_and_is_kept(
    cache: Cache, caplog: pytest.LogCaptureFixture, version: object, shown: str
) -> None:
    put(cache)
    rewrite_meta(cache, {"version": version})
    before = files(cache.entry_dir(KEY))
    assert cache.get(KEY) is None
    warning = f"cache entry c0ffeeababab has format version {shown}, not 1; not used"
    assert cache.warnings == [warning]
    assert [r.getMessage() for r in caplog.records] == [warning]
    assert files(cache.entry_dir(KEY)) == before  # another version's entry: not ours to delete
    assert cache.get(KEY) is None and cache.warnings == [warning, warning]


def _wrong_type(cache: Cache) -> None:
    rewrite_meta(cache, {"clip_bytes": "many"})


def _two_wrong(cache: Cache) -> None:
    rewrite_meta(cache, {"clip_bytes": "many", "tokens": "lots"})


def _missing_field(cache: Cache) -> None:
    rewrite_meta(cache, {}, drop=("clip_sha256",))


def _not_json(cache: Cache) -> None:
    (cache.entry_dir(KEY) / "meta.json").write_text("{", encoding="utf-8")


def _clip_changed(cache: Cache) -> None:
    (cache.entry_dir(KEY) / "clip.mp4").write_bytes(CLIP + b"!")


def _clip_missing(cache: Cache) -> None:
    (cache.entry_dir(KEY) / "clip.mp4").unlink()


def _frame_missing(cache: Cache) -> None:
    (cache.entry_dir(KEY) / "last_frame.png").unlink()


def _frame_changed(cache: Cache) -> None:
    (cache.entry_dir(KEY) / "last_frame.png").write_bytes(PNG[:-1])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_wrong_type, "meta.json: 1 invalid field(s)"),
        (_two_wrong, "meta.json: 2 invalid field(s)"),
        (_missing_field, "meta.json: 1 invalid field(s)"),
        (_not_json, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (_clip_changed, "clip checksum mismatch"),
        (_clip_missing, "No such file or directory"),
        (_frame_missing, "No such file or directory"),
        (_frame_changed, "last frame checksum mismatch"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_a_damaged_entry_is_a_miss_with_its_warning_and_is_removed(cache: Cache, damage: Any, reason: str) -> None:
    put(cache)
    damage(cache)
    assert cache.get(KEY) is None
    assert cache.warnings == [f"cache entry c0ffeeababab is corrupt ({reason}); generating again"]
    assert not cache.entry_dir(KEY).exists()
    assert cache.get(KEY) is None and len(cache.warnings) == 1  # gone: a plain miss now


def test_a_meta_json_that_is_not_an_object_is_corrupt_not_another_version(cache: Cache) -> None:
    """Only a record can carry a format version: anything else is damage, removed like any other."""
    put(cache)
    (cache.entry_dir(KEY) / "meta.json").write_text("[]", encoding="utf-8")
    assert cache.get(KEY) is None
    (warning,) = cache.warnings
    assert "format version" not in warning, warning
    assert warning.startswith("cache entry c0ffeeababab is corrupt (") and warning.endswith("); generating again")
    assert not cache.entry_dir(KEY).exists()


def test_a_damaged_entry_leaves_the_others_alone(cache: Cache) -> None:
    other = "c0" + "11" * 31  # same two-letter folder
    put(cache)
    kept = put(cache, key=other)
    _clip_changed(cache)
    assert cache.get(KEY) is None
    assert cache.get(other) == kept


def test_add_last_frame_keeps_everything_else(cache: Cache) -> None:
    entry = put(cache, frame=False)
    png = cache.staging_dir() / f"{KEY}.png"
    png.write_bytes(PNG)
    added = cache.add_last_frame(entry, png)
    folder = cache.entry_dir(KEY)
    assert added == CachedClip(KEY, entry.clip, folder / "last_frame.png", added.meta)
    assert added.meta.model_dump() == {**entry.meta.model_dump(), "last_frame_sha256": sha(PNG)}
    assert not png.exists() and (folder / "last_frame.png").read_bytes() == PNG
    assert entry.clip.read_bytes() == CLIP
    assert cache.get(KEY) == added
    assert cache.warnings == []


# -- the journal --------------------------------------------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal")


def test_a_recorded_task_reads_back_and_is_removed(journal: Journal) -> None:
    entry = journal.record(KEY, "fox", "t7")
    assert (entry.key, entry.shot, entry.state, entry.task_id) == (KEY, "fox", "submitted", "t7")
    assert journal.get(KEY) == entry
    assert json.loads((journal.root / f"{KEY}.json").read_text()) == {
        "key": KEY,
        "shot": "fox",
        "state": "submitted",
        "task_id": "t7",
        "submitted_at": entry.submitted_at,
    }
    journal.remove(KEY)
    assert journal.get(KEY) is None
    assert list(journal.root.iterdir()) == []
    journal.remove(KEY)  # removing what is gone is fine


def test_an_uncertain_create_is_recorded_without_a_task_id_and_then_replaced(journal: Journal) -> None:
    uncertain = journal.record(KEY, "fox", None, uncertain=True)
    assert journal.get(KEY) == uncertain
    assert (uncertain.state, uncertain.task_id) == ("uncertain", None)
    submitted = journal.record(KEY, "fox", "t8")
    assert journal.get(KEY) == submitted
    assert journal.get(KEY) == JournalEntry(KEY, "fox", "submitted", "t8", submitted.submitted_at)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe not utf-8",
        b"[]",
        b'"submitted"',
        b'{"key": "k", "shot": "fox"}',
        b'{"key": "k", "shot": "fox", "state": "submitted", "task_id": "t1", "submitted_at": 1, "extra": 1}',
    ],
    ids=["empty", "truncated", "not-utf8", "list", "string", "missing-fields", "unknown-field"],
)
def test_an_unreadable_entry_is_none(journal: Journal, content: bytes) -> None:
    (journal.root / f"{KEY}.json").write_bytes(content)
    assert journal.get(KEY) is None


def test_an_entry_that_is_a_directory_is_none(journal: Journal) -> None:
    (journal.root / f"{KEY}.json").mkdir()
    assert journal.get(KEY) is None
