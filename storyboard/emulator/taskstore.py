"""The emulator's task store and task lifecycle.

Owns: the task record of docs/protocol.md §2/§13 (``id, created_at, started_at, finished_at,
elapsed, request, trace_id, type, response``; ``response`` and ``finished_at`` null and no
``elapsed`` while the task runs, as AceData's SDK's own tests show: a record without the
``response`` key sends the SDK looking for the result in ``request``), the lifecycle (queued
while the model's concurrency of §11.3 is used up, then running for ``latency`` seconds, then
succeeded or failed), the requests-per-minute limit of §11.3, the result and failure bodies
(§1.5, §2, §4.3; the result reports the seed used: the request's, or one derived from the
request for −1 / none), image and reference media fetching (only the emulator's own files; any
other remote URL fails like the service's "fetch failed"; a fetched file breaking a §9 limit
fails the task with ``InvalidParameter``), what an ``extend``/``edit`` task makes of its source
video (§7), the call to the clip synthesiser, and the best-effort callback POST (§3).

Must not import anything from the package except ``storyboard.seedance.capabilities`` (data).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import shutil
import string
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from storyboard.seedance.capabilities import FPS, MODELS, closest_ratio, pixel_size

from .clips import SourceVideo, SynthesisRequest, render_clip
from .faults import FaultState
from .fields import BadRequest
from .media import first_frame
from .references import FetchFailed, Resolved, resolve
from .requestlog import shorten
from .usage import completion_tokens
from .validate import ImageInput, Job

__all__ = ["Task", "TaskStore"]

_CALLBACK_TIMEOUT = 5.0  # seconds; Ark gives a callback receiver 5 s too (§3)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback stays direct


class _TaskFailed(Exception):
    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message


@dataclass
class Task:
    """One generation task; mutable only by its worker thread, read under the store's lock."""

    id: str
    trace_id: str
    job: Job
    request: dict[str, Any]  # the create body, base64 shortened
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    response: dict[str, Any] | None = None
    http_status: int = 200  # what a synchronous create answers with
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def status(self) -> str:
        if self.response is None:
            return "processing" if self.started_at is not None else "pending"
        return "succeeded" if self.response.get("success") else "failed"

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"id": self.id, "created_at": self.created_at}
        if self.started_at is not None:
            rec["started_at"] = self.started_at
        finished = self.finished_at if self.response is not None else None
        rec["finished_at"] = finished  # null while running (DOCS-OAS allows it, the SDK expects it)
        if finished is not None:
            rec["elapsed"] = round(finished - self.created_at, 3)
        rec.update(request=self.request, trace_id=self.trace_id, type="videos", response=self.response)
        return rec


def _derived_seed(request: dict[str, Any]) -> int:
    """A seed in 0 … 4294967295 from the request: the same request always gets the same one."""
    rest = {k: v for k, v in request.items() if k != "seed"}  # -1 and no seed ask the same
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _ark_id(created: float) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(created))
    return f"cgt-{stamp}-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))


class TaskStore:
    """All tasks of one emulator, and the worker threads that finish them."""

    def __init__(
        self,
        *,
        latency: float,
        files_dir: Path,
        file_url: Callable[[str], str],
        local_file: Callable[[str], Path | None],
        faults: FaultState,
        count: Callable[[str], None],
        limits: bool = True,
        rate: tuple[int, float] | None = None,
    ) -> None:
        self.latency = latency
        self.limits = limits
        self.rate = rate
        self.files_dir = files_dir
        self._file_url = file_url
        self._local_file = local_file
        self._faults = faults
        self._count = count
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._render_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        # §11.3: per model, at most `concurrency` tasks run (the rest wait, queued) and at most
        # `rpm` tasks are created a minute (more is a 429 at create time).
        self._running = {m: threading.BoundedSemaphore(c.concurrency) for m, c in MODELS.items()}
        self._created: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def admit(self, model: str) -> bool:
        """Count a create against the model's requests-per-minute; False when over it."""
        if not self.limits:
            return True
        now = time.monotonic()
        with self._lock:
            recent = self._created[model]
            limit, window = self.rate or (MODELS[model].rpm, 60.0)
            while recent and recent[0] <= now - window:
                recent.popleft()
            if len(recent) >= limit:
                return False
            recent.append(now)
            return True

    def create(self, job: Job, body: dict[str, Any], trace_id: str) -> Task:
        request = shorten(body)
        if job.seed == -1:  # §1: -1 or none is "random"; the result reports the seed used (§1.5)
            job = replace(job, seed=_derived_seed(request))
        task = Task(str(uuid.uuid4()), trace_id, job, request, round(time.time(), 3))
        worker = threading.Thread(target=self._run, args=(task,), name=f"task-{task.id[:8]}", daemon=True)
        with self._lock:
            self._tasks[task.id] = task
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return task

    def get(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else task.record()

    def wait(self, task: Task) -> bool:
        """Block until the task ends (True) or the emulator stops (False)."""
        while not task.done.wait(0.1):
            if self._stopping.is_set():
                return False
        return True

    def status_counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for task in self._tasks.values():
                counts[task.status] = counts.get(task.status, 0) + 1
            return counts

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for worker in list(self._workers):
            worker.join(max(0.0, deadline - time.monotonic()))

    # -- worker --------------------------------------------------------------------------

    def _run(self, task: Task) -> None:
        slot = self._running[task.job.model] if self.limits else None
        while slot is not None and not slot.acquire(timeout=0.1):
            if self._stopping.is_set():
                return
        try:
            with self._lock:
                task.started_at = round(time.time(), 3)
            try:
                response, status = self._succeed(task), 200
            except _TaskFailed as exc:
                response, status = self._failure(task, exc.code, exc.message), exc.http_status
            except Exception as exc:  # a broken render must end the task, not hang its pollers
                response, status = self._failure(task, "api_error", f"Internal server error. ({exc})"), 500
            if self._stopping.is_set():
                return
            with self._lock:  # finished before the slot frees: a queued task starts after this
                task.finished_at = round(time.time(), 3)
                task.response, task.http_status = response, status
                task.job = replace(task.job, images=(), media=())  # decoded media are big; records never need them
        finally:
            if slot is not None:
                slot.release()
        task.done.set()
        if task.job.callback_url:
            self._callback(task.job.callback_url, response)

    def _sleep_until(self, when: float) -> None:
        self._stopping.wait(max(0.0, when - time.time()))

    def _image(self, item: ImageInput | None) -> Image.Image | None:
        if item is None or item.image is not None:
            return None if item is None else item.image
        path = self._local_file(item.url)
        if path is None:
            # The service fetches remote images itself; the emulator has no network (§4.1).
            raise _TaskFailed(500, "api_error", "fetch failed")
        try:
            img = Image.open(path)
            with img:  # not `with Image.open(...) as img`: Pillow leaves __enter__ untyped (Any)
                return img.convert("RGB")
        except OSError:
            raise _TaskFailed(400, "InvalidImageURL.InvalidFormat",
                              f"The image at {item.url} could not be decoded.") from None  # fmt: skip

    def _references(self, task: Task) -> list[Resolved]:
        try:
            scratch = self.files_dir / f".{task.id}-refs"  # dot: never served
            return resolve(task.job.media, MODELS[task.job.model], self._local_file, scratch)
        except FetchFailed:
            raise _TaskFailed(500, "api_error", "fetch failed") from None
        except BadRequest as exc:
            raise _TaskFailed(400, "InvalidParameter", str(exc)) from None

    def _succeed(self, task: Task) -> dict[str, Any]:
        try:
            return self._generate(task)
        finally:
            shutil.rmtree(self.files_dir / f".{task.id}-refs", ignore_errors=True)

    def _generate(self, task: Task) -> dict[str, Any]:
        job, caps = task.job, MODELS[task.job.model]
        first, last = self._image(job.image("first_frame")), self._image(job.image("last_frame"))
        refs = [img for img in (self._image(r) for r in job.images if r.role == "reference_image") if img is not None]
        media = self._references(task)
        videos = [r for r in media if r.item.role == "reference_video" and r.info.size is not None]
        source = videos[0] if job.task_type in ("edit", "extend") and videos else None
        ratio = job.ratio
        if ratio == "adaptive":  # §9: the first frame, else the first video, else the first reference image
            shape = first.size if first is not None else videos[0].info.size if videos else None
            shape = shape or (refs[0].size if refs else None)
            ratio = closest_ratio(*shape) if shape is not None else "16:9"
        width, height = pixel_size(job.model, job.resolution, ratio)
        frames, duration, src = job.frames, job.duration, None
        if source is not None and source.info.size is not None:
            include = (
                job.task_type == "extend" and caps.references is not None and caps.references.extend_includes_source
            )
            src = SourceVideo(source.path, source.info.size, source.info.frames, str(job.task_type), include)
            if job.task_type == "edit":  # §7: an edit keeps its source's length (duration -1)
                frames, duration = source.info.frames, round(source.info.seconds)
            elif include:  # the source, then the continuation's frames after its first
                frames = source.info.frames + job.frames - 1
        thumbs = refs + [
            Image.fromarray(first_frame(v.path, v.info.size)) for v in videos if v is not source and v.info.size
        ]
        doomed = self._faults.fails(job.prompt)
        if doomed is None and not self._stopping.is_set():
            video = self.files_dir / f"{task.id}.{job.output_format}"
            frame = self.files_dir / f"{task.id}-last.png" if job.return_last_frame else None
            mix = tuple(r.path for r in media if r.item.role == "reference_audio")
            request = SynthesisRequest(width=width, height=height, frames=frames, ratio=ratio,
                                       prompt=job.prompt, seed=job.seed, first=first, last=last,
                                       camerafixed=job.camerafixed, watermark=job.watermark,
                                       audio=job.generate_audio, references=tuple(thumbs), source=src,
                                       mix=mix, container=job.output_format)  # fmt: skip
            with self._render_slots:
                render_clip(request, video, frame)
        assert task.started_at is not None
        self._sleep_until(task.started_at + self.latency)
        if doomed is not None:
            raise _TaskFailed(400, "OutputVideoSensitiveContentDetected",
                              "The request failed because the output video may contain sensitive "
                              f"information. Request id: {task.trace_id}")  # fmt: skip
        data: dict[str, Any] = {
            "task_id": _ark_id(task.created_at),
            "status": "succeeded",
            "video_url": self._file_url(f"{task.id}.{job.output_format}"),
            "last_frame_url": self._file_url(f"{task.id}-last.png") if job.return_last_frame else None,
            "model": job.model,
        }
        data.update({"duration": duration} if duration is not None else {"frames": frames})
        seconds = duration if duration is not None else frames / FPS
        video_seconds = sum(v.info.seconds for v in videos) if videos else None
        tokens = completion_tokens(job.model, width, height, frames, seconds, video_seconds)
        data.update(resolution=job.resolution, ratio=ratio, seed=job.seed,
                    usage={"completion_tokens": tokens, "total_tokens": tokens})  # fmt: skip
        return {"success": True, "task_id": task.id, "trace_id": task.trace_id, "data": data}

    @staticmethod
    def _failure(task: Task, code: str, message: str) -> dict[str, Any]:
        return {"success": False, "task_id": task.id, "trace_id": task.trace_id,
                "error": {"code": code, "message": message}}  # fmt: skip

    def _callback(self, url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with _NO_PROXY.open(request, timeout=_CALLBACK_TIMEOUT) as answer:
                answer.read()
            self._count("callbacks")
        except (OSError, ValueError):
            self._count("callbacks_failed")  # best effort, like the service: no retries
