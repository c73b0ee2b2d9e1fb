"""The review page's HTML, and where its files sit relative to it.

Owns: the file layout beside a video (``NAME.html``, the ``NAME.review/`` folder of clips and
thumbnails, ``NAME.jpg``, ``NAME.sheet.jpg``, ``NAME.srt`` / ``NAME.vtt``), the relative links
between them, and rendering a ``Review`` into one self-contained HTML document (inline CSS, no
script, no external URL; user text escaped by Jinja2's autoescape). Pure: builds text, writes
nothing. Must not import the CLI or assembly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2

from storyboard.engine.review.panels import Panel, Review, Take, pick_command

__all__ = ["Beside", "TakeFiles", "beside", "render_page", "take_files"]

TEMPLATE = Path(__file__).with_name("page.html.j2")


@dataclass(frozen=True)
class Beside:
    """The files the review writes beside a video ``out/NAME.mp4``."""

    page: Path
    folder: Path
    poster: Path
    sheet: Path
    srt: Path
    vtt: Path


def beside(output: Path) -> Beside:
    stem = output.with_name(output.stem)
    return Beside(
        page=stem.with_name(stem.name + ".html"),
        folder=stem.with_name(stem.name + ".review"),
        poster=stem.with_name(stem.name + ".jpg"),
        sheet=stem.with_name(stem.name + ".sheet.jpg"),
        srt=stem.with_name(stem.name + ".srt"),
        vtt=stem.with_name(stem.name + ".vtt"),
    )


@dataclass(frozen=True)
class TakeFiles:
    """A take's copies in the review folder: the clip and its first and last frame."""

    clip: Path
    first: Path
    last: Path


def take_files(output: Path, panel: Panel, take: Take) -> TakeFiles:
    """Named after the shot and the clip's content, so a changed clip never shows a stale picture."""
    base = beside(output).folder / f"{panel.index + 1:02d}-{panel.id}-t{take.number}-{take.clip_sha256[:12]}"
    return TakeFiles(base.with_suffix(".mp4"), base.with_name(base.name + ".first.jpg"),
                     base.with_name(base.name + ".last.jpg"))  # fmt: skip


def _href(path: Path, page: Path) -> str:
    return "/".join(quote(part) for part in path.relative_to(page.parent).parts)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = lambda v: "no published price" if v is None else f"{v:.4f}"
    env.filters["seconds"] = lambda v: f"{v:g} s"
    return env


def render_page(review: Review, *, extras: Mapping[str, Path] | None = None) -> str:
    """The page of `review`; `extras`: the poster, sheet, srt and vtt written beside the video."""
    files = beside(review.output)
    page = files.page

    def take_links(panel: Panel, take: Take) -> dict[str, str]:
        f = take_files(review.output, panel, take)
        return {"clip": _href(f.clip, page), "first": _href(f.first, page), "last": _href(f.last, page),
                "pick": pick_command(review.storyboard, panel.id, take.number)}  # fmt: skip

    links = {"video": _href(review.output, page), "report": quote(review.output.stem + ".report.json")}
    links.update({name: _href(path, page) for name, path in (extras or {}).items()})
    template = _environment().from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(review=review, links=links, take_links=take_links)
