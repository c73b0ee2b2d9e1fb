"""The shared remote cache: the local cache's entries on S3 (AWS, MinIO, R2), GCS, Azure or a share.

Owns: checking a remote URL (``check_url``: ``s3://bucket/prefix``, ``gs://``, ``az://``,
``file:///mnt/team/cache``), the remote layout — the local cache's own,
``clips/<key[:2]>/<key>/{clip.mp4, last_frame.png, meta.json}`` —, writes a reader never sees
half of (object stores: one PUT per object, atomic by the store; ``file://``: a temporary name,
fsync, rename; ``meta.json`` always last: it is the commit mark, an entry without it does not
exist), verification of everything pulled against its ``meta.json`` (size and sha256: a
corrupt or partial object is a miss with a warning, never used) and degrading to "no remote"
on the first failure to reach it: one warning, and the caller goes on with its local cache.

Credentials come only from the store's standard chains (botocore's for s3: environment,
``~/.aws``, instance roles; the endpoint from ``AWS_ENDPOINT_URL``) and are never written or
printed: a URL carrying credentials is refused, and messages are scrubbed of secret-looking
environment values. fsspec and its backends (s3fs, gcsfs, adlfs) are imported on first use, so
commands that never touch a remote never pay for them.

Must not import spec, engine, seedance, assemble, emulator or the CLI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from storyboard.errors import CacheError
from storyboard.store.atomic import fsync_dir
from storyboard.store.cache import META_VERSION, ClipMeta, sha256_file

__all__ = ["PushResult", "Pulled", "RemoteCache", "RemoteUnavailable", "check_url"]

log = logging.getLogger(__name__)

# scheme -> the fsspec backend package it needs (None: built in)
_BACKENDS: dict[str, str | None] = {
    "s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs", "abfss": "adlfs",
    "file": None,
}  # fmt: skip
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|CREDENTIAL|ACCESS_KEY|ACCOUNT_KEY|SAS", re.IGNORECASE)

PushResult = Literal["pushed", "present", "failed"]


class RemoteUnavailable(CacheError):
    """The remote cache cannot be used (unreachable, no credentials, no bucket, backend missing)."""


class _Corrupt(Exception):
    """A remote entry that fails verification; the message says how."""


class _Foreign(Exception):
    """A remote entry written by another version of the format: not ours to read or replace."""


def check_url(url: str) -> str:
    """`url` normalised (no trailing slash), or ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        raise ValueError(f"{url!r} is not a URL: expected s3://bucket/prefix, gs://bucket/prefix, "
                         "az://container/prefix or file:///path")  # fmt: skip
    if scheme not in _BACKENDS:
        raise ValueError(f'unsupported scheme "{scheme}://" in {url!r} (use s3://, gs://, az:// or file://)')
    if "@" in parts.netloc:
        raise ValueError("credentials do not belong in the URL: use the store's standard settings "
                         "(e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role)")  # fmt: skip
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a remote cache URL takes no ?query or #fragment")
    path = parts.path.rstrip("/")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not path:
            raise ValueError(f"{url!r}: a file URL names an absolute path, e.g. file:///mnt/team/cache")
        return f"file://{path}"
    if not parts.netloc:
        raise ValueError(f"{url!r} names no bucket: expected {scheme}://bucket/prefix")
    return f"{scheme}://{parts.netloc}{path}"


def _scrub(text: str) -> str:
    """`text` with the values of secret-looking environment variables blanked out."""
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    return text


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, ImportError):
        return first
    return _scrub(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


@dataclass(frozen=True)
class Pulled:
    """A verified remote entry, downloaded into temporary files the caller now owns."""

    meta: ClipMeta
    clip: Path
    last_frame: Path | None


class RemoteCache:
    """Clips by cache key under a remote URL; thread-safe; never raises from ``fetch``/``push``."""

    def __init__(self, url: str, *, storage_options: dict[str, Any] | None = None) -> None:
        self.url = check_url(url)
        self.scheme = self.url.split("://", 1)[0]
        self.warnings: list[str] = []
        self._options = dict(storage_options or {})
        self._lock = threading.Lock()
        self._fs: Any = None
        self._root = ""
        self._state: Literal["new", "up", "down"] = "new"
        self._problem = ""
        self._writable = True
        self._bad: set[str] = set()  # keys whose remote entry failed verification this run
        # s3fs sizes an object (HEAD, and a listing on 404) before a concurrent GET; a meta.json is
        # small: one plain GET, so a miss costs one request
        self._small: dict[str, Any] = {"max_concurrency": 1} if self.scheme in ("s3", "s3a") else {}

    def __repr__(self) -> str:
        return f"RemoteCache({self.url!r})"

    @property
    def available(self) -> bool:
        """False once the remote proved unusable (then every call is a no-op)."""
        return self._state != "down"

    @property
    def id(self) -> str:
        """A short stable name of this remote (for local bookkeeping)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    # -- connection ------------------------------------------------------------------------

    def require(self) -> None:
        """Connect now; RemoteUnavailable (with the reason) when the remote cannot be used."""
        if self._open() is None:
            raise RemoteUnavailable(f"remote cache {self.url} is unreachable: {self._problem}")

    def _open(self) -> Any:
        """The file system, connected and probed once; None once the remote is down."""
        with self._lock:
            if self._state == "new":
                try:
                    self._fs, self._root = self._connect()
                    self._probe()
                    self._state = "up"
                except Exception as exc:  # any backend's failure to connect means "no remote"
                    self._go_down(exc)
            return self._fs if self._state == "up" else None

    def _connect(self) -> tuple[Any, str]:
        backend = _BACKENDS[self.scheme]
        import fsspec.core  # a dependency of storyboard; its backends are not

        options: dict[str, Any] = {"skip_instance_cache": True}
        if self.scheme in ("s3", "s3a"):
            config: dict[str, Any] = {"connect_timeout": 10, "read_timeout": 60}
            if not {"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"} & set(os.environ):
                # botocore's default retries a refused connection for ~9 s; an unreachable remote
                # should cost a render about a second, once
                config["retries"] = {"max_attempts": 2, "mode": "standard"}
            options["config_kwargs"] = config
        options.update(self._options)
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError:
            how = "'storyboard[remote]'" if backend == "s3fs" else backend
            raise ImportError(f"{self.scheme}:// needs the {backend} package: pip install {how}") from None
        return fs, str(root).rstrip("/")

    def _probe(self) -> None:
        """Fail now, once, when the remote is unusable, rather than on every lookup."""
        if self.scheme == "file":
            self._fs.makedirs(self._root, exist_ok=True)
            return
        bucket = self._root.split("/", 1)[0]
        try:
            self._fs.info(bucket)
        except FileNotFoundError:
            raise FileNotFoundError(f"bucket {bucket!r} does not exist") from None
        except PermissionError:
            pass  # may read and write objects without listing the bucket: find out on use

    def _go_down(self, exc: BaseException) -> None:
        """(Lock held.) Stop using the remote; warn once."""
        if self._state == "down":
            return
        self._state, self._problem = "down", _reason(exc)
        self._warn(f"remote cache {self.url} is unreachable ({self._problem}); going on with the local cache")

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._go_down(exc)

    def _warn(self, message: str) -> None:
        log.info(message)  # the CLI prints `warnings`; a library caller reads them there
        self.warnings.append(message)

    # -- layout ----------------------------------------------------------------------------

    def _entry(self, key: str) -> str:
        return f"{self._root}/clips/{key[:2]}/{key}"

    def _place(self, fs: Any, src: Path | bytes, dest: str) -> None:
        """Write one object so that a reader sees the old one or the whole new one."""
        if self.scheme != "file":  # an object store's PUT (and multipart complete) is atomic
            if isinstance(src, bytes):
                fs.pipe_file(dest, src)
            else:
                fs.put_file(str(src), dest)
            return
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # unique per writer
        try:
            with open(tmp, "wb") as out:
                if isinstance(src, bytes):
                    out.write(src)
                else:
                    with open(src, "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)

    def _meta(self, fs: Any, key: str) -> ClipMeta | None:
        """The entry's meta.json: None when absent; _Corrupt when unreadable; _Foreign when
        written by another version of the format."""
        try:
            raw = json.loads(fs.cat_file(f"{self._entry(key)}/meta.json", **self._small))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise _Corrupt(f"meta.json: {exc}") from None
        version = raw.get("version", META_VERSION) if isinstance(raw, dict) else None
        if version != META_VERSION:
            raise _Foreign(f"format version {version!r}, not {META_VERSION}")
        try:
            return ClipMeta.model_validate(raw)
        except ValidationError as exc:
            raise _Corrupt(f"meta.json: {exc.error_count()} invalid field(s)") from None

    def _download(self, fs: Any, src: str, staging: Path, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(dir=staging, prefix=".pull-", suffix=suffix)  # unique per writer
        os.close(fd)
        try:
            fs.get_file(src, name)
        except FileNotFoundError:
            Path(name).unlink(missing_ok=True)
            raise _Corrupt(f"{src.rsplit('/', 1)[-1]} is missing") from None
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _pull(self, fs: Any, key: str, meta: ClipMeta, staging: Path) -> Pulled:
        """Download and verify `key`'s files (_Corrupt on a mismatch; nothing left behind)."""
        folder = self._entry(key)
        got: list[Path] = []
        try:
            got.append(clip := self._download(fs, f"{folder}/clip.mp4", staging, ".mp4"))
            size = clip.stat().st_size
            if size != meta.clip_bytes:
                raise _Corrupt(f"clip is {size} bytes, meta.json says {meta.clip_bytes}")
            if sha256_file(clip) != meta.clip_sha256:
                raise _Corrupt("clip checksum mismatch")
            frame: Path | None = None
            if meta.last_frame_sha256 is not None:
                got.append(frame := self._download(fs, f"{folder}/last_frame.png", staging, ".png"))
                if sha256_file(frame) != meta.last_frame_sha256:
                    raise _Corrupt("last frame checksum mismatch")
        except BaseException:
            for path in got:
                path.unlink(missing_ok=True)
            raise
        return Pulled(meta, clip, frame)

    # -- the cache -------------------------------------------------------------------------

    def fetch(self, key: str, staging: Path) -> Pulled | None:
        """`key`'s verified entry downloaded into `staging`, or None (absent, corrupt: warned,
        another format: warned, remote down: warned once)."""
        fs = self._open()
        if fs is None:
            return None
        try:
            meta = self._meta(fs, key)
            return None if meta is None else self._pull(fs, key, meta, staging)
        except _Corrupt as exc:
            with self._lock:
                self._bad.add(key)
                self._warn(f"remote cache entry {key[:12]} is corrupt ({exc}); not used")
        except _Foreign as exc:
            self._warn(f"remote cache entry {key[:12]} has {exc}; not used")
        except Exception as exc:
            self._fail(exc)
        return None

    def push(self, key: str, clip: Path, last_frame: Path | None, meta: ClipMeta) -> PushResult:
        """Upload a verified local entry unless the remote has it: clip, last frame, then meta.json.

        A remote entry with another clip for the key (generated elsewhere at the same time) is
        left alone; one that failed verification this run is replaced; a last frame the remote
        entry lacks is added.
        """
        fs = self._open()
        if fs is None or not self._writable:
            return "failed"
        folder = self._entry(key)
        try:
            try:
                theirs = self._meta(fs, key)
                present = theirs is not None
            except _Corrupt:
                theirs, present = None, True
            if theirs is not None and key not in self._bad:
                if theirs.clip_sha256 != meta.clip_sha256 or theirs.last_frame_sha256 or not last_frame:
                    return "present"
                self._place(fs, last_frame, f"{folder}/last_frame.png")  # same clip, frame taken later
            else:
                if present:  # a corrupt entry: hide it while it is replaced
                    fs.rm_file(f"{folder}/meta.json")
                self._place(fs, clip, f"{folder}/clip.mp4")
                if last_frame is not None:
                    self._place(fs, last_frame, f"{folder}/last_frame.png")
            self._place(fs, meta.model_dump_json(indent=2).encode(), f"{folder}/meta.json")
        except _Foreign:
            return "present"  # another format's entry: not ours to replace
        except PermissionError as exc:
            with self._lock:
                if self._writable:
                    self._writable = False
                    self._warn(f"remote cache {self.url} refuses writes ({_reason(exc)}); not pushing to it")
            return "failed"
        except Exception as exc:
            self._fail(exc)
            return "failed"
        with self._lock:
            self._bad.discard(key)
        return "pushed"

    # -- inventory (for `storyboard cache`: these raise RemoteUnavailable) -----------------

    def entries(self) -> Iterator[tuple[str, ClipMeta | None]]:
        """Every committed entry (one with a meta.json): its key and meta (None: unreadable)."""
        self.require()
        try:
            paths = sorted(self._fs.glob(f"{self._root}/clips/*/*/meta.json"))
            contents = self._fs.cat(paths, on_error="return", **self._small) if paths else {}
        except Exception as exc:
            raise RemoteUnavailable(f"remote cache {self.url}: {_reason(exc)}") from None
        for path in paths:
            key = path.rsplit("/", 2)[-2]
            data = contents.get(path)
            try:
                meta = ClipMeta.model_validate_json(data) if isinstance(data, bytes) else None
            except ValueError:
                meta = None
            yield key, meta

    def verify(self, key: str, staging: Path) -> str | None:
        """Download and check `key`'s entry: None when sound, else what is wrong with it."""
        self.require()
        try:
            meta = self._meta(self._fs, key)
            if meta is None:
                return "meta.json is missing"
            pulled = self._pull(self._fs, key, meta, staging)
        except (_Corrupt, _Foreign) as exc:
            return str(exc)
        except Exception as exc:
            raise RemoteUnavailable(f"remote cache {self.url}: {_reason(exc)}") from None
        for path in (pulled.clip, pulled.last_frame):
            if path is not None:
                path.unlink(missing_ok=True)
        return None
