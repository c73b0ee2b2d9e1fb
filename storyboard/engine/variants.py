"""Variants: one storyboard rendered once per variable set, shared shots planned once.

Owns: loading a storyboard once per variable set (row problems labelled with their row),
refusing two variants that would write the same file, and combining the variants' plans into
one plan whose jobs are unique by cache key — so a common intro, an end card or a shared chain
prefix is generated once and reused by every variant. A single storyboard is a batch of one
whose job ids are its shot ids. Pure apart from reading the storyboard and its images. Must not
import the client, scheduler, render, assemble or the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.engine.plan import Plan, ShotJob, make_plan
from storyboard.errors import ConfigError, Issue
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.spec.load import Loaded, load
from storyboard.spec.templating import slug
from storyboard.spec.variables import VariableSet

__all__ = ["Batch", "Variant", "combine", "load_batch", "load_variants"]


@dataclass(frozen=True)
class Variant:
    """One video of a batch."""

    number: int
    label: str | None
    loaded: Loaded
    plan: Plan
    output: Path
    prefix: str  # "" for a single storyboard, else "<output stem>/" for job ids

    @property
    def name(self) -> str:
        return self.output.stem


@dataclass(frozen=True)
class Batch:
    """Every variant, and one plan of the unique jobs they need."""

    variants: tuple[Variant, ...]
    plan: Plan
    ids: dict[tuple[int, str], str]
    """(variant number, shot id) -> id of the combined job that produces it."""
    owner: dict[str, tuple[int, str]]
    """combined job id -> (variant number, shot id) that first needed it."""

    def owned(self, variant: Variant) -> set[str]:
        """Shot ids of `variant` that no earlier variant needs: their cost is this video's."""
        return {j.id for j in variant.plan.jobs if not self.shared(variant, j.id)}

    def shared(self, variant: Variant, shot_id: str) -> bool:
        """True when an earlier variant, or an earlier shot of this one, already needs this exact shot."""
        return self.owner[self.ids[(variant.number, shot_id)]] != (variant.number, shot_id)

    def to_json(self) -> dict[str, Any]:
        variants = []
        for v in self.variants:
            shots = [
                {"id": j.id, "cache_key": j.cache_key, "shared": self.shared(v, j.id),
                 "estimated_tokens": j.estimated_tokens, "take": j.take, "takes": j.takes, "picked": j.picked}
                for j in v.plan.jobs
            ]  # fmt: skip
            variants.append({"row": v.number, "label": v.label, "output": str(v.output), "shots": shots})
        return {
            "variants": variants,
            "unique_generations": len(self.plan.jobs),
            "estimated_tokens_total": self.plan.estimated_tokens,
            "estimated_cost": self.plan.estimated_cost,
            "currency": PRICE_CURRENCY,
        }


def _output(loaded: Loaded, override: Path | None, preview: bool) -> Path:
    if override is not None:
        return override
    rel = loaded.board.output.path or f"out/{slug(loaded.board.name)}.mp4"
    target = (loaded.base_dir / rel).resolve()
    # a quick look must never overwrite the finished video
    return target.with_name(f"{target.stem}.preview{target.suffix}") if preview else target


def load_variants(
    file: str, sets: list[VariableSet], *, output: Path | None = None, preview: bool = False
) -> list[tuple[VariableSet, Loaded, Path]]:
    """Load `file` once per variable set; ConfigError lists every row's problems, and outputs
    that two rows would both write, before anything runs."""
    single = len(sets) == 1 and sets[0].label is None
    if output is not None and not single:
        raise ConfigError([Issue("-o", 0, 0, "", "cannot name one output for several variants; "
                                 "template output.path instead (e.g. out/{{ product | slug }}.mp4)")])  # fmt: skip
    issues: list[Issue] = []
    loaded_sets: list[tuple[VariableSet, Loaded, Path]] = []
    writers: dict[Path, str] = {}
    for variables in sets:
        try:
            loaded = load(file, overrides=variables.values)
        except ConfigError as exc:
            suffix = f" ({variables.label})" if variables.label else ""
            issues += [dataclasses.replace(i, message=i.message + suffix) for i in exc.issues]
            continue
        target = _output(loaded, output, preview)
        label = variables.label or file
        # the video and the report beside it: out/a.mp4 and out/a.mov share out/a.report.json
        report = target.with_name(target.stem + ".report.json")  # as engine.report.report_path
        clash = next((f for f in (target, report) if f in writers), None)
        if clash is not None:
            issues.append(Issue(label, 0, 0, "output.path", f"{clash} is also written by {writers[clash]}"))
            continue
        writers[target] = writers[report] = label
        loaded_sets.append((variables, loaded, target))
    if issues:
        raise ConfigError(issues)
    return loaded_sets


def load_batch(
    file: str,
    sets: list[VariableSet],
    *,
    service: str,
    output: Path | None = None,
    preview: bool = False,
    picks: Mapping[str, int] | None = None,
    takes: int | None = None,
) -> Batch:
    """Load and plan every variant and combine their plans (shared shots once).

    `picks` (the lockfile's, by shot id) and `takes` (--takes) apply to every variant alike.
    """
    single = len(sets) == 1 and sets[0].label is None
    variants = [
        Variant(
            variables.row or 1,
            variables.label,
            loaded,
            make_plan(loaded, service=service, picks=picks, takes=takes),
            target,
            "" if single else f"{target.stem}/",
        )  # fmt: skip
        for variables, loaded, target in load_variants(file, sets, output=output, preview=preview)
    ]
    return combine(variants, service)


def combine(variants: list[Variant], service: str) -> Batch:
    """One batch of `variants`: their plans joined, every unique job (by cache key) once."""
    by_key: dict[str, str] = {}
    ids: dict[tuple[int, str], str] = {}
    owner: dict[str, tuple[int, str]] = {}
    jobs: list[ShotJob] = []
    for v in variants:
        for job in v.plan.jobs:
            combined = by_key.get(job.cache_key)
            if combined is None:
                combined = f"{v.prefix}{job.id}"
                by_key[job.cache_key] = combined
                owner[combined] = (v.number, job.id)
                jobs.append(
                    dataclasses.replace(
                        job,
                        id=combined,
                        depends_on=tuple(ids[(v.number, d)] for d in job.depends_on),
                        chained=tuple(
                            dataclasses.replace(c, upstream=ids[(v.number, c.upstream)]) for c in job.chained
                        ),
                    )
                )
            ids[(v.number, job.id)] = combined
    name = variants[0].plan.name if variants else ""
    return Batch(tuple(variants), Plan(name, service, tuple(jobs)), ids, owner)
