"""Captions as subtitle files: the cues of an assembled video as SubRip (``.srt``) and WebVTT.

Owns: the two text formats (numbering, timestamp spelling, the WebVTT header, which characters
a cue's text must not carry as is). The cue times are the timeline's (``Timeline.captions``):
nothing here works out when a caption shows.

Must not import: moviepy, anything of storyboard but the cue type of ``.timeline``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .timeline import CaptionCue

__all__ = ["srt", "vtt"]


def _stamp(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _lines(text: str) -> str:
    # a blank line ends a cue in both formats: keep the caption's line breaks, drop empty lines
    return "\n".join(line for line in text.splitlines() if line.strip()) or " "


def srt(cues: Sequence[CaptionCue]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, a blank line after each."""
    blocks = [
        f"{n}\n{_stamp(c['start'], ',')} --> {_stamp(c['end'], ',')}\n{_lines(c['text'])}\n"
        for n, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def vtt(cues: Sequence[CaptionCue]) -> str:
    """WebVTT: the header, then ``HH:MM:SS.mmm`` cues; ``&`` and ``<`` escaped (cue text is markup)."""
    blocks = ["WEBVTT\n"]
    for c in cues:
        text = _lines(c["text"]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # "-->" must not occur in cue text; escaping ">" above already rules it out
        blocks.append(f"{_stamp(c['start'], '.')} --> {_stamp(c['end'], '.')}\n{text}\n")
    return "\n".join(blocks)
