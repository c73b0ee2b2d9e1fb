"""Rules of multimodal references (2.x models), checked before any money is spent.

Owns: every check of `assets:`, a shot's `references:`, `chain: extend/edit` and
`omni_reference_task_type`, and the other 2.x fields (`output_format`, `tools`, `priority`,
`safety_identifier`): asset names and kinds, unknown assets and shots, counts per kind and in
all, audio alone, frames mixed with references, local media limits (probed with ffmpeg), total
reference lengths, task-type requirements and the 64 MB body limit (docs/protocol.md §1.2, §1.3,
§7, §9). The limits come from the capability table. Reports through the callback of
``rules.py``, which calls this. Must not import the loader, plan, client, render, assemble or CLI.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from storyboard.seedance.capabilities import BODY_MAX_BYTES, MODELS, ModelCaps, References
from storyboard.spec.assets import ASSET_NAME, kind_of
from storyboard.spec.images import image_problem, inspect_image
from storyboard.spec.media import audio_problem, inspect_media, video_problem
from storyboard.spec.model import Storyboard
from storyboard.spec.shots import ShotView, SourceRef
from storyboard.spec.yamlpos import KeyPath

__all__ = ["check_assets", "check_shot_references", "inline_bytes"]

Report = Callable[[KeyPath, str, Literal["error", "warning"]], None]
_NAME = re.compile(ASSET_NAME)


def _hint(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (known: {', '.join(known)})" if known else f" (no {what} is defined)"


def _unknown_kind(name: str | None) -> str:
    return f'cannot tell whether "{name}" is an image, video or audio; add kind: image, video or audio'


def _models_with(predicate: Callable[[ModelCaps], bool]) -> str:
    return ", ".join(m.id for m in MODELS.values() if predicate(m))


def check_assets(board: Storyboard, views: list[ShotView], report: Report) -> None:
    """Asset names and kinds; an asset no shot uses is a warning."""
    used = {r.asset for v in views for r in v.references() if r.asset}
    for name, asset in board.assets.items():
        where: KeyPath = ("assets", name)
        if not _NAME.match(name):
            report(where, "an asset name must be letters, digits, _ . - (starting with a letter)", "error")
        if asset.kind is None and kind_of(asset.path or asset.url or "") is None:
            report((*where, "path" if asset.path else "url"), _unknown_kind(asset.path or asset.url), "error")
        if name not in used:
            report(where, "no shot uses this asset", "warning")


def check_shot_references(view: ShotView, caps: ModelCaps, ids: list[str], base_dir: Path, report: Report) -> None:
    """Every reference rule for one shot of a known model."""
    refs = view.references()
    _check_fields(view, caps, report)
    _check_task_type(view, caps, refs, report)
    size = inline_bytes(view, base_dir)
    if size > BODY_MAX_BYTES:
        report(("shots", view.index), f"its inline media make a {size / 1048576:.1f} MB request; the API takes at "
               f"most {BODY_MAX_BYTES >> 20} MB (give big files as url:)", "error")  # fmt: skip
    written = [r for r in refs if r.where[-1] != "chain"]  # chain: extend/edit is judged as a task type
    limits = caps.references
    if written and limits is None:
        able = _models_with(lambda m: bool(m.references))
        report(written[0].where, f"{caps.id} takes no references (2.x models do: {able})", "error")
    if limits is None:
        return
    chained = [r for r in refs if r not in written and view.task_type in limits.task_types]
    resolved = [r for r in written if _resolves(view, r, ids, report)]
    frames = [p for p, ref in view.images() if ref.role in ("first_frame", "last_frame")]
    if frames and written:
        what = "chain: true" if frames[0][-1] == "chain" else f"images[{frames[0][-1]}]"
        report(written[0].where, f"references cannot be combined with a first or last frame ({what})", "error")
    _check_counts(view, caps, limits, chained + resolved, report)
    seconds: dict[str, list[tuple[SourceRef, float]]] = {"video": [], "audio": []}
    for ref in chained + resolved:
        length = _check_media(view, caps, limits, ref, base_dir, report)
        if length is not None and ref.kind in seconds:
            seconds[str(ref.kind)].append((ref, length))
    _check_totals(caps, limits, seconds, report)


def _resolves(view: ShotView, ref: SourceRef, ids: list[str], report: Report) -> bool:
    """False (after reporting why) when the reference names nothing usable."""
    board = view.board
    if ref.asset is not None and ref.asset not in board.assets:
        report(ref.where, f'unknown asset "{ref.asset}"{_hint(ref.asset, list(board.assets), "asset")}', "error")
        return False
    if ref.from_ is not None:
        where = (*ref.where, "from")
        if ref.from_ not in ids:
            close = difflib.get_close_matches(ref.from_, ids, n=1)
            report(where, f'unknown shot "{ref.from_}"' + (f' (did you mean "{close[0]}"?)' if close else ""), "error")
            return False
        if ids.index(ref.from_) >= view.index:
            what = "itself" if ref.from_ == view.id else f'"{ref.from_}", a later shot'
            report(where, f"must name an earlier shot, not {what}", "error")
            return False
        if ref.kind != "video":
            report((*ref.where, "kind"), "a shot's clip is a video: kind must be video", "error")
            return False
    if ref.kind is None:
        report((*ref.source, "path" if ref.path else "url"), _unknown_kind(ref.path or ref.url), "error")
        return False
    return True


def _check_counts(view: ShotView, caps: ModelCaps, limits: References, refs: list[SourceRef], report: Report) -> None:
    image_refs = [p for p, r in view.images() if r.role == "reference_image"]
    counted = {"image": len(image_refs), "video": 0, "audio": 0}
    most = {"image": caps.max_reference_images, "video": limits.max_videos, "audio": limits.max_audios}
    total = len(image_refs)
    for ref in refs:
        kind = str(ref.kind)
        counted[kind] += 1
        total += 1
        if counted[kind] == most[kind] + 1:
            report(ref.where, f"{caps.id} takes at most {most[kind]} reference {kind}s", "error")
        if total == limits.max_items + 1:
            report(ref.where, f"{caps.id} takes at most {limits.max_items} reference items in all", "error")
    if counted["audio"] and not counted["image"] and not counted["video"] and not limits.audio_alone:
        first = next(r for r in refs if r.kind == "audio")
        report(first.where, f"{caps.id} takes reference audio only with a reference image or video", "error")


def _shot_seconds(view: ShotView, shot_id: str) -> float:
    ids = view.board.shot_ids()
    return ShotView(view.board, ids.index(shot_id), shot_id).seconds


def _check_media(
    view: ShotView, caps: ModelCaps, limits: References, ref: SourceRef, base_dir: Path, report: Report
) -> float | None:
    """Check a reference's local file (or a `from:` shot's length); its length in seconds when known."""
    if ref.from_ is not None:
        seconds = _shot_seconds(view, ref.from_)
        low, high = limits.video_seconds
        if not low <= seconds <= high:
            message = f"shot {ref.from_}'s clip is {seconds:g} s; a reference video must be {low:g} to {high:g} s"
            report(ref.where if ref.where[-1] == "chain" else (*ref.where, "from"), message, "error")
            return None
        return seconds
    if ref.path is None:
        return None
    where, rel = (*ref.source, "path"), ref.path
    if ref.kind == "image":
        image = inspect_image(base_dir / rel)
        if isinstance(image, str):
            report(where, f"{rel}: {image}", "error")
        elif problem := image_problem(image, heif_ok=caps.family != "1.0"):
            report(where, f"{rel} {problem}", "error")
        return None
    info = inspect_media(base_dir / rel)
    if isinstance(info, str):
        report(where, f"{rel}: {info}", "error")
        return None
    problem = video_problem(info, limits) if ref.kind == "video" else audio_problem(info, limits)
    if problem:
        report(where, f"{rel} {problem}", "error")
        return None  # out of its own limits: not counted in the total as well
    if ref.kind == "video" and not limits.inline_video:
        # no source documents a data URI for video (§9): it would fail after the request is sent
        message = "is a local video; the service takes reference videos by URL only: upload it and give url:"
        report(where, f"{rel} {message}", "error")
    return info.seconds


def _check_totals(
    caps: ModelCaps, limits: References, seconds: dict[str, list[tuple[SourceRef, float]]], report: Report
) -> None:
    for kind, most in (("video", limits.video_total_seconds), ("audio", limits.audio_total_seconds)):
        total = sum(s for _, s in seconds[kind])
        if most is not None and total > most:
            first = min((r.where for r, _ in seconds[kind]), key=lambda p: (p[-1] != "chain", p[-1]))
            report(first, f"reference {kind}s last {total:g} s in all; {caps.id} takes at most {most:g} s", "error")


def _check_task_type(view: ShotView, caps: ModelCaps, refs: list[SourceRef], report: Report) -> None:
    task = view.task_type
    if task is None:
        return
    chained = isinstance(view.shot.chain, str)
    where: KeyPath = ("shots", view.index, "chain" if chained else "omni_reference_task_type")
    types = caps.references.task_types if caps.references else ()
    if task not in types:
        able = _models_with(lambda m: bool(m.references and task in m.references.task_types))
        what = f"chain: {task}" if chained else f"omni_reference_task_type {task}"
        report(where, f"{what} is not available for {caps.id} (only {able})", "error")
        return
    if chained and view.index == 0:
        return  # rules.py says the first shot has nothing to chain from
    if task in ("edit", "extend"):
        if not any(r.kind == "video" for r in refs):
            report(where, f"omni_reference_task_type {task} needs a reference video (references: [{{from: SHOT}}] "
                   "or chain: " + task + ")", "error")  # fmt: skip
        if view.ratio != "adaptive":
            report(
                ("shots", view.index, "ratio"),
                f"must be adaptive for an {task} shot (the service requires it)",
                "error",
            )
    if task == "edit" and view.length != ("duration", -1):
        kind = view.length[0]
        report(
            ("shots", view.index, kind),
            "must be left out or -1 for an edit shot (it keeps its source's length)",
            "error",
        )


def _check_fields(view: ShotView, caps: ModelCaps, report: Report) -> None:
    limits = caps.references
    fmt = view.value("output_format")
    formats = limits.output_formats if limits else ("mp4",)
    if fmt is not None and fmt not in formats:
        report(
            view.origin("output_format"), f"{fmt} is not available for {caps.id} (only {', '.join(formats)})", "error"
        )
    if view.value("tools") and not (limits and limits.web_search):
        able = _models_with(lambda m: bool(m.references and m.references.web_search))
        report(view.origin("tools"), f"web search is not available for {caps.id} (only {able})", "error")
    for name in ("priority", "safety_identifier"):
        if view.value(name) is not None and limits is None:
            report(view.origin(name), f"{caps.id} does not take {name} (2.x models only)", "error")


def inline_bytes(view: ShotView, base_dir: Path) -> int:
    """Bytes of the shot's create body that local files take as base64 data URIs (images and audio)."""
    total = 0
    files = [ref.path for _, ref in view.images() if ref.path]
    files += [r.path for r in view.references() if r.path and r.kind in ("image", "audio")]
    for rel in files:
        try:
            total += ((base_dir / rel).stat().st_size + 2) // 3 * 4 + 32
        except OSError:
            continue  # reported as a missing file
    return total
