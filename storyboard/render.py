"""`render()`: a loaded storyboard -> generated clips -> one assembled video and a JSON report.

Owns: the order of a render (plan -> schedule generation -> assemble -> report), the output
and report paths, turning shot outcomes into assembly clips (seamless joins for chained shots),
the failure summary (which shot, the service's code and message, what to change) and the
report. Prints nothing (progress goes through the scheduler's events) and reads no environment;
the CLI builds the client, cache and journal. MoviePy arrives only through assembly, imported
when assembly starts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storyboard.cache import Cache, sha256_file, write_atomic
from storyboard.capabilities import MODELS, PRICE_CURRENCY
from storyboard.client import SeedanceClient
from storyboard.errors import APIError, BadRequestError, GenerationFailed, RenderError
from storyboard.journal import Journal
from storyboard.load import Loaded
from storyboard.plan import Plan, ShotJob, canonical_json
from storyboard.scheduler import Event, PollPolicy, Scheduler, ShotOutcome
from storyboard.templating import slug

__all__ = ["RenderOptions", "RenderResult", "default_jobs", "output_path", "render", "report_path"]


@dataclass(frozen=True)
class RenderOptions:
    """How to run one render."""

    output: Path
    jobs: int | None = None
    force: set[str] | Literal[True] | None = None
    poll: PollPolicy = PollPolicy()
    preview: bool = False


@dataclass(frozen=True)
class RenderResult:
    """What a successful render produced."""

    output: Path
    report_path: Path
    report: dict[str, Any]


def output_path(loaded: Loaded) -> Path:
    """`output.path` (relative to the storyboard), default ``out/<name>.mp4``."""
    rel = loaded.board.output.path or f"out/{slug(loaded.board.name)}.mp4"
    return loaded.base_dir / rel


def report_path(output: Path) -> Path:
    """The JSON report beside the video: ``out/film.mp4`` -> ``out/film.report.json``."""
    return output.with_name(output.stem + ".report.json")


def default_jobs(plan: Plan) -> int:
    """The service's documented concurrency for the plan's models (the smallest of them)."""
    return min((MODELS[j.model].concurrency for j in plan.jobs), default=1)


def render(
    loaded: Loaded,
    plan: Plan,
    *,
    client: SeedanceClient,
    cache: Cache,
    journal: Journal,
    options: RenderOptions,
    on_event: Callable[[Event], None] = lambda _e: None,
) -> RenderResult:
    """Generate what the cache lacks, assemble the video, write the report."""
    started = time.monotonic()
    scheduler = Scheduler(
        plan,
        client=client,
        cache=cache,
        journal=journal,
        jobs=options.jobs or default_jobs(plan),
        force=options.force,
        poll=options.poll,
        on_event=on_event,
    )
    outcomes = scheduler.run()
    failed = {sid: o for sid, o in outcomes.items() if o.state in ("failed", "blocked")}
    if failed:
        raise RenderError(
            {sid: o.error or RuntimeError("blocked") for sid, o in failed.items()},
            failure_summary(plan, outcomes),
        )
    generated_at = time.monotonic()

    from storyboard.assemble import ClipSpec, assemble  # MoviePy: only when we get here

    board = loaded.board
    clips = []
    for index, job in enumerate(plan.jobs):
        entry = outcomes[job.id].entry
        assert entry is not None, "every shot is cached or done here"
        clips.append(
            ClipSpec(
                path=entry.clip,
                trim=board.setting(index, "trim"),
                transition=board.setting(index, "transition"),
                caption=board.setting(index, "caption"),
                volume=_or(board.setting(index, "volume"), 1.0),
                continues_previous=_continues_previous(plan, index),
            )
        )
    music_file = _music_file(loaded, client, cache)
    key = _assembly_key(loaded, clips, outcomes, plan, music_file, options.preview)
    rpath = report_path(options.output)
    previous = _unchanged_assembly(rpath, options.output, key)
    if previous is not None:
        assembly_info = {**previous, "skipped": "output is up to date (same clips and settings)"}
    else:
        assembly_info = assemble(
            clips,
            board.output,
            options.output,
            base_dir=loaded.base_dir,
            music_file=music_file,
            preview=options.preview,
        ).to_dict()
        assembly_info["output_sha256"] = sha256_file(options.output)
        assembly_info["key"] = key
    report = _report(loaded, plan, outcomes, scheduler.polls, assembly_info, options.output)
    report["timings"] = {
        "generation_seconds": round(generated_at - started, 3),
        "assembly_seconds": round(time.monotonic() - generated_at, 3),
        "total_seconds": round(time.monotonic() - started, 3),
    }
    write_atomic(rpath, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    return RenderResult(options.output, rpath, report)


def _assembly_key(
    loaded: Loaded,
    clips: list[Any],
    outcomes: dict[str, ShotOutcome],
    plan: Plan,
    music_file: Path | None,
    preview: bool,
) -> str:
    """Everything the assembled video depends on: clip contents, per-clip edits, settings, files."""
    base = loaded.base_dir
    files = [music_file] + [base / f for f in _assembly_files(loaded) if (base / f).is_file()]
    doc = {
        "clips": [
            [outcomes[j.id].entry.meta["clip_sha256"] if outcomes[j.id].entry else None,
             repr(c.trim), repr(c.transition), repr(c.caption), c.volume, c.continues_previous]
            for j, c in zip(plan.jobs, clips)
        ],
        "output": loaded.board.output.model_dump(mode="json"),
        "files": [sha256_file(f) if f and f.is_file() else None for f in files],
        "preview": preview,
    }  # fmt: skip
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _assembly_files(loaded: Loaded) -> list[str]:
    """Local files assembly reads besides the clips (music, fonts)."""
    board = loaded.board
    names = [board.output.music.path if board.output.music else None, board.output.font]
    names.append(board.output.title.font if board.output.title else None)
    names += [board.setting(i, "caption").font for i in range(len(board.shots)) if board.setting(i, "caption")]
    return [n for n in names if n]


def _unchanged_assembly(rpath: Path, output: Path, key: str) -> dict[str, Any] | None:
    """The previous assembly's report when the output on disk is exactly what `key` would make."""
    try:
        previous = json.loads(rpath.read_text(encoding="utf-8"))["assembly"]
        if previous.get("key") == key and sha256_file(output) == previous.get("output_sha256"):
            return dict(previous)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _continues_previous(plan: Plan, index: int) -> bool:
    """True when shot `index` starts on the previous shot's last frame (a chained join)."""
    if index == 0:
        return False
    job, previous = plan.jobs[index], plan.jobs[index - 1].id
    first_frames = [
        upstream
        for slot, upstream in job.chained
        if job.request["content"][slot].get("role") == "first_frame"
    ]
    return first_frames == [previous]


def _music_file(loaded: Loaded, client: SeedanceClient, cache: Cache) -> Path | None:
    """A music URL is downloaded once into the cache; a path is assembly's business."""
    music = loaded.board.output.music
    if music is None or music.url is None:
        return None
    name = hashlib.sha256(music.url.encode()).hexdigest()
    suffix = Path(music.url.split("?")[0]).suffix[:8] or ".audio"
    dest = cache.root / "music" / f"{name}{suffix}"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.download(music.url, dest)
    return dest


def _hint(error: Exception | None, shot: str) -> str:
    if isinstance(error, GenerationFailed):
        code = error.code.lower()
        if "sensitive" in code or "moderation" in code:
            return "rephrase the prompt or replace the images, then render again"
        if "expire" in code or "timeout" in error.message.lower():
            return "the service gave up on the task; render again (raise execution_expires_after if it keeps happening)"
        return "render again; if it fails the same way, change the shot"
    if isinstance(error, BadRequestError):
        return "fix the shot's settings as the message says"
    if isinstance(error, APIError) and error.maybe_submitted:
        return f"check the AceData console, then rerun with --force {shot} if no task is running for it"
    return "render again to retry (finished shots are cached)"


def failure_summary(plan: Plan, outcomes: dict[str, ShotOutcome]) -> str:
    """One line per failed or blocked shot: what happened and what to change."""
    lines = []
    for job in plan.jobs:
        o = outcomes[job.id]
        if o.state == "failed":
            lines.append(f'shot "{job.id}" failed: {o.error} — {_hint(o.error, job.id)}')
        elif o.state == "blocked":
            ups = [d for d in job.depends_on if outcomes[d].state in ("failed", "blocked")]
            lines.append(f'shot "{job.id}" not generated: it needs "{", ".join(ups)}", which did not finish')
    done = sum(o.state in ("cached", "done") for o in outcomes.values())
    lines.append(f"{done} of {len(plan.jobs)} shots are generated and cached; nothing paid for is lost")
    return "\n".join(lines)


def _shot_report(job: ShotJob, o: ShotOutcome) -> dict[str, Any]:
    assert o.entry is not None
    meta = o.entry.meta
    timing = None
    if o.submitted_at is not None and o.finished_at is not None:
        timing = round(o.finished_at - o.submitted_at, 3)
    return {
        "id": job.id,
        "task_id": o.task_id,
        "source": o.source,
        "cache_key": job.cache_key,
        "clip": str(o.entry.clip),
        "clip_sha256": meta["clip_sha256"],
        "seconds": job.seconds,
        "frames": job.frames,
        "width": job.width,
        "height": job.height,
        "tokens": meta.get("tokens"),
        "estimated_tokens": job.estimated_tokens,
        "generation_seconds": timing,
    }


def _report(
    loaded: Loaded,
    plan: Plan,
    outcomes: dict[str, ShotOutcome],
    polls: int,
    assembly: dict[str, Any],
    output: Path,
) -> dict[str, Any]:
    shots = [_shot_report(job, outcomes[job.id]) for job in plan.jobs]
    generated = [s for s in shots if s["source"] in ("generated", "resumed")]
    tokens = sum((s["tokens"] or s["estimated_tokens"]) for s in generated)
    return {
        "storyboard": str(loaded.file),
        "output": str(output),
        "service": plan.service,
        "shots": shots,
        "totals": {
            "shots": len(shots),
            "generated": len(generated),
            "cached": len(shots) - len(generated),
            "tokens_generated": tokens,
            "estimated_cost_generated": _cost(plan, {s["id"] for s in generated}),
            "currency": PRICE_CURRENCY,
            "poll_requests": polls,
        },
        "assembly": assembly,
    }


def _cost(plan: Plan, ids: set[str]) -> float | None:
    costs = [j.estimated_cost for j in plan.jobs if j.id in ids]
    return None if any(c is None for c in costs) else round(sum(c for c in costs if c), 4)
