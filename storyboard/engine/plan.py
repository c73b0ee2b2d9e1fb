"""Planning: a loaded storyboard -> the exact API request per shot, its cache key and its cost.

Owns: building each shot's request body (defaults resolved, local images as data URIs, frames
taken from other shots left as slots the render fills), one job per take of a shot (seeds and
the pick are ``takes``'s rules; a chained frame comes from the picked take), the dependency
graph, the cache key
(sha256 of canonical JSON of the resolved request with image *content* hashes, the upstream
shot's key for a chained frame, and the service identity) and token/cost estimates. Pure apart
from reading local image files. Must not import the client, render, assemble or the CLI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from storyboard.engine import lastframe, refinputs
from storyboard.engine.refinputs import Upstream, references
from storyboard.engine.takes import picked_take, take_id, take_seed
from storyboard.seedance.capabilities import (
    MODELS,
    PRICE_CURRENCY,
    PRICE_SOURCE,
    closest_ratio,
    pixel_size,
)
from storyboard.seedance.wire import (
    CreateBody,
    ImageInput,
    ImageRole,
    Options,
    create_body,
    media_url,
    with_media_url,
)
from storyboard.spec.images import ImageInfo, data_uri, inspect_image
from storyboard.spec.load import Loaded
from storyboard.spec.shots import ShotView, views

__all__ = ["CACHE_VERSION", "ChainedFrame", "Plan", "ShotJob", "canonical_json", "estimated_cost", "make_plan"]

CACHE_VERSION = 1  # bump when the meaning of a cached clip changes


def canonical_json(value: Any) -> str:
    """Sorted, compact, ASCII JSON: the same data always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class ChainedFrame:
    """A media item of a request taken from another shot, filled in when that shot is ready: its
    last frame (an image role), or its clip (``reference_video``: the clip's service URL)."""

    slot: int
    """Index into the request's ``content``."""
    upstream: str
    """Job id of the shot whose last frame (or clip) it is."""
    role: ImageRole | Literal["reference_video"]

    @property
    def is_clip(self) -> bool:
        return self.role == "reference_video"


@dataclass(frozen=True)
class ShotJob:
    """One take of one shot as one API task (most shots have one take: the job is the shot)."""

    id: str
    index: int
    request: CreateBody
    """The body sent to POST /seedance/videos; chained slots hold a placeholder url."""
    chained: tuple[ChainedFrame, ...]
    """Frames taken from other shots."""
    depends_on: tuple[str, ...]
    cache_key: str
    model: str
    width: int
    height: int
    seconds: float
    frames: int
    estimated_tokens: int
    estimated_cost: float | None
    has_audio: bool
    shot: str
    """The storyboard's shot id (`id` is the job's: ``shot#k`` for take k ≥ 2, prefixed in a batch)."""
    take: int
    """Which take of the shot this is (1-based)."""
    takes: int
    """How many takes the shot has."""
    picked: bool
    """The take the video uses, and the one chained shots take their frame from."""
    digests: dict[str, str] = field(default_factory=dict, repr=False)
    """data URI -> short description, for display."""
    assets: tuple[str, ...] = ()
    """Names of the storyboard assets the shot uses."""
    notes: tuple[str, ...] = ()
    """What `plan` should say about the shot's cost (audio on by default, billed video input)."""
    extends: str | None = None
    """Job id of the shot whose clip this one extends (``omni_reference_task_type: extend``)."""

    def display_request(self) -> CreateBody:
        """The request with data URIs shown as digests and chained slots named."""
        body = self.request
        for slot, item in enumerate(self.request["content"]):
            url = media_url(item)
            if url is not None and url in self.digests:
                body = with_media_url(body, slot, self.digests[url])
        return body

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "request": self.display_request(),
            "depends_on": list(self.depends_on),
            "cache_key": self.cache_key,
            "width": self.width,
            "height": self.height,
            "seconds": self.seconds,
            "frames": self.frames,
            "estimated_tokens": self.estimated_tokens,
            "estimated_cost": self.estimated_cost,
            "assets": list(self.assets),
            "notes": list(self.notes),
            "shot": self.shot,
            "take": self.take,
            "takes": self.takes,
            "picked": self.picked,
            "seed": self.request.get("seed"),
        }


@dataclass(frozen=True)
class Plan:
    """Every shot job of one storyboard, in dependency order (a shot only needs earlier ones)."""

    name: str
    service: str
    jobs: tuple[ShotJob, ...]

    @property
    def estimated_tokens(self) -> int:
        return sum(j.estimated_tokens for j in self.jobs)

    @property
    def estimated_cost(self) -> float | None:
        return estimated_cost(self.jobs)

    def asset_use(self) -> dict[str, list[str]]:
        """Asset name -> the shots that use it (a changed asset file re-generates exactly these)."""
        use: dict[str, list[str]] = {}
        for job in self.picked:  # one job per shot: takes share their shot's assets
            for name in job.assets:
                use.setdefault(name, []).append(job.shot)
        return use

    def job(self, shot_id: str) -> ShotJob:
        return next(j for j in self.jobs if j.id == shot_id)

    @property
    def picked(self) -> tuple[ShotJob, ...]:
        """The job of each shot that the video uses (its picked take), in storyboard order."""
        return tuple(j for j in self.jobs if j.picked)

    def dependants(self, shot_id: str) -> set[str]:
        """Shots that need `shot_id`'s frame, directly or through others."""
        out: set[str] = set()
        for job in self.jobs:
            if shot_id in job.depends_on or out.intersection(job.depends_on):
                out.add(job.id)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "shots": [j.to_json() for j in self.jobs],
            "assets": self.asset_use(),
            "estimated_tokens_total": self.estimated_tokens,
            "estimated_cost": self.estimated_cost,
            "currency": PRICE_CURRENCY,
            "price_source": PRICE_SOURCE,
        }


def estimated_cost(jobs: Iterable[ShotJob]) -> float | None:
    """Total estimated cost of `jobs`; None when a job's model has no published price."""
    costs = [j.estimated_cost for j in jobs]
    return None if any(c is None for c in costs) else round(sum(c for c in costs if c), 4)


def _chained_placeholder(shot_id: str) -> str:
    return f"<last frame of shot {shot_id}>"


def _digest(info: ImageInfo) -> str:
    return f"data:{info.mime};base64,<{info.size} bytes, {info.width}x{info.height}, sha256:{info.sha256[:12]}>"


def make_plan(
    loaded: Loaded, *, service: str, picks: Mapping[str, int] | None = None, takes: int | None = None
) -> Plan:
    """Plan every shot of a loaded (valid) storyboard for the service named `service`.

    `picks`: the take each shot uses (the lockfile's; default take 1); `takes`: --takes, which
    overrides every shot's and the defaults' ``takes``.
    """
    board = loaded.board
    all_views = views(board)
    chained_from = {ref.from_ for v in all_views for _, ref in v.images() if ref.from_}
    jobs: dict[str, ShotJob] = {}
    picked: dict[str, ShotJob] = {}  # shot id -> its picked take: what a chained frame comes from
    for view in all_views:
        count = takes or view.value("takes") or 1
        pick = picked_take(picks or {}, view.id, count)
        first = _job(view, loaded, service, picked, view.id in chained_from, _Take(1, count, pick))
        shot_jobs = [first] + [
            _job(view, loaded, service, picked, view.id in chained_from, _Take(k, count, pick), first.cache_key)
            for k in range(2, count + 1)
        ]
        jobs.update((j.id, j) for j in shot_jobs)
        picked[view.id] = shot_jobs[pick - 1]
    return Plan(board.name, service, tuple(jobs.values()))


@dataclass(frozen=True)
class _Take:
    number: int
    count: int
    pick: int


def _job(
    view: ShotView,
    loaded: Loaded,
    service: str,
    done: dict[str, ShotJob],
    chained_from: bool,
    take: _Take,
    first_key: str = "",
) -> ShotJob:
    caps = MODELS[view.model]
    images: list[ImageInput] = []
    keyed: list[object] = [{"type": "text", "text": view.shot.prompt}]
    chained: list[ChainedFrame] = []
    digests: dict[str, str] = {}
    first_size: tuple[int, int] | None = None
    for _, ref in view.images():
        key_part: dict[str, str]
        if ref.path:
            info = inspect_image(loaded.base_dir / ref.path)
            assert isinstance(info, ImageInfo), "load() checked every local image"
            url = data_uri(info)
            digests[url] = _digest(info)
            key_part, size = {"sha256": info.sha256}, (info.width, info.height)
        elif ref.url:
            url, key_part, size = ref.url, {"url": ref.url}, None
        else:
            upstream = done[str(ref.from_)]
            url = _chained_placeholder(upstream.id)
            key_part, size = {"from_key": upstream.cache_key}, (upstream.width, upstream.height)
            chained.append(ChainedFrame(slot=len(images) + 1, upstream=upstream.id, role=ref.role))
        if ref.role == "first_frame" and first_size is None:
            first_size = size
        images.append(ImageInput(url, ref.role))
        keyed.append({"image": key_part, "role": ref.role})

    def earlier(shot_id: str) -> Upstream:
        job = done[shot_id]
        return Upstream(job.id, job.cache_key, job.width, job.height, job.seconds)

    refs = references(view, loaded.base_dir, earlier)
    offset = 1 + len(images)  # reference items follow the text and the images
    chained += [ChainedFrame(slot=offset + i, upstream=up, role="reference_video") for i, up in refs.clips]
    keyed += refs.keyed
    digests.update(refs.digests)

    options: Options = {}
    seed = take_seed(view.value("seed"), take.number, first_key)
    if seed is not None:
        options["seed"] = seed
    for name in ("camerafixed", "watermark", "execution_expires_after", "output_format", "priority",
                 "safety_identifier"):  # fmt: skip
        if view.value(name) is not None:
            options[name] = view.value(name)
    if view.value("tools"):
        options["tools"] = [t.model_dump(mode="json", exclude_none=True) for t in view.value("tools")]
    if view.task_type is not None:
        options["omni_reference_task_type"] = view.task_type
    asked = view.value("generate_audio")
    notes: list[str] = []
    if asked is None and caps.references is not None:
        # 2.x makes audio unless told not to (Ark's default, §6.2); sent explicitly, since
        # AceData's own default is false (§1.2): the storyboard means the same on both
        asked = caps.references.generate_audio_default
        if asked:
            notes.append("audio is on (the 2.x default; generate_audio: false turns it off) and costs more")
    audio = bool(asked) and caps.audio
    if caps.audio and asked is not None:
        options["generate_audio"] = audio
    if lastframe.requested(chained_from=chained_from, asked=bool(view.value("return_last_frame"))):
        options["return_last_frame"] = True
    request = create_body(
        model=view.model,
        prompt=view.shot.prompt,
        images=images,
        resolution=view.resolution,
        ratio=view.ratio,
        length=view.length,
        options=options,
        references=refs.inputs,
    )

    ratio = view.ratio
    first_size = first_size or refs.first_size
    if ratio == "adaptive":
        ratio = closest_ratio(*first_size) if first_size else "16:9"
    width, height = pixel_size(view.model, view.resolution, ratio)
    frames = view.frame_count
    tokens = width * height * frames // 1024
    price = caps.price_per_mtok_audio if audio else caps.price_per_mtok
    if refs.video_seconds and caps.price_per_mtok_video_input is not None:
        # §11.1: with video input, 2.0 bills input and output seconds at the video-input price
        seconds_in = sum(refs.video_seconds)
        tokens = width * height * (round(24 * seconds_in) + frames) // 1024
        price = caps.price_per_mtok_video_input
        notes.append(
            f"billed for {seconds_in:g} s of reference video as well (each clip counted as at least "
            f"{refinputs.VIDEO_INPUT_FLOOR_SECONDS:g} s; the service's minimum is not published)"
        )
    cost = None if price is None else round(tokens / 1_000_000 * price, 4)
    key_doc = {
        "v": CACHE_VERSION,
        "service": service,
        "request": {**lastframe.key_fields(request), "content": keyed},
    }
    cache_key = hashlib.sha256(canonical_json(key_doc).encode()).hexdigest()
    return ShotJob(
        id=take_id(view.id, take.number),
        index=view.index,
        request=request,
        chained=tuple(chained),
        depends_on=tuple(dict.fromkeys(c.upstream for c in chained)),
        cache_key=cache_key,
        model=view.model,
        width=width,
        height=height,
        seconds=view.seconds,
        frames=frames,
        estimated_tokens=tokens,
        estimated_cost=cost,
        has_audio=audio,
        shot=view.id,
        take=take.number,
        takes=take.count,
        picked=take.number == take.pick,
        digests=digests,
        assets=tuple(refs.assets),
        notes=tuple(notes),
        extends=_extended(view, chained),
    )


def _extended(view: ShotView, chained: list[ChainedFrame]) -> str | None:
    if view.task_type != "extend":
        return None
    return next((c.upstream for c in chained if c.is_clip), None)
