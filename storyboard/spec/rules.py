"""Model-aware and cross-shot rules, checked before any money is spent.

Owns: every check that needs the capability table, other shots or the file system: per-model
durations, frames, resolutions and ratios; image role combinations; `from:`/`chain:` targets;
unique ids; local image files; prompt length and inline flags; assembly timings. Reports each
problem through a callback with the key path of the offending value. Must not import the
loader, plan, client, render, assemble or CLI.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from storyboard.seedance.capabilities import FRAMES_MAX, FRAMES_MIN, MODELS, ModelCaps, frames_valid
from storyboard.spec.images import image_problem, inspect_image
from storyboard.spec.model import Storyboard, transition_shares
from storyboard.spec.refrules import check_assets, check_shot_references
from storyboard.spec.shots import ShotView, views
from storyboard.spec.yamlpos import KeyPath

__all__ = ["Report", "check"]

Report = Callable[[KeyPath, str, Literal["error", "warning"]], None]

PROMPT_MAX = 1000
_INLINE_FLAG = re.compile(
    r"(?:^|\s)--(rs|rt|dur|frames|fps|seed|cf|wm|resolution|ratio|duration|framespersecond"
    r"|camerafixed|watermark)\b"
)
_FLAG_ADVICE = {
    "rs": "use the resolution field", "rt": "use the ratio field", "dur": "use the duration field",
    "cf": "use the camerafixed field", "wm": "use the watermark field",
    "fps": "the frame rate is always 24", "framespersecond": "the frame rate is always 24",
}  # fmt: skip


def _choices(items: tuple[str, ...] | list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _nearest_frames(n: int) -> str:
    low = max(FRAMES_MIN, FRAMES_MIN + ((n - FRAMES_MIN) // 4) * 4)
    high = min(FRAMES_MAX, low + 4)
    return f"{low} or {high}" if low != high else str(low)


def check(board: Storyboard, base_dir: Path, report: Report) -> None:
    """Run every rule over `board`; local paths resolve against `base_dir`."""
    ids = board.shot_ids()
    _check_ids(board, ids, report)
    all_views = views(board)
    chained_from = {ref.from_ for v in all_views for _, ref in v.images() if ref.from_}
    for view in all_views:
        caps = view.caps
        if caps is None:
            _unknown_model(view, report)
        else:
            _check_generation(view, caps, report)
            _check_images(view, caps, base_dir, report)
            check_shot_references(view, caps, ids, base_dir, report)
            if view.id in chained_from and not caps.returns_last_frame:
                report(
                    view.origin("model"),
                    f"AceData may not return a last frame for {caps.id}; the chained frame "
                    "will be taken from the downloaded clip",
                    "warning",
                )
        _check_references(view, ids, report)
        _check_prompt(view, report)
        _check_assembly(view, all_views[view.index + 1 : view.index + 2], base_dir, report)
    _check_output(board, base_dir, report)
    check_assets(board, all_views, report)


def _check_ids(board: Storyboard, ids: list[str], report: Report) -> None:
    first: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if sid in first:
            where = ("shots", i, "id") if board.shots[i].id else ("shots", i)
            report(where, f'duplicate shot id "{sid}" (also shots[{first[sid]}])', "error")
        else:
            first[sid] = i


def _unknown_model(view: ShotView, report: Report) -> None:
    close = difflib.get_close_matches(view.model, list(MODELS), n=1, cutoff=0.6)
    hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {_choices(list(MODELS))})"
    report(view.origin("model"), f'unknown model "{view.model}"{hint}', "error")


def _check_generation(view: ShotView, caps: ModelCaps, report: Report) -> None:
    res = view.resolution
    refs = view.has_role("reference_image") and caps.max_reference_images > 0
    allowed = caps.reference_resolutions if refs else caps.resolutions
    if res not in allowed:
        scenario = " with reference images" if refs else ""
        report(
            view.origin("resolution"),
            f"{res} is not available for {caps.id}{scenario} (choose {_choices(allowed)})",
            "error",
        )
    if view.shot.frames is not None and view.shot.duration is not None:
        report(("shots", view.index, "frames"), "set either duration or frames, not both", "error")
    elif (
        view.board.defaults.frames is not None
        and view.board.defaults.duration is not None
        and view.shot.frames is None
        and view.shot.duration is None
    ):
        report(("defaults", "frames"), "set either duration or frames, not both", "error")
    kind, n = view.length
    if kind == "frames":
        where = view.origin("frames")
        if not caps.frames:
            report(where, f"frames is not supported by {caps.id} (use duration)", "error")
        elif not frames_valid(n):
            report(
                where,
                f"must be 25+4n between {FRAMES_MIN} and {FRAMES_MAX} (nearest: {_nearest_frames(n)})",
                "error",
            )
    elif n == -1:
        if not caps.auto_duration:
            report(view.origin("duration"), f"-1 (automatic) is not supported by {caps.id}", "error")
    elif not caps.duration_min <= n <= caps.duration_max:
        report(
            view.origin("duration"),
            f"must be between {caps.duration_min} and {caps.duration_max} for {caps.id}",
            "error",
        )
    ratio = view.ratio
    has_image = bool(view.images())
    # an edit/extend shot's adaptive is implied by its task type, which has its own error when the
    # model cannot take it: one mistake, one line
    implied = view.task_type in ("edit", "extend") and view.shot.ratio is None
    if ratio == "adaptive" and not has_image and not caps.adaptive_text_to_video and not implied:
        report(
            view.origin("ratio"),
            f"adaptive needs an image on {caps.id} (text-to-video takes a fixed ratio)",
            "error",
        )
    if ratio == "adaptive" and refs and not caps.adaptive_text_to_video:
        # docs/protocol.md §9: where adaptive needs an image, the reference-image scenario does not count
        report(view.origin("ratio"), f"adaptive is not available for {caps.id} with reference images", "error")
    if caps.family == "2.5" and ratio != "adaptive" and view.has_role("first_frame"):
        report(
            view.origin("ratio"),
            f"{caps.id} takes the ratio from the first frame: use adaptive or leave ratio out",
            "error",
        )
    if view.value("generate_audio") and not caps.audio:
        report(
            view.origin("generate_audio"),
            f"{caps.id} makes no audio; generate_audio is ignored",
            "warning",
        )
    if view.value("camerafixed") is not None and (
        not caps.camerafixed or (refs and not caps.camerafixed_with_reference)
    ):
        report(view.origin("camerafixed"), f"camerafixed is ignored by {caps.id}", "warning")
    if view.value("service_tier") is not None:
        report(
            view.origin("service_tier"),
            "AceData no longer accepts service_tier (flex is not offered); it is not sent",
            "warning",
        )


def _check_images(view: ShotView, caps: ModelCaps, base_dir: Path, report: Report) -> None:
    images = view.images()
    if not images and not caps.text_to_video:
        report(
            ("shots", view.index),
            f"{caps.id} needs an image (first_frame or reference_image)",
            "error",
        )
    counts = {"first_frame": 0, "last_frame": 0, "reference_image": 0}
    first_refs = [(p, r) for p, r in images if r.role == "first_frame"]
    for path, ref in images:
        counts[ref.role] += 1
        where = (*path, "role") if path[-1] != "chain" else path
        if not caps.first_frame and not caps.max_reference_images:
            report(where, f"{caps.id} takes no images (text-to-video only)", "error")
            continue
        if ref.role == "first_frame" and counts["first_frame"] == 2:
            other = first_refs[0][0]
            what = "chain: true" if other[-1] == "chain" else "another first_frame"
            report(where, f"a shot takes one first_frame ({what} is already given)", "error")
        if ref.role == "first_frame" and not caps.first_frame:
            report(where, f"{caps.id} takes no first_frame (use reference_image)", "error")
        if ref.role == "last_frame" and caps.first_frame and not caps.first_last_frame:
            report(where, f"{caps.id} does not support a last_frame", "error")
        if ref.role == "reference_image":
            if not caps.max_reference_images:
                report(where, f"{caps.id} takes no reference images", "error")
            elif counts["reference_image"] == caps.max_reference_images + 1:
                report(
                    where,
                    f"{caps.id} takes at most {caps.max_reference_images} reference images",
                    "error",
                )
        if ref.path:
            _check_local_image(base_dir, ref.path, (*path, "path"), caps, report)
    if counts["last_frame"] and not counts["first_frame"]:
        path = next(p for p, r in images if r.role == "last_frame")
        report((*path, "role"), "a last_frame needs a first_frame", "error")
    if counts["last_frame"] > 1:
        path = [p for p, r in images if r.role == "last_frame"][1]
        report((*path, "role"), "a shot takes one last_frame", "error")
    if counts["reference_image"] and (counts["first_frame"] or counts["last_frame"]):
        path = next(p for p, r in images if r.role == "reference_image")
        report(
            (*path, "role"),
            "reference images cannot be mixed with first_frame/last_frame",
            "error",
        )


def _check_local_image(base_dir: Path, rel: str, where: KeyPath, caps: ModelCaps, report: Report) -> None:
    info = inspect_image(base_dir / rel)
    if isinstance(info, str):
        report(where, f"{rel}: {info}", "error")
        return
    problem = image_problem(info, heif_ok=caps.family != "1.0")
    if problem:
        report(where, f"{rel} {problem}", "error")


def _check_references(view: ShotView, ids: list[str], report: Report) -> None:
    if view.shot.chain and view.index == 0:
        report(("shots", 0, "chain"), "the first shot has no previous shot to chain from", "error")
    for path, ref in view.images():
        if not ref.from_ or path[-1] == "chain":
            continue
        where = (*path, "from")
        if ref.from_ not in ids:
            close = difflib.get_close_matches(ref.from_, ids, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            report(where, f'unknown shot "{ref.from_}"{hint}', "error")
        elif ids.index(ref.from_) >= view.index:
            what = "itself" if ref.from_ == view.id else f'"{ref.from_}", a later shot'
            report(where, f"must name an earlier shot, not {what}", "error")


def _check_prompt(view: ShotView, report: Report) -> None:
    prompt = view.shot.prompt
    where = ("shots", view.index, "prompt")
    if len(prompt) > PROMPT_MAX:
        report(where, f"is {len(prompt)} characters; the API takes at most {PROMPT_MAX}", "error")
    for match in _INLINE_FLAG.finditer(prompt):
        flag = match.group(1)
        advice = _FLAG_ADVICE.get(flag, f"use the {flag} field")
        report(
            where,
            f"inline --{flag} flag in the prompt: the API may ignore it; {advice}",
            "warning",
        )


def _check_assembly(view: ShotView, following: list[ShotView], base_dir: Path, report: Report) -> None:
    seconds = view.seconds
    trim = view.value("trim")
    if trim is not None:
        if trim.end is not None and trim.end > seconds + 1e-9:
            report((*view.origin("trim"), "end"), f"{trim.end} is past the clip's end ({seconds:g} s)", "error")
        elif trim.start >= seconds:
            report((*view.origin("trim"), "start"), f"{trim.start} is past the clip's end ({seconds:g} s)", "error")
    _check_transitions(view, following, report)
    caption = view.value("caption")
    if caption is not None and caption.font and not (base_dir / caption.font).is_file():
        report((*view.origin("caption"), "font"), f"{caption.font}: file not found", "error")


def _transition_into(view: ShotView) -> tuple[float, float, KeyPath] | None:
    """Seconds the transition into this shot takes from the shot before and from this one, and
    where that transition is set.

    As assembly does it: the shot's (or defaults') transition, else output.transition; none
    into the first shot; the shares are ``transition_shares``'s.
    """
    if view.index == 0:
        return None
    own = view.value("transition")
    transition = own if own is not None else view.board.output.transition
    if transition.type == "cut" or transition.duration == 0:
        return None
    where = view.origin("transition") if own is not None else ("output", "transition")
    before, after = transition_shares(transition.type, transition.duration)
    return before, after, (*where, "duration")


def _check_transitions(view: ShotView, following: list[ShotView], report: Report) -> None:
    if view.index == 0 and view.shot.transition is not None:
        report(("shots", 0, "transition"), "the first shot has no transition into it; ignored", "warning")
    trim = view.value("trim")
    start, end = (trim.start, trim.end or view.seconds) if trim else (0.0, view.seconds)
    shown = end - start
    parts: list[tuple[float, KeyPath]] = []  # (seconds taken from this shot, where the transition is set)
    if (into := _transition_into(view)) is not None:
        _, share, where = into
        parts.append((share, where))
    for shot in following:
        if (out := _transition_into(shot)) is not None:
            share, _, where = out
            parts.append((share, where))
    taken = sum(share for share, _ in parts)
    if parts and taken >= shown:
        report(
            parts[0][1],
            f"transitions take {taken:g} s of shot {view.id}, which shows only {shown:g} s",
            "error",
        )


def _check_output(board: Storyboard, base_dir: Path, report: Report) -> None:
    if board.output.size:
        width, height = (int(v) for v in board.output.size.split("x"))
        if width % 2 or height % 2:
            report(("output", "size"), "width and height must be even (H.264 with yuv420p)", "error")
    music = board.output.music
    if music is not None and music.path and not (base_dir / music.path).is_file():
        report(("output", "music", "path"), f"{music.path}: file not found", "error")
    for where, font in (
        (("output", "font"), board.output.font),
        (("output", "title", "font"), board.output.title.font if board.output.title else None),
    ):
        if font and not (base_dir / font).is_file():
            report(where, f"{font}: file not found", "error")
