"""``RemoteCache`` and ``TieredCache`` against a ``file://`` remote: round trips byte for byte,
meta.json last, verification of everything pulled, and a remote that fails dropping out with one
warning. (The same code against a real S3 API: tests/e2e/test_remote_render.py.)"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from storyboard.errors import CacheError
from storyboard.store.cache import Cache, CachedClip, ClipOrigin
from storyboard.store.remote import RemoteCache, RemoteUnavailable, check_url
from storyboard.store.tiered import ClipStore, TieredCache

KEY = "be" * 32
OTHER = "ef" * 32
PNG = b"\x89PNG\r\n\x1a\n a last frame"


def origin(shot: str = "fox", created: float | None = None) -> ClipOrigin:
    return ClipOrigin(
        shot=shot, task_id=f"task-{shot}", model="doubao-seedance-1-0-pro-fast-251015", tokens=100,
        service="emulator", request_digest={"prompt": shot}, created=time.time() if created is None else created,
    )  # fmt: skip


def put(cache: ClipStore, key: str = KEY, clip: bytes = b"clip bytes " * 50, frame: bytes | None = PNG) -> CachedClip:
    staging = cache.staging_dir()
    (staging / "in.mp4").write_bytes(clip)
    if frame is not None:
        (staging / "in.png").write_bytes(frame)
    return cache.put(key, staging / "in.mp4", staging / "in.png" if frame is not None else None, origin())


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'team'}"


def tier(tmp_path: Path, url: str | None, name: str) -> TieredCache:
    return TieredCache(Cache(tmp_path / name), RemoteCache(url) if url else None)


def remote_dir(url: str, key: str = KEY) -> Path:
    return Path(url.removeprefix("file://")) / "clips" / key[:2] / key


def test_both_caches_are_clip_stores(tmp_path: Path) -> None:
    stores: list[ClipStore] = [Cache(tmp_path / "a"), tier(tmp_path, None, "b")]
    assert [s.root.name for s in stores] == ["a", "b"]


@pytest.mark.parametrize(
    ("given", "normal"),
    [("s3://bucket/prefix/", "s3://bucket/prefix"), ("s3://bucket", "s3://bucket"), ("gs://b/p", "gs://b/p"),
     ("az://container/p", "az://container/p"), ("file:///mnt/team/cache", "file:///mnt/team/cache")],
)  # fmt: skip
def test_urls_accepted(given: str, normal: str) -> None:
    assert check_url(given) == normal


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("ftp://host/x", "unsupported scheme \"ftp://\" in 'ftp://host/x' (use s3://, gs://, az:// or file://)"),
        ("/mnt/team", "'/mnt/team' is not a URL: expected s3://bucket/prefix, gs://bucket/prefix, "
                      "az://container/prefix or file:///path"),
        ("s3://", "'s3://' names no bucket: expected s3://bucket/prefix"),
        ("file://relative/dir", "'file://relative/dir': a file URL names an absolute path, e.g. file:///mnt/team/cache"),
        ("s3://b/p?versionId=1", "'s3://b/p?versionId=1': a remote cache URL takes no ?query or #fragment"),
        ("s3://AKIAXX:hunter22@bucket/p", "credentials do not belong in the URL: use the store's standard settings "
                                           "(e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role)"),
    ],
)  # fmt: skip
def test_urls_refused_with_a_reason(given: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_url(given)
    assert str(caught.value) == message


def test_a_put_is_pushed_and_an_empty_cache_pulls_it_byte_for_byte(tmp_path: Path, url: str) -> None:
    a = tier(tmp_path, url, "a")
    made = put(a)
    assert a.pushed == 1
    assert sorted(p.name for p in remote_dir(url).iterdir()) == ["clip.mp4", "last_frame.png", "meta.json"]
    assert json.loads((remote_dir(url) / "meta.json").read_text()) == json.loads(made.meta.model_dump_json())
    assert not list(Path(url.removeprefix("file://")).rglob("*.tmp"))  # temporaries renamed into place

    b = tier(tmp_path, url, "b")
    entry, found = b.lookup(KEY)
    assert found == "remote" and entry is not None and b.pulled == 1
    assert entry.clip.read_bytes() == made.clip.read_bytes()
    assert entry.last_frame is not None and entry.last_frame.read_bytes() == PNG
    assert entry.meta == made.meta
    assert entry.clip.is_relative_to(tmp_path / "b")  # now in b's local cache
    assert b.lookup(KEY)[1] == "local"
    assert not list(b.staging_dir().iterdir())  # nothing left behind
    assert a.warnings == b.warnings == []


def test_a_miss_everywhere_is_a_miss(tmp_path: Path, url: str) -> None:
    assert tier(tmp_path, url, "a").lookup(KEY) == (None, "miss")
    assert tier(tmp_path, None, "b").lookup(KEY) == (None, "miss")


def test_files_without_their_meta_json_are_no_entry(tmp_path: Path, url: str) -> None:
    put(tier(tmp_path, url, "a"))
    (remote_dir(url) / "meta.json").unlink()  # as if the writer died before its commit mark
    b = tier(tmp_path, url, "b")
    assert b.lookup(KEY) == (None, "miss")
    assert b.warnings == []


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: (d / "clip.mp4").write_bytes(b"clip bytes " * 49 + b"clip bytez "), "clip checksum mismatch"),
        (lambda d: (d / "clip.mp4").write_bytes(b"clip bytes " * 20), "clip is 220 bytes, meta.json says 550"),
        (lambda d: (d / "clip.mp4").unlink(), "clip.mp4 is missing"),
        (lambda d: (d / "last_frame.png").write_bytes(b"nope"), "last frame checksum mismatch"),
        (lambda d: (d / "meta.json").write_text("{"), "meta.json: Expecting property name enclosed in double "
                                                       "quotes: line 1 column 2 (char 1)"),
        (lambda d: (d / "meta.json").write_text((d / "meta.json").read_text().replace('"clip_bytes": 550', '"clip_bytes": "many"')),
         "meta.json: 1 invalid field(s)"),
    ],
)  # fmt: skip
def test_a_corrupt_remote_entry_is_a_miss_with_a_warning_and_is_replaced(
    tmp_path: Path, url: str, damage: object, reason: str
) -> None:
    put(tier(tmp_path, url, "a"))
    damage(remote_dir(url))  # type: ignore[operator]
    b = tier(tmp_path, url, "b")
    assert b.lookup(KEY) == (None, "miss")
    assert b.warnings == [f"remote cache entry {KEY[:12]} is corrupt ({reason}); not used"]
    assert not list(b.staging_dir().iterdir())
    put(b)  # generated again: replaces the corrupt remote entry
    assert b.pushed == 1
    c = tier(tmp_path, url, "c")
    assert c.lookup(KEY)[1] == "remote" and c.warnings == []


def test_an_entry_of_another_format_is_neither_used_nor_replaced(tmp_path: Path, url: str) -> None:
    put(tier(tmp_path, url, "a"))
    meta = remote_dir(url) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "version": 2}))
    b = tier(tmp_path, url, "b")
    assert b.lookup(KEY) == (None, "miss")
    assert b.warnings == [f"remote cache entry {KEY[:12]} has format version 2, not 1; not used"]
    put(b)
    assert b.pushed == 0 and json.loads(meta.read_text())["version"] == 2


def test_a_different_clip_for_the_same_key_stays_the_remote_one(tmp_path: Path, url: str) -> None:
    theirs = put(tier(tmp_path, url, "a"), clip=b"theirs")
    b = tier(tmp_path, url, "b")
    put(b, clip=b"ours, generated at the same time")
    assert b.pushed == 0
    assert json.loads((remote_dir(url) / "meta.json").read_text())["clip_sha256"] == theirs.meta.clip_sha256


def test_a_last_frame_taken_later_is_added_to_the_remote_entry(tmp_path: Path, url: str) -> None:
    a = tier(tmp_path, url, "a")
    entry = put(a, frame=None)
    assert not (remote_dir(url) / "last_frame.png").exists()
    (a.staging_dir() / "later.png").write_bytes(PNG)
    a.add_last_frame(entry, a.staging_dir() / "later.png")
    assert a.pushed == 2
    pulled = tier(tmp_path, url, "b").get(KEY)
    assert pulled is not None and pulled.last_frame is not None and pulled.last_frame.read_bytes() == PNG


def test_a_local_entry_the_remote_lacks_is_pushed_when_next_used(tmp_path: Path, url: str) -> None:
    local = Cache(tmp_path / "a")
    put(local)  # e.g. a process killed during its push, or a render without --remote
    a = TieredCache(local, RemoteCache(url))
    assert a.lookup(KEY)[1] == "local"
    assert a.pushed == 1 and (remote_dir(url) / "meta.json").exists()
    a.lookup(KEY)
    assert a.pushed == 1  # marked as on the remote: not asked again


def test_an_unusable_remote_warns_once_and_the_local_cache_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the remote's directory should be")
    url = f"file://{blocker}/cache"
    a = tier(tmp_path, url, "a")
    assert a.lookup(OTHER) == (None, "miss")
    entry = put(a)
    assert a.get(KEY) == entry
    assert a.pushed == 0 and a.remote is not None and not a.remote.available
    assert a.warnings == [
        f"remote cache {url} is unreachable (NotADirectoryError: [Errno 20] Not a directory: '{blocker}/cache'); "
        "going on with the local cache"
    ]
    with pytest.raises(RemoteUnavailable, match="is unreachable: NotADirectoryError"):
        a.remote.require()


def test_a_read_only_remote_is_still_pulled_from(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    put(tier(tmp_path, url, "a"))

    def refused(*_args: object) -> None:  # what s3fs raises for AccessDenied (tests run as root: no chmod)
        raise PermissionError("Access Denied")

    monkeypatch.setattr(RemoteCache, "_place", refused)
    b = tier(tmp_path, url, "b")
    assert b.lookup(KEY)[1] == "remote"
    put(b, key=OTHER)
    put(b, key="aa" * 32)
    assert b.pushed == 0 and b.remote is not None and b.remote.available
    assert b.warnings == [f"remote cache {url} refuses writes (PermissionError: Access Denied); not pushing to it"]


def test_entries_and_verify_read_the_remote(tmp_path: Path, url: str) -> None:
    a = tier(tmp_path, url, "a")
    put(a)
    put(a, key=OTHER, clip=b"other")
    remote = RemoteCache(url)
    listed = dict(remote.entries())
    assert sorted(listed) == sorted([KEY, OTHER])
    assert listed[OTHER] is not None and listed[OTHER].clip_sha256 == hashlib.sha256(b"other").hexdigest()
    staging = tmp_path / "staging"
    staging.mkdir()
    assert remote.verify(KEY, staging) is None
    (remote_dir(url, OTHER) / "clip.mp4").write_bytes(b"otter")
    assert remote.verify(OTHER, staging) == "clip checksum mismatch"
    assert not list(staging.iterdir())


def test_a_pull_another_render_is_writing_locally_is_a_miss_not_a_crash(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(tier(tmp_path, url, "a"))
    b = tier(tmp_path, url, "b")

    def busy(*_args: object) -> CachedClip:
        raise CacheError(f"cache entry {KEY[:12]} is being written by another render")

    monkeypatch.setattr(b.local, "put", busy)
    assert b.lookup(KEY) == (None, "miss")
    assert not list(b.staging_dir().iterdir())
