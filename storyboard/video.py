"""One video: its shots' cached clips -> the assembled output and its JSON report.

Owns: turning a storyboard's shots into assembly clips (trims, transitions, captions, volume,
seamless joins where a shot starts on the previous shot's last frame), skipping assembly when
the output on disk is already exactly what it would make, fetching a music URL into the cache,
and the per-video report (task ids, cached or generated, clip hashes, tokens, timings). MoviePy
arrives only through assembly, imported when a video is assembled. Prints nothing; must not
import the scheduler's callers (render, CLI).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.atomic import write_atomic
from storyboard.cache import Cache, sha256_file
from storyboard.capabilities import PRICE_CURRENCY
from storyboard.client import SeedanceClient
from storyboard.load import Loaded
from storyboard.plan import Plan, ShotJob, canonical_json, estimated_cost
from storyboard.scheduler import ShotOutcome

__all__ = ["VideoResult", "fetch_music", "finish_video", "report_path"]


@dataclass(frozen=True)
class VideoResult:
    """What one assembled video is, with its report."""

    output: Path
    report_path: Path
    report: dict[str, Any]


def report_path(output: Path) -> Path:
    """The JSON report beside the video: ``out/film.mp4`` -> ``out/film.report.json``."""
    return output.with_name(output.stem + ".report.json")


def finish_video(
    loaded: Loaded,
    plan: Plan,
    outcomes: dict[str, ShotOutcome],
    *,
    owned: set[str],
    music_file: Path | None,
    output: Path,
    preview: bool,
    polls: int,
    generation_seconds: float,
) -> VideoResult:
    """Assemble `plan`'s cached clips into `output` and write its report beside it.

    `outcomes` are by this storyboard's shot ids; `owned` names the shots whose generation in
    this run counts for this video (a shot shared with an earlier variant is "shared" here);
    `music_file` is what `fetch_music` returned.
    """
    from storyboard.assemble import ClipSpec, assemble  # MoviePy: only when a video is made

    started = time.monotonic()
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
    key = _assembly_key(loaded, clips, outcomes, plan, music_file, preview)
    rpath = report_path(output)
    previous = _unchanged_assembly(rpath, output, key)
    if previous is not None:
        assembly_info = {**previous, "skipped": "output is up to date (same clips and settings)"}
    else:
        assembly_info = assemble(
            clips, board.output, output, base_dir=loaded.base_dir, music_file=music_file, preview=preview
        ).to_dict()
        assembly_info["output_sha256"] = sha256_file(output)
        assembly_info["key"] = key
    report = _report(loaded, plan, outcomes, owned, polls, assembly_info, output)
    report["timings"] = {
        "generation_seconds": round(generation_seconds, 3),
        "assembly_seconds": round(time.monotonic() - started, 3),
    }
    write_atomic(rpath, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    return VideoResult(output, rpath, report)


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


def fetch_music(loaded: Loaded, client: SeedanceClient, cache: Cache) -> Path | None:
    """Download a music URL into the cache (once per URL); None for a path, which assembly reads.

    Called before any shot is submitted — a broken URL then costs nothing — and one video at a
    time, so two assemblies never download the same file at once.
    """
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


def _shot_report(job: ShotJob, o: ShotOutcome, owned: bool) -> dict[str, Any]:
    assert o.entry is not None
    # generated this run for an earlier variant: this video reuses it without paying
    source = o.source if owned or o.source == "cache" else "shared"
    meta = o.entry.meta
    timing = None
    if o.submitted_at is not None and o.finished_at is not None:
        timing = round(o.finished_at - o.submitted_at, 3)
    return {
        "id": job.id,
        "task_id": o.task_id,
        "source": source,
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
    owned: set[str],
    polls: int,
    assembly: dict[str, Any],
    output: Path,
) -> dict[str, Any]:
    shots = [_shot_report(job, outcomes[job.id], job.id in owned) for job in plan.jobs]
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
            "estimated_cost_generated": estimated_cost(j for j in plan.jobs if j.id in {s["id"] for s in generated}),
            "currency": PRICE_CURRENCY,
            "poll_requests": polls,
        },
        "assembly": assembly,
    }
