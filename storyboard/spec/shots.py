"""Effective shot settings: a shot's own value, else `defaults`, else the model's default.

Owns: the precedence rules, and where each effective value came from (so an error about a
value inherited from `defaults` points at `defaults`). Must not do I/O and must not import the
loader, plan, client or CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from storyboard.seedance.capabilities import DEFAULT_MODEL, MODELS, ModelCaps
from storyboard.spec.assets import Kind, kind_of
from storyboard.spec.model import ImageRef, Shot, Storyboard
from storyboard.spec.yamlpos import KeyPath

__all__ = ["DEFAULT_DURATION", "DEFAULT_RATIO", "SourceRef", "ShotView", "views"]

DEFAULT_DURATION = 5  # what AceData's own tools default to (docs/protocol.md §1.2)
DEFAULT_RATIO = "16:9"  # AceData's documented default (docs/protocol.md §1.2)


@dataclass(frozen=True)
class SourceRef:
    """One reference of a shot with its asset resolved: where the media comes from, and its kind."""

    where: KeyPath
    """The reference item (or the shot's `chain` key, for chain: extend / edit)."""
    source: KeyPath
    """Where its path or url is written: the reference, or the asset it names."""
    kind: Kind | None
    """image, video or audio; None when neither `kind:` nor the file name tells."""
    path: str | None = None
    url: str | None = None
    from_: str | None = None
    asset: str | None = None


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
        if self.task_type == "edit":  # an edit keeps its source's length: -1 is required (§7)
            return ("duration", -1)
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
        if n == -1 and self.task_type == "edit":
            source = self.edited()
            if source is not None:
                return source.seconds
        return float(DEFAULT_DURATION if n == -1 else n)

    def edited(self) -> ShotView | None:
        """The earlier shot whose clip this edit or extend shot takes as its reference video."""
        if self.task_type not in ("edit", "extend"):
            return None
        ids = self.board.shot_ids()
        for ref in self.references():
            if ref.kind == "video" and ref.from_ in ids[: self.index]:
                return ShotView(self.board, ids.index(ref.from_), ref.from_)
        return None

    @property
    def frame_count(self) -> int:
        kind, n = self.length
        return n if kind == "frames" else 24 * round(self.seconds) + 1

    def images(self) -> list[tuple[KeyPath, ImageRef]]:
        """The shot's images with their key paths; `chain: true` adds the previous shot's frame."""
        out: list[tuple[KeyPath, ImageRef]] = [
            (("shots", self.index, "images", j), ref) for j, ref in enumerate(self.shot.images)
        ]
        if self.shot.chain is True and self.index > 0:
            prev = self.board.shot_ids()[self.index - 1]
            chained = ImageRef.model_validate({"from": prev, "role": "first_frame"})
            out.insert(0, (("shots", self.index, "chain"), chained))
        return out

    @property
    def task_type(self) -> str | None:
        """omni_reference_task_type as sent: the shot's own, else what `chain: extend/edit` implies."""
        chain = self.shot.chain
        return self.shot.omni_reference_task_type or (chain if isinstance(chain, str) else None)

    def references(self) -> list[SourceRef]:
        """The shot's references, assets resolved; `chain: extend/edit` adds the previous clip first.

        An asset that does not exist resolves to a reference of unknown kind (the rules report it).
        """
        out: list[SourceRef] = []
        if isinstance(self.shot.chain, str) and self.index > 0:
            prev = self.board.shot_ids()[self.index - 1]
            out.append(SourceRef(("shots", self.index, "chain"), ("shots", self.index, "chain"), "video", from_=prev))
        for j, ref in enumerate(self.shot.references):
            where: KeyPath = ("shots", self.index, "references", j)
            asset = self.board.assets.get(ref.asset) if ref.asset else None
            if ref.asset:
                source: KeyPath = ("assets", ref.asset)
                path, url = (asset.path, asset.url) if asset else (None, None)
                kind = ref.kind or (asset.kind if asset else None)
            else:
                source, path, url, kind = where, ref.path, ref.url, ref.kind
            if kind is None:
                kind = "video" if ref.from_ else kind_of(path or url or "")
            out.append(SourceRef(where, source, kind, path, url, ref.from_, ref.asset))
        return out

    def has_role(self, role: str) -> bool:
        return any(ref.role == role for _, ref in self.images())

    @property
    def ratio(self) -> str:
        ratio = self.value("ratio")
        if self.task_type in ("edit", "extend"):
            # the service requires adaptive for them (§7): a ratio from `defaults` does not apply
            return str(self.shot.ratio or "adaptive")
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
