"""Effective shot settings: a shot's own value, else `defaults`, else the model's default.

Owns: the precedence rules, and where each effective value came from (so an error about a
value inherited from `defaults` points at `defaults`). Must not do I/O and must not import the
loader, plan, client or CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from storyboard.seedance.capabilities import DEFAULT_MODEL, MODELS, ModelCaps
from storyboard.spec.model import ImageRef, Shot, Storyboard
from storyboard.spec.yamlpos import KeyPath

__all__ = ["DEFAULT_DURATION", "DEFAULT_RATIO", "ShotView", "views"]

DEFAULT_DURATION = 5  # what AceData's own tools default to (docs/protocol.md §1.2)
DEFAULT_RATIO = "16:9"  # AceData's documented default (docs/protocol.md §1.2)


@dataclass(frozen=True)
class ShotView:
    """One shot seen with its defaults applied."""

    board: Storyboard
    index: int
    id: str

    @property
    def shot(self) -> Shot:
        return self.board.shots[self.index]

    def value(self, name: str) -> Any:
        """Effective value of a settings field (shot, then defaults; None if neither)."""
        return self.board.setting(self.index, name)

    def origin(self, name: str) -> KeyPath:
        """Key path of the effective value of `name` (where an error about it points)."""
        if getattr(self.shot, name) is not None:
            return ("shots", self.index, name)
        if getattr(self.board.defaults, name) is not None:
            return ("defaults", name)
        return ("shots", self.index)

    @property
    def model(self) -> str:
        return self.value("model") or DEFAULT_MODEL

    @property
    def caps(self) -> ModelCaps | None:
        return MODELS.get(self.model)

    @property
    def resolution(self) -> str:
        res = self.value("resolution")
        if res is None:
            caps = self.caps
            return caps.default_resolution if caps else "720p"
        return str(res)

    @property
    def length(self) -> tuple[Literal["duration", "frames"], int]:
        """("frames", n) or ("duration", seconds): the shot level wins over defaults."""
        shot, defaults = self.shot, self.board.defaults
        if shot.frames is not None:
            return ("frames", shot.frames)
        if shot.duration is not None:
            return ("duration", shot.duration)
        if defaults.frames is not None:
            return ("frames", defaults.frames)
        if defaults.duration is not None:
            return ("duration", defaults.duration)
        return ("duration", DEFAULT_DURATION)

    @property
    def seconds(self) -> float:
        """Clip length in seconds as the service will produce it (auto -1 counted as 5)."""
        kind, n = self.length
        if kind == "frames":
            return (n - 1) / 24
        return float(DEFAULT_DURATION if n == -1 else n)

    @property
    def frame_count(self) -> int:
        kind, n = self.length
        return n if kind == "frames" else 24 * round(self.seconds) + 1

    def images(self) -> list[tuple[KeyPath, ImageRef]]:
        """The shot's images with their key paths; `chain: true` adds the previous shot's frame."""
        out: list[tuple[KeyPath, ImageRef]] = [
            (("shots", self.index, "images", j), ref) for j, ref in enumerate(self.shot.images)
        ]
        if self.shot.chain and self.index > 0:
            prev = self.board.shot_ids()[self.index - 1]
            chained = ImageRef.model_validate({"from": prev, "role": "first_frame"})
            out.insert(0, (("shots", self.index, "chain"), chained))
        return out

    def has_role(self, role: str) -> bool:
        return any(ref.role == role for _, ref in self.images())

    @property
    def ratio(self) -> str:
        ratio = self.value("ratio")
        if ratio is not None:
            return str(ratio)
        caps = self.caps
        # 2.5 answers 400 to an explicit ratio with first/last frames (docs/protocol.md §9): adaptive.
        if caps and caps.family == "2.5" and self.has_role("first_frame"):
            return "adaptive"
        return DEFAULT_RATIO


def views(board: Storyboard) -> list[ShotView]:
    """A ShotView for every shot, in order."""
    return [ShotView(board, i, sid) for i, sid in enumerate(board.shot_ids())]
